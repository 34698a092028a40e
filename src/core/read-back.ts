import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Directory } from '../ldap/directory.js';
import { normalizeDn } from '../ldap/entry.js';
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

/**
 * The DNs a run changed, from its journal (SPEC §8: "by the DNs in the run's journal"), streamed
 * line by line: both names of a rename, and `extra` (the tool's own version entry). A torn last
 * line is skipped. DNs repeat when an entry was written more than once (each batch reads one
 * DN once).
 */
export async function* journalDns(path: string | undefined, extra: string[] = []): AsyncGenerator<string> {
  yield* extra;
  if (!path || !existsSync(path)) return;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let record: { dn?: unknown; newDn?: unknown };
    try {
      record = JSON.parse(line) as { dn?: unknown; newDn?: unknown };
    } catch {
      continue;
    }
    if (typeof record.dn === 'string') yield record.dn;
    if (typeof record.newDn === 'string') yield record.newDn;
  }
}

export interface ReadBackResult {
  /** How many entries differ (all of those seen). */
  count: number;
  first?: EntryMismatch;
  /** DNs to read again next time; undefined: too many, read every DN again. */
  again?: string[];
}

/**
 * Reads the given entries on the master and on a replica and compares them (user attributes,
 * `ignore` left out). Streamed in batches: memory holds one batch and the mismatches kept.
 */
export async function readBack(master: Directory, replica: Directory, dns: AsyncIterable<string> | Iterable<string>, ignore?: ReadonlySet<string>): Promise<ReadBackResult> {
  const result: ReadBackResult = { count: 0, again: [] };
  let batch = new Map<string, string>();
  const flush = async () => {
    const list = [...batch.values()];
    batch = new Map();
    const pairs = await Promise.all(list.map((dn) => Promise.all([master.get(dn, ['*']), replica.get(dn, ['*'])])));
    pairs.forEach(([m, r], i) => {
      const dn = list[i]!;
      let what: string | undefined;
      if (!m && r) what = 'it was deleted on the master but is still there';
      else if (m && !r) what = 'it is missing';
      else if (m && r && entryDigest(m, ignore) !== entryDigest(r, ignore)) what = `attribute ${differingAttributes(m, r, ignore)[0] ?? '(unknown)'} differs`;
      if (what === undefined) return;
      result.count++;
      result.first ??= { dn, what };
      if (result.again && result.again.length < KEPT) result.again.push(dn);
      else result.again = undefined;
    });
  };
  for await (const dn of dns) {
    const key = normalizeDn(dn);
    if (!batch.has(key)) batch.set(key, dn);
    if (batch.size >= BATCH) await flush();
  }
  if (batch.size > 0) await flush();
  return result;
}
