import type { Directory } from '../ldap/directory.js';
import { normalizeDn, parentDn, type LdapEntry } from '../ldap/entry.js';
import { differingAttributes, entryDigest } from './entry-compare.js';
import type { ReadTarget } from '../records/journal-targets.js';
import { childDigests, ChildrenToRead, compareChildren, presence, type MasterChildren, type Report } from './read-back-children.js';

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
 * A parent with at least this many changed children in a round is read with one paged one-level
 * search on each side, once the whole journal has been seen, instead of a read per entry.
 */
const SEARCH_AT = 64;
/** The master's tables of children kept for the other replicas of a wait, at most (bytes). */
const SHARED_BYTES = 64 * 1024 * 1024;

/**
 * The master's side of the one-level reads, shared by the replicas of one convergence wait
 * (the master's entries are final while it lasts): each replica reads its own side only. A
 * table is dropped once every replica has taken it, and only so many bytes of them are kept
 * (one replica far ahead of another reads the master itself), so memory stays bounded.
 */
export class SharedMasterReads<T extends { bytes: number } = MasterChildren> {
  private readonly kept = new Map<string, { read: Promise<T>; left: number; bytes: number }>();
  private bytes = 0;

  constructor(private readonly replicas: number, private readonly capacity = SHARED_BYTES) {}

  take(key: string, read: () => Promise<T>): Promise<T> {
    const known = this.kept.get(key);
    if (known) {
      if (--known.left <= 0) this.drop(key);
      return known.read;
    }
    const value = read();
    if (this.replicas > 1) {
      const entry = { read: value, left: this.replicas - 1, bytes: 0 };
      this.kept.set(key, entry);
      value.then((t) => {
        if (this.kept.get(key) !== entry) return;
        entry.bytes = t.bytes;
        this.bytes += t.bytes;
        if (this.bytes > this.capacity) this.drop(key);
      }, () => this.drop(key));
    }
    return value;
  }

  private drop(key: string): void {
    const entry = this.kept.get(key);
    if (!entry) return;
    this.bytes -= entry.bytes;
    this.kept.delete(key);
  }
}

/**
 * Reads the given entries on the master and on a replica and compares them (user attributes,
 * `ignore` left out). Streamed in rounds: memory holds one round's DNs, the DN hashes of the
 * parents read with a search (see ChildrenToRead), and the mismatches kept.
 */
export async function readBack(master: Directory, replica: Directory, entries: AsyncIterable<string | ReadTarget> | Iterable<string | ReadTarget>, ignore?: ReadonlySet<string>, shared?: SharedMasterReads): Promise<ReadBackResult> {
  const result: ReadBackResult = { count: 0, again: [] };
  const report = (target: ReadTarget, what: string) => {
    result.count++;
    result.first ??= { dn: target.dn, what };
    if (result.again && result.again.length < KEPT) result.again.push(target);
    else result.again = undefined;
  };
  const searched = new Map<string, ChildrenToRead>();
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
      let children = searched.get(parent);
      if (!children && group.size >= SEARCH_AT && parent) searched.set(parent, (children = new ChildrenToRead(parentDn([...group.values()][0]!.dn))));
      if (children) for (const t of group.values()) children.add(t);
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
  for (const [key, children] of searched) {
    const attributes = children.attributes;
    const masterSide = () => childDigests(master, children.parent, attributes, ignore);
    const sharedKey = [key, attributes.join(','), [...(ignore ?? [])].sort().join(',')].join('\n');
    const differ = await compareChildren(replica, master, children, shared ? shared.take(sharedKey, masterSide) : masterSide(), ignore, report);
    // Name the attribute for the first entries that differ (a read of each on both sides).
    await compareEach(master, replica, differ.slice(0, BATCH), ignore, report);
    for (const t of differ.slice(BATCH)) report(t, 'it differs from the master\'s');
  }
  return result;
}


function merge(a: ReadTarget, b: ReadTarget): ReadTarget {
  if (!a.attributes || !b.attributes) return { dn: a.dn };
  return { dn: a.dn, attributes: [...new Set([...a.attributes, ...b.attributes])] };
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
