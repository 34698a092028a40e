import { existsSync } from 'node:fs';
import { CancelledError, errorMessage, RefusedError } from '../errors.js';
import { leaseExpiry, thisHost } from '../records/liveness.js';
import { newRunId } from '../records/run-id.js';
import type { RunRecord } from '../records/run-record.js';
import { journalPath, RUN_ID, trustedRunRecord } from '../records/trust.js';
import { runReplica } from '../replication/replica-freeze.js';
import { recordRules, type Topology } from '../replication/topology.js';
import type { EventSink } from '../events.js';
import { reportConvergence } from './converge.js';
import { freeze } from './freeze.js';
import { finish, giveBack, stopOnError } from './give-back.js';
import { findInterrupted, holdLease } from './lock.js';
import { preflight } from './preflight.js';
import type { RunReport } from './reports.js';
import { rollBack } from './rollback.js';
import { liveRun, runSettings } from './run.js';
import { completedRun, newestFirst, pruneJournals } from './journal-retention.js';

export interface UndoOptions {
  runId: string;
  /** Undo a completed run that is not the latest (its later runs stay; the stored version too). */
  force?: boolean;
  /** Asked after the checks and preflight, before the lock; false cancels (CancelledError). */
  confirm?: (target: RunRecord, latest: boolean) => Promise<boolean>;
}

/**
 * `undo RUNID` (README "Undo"): a completed run undone from its journal, as a run of its own —
 * lock, freeze, the conflict-aware rollback of the target's journal (a value changed since by
 * someone else is left and listed), the version set back to where the target started, the
 * target's history marked undone, convergence proven, unfreeze. Refused (exit 7, nothing
 * written) for a run that does not exist, did not complete, is not the latest completed one
 * (without `force`), or whose journal is gone.
 */
export async function undoRun(topology: Topology, options: UndoOptions, events: EventSink): Promise<RunReport> {
  const started = Date.now();
  await findInterrupted(topology, false);
  const { target, latest } = await undoTarget(topology, options);
  const found = await preflight(topology, events);
  if (found.problems.length > 0) throw new RefusedError(`preflight failed: ${found.problems.join('; ')}`);
  if (options.confirm && !(await options.confirm(target, latest))) throw new CancelledError('cancelled at the confirmation prompt: nothing was changed');
  const stored = (await topology.store.readVersion()).version;
  const record = await lockUndo(topology, target, latest ? target.storedBefore : stored, events);
  if (found.replicas.every((r) => r.writeState)) record.replicas = found.replicas.map((r) => runReplica(r.url, r.writeState!));
  // Another run may have completed between the checks and the lock.
  try {
    await undoTarget(topology, options);
  } catch (err) {
    await finish(topology, { ...record, state: 'failed', error: errorMessage(err) });
    throw err;
  }
  const lockLost = new AbortController();
  const run = liveRun(topology, record, { fromVersion: target.toVersion, fromSource: 'stored', toVersion: record.toVersion, steps: [], versions: [], tags: [] }, runSettings(topology.config), events, started);
  const { report } = run;
  report.kind = 'undo';
  report.journal = record.journal;
  if (!latest) report.warnings.push(`--force: run ${target.runId} is not the latest completed run: its changes were undone where no later run or client changed them since; the stored version stays ${stored ?? 'none'}`);
  const stopLease = holdLease(topology, record, events, (why) => lockLost.abort(why));
  try {
    await freeze(run);
    events({ type: 'phase', phase: 'rollback', message: `undoing run ${target.runId} from its journal ${record.journal}` });
    const result = await rollBack(topology, record, run.settings, events);
    if (lockLost.signal.aborted) throw lockLost.signal.reason;
    report.undo = { runId: target.runId, changesUndone: result.undone, version: record.storedBefore ?? null, versionKept: !latest };
    if (result.conflicts.length) report.conflicts = result.conflicts;
    if (result.schemaKept.length) {
      report.warnings.push(`schema is forward-only: what ${result.schemaKept.join(', ')} added or changed stays on every server (a later run finds it identical)`);
    }
    reportConvergence(report, result.converged);
    const lagging = result.converged.filter((c) => !c.converged);
    if (lagging.length) {
      report.outcome = 'not-converged';
      report.error = `undone on the master, but not every replica holds the undo within ${run.settings.timeoutMs / 1000} s: ${lagging.map((c) => `${c.url} (${c.detail})`).join('; ')}`;
    }
    await giveBack(run);
    await finishUndo(topology, record);
    await finish(topology, record);
    await pruneJournals(topology, events).catch((err) => report.warnings.push(`journals not pruned: ${errorMessage(err)}`));
    return report;
  } catch (err) {
    await stopOnError(run, err, 'while undoing');
    if (report.outcome === 'master-lost') report.error = `${report.error} — for an undo, \`ldap-upgrade recover\` finishes it`;
    return report;
  } finally {
    stopLease();
    report.totalMs = Date.now() - started;
  }
}

/**
 * The run to undo, checked: it exists, is trusted, completed (`done`), is no undo itself, is the
 * latest completed run (unless `force`), and its journal is on this machine.
 */
async function undoTarget(topology: Topology, options: UndoOptions): Promise<{ target: RunRecord; latest: boolean }> {
  const { runId } = options;
  if (!RUN_ID.test(runId)) throw new RefusedError(`undo: ${JSON.stringify(runId).slice(0, 80)} is not a run id (\`ldap-upgrade history\` lists the runs, e.g. 20261121T235959Z-a1b2c3)`);
  const runs = await topology.store.readRuns();
  const found = runs.find((r) => r.runId === runId);
  if (!found) throw new RefusedError(`undo: there is no run ${runId} in this directory (\`ldap-upgrade history\` lists the runs)`);
  const target = trustedRunRecord(found, recordRules(topology));
  if (target.undoes) throw new RefusedError(`undo: run ${runId} is itself an undo (of run ${target.undoes}): to get its changes back, run \`ldap-upgrade upgrade\` again`);
  if (target.state === 'undone') throw new RefusedError(`undo: run ${runId} was undone already${target.undoneBy ? ` (by run ${target.undoneBy})` : ''}`);
  if (!completedRun(target)) throw new RefusedError(`undo: run ${runId} did not complete (it is ${target.state}, ${target.completed} of ${target.steps.length} script(s) done): only a completed run is undone; a run that stopped is for \`ldap-upgrade recover\``);
  const newer = runs.filter((r) => r.runId !== runId && newestFirst(r, target) < 0 && completedRun(r));
  if (newer.length && !options.force) {
    throw new RefusedError(`undo: run ${runId} is not the latest completed run (${newer.map((r) => r.runId).join(', ')} came after it): undo those first, newest first, or add --force to undo this one alone (the stored version then stays)`);
  }
  const journal = journalPath(topology.config.backupDir, runId);
  if (!existsSync(journal)) {
    throw new RefusedError(`undo: the journal of run ${runId}, ${journal}, is not on this machine${target.host !== thisHost() ? ` (the run was on ${target.host})` : ' (removed, or beyond the journals kept: keepJournals)'}: it cannot be undone from here`);
  }
  return { target, latest: newer.length === 0 };
}

/** The undo's lock and record: its journal is the target's; its version to set back, the target's start. */
async function lockUndo(topology: Topology, target: RunRecord, versionAfter: string | undefined, events: EventSink): Promise<RunRecord> {
  const { store, config } = topology;
  const runId = newRunId();
  const now = new Date().toISOString();
  events({ type: 'phase', phase: 'lock', message: `lock: run ${runId} (undo of run ${target.runId})`, runId });
  await store.takeLock({ runId, host: thisHost(), pid: process.pid, startedAt: now, expiresAt: leaseExpiry() });
  return {
    runId, state: 'frozen', host: thisHost(), pid: process.pid, startedAt: now, updatedAt: now,
    fromVersion: target.toVersion, toVersion: versionAfter ?? target.fromVersion, storedBefore: versionAfter,
    tags: target.tags, steps: target.steps, completed: target.steps.length,
    journal: journalPath(config.backupDir, target.runId), replicas: [], undoes: target.runId,
  };
}

/** The undo is done (by its run, or by `recover` after a kill): its target is marked undone, kept. */
export async function finishUndo(topology: Topology, record: RunRecord): Promise<void> {
  const target = await topology.store.readRun(record.undoes!);
  if (target) await topology.store.writeRun({ ...target, state: 'undone', undoneBy: record.runId });
  record.state = 'done';
}
