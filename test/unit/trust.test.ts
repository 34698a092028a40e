import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { parseDuration, parseInteger } from '../../src/config/values.js';
import { differingAttributes, entryDigest, ignoreSet } from '../../src/replication/entry-compare.js';
import { ensureDir, writableDirProblem } from '../../src/records/local-files.js';
import { containScript, ScriptEscape } from '../../src/scripts/runtime/containment.js';
import { protectedWriteProblem } from '../../src/scripts/runtime/protected-dns.js';
import { howSameServer } from '../../src/replication/server-identity.js';
import { compareCsnSets, describeLag } from '../../src/servers/csn.js';
import { CommandLineError, ConfigError, LocalFileError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-trust-unit-'));
const BASE = 'suffix: dc=example,dc=com\nmaster:\n  url: ldap://ldap1.example.com:389\nbind:\n  dn: cn=Directory Manager\n';
const config = (text: string) => {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, BASE + text);
  return loadConfig(path);
};

describe('durations and counts on the command line', () => {
  it('takes seconds and units, refuses the rest', () => {
    expect(parseDuration('timeout', '300')).toBe(300);
    expect(parseDuration('timeout', '5m')).toBe(300);
    expect(parseDuration('timeout', '90s')).toBe(90);
    expect(parseDuration('timeout', '1h')).toBe(3600);
    expect(parseDuration('timeout', '200ms')).toBeCloseTo(0.2);
    expect(parseDuration('timeout', '2.5')).toBe(2.5);
    for (const bad of ['abc', '-5', '0', '5x', '', '1e3', 'NaN']) expect(() => parseDuration('timeout', bad), bad).toThrow(CommandLineError);
    expect(parseInteger('nodes', '3', 1, 9)).toBe(3);
    for (const bad of ['1.5', '0', '10', 'x', '-1']) expect(() => parseInteger('nodes', bad, 1, 9), bad).toThrow(/--nodes .*not a whole number from 1 to 9/);
  });
});

describe('configuration: which replicas, fractional replicas, script limit', () => {
  it('replicas: discover is accepted discovery; a list is configured; none is the default', () => {
    expect(config('replicas: discover\n')).toMatchObject({ replicas: undefined, discovery: 'accepted' });
    expect(config('replicas:\n  - url: ldap://b:389\n')).toMatchObject({ replicas: [{ url: 'ldap://b:389' }], discovery: 'configured' });
    expect(config('')).toMatchObject({ replicas: undefined, discovery: 'default' });
  });
  it('ignoreAttributes per replica; bad ones named with line and key', () => {
    expect(config('replicas:\n  - url: ldap://b:389\n    ignoreAttributes: [jpegPhoto, title]\n').replicas).toEqual([{ url: 'ldap://b:389', ignoreAttributes: ['jpegPhoto', 'title'] }]);
    expect(() => config('replicas:\n  - url: ldap://b:389\n    ignoreAttributes: [bad name]\n')).toThrow(/replicas\[0\]\.ignoreAttributes\[0\]: not an attribute name/);
    expect(() => config('replicas:\n  - url: ldap://b:389\n    skip: [x]\n')).toThrow(ConfigError);
  });
  it('scriptTimeout and replication.timeout take units; the default limit is an hour', () => {
    expect(config('').scriptTimeout).toBe(3600);
    expect(config('scriptTimeout: 10m\nreplication:\n  timeout: 90s\n')).toMatchObject({ scriptTimeout: 600, replication: { timeout: 90 } });
    expect(() => config('scriptTimeout: soon\n')).toThrow(/scriptTimeout: must be a duration/);
  });
});

describe('scripts cannot take the tool down', () => {
  it('process.exit in a script becomes a failure of the script, and process.exit is given back', async () => {
    const exit = process.exit;
    const escaped: Error[] = [];
    await expect(containScript(async () => { process.exit(3); }, undefined, (e) => escaped.push(e))).rejects.toThrow(/it called process\.exit\(3\)/);
    expect(escaped[0]).toBeInstanceOf(ScriptEscape);
    expect(process.exit).toBe(exit);
  });
  it('a script past its time limit fails', async () => {
    await expect(containScript(() => new Promise(() => undefined), 50, () => undefined)).rejects.toThrow(/ran past its time limit of 0\.05 s/);
  });
  it('the result of a well-behaved script comes through', async () => {
    await expect(containScript(async () => 42, 1000, () => undefined)).resolves.toBe(42);
  });
  it("the tool's own records are refused to scripts; other entries, and its own children, are not", () => {
    const ve = 'cn=schema-version,dc=x';
    expect(protectedWriteProblem({ kind: 'delete', dn: 'cn=lock,cn=schema-version,dc=x' }, ve)).toMatch(/may not write the tool's own records/);
    expect(protectedWriteProblem({ kind: 'modify', dn: 'CN=Schema-Version, DC=x', changes: [] }, ve)).toMatch(/own records/);
    expect(protectedWriteProblem({ kind: 'add', dn: 'cn=r1,cn=runs,cn=schema-version,dc=x', attributes: {}, merge: false }, ve)).toMatch(/own records/);
    expect(protectedWriteProblem({ kind: 'rename', dn: 'ou=a,dc=x', newDn: 'cn=h,cn=history,cn=schema-version,dc=x' }, ve)).toMatch(/own records/);
    expect(protectedWriteProblem({ kind: 'rename', dn: 'dc=x', newDn: 'dc=y' }, ve)).toMatch(/may not rename dc=x/);
    expect(protectedWriteProblem({ kind: 'modify', dn: 'uid=a,dc=x', changes: [] }, ve)).toBeUndefined();
    expect(protectedWriteProblem({ kind: 'add', dn: 'cn=app,cn=schema-version,dc=x', attributes: {}, merge: false }, ve)).toBeUndefined();
  });
});

describe('one server under two URLs', () => {
  it('the same host and port, or names resolving to one address', async () => {
    expect(await howSameServer('ldap://127.0.0.1:3890', 'ldap://127.0.0.1:3890/')).toMatch(/same host and port/);
    expect(await howSameServer('ldap://127.0.0.1:3890', 'ldap://localhost:3890')).toMatch(/both URLs reach 127\.0\.0\.1:3890/);
    expect(await howSameServer('ldap://127.0.0.1:3890', 'ldap://127.0.0.1:3891')).toBeUndefined();
    expect(await howSameServer('ldap://127.0.0.1:389', 'ldap://no-such-host.invalid:389')).toBeUndefined();
  });
});

describe('entries compared as two servers hold them', () => {
  const a = { dn: 'uid=a', attributes: { cn: ['A'], title: ['x'], entryCSN: ['1'], photo: [Buffer.from([1, 2])] } };
  const b = { dn: 'uid=a', attributes: { CN: ['A'], title: ['y'], entryCSN: ['2'], photo: [Buffer.from([1, 2])] } };
  it('user attributes only, names case-insensitive; ignored attributes left out', () => {
    expect(entryDigest(a)).not.toBe(entryDigest(b));
    expect(differingAttributes(a, b)).toEqual(['title']);
    expect(entryDigest(a, ignoreSet(['Title']))).toBe(entryDigest(b, ignoreSet(['title'])));
  });
});

describe('lag in words', () => {
  it('equal times are not "behind by 0.0 s"', () => {
    const cmp = compareCsnSets(new Map([['1', '5f000000000000010000']]), new Map([['1', '5f000000000000000000']]));
    expect(describeLag(cmp)).toMatch(/behind \(by less than a second: changes of server id 1 have not arrived\)/);
  });
});

describe('local folders', () => {
  it('made one level at a time; a file in the way is named', () => {
    ensureDir(join(dir, 'a', 'b', 'c'));
    writeFileSync(join(dir, 'file'), '');
    expect(() => ensureDir(join(dir, 'file', 'sub'))).toThrow(LocalFileError);
    expect(writableDirProblem(join(dir, 'a', 'new'), 'backupDir')).toBeUndefined();
    expect(writableDirProblem(join(dir, 'file', 'sub'), 'backupDir')).toMatch(/is not a folder/);
  });
});
