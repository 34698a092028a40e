import type { LdapEntry, Modification } from '../../ldap/entry.js';
import { HashTable64 } from '../../ldap/hash-table.js';

/**
 * What the dry run planned for one DN: gone, a whole new entry, or modifications over the stored
 * one (a bare, frozen array, often shared between entries).
 */
export type Planned = { gone: true } | { entry: LdapEntry } | readonly Modification[];

const GONE = -1;
const GONE_PLANNED: Planned = Object.freeze({ gone: true as const });

/**
 * The dry run's overlay: planned changes by normalised DN, in flat memory for the large cases.
 * A DN whose plan is "gone" or a list of modifications (often one list shared by many DNs) takes
 * one slot of a HashTable64 (about 24 bytes with the table's slack) instead of a Map entry with
 * its key string: a rewrite or a purge of a million entries holds a few tens of MB. New entries
 * (added or renamed) stay in a Map. Two DNs with one 64-bit hash would share a plan in the dry
 * run's view; the real run never uses this.
 */
export class Overlay {
  /** Column 0: GONE, or the index of a list of modifications plus one (0: no plan here). */
  private readonly table = new HashTable64(1);
  private readonly lists: (readonly Modification[])[] = [];
  private readonly listIds = new Map<readonly Modification[], number>();
  private readonly other = new Map<string, Planned>();

  get(key: string): Planned | undefined {
    const other = this.other.get(key);
    if (other) return other;
    const slot = this.table.lookup(key);
    const v = slot < 0 ? 0 : this.table.columns[0]![slot]!;
    return v === 0 ? undefined : v === GONE ? GONE_PLANNED : this.lists[v - 1];
  }

  /** A list of modifications must not change afterwards (the interner's are frozen): it may be shared by many DNs. */
  set(key: string, planned: Planned): void {
    const compact = Array.isArray(planned) ? this.listId(planned as readonly Modification[]) + 1 : 'gone' in planned ? GONE : undefined;
    if (compact === undefined) {
      this.remove(key);
      this.other.set(key, planned);
      return;
    }
    this.other.delete(key);
    this.table.columns[0]![this.table.insert(key)] = compact;
  }

  /** The new entries (added or renamed) the dry run planned: the only plans a search must add itself. */
  *entries(): Iterable<[string, LdapEntry]> {
    for (const [key, planned] of this.other) if (!Array.isArray(planned) && 'entry' in planned) yield [key, planned.entry];
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
