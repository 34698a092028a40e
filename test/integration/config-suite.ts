import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it as vit } from 'vitest';
import type { Directory } from '../../src/ldap/directory.js';
import { startCluster, type SandboxCluster, type SandboxKind } from '../../src/sandbox/index.js';
import { dirsrvAdapter } from '../../src/servers/389ds/adapter.js';
import { openLdapAdapter } from '../../src/servers/openldap/adapter.js';
import { runCli, startCli } from '../helpers/cli.js';
import { isFrozen } from '../helpers/kinds.js';
import { clientWrite, eventually, readAttr, withDirectory } from '../helpers/ldap.js';
import { scriptsTree } from '../helpers/scripts-tree.js';
import { configVariant } from '../helpers/topologies.js';

export interface ConfigCase {
  /** A configuration script adding an equality index on `description`. */
  index: string;
  /** Whether the server behind `d` (its cn=config) has that index (or the same on `attribute`). */
  hasIndex: (d: Directory, databaseDn: string, attribute?: string) => Promise<boolean>;
  /** Removes it by hand on one server (a server rebuilt without it). */
  dropIndex: (d: Directory, databaseDn: string) => Promise<unknown>;
  /** 389 DS: a VLV search and index, and whether a server has the index. */
  vlv?: { script: string; has: (d: Directory, databaseDn: string) => Promise<boolean> };
  /** A configuration script for the other server kind (skipped here). */
  otherKind: { name: string; text: string };
  /**
   * Makes configBind an identity that may freeze the replicas but only read each server's
   * database entry; returns the variant's configBind and how to undo it.
   */
  denyDatabaseWrites?: (c: SandboxCluster) => Promise<{ dn: string; passwordFile: string; undo: () => Promise<void> }>;
}


/** Starts `upgrade --yes` with `config` and kills it (kill -9) once an index build has started. */
async function killedInIndexWait(config: string): Promise<void> {
  const marker = join(mkdtempSync(join(tmpdir(), 'ldap-upgrade-hs-')), 'marker');
  const child = startCli(['upgrade', '--yes'], { LDAP_UPGRADE_CONFIG: config, LDAP_UPGRADE_FAILPOINT: `index:${marker}` });
  await eventually(async () => existsSync(marker), 60_000);
  child.kill('SIGKILL');
  await child.result;
}

/**
 * The scenarios of README "Configuration scripts", with the same assertions for both kinds: on
 * a process cluster of its own (2 providers or suppliers and a read-only consumer), or on a
 * `shared` one (the container tier's 3 nodes), then only the cases named in `only`.
 */
export function configSuite(kind: SandboxKind, cc: ConfigCase, options: { shared?: () => SandboxCluster; label?: string; only?: string[] } = {}): void {
  const title = options.label ? `configuration scripts on ${options.label}` : `configuration scripts on ${kind}: 2 ${kind === 'openldap' ? 'providers' : 'suppliers'} and a read-only consumer`;
  const it = (name: string, fn: () => Promise<void>, timeout: number) => (!options.only || options.only.some((o) => name.startsWith(o)) ? vit(name, fn, timeout) : vit.skip(name, fn));
  describe(title, () => {
    let c: SandboxCluster;
    const url = (i: number) => c.nodes[i]!.url;
    const adapter = kind === 'openldap' ? openLdapAdapter : dirsrvAdapter;
    /** `check` run on every server's cn=config with its own database entry. */
    const onEach = <T>(check: (d: Directory, databaseDn: string) => Promise<T>) => Promise.all([0, 1, 2].map((i) => withDirectory(c, url(i), 'config', async (d) => check(d, await adapter.config.databaseDn(d, c.suffix)))));
    const v1 = () => ({ '2.0.0/01-description-index.config.ldif': cc.index, ...(cc.vlv ? { '2.0.0/02-vlv.config.ldif': cc.vlv.script } : {}), [`2.0.0/03-${cc.otherKind.name}`]: cc.otherKind.text, '2.0.0/04-data.ldif': 'dn: ou=people,${suffix}\nchangetype: modify\nreplace: description\ndescription: indexed\n' });
    const variant = (name: string, files: Record<string, string>) => configVariant(c, name, { versionEntry: `cn=v-${name},${c.suffix}`, scripts: scriptsTree(files), replicas: [url(1), url(2)] });

    beforeAll(async () => {
      if (options.shared) {
        c = options.shared();
        return;
      }
      const dir = mkdtempSync(join(tmpdir(), `ldap-upgrade-config-${kind}-`));
      c = await startCluster({ kind, nodes: 3, consumers: 1, dir });
    }, 180_000);
    afterAll(async () => (options.shared ? undefined : c?.stop({ graceMs: kind === '389ds' ? 5_000 : 300, keep: process.env.LDAP_UPGRADE_TEST_KEEP === '1' })), 60_000);

    it('the dry run shows, per server, the change and the index build it would make, and changes no cn=config', async () => {
      const r = await runCli(['upgrade', '--dry-run', '--json'], { config: variant('dry', v1()) });
      expect(r.code, r.stderr).toBe(0);
      const step = JSON.parse(r.stdout).steps[0];
      expect(step.script).toBe('2.0.0/01-description-index.config.ldif');
      expect(step.config.map((s: { url: string }) => s.url).sort()).toEqual([url(0), url(1), url(2)].sort());
      for (const s of step.config) {
        expect(s.changes.length, s.url).toBeGreaterThan(0);
        expect(s.index, s.url).toMatch(/would build the index of description over \d+ entries/);
      }
      expect(await onEach(cc.hasIndex)).toEqual([false, false, false]);
    }, 60_000);

    it('a version with configuration and data: exit 0; every server has the index, built (the run waited for it); verify and status agree', async () => {
      const config = variant('run', v1());
      const r = await runCli(['upgrade', '--yes', '--json'], { config });
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.steps.map((s: { script: string }) => s.script)).toEqual(['2.0.0/01-description-index.config.ldif', ...(cc.vlv ? ['2.0.0/02-vlv.config.ldif'] : []), `2.0.0/03-${cc.otherKind.name}`, '2.0.0/04-data.ldif']);
      const [index] = report.steps;
      expect(index.config).toHaveLength(3);
      for (const s of index.config) expect(s.index, s.url).toMatch(kind === 'openldap' ? /the index of description: built online in \d+\.\d s/ : /index task ldap-upgrade-\S+ \(description\): exit 0 after/);
      // The other kind's script: applied nowhere, recorded all the same.
      expect(report.steps.find((s: { script: string }) => s.script.endsWith(cc.otherKind.name)).config).toEqual([]);
      expect(await onEach(cc.hasIndex)).toEqual([true, true, true]);
      if (cc.vlv) {
        expect(await onEach(cc.vlv.has)).toEqual([true, true, true]);
        for (const s of report.steps[1].config) expect(s.index, s.url).toMatch(/\(VLV people by uid index\): exit 0 after/);
      }
      const verify = await runCli(['verify'], { config });
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      const status = JSON.parse((await runCli(['status', '--json'], { config })).stdout);
      for (const rep of status.replicas) expect(rep.configLacks, rep.url).toBeNull();
      const history = JSON.parse((await runCli(['history', '--json'], { config })).stdout);
      expect(JSON.stringify(history)).toContain('2.0.0/01-description-index.config.ldif');
    }, 120_000);

    it('a forced re-run changes nothing on any server', async () => {
      const r = await runCli(['upgrade', '--yes', '--json', '--from', '1.0.0', '--force'], { config: variant('run', v1()) });
      expect(r.code, r.stderr).toBe(0);
      const step = JSON.parse(r.stdout).steps[0];
      expect(step.entriesChanged).toBe(0);
      for (const s of step.config) expect(s, s.url).toMatchObject({ changes: [] });
    }, 120_000);

    it('a server that lost the index: verify exits 9 naming it; status lists it', async () => {
      const config = variant('run', v1());
      await withDirectory(c, url(1), 'config', async (d) => cc.dropIndex(d, await adapter.config.databaseDn(d, c.suffix)));
      try {
        const verify = await runCli(['verify'], { config });
        expect(verify.code, verify.stdout + verify.stderr).toBe(9);
        expect(verify.stdout).toMatch(new RegExp(`${url(1).replace(/[.]/g, '\\.')}: .*configuration: \\d+ change\\(s\\) lacking[\\s\\S]*config: {2}2\\.0\\.0/01-description-index\\.config\\.ldif`));
        const status = JSON.parse((await runCli(['status', '--json'], { config })).stdout);
        expect(status.replicas.find((x: { url: string }) => x.url === url(1)).configLacks.join('\n')).toMatch(/01-description-index\.config\.ldif/);
      } finally {
        // Put back by a forced re-run: it makes the change on that server only.
        const again = await runCli(['upgrade', '--yes', '--json', '--from', '1.0.0', '--force'], { config });
        expect(again.code, again.stderr).toBe(0);
        const step = JSON.parse(again.stdout).steps[0];
        expect(step.config.filter((s: { changes: string[] }) => s.changes.length).map((s: { url: string }) => s.url)).toEqual([url(1)]);
      }
      expect(await onEach(cc.hasIndex)).toEqual([true, true, true]);
    }, 120_000);

    it('a later script that fails: exit 5; the configuration is rolled back on every server, which stay writable and unlocked', async () => {
      const config = variant('fails', {
        '3.0.0/01-description-index.config.ldif': cc.index.replace(/description/g, 'title'),
        '3.0.0/02-refused.ldif': 'dn: ou=people,${suffix}\nchangetype: modify\nadd: ldapUpgradeNoSuchAttribute\nldapUpgradeNoSuchAttribute: x\n',
      });
      const hasTitle = (d: Directory, dn: string) => cc.hasIndex(d, dn, 'title');
      const r = await runCli(['upgrade', '--yes', '--json'], { config });
      expect(r.code, r.stderr).toBe(5);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ outcome: 'script-failed', rolledBack: true });
      expect(report.steps[0].config.every((s: { changes: string[] }) => s.changes.length > 0)).toBe(true);
      expect(await onEach(hasTitle)).toEqual([false, false, false]);
      expect(await readAttr(c, url(0), `cn=lock,cn=v-fails,${c.suffix}`, 'cn')).toBeNull();
      expect(await isFrozen(c, url(1))).toBe(false);
      expect(await clientWrite(c, url(1))).toBe(0);
    }, 120_000);

    it('undo of a completed run with a configuration script: the index is removed again on every server, the data step undone, the version back', async () => {
      const config = variant('undo', {
        '3.5.0/01-index.config.ldif': cc.index.replace(/description/g, 'postalcode'),
        '3.5.0/02-data.ldif': 'dn: ou=people,${suffix}\nchangetype: modify\nreplace: description\ndescription: to be undone\n',
      });
      const hasPostalCode = (d: Directory, dn: string) => cc.hasIndex(d, dn, 'postalcode');
      const r = await runCli(['upgrade', '--yes', '--json'], { config });
      expect(r.code, r.stderr).toBe(0);
      expect(await onEach(hasPostalCode)).toEqual([true, true, true]);
      const undo = await runCli(['undo', JSON.parse(r.stdout).runId, '--yes', '--json'], { config });
      expect(undo.code, undo.stderr).toBe(0);
      expect(JSON.parse(undo.stdout)).toMatchObject({ kind: 'undo', outcome: 'done', undo: { version: null } });
      expect(await onEach(hasPostalCode)).toEqual([false, false, false]);
      for (const i of [0, 1, 2]) await eventually(async () => !(await readAttr(c, url(i), `ou=people,${c.suffix}`, 'description'))?.includes('to be undone'), 20_000);
      expect(await readAttr(c, url(0), `cn=v-undo,${c.suffix}`, 'description')).toEqual([]);
      expect(await isFrozen(c, url(1))).toBe(false);
    }, 120_000);

    it('killed (kill -9) while an index is being built: recover --rollback undoes the configuration on every server', async () => {
      const config = variant('killed', { '4.0.0/01-index.config.ldif': cc.index.replace(/description/g, 'street') });
      await killedInIndexWait(config);
      const hasStreet = (d: Directory, dn: string) => cc.hasIndex(d, dn, 'street');
      expect((await onEach(hasStreet)).some(Boolean)).toBe(true);
      const r = await runCli(['recover', '--rollback', '--json'], { config });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'rolled-back' });
      expect(await onEach(hasStreet)).toEqual([false, false, false]);
      expect(await readAttr(c, url(0), `cn=lock,cn=v-killed,${c.suffix}`, 'cn')).toBeNull();
      expect(await isFrozen(c, url(1))).toBe(false);
    }, 120_000);

    it('killed (kill -9) while an index is being built: upgrade --resume finishes the run and builds the index again on every server', async () => {
      const config = variant('resumed', { '4.1.0/01-index.config.ldif': cc.index.replace(/description/g, 'l') });
      await killedInIndexWait(config);
      const r = await runCli(['upgrade', '--resume', '--yes', '--json'], { config });
      expect(r.code, r.stderr).toBe(0);
      const step = JSON.parse(r.stdout).steps[0];
      expect(step.config).toHaveLength(3);
      for (const s of step.config) expect(s.index, s.url).toMatch(kind === 'openldap' ? /the index of l: built online/ : /\(l\): exit 0 after/);
      expect(await onEach((d, dn) => cc.hasIndex(d, dn, 'l'))).toEqual([true, true, true]);
      expect(await readAttr(c, url(0), `cn=lock,cn=v-resumed,${c.suffix}`, 'cn')).toBeNull();
      expect(await isFrozen(c, url(1))).toBe(false);
    }, 120_000);

    (cc.denyDatabaseWrites ? it : vit.skip)('a configBind that may not write the database entry: refused (7) before the lock, naming the server and the right; nothing written', async () => {
      const denied = await cc.denyDatabaseWrites!(c);
      try {
        const file = variant('denied', { '6.0.0/01-index.config.ldif': cc.index.replace(/description/g, 'postalcode') });
        writeFileSync(file, readFileSync(file, 'utf8').replace(/configBind:\n {2}dn: .*\n {2}passwordFile: .*\n/, `configBind:\n  dn: ${denied.dn}\n  passwordFile: ${denied.passwordFile}\n`));
        const r = await runCli(['upgrade', '--yes'], { config: file });
        expect(r.code, r.stderr).toBe(7);
        expect(r.stderr).toMatch(/preflight: the plan has configuration scripts, but ldap:\/\/127\.0\.0\.1:\d+: .* may not write olcDatabase=\{\d+\}mdb,cn=config/);
        expect(await readAttr(c, url(0), `cn=lock,cn=v-denied,${c.suffix}`, 'cn')).toBeNull();
      } finally {
        await denied.undo();
      }
      expect(await onEach((d, dn) => cc.hasIndex(d, dn, 'postalcode'))).toEqual([false, false, false]);
    }, 60_000);

    it('bad input: a record for a DN a server lacks, a DN outside cn=config — exit 2 naming file, line and server; nothing written', async () => {
      const missing = variant('missing', { '5.0.0/01-missing.config.ldif': '# a setting\n\ndn: cn=no such entry,${databaseDn}\nchangetype: modify\nreplace: description\ndescription: x\n' });
      const r = await runCli(['upgrade', '--yes'], { config: missing });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/01-missing\.config\.ldif:3: ldap:\/\/127\.0\.0\.1:\d+: cn=no such entry,.* does not exist/);
      expect(await readAttr(c, url(0), `cn=lock,cn=v-missing,${c.suffix}`, 'cn')).toBeNull();
      const outside = variant('outside', { '5.0.0/01-outside.config.ldif': 'dn: ou=people,${suffix}\nchangetype: modify\nreplace: description\ndescription: x\n' });
      const v = await runCli(['validate'], { config: outside });
      expect(v.code, v.stdout + v.stderr).toBe(2);
      expect(v.stdout + v.stderr).toMatch(/01-outside\.config\.ldif:1: "ou=people,dc=example,dc=com" is not under cn=config/);
    }, 60_000);
  });
}
