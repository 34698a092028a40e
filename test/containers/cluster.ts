import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { Directory } from '../../src/ldap/directory.js';
import type { SandboxCluster, SandboxState } from '../../src/sandbox/cluster.js';
import { sandboxYaml, writeSecret } from '../../src/sandbox/config-files.js';
import { waitUntilNodesAgree } from '../../src/sandbox/convergence.js';
import { replicateNodes } from '../../src/sandbox/dirsrv/replication.js';
import { freePorts } from '../../src/sandbox/processes.js';
import { loadSampleTree } from '../../src/sandbox/sample-tree.js';
import { slapdConfigLdif } from '../../src/sandbox/slapd-config.js';
import { dirsrvAdapter } from '../../src/servers/389ds/adapter.js';
import { openLdapAdapter } from '../../src/servers/openldap/adapter.js';
import { imageFor, LABEL, removeOwnOnExit, type ContainerServer, type DebianRelease } from './engine.js';

const docker = promisify(execFile);
const TLS = { startTLS: false, insecure: false };
const ROOT_389 = 'cn=Directory Manager';

/** What a test does to a node of a cluster, whatever runs it (processes or containers). */
export interface NodeControl {
  /** Stops the node as its administrator would (SIGTERM, then SIGKILL after a grace time). */
  stopNode(id: number): Promise<void>;
  /** Starts a stopped node again, with its configuration and data; returns once it answers. */
  startNode(id: number): Promise<void>;
}

/** A cluster in containers on one Docker network; node i's LDAP port is published on 127.0.0.1. */
export interface ContainerCluster extends SandboxCluster, NodeControl {
  version: string;
  network: string;
  /** Cuts node `id` off the network (`docker network disconnect`): nobody reaches it, it reaches nobody. */
  cut(id: number): Promise<void>;
  /** Gives node `id` its link back, under the same name and address. */
  restore(id: number): Promise<void>;
}

/**
 * A 3-node OpenLDAP multi-provider or 389 DS multi-supplier cluster from the local images
 * (test/containers/images), built through testcontainers: the nodes replicate with each other by
 * their network names (node1…), the tool reaches each on its published port, and the sample tree
 * is loaded on node 1. Everything it makes carries this process's label and is removed by
 * `stop()`, or at exit, or by the next run's sweep if this one was killed.
 */
export async function startContainerCluster(options: { server: ContainerServer; release: DebianRelease; version: string; nodes?: number; scriptsDir?: string }): Promise<ContainerCluster> {
  removeOwnOnExit();
  const count = options.nodes ?? 3;
  const dir = mkdtempSync(join(tmpdir(), `ldap-upgrade-ct-${options.server}-${options.release}-`));
  const suffix = 'dc=example,dc=com';
  const password = randomBytes(12).toString('base64url');
  const configPassword = options.server === '389ds' ? password : randomBytes(12).toString('base64url');
  const ports = await freePorts(count);
  const network = `lu-${process.pid}-${randomBytes(3).toString('hex')}`;
  // A fixed subnet: a node cut off and given back keeps its address (peers' connections find it).
  const subnet = await freeSubnet();
  const ip = (id: number) => `${subnet}.${10 + id}`;
  await docker('docker', ['network', 'create', '--label', `${LABEL}=${process.pid}`, '--subnet', `${subnet}.0/24`, network]);
  const state: SandboxState = {
    kind: options.server, dir, suffix,
    bindDn: options.server === '389ds' ? ROOT_389 : `cn=Manager,${suffix}`, configDn: options.server === '389ds' ? ROOT_389 : 'cn=config',
    passwordFile: join(dir, 'password.conf'), configPasswordFile: join(dir, options.server === '389ds' ? 'password.conf' : 'config-password.conf'),
    configFile: join(dir, 'ldap-upgrade.yaml'),
    nodes: ports.map((port, i) => ({ id: i + 1, port, url: `ldap://127.0.0.1:${port}`, pid: 0 })),
  };
  writeSecret(state.passwordFile, password);
  writeSecret(state.configPasswordFile, configPassword);
  const containers = new Map<number, StartedTestContainer>();
  const stop = async () => {
    await reportDeadNodes(containers, options.server);
    await Promise.all([...containers.values()].map((c) => c.stop({ remove: true, removeVolumes: true, timeout: 2_000 }).catch(() => undefined)));
    await docker('docker', ['network', 'rm', network]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(state.nodes.map(async (n) => {
      const files = options.server === 'openldap'
        ? [{ target: '/lu/config.ldif', content: slapdConfigLdif({
          id: n.id, dir: '/var/lib/lu', suffix, rootDn: state.bindDn, rootPassword: password, configPassword,
          peers: state.nodes.filter((p) => p.id !== n.id).map((p) => ({ id: p.id, url: `ldap://node${p.id}:389/` })),
        }) }]
        : [{ target: '/lu/node.inf', content: dirsrvInf(n.id, suffix, password) }];
      const container = await new NodeContainer(imageFor(options.server, options.release))
        .onNetwork(network, `node${n.id}`, ip(n.id))
        .withHostname(`node${n.id}`)
        .withExposedPorts({ container: 389, host: n.port })
        .withLabels({ [LABEL]: String(process.pid) })
        .withCopyContentToContainer(files.map((f) => ({ ...f, mode: 0o600 })))
        .withWaitStrategy(Wait.forLogMessage('lu-node: serving'))
        .withStartupTimeout(120_000)
        .start();
      containers.set(n.id, container);
      await answering(n.url, 120_000);
    }));
    const conns = await Promise.all(state.nodes.map((n) => Directory.open({ url: n.url, bindDn: state.bindDn, password, tls: TLS })));
    try {
      await loadSampleTree(conns[0]!, suffix);
      if (options.server === '389ds') {
        // Between containers: each node by its name on the network.
        await replicateNodes(conns, suffix, state.nodes.map((n) => ({ id: n.id, host: `node${n.id}`, port: 389 })), randomBytes(12).toString('base64url'));
      }
      await waitUntilNodesAgree(conns, suffix, options.server === '389ds' ? dirsrvAdapter : openLdapAdapter, { timeoutMs: 120_000, expectChanges: true, ...(options.server === '389ds' ? { nudgeAfterMs: 30_000 } : {}) }).catch(async (err: Error) => {
        // What each node says of its agreements: why a link does not deliver.
        const said = options.server === '389ds' ? await Promise.all(conns.map(async (c, i) => `node ${i + 1}: ${(await dirsrvAdapter.replicationStatus!(c, suffix).catch(() => [])).join('; ')}`)) : [];
        throw new Error([err.message, ...said].join('\n'));
      });
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
    writeFileSync(state.configFile, sandboxYaml(state, options.scriptsDir));
  } catch (err) {
    await stop();
    throw err;
  }
  const id = (n: number) => containers.get(n)!.getId();
  return {
    ...state, password, configPassword, version: options.version, network,
    stop,
    async stopNode(n) {
      await docker('docker', ['stop', '-t', options.server === '389ds' ? '15' : '2', id(n)]);
    },
    async startNode(n) {
      await docker('docker', ['start', id(n)]);
      await answering(state.nodes[n - 1]!.url, 60_000);
    },
    async cut(n) {
      await docker('docker', ['network', 'disconnect', network, id(n)]);
    },
    async restore(n) {
      await docker('docker', ['network', 'connect', '--alias', `node${n}`, '--ip', ip(n), network, id(n)]);
    },
  };
}

/**
 * A node that is not running when the cluster is removed (a test stops and starts nodes, never
 * leaves one stopped): its state and the end of its output and error log, on stderr, so that a
 * CI run that lost a server shows why.
 */
async function reportDeadNodes(containers: Map<number, StartedTestContainer>, server: ContainerServer): Promise<void> {
  for (const [n, c] of containers) {
    try {
      const { stdout } = await docker('docker', ['inspect', '-f', '{{.State.Status}} exit={{.State.ExitCode}} oom={{.State.OOMKilled}} error={{.State.Error}}', c.getId()]);
      if (stdout.startsWith('running')) continue;
      const logs = await docker('docker', ['logs', '--tail', '40', c.getId()]).then((r) => r.stdout + r.stderr, (e: Error) => e.message);
      const errors = server === '389ds'
        ? await docker('docker', ['cp', `${c.getId()}:/var/log/dirsrv/slapd-lu/errors`, '-']).then((r) => r.stdout.slice(-6000), (e: Error) => e.message)
        : '';
      console.error(`container node ${n} was not running when the cluster was removed: ${stdout.trim()}\n--- its output ---\n${logs}${errors ? `\n--- its errors log (end; tar) ---\n${errors}` : ''}`);
    } catch {
      // gone already: nothing to tell
    }
  }
}

/**
 * A container on one network only, with a fixed address: its published port goes through that
 * network, so a node cut off it is cut off from the tool too, and given back the same address its
 * peers' connections and the port mapping find it again. (testcontainers' own `withNetworkAliases`
 * starts a container on Docker's default bridge and adds the network after, with a new address.)
 */
class NodeContainer extends GenericContainer {
  onNetwork(network: string, alias: string, address: string): this {
    this.networkMode = network;
    this.createOpts.NetworkingConfig = { EndpointsConfig: { [network]: { Aliases: [alias], IPAMConfig: { IPv4Address: address } } } };
    return this;
  }
}

/** A private /24 no other Docker network here uses (172.30–31.x.0). */
async function freeSubnet(): Promise<string> {
  const { stdout } = await docker('docker', ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...(await networkIds())]);
  const used = new Set(stdout.split(/\s+/).filter(Boolean).map((s) => s.replace(/\.0\/\d+$/, '')));
  for (;;) {
    const candidate = `172.${30 + Math.floor(Math.random() * 2)}.${Math.floor(Math.random() * 256)}`;
    if (!used.has(candidate)) return candidate;
  }
}

async function networkIds(): Promise<string[]> {
  return (await docker('docker', ['network', 'ls', '-q'])).stdout.trim().split('\n').filter(Boolean);
}

/** Until the server at `url` answers a root DSE read (a published port accepts before the server listens). */
async function answering(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const d = await Directory.open({ url, tls: TLS, timeoutMs: 2_000, connectTimeoutMs: 2_000 });
      try {
        await d.get('', ['namingContexts']);
        return;
      } finally {
        await d.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs / 1000} s: ${(err as Error).message}`);
      await sleep(250);
    }
  }
}

/** The `dscreate from-file` answers of node `id` (as the process sandbox's, but listening on every interface). */
function dirsrvInf(id: number, suffix: string, rootPassword: string): string {
  return `[general]
config_version = 2
full_machine_name = node${id}
start = False
selinux = False
systemd = False
strict_host_checking = False

[slapd]
instance_name = lu
port = 389
secure_port = 636
self_sign_cert = False
root_password = ${rootPassword}

[backend-userroot]
suffix = ${suffix}
sample_entries = no
create_suffix_entry = no
`;
}
