import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { SandboxCluster } from '../../src/sandbox/index.js';
import { runCli, startCli } from './cli.js';
import { FIXTURES } from './cluster.js';
import { configVariant } from './topologies.js';
import { isFrozen } from './kinds.js';
import { clientWrite, dump, eventually, readAttr } from './ldap.js';

/** Every node takes a client write (on `dn`, or the default entry), and the run's lock is free. */
export async function expectWritableAndUnlocked(c: SandboxCluster, dn?: string): Promise<void> {
  for (const n of c.nodes) {
    expect(await isFrozen(c, n.url), n.url).toBe(false);
    expect(await clientWrite(c, n.url, dn), n.url).toBe(0);
  }
  expect(await readAttr(c, c.nodes[0]!.url, `cn=lock,cn=schema-version,${c.suffix}`, 'cn')).toBeNull();
}

/**
 * Runs `upgrade` of the slow fixture with `config`, calls `stop` (which cuts the replication to
 * `stuckUrl`) while its script is half-way, and expects exit 6 reporting that replica as stuck
 * (never "behind by 0.0 s").
 */
export async function expectReportedStuck(config: string, timeoutS: number, stuckUrl: string, stop: () => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-hs-'));
  const marker = join(dir, 'marker');
  const release = join(dir, 'release');
  const run = startCli(['upgrade', '--yes', '--timeout', String(timeoutS)], { LDAP_UPGRADE_CONFIG: config, LDAP_UPGRADE_TEST_MARKER: marker, LDAP_UPGRADE_TEST_RELEASE: release });
  await eventually(async () => existsSync(marker), 30_000);
  await stop();
  writeFileSync(release, '');
  const r = await run.result;
  expect(r.code, r.stderr).toBe(6);
  expect(r.stderr).toMatch(new RegExp(`${stuckUrl.replace(/[.]/g, '\\.')} \\(replication stuck: nothing has arrived for \\d+\\.\\d s`));
  expect(r.stderr).not.toContain('behind by 0.0 s');
}

/**
 * A run with `clone` (a copy of node 1 that replicates from nothing) among its replicas is refused
 * by the canary: exit 7 naming it within a bounded time, nothing but the run record written
 * (the master's content outside the version entry unchanged), lock released, version unset,
 * `writable` given back; and the next run is refused the same way, not blocked (exit 8).
 */
export async function expectCloneRefused(c: SandboxCluster, startClone: (c: SandboxCluster) => Promise<{ url: string; stop: () => Promise<void> }>, writable: string[]): Promise<void> {
  const started = await startClone(c);
  try {
    const versionEntry = `cn=v-clone,${c.suffix}`;
    const replicas = [...c.nodes.slice(1).map((n) => n.url), started.url];
    await checkCloneRefused(c, configVariant(c, 'clone', { versionEntry, scripts: join(FIXTURES, 'basic'), replicas }), versionEntry, started.url, writable);
  } finally {
    await started.stop();
  }
}

async function checkCloneRefused(c: SandboxCluster, config: string, versionEntry: string, clone: string, writable: string[]): Promise<void> {
  // Its replication state equals node 1's: the state alone says converged; the canary does not.
  const st = JSON.parse((await runCli(['status', '--json'], { config })).stdout);
  expect(st.replicas.find((x: { url: string }) => x.url === clone).converged).toBe(true);
  const master = c.nodes[0]!.url;
  const outsideRun = async () => (await dump(c, master)).split('\n\n').filter((b) => !b.split('\n')[0]!.endsWith(versionEntry.toLowerCase())).join('\n\n');
  const before = await outsideRun();
  const t0 = Date.now();
  const r = await runCli(['upgrade', '--yes', '--timeout', '4'], { config });
  expect(r.code, r.stderr).toBe(7);
  expect(r.stderr).toContain(`${clone}: this run's canary (its record on the master) did not reach it within 4 s`);
  expect(r.stderr).toContain('nothing was frozen or changed');
  expect(Date.now() - t0).toBeLessThan(30_000);
  expect(await outsideRun()).toBe(before);
  expect(await readAttr(c, master, `cn=lock,${versionEntry}`, 'cn')).toBeNull();
  expect((await readAttr(c, master, versionEntry, 'description')) ?? []).toEqual([]);
  for (const url of [...writable, clone]) expect(await isFrozen(c, url), url).toBe(false);
  for (const url of writable) expect(await clientWrite(c, url), url).toBe(0);
  const next = await runCli(['upgrade', '--yes', '--timeout', '4'], { config });
  expect(next.code, next.stderr).toBe(7);
  expect(next.stderr).not.toContain('did not finish');
}
