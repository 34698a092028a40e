import { join } from 'node:path';
import { InterruptedRunError, LockedError, RefusedError } from '../errors.js';
import { scriptId } from '../scripts/types.js';
import { backupSuffix } from '../inspect/backup.js';
import type { EventSink } from '../events.js';
import { executeRun, type RunSettings } from './execute-run.js';
import { runReplica } from '../replication/replica-freeze.js';
import { holderIsDead, leaseExpiry, thisHost } from '../records/liveness.js';
import { checkDrift, loadPlan, type LoadedPlan, type PlanRequest } from '../plan/load.js';
import { preflight } from './preflight.js';
import { schemaPreflight } from './schema-step.js';
import { isUnfinishedRun, type RunRecord } from '../records/run-record.js';
import { FORMAT_VERSION } from '../report-format.js';
import { type RunReport } from './reports.js';
import { newRunId } from '../records/run-id.js';
import { describeHolder } from '../records/state-store.js';
import type { Topology } from '../replication/topology.js';

export interface UpgradeOptions extends PlanRequest {
  /** Continue the interrupted run after its last completed script. */
  resume?: boolean;
  /** Stream the suffix to this LDIF file before freezing. */
  backupFile?: string;
  timeoutMs: number;
  pollMs: number;
  writeConcurrency?: number;
  /** Aborted on SIGINT/SIGTERM: the run rolls back and gives the replicas back. */
  signal?: AbortSignal;
  /** Asked after preflight and planning, before anything is written; false cancels. */
  confirm?: (plan: LoadedPlan, resume: RunRecord | undefined) => Promise<boolean>;
}

/** `upgrade` (SPEC §7): the whole process. Returns the run report; expected failures are in it. */
export async function runUpgrade(topology: Topology, options: UpgradeOptions, events: EventSink): Promise<RunReport> {
  const started = Date.now();
  // An interrupted run or a live lock matters more than anything preflight could find.
  const interrupted = await findInterrupted(topology, options.resume === true);
  if (options.resume && !interrupted) throw new RefusedError('--resume: there is no interrupted run to resume');
  const found = await preflight(topology, events);
  if (found.problems.length > 0) throw new RefusedError(`preflight failed: ${found.problems.join('; ')}`);

  const loaded = interrupted
    ? await loadPlan(topology.config, topology.store, { from: interrupted.fromVersion, to: interrupted.toVersion, tags: interrupted.tags, force: true })
    : await loadPlan(topology.config, topology.store, options);
  const driftWarnings = checkDrift(loaded.drift, options.acceptDrift);
  for (const message of driftWarnings) events({ type: 'warning', message });
  await schemaPreflight(topology, loaded.plan, events);
  const stepIds = loaded.plan.steps.map((s) => scriptId(s.script));
  if (interrupted && stepIds.join('\n') !== interrupted.steps.join('\n')) {
    throw new RefusedError(`--resume: the scripts differ from those of run ${interrupted.runId}; run \`ldap-upgrade recover --rollback\` instead`);
  }
  if (!interrupted && loaded.plan.steps.length === 0) {
    return {
      kind: 'upgrade', formatVersion: FORMAT_VERSION, outcome: 'nothing-to-do', fromVersion: loaded.plan.fromVersion,
      toVersion: loaded.plan.toVersion, steps: [], replicas: [], totalMs: Date.now() - started, rolledBack: false,
      warnings: driftWarnings,
    };
  }
  if (options.confirm && !(await options.confirm(loaded, interrupted))) {
    throw new RefusedError('cancelled at the confirmation prompt: nothing was changed');
  }

  const record = interrupted ? await takeOver(topology, interrupted, events) : await lockNewRun(topology, loaded, stepIds, events);
  if (!interrupted && found.replicas.every((r) => r.writeState)) {
    // As preflight read them, before the run's first write: a setting that the next replication
    // session undoes (389 DS, transient) is still seen as it was, and given back so after.
    record.replicas = found.replicas.map((r) => runReplica(r.url, r.writeState!));
  }
  if (!interrupted) {
    // Re-check what was read before locking: another run may have finished in between.
    const again = await loadPlan(topology.config, topology.store, options);
    if (again.plan.steps.map((s) => scriptId(s.script)).join('\n') !== stepIds.join('\n')) {
      await topology.store.releaseLock(record.runId);
      await topology.store.writeRun({ ...record, state: 'failed', error: 'the directory changed while planning' });
      throw new RefusedError('the stored version changed while planning (another run?): nothing was written; run again');
    }
  }
  let backupFile: string | undefined;
  if (options.backupFile && !interrupted) {
    events({ type: 'phase', phase: 'backup', message: `backup of ${topology.config.suffix} to ${options.backupFile}` });
    const backup = await backupSuffix(topology.master, topology.config.suffix, options.backupFile, topology.adapter.backupAttributes);
    events({ type: 'info', message: `backup: ${backup.entries} entries written to ${backup.file} in ${backup.durationMs} ms` });
    backupFile = options.backupFile;
  }
  const settings: RunSettings = { timeoutMs: options.timeoutMs, pollMs: options.pollMs, writeConcurrency: options.writeConcurrency, signal: options.signal, resumed: interrupted !== undefined };
  const report = await executeRun(topology, record, loaded.plan, settings, events, started);
  report.backupFile = backupFile;
  report.warnings.push(...driftWarnings);
  return report;
}

/**
 * An interrupted run: the lock held by a dead process, or a run record left in an active state.
 * Without `resume`: exit 8 (or 4 when the holder may be alive).
 */
async function findInterrupted(topology: Topology, resume: boolean): Promise<RunRecord | undefined> {
  const { store } = topology;
  const lock = await store.readLock();
  if (lock) {
    const life = holderIsDead(lock);
    if (!life.dead) throw new LockedError(`locked by run ${describeHolder(lock)}: ${life.why}`);
    if (!resume) throw new InterruptedRunError(`run ${describeHolder(lock)} was interrupted (${life.why}): run \`ldap-upgrade recover\` (add --rollback to undo it) or \`ldap-upgrade upgrade --resume\``);
    const record = await store.readRun(lock.runId);
    if (!record) throw new InterruptedRunError(`run ${lock.runId} holds the lock but has no run record: run \`ldap-upgrade recover\``);
    return checkResumable(record);
  }
  const stale = (await store.readRuns()).find(isUnfinishedRun);
  if (!stale) return undefined;
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

async function lockNewRun(topology: Topology, loaded: LoadedPlan, stepIds: string[], events: EventSink): Promise<RunRecord> {
  const { store, config } = topology;
  await store.ensureEntries();
  const runId = newRunId();
  const now = new Date().toISOString();
  events({ type: 'phase', phase: 'lock', message: `lock: run ${runId}`, runId });
  await store.takeLock({ runId, host: thisHost(), pid: process.pid, startedAt: now, expiresAt: leaseExpiry() });
  const record: RunRecord = {
    runId, state: 'frozen', host: thisHost(), pid: process.pid, startedAt: now, updatedAt: now,
    fromVersion: loaded.plan.fromVersion, toVersion: loaded.plan.toVersion, storedBefore: loaded.stored.version,
    tags: loaded.plan.tags, steps: stepIds, completed: 0,
    journal: join(config.backupDir, `${runId}.journal.jsonl`), replicas: [],
  };
  return record;
}

/** Resume: the dead run's lock becomes this process's; its frozen replicas and journal carry on. */
async function takeOver(topology: Topology, record: RunRecord, events: EventSink): Promise<RunRecord> {
  events({ type: 'phase', phase: 'lock', message: `resuming run ${record.runId} after ${record.completed} of ${record.steps.length} script(s)`, runId: record.runId });
  const lock = { runId: record.runId, host: thisHost(), pid: process.pid, startedAt: record.startedAt, expiresAt: leaseExpiry() };
  if (await topology.store.readLock()) await topology.store.writeLock(lock);
  else await topology.store.takeLock(lock);
  return { ...record, pid: process.pid };
}
