import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect } from 'vitest';
import type { SandboxCluster, SandboxKind } from '../../src/sandbox/index.js';
import { runCli, startCli } from '../helpers/cli.js';
import { resetCluster, scripts } from '../helpers/cluster.js';
import { chosen, type SuiteOptions } from '../helpers/chosen.js';
import { eventually, readAttr, settledDumps, withDirectory } from '../helpers/ldap.js';
import { expectWritableAndUnlocked } from '../helpers/expect.js';

/**
 * kill -9 at several points of a run (docs/run.md: nothing lost). The points: `freeze` (a failpoint
 * after one replica is frozen), `script` (the slow fixture script, half-way through its writes),
 * `converge` (a failpoint before the convergence wait).
 */
type Point = 'freeze' | 'script' | 'converge';

const SLOW = scripts('slow');

function files() {
  const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-crash-'));
  return { marker: join(dir, 'marker'), release: join(dir, 'release') };
}

/** Starts `upgrade` on the (freshly reset) cluster and kills it with SIGKILL at `point`. */
async function killedAt(c: SandboxCluster, point: Point): Promise<SandboxCluster> {
  const f = files();
  const env: NodeJS.ProcessEnv = { LDAP_UPGRADE_CONFIG: c.configFile };
  if (point === 'script') Object.assign(env, { LDAP_UPGRADE_TEST_MARKER: f.marker, LDAP_UPGRADE_TEST_RELEASE: f.release });
  else {
    Object.assign(env, { LDAP_UPGRADE_FAILPOINT: `${point}:${f.marker}` });
    writeFileSync(f.release, ''); // the slow script does not wait
  }
  const run = startCli(['upgrade', '--yes', ...SLOW], env);
  await eventually(async () => existsSync(f.marker), 30_000);
  run.kill('SIGKILL');
  const r = await run.result;
  expect(r.signal).toBe('SIGKILL');
  return c;
}


/** kill -9 scenarios, with the same assertions for every server kind. */
export function crashSuite(kind: SandboxKind, shared: () => SandboxCluster, options: SuiteOptions = {}): void {
describe(`kill -9 in the middle of a run (${options.label ?? kind})`, () => {
  const it = chosen(options.only);
  let reference: string;
  let pristine: string;

  beforeAll(async () => {
    // What an uninterrupted run of the same scripts leaves (tool records aside).
    const c = shared();
    await resetCluster(c);
    pristine = (await settledDumps(c))[0]!;
    const f = files();
    writeFileSync(f.release, '');
    const r = await runCli(['upgrade', '--yes', ...SLOW], { config: c.configFile, env: { LDAP_UPGRADE_TEST_RELEASE: f.release } });
    expect(r.code, r.stderr).toBe(0);
    reference = (await settledDumps(c, { excludeTool: true }))[0]!;
    expect(reference).not.toBe(pristine);
  }, 120_000);

  it.each<Point>(['freeze', 'script', 'converge'])('at %s: upgrade refuses (8); recover unfreezes and unlocks; then upgrade completes', async (point) => {
    const c = await killedAt(shared(), point);
    const refused = await runCli(['upgrade', '--yes', ...SLOW], { config: c.configFile });
    expect(refused.code).toBe(8);
    expect(refused.stderr).toContain('was interrupted');
    expect(refused.stderr).toContain('ldap-upgrade recover');
    const check = await runCli(['status', '--json', '--check', ...SLOW], { config: c.configFile });
    expect(check.code).toBe(8);
    const status = JSON.parse(check.stdout);
    expect(status.lock.holderDead).toBe(true);
    if (point === 'script') {
      // The dry run names the interrupted run (its plan starts from what that run left).
      const dry = await runCli(['upgrade', '--dry-run', '--summary', ...SLOW], { config: c.configFile });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(new RegExp(`warning: run ${status.interruptedRun.runId} \\(.*\\) was interrupted while applying: \`upgrade\` refuses \\(exit 8\\)`));
    }
    const rec = await runCli(['recover', ...SLOW], { config: c.configFile });
    expect(rec.code, rec.stderr).toBe(0);
    await expectWritableAndUnlocked(c, `uid=user0299,ou=people,${c.suffix}`);
    // The recover's log is named after the run it recovered, next to that run's own log.
    const runId = status.interruptedRun.runId as string;
    const logs = join(c.dir, 'logs');
    expect(existsSync(join(logs, `${runId}.log`))).toBe(true);
    expect(readFileSync(join(logs, `${runId}.recover.log`), 'utf8')).toMatch(new RegExp(`recovering run ${runId}[\\s\\S]* exit 0\\n$`));
    const f = files();
    writeFileSync(f.release, '');
    const up = await runCli(['upgrade', '--yes', ...SLOW], { config: c.configFile, env: { LDAP_UPGRADE_TEST_RELEASE: f.release } });
    expect(up.code, up.stderr).toBe(0);
    for (const d of await settledDumps(c, { excludeTool: true })) expect(d).toBe(reference);
  });

  it.each<Point>(['freeze', 'script', 'converge'])('at %s: upgrade --resume ends with the same content as an uninterrupted run', async (point) => {
    const c = await killedAt(shared(), point);
    const f = files();
    writeFileSync(f.release, '');
    const r = await runCli(['upgrade', '--resume', '--yes', '--json', ...SLOW], { config: c.configFile, env: { LDAP_UPGRADE_TEST_RELEASE: f.release } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'done', toVersion: '1.2.0' });
    for (const d of await settledDumps(c, { excludeTool: true })) expect(d).toBe(reference);
    await expectWritableAndUnlocked(c, `uid=user0299,ou=people,${c.suffix}`);
    for (const n of c.nodes) expect(await readAttr(c, n.url, `cn=schema-version,${c.suffix}`, 'description')).toEqual(['1.2.0']);
  });

  it('recover --rollback after a kill mid-script restores the content before the run', async () => {
    const c = await killedAt(shared(), 'script');
    const r = await runCli(['recover', '--rollback', '--json', ...SLOW], { config: c.configFile });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ kind: 'recover', outcome: 'rolled-back', lockReleased: true });
    expect(report.changesUndone).toBeGreaterThan(10);
    for (const d of await settledDumps(c, { excludeTool: true })) expect(d).toBe(pristine);
    await expectWritableAndUnlocked(c, `uid=user0299,ou=people,${c.suffix}`);
  });

  it('recover --rollback leaves alone what was changed after the run wrote it, and lists it; the rest is undone', async () => {
    const c = await killedAt(shared(), 'script');
    // A client of the master changes the title the run wrote on one person, and another
    // attribute (not touched by the run) on a second one.
    const written: string[] = [];
    await withDirectory(c, c.nodes[0]!.url, 'data', async (d) => {
      for await (const e of d.search({ base: `ou=people,${c.suffix}`, filter: '(title=slow-first)', attributes: ['1.1'] })) written.push(e.dn);
      expect(written.length).toBe(10);
      await d.modify(written[0]!, [{ operation: 'replace', attribute: 'title', values: ['set by a client'] }]);
      await d.modify(written[1]!, [{ operation: 'replace', attribute: 'roomNumber', values: ['client room'] }]);
    });
    const r = await runCli(['recover', '--rollback', '--json', ...SLOW], { config: c.configFile });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ kind: 'recover', outcome: 'rolled-back', lockReleased: true });
    expect(report.conflicts).toEqual([`${written[0]}: title changed after the run wrote it`]);
    await eventually(async () => {
      const titles = await Promise.all(c.nodes.map((n) => readAttr(c, n.url, written[0]!, 'title')));
      return titles.every((t) => t?.[0] === 'set by a client');
    }, 20_000);
    for (const n of c.nodes) {
      expect(await readAttr(c, n.url, written[1]!, 'title'), n.url).not.toContain('slow-first');
      expect(await readAttr(c, n.url, written[1]!, 'roomNumber'), n.url).toEqual(['client room']);
      for (const dn of written.slice(2)) expect(await readAttr(c, n.url, dn, 'title'), `${n.url} ${dn}`).not.toContain('slow-first');
    }
    await expectWritableAndUnlocked(c, `uid=user0299,ou=people,${c.suffix}`);
  });

  it('a run killed half-way through its rollback: plain recover finishes the rollback (never unfreezes on half-undone data)', async () => {
    const c = shared();
    const before = (await settledDumps(c, { excludeTool: true }))[0]!;
    const f = files();
    const run = startCli(['upgrade', '--yes', ...scripts('failing')], { LDAP_UPGRADE_CONFIG: c.configFile, LDAP_UPGRADE_FAILPOINT: `rollback:${f.marker}` });
    await eventually(async () => existsSync(f.marker), 60_000);
    run.kill('SIGKILL');
    expect((await run.result).signal).toBe('SIGKILL');
    const r = await runCli(['recover', '--json', ...scripts('failing')], { config: c.configFile });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'rolled-back', finishedRollback: true, lockReleased: true });
    for (const [i, d] of (await settledDumps(c, { excludeTool: true })).entries()) expect(d, c.nodes[i]!.url).toBe(before);
    await expectWritableAndUnlocked(c, `uid=user0299,ou=people,${c.suffix}`);
    expect((await runCli(['recover', ...scripts('failing')], { config: c.configFile })).stdout).toContain('nothing to recover');
  });

  it('a run killed while giving the replicas back: recover gives back the rest (exit 0); the data is the clean run\'s', async () => {
    const c = shared();
    const f = files();
    writeFileSync(f.release, '');
    const run = startCli(['upgrade', '--yes', ...SLOW], { LDAP_UPGRADE_CONFIG: c.configFile, LDAP_UPGRADE_FAILPOINT: `unfreeze:${f.marker}`, LDAP_UPGRADE_TEST_RELEASE: f.release });
    await eventually(async () => existsSync(f.marker), 60_000);
    run.kill('SIGKILL');
    expect((await run.result).signal).toBe('SIGKILL');
    const r = await runCli(['recover', '--json', ...SLOW], { config: c.configFile });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'recovered', lockReleased: true });
    for (const d of await settledDumps(c, { excludeTool: true })) expect(d).toBe(reference);
    await expectWritableAndUnlocked(c, `uid=user0299,ou=people,${c.suffix}`);
    for (const n of c.nodes) expect(await readAttr(c, n.url, `cn=schema-version,${c.suffix}`, 'description')).toEqual(['1.2.0']);
  });

  it('recover refuses a run that may be alive, unless --force', async () => {
    const c = shared();
    const f = files();
    const run = startCli(['upgrade', '--yes', ...SLOW], { LDAP_UPGRADE_CONFIG: c.configFile, LDAP_UPGRADE_TEST_MARKER: f.marker, LDAP_UPGRADE_TEST_RELEASE: f.release });
    try {
      await eventually(async () => existsSync(f.marker), 30_000);
      const r = await runCli(['recover', ...SLOW], { config: c.configFile });
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/may still be alive \(its process \d+ is running on this host\)/);
      const resumed = await runCli(['upgrade', '--resume', '--yes', ...SLOW], { config: c.configFile });
      expect(resumed.code).toBe(4);
    } finally {
      run.kill('SIGKILL');
      await run.result;
    }
    const forced = await runCli(['recover', '--force', ...SLOW], { config: c.configFile });
    expect(forced.code, forced.stderr).toBe(0);
    await expectWritableAndUnlocked(c, `uid=user0299,ou=people,${c.suffix}`);
  });
});
}
