import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffSchema } from '../../src/schema/compare.js';
import { formatDefinition, type Definition } from '../../src/schema/definition.js';
import { readServerSchema, counterpart } from '../../src/schema/read.js';
import { parseSchemaScript } from '../../src/schema/schema-file.js';
import { startCluster, type SandboxCluster, type SandboxKind } from '../../src/sandbox/index.js';
import { runCli, startCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/cluster.js';
import { isFrozen } from '../helpers/kinds.js';
import { clientWrite, eventually, readAttr, withDirectory } from '../helpers/ldap.js';
import { scriptsTree } from '../helpers/scripts-tree.js';
import { configVariant } from '../helpers/topologies.js';

const FILES = join(import.meta.dirname, '..', 'fixtures', 'schema-files');

export interface SchemaCase {
  /** A schema file the *other* server kind ships (test/fixtures/schema-files), and its script name. */
  file: string;
  script: string;
  /** An LDIF script adding entries that use the new schema; the DNs it adds. */
  entries: (suffix: string) => { ldif: string; dns: string[] };
  /**
   * Makes configBind an identity that may run everything but write the schema; returns the
   * variant's configBind settings and how to undo it.
   */
  denySchemaWrites: (c: SandboxCluster) => Promise<{ dn: string; passwordFile: string; undo: () => Promise<void> }>;
  /**
   * Puts `definition` (its text) on the master so that node 3 lacks it; `undo` brings every node
   * in line again and resolves when node 3 has it.
   */
  gapOnNode3: (c: SandboxCluster, definition: string) => Promise<{ undo: () => Promise<void> }>;
}


/** The schema scenarios of README "Schema scripts", with the same assertions for both kinds. */
export function schemaSuite(kind: SandboxKind, sc: SchemaCase): void {
  describe(`schema scripts on ${kind}: 2 ${kind === 'openldap' ? 'providers' : 'suppliers'} and a read-only consumer`, () => {
    let c: SandboxCluster;
    const url = (i: number) => c.nodes[i]!.url;
    const shipped = readFileSync(join(FILES, sc.file), 'utf8');
    const definitions = parseSchemaScript(shipped, sc.script).definitions;
    // One definition of the file, changed (DESC), as a second version of the same schema script.
    const first = definitions.find((d) => d.kind === 'attributeType')!;
    const changed: Definition = { ...first, fields: new Map([...first.fields, ['DESC', 'changed by the schema test']]) };
    const kept: Definition = { kind: 'attributeType', oid: '1.3.6.1.4.1.99999.7.1', names: ['luSchemaTestKept'], fields: new Map<string, string | string[] | true>([['NAME', 'luSchemaTestKept'], ['SYNTAX', '1.3.6.1.4.1.1466.115.121.1.15']]) };
    const entries = () => sc.entries(c.suffix);
    const v1 = () => ({ [`2.0.0/${sc.script}`]: shipped, '2.0.0/02-entries.ldif': entries().ldif });
    const v2 = () => ({ ...v1(), [`2.1.0/${sc.script}`]: `dn: cn=schema\nattributeTypes: ${formatDefinition(changed)}\n` });
    const variant = (name: string, files: Record<string, string>, extra: { configBind?: { dn: string; passwordFile: string } } = {}) => {
      const file = configVariant(c, name, { versionEntry: `cn=v-${name},${c.suffix}`, scripts: scriptsTree(files), replicas: [url(1), url(2)] });
      if (extra.configBind) {
        const text = readFileSync(file, 'utf8').replace(/configBind:\n {2}dn: .*\n {2}passwordFile: .*\n/, `configBind:\n  dn: ${extra.configBind.dn}\n  passwordFile: ${extra.configBind.passwordFile}\n`);
        writeFileSync(file, text);
      }
      return file;
    };
    /** What a node lacks or shows otherwise among `defs` ([] when it holds them all as wanted). */
    const lacking = (node: string, defs: Definition[]) => withDirectory(c, node, 'data', async (d) => {
      const diff = diffSchema(defs, await readServerSchema(d));
      return [...diff.add.map((x) => x.names[0]), ...diff.change.map((x) => `${x.wanted.names[0]} (${x.fields.join(', ')})`)];
    });
    const heldBy = (node: string, defs: Definition[]) => withDirectory(c, node, 'data', async (d) => {
      const schema = await readServerSchema(d);
      return defs.filter((x) => counterpart(schema, x)).map((x) => x.names[0]);
    });

    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), `ldap-upgrade-schema-${kind}-`));
      c = await startCluster({ kind, nodes: 3, consumers: 1, dir });
    }, 180_000);
    afterAll(async () => c?.stop({ graceMs: kind === '389ds' ? 5_000 : 300, keep: process.env.LDAP_UPGRADE_TEST_KEEP === '1' }), 60_000);

    it('the dry run shows, per server, the definitions it would add, and writes nothing anywhere', async () => {
      const config = variant('schema', v1());
      const r = await runCli(['upgrade', '--dry-run'], { config });
      expect(r.code, r.stderr).toBe(0);
      for (const i of [0, 1, 2]) expect(r.stdout + r.stderr).toMatch(new RegExp(`${url(i).replace(/[.]/g, '\\.')}: ${definitions.length} to add, 0 identical`));
      for (const i of [0, 1, 2]) expect(await heldBy(url(i), definitions), url(i)).toEqual([]);
      for (const dn of entries().dns) expect(await readAttr(c, url(0), dn, 'objectClass')).toBeNull();
    }, 60_000);

    it('a version with schema and entries that use it: exit 0, every node holds both; verify and status agree', async () => {
      const config = variant('schema', v1());
      const r = await runCli(['upgrade', '--yes', '--json'], { config });
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.steps.map((s: { script: string }) => s.script)).toEqual([`2.0.0/${sc.script}`, '2.0.0/02-entries.ldif']);
      expect(report.steps[0].entriesChanged).toBe(definitions.length);
      for (const i of [0, 1, 2]) {
        expect(await lacking(url(i), definitions), url(i)).toEqual([]);
        for (const dn of entries().dns) expect(await readAttr(c, url(i), dn, 'objectClass'), `${url(i)} ${dn}`).not.toBeNull();
      }
      const verify = await runCli(['verify'], { config });
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      const status = JSON.parse((await runCli(['status', '--json'], { config })).stdout);
      for (const rep of status.replicas) expect(rep.schemaLacks, rep.url).toBeNull();
    }, 120_000);

    it('a re-run (--from … --force) is a no-op: every definition identical, nothing written', async () => {
      const config = variant('schema', v1());
      const r = await runCli(['upgrade', '--yes', '--json', '--from', '1.0.0', '--force'], { config });
      expect(r.code, r.stderr).toBe(0);
      const step = JSON.parse(r.stdout).steps[0];
      expect(step.entriesChanged).toBe(0);
      for (const s of step.schema) expect(s, s.url).toMatchObject({ added: [], changed: [], identical: definitions.length });
    }, 120_000);

    it('a changed definition (same OID) replaces the old one on every node', async () => {
      const config = variant('schema', v2());
      const r = await runCli(['upgrade', '--yes', '--json'], { config });
      expect(r.code, r.stderr).toBe(0);
      const step = JSON.parse(r.stdout).steps[0];
      expect(step.script).toBe(`2.1.0/${sc.script}`);
      expect(step.schema.find((s: { how: string }) => s.how === 'written').changed).toEqual([`${first.names[0]} (${first.oid})`]);
      for (const i of [0, 1, 2]) expect(await lacking(url(i), [changed]), url(i)).toEqual([]);
    }, 120_000);

    it('a later script that fails: exit 5, the data rolled back, the schema kept on every node and the report says so', async () => {
      const config = variant('schema', {
        ...v2(),
        '2.2.0/01-kept.schema.ldif': `dn: cn=schema\nattributeTypes: ${formatDefinition(kept)}\n`,
        '2.2.0/02-refused.ldif': `dn: ou=people,\${suffix}\nchangetype: modify\nadd: ldapUpgradeNoSuchAttribute\nldapUpgradeNoSuchAttribute: x\n`,
      });
      const r = await runCli(['upgrade', '--yes', '--json'], { config });
      expect(r.code, r.stderr).toBe(5);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ outcome: 'script-failed', rolledBack: true });
      expect(report.warnings.join('\n')).toMatch(/schema is forward-only: the rollback kept what 2\.2\.0\/01-kept\.schema\.ldif added/);
      for (const i of [0, 1, 2]) expect(await lacking(url(i), [kept]), url(i)).toEqual([]);
      expect(await readAttr(c, url(0), `cn=v-schema,${c.suffix}`, 'description')).toEqual(['2.1.0']);
      expect(await readAttr(c, url(0), `cn=lock,cn=v-schema,${c.suffix}`, 'cn')).toBeNull();
      expect(await isFrozen(c, url(1))).toBe(false);
      expect(await clientWrite(c, url(1))).toBe(0);
    }, 120_000);

    it('a schema script the server refuses half-way: exit 5 with its words; what the report says was written is what the master holds', async () => {
      const partial: Definition = { ...kept, oid: '1.3.6.1.4.1.99999.7.5', names: ['luSchemaTestPartial'], fields: new Map([...kept.fields, ['NAME', 'luSchemaTestPartial']]) };
      const config = variant('partial', {
        '1.0.0/01-partial.schema.ldif': `dn: cn=schema\nattributeTypes: ${formatDefinition(partial)}\nobjectClasses: ( 1.3.6.1.4.1.99999.7.6 NAME 'luSchemaTestRefused' AUXILIARY MAY ldapUpgradeNoSuchAttribute )\n`,
      });
      const r = await runCli(['upgrade', '--yes', '--json'], { config });
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toMatch(/ldapUpgradeNoSuchAttribute/);
      const step = JSON.parse(r.stdout).steps[0];
      const reported = step.schema.find((s: { url: string }) => s.url === url(0)).added as string[];
      const held = await heldBy(url(0), [partial]);
      expect(reported.map((x) => x.split(' ')[0])).toEqual(held);
      if (held.length) expect(JSON.parse(r.stdout).warnings.join('\n')).toMatch(/forward-only: the rollback kept what 1\.0\.0\/01-partial\.schema\.ldif added/);
      expect(await readAttr(c, url(0), `cn=lock,cn=v-partial,${c.suffix}`, 'cn')).toBeNull();
    }, 60_000);

    it('killed (kill -9) in a data script after a schema script: recover --rollback undoes the data, keeps the schema and says so', async () => {
      const recovered: Definition = { ...kept, oid: '1.3.6.1.4.1.99999.7.7', names: ['luSchemaTestRecovered'], fields: new Map([...kept.fields, ['NAME', 'luSchemaTestRecovered']]) };
      const config = variant('recover', {
        '1.0.0/01-recovered.schema.ldif': `dn: cn=schema\nattributeTypes: ${formatDefinition(recovered)}\n`,
        '1.0.0/02-wait.ts': readFileSync(join(FIXTURES, 'slow', '1.1.0', '01-wait.ts'), 'utf8'),
      });
      const hs = mkdtempSync(join(tmpdir(), 'ldap-upgrade-hs-'));
      const marker = join(hs, 'marker');
      const child = startCli(['upgrade', '--yes'], { LDAP_UPGRADE_CONFIG: config, LDAP_UPGRADE_TEST_MARKER: marker, LDAP_UPGRADE_TEST_RELEASE: join(hs, 'release') });
      await eventually(async () => existsSync(marker), 60_000);
      child.kill('SIGKILL');
      await child.result;
      const r = await runCli(['recover', '--rollback', '--json'], { config });
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ outcome: 'rolled-back', schemaKept: ['1.0.0/01-recovered.schema.ldif'] });
      expect(report.changesUndone).toBeGreaterThan(0);
      expect((await runCli(['recover', '--rollback'], { config })).stdout).toMatch(/nothing to recover/);
      for (const i of [0, 1, 2]) expect(await lacking(url(i), [recovered]), url(i)).toEqual([]);
      const slowTitles = await withDirectory(c, url(0), 'data', async (d) => {
        let n = 0;
        for await (const _ of d.search({ base: `ou=people,${c.suffix}`, filter: '(title=slow-first)', attributes: ['1.1'] })) n++;
        return n;
      });
      expect(slowTitles).toBe(0);
      expect(await readAttr(c, url(0), `cn=lock,cn=v-recover,${c.suffix}`, 'cn')).toBeNull();
      expect(await isFrozen(c, url(1))).toBe(false);
    }, 120_000);

    it('a code script writing cn=schema through ctx is refused, pointing at schema scripts (exit 5)', async () => {
      const config = variant('guard', {
        '1.0.0/01-writes-schema.mjs': `export default { async up(ctx) { await ctx.modify('cn=schema', [{ operation: 'add', attribute: 'attributeTypes', values: ["${formatDefinition({ ...kept, oid: '1.3.6.1.4.1.99999.7.2' })}"] }]); } };\n`,
      });
      const r = await runCli(['upgrade', '--yes'], { config });
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toMatch(/scripts may not write cn=schema .*schema script \(NN-name\.schema\.ldif\)/);
    }, 60_000);

    it('a node that lacks a definition the master has: verify exits 9 naming it, status lists it', async () => {
      const gap: Definition = { ...kept, oid: '1.3.6.1.4.1.99999.7.4', names: ['luSchemaTestGap'], fields: new Map([...kept.fields, ['NAME', 'luSchemaTestGap']]) };
      const config = variant('schema', v2());
      const made = await sc.gapOnNode3(c, formatDefinition(gap));
      try {
        const verify = await runCli(['verify'], { config });
        expect(verify.code, verify.stdout + verify.stderr).toBe(9);
        // (389 DS: the tool's last records of the run before may not have reached it either.)
        expect(verify.stdout).toMatch(new RegExp(`${url(2).replace(/[.]/g, '\\.')}: DIFFERS: .*; schema: 1 definition\\(s\\) lacking, 0 different`));
        expect(verify.stdout).toContain('schema:  lacks attributeType luSchemaTestGap (1.3.6.1.4.1.99999.7.4)');
        const status = await runCli(['status', '--json'], { config });
        const replicas = JSON.parse(status.stdout).replicas as { url: string; schemaLacks?: string[] }[];
        expect(replicas.find((r) => r.url === url(2))!.schemaLacks).toEqual(['attributeType luSchemaTestGap (1.3.6.1.4.1.99999.7.4)']);
        expect((await runCli(['status'], { config })).stdout).toContain('SCHEMA: lacks 1 definition(s) the master has: attributeType luSchemaTestGap');
      } finally {
        await made.undo();
      }
      // Once the gap is closed verify agrees again — when the pokes undo() wrote to bring node 3
      // its schema have reached every node too (they replicate like any change).
      let last = '';
      await eventually(async () => {
        const v = await runCli(['verify'], { config });
        last = v.stdout + v.stderr;
        return v.code === 0;
      }, 30_000).catch(() => expect.fail(`verify still differs after the gap was closed:\n${last}`));
    }, 120_000);

    it('a configBind that may not write the schema: refused (7) before the lock, naming the server; nothing written', async () => {
      const deny = await sc.denySchemaWrites(c);
      try {
        const extra: Definition = { ...kept, oid: '1.3.6.1.4.1.99999.7.3', names: ['luSchemaTestDenied'], fields: new Map([...kept.fields, ['NAME', 'luSchemaTestDenied']]) };
        const config = variant('denied', { '1.0.0/01-denied.schema.ldif': `dn: cn=schema\nattributeTypes: ${formatDefinition(extra)}\n` }, { configBind: deny });
        const r = await runCli(['upgrade', '--yes'], { config });
        expect(r.code, r.stderr).toBe(7);
        expect(r.stderr).toContain(`${url(0)}: ${deny.dn} may not write`);
        expect(await readAttr(c, url(0), `cn=lock,cn=v-denied,${c.suffix}`, 'cn')).toBeNull();
        for (const i of [0, 1, 2]) expect(await heldBy(url(i), [extra]), url(i)).toEqual([]);
      } finally {
        await deny.undo();
      }
    }, 60_000);
  });
}
