import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Test seam for crash tests: with `LDAP_UPGRADE_FAILPOINT=<name>:<file>` in the environment, the
 * run writes `<file>` when it reaches the point `<name>` and then stops there until it is killed,
 * so a test can kill -9 it at an exact place. Points: `freeze` (one replica frozen, others maybe
 * not), `apply` (before the first script), `converge` (before the convergence wait), `unfreeze`
 * (one replica given back, others maybe not), `rollback` (a rollback after its first undo: half
 * rolled back). Without the
 * variable this does nothing.
 */
export async function failpoint(name: 'freeze' | 'apply' | 'converge' | 'unfreeze' | 'rollback'): Promise<void> {
  const spec = process.env.LDAP_UPGRADE_FAILPOINT;
  if (!spec) return;
  const sep = spec.indexOf(':');
  if (spec.slice(0, sep) !== name) return;
  writeFileSync(spec.slice(sep + 1), `${name} ${process.pid}\n`);
  for (;;) await sleep(60_000);
}
