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
      if (end < 0) throw new DefinitionError(`unterminated quoted string at "${text.slice(i, i + 30)}"`);
      out.push({ t: 'q', v: text.slice(i + 1, end) });
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
  const m = /^([A-Za-z][\w.-]*?)(?::([\d.]+))?$/.exec(token);
  if (!m) return token;
  const base = macros.get(m[1]!.toLowerCase());
  if (base === undefined) return token;
  return m[2] ? `${base}.${m[2]}` : base;
}

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
  if (next()?.t !== 'open') throw new DefinitionError(`a definition starts with "(": ${body.slice(0, 60)}`);
  const first = next();
  if (first?.t !== 'w') throw new DefinitionError(`a definition's first element is its OID: ${body.slice(0, 60)}`);
  const oid = expandOid(first.v, macros);
  // 389 DS's own files use `name-oid` placeholders: accepted (compared by name then).
  if (!/^\d+(\.\d+)+$/.test(oid) && !/^[A-Za-z][\w-]*-oid$/i.test(oid)) throw new DefinitionError(`"${first.v}" is neither a numeric OID nor a known macro: ${body.slice(0, 60)}`);
  const fields = new Map<string, string | string[] | true>();
  for (;;) {
    const tok = next();
    if (!tok) throw new DefinitionError(`a definition ends with ")": ${body.slice(0, 60)}`);
    if (tok.t === 'close') break;
    if (tok.t !== 'w') throw new DefinitionError(`expected a keyword, got "${tok.t === 'q' ? tok.v : tok.t}" in ${body.slice(0, 60)}`);
    const keyword = tok.v.toUpperCase();
    if (FLAGS.has(keyword)) { fields.set(keyword, true); continue; }
    const value = next();
    if (!value || value.t === 'close' || value.t === 'dollar') throw new DefinitionError(`${keyword} has no value in ${body.slice(0, 60)}`);
    if (value.t === 'open') {
      const list: string[] = [];
      for (let v = next(); v && v.t !== 'close'; v = next()) {
        if (v.t === 'w' || v.t === 'q') list.push(v.v);
      }
      fields.set(keyword, list);
    } else {
      fields.set(keyword, value.v);
    }
  }
  if (i < tokens.length) throw new DefinitionError(`text after the closing ")" in ${body.slice(0, 60)}`);
  for (const k of ['SYNTAX', 'EQUALITY', 'ORDERING', 'SUBSTR']) {
    const v = fields.get(k);
    if (typeof v === 'string') fields.set(k, expandOid(v, macros));
  }
  const name = fields.get('NAME');
  const names = name === undefined || name === true ? [] : typeof name === 'string' ? [name] : name;
  return { kind, oid, names, fields };
}

/** The description as a server is sent it: canonical field order, OIDs expanded, no `{N}`. */
export function formatDefinition(d: Definition): string {
  const keys = [...ORDER[d.kind].filter((k) => d.fields.has(k)), ...[...d.fields.keys()].filter((k) => !ORDER[d.kind].includes(k))];
  const parts = ['(', d.oid];
  for (const k of keys) {
    const v = d.fields.get(k)!;
    const quoted = k === 'NAME' || k === 'DESC' || k.startsWith('X-');
    if (v === true) parts.push(k);
    else if (typeof v === 'string') parts.push(k, quoted ? `'${v}'` : v);
    else if (quoted) parts.push(k, v.length === 1 ? `'${v[0]}'` : `( ${v.map((x) => `'${x}'`).join(' ')} )`);
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
