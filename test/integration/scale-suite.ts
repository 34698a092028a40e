import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SandboxCluster, SandboxKind } from '../../src/sandbox/index.js';
import { BIN, runCli, startCli } from '../helpers/cli.js';
import { scripts } from '../helpers/cluster.js';
import { bulkLoad, countMatching, eventually, settledDumps } from '../helpers/ldap.js';

const BULK = scripts('bulk');
const ENTRIES = 5_000;

/**
 * Streaming and pipelining on real servers with enough entries to matter (issue #6): a script
 * that rewrites 5,000 entries with its writes pipelined, a failure and a kill -9 in the middle of
 * it (rolled back on every node), the dry run and the backup streamed, verify on the result.
 * The scenarios run in this order on one cluster: only the last one leaves the upgrade applied.
 */
export function scaleSuite(kind: SandboxKind, cluster: () => SandboxCluster): void {
describe(`${ENTRIES} entries, pipelined (${kind})`, () => {
  let pristine: string;
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli([...args, ...BULK], { config: cluster().configFile, env });

  beforeAll(async () => {
    await bulkLoad(cluster(), 'bulk', ENTRIES);
    pristine = (await settledDumps(cluster(), { excludeTool: true }, 60_000))[0]!;
  }, 180_000);

  it('a write refused half-way: exit 5 naming that entry; every node back to its content before the run', async () => {
    // Progress every 20 ms (a line every 100 ms when piped) instead of every second (5 s).
    const r = await run(['upgrade', '--yes'], { LDAP_UPGRADE_TEST_FAIL_AT: '2500', LDAP_UPGRADE_TEST_PROGRESS_MS: '20' });
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(/01-rewrite-descriptions\.ts failed at uid=bulk\d{5},ou=bulk/);
    expect(r.stderr).toMatch(/undefined attribute type|object class violation|\(1[78]\)|\(65\)/i);
    // Piped: timestamped progress lines for the script and for the rollback; the script's line
    // counts what the rollback then undoes.
    expect(r.stderr).toMatch(/^\S+Z 1\.0\.0\/01-rewrite-descriptions\.ts: \d+ entries changed so far, \d+\/s, \d+\.\d s$/m);
    expect(r.stderr).toMatch(/^\S+Z rollback: \d+ of \d+ journaled writes looked at, \d+ undone, \d+\/s, \d+\.\d s(, about \d+ s left)?$/m);
    const sent = Number(/01-rewrite-descriptions\.ts: Error, (\d+) entries changed/.exec(r.stderr)?.[1]);
    const undone = Number(/rollback: (\d+) change\(s\) undone/.exec(r.stderr)?.[1]);
    expect(sent).toBeGreaterThan(1000);
    expect(undone).toBeGreaterThan(1000);
    expect(undone).toBeLessThanOrEqual(sent);
    // info and history show the failed run.
    const info = JSON.parse((await run(['info', '--json'])).stdout);
    expect(info.scripts).toEqual([expect.objectContaining({ script: '1.0.0/01-rewrite-descriptions.ts', state: 'failed', runId: expect.any(String) })]);
    const history = await run(['history']);
    expect(history.stdout).toMatch(new RegExp(`runs that did not complete, newest first:\\n.* run ${info.scripts[0].runId}: ROLLED-BACK, 0\\.0\\.0 → 1\\.0\\.0, 0 of 1 script\\(s\\) done`));
    for (const d of await settledDumps(cluster(), { excludeTool: true }, 60_000)) expect(d).toBe(pristine);
  });

  it('kill -9 with writes in flight, then recover --rollback: every node back to its content before the run', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'ldap-upgrade-scale-')), 'marker');
    const child = startCli(['upgrade', '--yes', ...BULK], { LDAP_UPGRADE_CONFIG: cluster().configFile, LDAP_UPGRADE_TEST_MARKER_AT: `3000:${marker}` });
    await eventually(async () => existsSync(marker), 60_000);
    child.kill('SIGKILL');
    expect((await child.result).signal).toBe('SIGKILL');
    // Some of the first 3,000 writes reached the master before the kill.
    expect(await countMatching(cluster(), cluster().nodes[0]!.url, 'ou=bulk', '(description=bulk 1.0.0)')).toBeGreaterThan(0);
    const r = await run(['recover', '--rollback', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'rolled-back', lockReleased: true });
    for (const d of await settledDumps(cluster(), { excludeTool: true }, 60_000)) expect(d).toBe(pristine);
  });

  it('dry run: plans every change, streamed as LDIF, and writes nothing', async () => {
    const r = await run(['upgrade', '--dry-run', '--ldif'], { LDAP_UPGRADE_TEST_PROGRESS_MS: '20' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\nchangetype: modify\n').length - 1).toBe(ENTRIES);
    // Its progress never says "changed".
    expect(r.stderr).toMatch(/01-rewrite-descriptions\.ts: \d+ entries would change so far/);
    expect(r.stderr).not.toMatch(/\bchanged\b/);
    expect(r.stdout).toContain('replace: description\ndescription: bulk 1.0.0\n-');
    for (const d of await settledDumps(cluster(), { excludeTool: true })) expect(d).toBe(pristine);
  });

  it('applies every write on every node; verify finds the replicas identical; backup streams the suffix', async () => {
    const r = await run(['upgrade', '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.steps).toMatchObject([{ status: 'Success', entriesChanged: ENTRIES }]);
    for (const n of cluster().nodes) {
      await eventually(async () => (await countMatching(cluster(), n.url, 'ou=bulk', '(description=bulk 1.0.0)')) === ENTRIES, 60_000);
    }
    const verify = await run(['verify', '--json']);
    expect(verify.code, verify.stdout).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ identical: true });

    const file = join(mkdtempSync(join(tmpdir(), 'ldap-upgrade-backup-')), 'suffix.ldif');
    const b = await run(['backup', '--out', file, '--json']);
    expect(b.code, b.stderr).toBe(0);
    const backup = JSON.parse(b.stdout);
    expect(backup.entries).toBeGreaterThan(ENTRIES);
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(existsSync(`${file}.part`)).toBe(false);
    const text = readFileSync(file, 'utf8');
    expect(text.split(/^dn: /m).length - 1).toBe(backup.entries);
    expect(text).toMatch(kind === 'openldap' ? /^entryUUID: /m : /^nsUniqueId: /m);
    expect(text).toContain(`dn: uid=bulk04999,ou=bulk,${cluster().suffix}\n`);
  });

  it('on a terminal: a live progress line while the script runs, rewritten in place, then the report', () => {
    // Applied already: run again from 0.0.0 (every write a no-op), confirming at the prompt.
    const r = spawnSync('python3', [join(import.meta.dirname, '..', 'helpers', 'pty-run.py'), 'Continue?', 'y\\r', '120', '--',
      process.execPath, BIN, 'upgrade', '--from', '0.0.0', '--force', '--config', cluster().configFile, ...BULK],
    { encoding: 'utf8', env: { ...process.env, LDAP_UPGRADE_TEST_PROGRESS_MS: '20' } });
    expect(r.stdout).toMatch(/exit=0\s*$/);
    expect(r.stdout).toMatch(/\r\x1b\[K1\.0\.0\/01-rewrite-descriptions\.ts: \d+ entries changed so far, \d+\/s, \d+\.\d s/);
    expect(r.stdout).toContain('upgraded from 0.0.0 to 1.0.0');
  });

  it('backup into a folder it cannot write: a clear error, no partial file left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-backup-'));
    writeFileSync(join(dir, 'not-a-folder'), '');
    const r = await run(['backup', '--out', join(dir, 'not-a-folder', 'x.ldif')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/not-a-folder/);
    expect(existsSync(join(dir, 'not-a-folder', 'x.ldif.part'))).toBe(false);
  });
});
}
