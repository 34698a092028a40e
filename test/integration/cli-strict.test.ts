import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';

/**
 * The command line is decided before anything else: a typo, a missing option or a bad value is a
 * usage error (exit 2) before any password is read or any server contacted. A fake "server"
 * counts the connections the tool makes (a password is in the environment, so a run that got
 * past parsing would connect).
 */
describe('strict command line', () => {
  let server: Server;
  let connections = 0;
  let config: string;
  const env = { LDAP_UPGRADE_PASSWORD: 'secret-not-used' };

  beforeAll(async () => {
    server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-strict-'));
    config = join(dir, 'ldap-upgrade.yaml');
    writeFileSync(config, `suffix: dc=example,dc=com\nmaster:\n  url: ldap://127.0.0.1:${port}\nreplicas: []\nbind:\n  dn: cn=Manager,dc=example,dc=com\nlogDir: ${dir}/logs\nbackupDir: ${dir}/backups\n`);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const cases: [string, string[], RegExp][] = [
    ['a typo of --dry-run', ['upgrade', '--yes', '--dry-rn'], /Unknown arguments?: dry-rn/],
    ['a typo of --json', ['status', '--jsn'], /Unknown argument: jsn/],
    ['backup without --out', ['backup'], /Missing required argument: out/],
    ['an unknown command', ['upgrad', '--yes'], /unknown command: upgrad/],
    ['--timeout 5x', ['upgrade', '--yes', '--timeout', '5x'], /--timeout 5x: not a duration/],
    ['--timeout abc', ['upgrade', '--yes', '--timeout', 'abc'], /--timeout abc: not a duration/],
    ['--timeout -5', ['upgrade', '--yes', '--timeout', '-5'], /--timeout -5: not a duration/],
    ['--timeout 0', ['recover', '--timeout', '0'], /--timeout 0: not a duration/],
    ['--poll-interval x', ['status', '--poll-interval', 'x'], /--poll-interval x: not a duration/],
    ['--write-concurrency 0', ['upgrade', '--yes', '--write-concurrency', '0'], /--write-concurrency 0: not a whole number from 1 to 256/],
    ['--nodes 1.5', ['sandbox', 'up', '--nodes', '1.5'], /--nodes 1.5: not a whole number from 1 to 9/],
    ['a flag of another command', ['status', '--rollback'], /Unknown argument: rollback/],
  ];
  for (const [name, args, message] of cases) {
    it(`${name} → exit 2, one line, nothing contacted`, async () => {
      const before = connections;
      const r = await runCli(args, { config, env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split('\n')[0]).toMatch(/^ldap-upgrade: /);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(r.stdout).toBe('');
      expect(connections).toBe(before);
    });
  }

  it('a duration with a unit is taken (5m), and a bad one in the file is a config error naming the key', async () => {
    // 5m parses: the run goes on to connect (to the fake server, which hangs up: exit 3).
    const before = connections;
    const r = await runCli(['upgrade', '--yes', '--timeout', '5m'], { config, env });
    expect(r.code, r.stderr).toBe(3);
    expect(connections).toBeGreaterThan(before);
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-strict-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'suffix: dc=x\nmaster:\n  url: ldap://127.0.0.1:1\nbind:\n  dn: cn=x\nreplication:\n  timeout: 5 minutes\n');
    const c = await runCli(['status'], { config: bad, env });
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/bad\.yaml:7:3: replication\.timeout: must be a duration/);
  });

  it('--json: a usage error is also a JSON document on stdout (kind error)', async () => {
    const r = await runCli(['status', '--json', '--timeout', '3'], { config, env });
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ kind: 'error', formatVersion: 1, exitCode: 2 });
    expect(doc.message).toMatch(/Unknown argument: timeout/);
  });

  it('Ctrl-C at the password prompt ends the process at once: exit 130 with a line', () => {
    const r = spawnSync('python3', [join(import.meta.dirname, '..', 'helpers', 'pty-run.py'), 'Password for', '\\x03', '15', '--',
      process.execPath, BIN, 'status', '--config', config], { encoding: 'utf8', env: { ...process.env, LDAP_UPGRADE_PASSWORD: '', LDAP_UPGRADE_CONFIG: '' } });
    expect(r.stdout).toMatch(/cancelled at the password prompt/);
    expect(r.stdout).toMatch(/exit=130\s*$/);
  });
});

describe('help and README agree', () => {
  const help = (args: string[]) => spawnSync(process.execPath, [BIN, ...args, '--help'], { encoding: 'utf8' }).stdout;
  const usage = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8').split('## Usage')[1]!.split('```')[1]!;
  const lines = usage.split('\n').filter((l) => /^ldap-upgrade \w+/.test(l));
  const byCommand = new Map<string, string>();
  let last = '';
  for (const l of usage.split('\n')) {
    const m = /^ldap-upgrade (\w+)/.exec(l);
    if (m) last = m[1]!;
    if (last) byCommand.set(last, (byCommand.get(last) ?? '') + l);
  }

  it('every command of the README usage exists, with every flag the README gives it; each help lists its own options first and the exit codes', () => {
    expect(lines.length).toBeGreaterThanOrEqual(10);
    for (const [command, text] of byCommand) {
      const h = help([command]);
      expect(h, command).toContain(`ldap-upgrade ${command}`);
      for (const flag of text.match(/--[a-z-]+/g) ?? []) expect(h, `${command} ${flag}`).toContain(flag);
      if (command === 'sandbox' || command === 'new') continue;
      expect(h.indexOf('Options:'), command).toBeLessThan(h.indexOf('Configuration, passwords, output:'));
      expect(h, command).toMatch(/Exit codes:\n +0 +done, or nothing to do/);
    }
    // Positionals as the README names them.
    expect(help(['new'])).toMatch(/ldap-upgrade new <release> <name>/);
    expect(byCommand.get('new')).toContain('<release> <name>');
  });
});
