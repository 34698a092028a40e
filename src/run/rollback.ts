import { existsSync } from 'node:fs';
import { RefusedError } from '../errors.js';
import { readJournal } from '../records/journal.js';
import type { RunRecord } from '../records/run-record.js';
import { newCanary } from '../replication/canary.js';
import { convergenceProof, waitForConvergence, type ConvergenceResult } from '../replication/convergence.js';
import type { Topology } from '../replication/topology.js';
import { isSchemaScript } from '../schema/schema-file.js';
import type { EventSink } from '../events.js';
import { convergenceTargets } from './converge.js';
import type { RunSettings } from './run.js';
import { undoJournal } from './undo.js';

export interface RollbackResult {
  undone: number;
  /** Changes of the run left in place: changed again after the run wrote them (see UndoResult). */
  conflicts: string[];
  /** Schema scripts the run had reached: schema is forward-only, a rollback keeps it. */
  schemaKept: string[];
  /** Each replica: whether it holds the undo. */
  converged: ConvergenceResult[];
}

export interface RollbackOptions {
  /**
   * Wait (at most 30 s) for the replicas to hold what the master has before undoing: a master
   * that was just restarted is still being caught up with by its replicas, and undo writes sent
   * meanwhile were seen to be skipped by OpenLDAP replicas (their contextCSN equal to the
   * master's, the entries not). `recover` asks for it; a run that fails in its stride does not.
   */
  settleFirst?: boolean;
}

/**
 * The one rollback, for a failed or interrupted run and for `recover --rollback`: undoes the
 * run's journal in reverse order from its pre-images (conflict-aware: see undoJournal), removes
 * its history, sets the version back, then proves with a new canary that every replica holds the
 * undo. The record's state is `rolling-back` throughout (a kill leaves that for `recover` to
 * finish); giving the replicas back and the final state are the caller's. Throws when the undo
 * cannot be done (the master lost, the journal missing): the data may be half rolled back.
 */
export async function rollBack(topology: Topology, record: RunRecord, settings: RunSettings, events: EventSink, options: RollbackOptions = {}): Promise<RollbackResult> {
  const { store } = topology;
  if ((record.completed > 0 || record.state === 'applying' || record.state === 'rolling-back') && !existsSync(record.journal)) {
    throw new RefusedError(`--rollback: the journal ${record.journal} of run ${record.runId} is not on this machine (the run was on ${record.host})`);
  }
  record.state = 'rolling-back';
  await store.writeRun(record);
  if (options.settleFirst) {
    await waitForConvergence(topology, convergenceTargets(record), { timeoutMs: Math.min(settings.timeoutMs, 30_000), pollMs: settings.pollMs }, events);
  }
  const { undone, conflicts } = await undoJournal(topology.master, readJournal(record.journal), events);
  await store.removeHistory(record.runId);
  await store.setVersion(record.storedBefore);
  events({ type: 'info', message: `rollback: ${undone} change(s) undone` });
  record.canary = newCanary();
  await store.writeRun(record);
  const converged = await waitForConvergence(topology, convergenceTargets(record), {
    timeoutMs: settings.timeoutMs, pollMs: settings.pollMs, proof: convergenceProof(topology, record),
  }, events);
  return { undone, conflicts, schemaKept: schemaReached(record), converged };
}

/** The schema scripts among those the run completed or was in. */
export function schemaReached(record: RunRecord): string[] {
  return record.steps.slice(0, record.completed + 1).filter(isSchemaScript);
}
