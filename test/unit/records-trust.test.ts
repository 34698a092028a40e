import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { exitCodeForResult } from '../../src/cli/exit.js';
import { RefusedError } from '../../src/errors.js';
import { readStatus } from '../../src/inspect/status.js';
import { readJournal } from '../../src/records/journal.js';
import { journalPath, lockProblems, runRecordProblems } from '../../src/records/trust.js';
import { recordRules } from '../../src/replication/topology.js';
import { recover } from '../../src/run/recover.js';
import { runUpgrade } from '../../src/run/upgrade.js';
import { dirsrvAdapter } from '../../src/servers/389ds/adapter.js';
import { memoryRun, SUFFIX, TWO_VERSIONS, VERSION_ENTRY, type MemoryRun } from '../helpers/memory-run.js';

const STRANGER = 'ldap://127.0.0.1:9999';
const user1 = `uid=user1,ou=people,${SUFFIX}`;

/** Writes a run record under cn=runs as anyone who can write the suffix could. */
function plant(run: MemoryRun, record: Record<string, unknown>): void {
  const m = run.cluster.master;
  for (const dn of [VERSION_ENTRY, `cn=runs,${VERSION_ENTRY}`]) if (!m.get(dn)) m.put({ dn, attributes: { objectClass: ['applicationProcess'], cn: [dn.slice(3, dn.indexOf(','))] } });
  const runId = String(record.runId);
  m.put({ dn: `cn=${runId},cn=runs,${VERSION_ENTRY}`, attributes: { objectClass: ['applicationProcess'], cn: [runId], description: [JSON.stringify(record)] } });
}

function recordOf(run: MemoryRun, over: Record<string, unknown> = {}): Record<string, unknown> {
  const runId = '20261201T101010Z-abcdef';
  return {
    runId, state: 'applying', host: 'elsewhere', pid: 4242, startedAt: '2026-12-01T10:10:10Z', updatedAt: '2026-12-01T10:10:11Z',
    fromVersion: '0.0.0', toVersion: '1.1.0', tags: [], steps: ['1.0.0/01-add-ou.ldif'], completed: 0,
    journal: journalPath(run.backupDir, runId),
    replicas: [{ url: run.cluster.replicas[0]!.url, frozenByRun: true, restored: false, writeState: { entryDn: 'olcDatabase={1}mdb,cn=config', attribute: 'olcReadOnly', original: [], frozen: false } }],
    ...over,
  };
}

describe('records are input: a planted run record is refused before anything it names is used', () => {
  it('a stranger URL and a userPassword to "restore": upgrade and recover exit 7 naming them; nothing connects there, nothing is written; status shows it untrusted', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    plant(run, recordOf(run, {
      replicas: [{ url: STRANGER, frozenByRun: true, restored: false, writeState: { entryDn: user1, attribute: 'userPassword', original: ['owned'], frozen: false } }],
    }));
    const before = JSON.stringify(run.cluster.master.get(user1));
    const opened = run.cluster.opened.length;
    const upgrade = runUpgrade(run.topology, {}, () => undefined);
    await expect(upgrade).rejects.toThrow(RefusedError);
    await expect(upgrade).rejects.toThrow(/untrusted run record 20261201T101010Z-abcdef .*names "ldap:\/\/127\.0\.0\.1:9999", which is not a replica of the configuration/);
    const rec = recover(run.topology, { rollback: true, force: true }, () => undefined);
    await expect(rec).rejects.toThrow(/attribute "userPassword" is not olcReadOnly/);
    expect(run.cluster.opened.slice(opened)).toEqual([]);
    expect(JSON.stringify(run.cluster.master.get(user1))).toBe(before);
    for (const s of run.cluster.servers) expect(s.writes, s.url).toEqual([]);
    const status = await readStatus(run.topology);
    expect(status.untrusted).toHaveLength(1);
    expect(status.interruptedRun).toBeUndefined();
    expect(exitCodeForResult({ kind: 'status', report: status, check: true })).toBe(7);
  });

  it('a journal outside backupDir, a run id that is a filter, a frontend database: each refused by name', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const rules = recordRules(run.topology);
    expect(runRecordProblems(recordOf(run), rules)).toEqual([]);
    expect(runRecordProblems(recordOf(run, { journal: '/etc/passwd' }), rules).join()).toMatch(/its journal "\/etc\/passwd" is not .*20261201T101010Z-abcdef\.journal\.jsonl/);
    expect(runRecordProblems(recordOf(run, { runId: '*' }), rules)).toEqual(['its run id "*" is not a run id']);
    const frontend = { url: run.cluster.replicas[0]!.url, frozenByRun: true, restored: false, writeState: { entryDn: 'olcDatabase={-1}frontend,cn=config', attribute: 'olcReadOnly', original: [], frozen: false } };
    expect(runRecordProblems(recordOf(run, { replicas: [frontend] }), rules).join()).toMatch(/not a database entry of cn=config/);
    const scheme = { ...frontend, url: run.cluster.replicas[0]!.url.replace('ldap:', 'ldaps:'), writeState: (recordOf(run).replicas as { writeState: unknown }[])[0]!.writeState };
    expect(runRecordProblems(recordOf(run, { replicas: [scheme] }), rules).join()).toMatch(/not a replica of the configuration/);
    expect(runRecordProblems({ runId: '20261201T101010Z-abcdef', replicas: 'x' }, rules).join()).toMatch(/its replicas are not a list/);
    expect(lockProblems({ runId: '*)(cn=*', host: 'h', pid: 1, expiresAt: 'never' })).toEqual(['its run id "*)(cn=*" is not a run id', 'its lease expiry "never" is not a time']);
  });

  it("389 DS: only the suffix's own mapping-tree entry and the freeze's attributes may be restored", () => {
    const suffix = 'dc=example,dc=com';
    const tree = 'cn=dc\\3Dexample\\2Cdc\\3Dcom,cn=mapping tree,cn=config';
    const good = { entryDn: tree, attribute: 'nsslapd-state', original: ['backend'], frozen: false, others: [{ dn: tree, attribute: 'nsslapd-backend', original: ['userRoot'] }] };
    expect(dirsrvAdapter.writeStateProblem(good, suffix)).toBeUndefined();
    expect(dirsrvAdapter.writeStateProblem({ ...good, entryDn: 'cn="dc=example,dc=com",cn=mapping tree,cn=config', others: [] }, suffix)).toBeUndefined();
    expect(dirsrvAdapter.writeStateProblem({ ...good, entryDn: 'cn="dc=other,dc=com",cn=mapping tree,cn=config', others: [] }, suffix)).toMatch(/not the mapping tree entry of dc=example,dc=com/);
    expect(dirsrvAdapter.writeStateProblem({ ...good, others: [{ dn: 'uid=admin,dc=example,dc=com', attribute: 'userPassword', original: ['x'] }] }, suffix)).toMatch(/on another entry/);
    expect(dirsrvAdapter.writeStateProblem({ ...good, others: [{ dn: tree, attribute: 'aci', original: ['(targetattr="*")'] }] }, suffix)).toMatch(/"aci" is not one the freeze changes/);
    expect(dirsrvAdapter.writeStateProblem({ ...good, original: ['backend\n-\nadd: aci'] }, suffix)).toMatch(/not of the kind the freeze records/);
  });

  it('a journal that is a symbolic link, or writable by others, is neither read nor appended to', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-journal-trust-'));
    const target = join(dir, 'precious.txt');
    writeFileSync(target, 'keep me\n');
    const link = join(dir, 'run.journal.jsonl');
    symlinkSync(target, link);
    expect(() => readJournal(link)).toThrow(/journal refused: .* is a symbolic link/);
    expect(readFileSync(target, 'utf8')).toBe('keep me\n');
    const loose = join(dir, 'loose.journal.jsonl');
    writeFileSync(loose, '');
    chmodSync(loose, 0o666);
    expect(() => readJournal(loose)).toThrow(/writable by group or others/);
  });
});

describe('smaller ways in', () => {
  it("the scripts' guard sees the tool's records through OIDs, escapes, BER values and spelling", async () => {
    const { protectedWriteProblem } = await import('../../src/scripts/runtime/protected-dns.js');
    const ve = 'cn=schema-version,dc=example,dc=com';
    for (const dn of [
      '2.5.4.3=lock,cn=schema-version,dc=example,dc=com', 'OID.2.5.4.3=lock,cn=schema-version,dc=example,dc=com',
      'cn=\\6cock,cn=schema-version,dc=example,dc=com', 'cn=#04046c6f636b,cn=schema-version,dc=example,dc=com',
      'CN=LOCK , CN=Schema-Version,0.9.2342.19200300.100.1.25=example,DC=com', 'commonName=runs,cn=schema-version,dc=example,dc=com',
    ]) expect(protectedWriteProblem({ kind: 'delete', dn }, ve), dn).toMatch(/tool's own records/);
    expect(protectedWriteProblem({ kind: 'modify', dn: '2.5.4.3=config', changes: [] }, ve)).toMatch(/may not write cn=config/);
    expect(protectedWriteProblem({ kind: 'modify', dn: 'cn=lockout,cn=schema-version,dc=example,dc=com', changes: [] }, ve)).toBeUndefined();
  });

  it('a script file name with a line break is refused, shown escaped (it would reach the dry-run LDIF as a record)', async () => {
    const { discoverScripts } = await import('../../src/scripts/catalog.js');
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-names-'));
    mkdirSync(join(dir, '1.0.0'));
    writeFileSync(join(dir, '1.0.0', '01-a\ndn: cn=injected.ldif'), 'dn: cn=a\nchangetype: delete\n');
    expect(() => discoverScripts(dir)).toThrow(/"[^"]*01-a\\ndn: cn=injected\.ldif": a script's file name may not hold line breaks/);
  });

  it('control characters from the directory never reach the terminal raw (an escape sequence in a DN or a server message)', async () => {
    const { terminalSafe } = await import('../../src/cli/output.js');
    expect(terminalSafe('cn=a\x1b]0;owned\x07,dc=x\r\nnext\tline\x9b2J')).toBe('cn=a\\x1b]0;owned\\x07,dc=x\\x0d\nnext\tline\\x9b2J');
    const { progressSink } = await import('../../src/cli/progress.js');
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { written.push(String(chunk)); return true; });
    try {
      progressSink('plain')({ type: 'warning', message: 'planted \x1b[2J value' });
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toMatch(/warning: planted \\x1b\[2J value\n$/);
  });

  it('__proto__, constructor and the like in the configuration: exit 2 naming the key (not an internal error)', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const { ConfigError } = await import('../../src/errors.js');
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-proto-'));
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const file = join(dir, `${key}.yaml`);
      writeFileSync(file, `suffix: dc=x\nmaster:\n  url: ldap://a:389\nbind:\n  dn: cn=a\n${key}:\n  x: 1\n`);
      expect(() => loadConfig(file), key).toThrow(ConfigError);
      expect(() => loadConfig(file), key).toThrow(new RegExp(`:6:1: ${key}: unknown key`));
    }
  });
});

describe('folders and files of the tool', () => {
  it('backupDir and logDir writable by group or others (a sticky /tmp too) are refused, named', async () => {
    const { writableDirProblem } = await import('../../src/records/local-files.js');
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-folders-'));
    const loose = join(dir, 'loose');
    mkdirSync(loose);
    chmodSync(loose, 0o777);
    expect(writableDirProblem(loose, 'backupDir')).toMatch(/backupDir .*loose is writable by group or others \(mode 777\): make it 700/);
    expect(writableDirProblem('/tmp', 'logDir')).toMatch(/writable by group or others \(mode 1777\)/);
    const tight = join(dir, 'tight');
    mkdirSync(tight, { mode: 0o700 });
    expect(writableDirProblem(tight, 'backupDir')).toBeUndefined();
    expect(writableDirProblem(join(tight, 'not-yet'), 'backupDir')).toBeUndefined();
  });

  it('a report file name planted as a symbolic link: nothing is written through it', async () => {
    const { writeRunReport, Timeline } = await import('../../src/cli/report-files.js');
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-report-link-'));
    const target = join(dir, 'precious.txt');
    writeFileSync(target, 'keep me\n');
    const runId = '20261201T101010Z-abcdef';
    symlinkSync(target, join(dir, `${runId}.report.json`));
    const report = { kind: 'upgrade', formatVersion: 1, runId, outcome: 'done', fromVersion: '1.0.0', toVersion: '1.1.0', steps: [], replicas: [], totalMs: 1, rolledBack: false, warnings: [] } as const;
    expect(() => writeRunReport(dir, { ...report, steps: [], replicas: [], warnings: [] }, new Timeline())).toThrow(/symbolic link/);
    expect(readFileSync(target, 'utf8')).toBe('keep me\n');
  });

  it('a backup: a planted FILE.part link is removed, not followed; the backup is written anew, mode 600', async () => {
    const { backupSuffix } = await import('../../src/inspect/backup.js');
    const { MemoryCluster } = await import('../helpers/memory-directory.js');
    const cluster = new MemoryCluster(SUFFIX, 1);
    const master = await cluster.connector({ url: cluster.master.url, tls: { startTLS: false, insecure: false } });
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-backup-part-'));
    const target = join(dir, 'precious.txt');
    writeFileSync(target, 'keep me\n');
    const file = join(dir, 'suffix.ldif');
    symlinkSync(target, `${file}.part`);
    const result = await backupSuffix(master, SUFFIX, file, ['*']);
    expect(result.entries).toBe(7);
    expect(readFileSync(target, 'utf8')).toBe('keep me\n');
    expect(readFileSync(file, 'utf8')).toMatch(/^# ldap-upgrade backup of dc=mem,dc=test/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('389 DS agreement statuses in preflight', () => {
  it("a connection error kept from before a restart only warns (the canary and the drain check the link); other errors refuse", async () => {
    const { MemoryCluster } = await import('../helpers/memory-directory.js');
    const cluster = new MemoryCluster(SUFFIX, 1);
    const s = cluster.master;
    const tree = `cn="${SUFFIX}",cn=mapping tree,cn=config`;
    s.put({ dn: 'cn=mapping tree,cn=config', attributes: { cn: ['mapping tree'] } });
    s.put({ dn: tree, attributes: { objectClass: ['nsMappingTree'] } });
    s.put({ dn: `cn=replica,${tree}`, attributes: { objectClass: ['nsds5replica'] } });
    const agreement = (name: string, status: string) => s.put({
      dn: `cn=${name},cn=replica,${tree}`,
      attributes: { objectClass: ['nsds5replicationagreement'], cn: [name], nsDS5ReplicaRoot: [SUFFIX], nsDS5ReplicaHost: ['127.0.0.1'], nsDS5ReplicaPort: ['1390'], nsds5replicaLastUpdateStatus: [status] },
    });
    agreement('to-a', "Error (-1) Problem connecting to replica - LDAP error: Can't contact LDAP server (connection error)");
    agreement('to-b', 'Error (0) Replica acquired successfully: Incremental update succeeded');
    agreement('to-c', 'Error (19) Replication error acquiring replica: replica busy');
    const config = await cluster.connector({ url: s.url, tls: { startTLS: false, insecure: false } });
    const health = await dirsrvAdapter.replicationHealth!(config, SUFFIX);
    expect(health.warnings).toEqual([expect.stringMatching(/^agreement to-a to ldap:\/\/127\.0\.0\.1:1390 last reported a connection error .*the run's canary and drain check the link$/)]);
    expect(health.problems).toEqual(['agreement to-c to ldap://127.0.0.1:1390 is in error: Error (19) Replication error acquiring replica: replica busy']);
    expect(await dirsrvAdapter.replicationProblems!(config, SUFFIX)).toHaveLength(2);
  });
});
