import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SandboxCluster, SandboxKind } from '../../src/sandbox/index.js';
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
    expect(status.interruptedRun).toBeUndefined();
  });
});
}
