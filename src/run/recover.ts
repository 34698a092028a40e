import { existsSync } from 'node:fs';
import { ConnectionError, LockedError, RefusedError } from '../errors.js';
import { newCanary } from '../replication/canary.js';
import { convergenceProof, waitForConvergence } from '../replication/convergence.js';
import type { EventSink } from '../events.js';
import { unfreezeReplicas } from '../replication/replica-freeze.js';
import { readJournal } from '../records/journal.js';
import { holderIsDead } from '../records/liveness.js';
import { isUnfinishedRun, type RunRecord } from '../records/run-record.js';
import { FORMAT_VERSION } from '../report-format.js';
import { undoJournal } from './undo.js';
import { describeHolder } from '../records/state-store.js';
import type { Topology } from '../replication/topology.js';
import { isSchemaScript } from '../schema/schema-file.js';

export interface RecoverOptions {
  rollback?: boolean;
  /** Recover even though the holder may be alive (says what it overrides). */
  force?: boolean;
  timeoutMs: number;
  pollMs: number;
}

export interface RecoverReport {
  kind: 'recover';
  formatVersion: number;
  /** `not-converged`: rolled back on the master, but not every replica holds the undo (exit 6). */
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
  /** Changes of the run the rollback left in place: changed again after the run (see UndoResult). */
  conflicts?: string[];
  /** Schema scripts the run had reached: not undone by a rollback (schema is forward-only). */
  schemaKept?: string[];
  lockReleased: boolean;
  overridden?: string;
}

/**
 * After a crash or kill (SPEC §6): unfreezes every replica the interrupted run froze (to its
 * original state), optionally undoes the run's changes first, and releases the lock.
 */
export async function recover(topology: Topology, options: RecoverOptions, events: EventSink): Promise<RecoverReport> {
  const { store } = topology;
  const report: RecoverReport = { kind: 'recover', formatVersion: FORMAT_VERSION, outcome: 'nothing-to-recover', unfrozen: [], stillFrozen: [], changesUndone: 0, lockReleased: false };
  const lock = await store.readLock();
  if (lock) {
    const life = holderIsDead(lock);
    if (!life.dead) {
      if (!options.force) throw new LockedError(`run ${describeHolder(lock)} may still be alive (${life.why}): stop it, or add --force if you are sure it is dead`);
      report.overridden = `--force: recovering although ${life.why}`;
      events({ type: 'warning', message: report.overridden });
    }
  }
  const runs = await store.readRuns();
  const record = (lock ? runs.find((r) => r.runId === lock.runId) : undefined)
    ?? runs.find(isUnfinishedRun);
  if (!record && !lock) return report;
  report.runId = record?.runId ?? lock?.runId;
  events({ type: 'phase', phase: 'recover', message: `recovering run ${report.runId}`, runId: report.runId });

  // A run killed while it was rolling back holds half-undone data: recover finishes that
  // rollback whatever was asked (unfreezing on it would let clients write on a mix of both).
  const rollback = options.rollback || record?.state === 'rolling-back';
  if (record && rollback && !options.rollback) {
    report.finishedRollback = true;
    events({ type: 'warning', message: `run ${record.runId} was rolling back when it stopped: recover finishes its rollback first` });
  }
  if (record && rollback) {
    if (record.completed > 0 || record.state === 'applying' || record.state === 'rolling-back') {
      if (!existsSync(record.journal)) {
        throw new RefusedError(`--rollback: the journal ${record.journal} of run ${record.runId} is not on this machine (the run was on ${record.host})`);
      }
    }
    record.state = 'rolling-back';
    await store.writeRun(record);
    // A master that was just restarted is still being caught up with by its replicas (their
    // refresh): undo writes sent meanwhile were seen to be skipped by OpenLDAP replicas (their
    // contextCSN equal to the master's, the entries not), so the topology settles first.
    await waitForConvergence(topology, record.replicas.map((r) => r.url), { timeoutMs: Math.min(options.timeoutMs, 30_000), pollMs: options.pollMs }, events);
    const undo = await undoJournal(topology.master, readJournal(record.journal), events);
    report.changesUndone = undo.undone;
    if (undo.conflicts.length) report.conflicts = undo.conflicts;
    const schema = record.steps.slice(0, record.completed + 1).filter(isSchemaScript);
    if (schema.length) report.schemaKept = schema;
    await store.removeHistory(record.runId);
    await store.setVersion(record.storedBefore);
    events({ type: 'info', message: `rollback: ${report.changesUndone} change(s) undone` });
    record.canary = newCanary();
    await store.writeRun(record);
    const converged = await waitForConvergence(topology, record.replicas.map((r) => r.url), { timeoutMs: options.timeoutMs, pollMs: options.pollMs, proof: convergenceProof(topology, record) }, events);
    const lagging = converged.filter((c) => !c.converged);
    if (lagging.length > 0) report.notConverged = lagging.map((c) => ({ url: c.url, detail: c.detail }));
  }
  if (record) {
    // A change on the master (the record's time of update): see giveBack in execute-run.ts.
    await store.writeRun(record);
    const results = await unfreezeReplicas(topology, record.replicas, events);
    report.unfrozen = results.filter((r) => r.ok).map((r) => r.url);
    report.stillFrozen = results.filter((r) => !r.ok).map((r) => ({ url: r.url, error: r.error ?? 'unknown error' }));
  }
  if (lock) {
    await store.forceReleaseLock();
    report.lockReleased = true;
  }
  if (record) {
    record.state = rollback ? 'rolled-back' : 'recovered';
    if (report.stillFrozen.length > 0) record.error = `still frozen: ${report.stillFrozen.map((s) => s.url).join(', ')}`;
    await store.writeRun(record as RunRecord);
  }
  report.outcome = report.stillFrozen.length > 0 ? 'incomplete' : report.notConverged ? 'not-converged' : rollback ? 'rolled-back' : 'recovered';
  if (report.stillFrozen.length > 0) {
    throw Object.assign(new ConnectionError(`recover: ${report.stillFrozen.map((s) => `${s.url} is still frozen (${s.error})`).join('; ')}; run \`ldap-upgrade recover\` again once it is reachable`), { report });
  }
  return report;
}
