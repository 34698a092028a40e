import type { LdapEntry } from '../../ldap/entry.js';

export interface EntryStreamOptions<T> {
  /** Runs once before the first page is asked for (the live store waits for its writes). */
  before?: () => Promise<void>;
  /** Turns a page item into the entry to hand out, or undefined to skip it. */
  map: (item: T) => LdapEntry | undefined;
  /** Entries to hand out after the last page. */
  tail?: () => Iterable<LdapEntry>;
  /** Runs once, when the stream ends or the consumer stops early. */
  close?: () => void;
}

/**
 * An async iterable over entries that arrive in pages, costing one settled promise per entry and
 * no generator machinery: a script's `for await` over a hundred thousand entries spends its time
 * on the entries, not on the iteration. The page source is closed when the consumer stops.
 */
export function entryStream<T>(pages: AsyncIterator<T[]>, options: EntryStreamOptions<T>): AsyncIterable<LdapEntry> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<LdapEntry> {
      let page: T[] = [];
      let index = 0;
      let started = false;
      let tail: Iterator<LdapEntry> | undefined;
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        options.close?.();
      };
      const done = (): IteratorResult<LdapEntry> => ({ done: true, value: undefined });
      /** The next entry of the current page, if there is one. */
      const fromPage = (): LdapEntry | undefined => {
        while (index < page.length) {
          const entry = options.map(page[index++]!);
          if (entry) return entry;
        }
        return undefined;
      };
      const pull = async (): Promise<IteratorResult<LdapEntry>> => {
        if (!started) {
          started = true;
          await options.before?.();
        }
        for (;;) {
          if (closed) return done();
          if (tail) {
            const next = tail.next();
            if (!next.done) return next;
            close();
            return done();
          }
          const entry = fromPage();
          if (entry) return { done: false, value: entry };
          const next = await pages.next();
          if (next.done) tail = (options.tail?.() ?? [])[Symbol.iterator]();
          else {
            page = next.value;
            index = 0;
          }
        }
      };
      return {
        next(): Promise<IteratorResult<LdapEntry>> {
          try {
            if (started && !tail && !closed) {
              const entry = fromPage();
              if (entry) return Promise.resolve({ done: false, value: entry });
            }
          } catch (err) {
            close();
            return Promise.reject(err);
          }
          return pull().catch((err: unknown) => {
            close();
            throw err;
          });
        },
        async return(): Promise<IteratorResult<LdapEntry>> {
          close();
          await pages.return?.(undefined);
          return done();
        },
      };
    },
  };
}
