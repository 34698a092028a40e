import { describe, expect, it } from 'vitest';
import type { EntryStore, WriteTally } from '../../src/scripts/runtime/entry-store.js';
import type { PlannedWrite } from '../../src/ldap/planned-write.js';
import { planWrite, type WriteIntent } from '../../src/scripts/runtime/write-plan.js';
import { UpgradeScriptContext } from '../../src/scripts/runtime/script-context.js';
import { applyModifications, cloneEntry, normalizeDn, type LdapEntry } from '../../src/ldap/entry.js';
import type { SearchRequest } from '../../src/ldap/directory.js';

/** An in-memory directory: the unit tier of the script context (writes applied, each one kept). */
class MemoryStore implements EntryStore {
  readonly dryRun = false;
  readonly writes: PlannedWrite[] = [];
  private readonly entries = new Map<string, LdapEntry>();
  constructor(entries: LdapEntry[]) {
    for (const e of entries) this.entries.set(normalizeDn(e.dn), e);
  }
  async get(dn: string) {
    const e = this.entries.get(normalizeDn(dn));
    return e ? cloneEntry(e) : null;
  }
  async *search(_request: SearchRequest) {
    yield* [...this.entries.values()].map(cloneEntry);
  }
  async submit(intent: WriteIntent, _script: string, tally: WriteTally) {
    const w = await planWrite(intent, (dn) => this.get(dn));
    if (!w) return;
    this.writes.push(w);
    if (w.kind === 'add') this.entries.set(normalizeDn(w.dn), { dn: w.dn, attributes: w.attributes });
    if (w.kind === 'modify') this.entries.set(normalizeDn(w.dn), applyModifications(this.entries.get(normalizeDn(w.dn))!, w.changes));
    if (w.kind === 'delete') this.entries.delete(normalizeDn(w.dn));
    tally();
  }
  async flush() {}
  abandon() {}
}

const ou = (extra: Record<string, string[]> = {}): LdapEntry => ({ dn: 'ou=x,dc=t', attributes: { objectClass: ['top', 'organizationalUnit'], ou: ['x'], ...extra } });

function context(store: MemoryStore) {
  return new UpgradeScriptContext({ store, suffix: 'dc=t', fromVersion: '1.0.0', toVersion: '2.0.0', script: 's', log: () => undefined });
}

describe('script context writes', () => {
  it('adding an entry that holds every given value is a no-op (servers add values such as objectClass: top)', async () => {
    const store = new MemoryStore([ou({ description: ['a', 'b'] })]);
    const ctx = context(store);
    await ctx.addEntry('ou=x,dc=t', { objectClass: ['organizationalUnit'], ou: ['x'], description: ['a'] }, false);
    expect(store.writes).toEqual([]);
    expect(ctx.entriesChanged).toBe(0);
  });

  it('adding an entry that lacks given values fails, naming them, unless merge adds them', async () => {
    const store = new MemoryStore([ou()]);
    const ctx = context(store);
    await expect(ctx.addEntry('ou=x,dc=t', { ou: ['x'], description: ['new'] }, false)).rejects.toThrow(/exists without these values of description .*ldap-upgrade: merge/);
    await ctx.addEntry('ou=x,dc=t', { ou: ['x'], description: ['new'] }, true);
    expect(store.writes).toMatchObject([{ kind: 'modify', changes: [{ operation: 'add', attribute: 'description', values: ['new'] }] }]);
    expect(ctx.entriesChanged).toBe(1);
  });

  it('deleting an absent entry is a no-op; modifying one is an error naming it', async () => {
    const store = new MemoryStore([]);
    const ctx = context(store);
    await ctx.delete('ou=gone,dc=t');
    expect(store.writes).toEqual([]);
    await expect(ctx.modify('ou=gone,dc=t', [{ operation: 'add', attribute: 'ou', values: ['gone'] }])).rejects.toThrow('modify ou=gone,dc=t: no such entry');
  });

  it('keeps the pre-image of every write (for the journal)', async () => {
    const store = new MemoryStore([ou()]);
    const ctx = context(store);
    await ctx.modify('ou=x,dc=t', [{ operation: 'replace', attribute: 'description', values: ['d'] }]);
    await ctx.delete('ou=x,dc=t');
    expect(store.writes.map((w) => [w.kind, w.pre && w.pre.attributes.description])).toEqual([['modify', undefined], ['delete', ['d']]]);
    // A modify's pre-image keeps the attributes it touched (what undoing it restores), nothing else.
    expect(Object.keys(store.writes[0]!.pre!.attributes)).toEqual([]);
  });

  it('a rename of an entry already renamed (a re-run) is a no-op; of one that never existed an error', async () => {
    const store = new MemoryStore([{ dn: 'ou=new,dc=t', attributes: { ou: ['new'] } }]);
    const ctx = context(store);
    await ctx.rename('ou=old,dc=t', 'ou=new,dc=t');
    expect(store.writes).toEqual([]);
    await expect(ctx.rename('ou=none,dc=t', 'ou=other,dc=t')).rejects.toThrow('rename ou=none,dc=t: no such entry');
  });
});

describe('values that are not UTF-8 (a hashed userPassword)', () => {
  const hash = Buffer.from([0x7b, 0x53, 0x53, 0x48, 0x41, 0x7d, 0xff, 0xfe, 0x00, 0x81]);
  const person = (): LdapEntry => ({ dn: 'uid=a,dc=t', attributes: { objectClass: ['person'], cn: ['a'], sn: ['A'], userPassword: [hash] } });

  it('values() refuses them (a string would corrupt them) and names bytes(); bytes() gives them as they are', async () => {
    const store = new MemoryStore([person()]);
    const ctx = context(store);
    const e = (await ctx.get('uid=a,dc=t'))!;
    expect(() => ctx.values(e, 'userPassword')).toThrow(/userPassword of uid=a,dc=t holds a value that is not UTF-8 .*ctx\.bytes\(entry, 'userPassword'\)/);
    expect(ctx.values(e, 'cn')).toEqual(['a']);
    expect(ctx.bytes(e, 'userPassword')).toEqual([hash]);
    expect(ctx.bytes(e, 'cn')).toEqual([Buffer.from('a')]);
  });

  it('written back (copied to another attribute, or the entry copied), they stay byte for byte', async () => {
    const store = new MemoryStore([person()]);
    const ctx = context(store);
    const e = (await ctx.get('uid=a,dc=t'))!;
    await ctx.add('uid=b,dc=t', { ...e.attributes, cn: ['b'] });
    await ctx.modify('uid=a,dc=t', [{ operation: 'replace', attribute: 'userPassword', values: [...ctx.bytes(e, 'userPassword'), Buffer.from('{SSHA}other')] }]);
    const b = (await store.get('uid=b,dc=t'))!;
    expect(b.attributes.userPassword).toEqual([hash]);
    const a = (await store.get('uid=a,dc=t'))!;
    expect((a.attributes.userPassword as Buffer[])[0]!.equals(hash)).toBe(true);
  });
});
