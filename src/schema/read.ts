import type { Directory } from '../ldap/directory.js';
import { getFirst, getValues } from '../ldap/entry.js';
import { parseDefinition, type Definition, type DefinitionKind } from './definition.js';

/** A server's attribute types and object classes, as its subschema subentry publishes them. */
export interface ServerSchema {
  byOid: Map<string, Definition>;
  /** Lower-cased names → definition (the fallback when an OID is a `name-oid` placeholder). */
  byName: Map<string, Definition>;
}

const ATTRIBUTE: Record<DefinitionKind, string> = { attributeType: 'attributeTypes', objectClass: 'objectClasses' };

/**
 * Reads the subschema subentry the root DSE names (389 DS: cn=schema, OpenLDAP: cn=Subschema),
 * asking for the definitions by name (389 DS returns them only when asked).
 */
export async function readServerSchema(d: Directory): Promise<ServerSchema> {
  const root = await d.get('', ['subschemaSubentry']);
  const dn = (root && getFirst(root, 'subschemaSubentry')) || 'cn=Subschema';
  const entry = await d.get(dn, Object.values(ATTRIBUTE));
  if (!entry) throw new Error(`${d.server}: the subschema subentry ${dn} cannot be read`);
  const schema: ServerSchema = { byOid: new Map(), byName: new Map() };
  for (const kind of Object.keys(ATTRIBUTE) as DefinitionKind[]) {
    for (const value of getValues(entry, ATTRIBUTE[kind])) {
      let def: Definition;
      try {
        def = parseDefinition(kind, String(value));
      } catch {
        continue; // a server's own oddity: it is compared by name, if ever
      }
      schema.byOid.set(key(kind, def.oid), def);
      for (const n of def.names) schema.byName.set(key(kind, n), def);
    }
  }
  return schema;
}

const key = (kind: DefinitionKind, id: string) => `${kind}:${id.toLowerCase()}`;

/** The server's definition that `wanted` is compared with: by OID, else by name. */
export function counterpart(schema: ServerSchema, wanted: Definition): Definition | undefined {
  return schema.byOid.get(key(wanted.kind, wanted.oid)) ?? wanted.names.map((n) => schema.byName.get(key(wanted.kind, n))).find((d) => d !== undefined);
}
