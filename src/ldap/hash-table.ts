/**
 * A hash table from strings (DNs) to small integers in flat memory: the key is kept as a 64-bit
 * hash only, values in typed arrays — about 12 bytes per slot and per value column instead of a
 * Map entry with its key string (about 150 bytes), so that a million DNs take a few tens of MB.
 * Two strings with one 64-bit hash (odds about 1 in 10¹⁰ per million keys) share a slot: callers
 * use it only where that cannot lose anything (see Overlay, readBack).
 */
export class HashTable64 {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private full: Uint8Array;
  /** The value columns, one Int32Array each (index by slot). */
  columns: Int32Array[];
  size = 0;

  constructor(private readonly width = 1, capacity = 1024) {
    let n = 16;
    while (n * 3 < capacity * 4) n *= 2;
    this.hi = new Uint32Array(n);
    this.lo = new Uint32Array(n);
    this.full = new Uint8Array(n);
    this.columns = Array.from({ length: width }, () => new Int32Array(n));
  }

  /** The slot holding `key`, or -1. */
  lookup(key: string): number {
    if (this.size === 0) return -1;
    const [h, l] = hash64(key);
    const slot = this.find(h, l);
    return this.full[slot] ? slot : -1;
  }

  /** The slot holding the key whose hash `other` keeps in `otherSlot`, or -1. */
  lookupSlotOf(other: HashTable64, otherSlot: number): number {
    if (this.size === 0) return -1;
    const slot = this.find(other.hi[otherSlot]!, other.lo[otherSlot]!);
    return this.full[slot] ? slot : -1;
  }

  /** The slot holding `key`, made (its values 0) when absent. */
  insert(key: string): number {
    if ((this.size + 1) * 4 > this.full.length * 3) this.grow();
    const [h, l] = hash64(key);
    const slot = this.find(h, l);
    if (!this.full[slot]) {
      this.full[slot] = 1;
      this.hi[slot] = h;
      this.lo[slot] = l;
      this.size++;
    }
    return slot;
  }

  /** Every slot in use. */
  *slots(): Iterable<number> {
    for (let i = 0; i < this.full.length; i++) if (this.full[i]) yield i;
  }

  /** Bytes held, for bounding caches of tables. */
  get bytes(): number {
    return this.full.length * (9 + 4 * this.width);
  }

  /** The slot of the hash, or the empty slot where it would go (linear probing). */
  private find(h: number, l: number): number {
    const mask = this.full.length - 1;
    for (let i = (l ^ h) & mask; ; i = (i + 1) & mask) {
      if (!this.full[i] || (this.hi[i] === h && this.lo[i] === l)) return i;
    }
  }

  private grow(): void {
    const { hi, lo, full, columns } = this;
    const size = full.length * 2;
    this.hi = new Uint32Array(size);
    this.lo = new Uint32Array(size);
    this.full = new Uint8Array(size);
    this.columns = columns.map(() => new Int32Array(size));
    for (let j = 0; j < full.length; j++) {
      if (!full[j]) continue;
      const i = this.find(hi[j]!, lo[j]!);
      this.full[i] = 1;
      this.hi[i] = hi[j]!;
      this.lo[i] = lo[j]!;
      for (let c = 0; c < columns.length; c++) this.columns[c]![i] = columns[c]![j]!;
    }
  }
}

/** Two independent 32-bit FNV-1a style hashes of the string's UTF-16 code units. */
export function hash64(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return [a >>> 0, b >>> 0];
}
