import { shortDigest } from '../../plan/saved-plan.js';
import type { HistoryRecord } from '../../records/run-record.js';

export interface HistoryView {
  storedVersion: string | null;
  history: HistoryRecord[];
  runs: {
    runId: string; state: string; fromVersion: string; toVersion: string; startedAt: string; host: string; scripts: number; completed: number; error: string | null;
    plan: string | null; undoes: string | null; undoneBy: string | null; undoable: boolean; undoNeedsForce: boolean;
  }[];
}

/** `history`: the applied scripts, then the runs that did not end as done. */
export function formatHistory(r: HistoryView): string {
  const unfinished = r.runs.filter((x) => x.state !== 'done' && x.state !== 'undone');
  const completed = r.runs.filter((x) => x.state === 'done' || x.state === 'undone');
  const lines = [`stored version: ${r.storedVersion ?? 'none'}`, ''];
  if (r.history.length === 0) lines.push('no script has been applied');
  else {
    lines.push('applied scripts, newest first:', `  ${'applied at'.padEnd(24)} ${'script'.padEnd(40)} ${'entries'.padStart(7)}  ${'took'.padStart(9)}  run, by`);
    for (const h of r.history) {
      lines.push(`  ${h.appliedAt.padEnd(24)} ${h.script.padEnd(40)} ${String(h.entriesChanged).padStart(7)}  ${`${h.durationMs} ms`.padStart(9)}  ${h.runId}, ${h.appliedBy}${h.plan ? `, from plan ${shortDigest(h.plan)}` : ''}${h.undoneBy ? ` — UNDONE by run ${h.undoneBy}${h.undoneAt ? ` at ${h.undoneAt}` : ''}` : ''}`);
    }
  }
  if (completed.length) {
    lines.push('', 'completed runs, newest first (`ldap-upgrade undo RUNID`; an older one needs --force):');
    for (const x of completed) {
      const what = x.undoes ? `undo of run ${x.undoes}` : `${x.fromVersion} → ${x.toVersion}, ${x.scripts} script(s)${x.plan ? `, from plan ${shortDigest(x.plan)}` : ''}`;
      const can = x.undoes ? '' : x.state === 'undone' ? `UNDONE${x.undoneBy ? ` by run ${x.undoneBy}` : ''}` : undoLine(x);
      lines.push(`  ${x.startedAt.padEnd(24)} run ${x.runId}: ${what}, on ${x.host}${can ? ` — ${can}` : ''}`);
    }
  }
  if (unfinished.length) {
    lines.push('', 'runs that did not complete, newest first:');
    for (const x of unfinished) {
      lines.push(`  ${x.startedAt.padEnd(24)} run ${x.runId}: ${x.state.toUpperCase()}, ${x.fromVersion} → ${x.toVersion}, ${x.completed} of ${x.scripts} script(s) done, on ${x.host}${x.error ? `: ${x.error}` : ''}${x.undoable ? ` — ${undoLine(x)}` : ''}`);
    }
  }
  return lines.join('\n') + '\n';
}

function undoLine(x: HistoryView['runs'][number]): string {
  if (!x.undoable) return 'cannot be undone (its journal is not kept here)';
  return x.undoNeedsForce ? 'can be undone with --force (a later run came after it)' : 'can be undone';
}
