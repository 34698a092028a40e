import { expect } from 'vitest';
import type { SandboxCluster } from '../../src/sandbox/index.js';
import { isFrozen } from './kinds.js';
import { clientWrite, readAttr } from './ldap.js';

/** Every node takes a client write (on `dn`, or the default entry), and the run's lock is free. */
export async function expectWritableAndUnlocked(c: SandboxCluster, dn?: string): Promise<void> {
  for (const n of c.nodes) {
    expect(await isFrozen(c, n.url), n.url).toBe(false);
    expect(await clientWrite(c, n.url, dn), n.url).toBe(0);
  }
  expect(await readAttr(c, c.nodes[0]!.url, `cn=lock,cn=schema-version,${c.suffix}`, 'cn')).toBeNull();
}
