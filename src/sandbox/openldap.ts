import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { UsageError } from '../errors.js';
import { Directory } from '../ldap/directory.js';
import { openLdapAdapter } from '../servers/openldap/adapter.js';
import { waitUntilNodesAgree } from './convergence.js';
import { attach, writeState, type SandboxCluster, type SandboxNode, type SandboxState } from './cluster.js';
import { sandboxYaml, writeSecret } from './config-files.js';
import { portIsFree, spawnDetached, stopProcess, waitForPort } from './processes.js';
import { loadSampleTree } from './sample-tree.js';
import { slapdConfigLdif } from './slapd-config.js';

const run = promisify(execFile);

export interface OpenLdapSandboxOptions {
  nodes: number;
  dir: string;
  /** Node i listens on basePort + i - 1, unless `ports` is given. */
  basePort?: number;
  ports?: number[];
  suffix?: string;
  /** Load the sample organisation on node 1 (default true). */
  sampleData?: boolean;
  scriptsDir?: string;
  /** Path of slapd; default `$LDAP_UPGRADE_SLAPD`, else /usr/sbin/slapd. */
  slapdPath?: string;
  /**
   * The last `consumers` of the nodes are read-only consumers that pull from node 1 only (a
   * provider with consumers, which it cannot list); the others are multi-providers. Default 0.
   */
  consumers?: number;
  /** Extra syncrepl parameters of the consumers, e.g. `exattrs=title` (a fractional replica). */
  consumerSyncrepl?: string;
}

export function findSlapd(explicit?: string): { slapd: string; slapadd: string } {
  const slapd = explicit ?? process.env.LDAP_UPGRADE_SLAPD ?? '/usr/sbin/slapd';
  try {
    accessSync(slapd, constants.X_OK);
  } catch {
    throw new UsageError(`slapd not found at ${slapd}: install OpenLDAP with \`apt-get install slapd ldap-utils\` (Debian/Ubuntu)`);
  }
  return { slapd, slapadd: join(resolve(slapd, '..'), 'slapadd') };
}

/** Starts an OpenLDAP multi-provider cluster on 127.0.0.1 and waits until it has converged. */
export async function startOpenLdapCluster(options: OpenLdapSandboxOptions): Promise<SandboxCluster> {
  const { slapd, slapadd } = findSlapd(options.slapdPath);
  const dir = resolve(options.dir);
  const suffix = options.suffix ?? 'dc=example,dc=com';
  const ports = options.ports ?? Array.from({ length: options.nodes }, (_, i) => (options.basePort ?? 3890) + i);
  for (const port of ports) {
    if (!(await portIsFree(port))) throw new UsageError(`port ${port} on 127.0.0.1 is already in use: choose others with --base-port`);
  }
  const password = randomBytes(12).toString('base64url');
  const configPassword = randomBytes(12).toString('base64url');
  const urls = ports.map((p) => `ldap://127.0.0.1:${p}/`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const state: SandboxState = {
    kind: 'openldap', dir, suffix, bindDn: `cn=Manager,${suffix}`, configDn: 'cn=config',
    passwordFile: join(dir, 'password.conf'), configPasswordFile: join(dir, 'config-password.conf'),
    configFile: join(dir, 'ldap-upgrade.yaml'), nodes: [],
  };
  writeSecret(state.passwordFile, password);
  writeSecret(state.configPasswordFile, configPassword);

  const consumers = options.consumers ?? 0;
  const providers = ports.length - consumers;
  if (consumers < 0 || providers < 1) throw new UsageError(`--consumers ${consumers}: at least one of the ${ports.length} node(s) must be a provider`);
  try {
    state.nodes = await Promise.all(ports.map(async (port, i): Promise<SandboxNode> => {
      const id = i + 1;
      const consumer = i >= providers;
      const nodeDir = join(dir, `node${id}`);
      mkdirSync(join(nodeDir, 'data'), { recursive: true });
      mkdirSync(join(nodeDir, 'slapd.d'), { recursive: true });
      // Providers replicate with each other; a consumer pulls from node 1 only.
      const peers = urls.map((url, j) => ({ id: j + 1, url })).filter((p) => p.id !== id && (consumer ? p.id === 1 : p.id <= providers));
      const ldif = slapdConfigLdif({
        id, dir: nodeDir, suffix, rootDn: state.bindDn, rootPassword: password, configPassword, peers,
        consumer, syncreplExtra: consumer ? options.consumerSyncrepl : undefined,
      });
      writeFileSync(join(nodeDir, 'config.ldif'), ldif, { mode: 0o600 });
      await run(slapadd, ['-n0', '-F', join(nodeDir, 'slapd.d'), '-l', join(nodeDir, 'config.ldif')]);
      const log = join(nodeDir, 'slapd.log');
      const pid = await spawnDetached(slapd, ['-h', urls[i]!, '-F', join(nodeDir, 'slapd.d'), '-d', 'none'], log);
      const node: SandboxNode = { id, port, url: urls[i]!.replace(/\/$/, ''), pid, ...(consumer ? { consumer: true } : {}) };
      state.nodes.push(node);
      await waitForPort(port, pid, log);
      return node;
    }));
    state.nodes.sort((a, b) => a.id - b.id);
    writeState(state);
    if (options.sampleData !== false) await loadSample(state, password);
    await waitForConvergence(state, options.sampleData !== false);
    writeFileSync(state.configFile, sandboxYaml(state, options.scriptsDir));
  } catch (err) {
    await Promise.all(state.nodes.map((n) => stopProcess(n.pid, 500)));
    throw err;
  }
  return attach(state);
}

/** Starts one stopped node of an existing sandbox again (e.g. after a kill -9). */
export async function restartOpenLdapNode(state: SandboxState, id: number): Promise<SandboxNode> {
  const { slapd } = findSlapd();
  const node = state.nodes.find((n) => n.id === id);
  if (!node) throw new UsageError(`the sandbox has no node ${id}`);
  const nodeDir = join(state.dir, `node${id}`);
  const log = join(nodeDir, 'slapd.log');
  node.pid = await spawnDetached(slapd, ['-h', `${node.url}/`, '-F', join(nodeDir, 'slapd.d'), '-d', 'none'], log);
  await waitForPort(node.port, node.pid, log);
  writeState(state);
  return node;
}

async function loadSample(state: SandboxState, password: string): Promise<void> {
  const master = await Directory.open({ url: state.nodes[0]!.url, bindDn: state.bindDn, password, tls: { startTLS: false, insecure: false } });
  try {
    await loadSampleTree(master, state.suffix);
  } finally {
    await master.close();
  }
}

/** Until every node holds node 1's contextCSN. */
async function waitForConvergence(state: SandboxState, expectChanges: boolean): Promise<void> {
  const dirs = await Promise.all(state.nodes.map((n) => Directory.open({ url: n.url, tls: { startTLS: false, insecure: false } })));
  try {
    await waitUntilNodesAgree(dirs, state.suffix, openLdapAdapter, { timeoutMs: 30_000, expectChanges });
  } finally {
    await Promise.all(dirs.map((d) => d.close()));
  }
}
