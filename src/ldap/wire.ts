import type { Entry as LdaptsEntry } from 'ldapts';
import { LdapOperationError } from '../errors.js';
import type { AttributeValue, LdapEntry } from './entry.js';

/**
 * What comes off the wire, in the tool's terms: ldapts' result-code errors and network errors
 * read (code, the server's own words, a network cause in a few words), and its entries turned
 * into LdapEntry, bounded in size.
 */

/** The most one entry's values may weigh (CRLs and photos are a few MB; this bounds a runaway server). */
export const MAX_ENTRY_BYTES = 64 * 1024 * 1024;

/** The LDAP result code of an ldapts error, or undefined for network errors. */
export function codeOf(err: unknown): number | undefined {
  if (err instanceof LdapOperationError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * The server's own diagnostic text of a result-code error ("Duplicate attributeType", "attribute
 * type undefined"): ldapts puts it in the message, followed by " Code: 0x..", or its own default
 * sentence when the server sent none (then there is nothing to add).
 */
export function diagnosticOf(err: unknown): string | undefined {
  if (err instanceof LdapOperationError) return err.diagnostic;
  const message = (err as { message?: unknown } | null)?.message;
  if (typeof message !== 'string') return undefined;
  const text = message.replace(/\s*Code: 0x[0-9a-f]+\s*$/i, '').trim();
  if (!text || LDAPTS_DEFAULTS.has(text)) return undefined;
  return text.replace(/\s+/g, ' ').slice(0, 300);
}

/** ldapts' own sentences for errors without server text (never the server's words). */
const LDAPTS_DEFAULTS = new Set(['Unknown error.']);

export function describeNetworkError(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { message?: string };
  switch (e?.code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ECONNRESET': return 'connection reset';
    case 'ETIMEDOUT': return 'connection timed out';
    case 'ENOTFOUND': return 'host not found';
    case 'EHOSTUNREACH': return 'host unreachable';
    default: break;
  }
  const message = e?.message ?? String(err);
  if (/certificate|self.signed|unable to verify|CERT_|SSL|TLS/i.test(message)) return `TLS failure: ${message}`;
  if (/timeout/i.test(message)) return 'timed out';
  if (/closed|not connected/i.test(message)) return 'connection closed';
  return message.split('\n')[0]!;
}

export function toEntry(entry: LdaptsEntry, server: string): LdapEntry {
  const attributes: Record<string, AttributeValue[]> = {};
  let bytes = 0;
  for (const [key, value] of Object.entries(entry)) {
    if (key === 'dn') continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) bytes += (v as { length: number }).length;
    if (values.length > 0) attributes[key] = values as AttributeValue[];
  }
  // A bound on what one entry may bring into a run (its journal, a backup, a comparison).
  if (bytes > MAX_ENTRY_BYTES) throw new LdapOperationError(server, 4, `entry ${entry.dn}: ${Math.round(bytes / 1024 / 1024)} MB of values, more than the ${MAX_ENTRY_BYTES / 1024 / 1024} MB an entry may hold here`);
  return { dn: entry.dn, attributes };
}
