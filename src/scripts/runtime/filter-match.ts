import {
  AndFilter, ApproximateFilter, EqualityFilter, FilterParser, GreaterThanEqualsFilter, LessThanEqualsFilter,
  NotFilter, OrFilter, PresenceFilter, SubstringFilter, type Filter,
} from 'ldapts';
import { getValues, type LdapEntry } from '../../ldap/entry.js';

/**
 * Evaluates an LDAP filter against an in-memory entry, for the dry run's overlay (entries the
 * dry run has planned to add or change are not on the server, so the server cannot match them).
 * Case-insensitive string matching, as the stock matching rules of the common attributes do.
 */
export function compileFilter(filter: string): (entry: LdapEntry) => boolean {
  const parsed = FilterParser.parseString(filter);
  return (entry) => matches(parsed, entry);
}

function values(entry: LdapEntry, attribute: string): string[] {
  return getValues(entry, attribute).map((v) => v.toString().toLowerCase());
}

function matches(f: Filter, entry: LdapEntry): boolean {
  if (f instanceof AndFilter) return f.filters.every((x) => matches(x, entry));
  if (f instanceof OrFilter) return f.filters.some((x) => matches(x, entry));
  if (f instanceof NotFilter) return !matches(f.filter, entry);
  if (f instanceof PresenceFilter) return values(entry, f.attribute).length > 0;
  if (f instanceof EqualityFilter || f instanceof ApproximateFilter) {
    const want = f.value.toString().toLowerCase();
    return values(entry, f.attribute).includes(want);
  }
  if (f instanceof SubstringFilter) {
    const parts = [f.initial ?? '', ...(f.any ?? []), f.final ?? ''].map((p) => p.toLowerCase());
    const re = new RegExp('^' + parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 's');
    return values(entry, f.attribute).some((v) => re.test(v));
  }
  if (f instanceof GreaterThanEqualsFilter) return values(entry, f.attribute).some((v) => compare(v, f.value.toLowerCase()) >= 0);
  if (f instanceof LessThanEqualsFilter) return values(entry, f.attribute).some((v) => compare(v, f.value.toLowerCase()) <= 0);
  return false; // extensible matches are not evaluated on planned entries
}

function compare(a: string, b: string): number {
  if (/^-?\d+$/.test(a) && /^-?\d+$/.test(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}
