import { describe, expect, it } from 'vitest';
import { entryStream } from '../../src/scripts/runtime/entry-stream.js';

const entry = (n: number) => ({ dn: `uid=${n},dc=t`, attributes: {} });

/** Pages of numbers, recording whether the consumer closed the source. */
function source(pages: number[][], failAfter?: number) {
  const state = { returned: false, asked: 0 };
  const iterator: AsyncIterator<number[]> = {
    async next() {
      if (failAfter !== undefined && state.asked === failAfter) throw new Error('connection reset');
      const page = pages[state.asked++];
      return page ? { done: false, value: page } : { done: true, value: undefined };
    },
    async return() {
      state.returned = true;
      return { done: true, value: undefined };
    },
  };
  return { iterator, state };
}

async function collect(iterable: AsyncIterable<{ dn: string }>, stopAt?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const e of iterable) {
    out.push(e.dn);
    if (out.length === stopAt) break;
  }
  return out;
}

describe('entryStream', () => {
  it('hands out every page item in order, skips what map drops, then the tail; closes once', async () => {
    const { iterator } = source([[1, 2, 3], [], [4, 5]]);
    let closed = 0;
    let before = 0;
    const dns = await collect(entryStream(iterator, {
      before: async () => { before++; },
      map: (n) => (n === 2 ? undefined : entry(n)),
      tail: () => [entry(9)],
      close: () => { closed++; },
    }));
    expect(dns).toEqual(['uid=1,dc=t', 'uid=3,dc=t', 'uid=4,dc=t', 'uid=5,dc=t', 'uid=9,dc=t']);
    expect([before, closed]).toEqual([1, 1]);
  });

  it('a consumer that stops early closes the stream and its page source', async () => {
    const { iterator, state } = source([[1, 2, 3], [4, 5, 6]]);
    let closed = 0;
    expect(await collect(entryStream(iterator, { map: entry, close: () => { closed++; } }), 2)).toEqual(['uid=1,dc=t', 'uid=2,dc=t']);
    expect(state.returned).toBe(true);
    expect(closed).toBe(1);
  });

  it('a failing page source rejects the loop and closes the stream', async () => {
    const { iterator } = source([[1], [2]], 1);
    let closed = 0;
    await expect(collect(entryStream(iterator, { map: entry, close: () => { closed++; } }))).rejects.toThrow('connection reset');
    expect(closed).toBe(1);
  });
});
