import type { UpgradeConfig } from '../config/types.js';
import { RefusedError } from '../errors.js';
import { planUpgrade, type UpgradePlan } from '../plan/planner.js';
import { discoverScripts } from '../scripts/catalog.js';
import { prepareScripts } from '../scripts/load-code.js';
import { scriptId, type ScriptCatalog, type ScriptFile } from '../scripts/types.js';
import type { HistoryRecord } from './records.js';
import type { StateStore } from './state-store.js';

/** What the upgrade asks for on the command line. */
export interface PlanRequest {
  to?: string;
  from?: string;
  tags?: string[];
  force?: boolean;
}

export interface LoadedPlan {
  catalog: ScriptCatalog;
  stored: { exists: boolean; version?: string };
  plan: UpgradePlan;
  history: HistoryRecord[];
  /** Applied scripts whose file changed since (SPEC §4: warn). */
  changedScripts: string[];
}

/** Reads the catalog and validates every script in it (parses LDIF, loads code). */
export async function loadCatalog(config: UpgradeConfig): Promise<ScriptCatalog> {
  const catalog = discoverScripts(config.scripts);
  const all: ScriptFile[] = [...catalog.versions.flatMap((v) => v.scripts), ...[...catalog.tags.values()].flat()];
  await prepareScripts(all, placeholders(config));
  return catalog;
}

export function placeholders(config: UpgradeConfig): Record<string, string> {
  return { suffix: config.suffix, versionEntry: config.versionEntry };
}

/** Applied scripts (by history) whose file's checksum differs now. */
export function changedSinceApplied(catalog: ScriptCatalog, history: HistoryRecord[]): string[] {
  const byId = new Map<string, ScriptFile>();
  for (const v of catalog.versions) for (const s of v.scripts) byId.set(scriptId(s), s);
  for (const list of catalog.tags.values()) for (const s of list) byId.set(scriptId(s), s);
  const changed = new Set<string>();
  for (const h of history) {
    const file = byId.get(h.script);
    if (file && file.checksum !== h.checksum) changed.add(h.script);
  }
  return [...changed];
}

/** Catalog + stored version + request → the plan, or RefusedError (exit 7). */
export async function loadPlan(config: UpgradeConfig, store: StateStore, request: PlanRequest): Promise<LoadedPlan> {
  const catalog = await loadCatalog(config);
  const stored = await store.readVersion();
  const history = stored.exists ? await store.readHistory() : [];
  const result = planUpgrade({
    catalog, stored: stored.version, baseline: config.baselineVersion,
    target: request.to ?? config.target, from: request.from, tags: request.tags, force: request.force,
    runOnceOf: (s) => s.definition?.runOnce,
  });
  if (!result.ok) throw new RefusedError(result.refusal.message);
  return { catalog, stored, plan: result.plan, history, changedScripts: changedSinceApplied(catalog, history) };
}
