import { describe, expect, it } from 'vitest';
import type { Directory } from '../../src/ldap/directory.js';
import { waitUntilNodesAgree } from '../../src/sandbox/convergence.js';
import type { ReplicationState, ServerAdapter } from '../../src/servers/adapter.js';
import { openLdapAdapter } from '../../src/servers/openldap/adapter.js';

const csn = (t: string, sid: string) => `${t}.000000Z#000000#${sid}#000000`;

/** Three nodes whose replication states are fixed (as read through the adapter). */
function nodes(states: ReplicationState[]): { conns: Directory[]; adapter: ServerAdapter } {
  const conns = states.map(() => ({}) as Directory);
  const adapter = { ...openLdapAdapter, async readReplicationState(d: Directory) { return states[conns.indexOf(d)]!; } } as ServerAdapter;
  return { conns, adapter };
}

describe("the sandbox's wait for its nodes to agree", () => {
  const one = csn('20261204000001', '001');
  const three = csn('20261204000003', '003');

  it('returns when every node holds every other node’s changes', async () => {
    const all = new Map([['001', one], ['003', three]]);
    const { conns, adapter } = nodes([all, new Map(all), new Map(all)]);
    await waitUntilNodesAgree(conns, 'dc=x', adapter, { timeoutMs: 1_000, expectChanges: true });
  });

  it("is not converged when node 3's changes reached node 2 but not node 1 (node 1's are everywhere)", async () => {
    const { conns, adapter } = nodes([new Map([['001', one]]), new Map([['001', one], ['003', three]]), new Map([['001', one], ['003', three]])]);
    const err = await waitUntilNodesAgree(conns, 'dc=x', adapter, { timeoutMs: 100, expectChanges: true }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/did not converge within 0\.1 s: node 1 lacks changes node 2 holds \(missing changes of server id 003/);
  });
});
