import type { ScriptInfo } from '../../inspect/info.js';
import type { UndoableRun } from '../../run/journal-retention.js';

export interface InfoView {
  storedVersion: string | null;
  baselineVersion: string;
  targetVersion: string | null;
  planRefusal: string | null;
  scripts: ScriptInfo[];
  /** The completed runs `undo` can take back now, newest first. */
  undoable?: UndoableRun[];
}

/** `info` as a table, one line per script. */
export function formatInfo(r: InfoView): string {
  const head = ['Version', 'Script', 'Description', 'State', 'When', 'Took', 'Entries'];
  const rows = r.scripts.map((s) => [
    s.version, s.script.slice(s.script.lastIndexOf('/') + 1), clip(s.description ?? '', 40), s.state,
    s.at ? s.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '', s.durationMs === null ? '' : took(s.durationMs), s.entriesChanged === null ? '' : String(s.entriesChanged),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const counts = new Map<string, number>();
  for (const s of r.scripts) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  return [
    `stored version: ${r.storedVersion ?? `none (baseline ${r.baselineVersion})`}${r.targetVersion ? `; target ${r.targetVersion}` : ''}`,
    ...(r.planRefusal ? [`no plan: ${r.planRefusal}`] : []),
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    [...counts].map(([state, n]) => `${n} ${state}`).join(', ') || 'no scripts',
    ...(r.undoable?.length
      ? [`can be undone (\`ldap-upgrade undo RUNID\`, newest first): ${r.undoable.map((u) => `${u.runId} (${u.fromVersion} → ${u.toVersion}${u.needsForce ? ', --force' : ''})`).join(', ')}`]
      : []),
  ].join('\n') + '\n';
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function took(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
