import { execFile } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UsageError } from '../../errors.js';
import { isAlive, spawnDetached, stopProcess, waitForPort } from '../processes.js';

const run = promisify(execFile);

/**
 * lib389's tools believe systemd runs the servers (defaults.inf says with_systemd = 1) and then
 * fail or lie without it (docs/replication.md "Server facts"). Run them from the system Python with that turned off.
 */
const LIB389_WRAPPER = `
import sys, runpy
import lib389.paths
lib389.paths.Paths.with_systemd = property(lambda self: False)
tool = sys.argv[1]
sys.argv = [tool] + sys.argv[2:]
runpy.run_path('/usr/sbin/' + tool, run_name='__main__')
`;

const PYTHON = '/usr/bin/python3';
const NS_SLAPD = process.env.LDAP_UPGRADE_NS_SLAPD ?? '/usr/sbin/ns-slapd';

export function checkDirsrvInstalled(): void {
  for (const path of [NS_SLAPD, '/usr/sbin/dscreate', PYTHON]) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      throw new UsageError(`389 Directory Server not found (${path} is missing): install it with \`apt-get install 389-ds-base python3-lib389\` (Debian/Ubuntu)`);
    }
  }
}

export const paths = (instance: string) => ({
  config: `/etc/dirsrv/slapd-${instance}`,
  data: `/var/lib/dirsrv/slapd-${instance}`,
  logs: `/var/log/dirsrv/slapd-${instance}`,
  pid: `/run/dirsrv/slapd-${instance}.pid`,
  lock: `/run/lock/dirsrv/slapd-${instance}`,
  stats: `/run/dirsrv/slapd-${instance}.stats`,
});

/** Creates a stopped instance with `dscreate from-file` (the root password goes in the .inf file, mode 600). */
export async function createInstance(options: { instance: string; port: number; suffix: string; rootPassword: string; workDir: string }): Promise<void> {
  const inf = join(options.workDir, `${options.instance}.inf`);
  writeFileSync(inf, `[general]
config_version = 2
full_machine_name = localhost
start = False
selinux = False
systemd = False
strict_host_checking = False

[slapd]
instance_name = ${options.instance}
port = ${options.port}
secure_port = ${options.port + 10000 > 65535 ? options.port - 1 : options.port + 10000}
self_sign_cert = False
root_password = ${options.rootPassword}

[backend-userroot]
suffix = ${options.suffix}
sample_entries = no
create_suffix_entry = no
`, { mode: 0o600 });
  try {
    await run(PYTHON, ['-c', LIB389_WRAPPER, 'dscreate', 'from-file', inf], { timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    const detail = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-2).join(' | ') || e.message;
    throw new Error(`dscreate failed for instance ${options.instance}: ${detail}`);
  } finally {
    rmSync(inf, { force: true });
  }
  tuneDse(paths(options.instance).config);
}

/**
 * Loopback only, small caches (else ~6 GB planned per instance). Transactions stay durable: a
 * node killed in a test must come back with its database and changelog in step.
 */
function tuneDse(configDir: string): void {
  const file = join(configDir, 'dse.ldif');
  let text = readFileSync(file, 'utf8');
  text = setAttribute(text, 'cn=config', 'nsslapd-listenhost', '127.0.0.1');
  text = setAttribute(text, 'cn=bdb,cn=config,cn=ldbm database,cn=plugins,cn=config', 'nsslapd-cache-autosize', '0');
  text = setAttribute(text, 'cn=bdb,cn=config,cn=ldbm database,cn=plugins,cn=config', 'nsslapd-dbcachesize', '8388608');
  text = setAttribute(text, 'cn=userroot,cn=ldbm database,cn=plugins,cn=config', 'nsslapd-cachememsize', '16777216');
  text = setAttribute(text, 'cn=userroot,cn=ldbm database,cn=plugins,cn=config', 'nsslapd-dncachememsize', '4194304');
  writeFileSync(file, text);
}

/** Sets one single-valued attribute of one entry of dse.ldif (replacing it, or adding it after the dn line). */
export function setAttribute(ldif: string, dn: string, attribute: string, value: string): string {
  const blocks = ldif.split(/\n\n/);
  const i = blocks.findIndex((b) => b.split('\n')[0]!.toLowerCase() === `dn: ${dn}`.toLowerCase());
  if (i < 0) throw new Error(`dse.ldif has no entry ${dn}`);
  const lines = blocks[i]!.split('\n');
  const at = lines.findIndex((l) => l.toLowerCase().startsWith(`${attribute.toLowerCase()}:`));
  if (at >= 0) lines[at] = `${attribute}: ${value}`;
  else lines.splice(1, 0, `${attribute}: ${value}`);
  blocks[i] = lines.join('\n');
  return blocks.join('\n\n');
}

/** Starts an instance's ns-slapd (it daemonises); returns its pid once the port answers. */
export async function startInstance(instance: string, port: number, logFile: string): Promise<number> {
  const p = paths(instance);
  // ns-slapd exits 0 and then dies when these are missing (docs/replication.md "Server facts").
  for (const dir of ['/run/dirsrv', p.lock]) {
    mkdirSync(dir, { recursive: true });
    chownToDirsrv(dir);
  }
  chownToDirsrv('/run/lock/dirsrv');
  rmSync(p.pid, { force: true }); // stale pid files stay after a stop
  // ns-slapd daemonises: the process we start exits, the server's pid is in its pid file.
  await spawnDetached(NS_SLAPD, ['-D', p.config, '-i', p.pid], logFile);
  const deadline = Date.now() + 30_000;
  while (!existsSync(p.pid) || readFileSync(p.pid, 'utf8').trim() === '') {
    if (Date.now() > deadline) throw new Error(`ns-slapd for ${instance} wrote no pid file within 30 s (see ${p.logs}/errors)`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = Number(readFileSync(p.pid, 'utf8').trim());
  await waitForPort(port, pid, join(p.logs, 'errors'), 30_000);
  return pid;
}

export async function stopInstance(pid: number, graceMs: number): Promise<void> {
  if (isAlive(pid)) await stopProcess(pid, graceMs);
}

/** Removes everything an instance has on disk. */
export function removeInstance(instance: string): void {
  const p = paths(instance);
  for (const path of [p.config, p.data, p.logs, p.pid, p.lock, p.stats]) rmSync(path, { recursive: true, force: true });
}

function chownToDirsrv(path: string): void {
  try {
    const owner = statSync('/var/lib/dirsrv');
    chownSync(path, owner.uid, owner.gid);
  } catch { /* not root: leave as is */ }
}
