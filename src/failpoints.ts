import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Test seam for crash tests: with `LDAP_UPGRADE_FAILPOINT=<name>:<file>` in the environment, the
 * run writes `<file>` when it reaches the point `<name>` and then stops there until it is killed,
 * so a test can kill -9 it at an exact place. With `<name>:<file>:<release>` it goes on once the
 * file `<release>` exists (a test cuts a network link there, say). Points: `freeze` (one replica
 * frozen, others maybe not), `apply` (before the first script), `converge` (before the
 * convergence wait), `give-back` (after the scripts, or their rollback, and the wait: before any
 * replica is given back), `index` (a configuration script's index build started on one server,
 * not yet awaited), `unfreeze` (one replica given back, others maybe not), `rollback` (a
 * rollback after its first undo: half rolled back). Without the variable this does nothing.
 */
export async function failpoint(name: 'freeze' | 'apply' | 'index' | 'converge' | 'give-back' | 'unfreeze' | 'rollback'): Promise<void> {
  const spec = process.env.LDAP_UPGRADE_FAILPOINT;
  if (!spec) return;
  const [point, marker, release] = spec.split(':');
  if (point !== name || !marker) return;
  writeFileSync(marker, `${name} ${process.pid}\n`);
  for (;;) {
    if (release && existsSync(release)) return;
    await sleep(release ? 50 : 60_000);
  }
}
