import { describe, expect, it } from 'vitest';
import { planUpgrade, type PlanInput } from '../../src/plan/planner.js';
import type { ScriptFile, VersionScripts } from '../../src/scripts/types.js';
import { driftMessages, hasDrift, scriptDrift } from '../../src/plan/drift.js';
import { scriptInfo } from '../../src/inspect/info.js';
import type { RunRecord } from '../../src/records/run-record.js';

function script(version: string, name: string, tag?: string): ScriptFile {
  return { version, tag, prefix: name.slice(0, 2), name, path: `/x/${version}/${name}`, kind: name.endsWith('.ldif') ? 'ldif' : 'code', checksum: 'c' };
}

function catalog(versions: Record<string, string[]>, tags: Record<string, string[]> = {}): PlanInput['catalog'] {
  const v: VersionScripts[] = Object.entries(versions).map(([version, names]) => ({ version, scripts: names.map((n) => script(version, n)) }));
  return { versions: sortSemver(v), tags: new Map(Object.entries(tags).map(([t, names]) => [t, names.map((n) => script(t, n, t))])) };
}

function sortSemver(v: VersionScripts[]): VersionScripts[] {
  return [...v].sort((a, b) => {
    const pa = a.version.split('.').map(Number);
    const pb = b.version.split('.').map(Number);
    return pa[0]! - pb[0]! || pa[1]! - pb[1]! || pa[2]! - pb[2]!;
  });
}

const ids = (r: ReturnType<typeof planUpgrade>) => (r.ok ? r.plan.steps.map((s) => `${s.version}/${s.script.name}`) : r.refusal.kind);

describe('planUpgrade', () => {
  const cat = catalog({ '1.0.0': ['01-a.ldif'], '1.1.0': ['01-b.ts', '02-c.ldif'], '9.0.0': ['01-d.ldif'], '10.0.0': ['01-e.ldif'] });

  it('plans every version above the baseline in semver order (10.0.0 after 9.0.0)', () => {
    expect(ids(planUpgrade({ catalog: cat, baseline: '0.0.0' }))).toEqual(['1.0.0/01-a.ldif', '1.1.0/01-b.ts', '1.1.0/02-c.ldif', '9.0.0/01-d.ldif', '10.0.0/01-e.ldif']);
  });

  it('starts after the stored version and reports where it came from', () => {
    const r = planUpgrade({ catalog: cat, stored: '1.1.0', baseline: '0.0.0' });
    expect(ids(r)).toEqual(['9.0.0/01-d.ldif', '10.0.0/01-e.ldif']);
    expect(r.ok && r.plan.fromSource).toBe('stored');
    expect(r.ok && r.plan.toVersion).toBe('10.0.0');
  });

  it('stops at --to', () => {
    expect(ids(planUpgrade({ catalog: cat, stored: '1.0.0', baseline: '0.0.0', target: '9.0.0' }))).toEqual(['1.1.0/01-b.ts', '1.1.0/02-c.ldif', '9.0.0/01-d.ldif']);
  });

  it('has nothing to do at the highest version', () => {
    const r = planUpgrade({ catalog: cat, stored: '10.0.0', baseline: '0.0.0' });
    expect(r.ok && r.plan.steps).toEqual([]);
  });

  it('refuses a downgrade', () => {
    const r = planUpgrade({ catalog: cat, stored: '9.0.0', baseline: '0.0.0', target: '1.1.0' });
    expect(ids(r)).toBe('downgrade');
    expect(!r.ok && r.refusal.message).toMatch(/below the stored version 9\.0\.0/);
  });

  it('refuses data newer than every script', () => {
    expect(ids(planUpgrade({ catalog: cat, stored: '11.0.0', baseline: '0.0.0' }))).toBe('data-newer-than-tool');
  });

  it('refuses a target that is not a script version', () => {
    expect(ids(planUpgrade({ catalog: cat, stored: '1.0.0', baseline: '0.0.0', target: '2.0.0' }))).toBe('unknown-target');
  });

  it('refuses --from without --force, and honours it with --force', () => {
    expect(ids(planUpgrade({ catalog: cat, stored: '10.0.0', baseline: '0.0.0', from: '9.0.0' }))).toBe('from-without-force');
    const r = planUpgrade({ catalog: cat, stored: '10.0.0', baseline: '0.0.0', from: '9.0.0', force: true });
    expect(ids(r)).toEqual(['10.0.0/01-e.ldif']);
    expect(r.ok && r.plan.fromSource).toBe('forced');
  });

  it('refuses a tag without --force and an unknown tag', () => {
    const tagged = catalog({ '1.0.0': ['01-a.ldif'] }, { fix: ['01-x.ts'] });
    expect(ids(planUpgrade({ catalog: tagged, stored: '1.0.0', baseline: '0.0.0', tags: ['fix'] }))).toBe('tag-without-force');
    const r = planUpgrade({ catalog: tagged, stored: '1.0.0', baseline: '0.0.0', tags: ['nope'], force: true });
    expect(ids(r)).toBe('unknown-tag');
    expect(!r.ok && r.refusal.message).toMatch(/known: fix/);
  });

  it('runs a tag after the pending versions, at the target version', () => {
    const tagged = catalog({ '1.0.0': ['01-a.ldif'], '2.0.0': ['01-b.ldif'] }, { fix: ['01-x.ts'] });
    const r = planUpgrade({ catalog: tagged, stored: '1.0.0', baseline: '0.0.0', tags: ['fix'], force: true });
    expect(ids(r)).toEqual(['2.0.0/01-b.ldif', '2.0.0/01-x.ts']);
    expect(r.ok && r.plan.steps[1]!.tag).toBe('fix');
  });

  it('refuses versions that are not semver', () => {
    expect(ids(planUpgrade({ catalog: cat, stored: '2.1', baseline: '0.0.0' }))).toBe('invalid-version');
  });

  it('collapses runOnce keys to one step, at the last place', () => {
    const c = catalog({ '1.0.0': ['01-reindex.ts', '02-a.ldif'], '2.0.0': ['01-reindex.ts'] });
    const r = planUpgrade({ catalog: c, baseline: '0.0.0', runOnceOf: (s) => (s.name.includes('reindex') ? 'reindex' : undefined) });
    expect(ids(r)).toEqual(['1.0.0/02-a.ldif', '2.0.0/01-reindex.ts']);
    expect(r.ok && r.plan.steps[1]!.folded.map((f) => `${f.version}/${f.name}`)).toEqual(['1.0.0/01-reindex.ts']);
  });
});

describe('scriptDrift: the scripts folder against the history (what validate fails on)', () => {
  const cat = { ...catalog({ '1.0.0': ['01-a.ldif', '02-late.ldif'], '1.1.0': ['01-b.ts'], '2.0.0': ['01-c.ldif'] }), dir: '/x', skipped: [] };
  cat.versions[0]!.scripts[0]!.checksum = 'changed';
  const applied = (script: string, checksum = 'c') => ({ version: script.split('/')[0]!, script, checksum, runId: 'r', appliedBy: 'a', appliedAt: 't', durationMs: 1, entriesChanged: 1 });
  const run = (state: RunRecord['state'], fromVersion: string, toVersion: string) => ({ runId: 'r', state, fromVersion, toVersion } as RunRecord);

  it('changed, removed, and a script added to a version a completed run went through', () => {
    const drift = scriptDrift(cat, [applied('1.0.0/01-a.ldif'), applied('1.1.0/01-b.ts'), applied('0.9.0/01-old.ldif')], [run('done', '0.0.0', '1.1.0')]);
    expect(drift).toEqual({ changed: ['1.0.0/01-a.ldif'], removed: ['0.9.0/01-old.ldif'], outOfOrder: ['1.0.0/02-late.ldif'] });
    expect(driftMessages(drift)).toHaveLength(3);
  });

  it('no drift: a version above every completed run is pending, not out of order; a failed run went through nothing', () => {
    const same = { ...cat, versions: cat.versions.map((v) => ({ ...v, scripts: v.scripts.map((s) => ({ ...s, checksum: 'c' })) })) };
    const drift = scriptDrift(same, [applied('1.0.0/01-a.ldif'), applied('1.0.0/02-late.ldif')], [run('done', '0.0.0', '1.0.0'), run('rolled-back', '1.0.0', '2.0.0')]);
    expect(hasDrift(drift)).toBe(false);
    // Versions at or below where the tool started (a baseline) were never its to run.
    expect(hasDrift(scriptDrift(same, [applied('2.0.0/01-c.ldif')], [run('done', '1.1.0', '2.0.0')]))).toBe(false);
  });
});

describe('scriptInfo: every script with its state (info)', () => {
  it('applied, changed, missing, pending, failed, rolled back, out of order, below baseline, not planned', () => {
    const cat = { ...catalog({ '0.5.0': ['01-old.ldif'], '1.0.0': ['01-a.ldif', '02-late.ldif', '03-changed.ldif'], '2.0.0': ['01-b.ldif', '02-c.ldif'], '3.0.0': ['01-later.ldif'] }, { fix: ['01-f.ldif'] }), dir: '/x', skipped: [] };
    const h = (script: string) => ({ version: script.split('/')[0]!, script, checksum: 'c', runId: 'r1', appliedBy: 'a', appliedAt: '2026-12-01T10:00:00.000Z', durationMs: 5, entriesChanged: 2 });
    const history = [h('1.0.0/01-a.ldif'), h('1.0.0/03-changed.ldif'), h('0.9.0/01-gone.ldif')];
    const runs = [{ runId: 'r2', state: 'rolled-back', steps: ['2.0.0/01-b.ldif', '2.0.0/02-c.ldif'], completed: 1, startedAt: '2026-12-01T11:00:00.000Z' } as RunRecord];
    const plan = planUpgrade({ catalog: cat, stored: '1.0.0', baseline: '0.5.0', target: '2.0.0' });
    if (!plan.ok) throw new Error('no plan');
    const drift = { changed: ['1.0.0/03-changed.ldif'], removed: ['0.9.0/01-gone.ldif'], outOfOrder: ['1.0.0/02-late.ldif'] };
    const rows = scriptInfo(cat, history, runs, plan.plan, drift);
    expect(Object.fromEntries(rows.map((r) => [r.script, r.state]))).toEqual({
      '0.5.0/01-old.ldif': 'below baseline',
      '1.0.0/01-a.ldif': 'applied',
      '1.0.0/02-late.ldif': 'out of order',
      '1.0.0/03-changed.ldif': 'changed',
      '2.0.0/01-b.ldif': 'rolled back',
      '2.0.0/02-c.ldif': 'failed',
      '3.0.0/01-later.ldif': 'not planned',
      'tags/fix/01-f.ldif': 'not planned',
      '0.9.0/01-gone.ldif': 'missing',
    });
    expect(rows.find((r) => r.script === '1.0.0/01-a.ldif')).toMatchObject({ at: '2026-12-01T10:00:00.000Z', durationMs: 5, entriesChanged: 2, runId: 'r1' });
    expect(rows.find((r) => r.script === '2.0.0/02-c.ldif')).toMatchObject({ at: '2026-12-01T11:00:00.000Z', durationMs: null, entriesChanged: null, runId: 'r2' });
  });
});
