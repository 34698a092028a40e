import { describe, expect, it } from 'vitest';
import { SeenEntries } from '../../src/scripts/runtime/seen-entries.js';
import { nextPollDelay } from '../../src/replication/convergence.js';

const person = (uid: string, extra: Record<string, string[]> = {}) => ({ dn: `uid=${uid},ou=people,dc=t`, attributes: { uid: [uid], ...extra } });

describe('SeenEntries (pre-images from the script\'s own search)', () => {
  it('answers only for the attributes the search asked for; an asked-for absent attribute is known absent', () => {
    const seen = new SeenEntries();
    const mark = seen.openSearch(['mail', 'description']);
    seen.remember(person('a', { mail: ['a@t'] }), mark);
    expect(seen.lookup('UID=a, ou=People,dc=t', ['MAIL'])).toMatchObject({ attributes: { mail: ['a@t'] } });
    expect(seen.lookup('uid=a,ou=people,dc=t', ['description'])?.attributes.description).toBeUndefined();
    expect(seen.lookup('uid=a,ou=people,dc=t', ['sn'])).toBeUndefined();
    // A delete's pre-image needs every attribute: only a '*' search can give it.
    expect(seen.lookup('uid=a,ou=people,dc=t', undefined)).toBeUndefined();
    seen.remember(person('b'), seen.openSearch(['*']));
    expect(seen.lookup('uid=b,ou=people,dc=t', undefined)).toBeDefined();
  });

  it('forgets an entry once a write to it is sent, and ignores pages that may predate a write', () => {
    const seen = new SeenEntries();
    const mark = seen.openSearch(['*']);
    seen.remember(person('a'), mark);
    seen.wrote('uid=a,ou=people,dc=t');
    expect(seen.lookup('uid=a,ou=people,dc=t', ['uid'])).toBeUndefined();
    // Written before the search yields it (a page fetched ahead): it may predate the write.
    seen.wrote('uid=b,ou=people,dc=t');
    seen.remember(person('b'), mark);
    expect(seen.lookup('uid=b,ou=people,dc=t', ['uid'])).toBeUndefined();
    // Another search open at the time of a write: that write is kept in mind for it.
    const other = seen.openSearch(['*']);
    seen.remember(person('c'), mark);
    seen.wrote('uid=c,ou=people,dc=t');
    seen.remember(person('c'), other);
    expect(seen.lookup('uid=c,ou=people,dc=t', ['uid'])).toBeUndefined();
    seen.closeSearch(other);
    seen.closeSearch(mark);
    // A search started after the write reads the written state.
    const later = seen.openSearch(['*']);
    seen.remember(person('a'), later);
    expect(seen.lookup('uid=a,ou=people,dc=t', ['uid'])).toBeDefined();
  });

  it('a rewrite inside one search keeps nothing per written entry (flat memory over a million writes)', () => {
    const seen = new SeenEntries();
    const mark = seen.openSearch(['*']);
    for (let i = 0; i < 5_000; i++) {
      seen.remember(person(`u${i}`), mark);
      seen.wrote(`uid=u${i},ou=people,dc=t`);
    }
    expect((seen as unknown as { lastWrite: Map<string, number> }).lastWrite.size).toBe(0);
    seen.closeSearch(mark);
  });

  it('a rename forgets everything, and is bounded by its capacity', () => {
    const seen = new SeenEntries(3);
    const mark = seen.openSearch(['*']);
    for (const uid of ['a', 'b', 'c', 'd']) seen.remember(person(uid), mark);
    expect(seen.lookup('uid=a,ou=people,dc=t', ['uid'])).toBeUndefined();
    expect(seen.lookup('uid=d,ou=people,dc=t', ['uid'])).toBeDefined();
    seen.forgetAll();
    expect(seen.lookup('uid=d,ou=people,dc=t', ['uid'])).toBeUndefined();
    seen.remember(person('e'), mark);
    expect(seen.lookup('uid=e,ou=people,dc=t', ['uid'])).toBeUndefined();
  });
});

describe('convergence poll pacing', () => {
  it('polls a moving replica at a quarter of the interval and backs a still one off to 2 s', () => {
    expect(nextPollDelay(200, true, 200)).toBe(50);
    let d = 50;
    const pauses: number[] = [];
    for (let i = 0; i < 12; i++) pauses.push(d = nextPollDelay(d, false, 200));
    expect(pauses[0]).toBe(75);
    expect(pauses.every((p, i) => i === 0 || p >= pauses[i - 1]!)).toBe(true);
    expect(pauses.at(-1)).toBe(2_000);
    expect(nextPollDelay(2_000, true, 200)).toBe(50);
  });
});
