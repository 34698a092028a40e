import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLdifFile } from '../../src/ldif/parse.js';
import { defineMacro, parseDefinition, type DefinitionKind } from '../../src/schema/definition.js';
import type { ChangeRecord } from '../../src/ldif/types.js';

/**
 * The LDIF and schema files Debian's slapd and 389-ds-base packages ship (installed by
 * .ci/setup), each read by the project's readers and by python-ldap (Debian's python3-ldap): the
 * records, value for value, and every attribute type and object class, field by field, must
 * agree. A file the project's schema script reader refuses as a whole (LDAP syntaxes, ACIs) is
 * still compared definition by definition.
 */
const DIRS = ['/etc/ldap/schema', '/usr/share/dirsrv/schema'];
const HELPER = join(import.meta.dirname, '..', 'helpers', 'independent-ldif.py');
const KINDS: Record<string, DefinitionKind> = { attributetypes: 'attributeType', olcattributetypes: 'attributeType', objectclasses: 'objectClass', olcobjectclasses: 'objectClass' };

interface Independent {
  file: string;
  records: { dn: string; attributes: Record<string, string[]> }[];
  definitions: { kind: DefinitionKind; oid: string; names: string[]; sup: string[]; must?: string[]; may?: string[]; syntax?: string | null; singleValue?: boolean }[];
}

const files = DIRS.filter(existsSync).flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.ldif')).sort().map((f) => join(d, f)));

function independent(paths: string[]): Independent[] {
  const r = spawnSync('/usr/bin/python3', [HELPER, ...paths], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`python-ldap's reading failed (is python3-ldap installed? .ci/setup installs it): ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Independent);
}

const bytes = (v: string | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8')).toString('base64');
const lower = (xs: string[] | undefined) => (xs ?? []).map((x) => x.toLowerCase());

function attributesOf(r: ChangeRecord): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (r.kind === 'add') for (const [k, vs] of Object.entries(r.attributes)) out[k.toLowerCase()] = vs.map(bytes);
  if (r.kind === 'modify') for (const c of r.changes) (out[c.attribute.toLowerCase()] ??= []).push(...c.values.map(bytes));
  return out;
}

describe('a corpus of shipped LDIF and schema files: the readers agree with python-ldap', () => {
  it(`${files.length} files from ${DIRS.join(' and ')}, record by record and definition by definition`, () => {
    expect(files.length, `no shipped files found under ${DIRS.join(', ')} (.ci/setup installs slapd and 389-ds-base)`).toBeGreaterThan(40);
    const theirs = independent(files);
    let definitions = 0;
    let values = 0;
    for (const other of theirs) {
      const ours = [...readLdifFile(other.file)];
      expect(ours.map((r) => r.dn.toLowerCase()), other.file).toEqual(other.records.map((r) => r.dn.trim().toLowerCase()));
      ours.forEach((r, i) => {
        // python-ldap keeps `attributetypes` and `attributeTypes` apart; names are case-insensitive.
        const want: Record<string, string[]> = {};
        for (const [k, vs] of Object.entries(other.records[i]!.attributes)) (want[k.toLowerCase()] ??= []).push(...vs);
        const got = attributesOf(r);
        expect(Object.keys(got).sort(), `${other.file}: ${r.dn}`).toEqual(Object.keys(want).sort());
        for (const k of Object.keys(want)) expect([...got[k]!].sort(), `${other.file}: ${r.dn}: ${k}`).toEqual([...want[k]!].sort());
        values += Object.values(want).flat().length;
      });
      // Definitions: the project's parser over the same values, macros expanded the same way.
      const macros = new Map<string, string>();
      for (const r of ours) for (const [k, vs] of Object.entries(attributesOf(r))) if (k === 'olcobjectidentifier') for (const v of vs) defineMacro(macros, Buffer.from(v, 'base64').toString());
      const mine = ours.flatMap((r) => Object.entries(attributesOf(r)).flatMap(([k, vs]) => (KINDS[k] ? vs.map((v) => parseDefinition(KINDS[k]!, Buffer.from(v, 'base64').toString(), macros)) : [])));
      expect(mine.length, other.file).toBe(other.definitions.length);
      const order = <T extends { kind: string; oid: string }>(xs: T[]) => [...xs].sort((a, b) => `${a.kind} ${a.oid.toLowerCase()}`.localeCompare(`${b.kind} ${b.oid.toLowerCase()}`));
      const theirsSorted = order(other.definitions);
      order(mine).forEach((d, i) => {
        const o = theirsSorted[i]!;
        const at = `${other.file}: ${o.names[0] ?? o.oid}`;
        expect(d.kind, at).toBe(o.kind);
        expect(d.oid.toLowerCase(), at).toBe(o.oid.toLowerCase());
        expect(d.names, at).toEqual(o.names);
        const list = (k: string) => { const v = d.fields.get(k); return typeof v === 'string' ? [v] : Array.isArray(v) ? v : []; };
        // python-ldap gives some object classes without SUP their implied superior, top.
        const implied = (xs: string[]) => (o.kind === 'objectClass' && xs.length === 1 && xs[0] === 'top' ? [] : xs);
        expect(implied(lower(list('SUP'))), at).toEqual(implied(lower(o.sup)));
        if (o.kind === 'objectClass') {
          expect(lower(list('MUST')), at).toEqual(lower(o.must));
          expect(lower(list('MAY')), at).toEqual(lower(o.may));
        } else {
          expect((d.fields.get('SYNTAX') as string | undefined) ?? null, at).toBe(o.syntax ?? null);
          expect(d.fields.has('SINGLE-VALUE'), at).toBe(o.singleValue);
        }
        definitions++;
      });
    }
    expect(definitions).toBeGreaterThan(1000);
    expect(values).toBeGreaterThan(definitions);
  }, 60_000);
});
