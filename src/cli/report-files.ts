import { closeSync, writeSync } from 'node:fs';
import { openForWrite } from '../records/local-files.js';
import { join } from 'node:path';
import type { UpgradeEvent } from '../events.js';
import type { RunReport } from '../run/reports.js';
import { toJson } from './json-shape.js';

/** When each step of a run happened, as the events said (for the report's timeline). */
export interface TimelineEntry {
  at: string;
  what: string;
  /** What it is about: a replica's URL or a script. */
  subject?: string;
  ok: boolean;
}

/** Collects the timeline of a run from its events. */
export class Timeline {
  readonly entries: TimelineEntry[] = [];
  readonly startedAt = new Date().toISOString();

  record(e: UpgradeEvent): void {
    const at = new Date().toISOString();
    if (e.type === 'replica') {
      // A 'converge' replica event is the proof before the freeze that it replicates from the master.
      const what = e.action === 'freeze' ? 'frozen' : e.action === 'unfreeze' ? 'given back' : /^replicates/.test(e.message) ? e.message : `replicates from the master: ${e.message}`;
      this.entries.push({ at, what: e.ok ? what : `${e.action} failed: ${e.message}`, subject: e.url, ok: e.ok });
    } else if (e.type === 'converge-progress' && e.converged) {
      this.entries.push({ at, what: `converged after ${e.elapsedMs} ms`, subject: e.url, ok: true });
    } else if (e.type === 'script-start') {
      this.entries.push({ at, what: 'started', subject: e.script, ok: true });
    } else if (e.type === 'script-end') {
      this.entries.push({ at, what: `${e.status === 'Success' ? 'done' : 'FAILED'}: ${e.entriesChanged} entries in ${e.durationMs} ms`, subject: e.script, ok: e.status === 'Success' });
    } else if (e.type === 'phase' && ['lock', 'rollback', 'recover'].includes(e.phase)) {
      this.entries.push({ at, what: e.message, ok: true });
    }
  }
}

const HEADLINE: Record<RunReport['outcome'], string> = {
  done: 'Upgraded',
  'nothing-to-do': 'Nothing to do',
  'script-failed': 'FAILED — a script failed; the run was rolled back',
  'plan-moved': 'REFUSED — an entry of the reviewed plan changed during the run; the run was rolled back',
  'not-converged': 'Upgraded on the master, but NOT every replica converged',
  interrupted: 'INTERRUPTED — the run was rolled back',
  'master-lost': 'STOPPED — the master was lost; the replicas stay frozen',
  'lock-lost': 'STOPPED — the run lost its lock; the replicas stay frozen',
  'replicas-frozen': 'NOT FINISHED — a replica stays frozen',
};

/** What to run next, by outcome (also in the report's JSON). */
export function nextCommands(r: RunReport): string[] {
  if (r.kind === 'undo' && r.outcome === 'done') return ['ldap-upgrade verify', 'ldap-upgrade history'];
  if (r.kind === 'undo' && r.outcome === 'master-lost') return ['once the master is back: ldap-upgrade recover (it finishes the undo)'];
  switch (r.outcome) {
    case 'done': return ['ldap-upgrade verify', 'ldap-upgrade info'];
    case 'nothing-to-do': return [];
    case 'script-failed': return ['fix the script named above, then: ldap-upgrade upgrade --dry-run', 'ldap-upgrade status'];
    case 'plan-moved': return ['review again: ldap-upgrade upgrade --dry-run --save-plan FILE', 'then: ldap-upgrade upgrade --plan FILE'];
    case 'not-converged': return ['ldap-upgrade status', 'ldap-upgrade verify'];
    case 'interrupted': return ['ldap-upgrade status'];
    case 'master-lost': return ['once the master is back: ldap-upgrade recover --rollback', 'or: ldap-upgrade upgrade --resume'];
    case 'lock-lost': return ['ldap-upgrade status (who holds the lock now?)', 'once no other run is active: ldap-upgrade recover --rollback --force'];
    case 'replicas-frozen': return ['ldap-upgrade recover'];
  }
}

/**
 * Writes `<runId>.report.json` and a self-contained `<runId>.report.html` (no scripts, no
 * external files) into `dir`, next to the run's log. Returns their paths; undefined when the run
 * has no id (refused before its lock).
 */
export function writeRunReport(dir: string, report: RunReport, timeline: Timeline): { json: string; html: string } | undefined {
  if (!report.runId) return undefined;
  const base = join(dir, report.runId);
  const next = nextCommands(report);
  const document = { ...report, startedAt: timeline.startedAt, timeline: timeline.entries, next };
  const json = `${base}.report.json`;
  const html = `${base}.report.html`;
  // Never through a symbolic link planted at the (predictable) name; mode 600 whatever was there.
  writeOwnFile(json, toJson(document));
  writeOwnFile(html, renderHtml(report, timeline, next));
  return { json, html };
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function renderHtml(r: RunReport, timeline: Timeline, next: string[]): string {
  const good = r.outcome === 'done' || r.outcome === 'nothing-to-do';
  const started = Date.parse(timeline.startedAt);
  const offset = (at: string) => `+${((Date.parse(at) - started) / 1000).toFixed(1)} s`;
  const rate = (n: number, ms: number) => (ms > 0 ? `${Math.round((n * 1000) / ms)}/s` : '');
  const rows = (cells: string[][]) => cells.map((c) => `<tr>${c.map((x) => `<td>${x}</td>`).join('')}</tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ldap-upgrade run ${esc(r.runId)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222;max-width:70em}
h1{font-size:1.5em;padding:.5em .7em;border-radius:6px;color:#fff;background:${good ? '#2e7d32' : '#c62828'}}
h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25em .6em;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f5f5f5}.bad{color:#c62828;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f5f5f5;padding:.1em .3em;border-radius:3px}.meta{color:#555}
#scripts td:nth-child(n+3),#scripts th:nth-child(n+3){text-align:right}
</style></head><body>
<h1>${esc(r.undo ? `Undo of run ${r.undo.runId}: ${HEADLINE[r.outcome]}` : HEADLINE[r.outcome])}: ${esc(r.fromVersion)} → ${esc(r.toVersion)}</h1>
<p class="meta">run <code>${esc(r.runId)}</code> · started ${esc(timeline.startedAt)} · ${(r.totalMs / 1000).toFixed(1)} s in all${r.convergeMs !== undefined ? ` · convergence wait ${r.convergeMs} ms` : ''}${r.rolledBack ? ' · <span class="bad">rolled back</span>' : ''}</p>
${r.error ? `<p class="bad">${esc(r.error)}</p>` : ''}
<h2>Scripts</h2>
<table id="scripts"><tr><th>Script</th><th>Status</th><th>Entries</th><th>Took</th><th>Rate</th></tr>
${rows(r.steps.map((s) => [esc(s.script), s.status === 'Success' ? esc(s.status) : `<span class="bad">${esc(s.status)}</span>${s.error ? ` — ${esc(s.error)}` : ''}`, String(s.entriesChanged), `${s.durationMs} ms`, rate(s.entriesChanged, s.durationMs)]))}
</table>
<h2>Replicas</h2>
<table><tr><th>Replica</th><th>Frozen</th><th>Converged</th><th>Given back</th></tr>
${rows(r.replicas.map((x) => {
    const when = (what: string) => timeline.entries.find((e) => e.subject === x.url && e.what.startsWith(what));
    const cell = (status: string, what: string) => {
      const e = when(what);
      return `${status === 'Success' ? '' : '<span class="bad">'}${esc(status)}${status === 'Success' ? '' : '</span>'}${e ? ` <span class="meta">${offset(e.at)}</span>` : ''}`;
    };
    return [esc(x.url), x.alreadyReadOnly ? 'already read-only' : cell(x.freeze, 'frozen'), `${cell(x.converge, 'converged after')}${x.convergeMs !== undefined ? ` (${x.convergeMs} ms)` : ''}`, x.alreadyReadOnly ? 'stays read-only' : cell(x.unfreeze, 'given back')];
  }))}
</table>
<h2>Timeline</h2>
<table><tr><th>When</th><th>What</th><th></th></tr>
${rows(timeline.entries.map((e) => [offset(e.at), esc(e.subject ?? ''), e.ok ? esc(e.what) : `<span class="bad">${esc(e.what)}</span>`]))}
</table>
${r.warnings.length ? `<h2>Warnings</h2><ul>${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}
${r.conflicts?.length ? `<h2>Left in place by the rollback</h2><ul>${r.conflicts.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}
${next.length ? `<h2>Next</h2><ul>${next.map((n) => `<li><code>${esc(n)}</code></li>`).join('')}</ul>` : ''}
</body></html>
`;
}

function writeOwnFile(path: string, text: string): void {
  const fd = openForWrite(path, 'w');
  try {
    const bytes = Buffer.from(text, 'utf8');
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
  } finally {
    closeSync(fd);
  }
}
