import { join } from 'node:path';
import { errorMessage, InterruptedRunError, LockedError, RefusedError } from '../errors.js';
import { loadPlan, type LoadedPlan, type PlanRequest } from '../plan/load.js';
import { holderIsDead, LEASE_MS, leaseExpiry, thisHost } from '../records/liveness.js';
import { isUnfinishedRun, type RunRecord } from '../records/run-record.js';
import { newRunId } from '../records/run-id.js';
import { describeHolder } from '../records/state-store.js';
import { recordRules, type Topology } from '../replication/topology.js';
import { trustedLock, trustedRunRecord } from '../records/trust.js';
import { scriptId } from '../scripts/types.js';
import type { EventSink } from '../events.js';

/**
 * An interrupted run: the lock held by a dead process, or a run record left in an active state.
 * Without `resume`: exit 8 (or 4 when the holder may be alive).
 */
export async function findInterrupted(topology: Topology, resume: boolean): Promise<RunRecord | undefined> {
  const { store } = topology;
  const found = await store.readLock();
  const lock = found && trustedLock(found);
  if (lock) {
    const life = holderIsDead(lock);
    if (!life.dead) throw new LockedError(`locked by run ${describeHolder(lock)}: ${life.why}`);
    if (!resume) throw new InterruptedRunError(`run ${describeHolder(lock)} was interrupted (${life.why}): run \`ldap-upgrade recover\` (add --rollback to undo it) or \`ldap-upgrade upgrade --resume\``);
    const record = await store.readRun(lock.runId);
    if (!record) throw new InterruptedRunError(`run ${lock.runId} holds the lock but has no run record: run \`ldap-upgrade recover\``);
    return checkResumable(trustedRunRecord(record, recordRules(topology)));
  }
  const unfinished = (await store.readRuns()).find(isUnfinishedRun);
  if (!unfinished) return undefined;
  const stale = trustedRunRecord(unfinished, recordRules(topology));
  if (!resume) throw new InterruptedRunError(`run ${stale.runId} (host ${stale.host}) did not finish (state ${stale.state}): run \`ldap-upgrade recover\` or \`ldap-upgrade upgrade --resume\``);
  return checkResumable(stale);
}

function checkResumable(record: RunRecord): RunRecord {
  if (record.state === 'rolling-back') throw new RefusedError(`run ${record.runId} was rolling back when it stopped: finish it with \`ldap-upgrade recover --rollback\``);
  if (!['frozen', 'applying', 'waiting'].includes(record.state)) {
    throw new RefusedError(`run ${record.runId} ended (${record.state}) but left replicas frozen: run \`ldap-upgrade recover\``);
  }
  if (record.host !== thisHost()) throw new RefusedError(`run ${record.runId} ran on ${record.host}: resume it there (its journal of pre-images is on that host)`);
  return record;
}

/**
 * Takes the lock for a new run (an LDAP add: a second run gets exit 4) and makes its record.
 * The record's first state is `frozen` — the stored name of "locked, nothing written yet"
 * (renaming it would be a migration of the records in the directory).
 */
export async function lockNewRun(topology: Topology, loaded: LoadedPlan, stepIds: string[], events: EventSink): Promise<RunRecord> {
  const { store, config } = topology;
  await store.ensureEntries();
  const runId = newRunId();
  const now = new Date().toISOString();
  events({ type: 'phase', phase: 'lock', message: `lock: run ${runId}`, runId });
  await store.takeLock({ runId, host: thisHost(), pid: process.pid, startedAt: now, expiresAt: leaseExpiry() });
  return {
    runId, state: 'frozen', host: thisHost(), pid: process.pid, startedAt: now, updatedAt: now,
    fromVersion: loaded.plan.fromVersion, toVersion: loaded.plan.toVersion, storedBefore: loaded.stored.version,
    tags: loaded.plan.tags, steps: stepIds, completed: 0,
    journal: join(config.backupDir, `${runId}.journal.jsonl`), replicas: [],
  };
}

/** Resume: the dead run's lock becomes this process's; its frozen replicas and journal carry on. */
export async function takeOver(topology: Topology, record: RunRecord, events: EventSink): Promise<RunRecord> {
  events({ type: 'phase', phase: 'lock', message: `resuming run ${record.runId} after ${record.completed} of ${record.steps.length} script(s)`, runId: record.runId });
  const lock = { runId: record.runId, host: thisHost(), pid: process.pid, startedAt: record.startedAt, expiresAt: leaseExpiry() };
  if (await topology.store.readLock()) await topology.store.writeLock(lock);
  else await topology.store.takeLock(lock);
  return { ...record, pid: process.pid };
}

/**
 * Re-reads the plan once the lock is held: another run may have finished between planning and
 * locking. Refused (exit 7, the lock released) when the plan is not the same any more.
 */
export async function confirmPlanUnchanged(topology: Topology, record: RunRecord, request: PlanRequest, stepIds: string[]): Promise<void> {
  const again = await loadPlan(topology.config, topology.store, request);
  if (again.plan.steps.map((s) => scriptId(s.script)).join('\n') === stepIds.join('\n')) return;
  await topology.store.releaseLock(record.runId);
  await topology.store.writeRun({ ...record, state: 'failed', error: 'the directory changed while planning' });
  throw new RefusedError('the stored version changed while planning (another run?): nothing was written; run again');
}

/** The run's lock was deleted, or is held by another run now: the run must stop writing. */
export class LockLost extends Error {}

/** Throws LockLost unless the lock is still this run's. */
export async function assertLockHeld(topology: Topology, record: RunRecord): Promise<void> {
  const lock = await topology.store.readLock();
  if (!lock) throw new LockLost(`its lock (${topology.store.lockDn}) was deleted while it ran`);
  if (lock.runId !== record.runId) throw new LockLost(`its lock is held by run ${describeHolder(lock)} now`);
}

/**
 * Renews the lock's lease while the run lives — after checking that the lock is still the run's:
 * one that was deleted or taken stops the renewal and calls `lost` (the run stops writing).
 * Returns the function that stops renewing.
 */
export function holdLease(topology: Topology, record: RunRecord, events: EventSink, lost: (why: LockLost) => void): () => void {
  const lease = setInterval(() => {
    assertLockHeld(topology, record)
      .then(() => topology.store.writeLock({ runId: record.runId, host: record.host, pid: record.pid, startedAt: record.startedAt, expiresAt: leaseExpiry() }))
      .catch((err) => {
        if (err instanceof LockLost) {
          clearInterval(lease);
          lost(err);
        } else {
          events({ type: 'warning', message: `could not renew the lock's lease: ${errorMessage(err)}` });
        }
      });
  }, LEASE_MS / 4);
  lease.unref();
  return () => clearInterval(lease);
}
