import { createHash } from 'node:crypto';
import { getValues, isOperational, type LdapEntry } from '../ldap/entry.js';

/**
 * Comparing one entry as two servers hold it: user attributes only (operational ones differ by
 * nature), names case-insensitive, values as a set; `ignore` (lower-case names) are left out,
 * for a fractional replica that does not receive them.
 */

function comparedNames(e: LdapEntry, ignore?: ReadonlySet<string>): string[] {
  return Object.keys(e.attributes).filter((n) => !isOperational(n) && !ignore?.has(n.toLowerCase())).map((n) => n.toLowerCase());
}

function canonicalValues(e: LdapEntry, name: string): string[] {
  return getValues(e, name).map((x) => (Buffer.isBuffer(x) ? `b64:${x.toString('base64')}` : `s:${x}`)).sort();
}

/** A digest of an entry's compared attributes: names sorted, values sorted. */
export function entryDigest(e: LdapEntry, ignore?: ReadonlySet<string>): string {
  const hash = createHash('sha256');
  for (const name of comparedNames(e, ignore).sort()) {
    hash.update(`${name}\0`);
    for (const v of canonicalValues(e, name)) hash.update(`${v}\0`);
    hash.update('\n');
  }
  return hash.digest('hex');
}

/** The compared attributes whose values differ between two copies of an entry, sorted. */
export function differingAttributes(a: LdapEntry, b: LdapEntry, ignore?: ReadonlySet<string>): string[] {
  const names = new Set([...comparedNames(a, ignore), ...comparedNames(b, ignore)]);
  return [...names].filter((n) => canonicalValues(a, n).join('\0') !== canonicalValues(b, n).join('\0')).sort();
}

/** Lower-cased names, for `ignore`. */
export function ignoreSet(names: readonly string[] | undefined): ReadonlySet<string> | undefined {
  return names && names.length > 0 ? new Set(names.map((n) => n.toLowerCase())) : undefined;
}
