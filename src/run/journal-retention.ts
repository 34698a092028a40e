import { existsSync, readdirSync, rmSync } from 'node:fs';
import { errorMessage } from '../errors.js';
import { isUnfinishedRun, type RunRecord } from '../records/run-record.js';
import { journalPath, RUN_ID } from '../records/trust.js';
import type { Topology } from '../replication/topology.js';
import type { EventSink } from '../events.js';

/** A journal's file name as journalPath makes it: the run id (RUN_ID's own pattern), then `.journal.jsonl`. */
const JOURNAL = new RegExp(`^(${RUN_ID.source.replace(/^\^|\$$/g, '')})\\.journal\\.jsonl$`);

/**
 * The runs `undo` can take back: completed, not undone, not undos themselves, newest first, and
 * at most `keepJournals` of them (their journals are kept; README "Undo").
 */
export function undoableRuns(runs: RunRecord[], keep: number): RunRecord[] {
  return runs.filter((r) => completedRun(r) && typeof r.runId === 'string' && RUN_ID.test(r.runId))
    .sort(newestFirst).slice(0, keep);
}

/**
 * A run whose every script completed: `done`, or ended `failed` only because a replica did not
 * converge in time (its data is upgraded on the master: `status` reads back what its journal
 * names, and `undo` can take it back). Not an undo.
 */
export function completedRun(r: RunRecord): boolean {
  if (r.undoes) return false;
  return r.state === 'done' || (r.state === 'failed' && Array.isArray(r.steps) && r.steps.length > 0 && r.completed === r.steps.length);
}

/** What `history` and `info` say about undo: each run `undo` takes now (its journal here), newest first. */
export interface UndoableRun {
  runId: string;
  fromVersion: string;
  toVersion: string;
  /** Not the latest completed run: `undo --force`. */
  needsForce: boolean;
}

export function undoableNow(runs: RunRecord[], backupDir: string, keep: number): UndoableRun[] {
  return undoableRuns(runs, keep).filter((r) => existsSync(journalPath(backupDir, r.runId)))
    .map((r, i) => ({ runId: r.runId, fromVersion: r.fromVersion, toVersion: r.toVersion, needsForce: i > 0 }));
}

/**
 * Runs in the order they started, newest first: by their start time (milliseconds; a run id's
 * stamp has only seconds, and its random tail does not order two runs of the same second).
 */
export function newestFirst(a: Pick<RunRecord, 'startedAt' | 'runId'>, b: Pick<RunRecord, 'startedAt' | 'runId'>): number {
  const ta = Date.parse(a.startedAt);
  const tb = Date.parse(b.startedAt);
  if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return tb - ta;
  return a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0;
}

/**
 * After a completed run or undo: removes from backupDir the journals no `undo` needs any more —
 * those of ended runs of this directory that are not among the newest `keepJournals` completed
 * runs. A journal whose run is unknown here (another directory's, a file someone put there) or
 * unfinished is left; only files named as this tool names journals are ever removed.
 */
export async function pruneJournals(topology: Topology, events: EventSink): Promise<string[]> {
  const { backupDir, keepJournals } = topology.config;
  let names: string[];
  try {
    names = readdirSync(backupDir);
  } catch {
    return [];
  }
  const runs = await topology.store.readRuns();
  const byId = new Map(runs.map((r) => [r.runId, r]));
  const keep = new Set(undoableRuns(runs, keepJournals).map((r) => r.runId));
  const removed: string[] = [];
  for (const name of names) {
    const id = JOURNAL.exec(name)?.[1];
    const run = id ? byId.get(id) : undefined;
    if (!id || !run || keep.has(id) || isUnfinishedRun(run)) continue;
    // An undo that stopped reads its target's journal: kept while any undo of it is unfinished.
    if (runs.some((r) => r.undoes === id && isUnfinishedRun(r))) continue;
    const file = journalPath(backupDir, id);
    try {
      rmSync(file, { force: true });
      removed.push(file);
    } catch (err) {
      events({ type: 'warning', message: `could not remove the journal ${file}, which no undo needs any more: ${errorMessage(err)}` });
    }
  }
  if (removed.length) events({ type: 'info', message: `journals: ${removed.length} no longer needed for \`undo\` removed (keepJournals: ${keepJournals})` });
  return removed;
}
