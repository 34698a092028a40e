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
    for (let i = 0; i < 200_000; i += 997) expect(o.get(`uid=b${i},ou=bench,dc=example,dc=com`)).toEqual(i % 3 === 0 ? { gone: true } : shared);
    for (let i = 200_000; i < 200_100; i++) expect(o.get(`uid=b${i},ou=bench,dc=example,dc=com`)).toBeUndefined();
  });
});
