import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parsePasswordFile, resolvePassword } from '../../src/config/password.js';
import { ConnectionError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-pw-'));
function secret(name: string, text: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

describe('password sources', () => {
  const flag = secret('flag.pw', 'from-flag\n');
  const configured = secret('configured.pw', 'from-file\n');
  const base = { bindDn: 'cn=Manager', envVar: 'LDAP_UPGRADE_PASSWORD' };

  it('takes --password-file first', async () => {
    const r = await resolvePassword({ ...base, flagFile: flag, configuredFile: configured, env: { LDAP_UPGRADE_PASSWORD: 'from-env' } });
    expect(r).toEqual({ password: 'from-flag', source: 'flag' });
  });

  it('then the environment — and it is gone from the environment once read (scripts and children never see it)', async () => {
    const env: NodeJS.ProcessEnv = { LDAP_UPGRADE_PASSWORD: 'from-env', OTHER: 'kept' };
    const r = await resolvePassword({ ...base, configuredFile: configured, env });
    expect(r).toEqual({ password: 'from-env', source: 'environment' });
    expect(env).toEqual({ OTHER: 'kept' });
  });

  it('then the configured file', async () => {
    const prompt = vi.fn();
    const r = await resolvePassword({ ...base, configuredFile: configured, env: {}, prompt });
    expect(r).toEqual({ password: 'from-file', source: 'configured file' });
    expect(prompt).not.toHaveBeenCalled();
  });

  it('then the prompt, when the configured file is missing: the file is named before the prompt', async () => {
    const order: string[] = [];
    const prompt = vi.fn(async (q: string) => { order.push(q); return 'typed'; });
    const r = await resolvePassword({ ...base, configuredFile: join(dir, 'missing.pw'), env: {}, prompt, warn: (m) => order.push(m) });
    expect(r).toEqual({ password: 'typed', source: 'prompt' });
    expect(order).toEqual([`the password file ${join(dir, 'missing.pw')} configured for cn=Manager does not exist: asking on the terminal instead`, 'Password for cn=Manager: ']);
  });

  it('a typed password the server refuses is asked again; three refused: exit 3; other failures are not retried', async () => {
    const typed = ['typo', 'right'];
    const warnings: string[] = [];
    const check = vi.fn(async (p: string) => p === 'right');
    const r = await resolvePassword({ ...base, env: {}, prompt: async () => typed.shift()!, check, warn: (m) => warnings.push(m) });
    expect(r).toEqual({ password: 'right', source: 'prompt' });
    expect(warnings).toEqual(['the server refused that password for cn=Manager (invalid credentials); 2 tries left']);
    const never = vi.fn(async () => false);
    const e = await resolvePassword({ ...base, env: {}, prompt: async () => 'wrong', check: never }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConnectionError);
    expect((e as Error).message).toBe('the server refused 3 passwords for cn=Manager (invalid credentials): nothing was changed');
    expect(never).toHaveBeenCalledTimes(3);
    const down = vi.fn(async () => { throw new ConnectionError('127.0.0.1:1: connection refused'); });
    await expect(resolvePassword({ ...base, env: {}, prompt: async () => 'x', check: down })).rejects.toThrow('connection refused');
    expect(down).toHaveBeenCalledTimes(1);
  });

  it('without any source and no terminal: a connection-class error naming the missing file', async () => {
    const missing = join(dir, 'missing.pw');
    const p = resolvePassword({ ...base, configuredFile: missing, env: {} });
    await expect(p).rejects.toThrow(ConnectionError);
    await expect(resolvePassword({ ...base, configuredFile: missing, env: {} })).rejects.toThrow(`the password file ${missing} does not exist`);
  });

  it('warns when the file is readable by group or others, without printing the password', async () => {
    const warn = vi.fn();
    const open = secret('open.pw', 's3cret-value\n', 0o644);
    await resolvePassword({ ...base, flagFile: open, env: {}, warn });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(/readable by group or others \(mode 644\)/);
    expect(warn.mock.calls[0]![0]).not.toContain('s3cret-value');
  });

  it('fails clearly on an unreadable --password-file', async () => {
    await expect(resolvePassword({ ...base, flagFile: join(dir, 'nope'), env: {} })).rejects.toThrow(/cannot read password file .*nope: ENOENT/);
  });
});

describe('parsePasswordFile', () => {
  it('takes the first line alone', () => expect(parsePasswordFile('pa ss=word \nsecond\n')).toBe('pa ss=word '));
  it("takes Dogtag's internaldb=", () => expect(parsePasswordFile('internal=abc\ninternaldb=xyz\nreplicationdb=123\n')).toBe('xyz'));
  it('takes password=', () => expect(parsePasswordFile('user=x\npassword=pw\n')).toBe('pw'));
  it('refuses name=value lines without either', () => expect(() => parsePasswordFile('internal=abc\nreplicationdb=1\n', 'f.conf')).toThrow(/f\.conf: holds name=value lines but no internaldb=/));
  it('refuses an empty file', () => expect(() => parsePasswordFile('\n', 'f.conf')).toThrow(/f\.conf: is empty/));
});
