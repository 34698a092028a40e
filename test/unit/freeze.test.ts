import { describe, expect, it } from 'vitest';
import { drainInto } from '../../src/replication/catch-up.js';
import { runReplica } from '../../src/replication/replica-freeze.js';
import { RefusedError } from '../../src/errors.js';
import type { Directory } from '../../src/ldap/directory.js';
import type { ReplicationState, ServerAdapter } from '../../src/servers/adapter.js';
import { openLdapAdapter } from '../../src/servers/openldap/adapter.js';
import { CHAIN_NAME, unfreezePinned } from '../../src/servers/389ds/pinned-referral.js';

const csn = (t: string, sid: string) => `${t}.000000Z#000000#${sid}#000000`;

/** An adapter whose replication state is read from a per-directory script of states. */
function scripted(states: Map<object, ReplicationState[]>): { adapter: ServerAdapter; reads: Map<object, number> } {
  const reads = new Map<object, number>();
  const adapter = {
    ...openLdapAdapter,
    async readReplicationState(d: Directory) {
      const list = states.get(d)!;
      const n = reads.get(d) ?? 0;
      reads.set(d, n + 1);
      return list[Math.min(n, list.length - 1)]!;
    },
  } as ServerAdapter;
  return { adapter, reads };
}

describe('draining a frozen replica into the master', () => {
  const replica = {} as Directory;
  const master = {} as Directory;
  const own = new Map([['001', csn('20261122000005', '001')], ['002', csn('20261122000009', '002')]]);

  it('returns at the first read when the master has every change of the replica', async () => {
    const { adapter, reads } = scripted(new Map<object, ReplicationState[]>([[replica, [own]], [master, [new Map([['001', csn('20261122000005', '001')], ['002', csn('20261122000010', '002')]])]]]));
    await drainInto(adapter, 'dc=example,dc=com', master, replica, 1_000);
    expect(reads.get(master)).toBe(1);
  });

  it("waits until the replica's last write has reached the master", async () => {
    const behind = new Map([['001', csn('20261122000005', '001')], ['002', csn('20261122000007', '002')]]);
    const { adapter, reads } = scripted(new Map<object, ReplicationState[]>([[replica, [own]], [master, [behind, behind, own]]]));
    await drainInto(adapter, 'dc=example,dc=com', master, replica, 5_000);
    expect(reads.get(master)).toBe(3);
    // The replica's own state is read once: what it held when the freeze started.
    expect(reads.get(replica)).toBe(1);
  });

  it('is refused, naming what the master lacks, when the changes do not arrive in time', async () => {
    const never = new Map([['001', csn('20261122000005', '001')]]);
    const { adapter } = scripted(new Map<object, ReplicationState[]>([[replica, [own]], [master, [never]]]));
    const err = await drainInto(adapter, 'dc=example,dc=com', master, replica, 150).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toContain('the master lacks changes this replica holds (master missing changes of server id 002');
  });

  it("the refusal says what the replica reports of its own links (a 389 DS agreement's last status)", async () => {
    const never = new Map([['001', csn('20261122000005', '001')]]);
    const { adapter } = scripted(new Map<object, ReplicationState[]>([[replica, [own]], [master, [never]]]));
    const config = {} as Directory;
    const asked: Directory[] = [];
    const withStatus = { ...adapter, async replicationStatus(c: Directory) { asked.push(c); return ['agreement to-node1 to ldap://node1:389: Error (-1) Problem connecting to replica']; } } as ServerAdapter;
    const err = await drainInto(withStatus, 'dc=example,dc=com', master, replica, 100, config).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/check replication from it to the master; it reports agreement to-node1 to ldap:\/\/node1:389: Error \(-1\) Problem connecting/);
    expect(asked).toEqual([config]);
    // Where the status cannot be read, the refusal stands without it.
    const failing = { ...adapter, async replicationStatus() { throw new Error('no access'); } } as ServerAdapter;
    const plain = await drainInto(failing, 'dc=example,dc=com', master, replica, 100, config).catch((e: unknown) => e);
    expect((plain as Error).message).toMatch(/check replication from it to the master$/);
  });
});

describe('which replicas a run freezes', () => {
  const state = (frozen: boolean, transient?: boolean) => ({ entryDn: 'cn=replica', attribute: 'nsDS5ReplicaType', original: ['3'], frozen, transient });
  it('freezes a writable replica and leaves one its administrator froze', () => {
    expect(runReplica('ldap://a', state(false)).frozenByRun).toBe(true);
    expect(runReplica('ldap://a', state(true)).frozenByRun).toBe(false);
  });
  it('freezes one whose read-only setting does not hold by itself (389 DS referral state on a supplier)', () => {
    expect(runReplica('ldap://a', state(true, true))).toMatchObject({ url: 'ldap://a', frozenByRun: true, restored: false });
  });
});

describe('giving back a 389 DS supplier frozen by the pinned referral state', () => {
  const chain = `cn=${CHAIN_NAME},cn=chaining database,cn=plugins,cn=config`;
  const monitor = `cn=monitor,${chain}`;
  const tree = 'cn="dc=example,dc=com",cn=mapping tree,cn=config';

  /** cn=config as 389 DS keeps it: the chaining instance's monitor child appears after the first read of the subtree. */
  function configTree(monitorAppears: 'before' | 'after-first-search' | 'after-three-looks' | 'never') {
    const entries = new Set([chain, ...(monitorAppears === 'before' ? [monitor] : [])]);
    const deletes: string[] = [];
    let searches = 0;
    let looks = 0;
    const directory = {
      server: 'ldap://replica',
      async get(dn: string) {
        if (dn === monitor && monitorAppears === 'after-three-looks' && ++looks === 3) entries.add(monitor);
        if (dn === tree) return { dn, attributes: { 'nsslapd-state': ['referral on update'], 'nsslapd-backend': ['userRoot', CHAIN_NAME], 'nsslapd-distribution-funct': ['repl_chain_on_update'] } };
        return entries.has(dn) ? { dn, attributes: {} } : null;
      },
      async modify() {},
      async *search() {
        const found = [...entries];
        if (++searches === 1 && monitorAppears === 'after-first-search') entries.add(monitor);
        for (const dn of found) yield { dn, attributes: {} };
      },
      async delete(dn: string) {
        deletes.push(dn);
        if (!entries.has(dn)) throw Object.assign(new Error('no such object'), { code: 32 });
        if ([...entries].some((e) => e !== dn && e.endsWith(`,${dn}`))) throw Object.assign(new Error('not allowed on non-leaf'), { code: 66 });
        entries.delete(dn);
      },
    } as unknown as Directory;
    return { directory, entries, deletes };
  }
  const state = { entryDn: tree, attribute: 'nsslapd-state', original: ['backend'], frozen: false, others: [] };

  it('deletes the monitor child, then the chaining instance', async () => {
    const { directory, entries, deletes } = configTree('before');
    await unfreezePinned(directory, state);
    expect(entries.size).toBe(0);
    expect(deletes).toEqual([monitor, chain]);
  });

  it('a monitor child that 389 DS adds after the subtree was read (the second after a start): read again, deleted, the instance goes', async () => {
    const { directory, entries, deletes } = configTree('after-first-search');
    await unfreezePinned(directory, state);
    expect(entries.size).toBe(0);
    expect(deletes).toEqual([chain, monitor, chain]);
  });

  it('an instance whose monitor child 389 DS has not made yet (the second after it starts): not deleted before the child is there', async () => {
    const { directory, entries, deletes } = configTree('after-three-looks');
    await unfreezePinned(directory, state);
    expect(entries.size).toBe(0);
    // Deleting the instance first would leave 389 DS's scheduled event a freed instance.
    expect(deletes).toEqual([monitor, chain]);
  });

  it('an instance that never gets a child: removed after the wait', async () => {
    const { directory, entries } = configTree('never');
    await unfreezePinned(directory, state);
    expect(entries.size).toBe(0);
  });
});
