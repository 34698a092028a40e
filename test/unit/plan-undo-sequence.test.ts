import { readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeFor, exitCodeForResult } from '../../src/cli/exit.js';
import { InvalidInputError, RefusedError } from '../../src/errors.js';
import { readSavedPlan, type SavedPlan } from '../../src/plan/saved-plan.js';
import { dryRun } from '../../src/run/dry-run.js';
import { recover } from '../../src/run/recover.js';
import { undoRun } from '../../src/run/undo-run.js';
import { runUpgrade } from '../../src/run/upgrade.js';
import { toolVersion } from '../../src/version.js';
import { memoryRun, SUFFIX, TWO_VERSIONS, VERSION_ENTRY, type MemoryRun } from '../helpers/memory-run.js';

const people = (n: number) => `uid=user${n},ou=people,${SUFFIX}`;
const TOOL_RECORDS = /cn=schema-version,/i;

async function savedPlan(run: MemoryRun, name = 'plan.jsonl'): Promise<{ file: string; saved: SavedPlan; digest: string }> {
  const file = join(run.backupDir, '..', name);
  const report = await dryRun(run.topology, {}, () => undefined, () => undefined, file);
  expect(report.savedPlan).toMatchObject({ file, writes: 3 });
  return { file, saved: readSavedPlan(file, toolVersion()), digest: report.savedPlan!.digest };
}

/** The master's writes outside the tool's own records, as `op dn`. */
const dataWrites = (run: MemoryRun, from = 0) => run.cluster.master.writes.slice(from).filter((w) => !TOOL_RECORDS.test(w));

function expectEveryNodeEqual(run: MemoryRun): void {
  const master = run.content(run.cluster.master.url);
  for (const r of run.cluster.replicas) expect(run.content(r.url), r.url).toEqual(master);
}

const title = (run: MemoryRun, url: string, n: number) => run.cluster.server(url).get(people(n))?.attributes.title?.map(String);

describe('a reviewed plan (upgrade --dry-run --save-plan, then upgrade --plan) over an in-memory directory', () => {
  it('the saved plan is private, and the plan run writes exactly its records; history and run record name its digest', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const { file, saved, digest } = await savedPlan(run);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(1 + 3 + 2);
    const { statSync } = await import('node:fs');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const before = run.cluster.master.writes.length;
    const report = await runUpgrade(run.topology, { saved }, () => undefined);
    expect(report.outcome, report.error).toBe('done');
    expect(report.plan).toEqual({ file, digest });
    const planned = saved.writes.flat().map((w) => `${w.kind} ${w.dn}`);
    expect(dataWrites(run, before)).toEqual(planned);
    expect(planned).toEqual([`add ou=apps,${SUFFIX}`, `modify ${people(1)}`, `modify ${people(3)}`]);
    const history = await run.topology.store.readHistory();
    expect(history.map((h) => h.plan)).toEqual([digest, digest]);
    expect((await run.topology.store.readRuns())[0]).toMatchObject({ state: 'done', plan: digest });
    expect(title(run, run.cluster.master.url, 1)).toEqual(['migrated']);
    expectEveryNodeEqual(run);
  });

  it('a client changed a planned entry since: refused (7) before the lock, naming it; nothing written', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const { saved } = await savedPlan(run);
    const client = await run.cluster.connector({ url: run.cluster.master.url, tls: {} as never });
    await client.modify(people(3), [{ operation: 'replace', attribute: 'title', values: ['client'] }]);
    const before = run.cluster.master.writes.length;
    const err = await runUpgrade(run.topology, { saved }, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect(exitCodeFor(err)).toBe(7);
    expect(String((err as Error).message)).toMatch(new RegExp(`1 entry it writes changed since it was made: ${people(3)} \\(its title changed\\)`));
    expect(run.cluster.master.writes.length).toBe(before);
    expect(title(run, run.cluster.master.url, 3)).toEqual(['client']);
  });

  it('a client changing a planned entry after the check, before its write: the run stops (plan-moved, 7) and is rolled back to the client\'s value', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const { saved } = await savedPlan(run);
    const client = await run.cluster.connector({ url: run.cluster.master.url, tls: {} as never });
    let done = false;
    run.cluster.master.onWrite = (op, dn) => {
      if (!done && op === 'modify' && dn === people(1)) {
        done = true;
        void client.modify(people(3), [{ operation: 'replace', attribute: 'title', values: ['client-late'] }]);
      }
    };
    const report = await runUpgrade(run.topology, { saved }, () => undefined);
    expect(report.outcome).toBe('plan-moved');
    expect(exitCodeForResult({ kind: 'upgrade', report })).toBe(7);
    expect(report.error).toMatch(new RegExp(`${people(3)}`));
    expect(report.rolledBack).toBe(true);
    expect(title(run, run.cluster.master.url, 1)).toBeUndefined();
    expect(title(run, run.cluster.master.url, 3)).toEqual(['client-late']);
    expect((await run.topology.store.readVersion()).version).toBeUndefined();
    expectEveryNodeEqual(run);
  });

  it('a value computed from other attributes: a client changing what the script read (not what it writes) refuses the plan, naming the attribute', async () => {
    const run = await memoryRun({
      '1.0.0/01-display.mjs': `export default {
        async up(ctx) {
          for await (const e of ctx.search({ base: 'ou=people,' + ctx.suffix, filter: '(|(uid=user1)(uid=user3))', attributes: ['sn'] })) {
            await ctx.modify(e.dn, [{ operation: 'replace', attribute: 'description', values: ['sn was ' + e.attributes.sn] }]);
          }
        },
      };\n`,
    });
    const file = join(run.backupDir, '..', 'computed.jsonl');
    await dryRun(run.topology, {}, () => undefined, () => undefined, file);
    const saved = readSavedPlan(file, toolVersion());
    expect(saved.writes[0]!.map((w) => w.kind === 'modify' && w.of)).toEqual([['description', 'sn'], ['description', 'sn']]);
    const client = await run.cluster.connector({ url: run.cluster.master.url, tls: {} as never });
    const sn = (await client.get(people(1), ['sn']))!.attributes.sn!;
    await client.modify(people(1), [{ operation: 'replace', attribute: 'sn', values: ['Renamed'] }]);
    await expect(runUpgrade(run.topology, { saved }, () => undefined)).rejects.toThrow(new RegExp(`${people(1)} \\(what it was planned from changed: one of description, sn\\)`));
    // A change to an attribute the script did not read does not matter; sn put back, the plan runs as reviewed.
    await client.modify(people(1), [{ operation: 'replace', attribute: 'sn', values: sn }, { operation: 'replace', attribute: 'title', values: ['unrelated'] }]);
    const report = await runUpgrade(run.topology, { saved }, () => undefined);
    expect(report.outcome, report.error).toBe('done');
    expect(run.cluster.master.get(people(1))?.attributes.description).toEqual([`sn was ${sn.join(',')}`]);
  });

  it('the stored version moved, or a script changed: refused (7) naming which', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const { saved } = await savedPlan(run);
    const forged = { ...saved, header: { ...saved.header, stored: '0.9.0' } };
    await expect(runUpgrade(run.topology, { saved: forged }, () => undefined)).rejects.toThrow(/made from stored version 0\.9\.0, the directory is at none now/);
    const edited = { ...saved, header: { ...saved.header, scripts: saved.header.scripts.map((s, i) => (i === 1 ? { ...s, checksum: 'f'.repeat(64) } : s)) } };
    await expect(runUpgrade(run.topology, { saved: edited }, () => undefined)).rejects.toThrow(/1\.1\.0\/01-title\.ldif changed since the plan was made/);
    const elsewhere = { ...saved, header: { ...saved.header, identity: { ...saved.header.identity, master: 'ldap://elsewhere:389' } } };
    await expect(runUpgrade(run.topology, { saved: elsewhere }, () => undefined)).rejects.toThrow(/made for the master ldap:\/\/elsewhere:389/);
    const planted = { ...saved, writes: [[...saved.writes[0]!, { t: 'write' as const, step: 0, from: 'x', kind: 'delete' as const, dn: `cn=lock,${VERSION_ENTRY}` }], saved.writes[1]!] };
    await expect(runUpgrade(run.topology, { saved: planted }, () => undefined)).rejects.toThrow(/its write of cn=lock,cn=schema-version,dc=mem,dc=test is one no script may make \(scripts may not write the tool's own records/);
    expect(await run.topology.store.readLock()).toBeUndefined();
  });

  it('a plan file edited, truncated, not a plan, or of another tool version: one line saying which (7, 2, 2, 7)', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const { file } = await savedPlan(run);
    const text = readFileSync(file, 'utf8');
    const variant = (name: string, content: string) => {
      const f = join(run.backupDir, '..', name);
      writeFileSync(f, content, { mode: 0o600 });
      return f;
    };
    const edited = variant('edited.jsonl', text.replace('migrated', 'hijacked'));
    const truncated = variant('truncated.jsonl', text.split('\n').slice(0, 3).join('\n') + '\n');
    const notPlan = variant('other.jsonl', '{"a":1}\n{"b":2}\n{"c":3}\n');
    const cases: [string, RegExp, number][] = [
      [edited, /does not match its digest .*edited after it was saved/, 7],
      [truncated, /truncated: its last line is not the plan's end/, 2],
      [notPlan, /not a plan file written by/, 2],
      [join(run.backupDir, 'absent.jsonl'), /no such file/, 2],
    ];
    for (const [f, message, code] of cases) {
      const err = (() => { try { readSavedPlan(f, toolVersion()); } catch (e) { return e; } })();
      expect(String((err as Error)?.message), f).toMatch(message);
      expect(exitCodeFor(err), f).toBe(code);
    }
    expect(() => readSavedPlan(file, '0.0.0-other')).toThrow(/saved by ldap-upgrade .*, this is 0\.0\.0-other/);
    expect(() => readSavedPlan(truncated, toolVersion())).toThrow(InvalidInputError);
  });
});

describe('undo RUNID over an in-memory directory', () => {
  it('undoes the latest completed run: a value a client changed since is left and listed, the rest restored on every node, version back, history marked, run undone', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const before = run.content(run.cluster.master.url);
    const done = await runUpgrade(run.topology, {}, () => undefined);
    expect(done.outcome).toBe('done');
    const client = await run.cluster.connector({ url: run.cluster.master.url, tls: {} as never });
    await client.modify(people(3), [{ operation: 'replace', attribute: 'title', values: ['client'] }]);
    const report = await undoRun(run.topology, { runId: done.runId! }, () => undefined);
    expect(report.outcome, report.error).toBe('done');
    expect(report.kind).toBe('undo');
    expect(report.undo).toMatchObject({ runId: done.runId, changesUndone: 2, version: null, versionKept: false });
    expect(report.conflicts).toHaveLength(1);
    expect(report.conflicts![0]).toContain(people(3));
    expect(title(run, run.cluster.master.url, 1)).toBeUndefined();
    expect(title(run, run.cluster.master.url, 3)).toEqual(['client']);
    expect(run.cluster.master.get(`ou=apps,${SUFFIX}`)).toBeUndefined();
    expect((await run.topology.store.readVersion()).version).toBeUndefined();
    const history = await run.topology.store.readHistory();
    expect(history).toHaveLength(2);
    expect(history.every((h) => h.undoneBy === report.runId && h.undoneAt)).toBe(true);
    const runs = await run.topology.store.readRuns();
    expect(runs.find((r) => r.runId === done.runId)).toMatchObject({ state: 'undone', undoneBy: report.runId });
    expect(runs.find((r) => r.runId === report.runId)).toMatchObject({ state: 'done', undoes: done.runId });
    expect(await run.topology.store.readLock()).toBeUndefined();
    for (const r of run.cluster.replicas) expect(r.frozen).toBe(false);
    expectEveryNodeEqual(run);
    // Everything but the client's title is as before the run.
    expect(run.content(run.cluster.master.url).filter((l) => !l.startsWith(`uid=user3,`))).toEqual(before.filter((l) => !l.startsWith('uid=user3,')));
    // Undone history is not applied any more: the next upgrade runs both scripts again.
    const again = await runUpgrade(run.topology, {}, () => undefined);
    expect(again.outcome).toBe('done');
    expect(again.steps.map((s) => s.script)).toEqual(['1.0.0/01-add-ou.ldif', '1.1.0/01-title.ldif']);
  });

  it('refused (7) naming the run: unknown, not completed, undone already, an undo, not the latest (without --force), its journal gone', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const refused = async (runId: string, pattern: RegExp, force = false) => {
      const err = await undoRun(run.topology, { runId, force }, () => undefined).catch((e: unknown) => e);
      expect(err, runId).toBeInstanceOf(RefusedError);
      expect(String((err as Error).message)).toMatch(pattern);
    };
    await refused('20261121T235959Z-a1b2c3', /there is no run 20261121T235959Z-a1b2c3/);
    await refused('../../etc/passwd', /is not a run id/);
    const first = await runUpgrade(run.topology, { to: '1.0.0' }, () => undefined);
    const second = await runUpgrade(run.topology, {}, () => undefined);
    await refused(first.runId!, new RegExp(`run ${first.runId} is not the latest completed run \\(${second.runId} came after it\\)`));
    const journal = join(run.backupDir, `${second.runId}.journal.jsonl`);
    const kept = readFileSync(journal);
    rmSync(journal);
    await refused(second.runId!, new RegExp(`the journal of run ${second.runId}, .*${second.runId}\\.journal\\.jsonl, is not on this machine`));
    writeFileSync(journal, kept);
    const undo = await undoRun(run.topology, { runId: second.runId! }, () => undefined);
    expect(undo.outcome).toBe('done');
    await refused(second.runId!, /was undone already/);
    await refused(undo.runId!, /is itself an undo/);
    expect((await run.topology.store.readVersion()).version).toBe('1.0.0');
    // Newest first: now the first run is the latest completed one.
    const undoFirst = await undoRun(run.topology, { runId: first.runId! }, () => undefined);
    expect(undoFirst.outcome).toBe('done');
    expect((await run.topology.store.readVersion()).version).toBeUndefined();
    // A failed run is not for undo.
    run.cluster.master.failWrite = { match: (op, dn) => op === 'modify' && dn === people(3), code: 50, message: 'insufficient access' };
    const failed = await runUpgrade(run.topology, {}, () => undefined);
    expect(failed.outcome).toBe('script-failed');
    await refused(failed.runId!, /did not complete \(it is rolled-back, 1 of 2 script\(s\) done\)/);
  });

  it('--force on an older run: its changes undone, the later run and the stored version stay', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const first = await runUpgrade(run.topology, { to: '1.0.0' }, () => undefined);
    await runUpgrade(run.topology, {}, () => undefined);
    const report = await undoRun(run.topology, { runId: first.runId!, force: true }, () => undefined);
    expect(report.outcome).toBe('done');
    expect(report.undo).toMatchObject({ versionKept: true, changesUndone: 1 });
    expect(report.warnings.join('\n')).toMatch(/--force: .* the stored version stays 1\.1\.0/);
    expect(run.cluster.master.get(`ou=apps,${SUFFIX}`)).toBeUndefined();
    expect(title(run, run.cluster.master.url, 1)).toEqual(['migrated']);
    expect((await run.topology.store.readVersion()).version).toBe('1.1.0');
    expectEveryNodeEqual(run);
  });

  it('stopped half-way through its undo: the lock stays, and recover (or recover --rollback) finishes the undo, never takes it back', async () => {
    for (const rollback of [false, true]) {
      const run = await memoryRun(TWO_VERSIONS);
      const done = await runUpgrade(run.topology, {}, () => undefined);
      // The process "dies" during the undo: a restore fails with an unexpected error.
      run.cluster.master.failWrite = { match: (op, dn) => op === 'add' && dn === `ou=apps,${SUFFIX}` ? false : op === 'delete' && dn === `ou=apps,${SUFFIX}`, code: 80, message: 'other' };
      await expect(undoRun(run.topology, { runId: done.runId! }, () => undefined)).rejects.toThrow(/other/);
      expect(await run.topology.store.readLock()).toBeDefined();
      const report = await recover(run.topology, { rollback, force: true }, () => undefined);
      expect(report.outcome).toBe('rolled-back');
      expect(report.finishedRollback).toBe(true);
      expect(run.cluster.master.get(`ou=apps,${SUFFIX}`)).toBeUndefined();
      expect(title(run, run.cluster.master.url, 1)).toBeUndefined();
      expect((await run.topology.store.readVersion()).version).toBeUndefined();
      const runs = await run.topology.store.readRuns();
      expect(runs.find((r) => r.runId === done.runId)).toMatchObject({ state: 'undone' });
      expect(runs.find((r) => r.undoes === done.runId)).toMatchObject({ state: 'done' });
      expect(await run.topology.store.readLock()).toBeUndefined();
      for (const r of run.cluster.replicas) expect(r.frozen).toBe(false);
      expectEveryNodeEqual(run);
    }
  });

  it('a run whose scripts all completed but a replica did not converge (exit 6) keeps its journal and can be undone', async () => {
    const run = await memoryRun(TWO_VERSIONS, { timeout: 0.3 });
    const lagging = run.cluster.replicas[1]!.url;
    run.cluster.master.onWrite = (op, dn) => {
      if (op === 'add' && dn === `ou=apps,${SUFFIX}`) run.cluster.cutLink(lagging);
    };
    const report = await runUpgrade(run.topology, {}, () => undefined);
    expect(report.outcome).toBe('not-converged');
    expect(existsSync(join(run.backupDir, `${report.runId}.journal.jsonl`))).toBe(true);
    run.cluster.restore(lagging);
    const undo = await undoRun(run.topology, { runId: report.runId! }, () => undefined);
    expect(undo.outcome, undo.error).toBe('done');
    expect(run.cluster.master.get(`ou=apps,${SUFFIX}`)).toBeUndefined();
    expectEveryNodeEqual(run);
  });

  it('journals are kept for the newest keepJournals completed runs only', async () => {
    const scripts: Record<string, string> = {};
    for (let i = 1; i <= 4; i++) scripts[`1.${i}.0/01-t.ldif`] = `dn: uid=user1,ou=people,\${suffix}\nchangetype: modify\nreplace: title\ntitle: t${i}\n-\n`;
    const run = await memoryRun(scripts);
    (run.topology.config as { keepJournals: number }).keepJournals = 2;
    const ids: string[] = [];
    for (let i = 1; i <= 4; i++) ids.push((await runUpgrade(run.topology, { to: `1.${i}.0` }, () => undefined)).runId!);
    const kept = ids.map((id) => existsSync(join(run.backupDir, `${id}.journal.jsonl`)));
    expect(kept).toEqual([false, false, true, true]);
  });
});
