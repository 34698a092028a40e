import { UsageError } from '../errors.js';
import { Directory } from '../ldap/directory.js';
import { adapterFor } from '../servers/detect.js';
import { attach, readState, runningNodes, stopCluster, validateNodeCount, type SandboxCluster, type SandboxKind, type SandboxState } from './cluster.js';
import { startOpenLdapCluster } from './openldap.js';
import { canConnect, freePorts } from './processes.js';

export { stopCluster, readState } from './cluster.js';
export type { SandboxCluster, SandboxKind, SandboxState } from './cluster.js';
export { freePorts } from './processes.js';
export { restartOpenLdapNode } from './openldap.js';

/** Starts a stopped node of a sandbox again, whatever its server kind. */
export async function restartNode(state: SandboxState, id: number): Promise<void> {
  if (state.kind === '389ds') {
    const { restartDirsrvNode } = await import('./dirsrv/cluster.js');
    await restartDirsrvNode(state, id);
  } else {
    const { restartOpenLdapNode } = await import('./openldap.js');
    await restartOpenLdapNode(state, id);
  }
}

export interface StartOptions {
  nodes?: number;
  kind?: SandboxKind;
  dir: string;
  basePort?: number;
  /** Explicit ports; default: basePort + i, or free ports chosen by the kernel when no basePort. */
  ports?: number[];
  sampleData?: boolean;
  scriptsDir?: string;
  slapdPath?: string;
  /** OpenLDAP: how many of the nodes are read-only consumers of node 1 (the last ones). */
  consumers?: number;
  /** OpenLDAP: extra syncrepl parameters of the consumers (e.g. `exattrs=title`: fractional). */
  consumerSyncrepl?: string;
}

/**
 * Starts a replicated cluster of real servers on 127.0.0.1 (the CLI's `sandbox up` and the test
 * suite use this). When a sandbox already runs in `dir`, returns it instead of starting another.
 */
export async function startCluster(options: StartOptions): Promise<SandboxCluster & { reused: boolean }> {
  const kind = options.kind ?? 'openldap';
  const nodes = options.nodes ?? 3;
  validateNodeCount(kind, nodes);
  const existing = readState(options.dir);
  if (existing) {
    const alive = runningNodes(existing);
    if (alive.length > 0) return { ...attach(existing), reused: true };
    await stopCluster(options.dir); // a dead sandbox's leftovers
  }
  const ports = options.ports ?? (options.basePort === undefined ? await freePorts(nodes) : Array.from({ length: nodes }, (_, i) => options.basePort! + i));
  if (kind === '389ds' && (options.consumers ?? 0) > nodes - 1) throw new UsageError(`--consumers ${options.consumers}: at least one of the ${nodes} node(s) must be a supplier`);
  if (kind === '389ds') {
    const { startDirsrvCluster } = await import('./dirsrv/cluster.js');
    return { ...(await startDirsrvCluster({ ...options, nodes, ports })), reused: false };
  }
  const cluster = await startOpenLdapCluster({ ...options, nodes, ports });
  return { ...cluster, reused: false };
}

export interface NodeStatus {
  id: number;
  url: string;
  pid: number;
  running: boolean;
  reachable: boolean;
  converged?: boolean;
}

/** `sandbox status`: each node's pid, whether it answers, and whether it has node 1's contextCSN. */
export async function clusterStatus(dir: string): Promise<{ state: SandboxState; nodes: NodeStatus[] }> {
  const state = readState(dir);
  if (!state) throw new UsageError(`no sandbox in ${dir}: start one with \`ldap-upgrade sandbox up\``);
  const alive = new Set(runningNodes(state).map((n) => n.id));
  const adapter = adapterFor(state.kind === '389ds' ? '389ds' : 'openldap');
  const { password } = attach(state);
  const sets = await Promise.all(state.nodes.map(async (n) => {
    if (!(await canConnect(n.port))) return undefined;
    try {
      const d = await Directory.open({ url: n.url, bindDn: state.bindDn, password, tls: { startTLS: false, insecure: false }, timeoutMs: 3_000 });
      try {
        return await adapter.readReplicationState(d, state.suffix);
      } finally {
        await d.close();
      }
    } catch {
      return undefined;
    }
  }));
  const master = sets[0];
  return {
    state,
    nodes: state.nodes.map((n, i) => ({
      id: n.id, url: n.url, pid: n.pid, running: alive.has(n.id), reachable: sets[i] !== undefined,
      converged: master && sets[i] ? adapter.compare(master, sets[i]!).caughtUp : undefined,
    })),
  };
}
