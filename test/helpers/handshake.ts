import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './ldap.js';

/**
 * A run held at a known place until the test lets it go: `env` holds the slow fixture's script
 * half-way (LDAP_UPGRADE_TEST_MARKER / _RELEASE), `at(point)` holds the run at a failpoint
 * (`LDAP_UPGRADE_FAILPOINT=<point>:<marker>:<release>`); `reached()` waits for the marker, `go()`
 * lets the run on.
 */
export function handshake() {
  const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-hs-'));
  const marker = join(dir, 'marker');
  const release = join(dir, 'release');
  return {
    marker, release,
    env: { LDAP_UPGRADE_TEST_MARKER: marker, LDAP_UPGRADE_TEST_RELEASE: release },
    at: (point: string) => ({ LDAP_UPGRADE_FAILPOINT: `${point}:${marker}:${release}` }),
    reached: (ms = 30_000) => eventually(async () => existsSync(marker), ms),
    go: () => writeFileSync(release, ''),
  };
}
