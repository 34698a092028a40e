import semver from 'semver';
import type { ScriptCatalog, ScriptFile } from '../scripts/types.js';

/** One script to run, in order. */
export interface PlanStep {
  /** The version this step brings the data to (for a tag: the target version). */
  version: string;
  script: ScriptFile;
  tag?: string;
  /** Scripts sharing this step's runOnce key that were folded into it. */
  folded: ScriptFile[];
}

export interface UpgradePlan {
  /** The version the data is at (stored, --from, or the baseline). */
  fromVersion: string;
  /** Where it came from, for messages. */
  fromSource: 'stored' | 'forced' | 'baseline';
  toVersion: string;
  steps: PlanStep[];
  /** Versions among the steps, in order (tags excluded). */
  versions: string[];
  tags: string[];
}

export type RefusalKind =
  | 'downgrade'
  | 'data-newer-than-tool'
  | 'unknown-tag'
  | 'tag-without-force'
  | 'from-without-force'
  | 'unknown-target'
  | 'invalid-version';

export interface Refusal {
  kind: RefusalKind;
  message: string;
}

export type PlanResult = { ok: true; plan: UpgradePlan } | { ok: false; refusal: Refusal };

export interface PlanInput {
  catalog: Pick<ScriptCatalog, 'versions' | 'tags'>;
  /** The version in the version entry; undefined when the entry or its value is missing. */
  stored?: string;
  baseline: string;
  /** `--to` or the configured target. */
  target?: string;
  /** `--from`: overrides the stored version (needs `force`). */
  from?: string;
  tags?: string[];
  force?: boolean;
  /** runOnce keys of code scripts (path → key). */
  runOnceOf?: (script: ScriptFile) => string | undefined;
}

const refuse = (kind: RefusalKind, message: string): PlanResult => ({ ok: false, refusal: { kind, message } });

/**
 * The whole plan with no I/O: stored version + scripts + target + flags → ordered steps, or a
 * typed refusal. Versions compare as semver (10.0.0 after 9.0.0), never as strings.
 */
export function planUpgrade(input: PlanInput): PlanResult {
  const { catalog } = input;
  for (const [name, v] of [['stored version', input.stored], ['baseline', input.baseline], ['--to', input.target], ['--from', input.from]] as const) {
    if (v !== undefined && !semver.valid(v)) return refuse('invalid-version', `${name} "${v}" is not a semantic version`);
  }
  if (input.from !== undefined && !input.force) {
    return refuse('from-without-force', `--from ${input.from} overrides the stored version ${input.stored ?? '(none)'}: add --force to confirm`);
  }
  const tags = input.tags ?? [];
  if (tags.length > 0 && !input.force) return refuse('tag-without-force', `--tag ${tags.join(', ')} runs an out-of-band fix: add --force to confirm`);
  for (const tag of tags) {
    if (!catalog.tags.has(tag)) {
      const known = [...catalog.tags.keys()];
      return refuse('unknown-tag', `unknown tag "${tag}" (${known.length ? `known: ${known.join(', ')}` : 'there are no tags'})`);
    }
  }

  const highest = catalog.versions[catalog.versions.length - 1]?.version;
  const fromSource: UpgradePlan['fromSource'] = input.from !== undefined ? 'forced' : input.stored !== undefined ? 'stored' : 'baseline';
  const fromVersion = input.from ?? input.stored ?? input.baseline;
  if (input.from === undefined && input.stored !== undefined && (highest === undefined || semver.gt(input.stored, highest))) {
    return refuse('data-newer-than-tool', `the directory is at version ${input.stored}, newer than every script (${highest ?? 'none'}): this tool or its scripts are older than the data`);
  }
  const toVersion = input.target ?? (highest !== undefined && semver.gt(highest, fromVersion) ? highest : fromVersion);
  if (semver.lt(toVersion, fromVersion)) {
    return refuse('downgrade', `the target ${toVersion} is below the ${fromSource === 'forced' ? 'forced' : 'stored'} version ${fromVersion}: downgrades are refused`);
  }
  if (input.target !== undefined && semver.neq(toVersion, fromVersion) && !catalog.versions.some((v) => semver.eq(v.version, toVersion))) {
    return refuse('unknown-target', `the target ${toVersion} is not a script version (${catalog.versions.map((v) => v.version).join(', ') || 'no versions'})`);
  }

  const raw: { version: string; script: ScriptFile; tag?: string }[] = [];
  const versions: string[] = [];
  for (const v of catalog.versions) {
    if (semver.gt(v.version, fromVersion) && semver.lte(v.version, toVersion)) {
      versions.push(v.version);
      for (const script of v.scripts) raw.push({ version: v.version, script });
    }
  }
  for (const tag of tags) for (const script of catalog.tags.get(tag)!) raw.push({ version: toVersion, script, tag });

  return { ok: true, plan: { fromVersion, fromSource, toVersion, steps: foldRunOnce(raw, input.runOnceOf), versions, tags } };
}

/** Scripts sharing a runOnce key run once, at the last place one of them appears. */
function foldRunOnce(raw: { version: string; script: ScriptFile; tag?: string }[], runOnceOf?: (s: ScriptFile) => string | undefined): PlanStep[] {
  const lastIndex = new Map<string, number>();
  raw.forEach((r, i) => {
    const key = runOnceOf?.(r.script);
    if (key) lastIndex.set(key, i);
  });
  const folded = new Map<string, ScriptFile[]>();
  const steps: PlanStep[] = [];
  raw.forEach((r, i) => {
    const key = runOnceOf?.(r.script);
    if (key && lastIndex.get(key) !== i) {
      folded.set(key, [...(folded.get(key) ?? []), r.script]);
      return;
    }
    steps.push({ ...r, folded: key ? folded.get(key) ?? [] : [] });
  });
  return steps;
}
