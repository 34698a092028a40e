import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HashTable64 } from '../../src/ldap/hash-table.js';
import { journalTargets } from '../../src/records/journal-targets.js';
import { readBack, SharedMasterReads } from '../../src/replication/read-back.js';
import type { Directory } from '../../src/ldap/directory.js';

describe('what the verified convergence reads back, from the journal', () => {
  it("a modify's touched attributes; every attribute for adds, deletes, renames and the tool's own entries; a torn line skipped", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ldap-upgrade-rb-')), 'run.journal.jsonl');
    writeFileSync(file, [
      JSON.stringify({ seq: 1, kind: 'modify', dn: 'uid=a,dc=t', attributes: ['description', 'title'], pre: {} }),
      JSON.stringify({ seq: 2, kind: 'add', dn: 'uid=b,dc=t', pre: null }),
      JSON.stringify({ seq: 3, kind: 'delete', dn: 'uid=c,dc=t', pre: {} }),
      JSON.stringify({ seq: 4, kind: 'rename', dn: 'uid=d,dc=t', newDn: 'uid=e,dc=t', pre: {} }),
      // A journal of an earlier version: the pre-image before the attributes.
      JSON.stringify({ seq: 5, kind: 'modify', dn: 'uid=g,dc=t', pre: { dn: 'uid=g,dc=t', attributes: { title: ['x'] } }, attributes: ['title'] }),
      JSON.stringify({ seq: 6, kind: 'rename', dn: 'uid=h,dc=t', pre: {}, newDn: 'uid=i,dc=t' }),
      // Quotes and the key's own text inside a DN.
      JSON.stringify({ seq: 7, kind: 'modify', dn: 'cn=a\\,"pre":x,dc=t', attributes: ['sn'], pre: { dn: 'x', attributes: {} } }),
      '{"seq": 8, "kind": "modify", "dn": "uid=f',
    ].join('\n') + '\n');
    const targets = [];
    for await (const t of journalTargets(file, ['cn=schema-version,dc=t'])) targets.push(t);
    expect(targets).toEqual([
      { dn: 'cn=schema-version,dc=t' },
      { dn: 'uid=a,dc=t', attributes: ['description', 'title'] },
      { dn: 'uid=b,dc=t' },
      { dn: 'uid=c,dc=t' },
      { dn: 'uid=d,dc=t' },
      { dn: 'uid=e,dc=t' },
      { dn: 'uid=g,dc=t', attributes: ['title'] },
      { dn: 'uid=h,dc=t' },
      { dn: 'uid=i,dc=t' },
      { dn: 'cn=a\\,"pre":x,dc=t', attributes: ['sn'] },
    ]);
  });
});

describe("the master's side of a read-back, shared by the replicas of one wait", () => {
  const table = (bytes: number) => ({ bytes });
  it('read once for two replicas, then forgotten; only so many bytes kept for a replica far ahead', async () => {
    const shared = new SharedMasterReads<{ bytes: number }>(2, 250);
    let reads = 0;
    const read = async () => { reads++; return table(100); };
    await shared.take('g1', read);
    expect(await shared.take('g1', read)).toEqual(table(100));
    expect(reads).toBe(1);
    await shared.take('g1', read); // both replicas had it: read again
    expect(reads).toBe(2);
    for (const g of ['g2', 'g3']) await shared.take(g, read); // g1 (again), g2: 200 bytes kept
    expect(reads).toBe(4);
    await shared.take('g3', read); // 300 bytes: beyond capacity, not kept
    expect(reads).toBe(5);
    await shared.take('g2', read); // kept
    expect(reads).toBe(5);
  });
  it('one replica: nothing is kept', async () => {
    const shared = new SharedMasterReads<{ bytes: number }>(1);
    let reads = 0;
    const read = async () => { reads++; return table(1); };
    await shared.take('g', read);
    await shared.take('g', read);
    expect(reads).toBe(2);
  });
});

describe('the flat hash table of DNs', () => {
  it('grows past its first size: 300,000 keys, each found in its slot with its values, none invented', () => {
    const t = new HashTable64(2, 16);
    for (let i = 0; i < 300_000; i++) {
      const slot = t.insert(`uid=b${i},ou=bench,dc=example,dc=com`);
      t.columns[0]![slot] = i;
      t.columns[1]![slot] = i * 2;
    }
    expect(t.size).toBe(300_000);
    expect(t.insert('uid=b7,ou=bench,dc=example,dc=com')).toBe(t.lookup('uid=b7,ou=bench,dc=example,dc=com'));
    expect(t.size).toBe(300_000);
    for (let i = 0; i < 300_000; i += 991) {
      const slot = t.lookup(`uid=b${i},ou=bench,dc=example,dc=com`);
      expect([t.columns[0]![slot], t.columns[1]![slot]]).toEqual([i, i * 2]);
    }
    for (let i = 300_000; i < 300_100; i++) expect(t.lookup(`uid=b${i},ou=bench,dc=example,dc=com`)).toBe(-1);
    const other = new HashTable64(1);
    const mine = other.insert('uid=b42,ou=bench,dc=example,dc=com');
    expect(t.columns[0]![t.lookupSlotOf(other, mine)]).toBe(42);
    expect(new HashTable64().lookupSlotOf(other, mine)).toBe(-1);
    expect([...t.slots()].length).toBe(300_000);
  });
});

/** A directory of one parent's children, as far as readBack asks (paged searches, base reads), counting its searches. */
function fakeDirectory(entries: Map<string, Record<string, string[]>>) {
  const searches: string[] = [];
  const project = (dn: string, attrs: Record<string, string[]>, wanted: string[]) => ({
    dn, attributes: wanted.includes('*') ? attrs : Object.fromEntries(Object.entries(attrs).filter(([k]) => wanted.includes(k))),
  });
  return {
    searches,
    async *searchPages(request: { base: string; attributes?: string[] }) {
      searches.push(request.base);
      const all = [...entries].filter(([dn]) => dn.endsWith(',' + request.base)).map(([dn, a]) => project(dn, a, request.attributes ?? ['*']));
      for (let i = 0; i < all.length; i += 500) yield all.slice(i, i + 500);
    },
    async get(dn: string, attributes: string[] = ['*']) {
      const a = entries.get(dn);
      return a ? project(dn, a, attributes) : null;
    },
  } as unknown as Directory & { searches: string[] };
}

describe('reading back many children of one parent', () => {
  const dn = (i: number) => `uid=u${i},ou=p,dc=t`;
  const people = (n: number) => new Map(Array.from({ length: n }, (_, i) => [dn(i), { uid: [`u${i}`], title: ['t'] }]));

  it('one search per side for the whole journal, however many rounds it spans; what differs, is missing or was deleted is named', async () => {
    const onMaster = people(45_000);
    const onReplica = people(45_000);
    onReplica.set(dn(7), { uid: ['u7'], title: ['old'] });
    onReplica.set(dn(30_001), { uid: ['u30001'], title: ['old'] });
    onReplica.delete(dn(11));
    onMaster.delete(dn(12)); // deleted on the master, still on the replica
    const master = fakeDirectory(onMaster);
    const replica = fakeDirectory(onReplica);
    const targets = Array.from({ length: 45_000 }, (_, i) => ({ dn: dn(i), attributes: ['title'] }));
    const r = await readBack(master, replica, targets);
    expect(master.searches.filter((b) => b === 'ou=p,dc=t').length).toBe(2); // the digests, then the names of the missing
    expect(replica.searches.filter((b) => b === 'ou=p,dc=t').length).toBe(2); // the digests, then the names of what differs
    expect(r.count).toBe(4);
    expect(r.again!.map((t) => t.dn).sort()).toEqual([dn(11), dn(12), dn(30_001), dn(7)].sort());
    expect(r.first!.what).toMatch(/attribute title differs|it is missing|deleted on the master/);
    // The next poll reads only those again (a read per entry on each side).
    expect((await readBack(master, replica, r.again!)).count).toBe(4);
  });

  it('a converged replica: one search per side, nothing reported; a declared fractional attribute is not compared', async () => {
    const onMaster = people(500);
    const onReplica = new Map([...people(500)].map(([k, v]) => [k, { uid: v.uid }]));
    const master = fakeDirectory(onMaster);
    const replica = fakeDirectory(onReplica);
    const targets = Array.from({ length: 500 }, (_, i) => ({ dn: dn(i) }));
    const differs = await readBack(master, replica, targets);
    expect(differs.count).toBe(500);
    expect(differs.first!.what).toBe('attribute title differs');
    const declared = await readBack(fakeDirectory(onMaster), replica, targets, new Set(['title']));
    expect(declared).toMatchObject({ count: 0, again: [] });
  });
});
