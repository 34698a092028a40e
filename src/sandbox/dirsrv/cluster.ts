import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../../errors.js';
import { Directory } from '../../ldap/directory.js';
import { dirsrvAdapter } from '../../servers/389ds/adapter.js';
import { attach, writeState, type SandboxCluster, type SandboxNode, type SandboxState } from '../cluster.js';
import { sandboxYaml, writeSecret } from '../config-files.js';
import { waitUntilNodesAgree } from '../convergence.js';
import { isAlive, portIsFree } from '../processes.js';
import { loadSampleTree } from '../sample-tree.js';
import { checkDirsrvInstalled, createInstance, paths, removeInstance, startInstance, stopInstance } from './instances.js';
import { replicateNodes } from './replication.js';

export interface DirsrvSandboxOptions {
  nodes: number;
  dir: string;
  ports: number[];
  suffix?: string;
  sampleData?: boolean;
  scriptsDir?: string;
  /** The last `consumers` nodes are read-only consumers fed by node 1 only. Default 0. */
  consumers?: number;
}

const ROOT_DN = 'cn=Directory Manager';
const TLS = { startTLS: false, insecure: false };

/**
 * 389 DS multi-supplier sandbox: instances created with lib389 (no systemd), loopback only, small
 * caches, the sample tree loaded on node 1, agreements between every pair, node 1 initialising
 * the others, then a wait until every RUV has node 1's.
 */
export async function startDirsrvCluster(options: DirsrvSandboxOptions): Promise<SandboxCluster> {
  checkDirsrvInstalled();
  const dir = resolve(options.dir);
  const suffix = options.suffix ?? 'dc=example,dc=com';
  for (const port of options.ports) {
    if (!(await portIsFree(port))) throw new UsageError(`port ${port} on 127.0.0.1 is already in use: choose others with --base-port`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const password = randomBytes(12).toString('base64url');
  const managerPassword = randomBytes(12).toString('base64url');
  const tag = randomBytes(3).toString('hex');
  const state: SandboxState = {
    kind: '389ds', dir, suffix, bindDn: ROOT_DN, configDn: ROOT_DN,
    passwordFile: join(dir, 'password.conf'), configPasswordFile: join(dir, 'password.conf'),
    configFile: join(dir, 'ldap-upgrade.yaml'),
    nodes: options.ports.map((port, i) => ({
      id: i + 1, port, url: `ldap://127.0.0.1:${port}`, pid: 0, instance: `lu${tag}n${i + 1}`,
      ...(i >= options.ports.length - (options.consumers ?? 0) ? { consumer: true } : {}),
    })),
  };
  writeSecret(state.passwordFile, password);
  writeState(state); // so that `sandbox down` can clean up even a half-made cluster
  try {
    await Promise.all(state.nodes.map((n) => createInstance({ instance: n.instance!, port: n.port, suffix, rootPassword: password, workDir: dir })));
    await Promise.all(state.nodes.map(async (n) => {
      n.pid = await startInstance(n.instance!, n.port, join(dir, `${n.instance}.log`));
    }));
    writeState(state);
    const conns = await Promise.all(state.nodes.map((n) => Directory.open({ url: n.url, bindDn: ROOT_DN, password, tls: TLS })));
    try {
      if (options.sampleData !== false) await loadSampleTree(conns[0]!, suffix); // dscreate made the suffix entry
      await replicateNodes(conns, suffix, state.nodes, managerPassword);
      // The data and the RUV move together: equal RUVs mean the nodes hold node 1's data. Up to
      // 2 min: the total updates of a 3-node cluster took over 60 s once on this 2-core machine
      // while another test file's servers were busy.
      await waitUntilNodesAgree(conns, suffix, dirsrvAdapter, { timeoutMs: 120_000, expectChanges: true, nudgeAfterMs: 30_000 });
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
    writeFileSync(state.configFile, sandboxYaml(state, options.scriptsDir));
  } catch (err) {
    await stopDirsrvNodes(state, { graceMs: 500 });
    throw err;
  }
  return attach(state);
}

/** Stops the nodes and, unless `keep`, removes the instances from /etc, /var/lib, /var/log and /run. */
export async function stopDirsrvNodes(state: SandboxState, options: { keep?: boolean; graceMs?: number } = {}): Promise<void> {
  // A node that stopped by itself (a crash): its errors log outlives the instance, in the folder.
  const dead = state.nodes.filter((n) => n.pid > 0 && !isAlive(n.pid));
  await Promise.all(state.nodes.map((n) => stopInstance(n.pid, options.graceMs ?? 10_000)));
  for (const n of dead) {
    const kept = join(state.dir, `${n.instance}.errors.log`);
    try {
      copyFileSync(join(paths(n.instance!).logs, 'errors'), kept);
      process.stderr.write(`sandbox: node ${n.id} (${n.instance}) had stopped by itself; its errors log is kept in ${kept}\n`);
    } catch { /* no log to keep */ }
  }
  if (!options.keep) for (const n of state.nodes) removeInstance(n.instance!);
}

export async function restartDirsrvNode(state: SandboxState, id: number): Promise<SandboxNode> {
  const node = state.nodes.find((n) => n.id === id);
  if (!node) throw new UsageError(`the sandbox has no node ${id}`);
  // ns-slapd refuses to start while its pid file names a process that still exists.
  for (let i = 0; i < 200 && isAlive(node.pid); i++) await sleep(50);
  node.pid = await startInstance(node.instance!, node.port, join(state.dir, `${node.instance}.log`));
  writeState(state);
  return node;
}
