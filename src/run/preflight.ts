import { ConnectionError, errorMessage } from '../errors.js';
import type { WriteState, ReplicationState } from '../servers/adapter.js';
import { describeLag } from '../servers/csn.js';
import type { EventSink } from '../events.js';
import { waitUntilHolds } from '../replication/catch-up.js';
import { writableDirProblem } from '../records/local-files.js';
import { howSameServer } from '../replication/server-identity.js';
import { withConnection, type Topology } from '../replication/topology.js';

/** How long preflight lets a replica catch up with the master's state read at its start. */
const CONVERGED_GRACE_MS = 10_000;

export interface ReplicaFinding {
  url: string;
  reachable: boolean;
  /** Its write state now (read over cn=config). */
  writeState?: WriteState;
  converged?: boolean;
  /** "converged", "behind by 1.2 s", … */
  lag?: string;
  problems: string[];
}

export interface PreflightReport {
  master: { url: string; product: string };
  replicas: ReplicaFinding[];
  /** Every problem found; an upgrade (or dry run) is refused (exit 7) when there is one. */
  problems: string[];
}

/**
 * docs/run.md "Prepare", read-only: every replica reachable, its cn=config readable with the config
 * credentials, the suffix replicated to it and converged now.
 */
export async function preflight(topology: Topology, events: EventSink): Promise<PreflightReport> {
  const { adapter, config } = topology;
  events({ type: 'phase', phase: 'preflight', message: `preflight: ${topology.identity.product} master ${config.master.url}, ${topology.replicas.length} replica(s)` });
  const masterState = await adapter.readReplicationState(topology.master, config.suffix);
  const problems: string[] = [];
  // The journal (before every write) and the log must be writable before the lock is taken.
  for (const [dir, what] of [[config.backupDir, 'backupDir'], [config.logDir, 'logDir']] as const) {
    const problem = writableDirProblem(dir, what);
    if (problem) problems.push(`this machine: ${problem}`);
  }
  const source = topology.replicaSource;
  if (source.how === 'discovered' && source.blindSpot && !source.accepted) {
    problems.push(`${config.master.url}: no replicas are configured, and discovery may miss some: ${source.blindSpot}. Discovered: ${topology.replicas.map((r) => r.url).join(', ') || 'none'}. List every replica under \`replicas:\` in the configuration (or --replica URL), or set \`replicas: discover\` to accept what discovery finds`);
  }
  if (!(await topology.master.get(config.suffix, ['objectClass']))) problems.push(`${config.master.url}: the suffix ${config.suffix} does not exist on the master`);
  if (topology.replicas.length > 0 && masterState.size === 0) {
    problems.push(`${config.master.url}: no replication state (contextCSN) on ${config.suffix}: is it replicated?`);
  }
  let masterIdentity: string | undefined;
  try {
    await withConnection(topology.openConfig(config.master.url), async (cfg) => {
      if (topology.replicas.length > 0) {
        const health = await topology.adapter.replicationHealth?.(cfg, config.suffix);
        for (const p of health?.problems ?? []) problems.push(`${config.master.url}: ${p}`);
        for (const w of health?.warnings ?? []) events({ type: 'warning', message: `${config.master.url}: ${w}` });
      }
      // Pointed at a replica, hub or consumer by mistake: its first write (the lock) would be refused or referred.
      const own = await topology.adapter.readWriteState(cfg, config.suffix);
      if (own.frozen) {
        problems.push(`${config.master.url}: it does not take client writes for ${config.suffix} (${own.why ?? `${own.attribute}: ${own.original.join(', ') || 'unset'}`}): the master must be a writable provider/supplier`);
      }
      masterIdentity = await topology.adapter.serverIdentity?.(cfg, config.suffix);
    });
  } catch (err) {
    if (err instanceof ConnectionError && err.ldapCode !== undefined) throw err;
    // Without replicas, nothing needs the master's cn=config (a refused lock write says the rest).
    if (topology.replicas.length > 0) problems.push(`${config.master.url}: cannot read its configuration as ${config.configBind.dn}: ${errorMessage(err)}`);
  }
  const replicas = await Promise.all(topology.replicas.map((r) => checkReplica(topology, r.url, r.data !== undefined, r.error, masterState, masterIdentity, events)));
  for (const r of replicas) for (const p of r.problems) problems.push(`${r.url}: ${p}`);
  for (const r of replicas) {
    events({ type: 'server', url: r.url, ok: r.problems.length === 0, message: r.problems.length ? r.problems.join('; ') : `reachable, ${!r.writeState?.frozen ? 'writable' : r.writeState.transient ? 'read-only until its next replication session (frozen by the run all the same)' : 'already read-only'}, ${r.lag}` });
  }
  return { master: { url: config.master.url, product: topology.identity.product }, replicas, problems };
}

async function checkReplica(topology: Topology, url: string, reachable: boolean, error: string | undefined, masterState: ReplicationState, masterIdentity: string | undefined, events: EventSink): Promise<ReplicaFinding> {
  const finding: ReplicaFinding = { url, reachable, problems: [] };
  const same = await howSameServer(topology.config.master.url, url);
  if (same) {
    // Freezing it would freeze the master.
    finding.problems.push(`it is the master itself (${same}): remove it from the replicas`);
    return finding;
  }
  if (!reachable) {
    finding.problems.push(`unreachable: ${error}`);
    return finding;
  }
  const data = topology.replicas.find((r) => r.url === url)!.data!;
  try {
    const isMaster = await withConnection(topology.openConfig(url), async (cfg) => {
      finding.writeState = await topology.adapter.readWriteState(cfg, topology.config.suffix);
      const identity = await topology.adapter.serverIdentity?.(cfg, topology.config.suffix);
      if (identity !== undefined && identity === masterIdentity) {
        finding.problems.push(`it has the master's ${identity}: it is the master itself under another URL (or a misconfigured copy of it); remove it from the replicas`);
        return true;
      }
      const health = await topology.adapter.replicationHealth?.(cfg, topology.config.suffix);
      finding.problems.push(...health?.problems ?? []);
      for (const w of health?.warnings ?? []) events({ type: 'warning', message: `${url}: ${w}` });
      return false;
    });
    if (isMaster) return finding;
  } catch (err) {
    if (err instanceof ConnectionError && err.ldapCode !== undefined) throw err;
    finding.problems.push(`cannot read its configuration as ${topology.config.configBind.dn}: ${errorMessage(err)}`);
  }
  try {
    if ((await topology.adapter.readReplicationState(data, topology.config.suffix)).size === 0) {
      finding.problems.push(`no replication state on ${topology.config.suffix}: the suffix is not replicated to it`);
      return finding;
    }
    // Compared with the master's state read at the start; a replica still receiving the last
    // client writes gets a short grace period before it counts as not converged.
    // A replica holds its own changes by definition: its own id is left out of the comparison
    // (a 389 DS supplier made a hub loses it from its RUV for a while).
    const cmp = await waitUntilHolds(topology.adapter, topology.config.suffix, data, masterState, CONVERGED_GRACE_MS, finding.writeState?.ownId);
    finding.converged = cmp.caughtUp;
    finding.lag = describeLag(cmp);
    if (!cmp.caughtUp) finding.problems.push(`not converged with the master before the run (${finding.lag})`);
  } catch (err) {
    finding.problems.push(`cannot read its replication state: ${errorMessage(err)}`);
  }
  return finding;
}
