import type { Directory } from '../ldap/directory.js';
import { normalizeDn, type LdapEntry } from '../ldap/entry.js';
import { entryDigest64 } from './entry-compare.js';
import { HashTable64 } from '../ldap/hash-table.js';
import type { ReadTarget } from '../records/journal-targets.js';

/** Column of a parent's target table: 0 not seen on the replica, SEEN, or DIFFERS (seen, and not as on the master). */
const STATE = 0;
const SEEN = 1;
const DIFFERS = 2;
/** Column of the entry's digest: 32 bits of it (a differing entry goes unseen once in 4·10⁹; half the memory of 64). */
const DIGEST = 1;

/**
 * The changed children of one parent, read back with one paged one-level search on each side
 * (a search streams ~25× faster than a read per entry here) once the whole journal has been seen:
 * however many rounds a run's writes span, each side of a parent is read once. Targets are kept
 * as 64-bit DN hashes (see HashTable64): a million changed children hold ~34 MB (and the master's side ~26 MB), not a million objects.
 */
export class ChildrenToRead {
  readonly targets = new HashTable64(2, 16);
  /** Lower-cased names of the attributes the writes touched; null: every user attribute. */
  private touched: Set<string> | null = new Set();

  constructor(readonly parent: string) {}

  add(target: ReadTarget): void {
    this.targets.insert(normalizeDn(target.dn));
    if (!target.attributes) this.touched = null;
    else if (this.touched) for (const a of target.attributes) this.touched.add(a.toLowerCase());
  }

  get attributes(): string[] {
    return this.touched === null ? ['*'] : [...this.touched].sort();
  }
}

/** A parent's children on the master: DN hash → 32-bit digest (column 0). Every child, so that it can be shared. */
export type MasterChildren = HashTable64;

/** Reads the digests of every child of `parent` on one server. */
export async function childDigests(d: Directory, parent: string, attributes: string[], ignore: ReadonlySet<string> | undefined): Promise<MasterChildren> {
  const table = new HashTable64(1);
  for await (const page of d.searchPages({ base: parent, scope: 'one', attributes })) {
    for (const e of page) {
      const slot = table.insert(normalizeDn(e.dn));
      table.columns[0]![slot] = digest32(e, ignore);
    }
  }
  return table;
}

/** What is wrong when an entry is on one side only (undefined: on both, or on neither). */
export function presence(onMaster: boolean, onReplica: boolean): string | undefined {
  if (!onMaster && onReplica) return 'it was deleted on the master but is still there';
  if (onMaster && !onReplica) return 'it is missing';
  return undefined;
}

function digest32(e: LdapEntry, ignore: ReadonlySet<string> | undefined): number {
  const [hi, lo] = entryDigest64(e, ignore);
  return (hi ^ lo) | 0;
}

export type Report = (target: ReadTarget, what: string) => void;

/**
 * Compares `group`'s DNs on the replica with the master's digests of the same parent (read by
 * `masterSide`, in parallel with the replica's search). What differs is named in a second pass,
 * only when something does (a converged replica costs one search per side). Returns the targets
 * that differ in their attributes, for the caller to name the attribute.
 */
export async function compareChildren(replica: Directory, master: Directory, group: ChildrenToRead, masterSide: Promise<MasterChildren>, ignore: ReadonlySet<string> | undefined, report: Report): Promise<ReadTarget[]> {
  const { targets, parent } = group;
  const attributes = group.attributes;
  const state = targets.columns[STATE]!;
  const digest = targets.columns[DIGEST]!;
  for (const slot of targets.slots()) state[slot] = 0;
  const replicaSide = (async () => {
    for await (const page of replica.searchPages({ base: parent, scope: 'one', attributes })) {
      for (const e of page) {
        const slot = targets.lookup(normalizeDn(e.dn));
        if (slot < 0) continue;
        digest[slot] = digest32(e, ignore);
        state[slot] = SEEN;
      }
    }
  })();
  const [onMaster] = await Promise.all([masterSide, replicaSide]);
  let differs = 0;
  let missing = 0;
  for (const slot of targets.slots()) {
    const m = onMaster.lookupSlotOf(targets, slot);
    if (state[slot] === SEEN) {
      if (m < 0 || onMaster.columns[0]![m] !== digest[slot]) {
        state[slot] = DIFFERS;
        differs++;
      }
    } else if (m >= 0) missing++;
  }
  const differing: ReadTarget[] = [];
  if (differs > 0) {
    for await (const page of replica.searchPages({ base: parent, scope: 'one', attributes: ['1.1'] })) {
      for (const e of page) {
        const slot = targets.lookup(normalizeDn(e.dn));
        if (slot < 0 || state[slot] !== DIFFERS) continue;
        const target = { dn: e.dn, ...(attributes[0] === '*' ? {} : { attributes }) };
        if (onMaster.lookupSlotOf(targets, slot) < 0) report(target, presence(false, true)!);
        else differing.push(target);
      }
    }
  }
  if (missing > 0) {
    for await (const page of master.searchPages({ base: parent, scope: 'one', attributes: ['1.1'] })) {
      for (const e of page) {
        const slot = targets.lookup(normalizeDn(e.dn));
        if (slot >= 0 && state[slot] === 0) report({ dn: e.dn, ...(attributes[0] === '*' ? {} : { attributes }) }, presence(true, false)!);
      }
    }
  }
  return differing;
}
