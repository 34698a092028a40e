import { RefusedError, errorMessage } from '../errors.js';
import { describeLag } from '../servers/csn.js';
import type { WriteState } from '../servers/adapter.js';
import { holderIsDead } from '../records/liveness.js';
import { loadPlan, type LoadedPlan } from '../plan/load.js';
import { driftMessages } from '../plan/drift.js';
import type { LockInfo, RunRecord } from '../records/run-record.js';
import { isUnfinishedRun } from '../records/run-record.js';
import { lockProblems, runRecordProblems, untrustedMessage } from '../records/trust.js';
import { FORMAT_VERSION } from '../report-format.js';
import { scriptId } from '../scripts/types.js';
import { recordRules, withConnection, type Topology } from '../replication/topology.js';
import { schemaGaps } from '../schema/compare.js';
import { readServerSchema } from '../schema/read.js';
import { appliedConfigScripts, configGaps } from './config-check.js';
import type { Directory } from '../ldap/directory.js';
import { ignoreSet } from '../replication/entry-compare.js';
import { journalDns } from '../records/journal-targets.js';
import { readBack } from '../replication/read-back.js';

export interface ReplicaStatus {
  url: string;
  reachable: boolean;
  /** undefined when its configuration could not be read. */
  frozen?: boolean;
  /** The run that froze it, when a run record says so. */
  frozenBy?: string;
  converged?: boolean;
  lag?: string;
  /** Attribute types and object classes the master has and this node lacks (by OID), listed. */
  schemaLacks?: string[];
  /** What it lacks of the applied configuration scripts (cn=config is not replicated), listed. */
  configLacks?: string[];
  error?: string;
}

export interface StatusReport {
  kind: 'status';
  formatVersion: number;
  server: string;
  master: string;
  storedVersion?: string;
  /** The assumed version when none is stored. */
  baselineVersion: string;
  versionEntryExists: boolean;
  /** Undefined when planning is refused (see planRefusal). */
  targetVersion?: string;
  /** Why no plan could be made (e.g. the data is newer than every script). */
  planRefusal?: string;
  pending: { version: string; script: string }[];
  upToDate: boolean;
  lock?: LockInfo & { holderDead: boolean; why: string };
  /** A run that did not finish cleanly (recover or resume it). */
  interruptedRun?: { runId: string; state: string; host: string };
  /**
   * Records under the version entry that this tool would not use (records/trust.ts): a planted or
   * damaged lock or run record, each named with what does not match. `upgrade` and `recover`
   * refuse them (exit 7).
   */
  untrusted: string[];
  replicas: ReplicaStatus[];
  /** Where the replica list came from (configured, or discovered and what discovery cannot see). */
  replicaSource: { how: 'configured' | 'discovered'; accepted: boolean; blindSpot?: string };
  warnings: string[];
}

/** `status` (README "Usage"): read-only; works with unreachable replicas (reported as such). */
export async function readStatus(topology: Topology): Promise<StatusReport> {
  const { store, config, adapter } = topology;
  let loaded: LoadedPlan | undefined;
  let planRefusal: string | undefined;
  try {
    loaded = await loadPlan(config, store, {});
  } catch (err) {
    // Data newer than the tool, a bad target…: still show everything else.
    if (!(err instanceof RefusedError)) throw err;
    planRefusal = err.message;
  }
  const stored = loaded?.stored ?? (await store.readVersion());
  const runs = stored.exists ? await store.readRuns() : [];
  const { lock, unfinished, untrusted } = trustedState(topology, await store.readLock(), runs);
  const masterState = await adapter.readReplicationState(topology.master, config.suffix);
  const masterSchema = readServerSchema(topology.master);
  masterSchema.catch(() => undefined); // read once, awaited by each replica (its error is theirs)
  const configScripts = await appliedConfigScripts(topology);
  const replicas = await Promise.all(topology.replicas.map(async (r): Promise<ReplicaStatus> => {
    const status: ReplicaStatus = { url: r.url, reachable: r.data !== undefined };
    let ownId: string | undefined;
    if (!r.data) {
      status.error = r.error;
      return status;
    }
    try {
      const ws: WriteState = await withConnection(topology.openConfig(r.url), (cfg) => adapter.readWriteState(cfg, config.suffix));
      status.frozen = ws.frozen;
      if (ws.frozen) status.frozenBy = frozenBy(runs, r.url);
      ownId = ws.ownId;
    } catch (err) {
      status.error = `configuration not readable: ${errorMessage(err)}`;
    }
    try {
      const cmp = adapter.compare(masterState, await adapter.readReplicationState(r.data, config.suffix), ownId);
      status.converged = cmp.caughtUp;
      status.lag = describeLag(cmp);
      // An equal state is not enough (docs/replication.md "Convergence"): the tool's own latest changes on the master must
      // be there too — the version entry and the newest run record stand in for a run's canary.
      const mismatch = cmp.caughtUp ? await ownRecordsDiffer(topology, r.data, runs[0], r.ignoreAttributes) : undefined;
      if (mismatch) {
        status.converged = false;
        status.lag = `its replication state equals the master's, but ${mismatch}: it does not receive this master's changes, or not all of them`;
      }
      const gaps = schemaGaps(await masterSchema, await readServerSchema(r.data));
      if (gaps.missingCount) status.schemaLacks = gaps.missing;
      const lacking = await configGaps(topology, r.url, configScripts);
      if (lacking.lacks.length) status.configLacks = lacking.lacks;
    } catch (err) {
      status.error = status.error ?? errorMessage(err);
    }
    return status;
  }));
  return {
    kind: 'status', formatVersion: FORMAT_VERSION, server: topology.identity.product, master: config.master.url,
    storedVersion: stored.version, baselineVersion: config.baselineVersion, versionEntryExists: stored.exists,
    targetVersion: loaded?.plan.toVersion,
    pending: loaded?.plan.steps.map((s) => ({ version: s.version, script: scriptId(s.script) })) ?? [],
    upToDate: loaded !== undefined && loaded.plan.steps.length === 0,
    planRefusal,
    lock: lock ? { ...lock, ...liveness(lock) } : undefined,
    interruptedRun: unfinished ? { runId: unfinished.runId, state: unfinished.state, host: unfinished.host } : undefined,
    untrusted,
    replicas,
    replicaSource: topology.replicaSource,
    warnings: [
      ...topology.transportWarnings,
      ...(loaded ? driftMessages(loaded.drift) : []),
      ...(topology.replicaSource.how === 'discovered' && topology.replicaSource.blindSpot && !topology.replicaSource.accepted
        ? [`the replicas were discovered from the master, and ${topology.replicaSource.blindSpot}: upgrade refuses until they are listed under replicas: (or replicas: discover accepts it)`] : []),
    ],
  };
}

/** At most this many entries of the newest run's journal are read back by `status`. */
const STATUS_READ_BACK = 10_000;

/**
 * Which entry reads differently on the replica than on the master, if any: the tool's own
 * version entry and newest run record, then the entries that run changed (when its journal is on
 * this machine; the first 10,000).
 */
async function ownRecordsDiffer(topology: Topology, replica: Directory, newest: RunRecord | undefined, ignore: string[] | undefined): Promise<string | undefined> {
  const dns = [topology.config.versionEntry, ...(newest ? [`cn=${newest.runId},${topology.store.runsDn}`] : [])];
  const back = await readBack(topology.master, replica, limited(journalDns(newest?.journal, dns), STATUS_READ_BACK + dns.length), ignoreSet(ignore));
  return back.first ? `${back.first.dn}: ${back.first.what}` : undefined;
}

async function* limited<T>(items: AsyncIterable<T>, max: number): AsyncGenerator<T> {
  let n = 0;
  for await (const item of items) {
    if (n++ >= max) return;
    yield item;
  }
}

function liveness(lock: LockInfo): { holderDead: boolean; why: string } {
  const { dead, why } = holderIsDead(lock);
  return { holderDead: dead, why };
}

function frozenBy(runs: RunRecord[], url: string): string | undefined {
  return runs.find((r) => r.replicas.some((x) => x.url === url && x.frozenByRun && !x.restored))?.runId;
}

/**
 * The lock and the unfinished run `status` may show as they are, and the records it names as
 * untrusted instead (records/trust.ts: `upgrade` and `recover` refuse them).
 */
function trustedState(topology: Topology, found: LockInfo | undefined, runs: RunRecord[]): { lock?: LockInfo; unfinished?: RunRecord; untrusted: string[] } {
  const rules = recordRules(topology);
  const untrusted: string[] = [];
  const lockTrouble = found ? lockProblems(found) : [];
  if (lockTrouble.length) untrusted.push(`the lock: ${lockTrouble.join('; ')}`);
  const unfinished = runs.filter(isUnfinishedRun).find((r) => {
    const problems = runRecordProblems(r, rules);
    if (problems.length) untrusted.push(untrustedMessage(r, problems));
    return problems.length === 0;
  });
  return { lock: lockTrouble.length ? undefined : found, unfinished, untrusted };
}
