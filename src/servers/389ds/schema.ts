import type { Directory } from '../../ldap/directory.js';
import { getFirst, getValues, normalizeDn } from '../../ldap/entry.js';
import { formatDefinition, withoutProvenance, type Definition } from '../../schema/definition.js';
import type { SchemaWriter } from '../adapter.js';

/**
 * 389 DS: the master's cn=schema is written, and the schema travels to every replica with the
 * next replication session. Adding a definition whose OID exists replaces it (measured on 2.3.1:
 * a delete of a type an object class uses is refused, 53, but an add of the new text replaces it),
 * so additions and changes are adds, attribute types first.
 */
export const dirsrvSchema: SchemaWriter = {
  async placement() {
    return 'master';
  },

  async writeProblem(config, bindDn) {
    const cfg = await config.get('cn=config', ['nsslapd-rootdn']).catch(() => null);
    const root = cfg ? getFirst(cfg, 'nsslapd-rootdn') : undefined;
    if (root && normalizeDn(root) === normalizeDn(bindDn)) return undefined;
    const schema = await config.get('cn=schema', ['aci']).catch(() => null);
    // An aci allowing writes may or may not name this DN: the write will tell.
    if (schema && getValues(schema, 'aci').some((a) => /allow\s*\([^)]*\b(write|all)\b/i.test(String(a)))) return undefined;
    return `${bindDn} may not write cn=schema: it is not the Directory Manager (nsslapd-rootdn) and no aci on cn=schema allows writes`;
  },

  async protection() {
    return (actual) => {
      const origin = actual.fields.get('X-ORIGIN');
      const origins = origin === undefined || origin === true ? [] : typeof origin === 'string' ? [origin] : origin;
      const own = origins.filter((o) => o.toLowerCase() !== 'user defined');
      return own.length ? `389 DS's own definition (X-ORIGIN ${own.map((o) => `'${o}'`).join(' ')})` : undefined;
    };
  },

  async renew(config, definitions) {
    await addDefinitions(config, definitions);
  },

  async apply(config, _script, diff) {
    await addDefinitions(config, [...diff.add, ...diff.change.map((c) => c.wanted)]);
  },
};

async function addDefinitions(config: Directory, wanted: Definition[]): Promise<void> {
  // Written without X-ORIGIN: 389 DS marks it "user defined", which tells ours from its own.
  const values = (kind: Definition['kind']) => wanted.filter((d) => d.kind === kind).map((d) => formatDefinition(withoutProvenance(d)));
  // One modify per definition: 389 DS applies a schema modify's values one by one and keeps
  // those before a refused one (measured: a refused object class left the attribute type
  // before it in place), so a failure must leave whole definitions, each in or out.
  for (const [attribute, list] of [['attributeTypes', values('attributeType')], ['objectClasses', values('objectClass')]] as const) {
    for (const value of list) await config.modify('cn=schema', [{ operation: 'add', attribute, values: [value] }]);
  }
}
