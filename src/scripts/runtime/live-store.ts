import type { Directory, SearchRequest } from '../../ldap/directory.js';
import { codeOf } from '../../ldap/wire.js';
import { normalizeDn, type LdapEntry } from '../../ldap/entry.js';
import { DEFAULT_WRITE_CONCURRENCY } from '../../config/types.js';
import type { Journal } from '../../records/journal.js';
import { WriteFailure, type EntryStore, type WriteTally } from './entry-store.js';
import type { PlannedWrite } from '../../ldap/planned-write.js';
import { entryStream } from './entry-stream.js';
import { SeenEntries, widened, type SearchMark } from './seen-entries.js';
import { intentDns, planWrite, readForPlan, type EntryLookup, type WriteIntent } from './write-plan.js';
import type { SavedWrite } from '../../plan/saved-plan.js';
import { checkReplaced, replaySaved } from './saved-write.js';

/** How a queued write is made: planned from the entry as it is, and checked once it is answered. */
interface WriteHow {
  plan: (lookup: EntryLookup) => Promise<PlannedWrite | null>;
  /** Throws when what the write replaced (the server's Pre-Read) is not what was expected. */
  after?: (replaced: LdapEntry | undefined) => void;
}

interface Job {
  /** Normalised DNs the write touches. */
  dns: string[];
  /** An add, delete or rename: it also orders against writes above and below it. */
  structural: boolean;
  done: Promise<void>;
}

/**
 * The real run's store (docs/run.md "Apply"). Writes are pipelined: up to `concurrency` are in flight
 * on the master connection; a write waits only for earlier writes on related DNs (the same entry,
 * an ancestor or a descendant), so each entry's writes keep their order. Each write's pre-image —
 * from the script's own search when it asked for the attributes written, else read from the
 * master — is appended to the journal before the write is sent. The first failure stops new
 * writes; the ones in flight finish (and are journaled), then the run rolls back.
 */
export class LiveStore implements EntryStore {
  readonly dryRun = false;
  private readonly jobs = new Set<Job>();
  /** The latest job on each DN in flight (jobs on one DN wait for each other: the latest is enough). */
  private readonly latest = new Map<string, Job>();
  private structuralInFlight = 0;
  private readonly seen = new SeenEntries();
  private failure?: WriteFailure;
  /** Submits waiting for a free slot in the window. */
  private readonly slotFreed: (() => void)[] = [];

  constructor(
    private readonly master: Directory,
    private readonly journal: Journal,
    private readonly options: { signal?: AbortSignal; concurrency?: number } = {},
  ) {
    // Journal records are written in one go right before the batch of writes they describe.
    if (master.batchWrites(() => journal.writePending())) journal.deferWrites();
  }

  private get concurrency(): number {
    return Math.max(1, this.options.concurrency ?? DEFAULT_WRITE_CONCURRENCY);
  }

  async get(dn: string): Promise<LdapEntry | null> {
    await this.settle(this.related([normalizeDn(dn)], true));
    this.check();
    return this.master.get(dn);
  }

  search(request: SearchRequest): AsyncIterable<LdapEntry> {
    let mark: SearchMark | undefined;
    const { wire, project } = widened(request);
    return entryStream(this.master.searchPages(wire), {
      // A search sees every write submitted before it.
      before: async () => {
        await this.flush();
        mark = this.seen.openSearch(wire.attributes);
      },
      map: (entry) => {
        this.seen.remember(entry, mark!);
        return project(entry);
      },
      close: () => { if (mark) this.seen.closeSearch(mark); },
    });
  }

  async submit(intent: WriteIntent, script: string, tally: WriteTally): Promise<void> {
    await this.enqueue(intentDns(intent), intent.kind !== 'modify', intent.dn, script, tally, {
      plan: (lookup) => planWrite(intent, lookup),
    });
  }

  /**
   * A write of a reviewed plan (`upgrade --plan`): sent as planned only when the entry still
   * holds what the plan was made from, read right before it (else PlanMoved, nothing sent), and
   * checked again against the server's pre-image, atomic with the write: a client's change in
   * between fails the run, and the journal holds the client's values for the rollback to restore.
   */
  async submitSaved(saved: SavedWrite, script: string, tally: WriteTally): Promise<void> {
    let planned: PlannedWrite | undefined;
    await this.enqueue(saved.kind === 'rename' ? [saved.dn, saved.newDn] : [saved.dn], saved.kind !== 'modify', saved.dn, script, tally, {
      plan: async (lookup) => (planned = await replaySaved(saved, lookup)),
      after: (replaced) => checkReplaced(saved, planned, replaced),
    });
  }

  private async enqueue(raw: string[], structural: boolean, dn: string, script: string, tally: WriteTally, how: WriteHow): Promise<void> {
    this.check();
    while (this.jobs.size >= this.concurrency) {
      await new Promise<void>((resolve) => this.slotFreed.push(resolve));
      this.check();
    }
    const dns = raw.map(normalizeDn);
    const before = this.related(dns, structural);
    const job: Job = { dns, structural, done: Promise.resolve() };
    job.done = this.runJob(job, dn, raw, how, script, tally, before);
    this.jobs.add(job);
    for (const d of dns) this.latest.set(d, job);
    if (structural) this.structuralInFlight++;
  }

  async flush(): Promise<void> {
    await this.drain();
    this.check();
  }

  /** Waits for every write in flight, failed or not (before a rollback reads the journal). */
  async drain(): Promise<void> {
    while (this.jobs.size > 0) await this.settle([...this.jobs]);
  }

  abandon(reason: Error): void {
    this.failure ??= new WriteFailure('', reason);
  }

  /** After `drain`: the master connection's later writes (the run's records) are not batched. */
  finish(): void {
    this.master.batchWrites(undefined);
  }

  /** Runs one job to its end: it never rejects (a failure is kept for the next call to throw). */
  private async runJob(job: Job, dn: string, dns: string[], how: WriteHow, script: string, tally: WriteTally, before: Job[]): Promise<void> {
    try {
      await this.run(dns, how, script, tally, before);
    } catch (err) {
      // A journal that could not be written explains every write that failed with it (their
      // socket was closed before they left): report that, not "connection closed".
      const cause = this.journal.failure ?? err;
      this.failure ??= cause instanceof WriteFailure ? cause : new WriteFailure(dn, cause);
    } finally {
      this.jobs.delete(job);
      for (const dn of job.dns) if (this.latest.get(dn) === job) this.latest.delete(dn);
      if (job.structural) this.structuralInFlight--;
      this.slotFreed.shift()?.();
    }
  }

  private async run(dns: string[], how: WriteHow, script: string, tally: WriteTally, before: Job[]): Promise<void> {
    if (before.length > 0) await this.settle(before);
    if (this.failure) return; // stopped: not sent, not journaled
    const write = await how.plan((dn, attributes) => this.lookup(dn, attributes));
    if (!write) return;
    if (this.failure) return;
    const seq = this.journal.append(write, script);
    if (write.kind === 'rename') this.seen.forgetAll();
    for (const dn of dns) this.seen.wrote(dn);
    let replaced: LdapEntry | undefined;
    try {
      replaced = await this.send(write);
    } catch (err) {
      // An LDAP result code: the server refused it, nothing changed. No code (the connection
      // failed): it may have been applied, and stays in the journal to be undone.
      if (codeOf(err) !== undefined) this.journal.refused(seq);
      throw err;
    }
    // What the write really replaced (the server's pre-image, atomic with it): a client may have
    // changed the entry since it was read for planning. The journal keeps the real one.
    if (replaced) this.journal.correct(seq, write, replaced);
    how.after?.(replaced);
    tally();
  }

  private async lookup(dn: string, attributes: string[] | undefined): Promise<LdapEntry | null> {
    const seen = this.seen.lookup(dn, attributes);
    if (seen) return seen;
    return readForPlan(this.master, dn, attributes);
  }

  /**
   * Jobs a write on `dns` must wait for: those on the same DNs and, when either is an add, delete
   * or rename (`structural`), those above or below them. Modifies of different entries never
   * wait for each other.
   */
  private related(dns: string[], structural: boolean): Job[] {
    if (!structural && this.structuralInFlight === 0) {
      const out: Job[] = [];
      for (const dn of dns) {
        const job = this.latest.get(dn);
        if (job) out.push(job);
      }
      return out;
    }
    const out: Job[] = [];
    for (const job of this.jobs) {
      if (job.dns.some((a) => dns.some((b) => a === b || a.endsWith(',' + b) || b.endsWith(',' + a)))) out.push(job);
    }
    return out;
  }

  private async settle(jobs: Job[]): Promise<void> {
    await Promise.all(jobs.map((j) => j.done));
  }

  /** Throws the first failure, or the interruption, so that no new write starts. */
  private check(): void {
    if (this.failure) throw this.failure;
    const signal = this.options.signal;
    if (signal?.aborted) throw new Error(`interrupted by ${String(signal.reason ?? 'a signal')}`);
  }

  /** Sends a write; a modify and a delete ask for their pre-image (Pre-Read) and return it. */
  private async send(w: PlannedWrite): Promise<LdapEntry | undefined> {
    switch (w.kind) {
      case 'add': await this.master.add(w.dn, w.attributes); return undefined;
      case 'modify': return this.master.modify(w.dn, w.changes, [...new Set(w.changes.map((c) => c.attribute))]);
      case 'delete': return this.master.delete(w.dn, ['*']);
      case 'rename': await this.master.rename(w.dn, w.newDn); return undefined;
    }
  }
}
