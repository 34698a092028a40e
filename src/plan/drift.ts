import semver from 'semver';
import { scriptId, type ScriptCatalog, type ScriptFile } from '../scripts/types.js';
import type { HistoryRecord, RunRecord } from '../records/run-record.js';

/**
 * How the scripts folder has drifted from what the directory's history says was applied — what
 * Flyway's validate fails on. `upgrade` refuses to run over it (exit 7) unless told to accept it.
 */
export interface ScriptDrift {
  /** Applied scripts whose file's checksum differs now. */
  changed: string[];
  /** Applied scripts no longer in the folder. */
  removed: string[];
  /**
   * Scripts never applied whose version a completed run already went through (added to an old
   * version afterwards): the stored version is past them, so no upgrade would ever run them.
   */
  outOfOrder: string[];
}

export const NO_DRIFT: ScriptDrift = Object.freeze({ changed: [], removed: [], outOfOrder: [] }) as ScriptDrift;

export function scriptDrift(catalog: ScriptCatalog, history: HistoryRecord[], runs: RunRecord[] = []): ScriptDrift {
  const byId = new Map<string, ScriptFile>();
  for (const v of catalog.versions) for (const s of v.scripts) byId.set(scriptId(s), s);
  for (const list of catalog.tags.values()) for (const s of list) byId.set(scriptId(s), s);
  const applied = new Set(history.map((h) => h.script));
  const changed = new Set<string>();
  const removed = new Set<string>();
  for (const h of history) {
    const file = byId.get(h.script);
    if (!file) removed.add(h.script);
    else if (file.checksum !== h.checksum) changed.add(h.script);
  }
  const passed = runs.filter((r) => r.state === 'done' && semver.valid(r.fromVersion) && semver.valid(r.toVersion));
  const outOfOrder: string[] = [];
  for (const v of catalog.versions) {
    if (!semver.valid(v.version)) continue;
    const through = passed.find((r) => semver.gt(v.version, r.fromVersion) && semver.lte(v.version, r.toVersion));
    if (!through) continue;
    for (const s of v.scripts) if (!applied.has(scriptId(s))) outOfOrder.push(scriptId(s));
  }
  return { changed: [...changed], removed: [...removed], outOfOrder };
}

export function hasDrift(d: ScriptDrift): boolean {
  return d.changed.length + d.removed.length + d.outOfOrder.length > 0;
}

/** One line per drifted script, saying what happened. */
export function driftMessages(d: ScriptDrift): string[] {
  return [
    ...d.changed.map((s) => `${s} changed since it was applied (its checksum differs from the history's)`),
    ...d.removed.map((s) => `${s} was applied but is no longer in the scripts folder`),
    ...d.outOfOrder.map((s) => `${s} was never applied, and its version is already past (added after the upgrade to it ran): no upgrade would run it`),
  ];
}
