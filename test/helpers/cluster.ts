import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { sampleTree } from '../../src/sandbox/sample-tree.js';
import { readState, restartNode, startCluster, type SandboxCluster, type SandboxKind } from '../../src/sandbox/index.js';
import { stopProcess } from '../../src/sandbox/processes.js';
import type { NodeControl } from '../containers/cluster.js';
import { isFrozen, setFrozen } from './kinds.js';
import { settledDumps, withDirectory } from './ldap.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'scripts');

/** `--scripts <fixture folder>` for a CLI call. */
export const scripts = (name: string) => ['--scripts', join(FIXTURES, name)];

/** A fresh sandbox cluster on free ports, with a fixture scripts folder (or the shipped one). */
export async function testCluster(options: { nodes?: number; scripts?: string; kind?: SandboxKind } = {}): Promise<SandboxCluster & NodeControl> {
  const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-test-'));
  const scriptsDir = options.scripts ? join(FIXTURES, options.scripts) : join(import.meta.dirname, '..', '..', 'upgrade-scripts');
  const cluster = await startCluster({ nodes: options.nodes ?? 3, dir, scriptsDir, kind: options.kind });
  // LMDB survives SIGKILL: tests need not wait for slapd's slow syncrepl shutdown.
  const node = (id: number) => cluster.nodes.find((n) => n.id === id)!;
  return {
    ...cluster,
    stop: (o) => cluster.stop({ graceMs: cluster.kind === 'openldap' ? 300 : 5_000, ...o }),
    stopNode: (id) => stopProcess(node(id).pid, 15_000),
    async startNode(id) {
      const state = readState(cluster.dir)!;
      await restartNode(state, id);
      node(id).pid = state.nodes.find((n) => n.id === id)!.pid;
    },
  };
}

/** A cluster a test file shares: a process sandbox or one in containers. */
export type TestCluster = SandboxCluster & NodeControl;

/**
 * One cluster for a whole test file (389 DS instances take half a minute to make), with the data
 * put back to the sample tree before each test: every replica writable, everything under the
 * suffix deleted on the master and the sample entries added again, until all nodes agree.
 */
export function sharedCluster(kind: SandboxKind | (() => Promise<TestCluster>)): () => TestCluster {
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    cluster = typeof kind === 'function' ? await kind() : await testCluster({ kind });
  }, 240_000);
  afterAll(async () => {
    // Keep 389 DS error logs for diagnosis (the instances and their logs go with the cluster).
    if (cluster?.kind === '389ds' && process.env.LDAP_UPGRADE_KEEP_LOGS) {
      const { cpSync } = await import('node:fs');
      for (const n of cluster.nodes) {
        try {
          cpSync(`/var/log/dirsrv/slapd-${n.instance}/errors`, join(process.env.LDAP_UPGRADE_KEEP_LOGS, `${n.instance}-${n.port}.errors`));
        } catch {
          // A node that never wrote its log: the cluster is removed all the same.
        }
      }
    }
    await cluster?.stop();
  });
  beforeEach(async () => resetCluster(cluster!), 120_000);
  return () => cluster!;
}

export async function resetCluster(c: SandboxCluster): Promise<void> {
  for (const n of c.nodes) if (await isFrozen(c, n.url)) await setFrozen(c, n.url, false);
  // Quiet first: deletes racing a node that is still catching up (after a restart) can come back
  // through its refresh, as multi-provider replication allows.
  await settledDumps(c, {}, 60_000);
  await withDirectory(c, c.nodes[0]!.url, 'data', async (d) => {
    const dns: string[] = [];
    for await (const e of d.search({ base: c.suffix, attributes: ['1.1'] })) if (e.dn.toLowerCase() !== c.suffix.toLowerCase()) dns.push(e.dn);
    const depth = (dn: string) => dn.split(/(?<!\\),/).length;
    dns.sort((a, b) => depth(b) - depth(a));
    for (const dn of dns) await d.delete(dn);
    for (const e of sampleTree(c.suffix).slice(1)) await d.add(e.dn, e.attributes);
  });
  await settledDumps(c, {}, 60_000);
}
