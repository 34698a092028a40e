/**
 * RFC 4512 attribute type and object class descriptions: parsed into fields, compared by meaning
 * (not by text: servers reorder fields, drop parentheses, add `X-ORIGIN`), written back in one
 * canonical order without macros or `{N}` prefixes.
 */
export type DefinitionKind = 'attributeType' | 'objectClass';

export interface Definition {
  kind: DefinitionKind;
  /** Numeric OID (macros expanded). */
  oid: string;
  names: string[];
  /** Keyword → value: a string for qdstring/oid fields, a list for lists, true for flags. */
  fields: Map<string, string | string[] | true>;
}

const FLAGS = new Set(['OBSOLETE', 'SINGLE-VALUE', 'COLLECTIVE', 'NO-USER-MODIFICATION', 'ABSTRACT', 'STRUCTURAL', 'AUXILIARY']);
const ORDER: Record<DefinitionKind, string[]> = {
  attributeType: ['NAME', 'DESC', 'OBSOLETE', 'SUP', 'EQUALITY', 'ORDERING', 'SUBSTR', 'SYNTAX', 'SINGLE-VALUE', 'COLLECTIVE', 'NO-USER-MODIFICATION', 'USAGE'],
  objectClass: ['NAME', 'DESC', 'OBSOLETE', 'SUP', 'ABSTRACT', 'STRUCTURAL', 'AUXILIARY', 'MUST', 'MAY'],
};
/** Extensions a server sets by itself (where a definition came from): never a difference. */
const PROVENANCE = new Set(['X-ORIGIN', 'X-SCHEMA-FILE']);

export class DefinitionError extends Error {}

type Token = { t: 'open' } | { t: 'close' } | { t: 'dollar' } | { t: 'q'; v: string } | { t: 'w'; v: string };

/** A definition's text as shown in a message: cut, control characters escaped. */
function show(text: string): string {
  const cut = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  // eslint-disable-next-line no-control-regex
  return `"${cut.replace(/[\0-\x1f\x7f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/**
 * RFC 4512 tokens. A quoted string (qdstring) may hold only the escapes `\27` (') and `\5C` (\):
 * any other backslash is refused (a `\'` would otherwise end the string early and make the rest
 * of it into fields).
 */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(') { out.push({ t: 'open' }); i++; continue; }
    if (c === ')') { out.push({ t: 'close' }); i++; continue; }
    if (c === '$') { out.push({ t: 'dollar' }); i++; continue; }
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new DefinitionError(`unterminated quoted string at ${show(text.slice(i))}`);
      const raw = text.slice(i + 1, end);
      const bad = /\\(?!27|5[cC])/.exec(raw);
      if (bad) throw new DefinitionError(`${show(text.slice(i, end + 1))}: a backslash in a quoted string must be \\27 (a quote) or \\5C (a backslash)`);
      out.push({ t: 'q', v: raw.replace(/\\27/g, "'").replace(/\\5[cC]/g, '\\') });
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < text.length && !/[\s()$']/.test(text[j]!)) j++;
    out.push({ t: 'w', v: text.slice(i, j) });
    i = j;
  }
  return out;
}

/**
 * Expands OID macros (`olcObjectIdentifier: name oid`): `name` and `name:suffix` become
 * numeric OIDs. `macros` maps lower-cased names to expanded OIDs.
 */
function expandOid(token: string, macros: Map<string, string>): string {
  // A syntax's length bound (`MyMacro{64}`, `1.3.6.1.4.1.1466.115.121.1.15{256}`) stays after the expanded OID.
  const bound = /\{\d+\}$/.exec(token)?.[0] ?? '';
  const bare = bound ? token.slice(0, -bound.length) : token;
  const m = /^([A-Za-z][\w.-]*?)(?::([\d.]+))?$/.exec(bare);
  if (!m) return token;
  const base = macros.get(m[1]!.toLowerCase());
  if (base === undefined) return token;
  return (m[2] ? `${base}.${m[2]}` : base) + bound;
}

/** A numeric OID: arcs of digits without leading zeros (RFC 4512 `numericoid`). */
const NUMERIC_OID = /^(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))+$/;

/** The keywords RFC 4512 gives each kind (extensions `X-…` besides). */
const KEYWORDS: Record<DefinitionKind, Set<string>> = {
  attributeType: new Set(['NAME', 'DESC', 'OBSOLETE', 'SUP', 'EQUALITY', 'ORDERING', 'SUBSTR', 'SYNTAX', 'SINGLE-VALUE', 'COLLECTIVE', 'NO-USER-MODIFICATION', 'USAGE']),
  objectClass: new Set(['NAME', 'DESC', 'OBSOLETE', 'SUP', 'ABSTRACT', 'STRUCTURAL', 'AUXILIARY', 'MUST', 'MAY']),
};
const USAGES = new Set(['userapplications', 'directoryoperation', 'distributedoperation', 'dsaoperation']);

/**
 * Adds one `olcObjectIdentifier` value (`[{N}]name OID`, the OID possibly a macro itself) to
 * `macros`; false when the value is not of that form.
 */
export function defineMacro(macros: Map<string, string>, value: string): boolean {
  const m = /^(?:\{\d+\})?\s*(\S+)\s+(\S+)\s*$/.exec(value);
  if (!m) return false;
  macros.set(m[1]!.toLowerCase(), expandOid(m[2]!, macros));
  return true;
}

/** Parses one description (a leading `{N}` is dropped); macros apply to the OID, SYNTAX and matching-rule fields. */
export function parseDefinition(kind: DefinitionKind, text: string, macros: Map<string, string> = new Map()): Definition {
  const body = text.trim().replace(/^\{\d+\}\s*/, '');
  const tokens = tokenize(body);
  let i = 0;
  const next = () => tokens[i++];
  const where = show(body);
  if (next()?.t !== 'open') throw new DefinitionError(`a definition starts with "(": ${where}`);
  const first = next();
  if (first?.t !== 'w') throw new DefinitionError(`a definition's first element is its OID: ${where}`);
  const oid = expandOid(first.v, macros);
  // 389 DS's own files use `name-oid` placeholders: accepted (compared by name then).
  if (!/^[\d.]+$/.test(oid) && !/^[A-Za-z][\w-]*-oid$/i.test(oid)) throw new DefinitionError(`"${first.v}" is neither a numeric OID nor a known macro: ${where}`);
  if (/^[\d.]+$/.test(oid) && !NUMERIC_OID.test(oid)) throw new DefinitionError(`"${first.v}"${oid !== first.v ? ` (${oid})` : ''} is not a numeric OID (arcs of digits, no leading zeros, no empty arc): ${where}`);
  const fields = new Map<string, string | string[] | true>();
  for (;;) {
    const tok = next();
    if (!tok) throw new DefinitionError(`a definition ends with ")": ${where}`);
    if (tok.t === 'close') break;
    if (tok.t !== 'w') throw new DefinitionError(`expected a keyword, got ${tok.t === 'q' ? show(`'${tok.v}'`) : `"${tok.t === 'open' ? '(' : '$'}"`} in ${where}`);
    const keyword = tok.v.toUpperCase();
    if (!KEYWORDS[kind].has(keyword) && !/^X-[A-Z0-9_-]+$/.test(keyword)) {
      throw new DefinitionError(`${show(tok.v)} is not a keyword of an ${kind === 'attributeType' ? 'attribute type' : 'object class'} (${[...KEYWORDS[kind]].join(', ')}, or an X- extension): ${where}`);
    }
    if (fields.has(keyword)) throw new DefinitionError(`${keyword} is given twice in ${where}`);
    if (FLAGS.has(keyword)) { fields.set(keyword, true); continue; }
    const value = next();
    if (!value || value.t === 'close' || value.t === 'dollar') throw new DefinitionError(`${keyword} has no value in ${where}`);
    if (value.t === 'open') fields.set(keyword, readList(keyword, next, where));
    else fields.set(keyword, value.v);
  }
  if (i < tokens.length) throw new DefinitionError(`text after the closing ")" in ${where}`);
  for (const k of ['SYNTAX', 'EQUALITY', 'ORDERING', 'SUBSTR']) {
    const v = fields.get(k);
    if (typeof v === 'string') fields.set(k, expandOid(v, macros));
  }
  const usage = fields.get('USAGE');
  if (typeof usage === 'string' && !USAGES.has(usage.toLowerCase())) throw new DefinitionError(`USAGE ${show(usage)} is none of userApplications, directoryOperation, distributedOperation, dSAOperation: ${where}`);
  const name = fields.get('NAME');
  const names = name === undefined || name === true ? [] : typeof name === 'string' ? [name] : name;
  return { kind, oid, names, fields };
}

/**
 * A parenthesised list: quoted strings side by side (`NAME ( 'a' 'b' )`), or words separated by
 * `$` (`MUST ( cn $ sn )`); a nested parenthesis, a missing `)` or a misplaced `$` is refused.
 */
function readList(keyword: string, next: () => Token | undefined, where: string): string[] {
  const list: string[] = [];
  let wantItem = true;
  for (;;) {
    const v = next();
    if (!v) throw new DefinitionError(`${keyword}: a list opened with "(" is not closed: ${where}`);
    if (v.t === 'close') break;
    if (v.t === 'open') throw new DefinitionError(`${keyword}: a "(" inside a list: ${where}`);
    if (v.t === 'dollar') {
      if (wantItem) throw new DefinitionError(`${keyword}: a "$" with no element before it: ${where}`);
      wantItem = true;
      continue;
    }
    if (!wantItem && v.t === 'w') throw new DefinitionError(`${keyword}: ${show(v.v)} follows another element without a "$": ${where}`);
    list.push(v.v);
    wantItem = v.t === 'q';
  }
  if (list.length === 0) throw new DefinitionError(`${keyword}: an empty list: ${where}`);
  return list;
}

/** The description as a server is sent it: canonical field order, OIDs expanded, no `{N}`. */
export function formatDefinition(d: Definition): string {
  const keys = [...ORDER[d.kind].filter((k) => d.fields.has(k)), ...[...d.fields.keys()].filter((k) => !ORDER[d.kind].includes(k))];
  const parts = ['(', d.oid];
  for (const k of keys) {
    const v = d.fields.get(k)!;
    const quoted = k === 'NAME' || k === 'DESC' || k.startsWith('X-');
    const q = (x: string) => `'${x.replace(/\\/g, '\\5C').replace(/'/g, '\\27')}'`;
    if (v === true) parts.push(k);
    else if (typeof v === 'string') parts.push(k, quoted ? q(v) : v);
    else if (quoted) parts.push(k, v.length === 1 ? q(v[0]!) : `( ${v.map(q).join(' ')} )`);
    else parts.push(k, v.length === 1 ? v[0]! : `( ${v.join(' $ ')} )`);
  }
  parts.push(')');
  return parts.join(' ');
}

function normalised(key: string, v: string | string[] | true): string {
  if (v === true) return 'true';
  const list = typeof v === 'string' ? [v] : v;
  if (key === 'DESC' || key.startsWith('X-')) return list.join('\u0000');
  const items = list.map((x) => (key === 'SYNTAX' ? x.replace(/\{\d+\}$/, '') : x).toLowerCase());
  return (key === 'NAME' ? items : items.sort()).join(' $ ');
}

/** Fields a server may show for a definition without them having been asked for. */
function implied(d: Definition, key: string, v: string | string[] | true): boolean {
  if (PROVENANCE.has(key)) return true;
  if (d.kind === 'attributeType') {
    // Inherited from the superior type (389 DS shows them).
    if (['EQUALITY', 'ORDERING', 'SUBSTR', 'SYNTAX'].includes(key) && d.fields.has('SUP')) return true;
    return key === 'USAGE' && typeof v === 'string' && v.toLowerCase() === 'userapplications';
  }
  if (key === 'SUP') return normalised(key, v) === 'top';
  return key === 'STRUCTURAL' && !d.fields.has('ABSTRACT') && !d.fields.has('AUXILIARY');
}

/**
 * The fields in which a server's definition differs from the wanted one ([] when they mean the
 * same). Provenance extensions, inherited matching rules and syntax, and defaults (`SUP top`,
 * STRUCTURAL, userApplications) are not differences.
 */
export function definitionDifferences(wanted: Definition, actual: Definition): string[] {
  const diffs: string[] = [];
  if (wanted.oid !== actual.oid) diffs.push('OID');
  const keys = new Set([...wanted.fields.keys(), ...actual.fields.keys()]);
  for (const key of keys) {
    const w = wanted.fields.get(key);
    const a = actual.fields.get(key);
    if (w !== undefined && a !== undefined) {
      if (PROVENANCE.has(key)) continue;
      if (normalised(key, w) !== normalised(key, a)) diffs.push(key);
    } else if (w !== undefined) {
      if (!implied(actual, key, w)) diffs.push(key);
    } else if (!implied(wanted, key, a!)) {
      diffs.push(key);
    }
  }
  return diffs;
}

/** The definition without the extensions that say where it came from (X-ORIGIN, X-SCHEMA-FILE). */
export function withoutProvenance(d: Definition): Definition {
  return { ...d, fields: new Map([...d.fields].filter(([k]) => !PROVENANCE.has(k))) };
}

/** The name a definition is known by in messages: its first NAME, else its OID. */
export function definitionLabel(d: Definition): string {
  return d.names[0] ? `${d.names[0]} (${d.oid})` : d.oid;
}
