import type { HistoryRecord } from '../../records/run-record.js';

export interface HistoryView {
  storedVersion: string | null;
  history: HistoryRecord[];
  runs: { runId: string; state: string; fromVersion: string; toVersion: string; startedAt: string; host: string; scripts: number; completed: number; error: string | null }[];
}

/** `history`: the applied scripts, then the runs that did not end as done. */
export function formatHistory(r: HistoryView): string {
  const unfinished = r.runs.filter((x) => x.state !== 'done');
  const lines = [`stored version: ${r.storedVersion ?? 'none'}`, ''];
  if (r.history.length === 0) lines.push('no script has been applied');
  else {
    lines.push('applied scripts, newest first:', `  ${'applied at'.padEnd(24)} ${'script'.padEnd(40)} ${'entries'.padStart(7)}  ${'took'.padStart(9)}  run, by`);
    for (const h of r.history) {
      lines.push(`  ${h.appliedAt.padEnd(24)} ${h.script.padEnd(40)} ${String(h.entriesChanged).padStart(7)}  ${`${h.durationMs} ms`.padStart(9)}  ${h.runId}, ${h.appliedBy}`);
    }
  }
  if (unfinished.length) {
    lines.push('', 'runs that did not complete, newest first:');
    for (const x of unfinished) {
      lines.push(`  ${x.startedAt.padEnd(24)} run ${x.runId}: ${x.state.toUpperCase()}, ${x.fromVersion} → ${x.toVersion}, ${x.completed} of ${x.scripts} script(s) done, on ${x.host}${x.error ? `: ${x.error}` : ''}`);
    }
  }
  return lines.join('\n') + '\n';
}
