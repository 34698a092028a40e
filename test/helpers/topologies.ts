import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SandboxCluster } from '../../src/sandbox/index.js';
import { findSlapd } from '../../src/sandbox/openldap.js';
import { freePorts, spawnDetached, stopProcess, waitForPort } from '../../src/sandbox/processes.js';
import { slapdConfigLdif } from '../../src/sandbox/slapd-config.js';
import { getValues } from '../../src/ldap/entry.js';
import { withDirectory } from './ldap.js';

const run = promisify(execFile);

/**
 * A `slapcat | slapadd -w` copy of node 1 as a standalone server: the same entries, entryCSNs
 * and contextCSN as its source, and no replication from it at all.
 */
export async function startClone(c: SandboxCluster, name = 'clone'): Promise<{ url: string; stop: () => Promise<void> }> {
  const { slapd, slapadd } = findSlapd();
  const slapcat = join(slapd, '..', 'slapcat');
  const dir = join(c.dir, name);
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'slapd.d'), { recursive: true });
  const { stdout } = await run(slapcat, ['-n1', '-F', join(c.dir, 'node1', 'slapd.d')], { maxBuffer: 64 * 1024 * 1024 });
  writeFileSync(join(dir, 'data.ldif'), stdout);
  writeFileSync(join(dir, 'config.ldif'), slapdConfigLdif({
    id: 9, dir, suffix: c.suffix, rootDn: c.bindDn, rootPassword: c.password, configPassword: c.configPassword, peers: [],
  }), { mode: 0o600 });
  await run(slapadd, ['-n0', '-F', join(dir, 'slapd.d'), '-l', join(dir, 'config.ldif')]);
  await run(slapadd, ['-n1', '-w', '-F', join(dir, 'slapd.d'), '-l', join(dir, 'data.ldif')]);
  const [port] = await freePorts(1);
  const url = `ldap://127.0.0.1:${port}`;
  const log = join(dir, 'slapd.log');
  const pid = await spawnDetached(slapd, ['-h', `${url}/`, '-F', join(dir, 'slapd.d'), '-d', 'none'], log);
  await waitForPort(port!, pid, log);
  return { url, stop: () => stopProcess(pid, 300) };
}

/** Points a node's syncrepl at a port where nothing listens: it stays reachable and stops receiving. */
export async function stopReceiving(c: SandboxCluster, url: string): Promise<void> {
  await withDirectory(c, url, 'config', async (d) => {
    for await (const e of d.search({ base: 'cn=config', scope: 'one', filter: `(olcSuffix=${c.suffix})`, attributes: ['olcSyncrepl'] })) {
      const values = getValues(e, 'olcSyncrepl').map((v) => String(v).replace(/provider=ldap:\/\/127\.0\.0\.1:\d+\//, 'provider=ldap://127.0.0.1:9/'));
      await d.modify(e.dn, [{ operation: 'replace', attribute: 'olcSyncrepl', values }]);
    }
  });
}

export interface VariantOptions {
  master?: string;
  /** A list of URLs (entries may carry ignoreAttributes), 'discover', or undefined (no key). */
  replicas?: (string | { url: string; ignoreAttributes: string[] })[] | 'discover';
  versionEntry: string;
  scripts: string;
  configPasswordFile?: string;
}

/** Writes an ldap-upgrade.yaml for the cluster with other replicas, master or version entry. */
export function configVariant(c: SandboxCluster, name: string, o: VariantOptions): string {
  const replicas = o.replicas === undefined ? [] : o.replicas === 'discover' ? ['replicas: discover'] : [
    'replicas:',
    ...o.replicas.flatMap((r) => typeof r === 'string' ? [`  - url: ${r}`] : [`  - url: ${r.url}`, `    ignoreAttributes: [${r.ignoreAttributes.join(', ')}]`]),
  ];
  const file = join(c.dir, `${name}.yaml`);
  writeFileSync(file, [
    `suffix: ${c.suffix}`,
    'master:', `  url: ${o.master ?? c.nodes[0]!.url}`,
    ...replicas,
    'bind:', `  dn: ${c.bindDn}`, `  passwordFile: ${c.passwordFile}`,
    'configBind:', `  dn: ${c.configDn}`, `  passwordFile: ${o.configPasswordFile ?? c.configPasswordFile}`,
    `versionEntry: ${o.versionEntry}`,
    `scripts: ${o.scripts}`,
    `backupDir: ${join(c.dir, 'backups')}`,
    `logDir: ${join(c.dir, 'logs')}`,
  ].join('\n') + '\n');
  return file;
}
