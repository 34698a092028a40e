import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Directory } from '../ldap/directory.js';
import { normalizeDn, parentDn, type LdapEntry } from '../ldap/entry.js';
import { differingAttributes, entryDigest } from './entry-compare.js';

/** One entry that does not read back on a replica as on the master. */
export interface EntryMismatch {
  dn: string;
  /** The first attribute that differs, or what is wrong with the entry as a whole. */
  what: string;
}

/** DNs read back per batch (each batch: one read per DN on the master and on the replica, in flight together). */
const BATCH = 256;
/** Mismatched DNs kept for the next poll; beyond that, the next poll reads everything again. */
const KEPT = 10_000;

/** An entry to read back, and the attributes that matter (undefined: every user attribute). */
export interface ReadTarget {
  dn: string;
  attributes?: string[];
}

/**
 * The entries a run changed, from its journal, with the attributes each write touched (a modify's;
 * an add, a delete, a rename and the `extra` DNs: every user attribute).
 */
export async function* journalTargets(path: string | undefined, extra: string[] = []): AsyncGenerator<ReadTarget> {
  for (const dn of extra) yield { dn };
  if (!path || !existsSync(path)) return;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let record: { kind?: unknown; dn?: unknown; newDn?: unknown; attributes?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      continue;
    }
    if (typeof record.dn !== 'string') continue;
    const touched = record.kind === 'modify' && Array.isArray(record.attributes) ? record.attributes.filter((a): a is string => typeof a === 'string') : undefined;
    // A delete: gone on both sides, or (after a rollback) back with every attribute.
    yield { dn: record.dn, ...(touched ? { attributes: touched } : {}) };
    if (typeof record.newDn === 'string') yield { dn: record.newDn };
  }
}

/**
 * The DNs a run changed, from its journal (SPEC §8: "by the DNs in the run's journal"), streamed
 * line by line: both names of a rename, and `extra` (the tool's own version entry). A torn last
 * line is skipped. DNs repeat when an entry was written more than once (each batch reads one
 * DN once).
 */
export async function* journalDns(path: string | undefined, extra: string[] = []): AsyncGenerator<string> {
  for await (const target of journalTargets(path, extra)) yield target.dn;
}

export interface ReadBackResult {
  /** How many entries differ (all of those seen). */
  count: number;
  first?: EntryMismatch;
  /** Entries to read again next time; undefined: too many, read every one again. */
  again?: ReadTarget[];
}

/** DNs taken per round: their parents are grouped within one round. */
const ROUND = 20_000;
/**
 * A parent with at least this many changed children is read with one paged one-level search on
 * each side instead of a read per entry (a search streams ~25× faster than base reads here).
 */
const SEARCH_AT = 64;

/**
 * The master's side of the one-level reads, shared by the replicas of one convergence wait
 * (the master's entries are final while it lasts): each replica reads its own side only. An
 * entry is dropped once every replica has taken it, and at most a few are kept (one replica far
 * ahead of another reads the master itself), so memory stays bounded.
 */
export class SharedMasterReads {
  private readonly kept = new Map<string, { digests: Promise<Map<string, string>>; left: number }>();

  constructor(private readonly replicas: number, private readonly capacity = 4) {}

  take(key: string, read: () => Promise<Map<string, string>>): Promise<Map<string, string>> {
    const known = this.kept.get(key);
    if (known) {
      if (--known.left <= 0) this.kept.delete(key);
      return known.digests;
    }
    const digests = read();
    if (this.replicas > 1 && this.kept.size < this.capacity) {
      this.kept.set(key, { digests, left: this.replicas - 1 });
      digests.catch(() => this.kept.delete(key));
    }
    return digests;
  }
}

/**
 * Reads the given entries on the master and on a replica and compares them (user attributes,
 * `ignore` left out). Streamed in rounds: memory holds one round's DNs and the mismatches kept.
 */
export async function readBack(master: Directory, replica: Directory, entries: AsyncIterable<string | ReadTarget> | Iterable<string | ReadTarget>, ignore?: ReadonlySet<string>, shared?: SharedMasterReads): Promise<ReadBackResult> {
  const result: ReadBackResult = { count: 0, again: [] };
  const report = (target: ReadTarget, what: string) => {
    result.count++;
    result.first ??= { dn: target.dn, what };
    if (result.again && result.again.length < KEPT) result.again.push(target);
    else result.again = undefined;
  };
  let round = new Map<string, ReadTarget>();
  const flush = async () => {
    const byParent = new Map<string, Map<string, ReadTarget>>();
    for (const [key, target] of round) {
      const parent = normalizeDn(parentDn(target.dn));
      let group = byParent.get(parent);
      if (!group) byParent.set(parent, (group = new Map()));
      group.set(key, target);
    }
    round = new Map();
    const single: ReadTarget[] = [];
    for (const [parent, group] of byParent) {
      if (group.size >= SEARCH_AT && parent) await compareChildren(master, replica, parent, group, ignore, report, shared);
      else single.push(...group.values());
    }
    for (let i = 0; i < single.length; i += BATCH) await compareEach(master, replica, single.slice(i, i + BATCH), ignore, report);
  };
  for await (const item of entries) {
    const target = typeof item === 'string' ? { dn: item } : item;
    const key = normalizeDn(target.dn);
    // One entry written several times: the attributes of every write (all of them, if one needs it).
    const known = round.get(key);
    round.set(key, known ? merge(known, target) : target);
    if (round.size >= ROUND) await flush();
  }
  if (round.size > 0) await flush();
  return result;
}

type Report = (target: ReadTarget, what: string) => void;

function merge(a: ReadTarget, b: ReadTarget): ReadTarget {
  if (!a.attributes || !b.attributes) return { dn: a.dn };
  return { dn: a.dn, attributes: [...new Set([...a.attributes, ...b.attributes])] };
}


/** What is wrong when an entry is on one side only (undefined: on both, or on neither). */
function presence(onMaster: boolean, onReplica: boolean): string | undefined {
  if (!onMaster && onReplica) return 'it was deleted on the master but is still there';
  if (onMaster && !onReplica) return 'it is missing';
  return undefined;
}

function mismatch(m: LdapEntry | null, r: LdapEntry | null, ignore: ReadonlySet<string> | undefined): string | undefined {
  const missing = presence(m !== null, r !== null);
  if (missing) return missing;
  if (m && r && entryDigest(m, ignore) !== entryDigest(r, ignore)) return `attribute ${differingAttributes(m, r, ignore)[0] ?? '(unknown)'} differs`;
  return undefined;
}

/** A read per entry on each side (of the attributes that matter), all of the batch in flight together. */
async function compareEach(master: Directory, replica: Directory, targets: ReadTarget[], ignore: ReadonlySet<string> | undefined, report: Report): Promise<void> {
  const pairs = await Promise.all(targets.map((t) => Promise.all([master.get(t.dn, t.attributes ?? ['*']), replica.get(t.dn, t.attributes ?? ['*'])])));
  pairs.forEach(([m, r], i) => {
    const what = mismatch(m, r, ignore);
    if (what) report(targets[i]!, what);
  });
}

/**
 * One paged one-level search of `parent` on each side (in parallel), for the attributes the
 * group's writes touched (fewer bytes to send and decode: most of a read-back's cost); only
 * `group`'s DNs are compared.
 */
async function compareChildren(master: Directory, replica: Directory, parent: string, group: Map<string, ReadTarget>, ignore: ReadonlySet<string> | undefined, report: Report, shared?: SharedMasterReads): Promise<void> {
  const all = [...group.values()].some((t) => !t.attributes);
  const attributes = all ? ['*'] : [...new Set([...group.values()].flatMap((t) => t.attributes!))];
  const digests = async (d: Directory) => {
    const out = new Map<string, string>();
    for await (const e of d.search({ base: parent, scope: 'one', attributes })) {
      const key = normalizeDn(e.dn);
      if (group.has(key)) out.set(key, entryDigest(e, ignore));
    }
    return out;
  };
  const keys = [...group.keys()];
  const key = [parent, attributes.join(','), [...(ignore ?? [])].sort().join(','), keys.length, keys[0], keys.at(-1)].join('\n');
  const [m, r] = await Promise.all([shared ? shared.take(key, () => digests(master)) : digests(master), digests(replica)]);
  const differ: ReadTarget[] = [];
  for (const [key, target] of group) {
    const a = m.get(key);
    const b = r.get(key);
    const missing = presence(a !== undefined, b !== undefined);
    if (missing) report(target, missing);
    else if (a !== b) differ.push(target);
  }
  // Name the attribute for the entries that differ (a read of each on both sides).
  for (let i = 0; i < differ.length; i += BATCH) await compareEach(master, replica, differ.slice(i, i + BATCH), ignore, report);
}
