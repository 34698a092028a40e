import { LockedError } from '../errors.js';
import { holderIsDead } from '../records/liveness.js';
import { isUnfinishedRun } from '../records/run-record.js';
import { describeHolder } from '../records/state-store.js';
import { recordRules, type Topology } from '../replication/topology.js';
import { trustedLock, trustedRunRecord } from '../records/trust.js';
import { FORMAT_VERSION } from '../report-format.js';
import type { EventSink } from '../events.js';
import { giveBackReplicas } from './give-back.js';
import { rollBack } from './rollback.js';
import { finishUndo } from './undo-run.js';
import { awaitLeftBuilds, whileReadOnly } from './config-step.js';
import { runSettings } from './run.js';

export interface RecoverOptions {
  rollback?: boolean;
  /** Recover even though the holder may be alive (says what it overrides). */
  force?: boolean;
}

export interface RecoverReport {
  kind: 'recover';
  formatVersion: number;
  /**
   * `incomplete`: a replica could not be given back (exit 3: run `recover` again once it answers);
   * `not-converged`: rolled back on the master, but not every replica holds the undo (exit 6).
   */
  outcome: 'nothing-to-recover' | 'recovered' | 'rolled-back' | 'incomplete' | 'not-converged';
  /** After a rollback: the replicas that did not converge with it, and why. */
  notConverged?: { url: string; detail: string }[];
  runId?: string;
  unfrozen: string[];
  /** Replicas that could not be given back (unreachable): run `recover` again later. */
  stillFrozen: { url: string; error: string }[];
  changesUndone: number;
  /** Plain `recover` found the run stopped mid-rollback and finished that rollback. */
  finishedRollback?: boolean;
  /** The run was an `undo` of this run, stopped while undoing: recover finished the undo. */
  finishedUndoOf?: string;
  /** Changes of the run the rollback left in place: changed again after the run (see UndoResult). */
  conflicts?: string[];
  /** Schema scripts the run had reached: not undone by a rollback (schema is forward-only). */
  schemaKept?: string[];
  lockReleased: boolean;
  overridden?: string;
  /** One line on what is left to do, when the outcome is not a clean recovery. */
  error?: string;
}

/**
 * After a crash or kill: unfreezes every replica the interrupted run froze (to its original
 * state), optionally undoes the run's changes first (the run's own rollback), and releases the
 * lock. Returns its report in every outcome it reaches; refusals (the holder may be alive, the
 * journal not on this machine) are thrown.
 */
export async function recover(topology: Topology, options: RecoverOptions, events: EventSink): Promise<RecoverReport> {
  const { store } = topology;
  const report: RecoverReport = { kind: 'recover', formatVersion: FORMAT_VERSION, outcome: 'nothing-to-recover', unfrozen: [], stillFrozen: [], changesUndone: 0, lockReleased: false };
  const found = await store.readLock();
  const lock = found && trustedLock(found);
  if (lock) {
    const life = holderIsDead(lock);
    if (!life.dead) {
      if (!options.force) throw new LockedError(`run ${describeHolder(lock)} may still be alive (${life.why}): stop it, or add --force if you are sure it is dead`);
      report.overridden = `--force: recovering although ${life.why}`;
      events({ type: 'warning', message: report.overridden });
    }
  }
  const runs = await store.readRuns();
  const recorded = (lock ? runs.find((r) => r.runId === lock.runId) : undefined) ?? runs.find(isUnfinishedRun);
  // Checked before anything it names is connected to, written back or opened.
  const record = recorded && trustedRunRecord(recorded, recordRules(topology));
  if (!record && !lock) return report;
  report.runId = record?.runId ?? lock?.runId;
  events({ type: 'phase', phase: 'recover', message: `recovering run ${report.runId}`, runId: report.runId });

  // An index build the run started (389 DS) keeps a database read-only until it ends.
  if (record) await awaitLeftBuilds(topology, runSettings(topology.config).timeoutMs, runSettings(topology.config).pollMs, events);

  // A run killed while it was rolling back holds half-undone data: recover finishes that
  // rollback whatever was asked (unfreezing on it would let clients write on a mix of both).
  // An undo (`undo RUNID`) is finished, never taken back: stopped while undoing, the rest is
  // undone; stopped before it undid anything, there is nothing to roll back.
  const undo = record?.undoes !== undefined;
  const rollback = undo ? record!.state === 'rolling-back' : options.rollback || record?.state === 'rolling-back';
  if (undo && options.rollback && !rollback) {
    events({ type: 'warning', message: `run ${record!.runId} is an undo of run ${record!.undoes} that stopped before it undid anything: nothing to roll back; run \`ldap-upgrade undo ${record!.undoes}\` again to undo it` });
  }
  if (undo && rollback) {
    report.finishedRollback = true;
    report.finishedUndoOf = record!.undoes;
    events({ type: 'warning', message: `run ${record!.runId} was undoing run ${record!.undoes} when it stopped: recover finishes the undo` });
  } else if (record && rollback && !options.rollback) {
    report.finishedRollback = true;
    events({ type: 'warning', message: `run ${record.runId} was rolling back when it stopped: recover finishes its rollback first` });
  }
  if (record && rollback) {
    const undo = await rollBack(topology, record, runSettings(topology.config), events, { settleFirst: true });
    report.changesUndone = undo.undone;
    if (undo.conflicts.length) report.conflicts = undo.conflicts;
    if (undo.schemaKept.length) report.schemaKept = undo.schemaKept;
    const lagging = undo.converged.filter((c) => !c.converged);
    if (lagging.length > 0) report.notConverged = lagging.map((c) => ({ url: c.url, detail: c.detail }));
  }
  if (record) {
    const results = await giveBackReplicas(topology, record, events);
    report.unfrozen = results.filter((r) => r.ok).map((r) => r.url);
    report.stillFrozen = results.filter((r) => !r.ok).map((r) => ({ url: r.url, error: r.error ?? 'unknown error' }));
  }
  if (lock) {
    await whileReadOnly(() => store.forceReleaseLock(), runSettings(topology.config).timeoutMs);
    report.lockReleased = true;
  }
  if (record) {
    record.state = rollback ? 'rolled-back' : 'recovered';
    if (undo && rollback) await finishUndo(topology, record);
    if (report.stillFrozen.length > 0) record.error = `still frozen: ${report.stillFrozen.map((s) => s.url).join(', ')}`;
    await store.writeRun(record);
  }
  report.outcome = report.stillFrozen.length > 0 ? 'incomplete' : report.notConverged ? 'not-converged' : rollback ? 'rolled-back' : 'recovered';
  if (report.outcome === 'incomplete') {
    report.error = `recover: ${report.stillFrozen.map((s) => `${s.url} is still frozen (${s.error})`).join('; ')}; run \`ldap-upgrade recover\` again once it is reachable`;
  } else if (report.outcome === 'not-converged') {
    report.error = `rolled back on the master, but ${report.notConverged!.map((n) => `${n.url} (${n.detail})`).join('; ')}; the replicas were unfrozen`;
  }
  return report;
}
