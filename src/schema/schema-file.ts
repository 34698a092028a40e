import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ScriptFileError } from '../errors.js';
import type { AttributeValue } from '../ldap/entry.js';
import { parseLdif } from '../ldif/parse.js';
import { shown } from '../ldif/lines.js';
import { defineMacro, DefinitionError, parseDefinition, type Definition, type DefinitionKind } from './definition.js';

/** What a schema script (`NN-name.schema.ldif`) holds, in the order it must reach a server. */
export interface SchemaScript {
  /** The schema's name: the OpenLDAP entry's `cn` (`cn=openldap,cn=schema,cn=config`) or the file's name. */
  name: string;
  /** Attribute types first (object classes use them), each after its superior. */
  definitions: Definition[];
}

const KIND_OF: Record<string, DefinitionKind> = {
  attributetypes: 'attributeType', olcattributetypes: 'attributeType',
  objectclasses: 'objectClass', olcobjectclasses: 'objectClass',
};
const MACROS = 'olcobjectidentifier';
/** Attributes of a schema entry that carry no definition. */
const IGNORED = new Set(['objectclass', 'cn']);
const UNSUPPORTED: Record<string, string> = {
  olcldapsyntaxes: 'LDAP syntaxes', ldapsyntaxes: 'LDAP syntaxes', olcditcontentrules: 'DIT content rules', ditcontentrules: 'DIT content rules',
  matchingrules: 'matching rules', matchingruleuse: 'matching rule uses', nameforms: 'name forms', ditstructurerules: 'DIT structure rules',
};

const SCHEMA_SUFFIX = '.schema.ldif';

/** Whether a script file (or a script's id) is a schema script: `NN-name.schema.ldif`, in any case. */
export function isSchemaScript(name: string): boolean {
  return name.toLowerCase().endsWith(SCHEMA_SUFFIX);
}

export function readSchemaScript(path: string): SchemaScript {
  return parseSchemaScript(readFileSync(path, 'utf8'), path);
}

/**
 * Reads either form servers ship: 389 DS's (`dn: cn=schema`, `attributeTypes` / `objectClasses`,
 * as content or as `changetype: modify` with `add:`) and OpenLDAP's (`cn=NAME,cn=schema,cn=config`
 * with `olcObjectIdentifier` macros, `olcAttributeTypes` / `olcObjectClasses`, `{N}` prefixes).
 */
export function parseSchemaScript(source: string, file: string): SchemaScript {
  const fail = (line: number, problem: string): never => {
    throw new ScriptFileError(`${file}:${line}: ${problem}`);
  };
  const records = parseLdif(source, { file });
  if (records.length === 0) throw new ScriptFileError(`${file}: holds no schema definitions`);
  const macros = new Map<string, string>();
  const found: { def: Definition; line: number }[] = [];
  let name: string | undefined;
  for (const r of records) {
    const dn = r.dn.trim();
    const openldap = /^cn=(?:\{\d+\})?([^,]+),cn=schema,cn=config$/i.exec(dn);
    if (!openldap && !/^cn=schema$/i.test(dn)) fail(r.line, `${shown(dn)}: a schema script holds cn=schema (389 DS form) or cn=NAME,cn=schema,cn=config (OpenLDAP form) records`);
    name ??= openldap?.[1];
    // Each attribute with its values and the line of each (a message names the definition's own line).
    let attributes: [string, AttributeValue[], number[]][];
    if (r.kind === 'add') attributes = Object.entries(r.attributes).map(([a, vs]) => [a, vs, r.valueLines?.[a] ?? vs.map(() => r.line)]);
    else if (r.kind === 'modify') {
      const bad = r.changes.find((c) => c.operation !== 'add');
      if (bad) fail(r.line, `${shown(dn)}: "${bad.operation}: ${bad.attribute}": a schema script only adds or changes definitions (never deletes them)`);
      attributes = r.changes.map((c, i) => [c.attribute, c.values, r.valueLines?.[i] ?? c.values.map(() => r.line)]);
    } else {
      return fail(r.line, `${shown(dn)}: a schema script holds definitions, not a ${r.kind}`);
    }
    // Macros first: OpenLDAP's files list them first, and they may refer to one another.
    for (const [attr, values, lines] of attributes.filter(([a]) => a.toLowerCase() === MACROS)) {
      values.forEach((v, i) => {
        if (!defineMacro(macros, String(v))) fail(lines[i]!, `${attr}: ${shown(String(v))} is not "name OID"`);
      });
    }
    for (const [attr, values, lines] of attributes) {
      const key = attr.toLowerCase();
      if (key === MACROS || IGNORED.has(key)) continue;
      if (UNSUPPORTED[key]) fail(lines[0]!, `${attr}: ${UNSUPPORTED[key]} are not supported in schema scripts (only attribute types and object classes, which both server kinds accept over LDAP)`);
      const kind = KIND_OF[key];
      if (!kind) fail(lines[0]!, `${attr}: not a schema definition (attributeTypes, objectClasses, olcAttributeTypes, olcObjectClasses, olcObjectIdentifier)`);
      values.forEach((v, i) => {
        try {
          found.push({ def: parseDefinition(kind!, String(v), macros), line: lines[i]! });
        } catch (err) {
          if (err instanceof DefinitionError) fail(lines[i]!, `${attr}: ${err.message}`);
          throw err;
        }
      });
    }
  }
  if (found.length === 0) throw new ScriptFileError(`${file}: holds no attribute type or object class definitions`);
  const seen = new Map<string, number>();
  for (const { def: d, line } of found) {
    for (const id of [d.oid, ...d.names]) {
      const key = `${d.kind}:${id.toLowerCase()}`;
      const before = seen.get(key);
      if (before !== undefined) fail(line, `${d.kind === 'attributeType' ? 'attribute type' : 'object class'} ${id === d.oid ? d.oid : `${id} (${d.oid})`} is defined twice (first on line ${before})`);
      seen.set(key, line);
    }
  }
  return { name: name ?? schemaNameOf(file), definitions: ordered(found, fail) };
}

/** `01-sudo.schema.ldif` → `sudo`. */
export function schemaNameOf(file: string): string {
  return basename(file).replace(/\.schema\.ldif$/i, '').replace(/^\d{2}-/, '').replace(/[^\w.-]/g, '-') || 'schema';
}

/**
 * Attribute types, then object classes; within each, a definition after the superiors it names
 * here. Superiors that form a cycle are refused naming it (no server would take them).
 */
function ordered(found: { def: Definition; line: number }[], fail: (line: number, problem: string) => never): Definition[] {
  const out: Definition[] = [];
  const lineOf = new Map(found.map((f) => [f.def, f.line]));
  for (const kind of ['attributeType', 'objectClass'] as const) {
    const pending = found.map((f) => f.def).filter((d) => d.kind === kind);
    const byName = new Map<string, Definition>();
    for (const d of pending) for (const n of [d.oid, ...d.names]) byName.set(n.toLowerCase(), d);
    const placed = new Set<Definition>();
    const path: Definition[] = [];
    const visit = (d: Definition) => {
      if (placed.has(d)) return;
      const at = path.indexOf(d);
      if (at >= 0) {
        const cycle = [...path.slice(at), d].map((x) => x.names[0] ?? x.oid).join(' → ');
        fail(lineOf.get(d)!, `the superiors (SUP) of ${kind === 'attributeType' ? 'attribute types' : 'object classes'} form a cycle: ${cycle}`);
      }
      path.push(d);
      const sup = d.fields.get('SUP');
      for (const s of typeof sup === 'string' ? [sup] : Array.isArray(sup) ? sup : []) {
        const parent = byName.get(s.toLowerCase());
        if (parent) visit(parent);
      }
      path.pop();
      placed.add(d);
      out.push(d);
    };
    for (const d of pending) visit(d);
  }
  return out;
}
