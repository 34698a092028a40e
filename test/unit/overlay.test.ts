import { describe, expect, it } from 'vitest';
import { Overlay } from '../../src/scripts/runtime/overlay.js';
import type { Modification } from '../../src/ldap/entry.js';

const change = (v: string): readonly Modification[] => Object.freeze([{ operation: 'replace' as const, attribute: 'description', values: [v] }]);

describe("the dry run's overlay", () => {
  it('keeps gone, shared changes and new entries apart, by DN', () => {
    const o = new Overlay();
    const shared = change('x');
    o.set('uid=a,dc=t', shared);
    o.set('uid=b,dc=t', shared);
    o.set('uid=c,dc=t', { gone: true });
    o.set('uid=d,dc=t', { entry: { dn: 'uid=d,dc=t', attributes: { uid: ['d'] } } });
    expect(o.get('uid=a,dc=t')).toBe(shared);
    expect(o.get('uid=b,dc=t')).toBe(shared);
    expect(o.get('uid=c,dc=t')).toEqual({ gone: true });
    expect(o.get('uid=d,dc=t')).toMatchObject({ entry: { dn: 'uid=d,dc=t' } });
    expect(o.get('uid=e,dc=t')).toBeUndefined();
    expect([...o.entries()].map(([k]) => k)).toEqual(['uid=d,dc=t']);
  });

  it('a DN planned one way, then another, shows the latest plan', () => {
    const o = new Overlay();
    o.set('uid=a,dc=t', change('1'));
    o.set('uid=a,dc=t', { entry: { dn: 'uid=a,dc=t', attributes: {} } });
    expect(o.get('uid=a,dc=t')).toMatchObject({ entry: {} });
    o.set('uid=a,dc=t', { gone: true });
    expect(o.get('uid=a,dc=t')).toEqual({ gone: true });
    expect([...o.entries()]).toEqual([]);
    const two = change('2');
    o.set('uid=a,dc=t', two);
    expect(o.get('uid=a,dc=t')).toBe(two);
  });

  it('grows past its first table: 200,000 DNs, each found again, none invented', () => {
    const o = new Overlay();
    const shared = change('x');
    for (let i = 0; i < 200_000; i++) o.set(`uid=b${i},ou=bench,dc=example,dc=com`, i % 3 === 0 ? { gone: true } : shared);
    // Every one: a plan set just as the table grew was once lost.
    for (let i = 0; i < 200_000; i++) if (o.get(`uid=b${i},ou=bench,dc=example,dc=com`) !== (i % 3 === 0 ? o.get('uid=b0,ou=bench,dc=example,dc=com') : shared)) throw new Error(`uid=b${i}: its plan is lost`);
    for (let i = 200_000; i < 200_100; i++) expect(o.get(`uid=b${i},ou=bench,dc=example,dc=com`)).toBeUndefined();
  });
});

describe('the overlay past 20,000 new entries: spilled to a private file, read back exactly', () => {
  it('adds, a modify of a spilled entry, a delete, bytes: get and entries() see the latest plan of each DN', () => {
    const o = new Overlay();
    const n = 25_000;
    for (let i = 0; i < n; i++) o.set(`uid=u${i},dc=x`, { entry: { dn: `uid=u${i},dc=x`, attributes: { uid: [`u${i}`], photo: [Buffer.from([i & 255, 0, 255])] } } });
    // Beyond the in-memory ones, read back from the spill file, bytes and all.
    expect(o.get('uid=u24999,dc=x')).toEqual({ entry: { dn: 'uid=u24999,dc=x', attributes: { uid: ['u24999'], photo: [Buffer.from([24999 & 255, 0, 255])] } } });
    o.set('uid=u24000,dc=x', { entry: { dn: 'uid=u24000,dc=x', attributes: { uid: ['u24000'], description: ['changed'] } } });
    o.set('uid=u24001,dc=x', { gone: true });
    o.set('uid=u5,dc=x', { gone: true });
    expect(o.get('uid=u24000,dc=x')).toEqual({ entry: { dn: 'uid=u24000,dc=x', attributes: { uid: ['u24000'], description: ['changed'] } } });
    expect(o.get('uid=u24001,dc=x')).toEqual({ gone: true });
    expect(o.get('uid=u-none,dc=x')).toBeUndefined();
    const all = [...o.entries()];
    expect(all).toHaveLength(n - 2);
    expect(new Set(all.map(([k]) => k)).size).toBe(n - 2);
    expect(all.find(([k]) => k === 'uid=u24000,dc=x')![1].attributes.description).toEqual(['changed']);
    o.close();
  });
});
