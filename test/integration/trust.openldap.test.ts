import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type SandboxCluster } from '../../src/sandbox/index.js';
import { BIN, runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/cluster.js';
import { isFrozen } from '../helpers/kinds.js';
import { readAttr } from '../helpers/ldap.js';
import { expectCloneRefused, expectReportedStuck } from '../helpers/expect.js';
import { configVariant, startClone, stopReceiving } from '../helpers/topologies.js';

/**
 * Topologies the multi-provider sandbox alone does not build (issue "Never a false word"): a
 * provider with a read-only consumer, a clone that does not replicate, a fractional consumer, a
 * replica whose replication stops. Each test keeps its own version entry, so that runs do not
 * depend on one another.
 */
describe('trust on OpenLDAP: 2 providers and a read-only consumer of node 1', () => {
  let c: SandboxCluster;
  let url: (i: number) => string;
  const lockOf = (versionEntry: string) => readAttr(c, url(0), `cn=lock,${versionEntry}`, 'cn');
  const versionOf = (versionEntry: string) => readAttr(c, url(0), versionEntry, 'description');

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-trust-'));
    c = await startCluster({ nodes: 3, consumers: 1, dir, scriptsDir: join(FIXTURES, 'basic') });
    url = (i) => c.nodes[i]!.url;
  });
  afterAll(async () => c?.stop({ graceMs: 300 }));

  it('no replicas listed: refused (7) showing what was discovered, nothing written; replicas: discover accepts it', async () => {
    const v = `cn=v-discovery,${c.suffix}`;
    const config = configVariant(c, 'discovery', { versionEntry: v, scripts: join(FIXTURES, 'basic') });
    const r = await runCli(['upgrade', '--yes'], { config });
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toContain(`Discovered: ${url(1)}`);
    expect(r.stderr).toMatch(/read-only consumers that pull from a provider cannot be found/);
    expect(r.stderr).toContain('replicas: discover');
    expect(await readAttr(c, url(0), v, 'cn')).toBeNull();
    const status = JSON.parse((await runCli(['status', '--json'], { config })).stdout);
    expect(status.replicaSource).toMatchObject({ how: 'discovered', accepted: false });
    expect(status.warnings.join('\n')).toMatch(/upgrade refuses/);

    const accepted = configVariant(c, 'discover-accepted', { versionEntry: v, scripts: join(FIXTURES, 'basic'), replicas: 'discover' });
    const ok = await runCli(['upgrade', '--yes'], { config: accepted });
    expect(ok.code, ok.stderr).toBe(0);
    expect(await versionOf(v)).toEqual(['1.1.0']);
  });

  it('the read-only consumer given as the master: refused (7) by preflight, nothing written', async () => {
    const v = `cn=v-consumer-master,${c.suffix}`;
    const config = configVariant(c, 'consumer-master', { versionEntry: v, scripts: join(FIXTURES, 'basic'), master: url(2), replicas: [url(0), url(1)] });
    const r = await runCli(['upgrade', '--yes'], { config });
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/does not take client writes .*read-only consumer/);
    expect(await readAttr(c, url(0), v, 'cn')).toBeNull();
  });

  it('a wrong cn=config password: exit 3 naming the server and the refusal', async () => {
    const wrong = join(c.dir, 'wrong-config-password');
    writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
    const config = configVariant(c, 'wrong-config', { versionEntry: `cn=v-wrong,${c.suffix}`, scripts: join(FIXTURES, 'basic'), replicas: [url(1), url(2)], configPasswordFile: wrong });
    const r = await runCli(['upgrade', '--yes'], { config });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/invalid credentials for cn=config/);
  });

  it('a backupDir or logDir it cannot write: refused (7) by preflight, before the lock; backup --out there: exit 2', async () => {
    const v = `cn=v-dirs,${c.suffix}`;
    const config = configVariant(c, 'dirs', { versionEntry: v, scripts: join(FIXTURES, 'basic'), replicas: [url(1), url(2)] });
    const file = join(c.dir, 'a-file');
    writeFileSync(file, '');
    for (const flag of ['--backup-dir', '--log-dir']) {
      const r = await runCli(['upgrade', '--yes', flag, join(file, 'sub')], { config });
      expect(r.code, r.stderr).toBe(7);
      expect(r.stderr).toMatch(new RegExp(`${flag === '--backup-dir' ? 'backupDir' : 'logDir'} .*a-file is not a folder`));
      expect(await readAttr(c, url(0), v, 'cn')).toBeNull();
    }
    const b = await runCli(['backup', '--out', join(file, 'x.ldif')], { config });
    expect(b.code, b.stderr).toBe(2);
    expect(b.stderr).toMatch(/cannot create the folder .*a-file/);
  });

  it("a refused write keeps the server's own words (attribute type undefined): exit 5, rolled back", async () => {
    const v = `cn=v-diagnostic,${c.suffix}`;
    const config = configVariant(c, 'diagnostic', { versionEntry: v, scripts: join(FIXTURES, 'undefined-attribute'), replicas: [url(1), url(2)] });
    const r = await runCli(['upgrade', '--yes', '--json'], { config });
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(/undefined attribute type: ldapUpgradeNoSuchAttribute: attribute type undefined \(17\)/);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'script-failed', rolledBack: true });
    expect(await lockOf(v)).toBeNull();
  });

  it('Ctrl-C at the confirmation prompt: exit 130 at once, nothing written', () => {
    const v = `cn=v-prompt,${c.suffix}`;
    const config = configVariant(c, 'prompt', { versionEntry: v, scripts: join(FIXTURES, 'basic'), replicas: [url(1), url(2)] });
    const r = spawnSync('python3', [join(import.meta.dirname, '..', 'helpers', 'pty-run.py'), 'Continue?', '\\x03', '30', '--', process.execPath, BIN, 'upgrade', '--config', config], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/cancelled at the confirmation prompt: nothing was changed/);
    expect(r.stdout).toMatch(/exit=130\s*$/);
    return readAttr(c, url(0), v, 'cn').then((e) => expect(e).toBeNull());
  });

  it('"n" at the confirmation prompt: the same as Ctrl-C there (exit 130), nothing written', () => {
    const v = `cn=v-prompt-no,${c.suffix}`;
    const config = configVariant(c, 'prompt-no', { versionEntry: v, scripts: join(FIXTURES, 'basic'), replicas: [url(1), url(2)] });
    const r = spawnSync('python3', [join(import.meta.dirname, '..', 'helpers', 'pty-run.py'), 'Continue?', 'n\\r', '30', '--', process.execPath, BIN, 'upgrade', '--config', config], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/cancelled at the confirmation prompt: nothing was changed/);
    expect(r.stdout).toMatch(/exit=130\s*$/);
    return readAttr(c, url(0), v, 'cn').then((e) => expect(e).toBeNull());
  });

  it('a missing configured password file is named before the prompt; a refused password is asked again at once', () => {
    const v = `cn=v-password,${c.suffix}`;
    const variant = configVariant(c, 'password', { versionEntry: v, scripts: join(FIXTURES, 'basic'), replicas: [url(1), url(2)] });
    const missing = join(c.dir, 'no-such-password.conf');
    const config = join(c.dir, 'password-missing.yaml');
    writeFileSync(config, readFileSync(variant, 'utf8').replace(`passwordFile: ${c.passwordFile}`, `passwordFile: ${missing}`));
    const r = spawnSync('python3', [join(import.meta.dirname, '..', 'helpers', 'pty-run.py'), 'Password for', 'not-it\\r', 'Password for', `${c.password}\\r`, '30', '--',
      process.execPath, BIN, 'status', '--config', config], { encoding: 'utf8', env: { ...process.env, LDAP_UPGRADE_PASSWORD: '' } });
    const out = r.stdout;
    expect(out).toMatch(/exit=0\s*$/);
    const named = out.indexOf(`the password file ${missing} configured for ${c.bindDn} does not exist`);
    const refused = out.indexOf(`the server refused that password for ${c.bindDn} (invalid credentials); 2 tries left`);
    expect(named).toBeGreaterThanOrEqual(0);
    expect(named).toBeLessThan(out.indexOf('Password for'));
    expect(refused).toBeGreaterThan(out.indexOf('Password for'));
    expect(out.indexOf('Password for', refused)).toBeGreaterThan(refused);
    expect(out).toMatch(/version: +(none|\d)/);
    expect(out).not.toContain(c.password);
  });

  it('a clone that does not replicate from the master (same entries and CSNs): refused (7) naming it; only the run record written; lock released', async () => {
    // Node 3 is a read-only consumer: only the provider is checked for client writes.
    await expectCloneRefused(c, startClone, [url(1)]);
  });

  // Last on this cluster: the consumer stops receiving for good.
  it('a consumer whose replication stops during the scripts: exit 6 reporting it as stuck, the others given back', async () => {
    const v = `cn=v-stuck,${c.suffix}`;
    const config = configVariant(c, 'stuck', { versionEntry: v, scripts: join(FIXTURES, 'slow'), replicas: [url(1), url(2)] });
    await expectReportedStuck(config, 4, url(2), () => stopReceiving(c, url(2)));
    expect(await isFrozen(c, url(1))).toBe(false);
    expect(await lockOf(v)).toBeNull();
    expect(await versionOf(v)).toEqual(['1.2.0']);
  });
});

describe('trust on OpenLDAP: a fractional consumer (exattrs=title)', () => {
  let c: SandboxCluster;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-fractional-'));
    c = await startCluster({ nodes: 2, consumers: 1, consumerSyncrepl: 'exattrs=title', dir, scriptsDir: join(FIXTURES, 'basic') });
  });
  afterAll(async () => c?.stop({ graceMs: 300 }));

  it('its replication state equals the master\'s but the changed entries do not read back: exit 6 naming it, an entry and the attribute; declared ignoreAttributes: exit 0', async () => {
    const replica = c.nodes[1]!.url;
    const v = `cn=v-fractional,${c.suffix}`;
    const config = configVariant(c, 'fractional', { versionEntry: v, scripts: join(FIXTURES, 'basic'), replicas: [replica] });
    const r = await runCli(['upgrade', '--yes', '--timeout', '3'], { config });
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(new RegExp(`${replica.replace(/[.]/g, '\\.')} \\(.*entr(y|ies) the run changed differs?.*uid=user\\d+,ou=people,dc=example,dc=com: attribute title differs`));
    const status = JSON.parse((await runCli(['status', '--json'], { config })).stdout);
    expect(status.replicas[0]).toMatchObject({ url: replica, converged: false });
    expect(status.replicas[0].lag).toMatch(/attribute title differs/);

    // Declared: title is not compared on it (the slow fixture rewrites title on other people).
    const declared = configVariant(c, 'fractional-declared', { versionEntry: `cn=v-fractional-2,${c.suffix}`, scripts: join(FIXTURES, 'slow'), replicas: [{ url: replica, ignoreAttributes: ['title'] }] });
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-hs-'));
    writeFileSync(join(dir, 'release'), '');
    const ok = await runCli(['upgrade', '--yes', '--timeout', '10'], { config: declared, env: { LDAP_UPGRADE_TEST_RELEASE: join(dir, 'release') } });
    expect(ok.code, ok.stderr).toBe(0);
    const verify = await runCli(['verify', '--json'], { config: declared });
    expect(JSON.parse(verify.stdout).identical, verify.stdout).toBe(true);
  });
});
