import { readFileSync } from 'node:fs';
import semver from 'semver';
import type { UpgradePlan } from '../plan/planner.js';
import { scriptId, type ScriptCatalog, type ScriptFile } from '../scripts/types.js';
import type { ScriptDrift } from '../plan/drift.js';
import type { HistoryRecord, RunRecord } from '../records/run-record.js';

/**
 * What `info` says about one script (Flyway's info): applied, pending, or why neither.
 * `changed`: applied, and the file differs since; `missing`: applied, and the file is gone;
 * `out of order`: never applied, its version already past; `failed` / `rolled back`: its last run
 * failed on it / was rolled back after it ran; `below baseline`: at or below where the tool
 * started, never its to run; `not planned`: above the target, or a tag not asked for.
 */
export type ScriptState = 'applied' | 'changed' | 'missing' | 'pending' | 'out of order' | 'failed' | 'rolled back' | 'below baseline' | 'not planned';

export interface ScriptInfo {
  version: string;
  script: string;
  description: string | null;
  state: ScriptState;
  /** When it was applied (or when its failed run started); null: never run. */
  at: string | null;
  durationMs: number | null;
  entriesChanged: number | null;
  runId: string | null;
}

/** Every script of the folder and of the history, in the order they run: version, then name. */
export function scriptInfo(catalog: ScriptCatalog, history: HistoryRecord[], runs: RunRecord[], plan: UpgradePlan | undefined, drift: ScriptDrift): ScriptInfo[] {
  const applied = new Map<string, HistoryRecord>();
  for (const h of history) {
    const known = applied.get(h.script);
    if (!known || known.appliedAt < h.appliedAt) applied.set(h.script, h);
  }
  const pending = new Set(plan?.steps.map((s) => scriptId(s.script)) ?? []);
  const changed = new Set(drift.changed);
  const outOfOrder = new Set(drift.outOfOrder);
  const rows: ScriptInfo[] = [];
  const files: ScriptFile[] = [...catalog.versions.flatMap((v) => v.scripts), ...[...catalog.tags.values()].flat()];
  for (const file of files) {
    const id = scriptId(file);
    const version = file.tag ? `tag ${file.tag}` : file.version;
    const h = applied.get(id);
    if (h) {
      rows.push({ ...fromHistory(h), description: describe(file), state: changed.has(id) ? 'changed' : 'applied' });
      continue;
    }
    const lastRun = runs.find((r) => r.steps.includes(id) && (r.state === 'failed' || r.state === 'rolled-back'));
    const state: ScriptState = pending.has(id)
      ? 'pending'
      : outOfOrder.has(id) ? 'out of order'
      : file.tag ? 'not planned'
      : plan && semver.valid(file.version) && semver.valid(plan.toVersion) && semver.gt(file.version, plan.toVersion) ? 'not planned' : 'below baseline';
    if (lastRun && (state === 'pending' || state === 'not planned')) {
      const failedHere = lastRun.steps.indexOf(id) === lastRun.completed;
      rows.push({ version, script: id, description: describe(file), state: failedHere ? 'failed' : 'rolled back', at: lastRun.startedAt, durationMs: null, entriesChanged: null, runId: lastRun.runId });
      continue;
    }
    rows.push({ version, script: id, description: describe(file), state, at: null, durationMs: null, entriesChanged: null, runId: null });
  }
  const inFolder = new Set(files.map(scriptId));
  for (const h of applied.values()) {
    if (!inFolder.has(h.script)) rows.push({ ...fromHistory(h), description: null, state: 'missing' });
  }
  return rows;
}

function fromHistory(h: HistoryRecord): Omit<ScriptInfo, 'description' | 'state'> {
  return { version: h.tag ? `tag ${h.tag}` : h.version, script: h.script, at: h.appliedAt, durationMs: h.durationMs, entriesChanged: h.entriesChanged, runId: h.runId };
}

/** A code script's description; an LDIF file's first comment line (not a `# ldap-upgrade:` directive). */
function describe(file: ScriptFile): string | null {
  if (file.definition?.description) return file.definition.description;
  if (file.kind === 'code') return null;
  try {
    for (const line of readFileSync(file.path, 'utf8').split('\n', 20)) {
      if (!line.startsWith('#')) continue;
      const text = line.replace(/^#+\s*/, '').trim();
      if (text && !/^ldap-upgrade:/i.test(text)) return text;
    }
  } catch {
    // gone since it was listed: no description
  }
  return null;
}
