import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { UpgradeEvent } from '../../src/events.js';
import { getValues, normalizeDn } from '../../src/ldap/entry.js';
import { openTopology, type Topology } from '../../src/replication/topology.js';
import { MemoryCluster } from './memory-directory.js';
import { scriptsTree } from './scripts-tree.js';

export const SUFFIX = 'dc=mem,dc=test';
export const VERSION_ENTRY = `cn=schema-version,${SUFFIX}`;

/** A scripts folder from `{ 'VERSION/NN-name.ldif': text }`. */
export const scriptsFolder = scriptsTree;

/** Two versions: an add, then a modify of every person of department 1 (LDIF). */
export const TWO_VERSIONS = {
  '1.0.0/01-add-ou.ldif': 'dn: ou=apps,${suffix}\nchangetype: add\nobjectClass: organizationalUnit\nou: apps\n',
  '1.1.0/01-title.ldif': 'dn: uid=user1,ou=people,${suffix}\nchangetype: modify\nreplace: title\ntitle: migrated\n-\n\ndn: uid=user3,ou=people,${suffix}\nchangetype: modify\nreplace: title\ntitle: migrated\n-\n',
};

export interface MemoryRun {
  cluster: MemoryCluster;
  topology: Topology;
  events: UpgradeEvent[];
  /** Every state the run record was written with, in order, consecutive repeats folded. */
  states(): string[];
  /** The suffix's entries on one server (the tool's own records left out), for comparing nodes. */
  content(url: string): string[];
  backupDir: string;
}

/** A 3-node memory cluster and a topology over it, as the CLI would open it from a config file. */
export async function memoryRun(scripts: Record<string, string>, options: { timeout?: number } = {}): Promise<MemoryRun> {
  const cluster = new MemoryCluster(SUFFIX, 3);
  const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-memory-'));
  const backupDir = join(dir, 'backups');
  const file = join(dir, 'ldap-upgrade.yaml');
  writeFileSync(file, [
    'server: openldap', `suffix: ${SUFFIX}`, `master:\n  url: ${cluster.master.url}`,
    `replicas:\n${cluster.replicas.map((r) => `  - url: ${r.url}`).join('\n')}`,
    `bind:\n  dn: cn=admin,${SUFFIX}`, 'configBind:\n  dn: cn=config',
    `scripts: ${scriptsFolder(scripts)}`, `backupDir: ${backupDir}`, `logDir: ${join(dir, 'logs')}`,
    `replication:\n  timeout: ${options.timeout ?? 3}\n  pollInterval: 0.02`,
  ].join('\n') + '\n');
  const config = loadConfig(file);
  const events: UpgradeEvent[] = [];
  const states: string[] = [];
  cluster.master.onWrite = (_op, dn, after) => {
    if (!/,cn=runs,/i.test(dn) || !after) return;
    const state = (JSON.parse(String(getValues(after, 'description')[0])) as { state: string }).state;
    if (states[states.length - 1] !== state) states.push(state);
  };
  const topology = await openTopology(config, { bindPassword: 'secret', configPassword: 'secret' }, (e) => events.push(e), cluster.connector);
  return {
    cluster, topology, events, backupDir,
    states: () => states,
    content: (url) => [...cluster.server(url).entries.values()]
      .filter((e) => normalizeDn(e.dn).endsWith(normalizeDn(SUFFIX)) && !normalizeDn(e.dn).endsWith(normalizeDn(VERSION_ENTRY)))
      .map((e) => `${normalizeDn(e.dn)} ${JSON.stringify(Object.entries(e.attributes).filter(([k]) => k.toLowerCase() !== 'contextcsn').sort())}`)
      .sort(),
  };
}
