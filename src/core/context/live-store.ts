import type { Directory, SearchRequest } from '../../ldap/directory.js';
import type { LdapEntry } from '../../ldap/entry.js';
import type { Journal } from '../journal.js';
import type { EntryStore, PlannedWrite } from './entry-store.js';

/** The real run's store: every write's pre-image goes to the journal before the write is sent. */
export class LiveStore implements EntryStore {
  readonly dryRun = false;

  constructor(
    private readonly master: Directory,
    private readonly journal: Journal,
    private readonly signal?: AbortSignal,
  ) {}

  get(dn: string): Promise<LdapEntry | null> {
    return this.master.get(dn);
  }

  search(request: SearchRequest): AsyncIterable<LdapEntry> {
    return this.master.search(request);
  }

  /** Writes sent and not answered yet. */
  private readonly inFlight = new Set<Promise<unknown>>();

  async write(w: PlannedWrite, script: string): Promise<void> {
    // A signal stops new writes at once; the run then rolls back what it wrote.
    if (this.signal?.aborted) throw new Error(`interrupted by ${String(this.signal.reason ?? 'a signal')}`);
    this.journal.append(w, script);
    const sent = this.send(w);
    this.inFlight.add(sent);
    try {
      await sent;
    } finally {
      this.inFlight.delete(sent);
    }
  }

  /** Waits for the writes in flight (before a rollback reads the journal). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private send(w: PlannedWrite): Promise<void> {
    switch (w.kind) {
      case 'add': return this.master.add(w.dn, w.attributes);
      case 'modify': return this.master.modify(w.dn, w.changes);
      case 'delete': return this.master.delete(w.dn);
      case 'rename': return this.master.rename(w.dn, w.newDn);
    }
  }
}
