import { ConnectionError, errorMessage } from '../errors.js';
import { failpoint } from '../failpoints.js';
import type { RunRecord } from '../records/run-record.js';
import { unfreezeReplicas, type FreezeOutcome } from '../replication/replica-freeze.js';
import type { Topology } from '../replication/topology.js';
import type { EventSink } from '../events.js';
import { LockLost } from './lock.js';
import type { RunReport } from './reports.js';
import { replicaResult, type LiveRun } from './run.js';

/**
 * Gives back every replica the run froze and has not given back yet (to its original state).
 * First the record's time of update is written on the master: its replication sessions start,
 * and a 389 DS replica gets the master's latest before it is given back (the adapter's settle).
 * Shared by the run and `recover`.
 */
export async function giveBackReplicas(topology: Topology, record: RunRecord, events: EventSink, pause: () => Promise<void> = async () => undefined): Promise<FreezeOutcome[]> {
  await topology.store.writeRun(record).catch(() => undefined);
  await pause();
  return unfreezeReplicas(topology, record.replicas, events);
}

/** The run's give-back phase: a replica that cannot be reached stays listed for `recover`. */
export async function giveBack(run: LiveRun): Promise<void> {
  const { report, events } = run;
  events({ type: 'phase', phase: 'unfreeze', message: 'unfreeze the replicas' });
  const results = await giveBackReplicas(run.topology, run.record, events, () => failpoint('give-back'));
  for (const u of results) {
    const r = replicaResult(report, u.url);
    r.unfreeze = u.ok ? 'Success' : 'Error';
    if (!u.ok) {
      r.error = u.error;
      report.warnings.push(`${u.url} could not be unfrozen (${u.error}): run \`ldap-upgrade recover\` once it is reachable`);
    }
  }
  // Never "done" (nor "rolled back, replicas unfrozen") while a replica is still frozen.
  const frozen = results.filter((u) => !u.ok);
  if (frozen.length) {
    const before = report.outcome === 'done' ? 'the data is upgraded' : report.error ?? report.outcome;
    report.outcome = 'replicas-frozen';
    report.error = `${before}; but ${frozen.map((u) => u.url).join(', ')} could not be given back and stay${frozen.length === 1 ? 's' : ''} frozen: run \`ldap-upgrade recover\` once the cause is fixed (${frozen.map((u) => u.error).join('; ')})`;
  }
}

/** Unlock, then the run record's final state. */
export async function finish(topology: Topology, record: RunRecord): Promise<void> {
  await topology.store.releaseLock(record.runId);
  await topology.store.writeRun(record);
}

/** Whether `err` (or what it wraps) is the master's connection failing for good. */
export function masterLost(topology: Topology, err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    // Only once reconnecting failed: one operation cut off (its socket closed) is not a lost master.
    if (e instanceof ConnectionError && e.reconnectFailed && e.server === topology.master.server) return true;
  }
  return false;
}

/**
 * The master went away and did not come back within the reconnect window: nothing more can be
 * written (nor the run record), so the replicas stay frozen — clients must not write on
 * half-applied data — and the lock stays; the report says what to run once the master is back.
 */
export function stopForLostMaster(run: LiveRun, err: unknown, when: string): void {
  const { record, report, topology } = run;
  const frozen = stillFrozen(record);
  report.outcome = 'master-lost';
  report.error = `the master ${topology.config.master.url} was lost ${when} (${errorMessage(err)}): ${frozen.length ? `the replicas ${frozen.join(', ')} stay frozen` : 'no replica is frozen'} and the lock stays held. Once the master is back, run \`ldap-upgrade recover --rollback\` to undo this run (or \`ldap-upgrade upgrade --resume\` to finish it)`;
  for (const url of frozen) {
    const r = report.replicas.find((x) => x.url === url);
    if (r) r.unfreeze = 'NotExecuted';
  }
}

/**
 * The run lost its lock (deleted, or taken by another run): it writes nothing more — no
 * rollback, no give-back, no record — since either could write over the run that holds the
 * lock now. The report says what is left and how to finish it.
 */
export function stopForLostLock(run: LiveRun, why: string): void {
  const { record, report } = run;
  const frozen = stillFrozen(record);
  report.outcome = 'lock-lost';
  report.error = `run ${record.runId} stopped: ${why}. It stopped writing: nothing was rolled back, ${frozen.length ? `the replicas ${frozen.join(', ')} stay frozen` : 'no replica is frozen'}, its journal is ${record.journal}. Check \`ldap-upgrade status\` (who holds the lock?); once no other run is active, \`ldap-upgrade recover --rollback --force\` undoes this run`;
  for (const url of frozen) {
    const r = report.replicas.find((x) => x.url === url);
    if (r) r.unfreeze = 'NotExecuted';
  }
}

/** The replicas the run froze and has not given back yet. */
export function stillFrozen(record: RunRecord): string[] {
  return record.replicas.filter((r) => r.frozenByRun && !r.restored).map((r) => r.url);
}

/**
 * An error that ends a run holding the lock (an upgrade or an undo): a lost lock stops it where
 * it is, a lost master after the first write leaves the replicas frozen (`whileDoing` says when),
 * and anything else still gives the replicas back (the lock stays for `recover` to see) and is
 * thrown on. Returns the report for the first two.
 */
export async function stopOnError(run: LiveRun, err: unknown, whileDoing: string): Promise<RunReport> {
  const { topology, record, report } = run;
  if (err instanceof LockLost) {
    stopForLostLock(run, err.message);
    return report;
  }
  if (masterLost(topology, err) && record.state !== 'failed' && record.state !== 'frozen') {
    // Half-applied data on the master: clients must not write to the replicas meanwhile.
    stopForLostMaster(run, err, whileDoing);
    return report;
  }
  if (record.state !== 'failed') {
    await giveBack(run).catch(() => undefined);
    record.error = errorMessage(err);
    await topology.store.writeRun(record).catch(() => undefined);
  }
  throw err;
}
