import { readFileSync } from 'node:fs';
import { ScriptFileError } from '../errors.js';
import { getValues, hasValue, isUnder, type AttributeValue, type LdapEntry, type Modification } from '../ldap/entry.js';
import type { ConfigWrite } from '../ldap/planned-write.js';
import { parseLdif } from '../ldif/parse.js';
import { shown } from '../ldif/lines.js';
import type { ChangeRecord } from '../ldif/types.js';
import type { ScriptFile } from './types.js';

export type { ConfigWrite };

/**
 * Configuration scripts (README "Configuration scripts"): RFC 2849 change records against
 * `cn=config`, applied on every server. This module is their pure part: reading a file with one
 * server's placeholders, refusing what a configuration script may not do, and working out the
 * write that makes one record hold on one server (none when it holds already: a re-run is a
 * no-op).
 */

/** The placeholders of a configuration script on one server. */
export interface ConfigPlaceholders {
  /** That server's entry for the suffix's database. */
  databaseDn: string;
  suffix: string;
}

/** What `validate` reads a configuration script with when no server is at hand. */
export const OFFLINE_DATABASE_DN = 'cn=database,cn=config';

/** Subtrees of cn=config a configuration script may not write, and why. */
const NOT_FOR_CONFIG_SCRIPTS: { base: string; why: string }[] = [
  { base: 'cn=schema,cn=config', why: 'the schema is written by schema scripts (NN-name.schema.ldif), which wait until every server shows it' },
  { base: 'cn=tasks,cn=config', why: 'the tool starts the index tasks a configuration script needs by itself, and waits for them' },
];

/** Reads a configuration script for one server: each record's DN must lie under cn=config. */
export function readConfigScript(script: Pick<ScriptFile, 'path'>, placeholders: ConfigPlaceholders, text = readFileSync(script.path, 'utf8')): ChangeRecord[] {
  const records = parseLdif(text, { file: script.path, placeholders: { ...placeholders } });
  for (const r of records) {
    const at = `${script.path}:${r.line}`;
    if (!isUnder(r.dn, 'cn=config')) throw new ScriptFileError(`${at}: ${shown(r.dn)} is not under cn=config: a configuration script changes only the servers' configuration (data goes in NN-name.ldif or a code script)`);
    const banned = NOT_FOR_CONFIG_SCRIPTS.find((b) => isUnder(r.dn, b.base));
    if (banned) throw new ScriptFileError(`${at}: ${shown(r.dn)}: ${banned.why}`);
    if (r.kind === 'modrdn') throw new ScriptFileError(`${at}: a configuration script cannot rename ${shown(r.dn)} (modrdn): neither server renames most configuration entries; delete and add it instead`);
    if (r.kind === 'add' && r.merge) throw new ScriptFileError(`${at}: "# ldap-upgrade: merge" is for data scripts; a configuration add is already a no-op when the entry exists with these values`);
  }
  return records;
}

/**
 * What `record` needs on a server whose entry is `current` (undefined: there is none), or
 * undefined when it holds already: an add of an entry present with every value, values added that
 * are there, deleted that are not, a replace by the same set, a delete of an absent entry. Throws
 * (the caller names the server) when it cannot hold: an entry present with other values, a
 * modify of an entry this server does not have.
 */
export function configWrite(record: ChangeRecord, current: LdapEntry | undefined): ConfigWrite | undefined {
  switch (record.kind) {
    case 'add': {
      if (!current) return { kind: 'add', dn: record.dn, attributes: record.attributes };
      const differ = Object.entries(record.attributes).filter(([name, values]) => !values.every((v) => holds(getValues(current, name), v))).map(([name]) => name);
      if (differ.length === 0) return undefined;
      throw new ScriptFileError(`${record.dn} exists with other values of ${differ.join(', ')}: change it with a modify record, or delete it first`);
    }
    case 'delete':
      return current ? { kind: 'delete', dn: record.dn, pre: current } : undefined;
    case 'modify': {
      if (!current) throw new ScriptFileError(`${record.dn} does not exist`);
      const changes: Modification[] = [];
      for (const c of record.changes) {
        const now = getValues(current, c.attribute);
        if (c.operation === 'add') {
          const missing = c.values.filter((v) => !holds(now, v));
          if (missing.length) changes.push({ ...c, values: missing });
        } else if (c.operation === 'delete') {
          if (c.values.length === 0) { if (now.length) changes.push(c); continue; }
          const present = c.values.filter((v) => holds(now, v)).map((v) => now.find((n) => sameOrdered(n, v))!);
          if (present.length) changes.push({ ...c, values: present });
        } else if (!(now.length === c.values.length && c.values.every((v) => holds(now, v)))) {
          changes.push(c);
        }
      }
      return changes.length ? { kind: 'modify', dn: record.dn, changes, pre: current } : undefined;
    }
    default:
      throw new ScriptFileError(`${record.dn}: a configuration script cannot rename entries`);
  }
}

/** The attributes a record names (what `verify` compares across servers). */
export function recordAttributes(record: ChangeRecord): string[] {
  if (record.kind === 'add') return Object.keys(record.attributes);
  if (record.kind === 'modify') return [...new Set(record.changes.map((c) => c.attribute))];
  return [];
}

/** One line for a write, for the output and the reports (values shortened). */
export function describeConfigWrite(w: ConfigWrite): string {
  if (w.kind === 'add') return `add ${w.dn}`;
  if (w.kind === 'delete') return `delete ${w.dn}`;
  const parts = w.changes.map((c) => `${c.operation} ${c.attribute}${c.values.length ? `: ${c.values.map((v) => short(String(v))).join(' | ')}` : ''}`);
  return `modify ${w.dn} (${parts.join('; ')})`;
}

function short(v: string): string {
  return v.length > 60 ? `${v.slice(0, 57)}...` : v;
}

/**
 * Whether `values` (a server's) hold `v` (a script's): equal, or equal once the server's
 * `{N}` ordering prefix is set aside when the script wrote none (OpenLDAP numbers X-ORDERED values
 * such as olcAccess itself).
 */
function holds(values: AttributeValue[], v: AttributeValue): boolean {
  return hasValue(values, v) || values.some((n) => sameOrdered(n, v));
}

function sameOrdered(server: AttributeValue, script: AttributeValue): boolean {
  if (typeof server !== 'string' || typeof script !== 'string') return false;
  if (server.toLowerCase() === script.toLowerCase()) return true;
  return !/^\{\d+\}/.test(script) && server.replace(/^\{\d+\}/, '').toLowerCase() === script.toLowerCase();
}
