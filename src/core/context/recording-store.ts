import type { Directory, SearchRequest } from '../../ldap/directory.js';
import { applyModifications, cloneEntry, isUnder, normalizeDn, parentDn, type LdapEntry } from '../../ldap/entry.js';
import type { ChangeRecord } from '../../ldif/types.js';
import type { EntryStore, PlannedWrite } from './entry-store.js';
import { compileFilter } from './filter-match.js';

/** Receives each planned change as it is produced (the dry run streams them; nothing is collected). */
export type PlannedChangeSink = (script: string, record: ChangeRecord) => void;

/**
 * The dry run's store: reads go to the master and see the writes planned earlier in the same dry
 * run (an overlay of planned entries); writes are recorded, never sent.
 */
export class RecordingStore implements EntryStore {
  readonly dryRun = true;
  /** Normalised DN → planned entry, or null when planned to be deleted. */
  private readonly overlay = new Map<string, LdapEntry | null>();

  constructor(
    private readonly master: Directory,
    private readonly sink: PlannedChangeSink,
  ) {}

  async get(dn: string): Promise<LdapEntry | null> {
    const key = normalizeDn(dn);
    if (this.overlay.has(key)) {
      const e = this.overlay.get(key)!;
      return e ? cloneEntry(e) : null;
    }
    return this.master.get(dn);
  }

  async *search(request: SearchRequest): AsyncGenerator<LdapEntry> {
    const match = compileFilter(request.filter ?? '(objectClass=*)');
    const seen = new Set<string>();
    // Ask the server for everything in scope that the filter or a planned change could concern:
    // entries whose planned version matches must be found even if their stored one does not.
    for await (const entry of this.master.search(request)) {
      const key = normalizeDn(entry.dn);
      if (!this.overlay.has(key)) {
        yield entry;
        continue;
      }
      seen.add(key);
      const planned = this.overlay.get(key);
      if (planned && match(planned)) yield cloneEntry(planned);
    }
    for (const [key, planned] of this.overlay) {
      if (!planned || seen.has(key) || !inScope(planned.dn, request) || !match(planned)) continue;
      yield cloneEntry(planned);
    }
  }

  async write(w: PlannedWrite, script: string): Promise<void> {
    switch (w.kind) {
      case 'add':
        this.overlay.set(normalizeDn(w.dn), { dn: w.dn, attributes: w.attributes });
        this.sink(script, { kind: 'add', dn: w.dn, attributes: w.attributes, merge: false, line: 0 });
        break;
      case 'modify':
        this.overlay.set(normalizeDn(w.dn), applyModifications(w.pre, w.changes));
        this.sink(script, { kind: 'modify', dn: w.dn, changes: w.changes, line: 0 });
        break;
      case 'delete':
        this.overlay.set(normalizeDn(w.dn), null);
        this.sink(script, { kind: 'delete', dn: w.dn, line: 0 });
        break;
      case 'rename': {
        this.overlay.set(normalizeDn(w.dn), null);
        this.overlay.set(normalizeDn(w.newDn), { ...cloneEntry(w.pre), dn: w.newDn });
        const newParent = parentDn(w.newDn);
        const sameParent = normalizeDn(newParent) === normalizeDn(parentDn(w.dn));
        const newRdn = w.newDn.slice(0, w.newDn.length - newParent.length).replace(/,\s*$/, '');
        this.sink(script, { kind: 'modrdn', dn: w.dn, newRdn, deleteOldRdn: true, newSuperior: sameParent ? undefined : newParent, line: 0 });
        break;
      }
    }
  }
}

function inScope(dn: string, request: SearchRequest): boolean {
  const scope = request.scope ?? 'sub';
  if (scope === 'base') return normalizeDn(dn) === normalizeDn(request.base);
  if (scope === 'one') return normalizeDn(parentDn(dn)) === normalizeDn(request.base);
  return isUnder(dn, request.base);
}
