import { getValues, isOperational, type LdapEntry } from '../ldap/entry.js';
import { hash64 } from '../ldap/hash-table.js';

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

/**
 * A 64-bit digest of an entry's compared attributes (names sorted, values sorted), as two
 * 32-bit halves. Not cryptographic: it tells two copies of one entry apart (a 1 in 10¹⁹ chance
 * per entry of missing a difference, for two copies that are not made to collide), several times faster than a SHA-256 object per entry.
 */
export function entryDigest64(e: LdapEntry, ignore?: ReadonlySet<string>): [number, number] {
  let text = '';
  for (const name of comparedNames(e, ignore).sort()) text += `${name}\0${canonicalValues(e, name).join('\0')}\n`;
  return hash64(text);
}

/** entryDigest64 as text. */
export function entryDigest(e: LdapEntry, ignore?: ReadonlySet<string>): string {
  const [hi, lo] = entryDigest64(e, ignore);
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
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
