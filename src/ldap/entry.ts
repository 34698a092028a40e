/** The tool's own view of LDAP entries and changes, independent of the client library. */

export type AttributeValue = string | Buffer;

export interface LdapEntry {
  dn: string;
  /** Attribute name (as the server spelled it) → values. Names are compared case-insensitively. */
  attributes: Record<string, AttributeValue[]>;
}

export type ModifyOperation = 'add' | 'delete' | 'replace';

export interface Modification {
  operation: ModifyOperation;
  attribute: string;
  /** For `delete`, no values means the whole attribute. */
  values: AttributeValue[];
}

/**
 * Attributes whose values are binary in stock schemas (certificates, photos, keys). They are
 * always read as bytes so that a pre-image or a backup restores them faithfully.
 */
export const BINARY_ATTRIBUTES = [
  'userCertificate', 'cACertificate', 'certificateRevocationList', 'authorityRevocationList',
  'deltaRevocationList', 'crossCertificatePair', 'userSMIMECertificate', 'userPKCS12',
  'jpegPhoto', 'photo', 'audio', 'personalSignature', 'krbPrincipalKey', 'nsCertificate',
  'userCertificate;binary', 'cACertificate;binary', 'certificateRevocationList;binary',
];

/** Normalised form of a DN for comparisons: lower case, no blanks around separators. */
export function normalizeDn(dn: string): string {
  // One DN is often normalised several times in a row (a script's write: guard, plan, record).
  if (dn === lastDn) return lastNormalized;
  // Most DNs (all of those a server returns) have no blanks: skip the regular expression then.
  const normalized = BLANK.test(dn) ? dn.trim().replace(/\s*([,=+])\s*/g, '$1').toLowerCase() : dn.toLowerCase();
  lastDn = dn;
  lastNormalized = normalized;
  return normalized;
}

const BLANK = /\s/;
let lastDn = '';
let lastNormalized = '';

export function parentDn(dn: string): string {
  const m = /(?<!\\),/.exec(dn);
  return m ? dn.slice(m.index + 1).trim() : '';
}

export function rdnOf(dn: string): string {
  const m = /(?<!\\),/.exec(dn);
  return m ? dn.slice(0, m.index).trim() : dn.trim();
}

/** Whether `dn` equals `base` or lies below it. */
export function isUnder(dn: string, base: string): boolean {
  const d = normalizeDn(dn);
  const b = normalizeDn(base);
  return b === '' || d === b || d.endsWith(',' + b);
}

export function attributeKey(entry: LdapEntry, name: string): string | undefined {
  if (Object.hasOwn(entry.attributes, name)) return name;
  const lower = name.toLowerCase();
  for (const k in entry.attributes) if (k.toLowerCase() === lower) return k;
  return undefined;
}

export function getValues(entry: LdapEntry, name: string): AttributeValue[] {
  const key = attributeKey(entry, name);
  return key ? entry.attributes[key]! : [];
}

export function getFirst(entry: LdapEntry, name: string): string | undefined {
  const v = getValues(entry, name)[0];
  return v === undefined ? undefined : v.toString();
}

/** Values compare by bytes for binaries, case-insensitively for strings (most stock matching rules). */
export function sameValue(a: AttributeValue, b: AttributeValue): boolean {
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.from(a as never).equals(Buffer.from(b as never));
  return a.toLowerCase() === b.toLowerCase();
}

/** Whether two lists of strings hold the same values, case aside (as the servers compare these settings). */
export function sameValuesIgnoringCase(a: readonly string[], b: readonly string[]): boolean {
  const norm = (v: readonly string[]) => [...new Set(v.map((x) => x.toLowerCase()))].sort().join('\0');
  return norm(a) === norm(b);
}

export function hasValue(values: AttributeValue[], value: AttributeValue): boolean {
  return values.some((v) => sameValue(v, value));
}

export function cloneEntry(entry: LdapEntry): LdapEntry {
  const attributes: Record<string, AttributeValue[]> = {};
  for (const [k, v] of Object.entries(entry.attributes)) attributes[k] = [...v];
  return { dn: entry.dn, attributes };
}

/** Applies modifications to an in-memory entry, as a server would (used for dry-run overlays). */
export function applyModifications(entry: LdapEntry, changes: Modification[]): LdapEntry {
  const out = cloneEntry(entry);
  for (const change of changes) {
    const key = attributeKey(out, change.attribute) ?? change.attribute;
    const current = out.attributes[key] ?? [];
    let next: AttributeValue[];
    if (change.operation === 'replace') next = [...change.values];
    else if (change.operation === 'add') next = [...current, ...change.values.filter((v) => !hasValue(current, v))];
    else next = change.values.length === 0 ? [] : current.filter((v) => !hasValue(change.values, v));
    if (next.length === 0) delete out.attributes[key];
    else out.attributes[key] = next;
  }
  return out;
}

/** Operational attributes a server maintains; never compared, never written back. */
const OPERATIONAL = new Set([
  'entrycsn', 'entryuuid', 'createtimestamp', 'modifytimestamp', 'creatorsname', 'modifiersname',
  'structuralobjectclass', 'subschemasubentry', 'hassubordinates', 'entrydn', 'contextcsn',
  'nsuniqueid', 'entryid', 'parentid', 'numsubordinates', 'nscpentrydn', 'nsds5replconflict',
]);

export function isOperational(attribute: string): boolean {
  return OPERATIONAL.has(attribute.toLowerCase());
}

/** User attributes of an entry (operational ones dropped), as used for comparisons and undo. */
export function userAttributes(entry: LdapEntry): LdapEntry {
  const attributes: Record<string, AttributeValue[]> = {};
  for (const [k, v] of Object.entries(entry.attributes)) if (!isOperational(k)) attributes[k] = v;
  return { dn: entry.dn, attributes };
}

/** The entry with only `names` among its attributes (matched as the server matches them: case aside). */
export function pickAttributes(entry: LdapEntry, names: string[]): LdapEntry {
  const picked: LdapEntry = { dn: entry.dn, attributes: {} };
  for (const name of names) {
    const key = attributeKey(entry, name);
    if (key) picked.attributes[key] = entry.attributes[key]!;
  }
  return picked;
}
