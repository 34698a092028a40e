import type { LdapEntry, Modification } from '../../ldap/entry.js';

/**
 * What the dry run planned for one DN: gone, a whole new entry, or modifications over the stored
 * one (a bare, frozen array, often shared between entries).
 */
export type Planned = { gone: true } | { entry: LdapEntry } | readonly Modification[];

const EMPTY = -2;
const GONE = -1;
const GONE_PLANNED: Planned = Object.freeze({ gone: true as const });

/**
 * The dry run's overlay: planned changes by normalised DN, in flat memory for the large cases.
 * A DN whose plan is "gone" or a list of modifications (often one list shared by many DNs) takes
 * one slot of three typed arrays — a 64-bit hash of the DN and an index, about 24 bytes with the table's
 * slack — instead of a Map entry with its key string (about 150 bytes): a rewrite or a purge of
 * a million entries holds a few tens of MB. New entries (added or renamed) stay in a Map. Two DNs with one 64-bit hash (odds about 1 in 10¹⁰ per million DNs)
 * would share a plan in the dry run's view; the real run never uses this.
 */
export class Overlay {
  private hi = new Uint32Array(1024);
  private lo = new Uint32Array(1024);
  private val = new Int32Array(1024).fill(EMPTY);
  private used = 0;
  private readonly lists: (readonly Modification[])[] = [];
  private readonly listIds = new Map<readonly Modification[], number>();
  private readonly other = new Map<string, Planned>();

  get(key: string): Planned | undefined {
    const other = this.other.get(key);
    if (other) return other;
    if (this.used === 0) return undefined;
    const v = this.val[this.find(key)]!;
    return v === EMPTY ? undefined : v === GONE ? GONE_PLANNED : this.lists[v];
  }

  /** A list of modifications must not change afterwards (the interner's are frozen): it may be shared by many DNs. */
  set(key: string, planned: Planned): void {
    const compact = Array.isArray(planned) ? this.listId(planned as readonly Modification[]) : 'gone' in planned ? GONE : undefined;
    if (compact === undefined) {
      this.remove(key);
      this.other.set(key, planned);
      return;
    }
    this.other.delete(key);
    if ((this.used + 1) * 4 > this.val.length * 3) this.grow();
    const slot = this.find(key);
    if (this.val[slot] === EMPTY) {
      this.used++;
      const [h, l] = hash(key);
      this.hi[slot] = h;
      this.lo[slot] = l;
    }
    this.val[slot] = compact;
  }

  /** The new entries (added or renamed) the dry run planned: the only plans a search must add itself. */
  *entries(): Iterable<[string, LdapEntry]> {
    for (const [key, planned] of this.other) if (!Array.isArray(planned) && 'entry' in planned) yield [key, planned.entry];
  }

  private remove(key: string): void {
    if (this.used === 0) return;
    // The slot keeps its hash (no tombstones in linear probing); `other`, read first, wins.
    const slot = this.find(key);
    if (this.val[slot] !== EMPTY) this.val[slot] = GONE;
  }

  private listId(list: readonly Modification[]): number {
    let id = this.listIds.get(list);
    if (id === undefined) {
      id = this.lists.length;
      this.lists.push(list);
      this.listIds.set(list, id);
    }
    return id;
  }

  /** The slot of `key`, or the empty slot where it would go (linear probing). */
  private find(key: string): number {
    const [h, l] = hash(key);
    const mask = this.val.length - 1;
    for (let i = (l ^ h) & mask; ; i = (i + 1) & mask) {
      if (this.val[i] === EMPTY || (this.hi[i] === h && this.lo[i] === l)) return i;
    }
  }

  private grow(): void {
    const { hi, lo, val } = this;
    const size = val.length * 2;
    this.hi = new Uint32Array(size);
    this.lo = new Uint32Array(size);
    this.val = new Int32Array(size).fill(EMPTY);
    const mask = size - 1;
    for (let j = 0; j < val.length; j++) {
      if (val[j] === EMPTY) continue;
      let i = (lo[j]! ^ hi[j]!) & mask;
      while (this.val[i] !== EMPTY) i = (i + 1) & mask;
      this.hi[i] = hi[j]!;
      this.lo[i] = lo[j]!;
      this.val[i] = val[j]!;
    }
  }
}

/** Two independent 32-bit FNV-1a style hashes of the string's UTF-16 code units. */
function hash(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return [a >>> 0, b >>> 0];
}
