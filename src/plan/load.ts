import type { UpgradeConfig } from '../config/types.js';
import { RefusedError } from '../errors.js';
import { planUpgrade, type UpgradePlan } from './planner.js';
import { discoverScripts } from '../scripts/catalog.js';
import { prepareScripts } from '../scripts/load-code.js';
import type { ScriptCatalog, ScriptFile } from '../scripts/types.js';
import { driftMessages, scriptDrift, type ScriptDrift } from './drift.js';
import type { HistoryRecord, RunRecord } from '../records/run-record.js';
import type { StateStore } from '../records/state-store.js';

/** What the upgrade asks for on the command line. */
export interface PlanRequest {
  to?: string;
  from?: string;
  tags?: string[];
  force?: boolean;
  /** Go on although the scripts folder drifted from the history (see ScriptDrift). */
  acceptDrift?: boolean;
}

export interface LoadedPlan {
  catalog: ScriptCatalog;
  stored: { exists: boolean; version?: string };
  plan: UpgradePlan;
  history: HistoryRecord[];
  /** The run records, newest first. */
  runs: RunRecord[];
  /** How the scripts folder differs from what the history says was applied. */
  drift: ScriptDrift;
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

/**
 * Refuses (exit 7) a run over a drifted scripts folder, unless accepted: then each drifted script
 * is a warning, returned for the report.
 */
export function checkDrift(drift: ScriptDrift, accept: boolean | undefined): string[] {
  const messages = driftMessages(drift);
  if (messages.length > 0 && !accept) {
    throw new RefusedError(`the scripts folder does not match what the directory's history says was applied: ${messages.join('; ')}. Put the applied scripts back as they were (\`ldap-upgrade validate\` lists them), or add --accept-script-drift to go on anyway`);
  }
  return messages;
}

/** Catalog + stored version + request → the plan, or RefusedError (exit 7). */
export async function loadPlan(config: UpgradeConfig, store: StateStore, request: PlanRequest): Promise<LoadedPlan> {
  const catalog = await loadCatalog(config);
  const stored = await store.readVersion();
  const [all, runs] = stored.exists ? await Promise.all([store.readHistory(), store.readRuns()]) : [[], []];
  // What an `undo` undid is not applied any more (its records are kept, marked).
  const history = all.filter((h) => !h.undoneBy);
  const result = planUpgrade({
    catalog, stored: stored.version, baseline: config.baselineVersion,
    target: request.to ?? config.target, from: request.from, tags: request.tags, force: request.force,
    runOnceOf: (s) => s.definition?.runOnce,
  });
  if (!result.ok) throw new RefusedError(result.refusal.message);
  return { catalog, stored, plan: result.plan, history, runs, drift: scriptDrift(catalog, history, runs) };
}
