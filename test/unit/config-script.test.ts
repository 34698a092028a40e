import { describe, expect, it } from 'vitest';
import { ScriptFileError } from '../../src/errors.js';
import type { LdapEntry } from '../../src/ldap/entry.js';
import { discoverScripts } from '../../src/scripts/catalog.js';
import { configWrite, describeConfigWrite, readConfigScript } from '../../src/scripts/config-script.js';
import { indexedAttributes, openldapConfig } from '../../src/servers/openldap/config.js';
import { dirsrvConfig } from '../../src/servers/389ds/config.js';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const at = { databaseDn: 'olcDatabase={2}mdb,cn=config', suffix: 'dc=example,dc=com' };
const read = (text: string) => readConfigScript({ path: '1.1.0/01-index.config.ldif' }, at, text);
const db = (attributes: Record<string, string[]>): LdapEntry => ({ dn: at.databaseDn, attributes });

describe('reading a configuration script for one server', () => {
  it("puts that server's database entry and the suffix in", () => {
    const [r] = read('dn: ${databaseDn}\nchangetype: modify\nadd: olcDbIndex\nolcDbIndex: mail eq\n');
    expect(r).toMatchObject({ kind: 'modify', dn: 'olcDatabase={2}mdb,cn=config', line: 1 });
  });

  it.each([
    ['a record outside cn=config', 'dn: ou=people,${suffix}\nchangetype: delete\n', /01-index\.config\.ldif:1: "ou=people,dc=example,dc=com" is not under cn=config/],
    ['the schema (schema scripts write it)', 'dn: cn=schema,cn=config\nchangetype: modify\nadd: olcAttributeTypes\nolcAttributeTypes: ( 1.2.3 NAME \'x\' )\n', /:1: "cn=schema,cn=config": the schema is written by schema scripts/],
    ['a task (the tool starts its own)', 'dn: cn=x,cn=index,cn=tasks,cn=config\nobjectClass: extensibleObject\ncn: x\n', /:1: "cn=x,cn=index,cn=tasks,cn=config": the tool starts the index tasks/],
    ['a rename', '\ndn: cn=x,cn=config\nchangetype: modrdn\nnewrdn: cn=y\ndeleteoldrdn: 1\n', /:2: a configuration script cannot rename "cn=x,cn=config"/],
    ['an unknown placeholder', 'dn: ${database}\nchangetype: delete\n', /01-index\.config\.ldif:1: .*\$\{database\}/],
  ])('refuses %s, naming the file and the line', (_what, text, message) => {
    expect(() => read(text)).toThrow(ScriptFileError);
    expect(() => read(text)).toThrow(message);
  });
});

describe('the write that makes a configuration record hold', () => {
  const [addIndex] = read('dn: ${databaseDn}\nchangetype: modify\nadd: olcDbIndex\nolcDbIndex: mail eq\n');

  it('adds a value the server lacks, and nothing when it has it (a re-run is a no-op)', () => {
    const w = configWrite(addIndex!, db({ olcDbIndex: ['objectClass eq'] }));
    expect(w).toMatchObject({ kind: 'modify', changes: [{ operation: 'add', attribute: 'olcDbIndex', values: ['mail eq'] }] });
    expect(describeConfigWrite(w!)).toBe('modify olcDatabase={2}mdb,cn=config (add olcDbIndex: mail eq)');
    expect(configWrite(addIndex!, db({ olcDbIndex: ['objectClass eq', 'mail eq'] }))).toBeUndefined();
  });

  it('an ordered value (olcAccess) is found whatever {N} slapd gave it; a delete sends the server\'s own value', () => {
    const [add, del] = read('dn: ${databaseDn}\nchangetype: modify\nadd: olcAccess\nolcAccess: to * by * read\n\ndn: ${databaseDn}\nchangetype: modify\ndelete: olcAccess\nolcAccess: to * by * read\n');
    const entry = db({ olcAccess: ['{0}to attrs=userPassword by self write', '{1}to * by * read'] });
    expect(configWrite(add!, entry)).toBeUndefined();
    expect(configWrite(del!, entry)).toMatchObject({ changes: [{ operation: 'delete', values: ['{1}to * by * read'] }] });
  });

  it('an add of an entry present with the same values is a no-op; with other values it is refused', () => {
    const [add] = read('dn: cn=mail,cn=index,${databaseDn}\nobjectClass: nsIndex\ncn: mail\nnsIndexType: eq\n');
    const present = { dn: add!.dn, attributes: { objectClass: ['top', 'nsIndex'], cn: ['mail'], nsIndexType: ['eq'], nsSystemIndex: ['false'] } };
    expect(configWrite(add!, present)).toBeUndefined();
    expect(() => configWrite(add!, { ...present, attributes: { ...present.attributes, nsIndexType: ['pres'] } })).toThrow(/exists with other values of nsIndexType/);
    expect(configWrite(add!, undefined)).toMatchObject({ kind: 'add' });
  });

  it('a modify of an entry the server lacks is refused; a delete of one it lacks is a no-op; a replace by the same set is a no-op', () => {
    const [rep] = read('dn: ${databaseDn}\nchangetype: modify\nreplace: olcDbMaxSize\nolcDbMaxSize: 100\n');
    expect(() => configWrite(rep!, undefined)).toThrow(/does not exist/);
    expect(configWrite(rep!, db({ olcDbMaxSize: ['100'] }))).toBeUndefined();
    expect(configWrite(rep!, db({ olcDbMaxSize: ['200'] }))).toMatchObject({ changes: [{ operation: 'replace' }] });
    const [del] = read('dn: cn=gone,cn=config\nchangetype: delete\n');
    expect(configWrite(del!, undefined)).toBeUndefined();
  });
});

describe('which index builds the writes call for', () => {
  it('OpenLDAP: an olcDbIndex value added or replaced on the database entry, by attribute (not "default"); a delete builds nothing', () => {
    expect(indexedAttributes(['cn,uid eq,sub', 'default pres', 'mail eq'])).toEqual(['cn', 'uid', 'mail']);
    const pre = db({ olcDbIndex: ['objectClass eq'] });
    expect(openldapConfig.indexBuild([{ kind: 'modify', dn: at.databaseDn, pre, changes: [{ operation: 'add', attribute: 'olcDbIndex', values: ['mail eq'] }] }], at.databaseDn)).toEqual({ attributes: ['mail'], vlv: [] });
    expect(openldapConfig.indexBuild([{ kind: 'modify', dn: at.databaseDn, pre, changes: [{ operation: 'delete', attribute: 'olcDbIndex', values: ['objectClass eq'] }] }], at.databaseDn)).toBeUndefined();
    expect(openldapConfig.indexBuild([{ kind: 'modify', dn: 'olcDatabase={1}mdb,cn=config', pre, changes: [{ operation: 'add', attribute: 'olcDbIndex', values: ['mail eq'] }] }], at.databaseDn)).toBeUndefined();
  });

  it('389 DS: an nsIndex entry added or its types changed, a VLV index added; other settings build nothing', () => {
    const base = 'cn=userRoot,cn=ldbm database,cn=plugins,cn=config';
    const index = { kind: 'add' as const, dn: `cn=mail,cn=index,${base}`, attributes: { objectClass: ['top', 'nsIndex'], cn: ['mail'], nsIndexType: ['eq'] } };
    const vlv = { kind: 'add' as const, dn: `cn=byName,cn=people,${base}`, attributes: { objectClass: ['top', 'vlvIndex'], cn: ['byName'], vlvSort: ['cn'] } };
    const search = { kind: 'add' as const, dn: `cn=people,${base}`, attributes: { objectClass: ['top', 'vlvSearch'], cn: ['people'], vlvBase: ['dc=x'], vlvScope: ['2'], vlvFilter: ['(uid=*)'] } };
    expect(dirsrvConfig.indexBuild([index, search, vlv], base)).toEqual({ attributes: ['mail'], vlv: ['byName'] });
    const pre = { dn: `cn=uid,cn=index,${base}`, attributes: { objectClass: ['top', 'nsIndex'], cn: ['uid'], nsIndexType: ['eq'] } };
    expect(dirsrvConfig.indexBuild([{ kind: 'modify', dn: pre.dn, pre, changes: [{ operation: 'add', attribute: 'nsIndexType', values: ['sub'] }] }], base)).toEqual({ attributes: ['uid'], vlv: [] });
    const cache = { dn: base, attributes: { objectClass: ['nsBackendInstance'] } };
    expect(dirsrvConfig.indexBuild([{ kind: 'modify', dn: base, pre: cache, changes: [{ operation: 'replace', attribute: 'nsslapd-cachememsize', values: ['1000000'] }] }], base)).toBeUndefined();
  });
});

describe('configuration scripts in the scripts folder', () => {
  it('are named NN-name.config.ldif (or .openldap. / .389ds. for one kind), run after the schema and before the data of their version', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lu-config-'));
    mkdirSync(join(dir, '1.1.0'));
    for (const name of ['01-data.ldif', '02-index.config.ldif', '03-attrs.schema.ldif', '04-vlv.389ds.config.ldif', '05-code.ts']) writeFileSync(join(dir, '1.1.0', name), name.endsWith('.ts') ? 'export default {}' : '# x\n');
    const [v] = discoverScripts(dir).versions;
    expect(v!.scripts.map((s) => [s.name, s.kind, s.serverKind])).toEqual([
      ['03-attrs.schema.ldif', 'schema', undefined], ['02-index.config.ldif', 'config', undefined], ['04-vlv.389ds.config.ldif', 'config', '389ds'],
      ['01-data.ldif', 'ldif', undefined], ['05-code.ts', 'code', undefined],
    ]);
  });
});

describe("389 DS: whether configBind may write the database entry", () => {
  const base = 'cn=userRoot,cn=ldbm database,cn=plugins,cn=config';
  /** A cn=config whose entries are `entries` (DN → attributes). */
  const fake = (entries: Record<string, Record<string, string[]>>) => ({
    async get(dn: string) {
      const key = Object.keys(entries).find((k) => k.toLowerCase() === dn.toLowerCase());
      return key ? { dn: key, attributes: entries[key]! } : null;
    },
  }) as unknown as import('../../src/ldap/directory.js').Directory;
  const tree = { 'cn=config': { 'nsslapd-rootdn': ['cn=Directory Manager'] }, 'cn=plugins,cn=config': {}, 'cn=ldbm database,cn=plugins,cn=config': {}, [base]: {} };

  it('the Directory Manager may', async () => {
    expect(await dirsrvConfig.writeProblem(fake(tree), 'cn=directory manager', base)).toBeUndefined();
  });

  it('another DN may when an aci on the entry or above it (inherited) allows writes', async () => {
    const aci = '(targetattr="*")(version 3.0; acl "admins"; allow (all) userdn="ldap:///uid=admin,dc=x";)';
    expect(await dirsrvConfig.writeProblem(fake({ ...tree, 'cn=plugins,cn=config': { aci: [aci] } }), 'uid=admin,dc=x', base)).toBeUndefined();
  });

  it('is refused, naming the entry, when no aci there or above allows writes, or the entry cannot be read', async () => {
    const readOnly = '(targetattr="*")(version 3.0; acl "readers"; allow (read, search) userdn="ldap:///anyone";)';
    expect(await dirsrvConfig.writeProblem(fake({ ...tree, 'cn=config': { ...tree['cn=config'], aci: [readOnly] } }), 'uid=admin,dc=x', base)).toMatch(/uid=admin,dc=x may not write cn=userRoot,cn=ldbm database.*no aci on it or above it allows writes/);
    const { [base]: _, ...without } = tree;
    expect(await dirsrvConfig.writeProblem(fake(without), 'uid=admin,dc=x', base)).toMatch(/cannot read cn=userRoot/);
  });
});

describe('waiting for an index build', () => {
  type Dir = import('../../src/ldap/directory.js').Directory;
  const options = { timeoutMs: 2_000, pollMs: 5, progress: () => undefined };
  const base = 'cn=userRoot,cn=ldbm database,cn=plugins,cn=config';

  /** 389 DS: a cn=config where the index task added reports `states` in turn (the last one stays). */
  const tasks = (states: Record<string, string[]>[]) => {
    const added: { dn: string; attributes: Record<string, unknown> }[] = [];
    let reads = 0;
    const d = {
      async add(dn: string, attributes: Record<string, unknown>) { added.push({ dn, attributes }); },
      async get(dn: string) { return added.some((a) => a.dn === dn) ? { dn, attributes: states[Math.min(reads++, states.length - 1)]! } : null; },
    } as unknown as Dir;
    return { d, added };
  };

  it('389 DS: one task for the attributes and VLV indexes, polled until its exit code; 0 is done', async () => {
    const { d, added } = tasks([{ nsTaskStatus: ['userRoot: Indexed 1000 entries (50%).'] }, { nsTaskExitCode: ['0'], nsTaskStatus: ['userRoot: Finished indexing.'] }]);
    const lines: string[] = [];
    const r = await dirsrvConfig.buildIndexes(d, 'dc=x', base, { attributes: ['mail'], vlv: ['byName'] }, { ...options, progress: (t) => lines.push(t) });
    expect(added).toHaveLength(1);
    expect(added[0]!.dn).toMatch(/^cn=ldap-upgrade-\d+-[0-9a-f]{6},cn=index,cn=tasks,cn=config$/);
    expect(added[0]!.attributes).toMatchObject({ nsInstance: ['userRoot'], nsIndexAttribute: ['mail'], nsIndexVLVAttribute: ['byName'] });
    expect(r.summary).toMatch(/\(mail, VLV byName\): exit 0 after/);
    expect(lines.join('\n')).toContain('Indexed 1000 entries (50%)');
  });

  it('389 DS: a non-zero exit code fails the build with the task status and the end of its log; so does the deadline', async () => {
    const failed = tasks([{ nsTaskExitCode: ['68'], nsTaskStatus: ['userRoot: failed'], nsTaskLog: ['line 1\nline 2\nlast line'] }]);
    await expect(dirsrvConfig.buildIndexes(failed.d, 'dc=x', base, { attributes: ['mail'], vlv: [] }, options)).rejects.toThrow(/failed with exit code 68: userRoot: failed; line 1 \/ line 2 \/ last line/);
    const stuck = tasks([{ nsTaskStatus: ['userRoot: Indexed 10 entries (1%).'] }]);
    await expect(dirsrvConfig.buildIndexes(stuck.d, 'dc=x', base, { attributes: ['mail'], vlv: [] }, { ...options, timeoutMs: 50 })).rejects.toThrow(/had not finished after 0 s: userRoot: Indexed 10 entries/);
  });

  /** OpenLDAP: a monitor whose task list reads `lists` in turn (null: no monitor database). */
  const monitor = (lists: (string[] | null)[]) => {
    let reads = 0;
    return { async get() { const l = lists[Math.min(reads++, lists.length - 1)]; return l === null ? null : { dn: 'cn=Tasklist,cn=Threads,cn=Monitor', attributes: { monitoredInfo: l } }; } } as unknown as Dir;
  };

  it("OpenLDAP: done once slapd's mdb_online_index for the suffix has left its task list (other databases' and other tasks do not count)", async () => {
    const d = monitor([
      ['{0}do_syncrepl(rid=001)', '{1}mdb_online_index(dc=example,dc=com)'],
      ['{0}do_syncrepl(rid=001)', '{1}mdb_online_index(dc=example,dc=com)'],
      ['{0}do_syncrepl(rid=001)', '{1}mdb_online_index(dc=other)'],
    ]);
    const r = await openldapConfig.buildIndexes(d, 'dc=example,dc=com', 'olcDatabase={1}mdb,cn=config', { attributes: ['mail'], vlv: [] }, options);
    expect(r).toMatchObject({ summary: expect.stringMatching(/the index of mail: built online in \d+\.\d s/) });
    expect(r.warning).toBeUndefined();
  });

  it('OpenLDAP: without a readable monitor the run goes on with a warning saying how to make it wait; a build past the deadline fails', async () => {
    const r = await openldapConfig.buildIndexes(monitor([null]), 'dc=example,dc=com', 'olcDatabase={1}mdb,cn=config', { attributes: ['mail'], vlv: [] }, options);
    expect(r.warning).toMatch(/cannot be read with configBind.*olcDatabase=monitor/);
    const stuck = monitor([['{0}mdb_online_index(dc=example,dc=com)']]);
    await expect(openldapConfig.buildIndexes(stuck, 'dc=example,dc=com', 'olcDatabase={1}mdb,cn=config', { attributes: ['mail'], vlv: [] }, { ...options, timeoutMs: 50 })).rejects.toThrow(/still being built after 0 s/);
  });
});

describe('working out a configuration script against one server', () => {
  it('a later script (or record) sees what an earlier one would have written: an add then a modify of the same entry', async () => {
    const { configWritesOn } = await import('../../src/scripts/runtime/config-writes.js');
    const dir = mkdtempSync(join(tmpdir(), 'lu-config-writes-'));
    const first = join(dir, '01-add.config.ldif');
    const second = join(dir, '02-more.config.ldif');
    writeFileSync(first, 'dn: cn=mail,cn=index,${databaseDn}\nchangetype: add\nobjectClass: nsIndex\ncn: mail\nnsIndexType: eq\n');
    writeFileSync(second, 'dn: cn=mail,cn=index,${databaseDn}\nchangetype: modify\nadd: nsIndexType\nnsIndexType: sub\n');
    const base = 'cn=userRoot,cn=ldbm database,cn=plugins,cn=config';
    // The server has the parent (cn=index) and not the index entry.
    const d = { async get(dn: string) { return dn.toLowerCase() === `cn=index,${base}`.toLowerCase() ? { dn, attributes: { cn: ['index'] } } : null; } } as unknown as import('../../src/ldap/directory.js').Directory;
    const seen = new Map();
    const placeholders = { databaseDn: base, suffix: 'dc=x' };
    expect((await configWritesOn(d, 'ldap://s', { path: first }, placeholders, seen)).map((w) => w.kind)).toEqual(['add']);
    expect((await configWritesOn(d, 'ldap://s', { path: second }, placeholders, seen)).map((w) => w.kind)).toEqual(['modify']);
    // Alone, the second script names an entry this server does not have: bad input naming the file, the line and the server.
    await expect(configWritesOn(d, 'ldap://s', { path: second }, placeholders, new Map())).rejects.toThrow(/02-more\.config\.ldif:1: ldap:\/\/s: cn=mail,cn=index,.* does not exist/);
  });
});
