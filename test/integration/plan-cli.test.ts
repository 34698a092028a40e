import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLdif } from '../../src/ldif/parse.js';
import { freePorts, type SandboxCluster } from '../../src/sandbox/index.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES, testCluster } from '../helpers/cluster.js';
import { contextCsn, eventually, readAttr, withDirectory } from '../helpers/ldap.js';
import { makeCertificates } from '../helpers/tls.js';
import { configVariant } from '../helpers/topologies.js';

describe('plan side against a real 3-node sandbox (CLI)', () => {
  let cluster: SandboxCluster;
  let config: string;
  const csns = () => Promise.all(cluster.nodes.map((n) => contextCsn(cluster, n.url)));

  beforeAll(async () => {
    cluster = await testCluster({ scripts: 'chain' });
    config = cluster.configFile;
  });
  afterAll(async () => cluster?.stop());

  it('dry run: prints the planned LDIF, sees its own planned writes, and writes nothing anywhere', async () => {
    const before = await csns();
    const r = await runCli(['upgrade', '--dry-run'], { config });
    expect(r.code, r.stderr).toBe(0);
    // The summary first, then the LDIF; nothing says "changed".
    expect(r.stdout.startsWith('DRY RUN — nothing was written\n')).toBe(true);
    const at = r.stdout.indexOf('planned changes, as LDIF (3 entries;');
    expect(at).toBeGreaterThan(0);
    expect(r.stdout).toContain('1.0.0/02-read-it.ts: 2 entries would change');
    expect(r.stdout + r.stderr).not.toMatch(/\bchanged\b/);
    const records = parseLdif(r.stdout.slice(r.stdout.indexOf('\n\n', at)));
    expect(records.map((x) => `${x.kind} ${x.dn}`)).toEqual([
      'add ou=fixture,dc=example,dc=com',
      'modify ou=fixture,dc=example,dc=com',
      'add cn=child,ou=fixture,dc=example,dc=com',
    ]);
    expect(records[1]).toMatchObject({ changes: [{ operation: 'replace', attribute: 'description', values: ['seen by 02'] }] });
    expect(r.stdout).toContain('DRY RUN — nothing was written');
    expect(r.stdout).toMatch(/from 0\.0\.0 \(no stored version: baseline\) to 1\.0\.0/);
    expect(r.stdout).toContain(`- ${cluster.nodes[1]!.url}`);
    expect(await csns()).toEqual(before);
    expect(await readAttr(cluster, cluster.nodes[0]!.url, `cn=schema-version,${cluster.suffix}`, 'description')).toBeNull();
    expect(await readAttr(cluster, cluster.nodes[0]!.url, `ou=fixture,${cluster.suffix}`, 'ou')).toBeNull();
  });

  it('dry run --ldif prints only LDIF; --summary only the summary; --json one document', async () => {
    const ldif = await runCli(['upgrade', '--dry-run', '--ldif'], { config });
    expect(ldif.code).toBe(0);
    expect(ldif.stdout).not.toContain('DRY RUN');
    expect(parseLdif(ldif.stdout)).toHaveLength(3);
    const summary = await runCli(['upgrade', '--dry-run', '--summary'], { config });
    expect(summary.code, summary.stderr).toBe(0);
    expect(summary.stdout).toContain('DRY RUN — nothing was written');
    expect(summary.stdout).toContain('1.0.0/01-add-ou.ldif: 1 entry would change');
    expect(summary.stdout).not.toContain('changetype');
    expect((await runCli(['upgrade', '--dry-run', '--summary', '--ldif'], { config })).code).toBe(2);
    const json = await runCli(['upgrade', '--dry-run', '--json'], { config });
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ kind: 'dry-run', formatVersion: 1, toVersion: '1.0.0' });
    expect(doc.steps.map((s: { entriesChanged: number }) => s.entriesChanged)).toEqual([1, 2]);
    expect(json.stderr).toBe('');
  });

  it('dry run of a script that throws → 5, naming version and script, nothing written', async () => {
    const before = await csns();
    const r = await runCli(['upgrade', '--dry-run', '--scripts', join(FIXTURES, 'failing')], { config });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('dry run: version 1.1.0: script 1.1.0/02-fail-halfway.ts failed');
    expect(r.stderr).toContain('boom half-way (nothing was written)');
    expect(await csns()).toEqual(before);
  });

  it('status --check exits 10 while an upgrade is pending', async () => {
    const r = await runCli(['status', '--check', '--json'], { config });
    expect(r.code).toBe(10);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ kind: 'status', versionEntryExists: false, baselineVersion: '0.0.0', targetVersion: '1.0.0', upToDate: false });
    expect(s.replicas).toHaveLength(2);
    expect(s.replicas.every((x: { reachable: boolean; frozen: boolean; converged: boolean }) => x.reachable && !x.frozen && x.converged)).toBe(true);
  });

  it('discovers the replicas from the master when none are configured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-cfg-'));
    const yaml = readFileSync(config, 'utf8').replace(/replicas:\n(  - url: .*\n)+/, '');
    expect(yaml).not.toContain('replicas');
    writeFileSync(join(dir, 'ldap-upgrade.yaml'), yaml);
    const r = await runCli(['status', '--json', '--config', join(dir, 'ldap-upgrade.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).replicas.map((x: { url: string }) => x.url).sort()).toEqual(cluster.nodes.slice(1).map((n) => n.url).sort());
  });

  it('StartTLS verifies the certificate by default; caFile trusts it; insecure is an explicit opt-out', async () => {
    const certs = makeCertificates();
    for (const n of cluster.nodes) {
      await withDirectory(cluster, n.url, 'config', (d) => d.modify('cn=config', [
        { operation: 'replace', attribute: 'olcTLSCACertificateFile', values: [certs.ca] },
        { operation: 'replace', attribute: 'olcTLSCertificateFile', values: [certs.cert] },
        { operation: 'replace', attribute: 'olcTLSCertificateKeyFile', values: [certs.key] },
      ]));
    }
    const untrusted = await runCli(['status', '--start-tls'], { config });
    expect(untrusted.code).toBe(3);
    expect(untrusted.stderr).toMatch(/127\.0\.0\.1:\d+: TLS failure: .*(self.signed|unable to verify|certificate)/i);
    const trusted = await runCli(['status', '--start-tls', '--ca-file', certs.ca], { config });
    expect(trusted.code, trusted.stderr).toBe(0);
    const insecure = await runCli(['status', '--start-tls', '--tls-insecure'], { config });
    expect(insecure.code, insecure.stderr).toBe(0);
  });

  it('wrong password → 3, naming the server', async () => {
    const r = await runCli(['status'], { config, env: { LDAP_UPGRADE_PASSWORD: 'wrong-password' } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`127.0.0.1:${cluster.nodes[0]!.port}: invalid credentials for ${cluster.bindDn} (49)`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('dead replica → 7 with its URL, nothing written', async () => {
    const [dead] = await freePorts(1);
    const before = await csns();
    const urls = [...cluster.nodes.slice(1).map((n) => n.url), `ldap://127.0.0.1:${dead}`];
    const r = await runCli(['upgrade', '--dry-run', ...urls.flatMap((u) => ['--replica', u])], { config });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`ldap://127.0.0.1:${dead}: unreachable`);
    expect(await csns()).toEqual(before);
  });

  it('no password and no terminal → 3, naming the missing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-cfg-'));
    const yaml = readFileSync(config, 'utf8').replace(cluster.passwordFile, join(dir, 'missing.conf'));
    writeFileSync(join(dir, 'ldap-upgrade.yaml'), yaml);
    const r = await runCli(['status', '--config', join(dir, 'ldap-upgrade.yaml')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`the password file ${join(dir, 'missing.conf')} does not exist`);
  });

  it('bad YAML → 2 with line and column', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-cfg-'));
    writeFileSync(join(dir, 'ldap-upgrade.yaml'), 'suffix: dc=example,dc=com\nmaster:\n  url: ldap://127.0.0.1:1\nreplicas:\n  - url: ftp://x\n');
    const r = await runCli(['status', '--config', join(dir, 'ldap-upgrade.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ldap-upgrade.yaml:5:3: replicas[0].url: not an ldap:// or ldaps:// URL');
  });

  it('upgrade without --yes and without a terminal is refused before connecting', async () => {
    const r = await runCli(['upgrade'], { config });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('add --yes');
  });

  it('validate checks the scripts; a bad script file → 2 naming it', async () => {
    const ok = await runCli(['validate', '--json'], { config });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ kind: 'validate', valid: true, checksumsCompared: true });
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-bad-'));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, '1.0.0'));
    writeFileSync(join(dir, '1.0.0', '01-bad.ldif'), 'dn: cn=x\nchangetype: modify\nadd: mail\nsn: y\n-\n');
    const bad = await runCli(['validate', '--offline', '--scripts', dir], { config });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${join(dir, '1.0.0', '01-bad.ldif')}:4:`);
  });

  it('loads code scripts of every kind from a folder outside the project; a script failing to load → 2 naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-kinds-'));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, '1.0.0'));
    const up = "async up(ctx) { ctx.log('x'); }";
    // In a "type": "module" package (tsx then loads .ts as ES modules, top-level await allowed),
    // beside one outside it (CommonJS for tsx, the usual case), and a plain .mjs.
    writeFileSync(join(dir, '1.0.0', 'package.json'), '{ "type": "module" }\n');
    mkdirSync(join(dir, '1.1.0'));
    writeFileSync(join(dir, '1.1.0', '01-plain.ts'), `import { defineScript } from 'ldap-upgrade';\nexport default defineScript({ ${up} });\n`);
    writeFileSync(join(dir, '1.0.0', '01-plain.ts'), `import { defineScript } from 'ldap-upgrade';\nexport default defineScript({ ${up} });\n`);
    writeFileSync(join(dir, '1.0.0', '02-top-level-await.ts'), `import { defineScript } from 'ldap-upgrade';\nconst n: number = await Promise.resolve(1);\nexport default defineScript({ description: String(n), ${up} });\n`);
    writeFileSync(join(dir, '1.0.0', '03-module.mjs'), `import { defineScript } from 'ldap-upgrade';\nexport default defineScript({ ${up} });\n`);
    const ok = await runCli(['validate', '--offline', '--json', '--scripts', dir], { config });
    expect(ok.code, ok.stderr).toBe(0);
    writeFileSync(join(dir, '1.0.0', '04-throws.ts'), `throw new Error('cannot start');\nexport default {};\n`);
    const bad = await runCli(['validate', '--offline', '--scripts', dir], { config });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${join(dir, '1.0.0', '04-throws.ts')}: cannot load: cannot start`);
  });

  it('new scaffolds the next script of a version, which refuses to run until it is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-new-'));
    const a = await runCli(['new', '2.0.0', 'add-index', '--ldif', '--scripts', dir]);
    const b = await runCli(['new', '2.0.0', 'backfill', '--scripts', dir, '--json']);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(JSON.parse(b.stdout)).toMatchObject({ kind: 'new', path: join(dir, '2.0.0', '02-backfill.ts'), scriptKind: 'code', version: '2.0.0' });
    expect(readdirSync(join(dir, '2.0.0')).sort()).toEqual(['01-add-index.ldif', '02-backfill.ts']);
    const unwritten = await runCli(['upgrade', '--dry-run', '--scripts', dir], { config });
    expect(unwritten.code).toBe(2);
    expect(unwritten.stderr).toContain(`${join(dir, '2.0.0', '01-add-index.ldif')}: still the template \`ldap-upgrade new\` made`);
    for (const f of ['01-add-index.ldif', '02-backfill.ts']) {
      const path = join(dir, '2.0.0', f);
      writeFileSync(path, readFileSync(path, 'utf8').split('\n').filter((l) => !l.includes('ldap-upgrade: unwritten')).join('\n'));
    }
    const v = await runCli(['validate', '--offline', '--scripts', dir], { config });
    expect(v.code, v.stderr).toBe(0);
  });

  it('never shows the password: not in output, errors or log files', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-logs-'));
    const r = await runCli(['upgrade', '--dry-run', '--log-dir', logDir], { config, env: { LDAP_UPGRADE_PASSWORD: cluster.password } });
    expect(r.code).toBe(0);
    const logs = readdirSync(logDir).map((f) => readFileSync(join(logDir, f), 'utf8')).join('\n');
    expect(logs).toContain('preflight');
    for (const text of [r.stdout, r.stderr, logs]) expect(text).not.toContain(cluster.password);
    expect(existsSync(join(logDir, 'nothing'))).toBe(false);
  });

  it('scripts drifted from the history (changed, removed, added to an applied version): validate 7 naming each; upgrade and dry run refuse (7) before the lock unless --accept-script-drift', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-drift-'));
    const put = (file: string, text: string) => {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), text);
    };
    const ou = `ou=drift,${cluster.suffix}`;
    put('1.0.0/01-add-ou.ldif', `dn: ${ou}\nchangetype: add\nobjectClass: organizationalUnit\nou: drift\n`);
    put('1.0.0/02-describe.ldif', `dn: ${ou}\nchangetype: modify\nreplace: description\ndescription: one\n-\n`);
    const variant = configVariant(cluster, 'drift', { versionEntry: `cn=v-drift,${cluster.suffix}`, scripts: dir, replicas: cluster.nodes.slice(1).map((n) => n.url) });
    const versionOf = () => readAttr(cluster, cluster.nodes[0]!.url, `cn=v-drift,${cluster.suffix}`, 'description');
    expect((await runCli(['upgrade', '--yes'], { config: variant })).code).toBe(0);
    expect((await runCli(['validate'], { config: variant })).code).toBe(0);

    // Changed after it was applied, and a new version pending.
    put('1.0.0/02-describe.ldif', `dn: ${ou}\nchangetype: modify\nreplace: description\ndescription: two\n-\n`);
    put('1.1.0/01-more.ldif', `dn: ${ou}\nchangetype: modify\nreplace: l\nl: here\n-\n`);
    const v = await runCli(['validate', '--json'], { config: variant });
    expect(v.code, v.stderr).toBe(7);
    expect(JSON.parse(v.stdout)).toMatchObject({ valid: false, drift: { changed: ['1.0.0/02-describe.ldif'], removed: [], outOfOrder: [] } });
    for (const args of [['upgrade', '--yes'], ['upgrade', '--dry-run']]) {
      const r = await runCli(args, { config: variant });
      expect(r.code, r.stderr).toBe(7);
      expect(r.stderr).toContain('1.0.0/02-describe.ldif changed since it was applied');
      expect(r.stderr).toContain('--accept-script-drift');
    }
    expect(await versionOf()).toEqual(['1.0.0']);
    expect(await readAttr(cluster, cluster.nodes[0]!.url, `cn=lock,cn=v-drift,${cluster.suffix}`, 'cn')).toBeNull();
    expect(await readAttr(cluster, cluster.nodes[0]!.url, ou, 'l')).toEqual([]);
    const accepted = await runCli(['upgrade', '--yes', '--json', '--accept-script-drift'], { config: variant });
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(JSON.parse(accepted.stdout).warnings).toEqual([expect.stringContaining('1.0.0/02-describe.ldif changed since it was applied')]);
    expect(await versionOf()).toEqual(['1.1.0']);
    expect(await readAttr(cluster, cluster.nodes[0]!.url, ou, 'l')).toEqual(['here']);
    const state = async () => Object.fromEntries(JSON.parse((await runCli(['info', '--json'], { config: variant })).stdout).scripts.map((x: { script: string; state: string }) => [x.script, x.state]));
    expect(await state()).toEqual({ '1.0.0/01-add-ou.ldif': 'applied', '1.0.0/02-describe.ldif': 'changed', '1.1.0/01-more.ldif': 'applied' });

    // Removed; then one added to a version already applied.
    put('1.0.0/02-describe.ldif', `dn: ${ou}\nchangetype: modify\nreplace: description\ndescription: one\n-\n`);
    rmSync(join(dir, '1.0.0', '01-add-ou.ldif'));
    put('1.0.0/03-late.ldif', `dn: ${ou}\nchangetype: modify\nreplace: st\nst: late\n-\n`);
    expect(await state()).toEqual({ '1.0.0/01-add-ou.ldif': 'missing', '1.0.0/02-describe.ldif': 'applied', '1.0.0/03-late.ldif': 'out of order', '1.1.0/01-more.ldif': 'applied' });
    const table = await runCli(['info'], { config: variant });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^Version +Script +Description +State +When +Took +Entries$/m);
    expect(table.stdout).toMatch(/^1\.0\.0 +03-late\.ldif +out of order *$/m);
    expect(table.stdout).toMatch(/^1\.1\.0 +01-more\.ldif +applied +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +\d+ ms +1$/m);
    const both = await runCli(['validate'], { config: variant });
    expect(both.code).toBe(7);
    expect(both.stdout).toContain('error: 1.0.0/01-add-ou.ldif was applied but is no longer in the scripts folder');
    expect(both.stdout).toContain('error: 1.0.0/03-late.ldif was never applied, and its version is already past');
    rmSync(join(dir, '1.0.0', '03-late.ldif'));
    put('1.0.0/01-add-ou.ldif', `dn: ${ou}\nchangetype: add\nobjectClass: organizationalUnit\nou: drift\n`);
    const clean = await runCli(['validate'], { config: variant });
    expect(clean.code, clean.stdout).toBe(0);
    expect(clean.stdout).toContain('applied scripts: all there, unchanged, none pending before them');
  });

  it('logs: one per run, named with its run id, from the tool version and command line to the report and exit code; a failure at connecting is logged; read-only commands log only when asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-logs-'));
    mkdirSync(join(dir, 'scripts', '1.0.0'), { recursive: true });
    writeFileSync(join(dir, 'scripts', '1.0.0', '01-add-ou.ldif'), `dn: ou=logged,${cluster.suffix}\nchangetype: add\nobjectClass: organizationalUnit\nou: logged\n`);
    const variant = configVariant(cluster, 'logs', { versionEntry: `cn=v-logs,${cluster.suffix}`, scripts: join(dir, 'scripts'), replicas: cluster.nodes.slice(1).map((n) => n.url) });
    const logDir = join(dir, 'logs');
    const logs = () => (existsSync(logDir) ? readdirSync(logDir) : []);
    expect((await runCli(['status', '--log-dir', logDir], { config: variant })).code).toBe(0);
    expect(logs()).toHaveLength(1); // asked for
    rmSync(logDir, { recursive: true });
    for (const args of [['status'], ['history'], ['validate'], ['upgrade', '--dry-run']]) {
      expect((await runCli([...args, '--config', variant])).code, args.join(' ')).toBe(0);
    }
    expect(existsSync(join(cluster.dir, 'logs')) ? readdirSync(join(cluster.dir, 'logs')).filter((f) => /status|history|validate|dry-run/.test(f)) : []).toEqual([]);

    const run = await runCli(['upgrade', '--yes', '--json', '--log-dir', logDir], { config: variant });
    expect(run.code, run.stderr).toBe(0);
    const { runId } = JSON.parse(run.stdout);
    expect(logs().sort()).toEqual([`${runId}.log`, `${runId}.report.html`, `${runId}.report.json`]);
    // The report: outcome, per replica frozen / converged / given back, per script, what next.
    const report = JSON.parse(readFileSync(join(logDir, `${runId}.report.json`), 'utf8'));
    expect(report).toMatchObject({ runId, outcome: 'done', fromVersion: '0.0.0', toVersion: '1.0.0', next: ['ldap-upgrade verify', 'ldap-upgrade info'] });
    // Every field of the shape, null when it has no value.
    expect(JSON.parse(run.stdout)).toMatchObject({ error: null, conflicts: null, backupFile: null, steps: [{ tag: null, error: null, schema: null }] });
    expect(JSON.parse(run.stdout).replicas[0]).toMatchObject({ lag: 'converged', error: null });
    for (const n of cluster.nodes.slice(1)) {
      expect(report.timeline.filter((e: { subject?: string }) => e.subject === n.url).map((e: { what: string }) => e.what.split(' ')[0])).toEqual(['replicates', 'frozen', 'converged', 'given']);
    }
    expect(report.timeline.filter((e: { subject?: string }) => e.subject === '1.0.0/01-add-ou.ldif').map((e: { what: string }) => e.what)).toEqual(['started', expect.stringMatching(/^done: 1 entries in \d+ ms$/)]);
    const html = readFileSync(join(logDir, `${runId}.report.html`), 'utf8');
    expect(html).toContain('<h1>Upgraded: 0.0.0 → 1.0.0</h1>');
    for (const n of cluster.nodes.slice(1)) expect(html).toContain(`<td>${n.url}</td>`);
    expect(html).toContain('<code>ldap-upgrade verify</code>');
    expect(html).not.toMatch(/<script|src=|href=/);
    const text = readFileSync(join(logDir, `${runId}.log`), 'utf8');
    expect(text).toMatch(/^\S+ ldap-upgrade \d+\.\d+\.\d+ upgrade \(pid \d+\)\n\S+ config: .*logs\.yaml\n\S+ command line: ldap-upgrade upgrade --yes --json --log-dir /);
    expect(text).toContain(`lock: run ${runId}`);
    expect(text).toMatch(/report:\nrun \S+: upgraded from 0\.0\.0 to 1\.0\.0\n/);
    expect(text).toMatch(/ exit 0\n$/);

    // Refused at the bind: the log says why, and the exit code.
    const wrong = join(dir, 'wrong.conf');
    writeFileSync(wrong, 'not-the-password', { mode: 0o600 });
    const failed = await runCli(['upgrade', '--yes', '--log-dir', logDir, '--password-file', wrong], { config: variant });
    expect(failed.code).toBe(3);
    const other = logs().filter((f) => !f.startsWith(runId));
    expect(other).toHaveLength(1);
    expect(other[0]).toMatch(/-upgrade-\d+\.log$/);
    const failure = readFileSync(join(logDir, other[0]!), 'utf8');
    expect(failure).toMatch(/error: .*invalid credentials/i);
    expect(failure).toMatch(/ exit 3\n$/);
    expect(failure).not.toContain('not-the-password');
  });

  // Last in this file: it leaves node 3 without its consumers.
  it('verify: identical → 0; a difference on one replica → 9, naming the DN and the attribute', async () => {
    const same = await runCli(['verify', '--json'], { config });
    expect(same.code, same.stderr).toBe(0);
    const doc = JSON.parse(same.stdout);
    expect(doc).toMatchObject({ kind: 'verify', identical: true });
    expect(doc.entries).toBeGreaterThan(300);
    const node3 = cluster.nodes[2]!.url;
    // Node 3 stops consuming; a change on the master then reaches node 2 only.
    await withDirectory(cluster, node3, 'config', (d) => d.modify('olcDatabase={1}mdb,cn=config', [{ operation: 'replace', attribute: 'olcSyncrepl', values: [] }]));
    const dn = `uid=user0077,ou=people,${cluster.suffix}`;
    await withDirectory(cluster, cluster.nodes[0]!.url, 'data', (d) => d.modify(dn, [{ operation: 'replace', attribute: 'title', values: ['only on some nodes'] }]));
    await eventually(async () => (await readAttr(cluster, cluster.nodes[1]!.url, dn, 'title'))?.[0] === 'only on some nodes');
    const r = await runCli(['verify'], { config });
    expect(r.code).toBe(9);
    expect(r.stdout).toContain(`${cluster.nodes[1]!.url}: identical`);
    expect(r.stdout).toContain(`${node3}: DIFFERS: 0 missing, 0 extra, 1 with other values`);
    expect(r.stdout).toContain(`differs: ${dn} (title)`);
  });
});
