import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { SandboxCluster } from '../../src/sandbox/index.js';
import { startCli } from './cli.js';
import { isFrozen } from './kinds.js';
import { clientWrite, eventually, readAttr } from './ldap.js';

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
