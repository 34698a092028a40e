import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readState, restartNode, type SandboxCluster, type SandboxKind } from '../../src/sandbox/index.js';
import { runCli, startCli } from '../helpers/cli.js';
import { scripts } from '../helpers/cluster.js';
import { isFrozen, setFrozen } from '../helpers/kinds.js';
import { clientWrite, eventually, readAttr, settledDumps } from '../helpers/ldap.js';

/**
 * Faults of the issue "Every failure ends in a state that recover can always finish", with the
 * same assertions for every server kind: scripts that try to take the tool down or outlive their
 * limit, scripts that write the tool's own records, and recover on a replica given back already.
 * Each ends with every node writable, the lock free and the content as before the run.
 */
export function faultSuite(kind: SandboxKind, shared: () => SandboxCluster): void {
describe(`faults on ${kind}: scripts cannot take the tool down; recover always completes`, () => {
  const lock = (c: SandboxCluster) => readAttr(c, c.nodes[0]!.url, `cn=lock,cn=schema-version,${c.suffix}`, 'cn');

  async function expectRolledBackAndFree(c: SandboxCluster, before: string): Promise<void> {
    const after = await settledDumps(c, { excludeTool: true });
    for (const [i, d] of after.entries()) expect(d, c.nodes[i]!.url).toBe(before);
    for (const n of c.nodes) {
      expect(await isFrozen(c, n.url), n.url).toBe(false);
      expect(await clientWrite(c, n.url, `uid=user0299,ou=people,${c.suffix}`), n.url).toBe(0);
    }
    expect(await lock(c)).toBeNull();
  }

  const escapes: [string, string[], RegExp][] = [
    ['calls process.exit(0)', [], /it called process\.exit\(0\)/],
    ['throws from a timer', [], /it threw outside its promise chain .*thrown from a timer/],
    ['leaves a rejection unhandled', [], /a promise it made was rejected and never handled: nobody handles this rejection/],
    ['never resolves (--script-timeout 2)', ['--script-timeout', '2'], /it ran past its time limit of 2 s/],
  ];
  const fixture: Record<string, string> = {
    'calls process.exit(0)': 'escape-exit', 'throws from a timer': 'escape-timer',
    'leaves a rejection unhandled': 'escape-rejection', 'never resolves (--script-timeout 2)': 'escape-hang',
  };
  for (const [name, flags, message] of escapes) {
    it(`a script that ${name}: exit 5, rolled back on every node, replicas unfrozen, lock free`, async () => {
      const c = shared();
      const before = (await settledDumps(c, { excludeTool: true }))[0]!;
      const t0 = Date.now();
      const r = await runCli(['upgrade', '--yes', '--json', ...flags, ...scripts(fixture[name]!)], { config: c.configFile });
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toMatch(message);
      expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'script-failed', rolledBack: true });
      expect(Date.now() - t0).toBeLessThan(45_000);
      await expectRolledBackAndFree(c, before);
    });
  }

  it("a script that writes the tool's own records (the lock): refused, exit 5, rolled back", async () => {
    const c = shared();
    const before = (await settledDumps(c, { excludeTool: true }))[0]!;
    const r = await runCli(['upgrade', '--yes', ...scripts('escape-protected')], { config: c.configFile });
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(/scripts may not write the tool's own records \(cn=lock,cn=schema-version/);
    await expectRolledBackAndFree(c, before);
  });

  it('the journal\'s disk fills up mid-script: exit 5 naming the journal and the cause, rolled back everywhere', async (t) => {
    const c = shared();
    const before = (await settledDumps(c, { excludeTool: true }))[0]!;
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-fault-'));
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    // A small file system of its own (root only): skipped, saying so, where it cannot be made.
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=70m,mode=700', 'tmpfs', disk]);
    if (mounted.status !== 0) return t.skip(`cannot mount a tmpfs here: ${mounted.stderr}`);
    try {
      const marker = join(dir, 'marker');
      const release = join(dir, 'release');
      const run = startCli(['upgrade', '--yes', '--backup-dir', disk, ...scripts('slow-many')], { LDAP_UPGRADE_CONFIG: c.configFile, LDAP_UPGRADE_TEST_MARKER: marker, LDAP_UPGRADE_TEST_RELEASE: release });
      await eventually(async () => existsSync(marker), 30_000);
      spawnSync('dd', ['if=/dev/zero', `of=${join(disk, 'fill')}`, 'bs=1M']); // until the disk is full
      writeFileSync(release, '');
      const r = await run.result;
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toMatch(/cannot write the run's journal .*\.journal\.jsonl: no space left on device \(ENOSPC\)/);
      await expectRolledBackAndFree(c, before);
    } finally {
      spawnSync('umount', [disk]);
    }
  });

  it('recover after a kill, with a replica already given back by hand: completes (exit 0), every node writable', async () => {
    const c = shared();
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-fault-'));
    const marker = join(dir, 'marker');
    writeFileSync(join(dir, 'release'), '');
    const run = startCli(['upgrade', '--yes', ...scripts('slow')], {
      LDAP_UPGRADE_CONFIG: c.configFile, LDAP_UPGRADE_FAILPOINT: `converge:${marker}`, LDAP_UPGRADE_TEST_RELEASE: join(dir, 'release'),
    });
    await eventually(async () => existsSync(marker), 30_000);
    run.kill('SIGKILL');
    await run.result;
    const replica = c.nodes[1]!.url;
    expect(await isFrozen(c, replica)).toBe(true);
    await setFrozen(c, replica, false);
    const r = await runCli(['recover', '--force'], { config: c.configFile });
    expect(r.code, r.stderr).toBe(0);
    for (const n of c.nodes) expect(await isFrozen(c, n.url), n.url).toBe(false);
    expect(await lock(c)).toBeNull();
    const again = await runCli(['recover'], { config: c.configFile });
    expect(again.code, again.stderr).toBe(0);
    const status = JSON.parse((await runCli(['status', '--json', ...scripts('slow')], { config: c.configFile })).stdout);
    expect(status.interruptedRun).toBeNull();
  });
});
}

/** Starts `upgrade` of the slow fixture and waits until its script is half-way (`release` lets it go on). */
async function slowRunHalfWay(c: SandboxCluster) {
  const before = (await settledDumps(c, { excludeTool: true }))[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-fault-'));
  const marker = join(dir, 'marker');
  const release = join(dir, 'release');
  const run = startCli(['upgrade', '--yes', '--json', ...scripts('slow')], { LDAP_UPGRADE_CONFIG: c.configFile, LDAP_UPGRADE_TEST_MARKER: marker, LDAP_UPGRADE_TEST_RELEASE: release });
  let ended = false;
  void run.result.then(() => { ended = true; });
  await eventually(async () => existsSync(marker) || ended, 30_000);
  if (!existsSync(marker)) {
    const r = await run.result;
    throw new Error(`the run ended (exit ${r.code}) before its script was half-way: ${r.stderr.trim().split('\n').pop()}`);
  }
  return { before, run, release };
}

/** `recover --rollback` exits 0, every node holds `before` again, every node writable. */
async function expectRecoverRollbackRestores(c: SandboxCluster, before: string): Promise<void> {
  const rec = await runCli(['recover', '--rollback', '--json'], { config: c.configFile });
  expect(rec.code, rec.stderr).toBe(0);
  expect(JSON.parse(rec.stdout)).toMatchObject({ outcome: 'rolled-back', lockReleased: true });
  const after = await settledDumps(c, { excludeTool: true }, 60_000);
  for (const [i, d] of after.entries()) expect(d, c.nodes[i]!.url).toBe(before);
  for (const n of c.nodes) {
    expect(await isFrozen(c, n.url), n.url).toBe(false);
    expect(await clientWrite(c, n.url, `uid=user0299,ou=people,${c.suffix}`), n.url).toBe(0);
  }
}

/**
 * The master lost mid-script (kill -9), and started again only after the run gave up: the run
 * must not unfreeze the replicas on half-applied data, must keep the lock, and must say what to
 * run; `recover --rollback` then brings every node back to its content before the run.
 */
export function masterLossSuite(kind: SandboxKind, shared: () => SandboxCluster): void {
describe(`servers lost or hung mid-run (${kind})`, () => {
  it('kill -9 of the master mid-script: exit 3, replicas stay frozen, lock held; recover --rollback once it is back restores every node', async () => {
    const c = shared();
    const { before, run, release } = await slowRunHalfWay(c);
    const master = c.nodes[0]!;
    process.kill(master.pid, 'SIGKILL');
    await eventually(async () => { try { process.kill(master.pid, 0); return false; } catch { return true; } }, 10_000);
    writeFileSync(release, '');
    const r = await run.result;
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/the master .* was lost .*stay frozen and the lock stays held.*recover --rollback/);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'master-lost' });
    for (const n of c.nodes.slice(1)) expect(await isFrozen(c, n.url), n.url).toBe(true);

    const state = readState(c.dir)!;
    await restartNode(state, master.id);
    master.pid = state.nodes.find((n) => n.id === master.id)!.pid;
    await expectRecoverRollbackRestores(c, before);
  }, 120_000);

  it('the master hung (SIGSTOP) mid-script past every deadline: the run ends in bounded time (exit 3), replicas stay frozen, lock held; recover --rollback once it resumes restores every node', async () => {
    const c = shared();
    const { before, run, release } = await slowRunHalfWay(c);
    const master = c.nodes[0]!;
    process.kill(master.pid, 'SIGSTOP');
    let r;
    const t0 = Date.now();
    try {
      writeFileSync(release, '');
      r = await run.result;
    } finally {
      process.kill(master.pid, 'SIGCONT');
    }
    // One operation's deadline (30 s), then the re-bind window (10 s): bounded, not "until it resumes".
    expect(Date.now() - t0, r.stderr).toBeLessThan(55_000);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/the master .* was lost .*stay frozen and the lock stays held.*recover --rollback/);
    for (const n of c.nodes.slice(1)) expect(await isFrozen(c, n.url), n.url).toBe(true);
    await expectRecoverRollbackRestores(c, before);
  }, 150_000);

  it('a replica hung (SIGSTOP) during the convergence wait: the wait ends at its timeout naming it, the others given back, exit 8 (it stays frozen); recover once it resumes', async () => {
    const c = shared();
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-fault-'));
    const marker = join(dir, 'marker');
    const release = join(dir, 'release');
    const run = startCli(['upgrade', '--yes', '--timeout', '3', ...scripts('slow')], { LDAP_UPGRADE_CONFIG: c.configFile, LDAP_UPGRADE_TEST_MARKER: marker, LDAP_UPGRADE_TEST_RELEASE: release });
    await eventually(async () => existsSync(marker), 30_000);
    const victim = c.nodes[2]!;
    process.kill(victim.pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      writeFileSync(release, '');
      const r = await run.result;
      const ms = Date.now() - t0;
      // Not converged, and the hung replica could not be given back: never "replicas unfrozen".
      expect(r.code, r.stderr).toBe(8);
      // The victim named; under load the other replica, slow but not hung, may be named first.
      expect(r.stderr).toContain('replicas did not converge within 3 s: ');
      expect(r.stderr).toMatch(new RegExp(`replicas did not converge within 3 s: [^\\n]*${victim.url.replace(/[.]/g, '\\.')} \\(`));
      expect(r.stderr).toContain(`but ${victim.url} could not be given back and stays frozen: run \`ldap-upgrade recover\``);
      // The wait (3 s, its last poll 1 s more) and the failed unfreeze (10 s per cn=config operation).
      expect(ms).toBeLessThan(25_000);
      expect(await isFrozen(c, c.nodes[1]!.url)).toBe(false);
    } finally {
      process.kill(victim.pid, 'SIGCONT');
    }
    const rec = await runCli(['recover'], { config: c.configFile });
    expect(rec.code, rec.stderr).toBe(0);
    for (const n of c.nodes) {
      expect(await isFrozen(c, n.url), n.url).toBe(false);
      expect(await clientWrite(c, n.url, `uid=user0299,ou=people,${c.suffix}`), n.url).toBe(0);
    }
  }, 120_000);
});
}
