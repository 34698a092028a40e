import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ScriptFileError } from '../errors.js';
import type { AttributeValue } from '../ldap/entry.js';
import { parseLdif } from '../ldif/parse.js';
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
  const found: Definition[] = [];
  let name: string | undefined;
  for (const r of records) {
    const dn = r.dn.trim();
    const openldap = /^cn=(?:\{\d+\})?([^,]+),cn=schema,cn=config$/i.exec(dn);
    if (!openldap && !/^cn=schema$/i.test(dn)) fail(r.line, `${dn}: a schema script holds cn=schema (389 DS form) or cn=NAME,cn=schema,cn=config (OpenLDAP form) records`);
    name ??= openldap?.[1];
    let attributes: [string, AttributeValue[]][];
    if (r.kind === 'add') attributes = Object.entries(r.attributes);
    else if (r.kind === 'modify') {
      const bad = r.changes.find((c) => c.operation !== 'add');
      if (bad) fail(r.line, `${dn}: "${bad.operation}: ${bad.attribute}": a schema script only adds or changes definitions (never deletes them)`);
      attributes = r.changes.map((c) => [c.attribute, c.values]);
    } else {
      return fail(r.line, `${dn}: a schema script holds definitions, not a ${r.kind}`);
    }
    // Macros first: OpenLDAP's files list them first, and they may refer to one another.
    for (const [attr, values] of attributes.filter(([a]) => a.toLowerCase() === MACROS)) {
      for (const v of values) {
        if (!defineMacro(macros, String(v))) fail(r.line, `${attr}: "${String(v)}" is not "name OID"`);
      }
    }
    for (const [attr, values] of attributes) {
      const key = attr.toLowerCase();
      if (key === MACROS || IGNORED.has(key)) continue;
      if (UNSUPPORTED[key]) fail(r.line, `${attr}: ${UNSUPPORTED[key]} are not supported in schema scripts (only attribute types and object classes, which both server kinds accept over LDAP)`);
      const kind = KIND_OF[key];
      if (!kind) fail(r.line, `${attr}: not a schema definition (attributeTypes, objectClasses, olcAttributeTypes, olcObjectClasses, olcObjectIdentifier)`);
      for (const v of values) {
        try {
          found.push(parseDefinition(kind!, String(v), macros));
        } catch (err) {
          if (err instanceof DefinitionError) fail(r.line, `${attr}: ${err.message}`);
          throw err;
        }
      }
    }
  }
  if (found.length === 0) throw new ScriptFileError(`${file}: holds no attribute type or object class definitions`);
  const seen = new Map<string, Definition>();
  for (const d of found) {
    if (seen.has(`${d.kind}:${d.oid}`)) throw new ScriptFileError(`${file}: ${d.kind} ${d.oid} is defined twice`);
    seen.set(`${d.kind}:${d.oid}`, d);
  }
  return { name: name ?? schemaNameOf(file), definitions: ordered(found) };
}

/** `01-sudo.schema.ldif` → `sudo`. */
export function schemaNameOf(file: string): string {
  return basename(file).replace(/\.schema\.ldif$/i, '').replace(/^\d{2}-/, '').replace(/[^\w.-]/g, '-') || 'schema';
}

/** Attribute types, then object classes; within each, a definition after the superiors it names here. */
function ordered(defs: Definition[]): Definition[] {
  const out: Definition[] = [];
  for (const kind of ['attributeType', 'objectClass'] as const) {
    const pending = defs.filter((d) => d.kind === kind);
    const byName = new Map<string, Definition>();
    for (const d of pending) for (const n of [d.oid, ...d.names]) byName.set(n.toLowerCase(), d);
    const placed = new Set<Definition>();
    const visit = (d: Definition, depth: number) => {
      if (placed.has(d) || depth > 50) return;
      const sup = d.fields.get('SUP');
      for (const s of typeof sup === 'string' ? [sup] : Array.isArray(sup) ? sup : []) {
        const parent = byName.get(s.toLowerCase());
        if (parent && parent !== d) visit(parent, depth + 1);
      }
      placed.add(d);
      out.push(d);
    };
    for (const d of pending) visit(d, 0);
  }
  return out;
}
