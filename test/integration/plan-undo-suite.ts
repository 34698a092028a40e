import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SandboxKind } from '../../src/sandbox/index.js';
import { runCli, startCli } from '../helpers/cli.js';
import { scripts, type TestCluster } from '../helpers/cluster.js';
import { expectWritableAndUnlocked } from '../helpers/expect.js';
import { dump, eventually, readAttr, settledDumps, withDirectory } from '../helpers/ldap.js';

const BASIC = scripts('basic');

interface PlanWrite { kind: string; dn: string; step: number; changes?: { operation: string; attribute: string; values: string[] }[]; attributes?: Record<string, string[]> }

function planWrites(file: string): PlanWrite[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as PlanWrite & { t: string }).filter((r) => r.t === 'write');
}

/** A client of `url` (a replica: clients write anywhere in a multi-master topology) sets `attribute` of `dn`, and the master has it. */
async function clientSets(c: TestCluster, url: string, dn: string, attribute: string, values: string[]): Promise<void> {
  await withDirectory(c, url, 'data', (d) => d.modify(dn, [{ operation: 'replace', attribute, values }]));
  await eventually(async () => JSON.stringify(await readAttr(c, c.nodes[0]!.url, dn, attribute)) === JSON.stringify(values.length ? values : null), 20_000);
}

/**
 * Issue 26 on real servers: a reviewed plan is what runs (or is refused naming what moved), and a
 * completed run is undone from its journal without losing a client's later write; a kill during
 * either is finished by `recover`.
 */
export function planUndoSuite(kind: SandboxKind, shared: () => TestCluster): void {
  describe(`reviewed plans and undo on ${kind}`, () => {
    const dir = mkdtempSync(join(tmpdir(), `ldap-upgrade-plan-${kind}-`));
    const url = (i: number) => shared().nodes[i]!.url;
    const versionEntry = () => `cn=schema-version,${shared().suffix}`;

    it('a client changes a planned entry: --plan refused (7) naming it, nothing written; put back, the run writes exactly the plan (its journal, record by record) and nothing else', async () => {
      const c = shared();
      const file = join(dir, 'plan-a.jsonl');
      const saved = await runCli(['upgrade', '--dry-run', '--summary', '--save-plan', file, ...BASIC], { config: c.configFile });
      expect(saved.code, saved.stderr).toBe(0);
      const digest = /plan saved: .* \((sha256:[0-9a-f]{64}), (\d+) writes\)/.exec(saved.stdout);
      expect(digest, saved.stdout).not.toBeNull();
      const writes = planWrites(file);
      expect(writes.length).toBe(Number(digest![2]));
      const person = writes.find((w) => w.kind === 'modify' && /^uid=/.test(w.dn))!;
      const original = await readAttr(c, url(0), person.dn, 'title');
      await clientSets(c, url(1), person.dn, 'title', ['changed-by-a-client']);
      const before = await dump(c, url(0));

      const refused = await runCli(['upgrade', '--plan', file, '--yes', ...BASIC], { config: c.configFile });
      expect(refused.code, refused.stderr).toBe(7);
      expect(refused.stderr).toContain(`${person.dn} (its title changed)`);
      expect(refused.stderr).toMatch(/nothing was written/);
      expect(await dump(c, url(0))).toBe(before);
      expect(await readAttr(c, url(0), `cn=lock,${versionEntry()}`, 'cn')).toBeNull();

      await withDirectory(c, url(0), 'data', (d) => d.modify(person.dn, [{ operation: 'replace', attribute: 'title', values: original ?? [] }]));
      const run = await runCli(['upgrade', '--plan', file, '--yes', '--json', ...BASIC], { config: c.configFile });
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.plan).toEqual({ file, digest: digest![1] });
      // What the run wrote is its journal: the plan's writes, each once, with the plan's values
      // (independent entries are written concurrently: their order within a script may differ).
      const journal = readFileSync(report.journal, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind && !r.server);
      expect(journal.map((r) => `${r.script} ${r.kind} ${r.dn}`).sort()).toEqual(writes.map((w) => `${report.steps[w.step].script} ${w.kind} ${w.dn}`).sort());
      for (const w of writes) {
        const sent = journal.find((r) => r.dn === w.dn && r.kind === w.kind);
        if (w.kind === 'modify') for (const ch of w.changes!.filter((x) => x.operation !== 'delete')) expect(sent.post[ch.attribute], w.dn).toEqual(expect.arrayContaining(ch.values));
      }
      const dumps = await settledDumps(c, { excludeTool: true });
      expect(dumps[0]).toContain('ou=fixture');
      const history = JSON.parse((await runCli(['history', '--json'], { config: c.configFile })).stdout);
      expect(history.history.every((h: { plan?: string }) => h.plan === digest![1])).toBe(true);
      expect(history.runs[0]).toMatchObject({ state: 'done', plan: digest![1], undoable: true });
    });

    it('undo of the completed run: a value a client changed since is left and listed, everything else back on every node, version back, history kept and marked; a second undo refused (7)', async () => {
      const c = shared();
      const pristine = (await settledDumps(c, { excludeTool: true }))[0]!;
      const done = await runCli(['upgrade', '--yes', '--json', ...BASIC], { config: c.configFile });
      expect(done.code, done.stderr).toBe(0);
      const { runId } = JSON.parse(done.stdout);
      const journal = readFileSync(join(c.dir, 'backups', `${runId}.journal.jsonl`), 'utf8');
      const person = /"kind":"modify","dn":"(uid=[^"]+)"/.exec(journal)![1]!;
      await clientSets(c, url(2), person, 'title', ['the client wins']);

      const unknown = await runCli(['undo', '20200101T000000Z-abcdef', '--yes'], { config: c.configFile });
      expect(unknown.code).toBe(7);
      expect(unknown.stderr).toContain('there is no run 20200101T000000Z-abcdef');

      const undo = await runCli(['undo', runId, '--yes', '--json', ...BASIC], { config: c.configFile });
      expect(undo.code, undo.stderr).toBe(0);
      const report = JSON.parse(undo.stdout);
      expect(report).toMatchObject({ kind: 'undo', outcome: 'done', undo: { runId, version: null } });
      expect(report.conflicts).toHaveLength(1);
      expect(report.conflicts[0]).toContain(person);
      const dumps = await settledDumps(c, { excludeTool: true });
      const strip = (d: string) => d.split('\n\n').filter((e) => !e.startsWith(`dn: ${person.toLowerCase()}`)).join('\n\n');
      expect(strip(dumps[0]!)).toBe(strip(pristine));
      for (const n of c.nodes) expect(await readAttr(c, n.url, person, 'title'), n.url).toEqual(['the client wins']);
      expect(await readAttr(c, url(0), versionEntry(), 'description')).toEqual([]);
      const history = JSON.parse((await runCli(['history', '--json'], { config: c.configFile })).stdout);
      expect(history.history.length).toBeGreaterThan(0);
      expect(history.history.every((h: { undoneBy?: string }) => h.undoneBy === report.runId)).toBe(true);
      expect(history.runs.find((r: { runId: string }) => r.runId === runId)).toMatchObject({ state: 'undone', undoneBy: report.runId });
      const again = await runCli(['undo', runId, '--yes'], { config: c.configFile });
      expect(again.code).toBe(7);
      expect(again.stderr).toContain(`run ${runId} was undone already`);
      // Undone is not applied: the same scripts run again.
      const rerun = await runCli(['upgrade', '--yes', ...BASIC], { config: c.configFile });
      expect(rerun.code, rerun.stderr).toBe(0);
      await expectWritableAndUnlocked(c);
    });

    it('kill -9 half-way through an undo: recover finishes the undo (every node as before the run, the lock free, writable)', async () => {
      const c = shared();
      const pristine = (await settledDumps(c, { excludeTool: true }))[0]!;
      const done = await runCli(['upgrade', '--yes', '--json', ...BASIC], { config: c.configFile });
      expect(done.code, done.stderr).toBe(0);
      const { runId } = JSON.parse(done.stdout);
      const marker = join(dir, 'undo-marker');
      const undo = startCli(['undo', runId, '--yes', ...BASIC], { LDAP_UPGRADE_CONFIG: c.configFile, LDAP_UPGRADE_FAILPOINT: `rollback:${marker}` });
      await eventually(async () => existsSync(marker), 60_000);
      undo.kill('SIGKILL');
      expect((await undo.result).signal).toBe('SIGKILL');
      const blocked = await runCli(['upgrade', '--yes', ...BASIC], { config: c.configFile });
      expect(blocked.code).toBe(8);
      const resume = await runCli(['upgrade', '--yes', '--resume', ...BASIC], { config: c.configFile });
      expect(resume.code).toBe(7);
      const recovered = await runCli(['recover', '--json'], { config: c.configFile });
      expect(recovered.code, recovered.stderr).toBe(0);
      expect(JSON.parse(recovered.stdout)).toMatchObject({ outcome: 'rolled-back', finishedRollback: true, finishedUndoOf: runId, lockReleased: true });
      expect((await settledDumps(c, { excludeTool: true }))[0]).toBe(pristine);
      const history = JSON.parse((await runCli(['history', '--json'], { config: c.configFile })).stdout);
      expect(history.runs.find((r: { runId: string }) => r.runId === runId)).toMatchObject({ state: 'undone' });
      await expectWritableAndUnlocked(c);
    });

    it('kill -9 during a plan run: --resume refused (7: it would run the scripts, not the plan); recover --rollback puts every node back', async () => {
      const c = shared();
      const pristine = (await settledDumps(c, { excludeTool: true }))[0]!;
      const file = join(dir, 'plan-d.jsonl');
      expect((await runCli(['upgrade', '--dry-run', '--summary', '--save-plan', file, ...BASIC], { config: c.configFile })).code).toBe(0);
      const marker = join(dir, 'plan-marker');
      const run = startCli(['upgrade', '--plan', file, '--yes', ...BASIC], { LDAP_UPGRADE_CONFIG: c.configFile, LDAP_UPGRADE_FAILPOINT: `converge:${marker}` });
      await eventually(async () => existsSync(marker), 60_000);
      run.kill('SIGKILL');
      expect((await run.result).signal).toBe('SIGKILL');
      const resume = await runCli(['upgrade', '--yes', '--resume', ...BASIC], { config: c.configFile });
      expect(resume.code).toBe(7);
      expect(resume.stderr).toMatch(/ran the reviewed plan sha256:[0-9a-f]{64}, which a resumed run would not follow/);
      const recovered = await runCli(['recover', '--rollback'], { config: c.configFile });
      expect(recovered.code, recovered.stderr).toBe(0);
      expect((await settledDumps(c, { excludeTool: true }))[0]).toBe(pristine);
      await expectWritableAndUnlocked(c);
    });

    it('a plan file from another topology, edited or truncated: one line saying which (7, 7, 2), before anything is connected to', async () => {
      const c = shared();
      const file = join(dir, 'plan-e.jsonl');
      expect((await runCli(['upgrade', '--dry-run', '--summary', '--save-plan', file, ...BASIC], { config: c.configFile })).code).toBe(0);
      const text = readFileSync(file, 'utf8');
      const other = join(dir, 'other-topology.jsonl');
      // Another topology's plan: its own digest is intact (it was saved there), its identity is not this one.
      const { createHash } = await import('node:crypto');
      const lines = text.split('\n').filter(Boolean);
      lines[0] = lines[0]!.replace(url(0), 'ldap://127.0.0.1:1');
      const body = lines.slice(0, -1).map((l) => l + '\n').join('');
      writeFileSync(other, body + JSON.stringify({ t: 'end', writes: JSON.parse(lines.at(-1)!).writes, digest: `sha256:${createHash('sha256').update(body).digest('hex')}` }) + '\n', { mode: 0o600 });
      const edited = join(dir, 'edited.jsonl');
      writeFileSync(edited, text.replace('"migrated"', '"hijacked"'), { mode: 0o600 });
      const truncated = join(dir, 'truncated.jsonl');
      writeFileSync(truncated, text.slice(0, Math.floor(text.length / 2)), { mode: 0o600 });
      for (const [f, code, message] of [[other, 7, /made for the master ldap:\/\/127\.0\.0\.1:1/], [edited, 7, /edited after it was saved/], [truncated, 2, /truncated|not a plan record/]] as const) {
        const r = await runCli(['upgrade', '--plan', f, '--yes', ...BASIC], { config: c.configFile });
        expect(r.code, `${f}: ${r.stderr}`).toBe(code);
        expect(r.stderr).toMatch(message);
      }
      expect(await readAttr(c, url(0), versionEntry(), 'cn')).toBeNull();
    });
  });
}
