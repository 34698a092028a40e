import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LdapEntry, Modification } from '../../ldap/entry.js';
import { HashTable64 } from '../../ldap/hash-table.js';
import { decodeBuffers, encodeBuffers } from '../../records/json-values.js';

/**
 * What the dry run planned for one DN: gone, a whole new entry, or modifications over the stored
 * one (a bare, frozen array, often shared between entries).
 */
export type Planned = { gone: true } | { entry: LdapEntry } | readonly Modification[];

const GONE = -1;
/** Column 0 of a new entry written to the spill file (columns 1 and 2: its offset there). */
const SPILLED = -2;
const GONE_PLANNED: Planned = Object.freeze({ gone: true as const });
/** New entries kept in memory before they go to the spill file (a bulk import's adds). */
const IN_MEMORY = 20_000;
/** The spill file's record header and read buffer, reused (one dry run at a time per process). */
const HEAD = Buffer.alloc(4);
let READ = Buffer.alloc(1 << 16);

/**
 * The dry run's overlay: planned changes by normalised DN, in flat memory for the large cases.
 * A DN whose plan is "gone" or a list of modifications (often one list shared by many DNs) takes
 * one slot of a HashTable64 (about 24 bytes with the table's slack) instead of a Map entry with
 * its key string: a rewrite or a purge of a million entries holds a few tens of MB. New entries
 * (added or renamed) stay in a Map up to IN_MEMORY of them; past that they go to a spill file
 * (private, removed from the folder as soon as it is made: it holds data), the table keeping
 * where — a bulk import of a million entries is planned in flat memory too. Two DNs with one
 * 64-bit hash would share a plan in the dry run's view (a spilled entry is checked by its DN);
 * the real run never uses this.
 */
export class Overlay {
  /** Column 0: GONE, SPILLED, or the index of a list of modifications plus one (0: no plan here). */
  private readonly table = new HashTable64(1);
  /** Spilled entries: where each is in the spill file (made with it, so that a rewrite of a million entries pays nothing for it). */
  private spill?: { fd: number; size: number; index: HashTable64 };
  private readonly lists: (readonly Modification[])[] = [];
  private readonly listIds = new Map<readonly Modification[], number>();
  private readonly other = new Map<string, Planned>();

  get(key: string): Planned | undefined {
    const other = this.other.get(key);
    if (other) return other;
    const slot = this.table.lookup(key);
    const v = slot < 0 ? 0 : this.table.columns[0]![slot]!;
    if (v === SPILLED) {
      const record = this.readSpilled(this.offsetOf(key));
      return record.key === key ? { entry: record.entry } : undefined;
    }
    return v === 0 ? undefined : v === GONE ? GONE_PLANNED : this.lists[v - 1];
  }

  /** A list of modifications must not change afterwards (the interner's are frozen): it may be shared by many DNs. */
  set(key: string, planned: Planned): void {
    const compact = Array.isArray(planned) ? this.listId(planned as readonly Modification[]) + 1 : 'gone' in planned ? GONE : undefined;
    if (compact === undefined) {
      if (this.other.size >= IN_MEMORY && !this.other.has(key)) {
        const offset = this.writeSpilled(key, (planned as { entry: LdapEntry }).entry);
        const at = this.spill!.index.insert(key);
        this.spill!.index.columns[0]![at] = offset % 2 ** 31;
        this.spill!.index.columns[1]![at] = Math.floor(offset / 2 ** 31);
        this.put(key, SPILLED);
        return;
      }
      this.remove(key);
      this.other.set(key, planned);
      return;
    }
    this.other.delete(key);
    this.put(key, compact);
  }

  /** The new entries (added or renamed) the dry run planned: the only plans a search must add itself. */
  *entries(): Iterable<[string, LdapEntry]> {
    for (const [key, planned] of this.other) if (!Array.isArray(planned) && 'entry' in planned) yield [key, planned.entry];
    if (!this.spill) return;
    // The spill file in order: each record that is still its DN's plan (a later plan may replace it).
    for (let offset = 0; offset < this.spill.size;) {
      const record = this.readSpilled(offset);
      const slot = this.table.lookup(record.key);
      if (slot >= 0 && this.table.columns[0]![slot] === SPILLED && this.offsetOf(record.key) === offset && !this.other.has(record.key)) yield [record.key, record.entry];
      offset += 4 + record.length;
    }
  }

  /** Closes the spill file (its data goes with it). */
  close(): void {
    if (this.spill) closeSync(this.spill.fd);
    this.spill = undefined;
  }

  /**
   * The slot first, then its column: `insert` may grow the table, which makes new columns (an
   * assignment `columns[0][insert(key)] = v` takes the old column before the call, and the value
   * was lost at each growth).
   */
  private put(key: string, value: number): void {
    const slot = this.table.insert(key);
    this.table.columns[0]![slot] = value;
  }

  private offsetOf(key: string): number {
    const { index } = this.spill!;
    const at = index.lookup(key);
    return index.columns[0]![at]! + index.columns[1]![at]! * 2 ** 31;
  }

  private writeSpilled(key: string, entry: LdapEntry): number {
    if (!this.spill) {
      const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-overlay-'));
      const file = join(dir, 'planned');
      const fd = openSync(file, 'wx+', 0o600);
      rmSync(dir, { recursive: true, force: true });
      this.spill = { fd, size: fstatSync(fd).size, index: new HashTable64(2) };
    }
    // Written as a string (no Buffer per record: a bulk import makes a million of them).
    const body = JSON.stringify({ key, entry }, encodeBuffers);
    const length = Buffer.byteLength(body, 'utf8');
    const offset = this.spill.size;
    HEAD.writeUInt32LE(length);
    writeSync(this.spill.fd, HEAD, 0, 4, offset);
    writeSync(this.spill.fd, body, offset + 4, 'utf8');
    this.spill.size += 4 + length;
    return offset;
  }

  private readSpilled(offset: number): { key: string; entry: LdapEntry; length: number } {
    readSync(this.spill!.fd, HEAD, 0, 4, offset);
    const length = HEAD.readUInt32LE();
    if (READ.length < length) READ = Buffer.alloc(Math.max(length, READ.length * 2));
    readSync(this.spill!.fd, READ, 0, length, offset + 4);
    const { key, entry } = JSON.parse(READ.toString('utf8', 0, length), decodeBuffers) as { key: string; entry: LdapEntry };
    return { key, entry, length };
  }

  private remove(key: string): void {
    // The slot stays (no tombstones in linear probing); `other`, read first, wins.
    const slot = this.table.lookup(key);
    if (slot >= 0) this.table.columns[0]![slot] = GONE;
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
}
