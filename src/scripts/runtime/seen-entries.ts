import type { SearchRequest } from '../../ldap/directory.js';
import { normalizeDn, pickAttributes, type LdapEntry } from '../../ldap/entry.js';

/** An open search: its start in the write sequence, and the attributes it asked for. */
export interface SearchMark {
  seq: number;
  covers: Set<string> | null;
  /** This search, among all the store's. */
  id: number;
}

interface Seen {
  entry: LdapEntry;
  /** The search that yielded it. */
  search: number;
  /** Lower-cased attribute names the search asked for; null: every user attribute. */
  covers: Set<string> | null;
  /** Its place in the ring of remembered DNs. */
  slot: number;
}

/**
 * The entries a script's searches returned most recently, so that the script's writes to them
 * need no second read for their pre-image. An entry answers only for the attributes its search
 * asked for (an attribute asked for and absent is known to be absent), and only while no write
 * to it has been sent since its search started. Bounded: the oldest are forgotten.
 */
export class SeenEntries {
  private readonly entries = new Map<string, Seen>();
  /** The remembered DNs in the order they came, overwritten in a circle: the oldest are forgotten. */
  private readonly ring: (string | undefined)[];
  private next = 0;
  /** Normalised DN → sequence number of the last write sent to it. */
  private readonly lastWrite = new Map<string, number>();
  private seq = 0;
  private lastRename = -1;
  /** The searches still open, by id, with their marks (a write older than all of them no longer matters). */
  private readonly open = new Map<number, number>();
  private searches = 0;

  constructor(capacity = 1_000) {
    this.ring = new Array<string | undefined>(capacity);
  }

  /** Call when a search starts; entries it yields are remembered against its mark. */
  openSearch(attributes: string[] | undefined): SearchMark {
    const all = !attributes || attributes.length === 0 || attributes.includes('*');
    const covers = all ? null : new Set(attributes.map((a) => a.toLowerCase()).filter((a) => a !== '1.1' && a !== '+'));
    const id = ++this.searches;
    this.open.set(id, this.seq);
    return { seq: this.seq, covers, id };
  }

  closeSearch({ id }: SearchMark): void {
    this.open.delete(id);
  }

  /** Remembers an entry a search yielded; returns its normalised DN. */
  remember(entry: LdapEntry, { seq: mark, covers, id }: SearchMark): string {
    const key = normalizeDn(entry.dn);
    // Written (or a subtree renamed) since the search started: the page may predate the write.
    if (this.lastRename > mark || (this.lastWrite.size > 0 && (this.lastWrite.get(key) ?? -1) > mark)) return key;
    const known = this.entries.get(key);
    if (known) {
      known.entry = entry;
      known.covers = covers;
      known.search = id;
      return key;
    }
    const slot = this.next;
    this.next = (slot + 1) % this.ring.length;
    const old = this.ring[slot];
    // The slot's previous DN is forgotten (its record is reused: one object per slot, not per entry).
    const reused = old === undefined ? undefined : this.entries.get(old);
    if (reused?.slot === slot) this.entries.delete(old!);
    this.ring[slot] = key;
    if (reused?.slot === slot) {
      reused.entry = entry;
      reused.covers = covers;
      reused.search = id;
      this.entries.set(key, reused);
    } else this.entries.set(key, { entry, covers, search: id, slot });
    return key;
  }

  /**
   * The remembered entry, if it answers for `attributes` (undefined: every user attribute;
   * empty: existence only). Undefined when it cannot answer: the caller reads the server.
   */
  lookup(dn: string, attributes: string[] | undefined): LdapEntry | undefined {
    const seen = this.entries.get(normalizeDn(dn));
    if (!seen) return undefined;
    if (attributes === undefined) return seen.covers === null ? seen.entry : undefined;
    if (seen.covers === null) return seen.entry;
    return attributes.every((a) => seen.covers!.has(a.toLowerCase())) ? seen.entry : undefined;
  }

  /** A write to `dn` is being sent: what was seen of it is stale from now on. */
  wrote(dn: string): void {
    const key = normalizeDn(dn);
    const seen = this.entries.get(key);
    this.entries.delete(key);
    this.lastWrite.delete(key);
    ++this.seq;
    // The only open search yielded this entry already and will not yield it again: no later
    // page of it can be stale for this DN, so nothing needs keeping (a rewrite of a million
    // entries inside one search would otherwise keep a million DNs here).
    if (seen && this.open.size === 1 && this.open.has(seen.search)) return;
    this.lastWrite.set(key, this.seq);
    // Ordered by sequence: drop writes older than every open search.
    const oldest = this.open.size === 0 ? this.seq : Math.min(...this.open.values());
    for (const [k, s] of this.lastWrite) {
      if (s > oldest) break;
      this.lastWrite.delete(k);
    }
  }

  /** A rename moves whole subtrees: forget everything seen. */
  forgetAll(): void {
    this.entries.clear();
    this.lastRename = ++this.seq;
  }
}

/**
 * A script's search as it is sent: one that names its attributes (the common `attributes:
 * ['uid']`, then a write of another one) asks for every user attribute too, so that a write to
 * an entry it returned has its whole pre-image without a read per write; `project` gives the
 * script only what it asked for.
 */
export function widened(request: SearchRequest): { wire: SearchRequest; project: (entry: LdapEntry) => LdapEntry } {
  const asked = request.attributes;
  if (asked === undefined || asked.length === 0 || asked.includes('*')) return { wire: request, project: (e) => e };
  return { wire: { ...request, attributes: ['*', ...asked.filter((a) => a !== '1.1')] }, project: (e) => pickAttributes(e, asked) };
}
