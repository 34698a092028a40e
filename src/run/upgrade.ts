import { CancelledError, errorMessage } from '../errors.js';
import type { LoadedPlan, PlanRequest } from '../plan/load.js';
import type { RunRecord } from '../records/run-record.js';
import { runReplica } from '../replication/replica-freeze.js';
import type { Topology } from '../replication/topology.js';
import { FORMAT_VERSION } from '../report-format.js';
import { backupSuffix } from '../inspect/backup.js';
import type { EventSink } from '../events.js';
import { apply, type ApplyFailure } from './apply.js';
import { converge, reportConvergence } from './converge.js';
import { freeze } from './freeze.js';
import { finish, giveBack, masterLost, stopForLostLock, stopForLostMaster, stopOnError } from './give-back.js';
import { assertLockHeld, confirmPlanUnchanged, holdLease, LockLost, lockNewRun, takeOver } from './lock.js';
import { prepare } from './prepare.js';
import { checkSavedPlan } from './plan-check.js';
import { pruneJournals } from './journal-retention.js';
import type { SavedPlan } from '../plan/saved-plan.js';
import { awaitLeftBuilds, whileReadOnly } from './config-step.js';
import type { RunReport } from './reports.js';
import { rollBack } from './rollback.js';
import { liveRun, runSettings, type LiveRun, type RunSettings } from './run.js';
import { schemaStepsApplied } from './schema-step.js';

export interface UpgradeOptions extends PlanRequest {
  /** Continue the interrupted run after its last completed script. */
  resume?: boolean;
  /** Stream the suffix to this LDIF file before freezing. */
  backupFile?: string;
  /** Aborted on SIGINT/SIGTERM: the run rolls back and gives the replicas back. */
  signal?: AbortSignal;
  /** Asked after preflight and planning, before anything is written; false cancels (CancelledError). */
  confirm?: (plan: LoadedPlan, resume: RunRecord | undefined) => Promise<boolean>;
  /**
   * `upgrade --plan FILE`: the reviewed plan (read by readSavedPlan), whose writes the data steps
   * send instead of running their scripts; checked (checkSavedPlan) before the confirmation and
   * the lock. The request is the plan's own.
   */
  saved?: SavedPlan;
}

/**
 * `upgrade`: the whole process (docs/run.md). Returns the run report for every outcome of a run
 * that took the lock (done, script failed and rolled back, interrupted, not converged, master
 * lost, replicas left frozen: see RunOutcome); what stops it before the lock — a refusal, a lock
 * held, an interrupted run, a failed freeze — is thrown as a typed error.
 */
export async function runUpgrade(topology: Topology, options: UpgradeOptions, events: EventSink): Promise<RunReport> {
  const started = Date.now();
  const { saved } = options;
  const request = saved ? { ...options, ...saved.header.request, resume: false } : options;
  const { resuming, preflight: found, loaded, warnings, stepIds } = await prepare(topology, request, 'live', events);
  if (saved) await checkSavedPlan(topology, saved, loaded, events);
  if (!resuming && loaded.plan.steps.length === 0) {
    return {
      kind: 'upgrade', formatVersion: FORMAT_VERSION, outcome: 'nothing-to-do', fromVersion: loaded.plan.fromVersion,
      toVersion: loaded.plan.toVersion, steps: [], replicas: [], totalMs: Date.now() - started, rolledBack: false,
      warnings: [...warnings, ...topology.transportWarnings],
    };
  }
  if (options.confirm && !(await options.confirm(loaded, resuming))) {
    throw new CancelledError('cancelled at the confirmation prompt: nothing was changed');
  }
  // An index build the interrupted run started (389 DS) keeps a database read-only until it ends.
  if (resuming) await awaitLeftBuilds(topology, runSettings(topology.config).timeoutMs, runSettings(topology.config).pollMs, events);
  const record = resuming ? await whileReadOnly(() => takeOver(topology, resuming, events), runSettings(topology.config).timeoutMs) : await lockNewRun(topology, loaded, stepIds, events);
  if (!resuming && found.replicas.every((r) => r.writeState)) {
    // As preflight read them, before the run's first write: a setting that the next replication
    // session undoes (389 DS, transient) is still seen as it was, and given back so after.
    record.replicas = found.replicas.map((r) => runReplica(r.url, r.writeState!));
  }
  if (saved) record.plan = saved.digest;
  if (!resuming) await confirmPlanUnchanged(topology, record, request, stepIds);
  let backupFile: string | undefined;
  if (options.backupFile && !resuming) {
    events({ type: 'phase', phase: 'backup', message: `backup of ${topology.config.suffix} to ${options.backupFile}` });
    const backup = await backupSuffix(topology.master, topology.config.suffix, options.backupFile, topology.adapter.backupAttributes);
    events({ type: 'info', message: `backup: ${backup.entries} entries written to ${backup.file} in ${backup.durationMs} ms` });
    backupFile = options.backupFile;
  }
  // The run stops (and writes nothing more) when it loses its lock, as when it is interrupted.
  const lockLost = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, lockLost.signal]) : lockLost.signal;
  const settings: RunSettings = { ...runSettings(topology.config), signal, resumed: resuming !== undefined };
  const report = await execute(liveRun(topology, record, loaded.plan, settings, events, started, saved), lockLost);
  report.backupFile = backupFile;
  report.warnings.push(...warnings, ...topology.transportWarnings);
  return report;
}

/**
 * The phases of a run that holds the lock: freeze → apply → converge → give back → unlock, or
 * freeze → apply (fails) → rollback → give back → unlock. Replicas are given back in every
 * outcome but a lost master's.
 */
async function execute(run: LiveRun, lockLost: AbortController): Promise<RunReport> {
  const { topology, record, report } = run;
  const stopLease = holdLease(topology, record, run.events, (why) => lockLost.abort(why));
  const lost = () => lockLost.signal.reason as LockLost;
  try {
    await freeze(run);
    const failure = await apply(run);
    if (failure?.outcome === 'lock-lost' || lockLost.signal.aborted) {
      stopForLostLock(run, failure?.outcome === 'lock-lost' ? failure.message : lost().message);
      return report;
    }
    if (failure) {
      await rollBackRun(run, failure);
      return report;
    }
    await assertLockHeld(topology, record);
    await converge(run);
    if (lockLost.signal.aborted) throw lost();
    await assertLockHeld(topology, record);
    await giveBack(run);
    record.state = report.outcome === 'done' ? 'done' : 'failed';
    record.error = report.error;
    await finish(topology, record);
    // Journals beyond those `undo` may still need (keepJournals); a failure here is only a warning.
    await pruneJournals(topology, run.events).catch((err) => report.warnings.push(`journals not pruned: ${errorMessage(err)}`));
    return report;
  } catch (err) {
    return await stopOnError(run, err, `while ${record.state === 'waiting' ? 'waiting for the replicas' : 'applying the scripts'}`);
  } finally {
    stopLease();
    report.totalMs = Date.now() - run.started;
  }
}

/** A script failed or the run was interrupted: the one rollback, then give back and unlock. */
async function rollBackRun(run: LiveRun, failure: ApplyFailure): Promise<void> {
  const { topology, record, report, events } = run;
  report.error = failure.message;
  record.error = report.error;
  events({ type: 'phase', phase: 'rollback', message: `rolling back run ${record.runId}: ${report.error}` });
  let result;
  try {
    result = await rollBack(topology, record, run.settings, events);
  } catch (err) {
    if (masterLost(topology, err)) {
      stopForLostMaster(run, err, 'while rolling back');
      return;
    }
    // Keep the lock: the data is half rolled back, and `recover --rollback` can finish it.
    report.warnings.push(`rollback failed: ${errorMessage(err)}; the lock is kept: run \`ldap-upgrade recover --rollback\``);
    report.error = `${report.error}; rollback failed: ${errorMessage(err)}`;
    await giveBack(run);
    await topology.store.writeRun(record);
    return;
  }
  if (result.conflicts.length) report.conflicts = result.conflicts;
  report.rolledBack = true;
  // The schema scripts that changed something (the steps' results know; the record only which ran).
  const applied = schemaStepsApplied(report.steps);
  const kept = result.schemaKept.filter((s) => applied.includes(s));
  if (kept.length) {
    report.warnings.push(`schema is forward-only: the rollback kept what ${kept.join(', ')} added or changed (attribute types and object classes stay on every server; a re-run finds them identical)`);
  }
  reportConvergence(report, result.converged);
  await giveBack(run);
  record.state = 'rolled-back';
  await finish(topology, record);
}
