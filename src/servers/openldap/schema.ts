import type { Directory } from '../../ldap/directory.js';
import { getFirst, getValues, normalizeDn, type Modification } from '../../ldap/entry.js';
import { defineMacro, formatDefinition, parseDefinition, type Definition } from '../../schema/definition.js';
import type { SchemaWriter } from '../adapter.js';

const SCHEMA_BASE = 'cn=schema,cn=config';
const CONFIG_DB = 'olcDatabase={0}config,cn=config';
const VALUES = { attributeType: 'olcAttributeTypes', objectClass: 'olcObjectClasses' } as const;

/**
 * OpenLDAP keeps its schema in cn=config, one entry per schema file (`cn={N}name,cn=schema,cn=config`).
 * A node whose cn=config is not replicated is written itself; new definitions go into the script's
 * own entry, a changed one is replaced where it lives (`delete {N}` + `add {N}(…)`, one modify).
 */
export const openldapSchema: SchemaWriter = {
  async placement(config) {
    const db = await config.get(CONFIG_DB, ['olcSyncrepl']);
    return db && getValues(db, 'olcSyncrepl').length > 0 ? 'master' : 'each-node';
  },

  async writeProblem(config, bindDn) {
    return configWriteProblem(config, bindDn, 'cn=x,cn=schema,cn=config', 'the schema');
  },

  async protection(config, script) {
    const entries = await schemaEntries(config);
    return (actual) => {
      const at = locate(entries, actual);
      if (!at) return 'built into slapd';
      return at.name.toLowerCase() === script.name.toLowerCase() ? undefined : `defined by ${at.dn}`;
    };
  },

  async apply(config, script, diff) {
    const entries = await schemaEntries(config);
    if (diff.add.length) {
      const own = entries.find((e) => e.name.toLowerCase() === script.name.toLowerCase());
      const byKind = (kind: Definition['kind']) => diff.add.filter((d) => d.kind === kind).map(formatDefinition);
      const values = { olcAttributeTypes: byKind('attributeType'), olcObjectClasses: byKind('objectClass') };
      if (own) {
        await config.modify(own.dn, Object.entries(values).filter(([, v]) => v.length).map(([attribute, v]) => ({ operation: 'add', attribute, values: v })));
      } else {
        await config.add(`cn=${script.name},${SCHEMA_BASE}`, {
          objectClass: ['olcSchemaConfig'], cn: [script.name],
          ...Object.fromEntries(Object.entries(values).filter(([, v]) => v.length)),
        });
      }
    }
    const changes = new Map<string, Modification[]>();
    for (const c of diff.change) {
      const at = locate(entries, c.actual);
      if (!at) throw new Error(`${c.wanted.kind} ${c.wanted.names[0] ?? c.wanted.oid} differs (${c.fields.join(', ')}) but is built into slapd, not in ${SCHEMA_BASE}: it cannot be changed`);
      const attribute = VALUES[c.wanted.kind];
      const mods = changes.get(at.dn) ?? [];
      mods.push({ operation: 'delete', attribute, values: [at.index] }, { operation: 'add', attribute, values: [`${at.index}${formatDefinition(c.wanted)}`] });
      changes.set(at.dn, mods);
    }
    for (const [dn, mods] of changes) await config.modify(dn, mods);
  },
};

/**
 * Why `bindDn` may not write `target` under cn=config (`what`, in words), as far as the config
 * database's olcRootDN and olcAccess tell; undefined when it may.
 */
export async function configWriteProblem(config: Directory, bindDn: string, target: string, what: string): Promise<string | undefined> {
  const db = await config.get(CONFIG_DB, ['olcRootDN', 'olcAccess']).catch(() => null);
  if (!db) return `${bindDn} cannot read ${CONFIG_DB}: it may not write ${what} (configBind must be the cn=config database's olcRootDN, usually cn=config, or be granted write there)`;
  const root = getFirst(db, 'olcRootDN');
  if (root && normalizeDn(root) === normalizeDn(bindDn)) return undefined;
  return accessProblem(getValues(db, 'olcAccess').map(String), bindDn, normalizeDn(target), what) ?? undefined;
}

/**
 * slapd's access rules for a new schema entry (`cn=x,cn=schema,cn=config`), read as slapd does:
 * the first `to` that covers it, then the first `by` that names the DN. A rule this cannot judge
 * (attrs=, filter=, groups, sets, patterns) is taken as allowing: the write itself will tell.
 */
export function accessProblem(rules: string[], bindDn: string, target = 'cn=x,cn=schema,cn=config', subject = 'the schema'): string | undefined | null {
  const me = normalizeDn(bindDn);
  const dnClause = /^dn(?:\.(base|exact|subtree|sub|children|one|onelevel))?="([^"]*)"$/i;
  for (const raw of rules) {
    const rule = raw.replace(/^\{\d+\}/, '').trim();
    const m = /^to\s+(.+?)\s+(by\s.*)$/is.exec(rule);
    if (!m) return null;
    const what = m[1]!.trim();
    let covers: boolean;
    if (what === '*') covers = true;
    else {
      const d = dnClause.exec(what);
      if (!d) return null;
      const scope = (d[1] ?? 'base').toLowerCase();
      const base = normalizeDn(d[2]!);
      covers = scope === 'base' || scope === 'exact' ? target === base
        : scope === 'one' || scope === 'onelevel' ? target.slice(target.indexOf(',') + 1) === base
        : target.endsWith(`,${base}`) || (scope !== 'children' && target === base);
    }
    if (!covers) continue;
    for (const by of m[2]!.split(/\s*\bby\s+/i).filter(Boolean)) {
      const w = /^(dn(?:\.\w+)?="[^"]*"|\S+)\s*(\S+)?/.exec(by.trim())!;
      const who = w[1]!;
      const level = w[2] ?? 'none';
      let names: boolean;
      if (who === '*' || who === 'users') names = true;
      else if (who === 'anonymous' || who === 'self') names = false;
      else {
        const d = dnClause.exec(who);
        if (!d || !['exact', 'base', undefined].includes(d[1]?.toLowerCase())) return null;
        names = normalizeDn(d[2]!) === me;
      }
      if (!names) continue;
      if (/^(write|manage|add)$/i.test(level) || /^[=+][a-z]*[wa]/i.test(level)) return undefined;
      return `${bindDn} may not write ${subject}: the cn=config rule "${raw}" gives it ${level}`;
    }
    return `${bindDn} may not write ${subject}: the cn=config rule "${raw}" does not name it`;
  }
  return `${bindDn} may not write ${subject}: it is not the cn=config database's olcRootDN and no olcAccess there grants it write`;
}

interface SchemaEntry {
  dn: string;
  name: string;
  values: { kind: Definition['kind']; index: string; def?: Definition }[];
}

/** The schema entries with their definitions parsed (macros of every entry, in order, expanded). */
async function schemaEntries(config: Directory): Promise<SchemaEntry[]> {
  const raw = [];
  for await (const e of config.search({ base: SCHEMA_BASE, scope: 'one', filter: '(objectClass=olcSchemaConfig)', attributes: ['cn', 'olcObjectIdentifier', ...Object.values(VALUES)] })) raw.push(e);
  const order = (dn: string) => Number(/^cn=\{(\d+)\}/i.exec(dn)?.[1] ?? 1e9);
  raw.sort((a, b) => order(a.dn) - order(b.dn));
  const macros = new Map<string, string>();
  const out: SchemaEntry[] = [];
  for (const e of raw) {
    for (const v of getValues(e, 'olcObjectIdentifier').map(String)) defineMacro(macros, v);
    const values: SchemaEntry['values'] = [];
    for (const kind of ['attributeType', 'objectClass'] as const) {
      for (const v of getValues(e, VALUES[kind]).map(String)) {
        const index = /^\{\d+\}/.exec(v)?.[0] ?? '';
        let def: Definition | undefined;
        try {
          def = parseDefinition(kind, v, macros);
        } catch { /* left unparsed: never matched */ }
        values.push({ kind, index, def });
      }
    }
    out.push({ dn: e.dn, name: String(getFirst(e, 'cn') ?? '').replace(/^\{\d+\}/, ''), values });
  }
  return out;
}

function locate(entries: SchemaEntry[], actual: Definition): { dn: string; name: string; index: string } | undefined {
  for (const e of entries) {
    const v = e.values.find((x) => x.kind === actual.kind && x.def && x.index && (x.def.oid === actual.oid || x.def.names.some((n) => actual.names.some((m) => m.toLowerCase() === n.toLowerCase()))));
    if (v) return { dn: e.dn, name: e.name, index: v.index };
  }
  return undefined;
}
