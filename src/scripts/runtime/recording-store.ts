import type { Directory, SearchRequest } from '../../ldap/directory.js';
import { applyModifications, cloneEntry, isUnder, normalizeDn, parentDn, type LdapEntry, type Modification } from '../../ldap/entry.js';
import type { ChangeRecord } from '../../ldif/types.js';
import type { EntryStore, WriteTally } from './entry-store.js';
import type { PlannedWrite } from '../../ldap/planned-write.js';
import { entryStream } from './entry-stream.js';
import { compileFilter } from './filter-match.js';
import { Overlay, type Planned } from './overlay.js';
import { SeenEntries, widened } from './seen-entries.js';
import { planWrite, readForPlan, type WriteIntent } from './write-plan.js';

/**
 * Receives each planned change as it is produced (the dry run streams them; nothing is
 * collected): as LDIF, and as the effective write with the entry it was planned from.
 */
export type PlannedChangeSink = (script: string, record: ChangeRecord, write: PlannedWrite, basis?: ReadBasis) => void;

/**
 * With `trackReads` (a saved plan): what a modify was planned from beyond the attributes it
 * changes — the attributes the script read of that entry (`of`; null: all of them, it read the
 * whole entry), and the entry's values of those as the script saw them.
 */
export interface ReadBasis {
  of: string[] | null;
  entry: LdapEntry | null;
}

/**
 * Scripts tend to make the same change to many entries. The overlay keeps one frozen copy of each
 * distinct list of modifications (of string values, up to a bound), so a dry run over a hundred
 * thousand entries holds one overlay slot per planned change (see Overlay). Copies also protect the overlay from a
 * script that reuses and mutates its arrays.
 */
class ChangeInterner {
  private readonly lists = new Map<string, readonly Modification[]>();
  private last: readonly Modification[] = [];

  constructor(private readonly capacity = 10_000) {}

  intern(changes: Modification[]): readonly Modification[] {
    // Most often the same change as the entry before: no key to build then.
    if (sameChanges(changes, this.last)) return this.last;
    const copy = () => changes.map((c) => ({ operation: c.operation, attribute: c.attribute, values: c.values.map((v) => (typeof v === 'string' ? v : Buffer.from(v))) }));
    if (!changes.every((c) => c.values.every((v) => typeof v === 'string'))) return freeze(copy());
    const key = JSON.stringify(changes.map((c) => [c.operation, c.attribute, c.values]));
    const known = this.lists.get(key);
    if (known) return known;
    const frozen = freeze(copy());
    if (key.length <= 1_000 && this.lists.size < this.capacity) this.lists.set(key, frozen);
    this.last = frozen;
    return frozen;
  }
}

function sameChanges(a: Modification[], b: readonly Modification[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.operation !== y.operation || x.attribute !== y.attribute || x.values.length !== y.values.length) return false;
    for (let j = 0; j < x.values.length; j++) if (typeof x.values[j] !== 'string' || x.values[j] !== y.values[j]) return false;
  }
  return true;
}

function freeze(changes: Modification[]): readonly Modification[] {
  for (const c of changes) Object.freeze(c.values);
  return Object.freeze(changes.map((c) => Object.freeze(c)));
}

/**
 * The dry run's store: reads go to the master and see the writes planned earlier in the same dry
 * run (an overlay keyed by DN); writes are recorded, never sent. A modified entry is kept as its
 * modifications only, so a dry run over a large directory holds little more than its changes.
 */
export class RecordingStore implements EntryStore {
  readonly dryRun = true;
  private readonly overlay = new Overlay();
  private readonly changes = new ChangeInterner();
  /** Stored (server) versions from the script's searches; the overlay applies on top of them. */
  private readonly seen = new SeenEntries();

  /** With trackReads: per entry the script read, the attributes it asked for (null: all). */
  private readonly reads?: Map<string, readonly string[] | null>;

  constructor(
    private readonly master: Directory,
    private readonly sink: PlannedChangeSink,
    options: { trackReads?: boolean } = {},
  ) {
    if (options.trackReads) this.reads = new Map();
  }

  get(dn: string): Promise<LdapEntry | null> {
    this.noteRead(normalizeDn(dn), undefined);
    return this.lookup(dn, undefined);
  }

  /** The script read `attributes` (undefined or `*`: every user attribute) of the entry `key`. */
  private noteRead(key: string, attributes: string[] | undefined): void {
    if (!this.reads) return;
    const all = !attributes || attributes.includes('*');
    const asked = all ? null : attributes.filter((a) => a !== '1.1' && a !== '+' && !a.startsWith('@'));
    const had = this.reads.get(key);
    if (had === null || (had !== undefined && asked !== null && asked.every((a) => had.includes(a)))) return;
    this.reads.set(key, asked === null || had === undefined ? asked : [...new Set([...had, ...asked])]);
  }

  search(request: SearchRequest): AsyncIterable<LdapEntry> {
    const match = compileFilter(request.filter ?? '(objectClass=*)');
    const seen = new Set<string>();
    const { wire, project } = widened(request);
    const mark = this.seen.openSearch(wire.attributes);
    return entryStream(this.master.searchPages(wire), {
      map: (entry) => {
        const key = this.seen.remember(entry, mark);
        this.noteRead(key, request.attributes);
        const planned = this.overlay.get(key);
        if (!planned) return project(entry);
        seen.add(key);
        const now = over(entry, planned);
        return now && match(now) ? project(now) : undefined;
      },
      // Entries whose planned version matches must be found even if their stored one does not:
      // the overlay's own entries in scope come after the server's.
      tail: () => [...this.overlay.entries()]
        .filter(([key, entry]) => !seen.has(key) && inScope(entry.dn, request) && match(entry))
        .map(([, entry]) => cloneEntry(entry)),
      close: () => this.seen.closeSearch(mark),
    });
  }

  private abandoned?: Error;

  abandon(reason: Error): void {
    this.abandoned ??= reason;
  }

  async submit(intent: WriteIntent, script: string, tally: WriteTally): Promise<void> {
    if (this.abandoned) throw this.abandoned;
    const write = await planWrite(intent, (dn, attributes) => this.lookup(dn, attributes));
    if (!write) return;
    this.record(write, script, await this.basis(write));
    tally();
  }

  /** A modify's read basis, before it is recorded (see ReadBasis); undefined without trackReads, or when the script read nothing more of the entry. */
  private async basis(w: PlannedWrite): Promise<ReadBasis | undefined> {
    if (!this.reads || w.kind !== 'modify') return undefined;
    const read = this.reads.get(normalizeDn(w.dn));
    if (read === undefined) return undefined;
    const changed = [...new Set(w.changes.map((c) => c.attribute))];
    const of = read === null ? null : [...new Set([...changed, ...read])];
    if (of !== null && of.length === changed.length) return undefined;
    return { of, entry: await this.lookup(w.dn, of ?? undefined) };
  }

  async flush(): Promise<void> {
    // Nothing is ever in flight.
  }

  /** The dry run ended: the overlay's spill file (planned entries, data) goes. */
  close(): void {
    this.overlay.close();
  }

  private async lookup(dn: string, attributes: string[] | undefined): Promise<LdapEntry | null> {
    const key = normalizeDn(dn);
    const planned = this.overlay.get(key);
    if (planned && !isChanges(planned)) return 'gone' in planned ? null : cloneEntry(planned.entry);
    // Below an entry the dry run itself adds (or renames to), nothing is on the server yet: a
    // bulk import into a new branch reads nothing back per record.
    if (!planned && this.plannedNew(dn)) return null;
    const stored = this.seen.lookup(dn, attributes)
      ?? await readForPlan(this.master, dn, attributes);
    return stored && planned ? over(stored, planned) : stored;
  }

  /** Whether the parent of `dn` is an entry this dry run plans anew. */
  private plannedNew(dn: string): boolean {
    const parent = parentDn(dn);
    if (!parent) return false;
    const p = this.overlay.get(normalizeDn(parent));
    return p !== undefined && !isChanges(p) && 'entry' in p;
  }

  private record(w: PlannedWrite, script: string, basis?: ReadBasis): void {
    const key = normalizeDn(w.dn);
    switch (w.kind) {
      case 'add':
        this.overlay.set(key, { entry: { dn: w.dn, attributes: w.attributes } });
        this.sink(script, { kind: 'add', dn: w.dn, attributes: w.attributes, merge: false, line: 0 }, w);
        break;
      case 'modify': {
        const planned = this.overlay.get(key);
        if (planned && !isChanges(planned) && 'entry' in planned) this.overlay.set(key, { entry: applyModifications(planned.entry, w.changes) });
        else this.overlay.set(key, this.changes.intern([...(planned && isChanges(planned) ? planned : []), ...w.changes]));
        this.sink(script, { kind: 'modify', dn: w.dn, changes: w.changes, line: 0 }, w, basis);
        break;
      }
      case 'delete':
        this.overlay.set(key, { gone: true });
        this.sink(script, { kind: 'delete', dn: w.dn, line: 0 }, w);
        break;
      case 'rename': {
        this.overlay.set(key, { gone: true });
        this.overlay.set(normalizeDn(w.newDn), { entry: { ...cloneEntry(w.pre), dn: w.newDn } });
        const newParent = parentDn(w.newDn);
        const sameParent = normalizeDn(newParent) === normalizeDn(parentDn(w.dn));
        const newRdn = w.newDn.slice(0, w.newDn.length - newParent.length).replace(/,\s*$/, '');
        this.sink(script, { kind: 'modrdn', dn: w.dn, newRdn, deleteOldRdn: true, newSuperior: sameParent ? undefined : newParent, line: 0 }, w);
        break;
      }
    }
  }
}

/** The stored entry as the dry run has planned it (null: planned to be deleted). */
function over(stored: LdapEntry, planned: Planned): LdapEntry | null {
  if (isChanges(planned)) return applyModifications(stored, [...planned]);
  return 'gone' in planned ? null : cloneEntry(planned.entry);
}

function isChanges(planned: Planned): planned is readonly Modification[] {
  return Array.isArray(planned);
}

function inScope(dn: string, request: SearchRequest): boolean {
  const scope = request.scope ?? 'sub';
  if (scope === 'base') return normalizeDn(dn) === normalizeDn(request.base);
  if (scope === 'one') return normalizeDn(parentDn(dn)) === normalizeDn(request.base);
  return isUnder(dn, request.base);
}
