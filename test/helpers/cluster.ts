import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type SandboxCluster } from '../../src/sandbox/index.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'scripts');

/** A fresh sandbox cluster on free ports, with a fixture scripts folder (or the shipped one). */
export async function testCluster(options: { nodes?: number; scripts?: string } = {}): Promise<SandboxCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-test-'));
  const scriptsDir = options.scripts ? join(FIXTURES, options.scripts) : join(import.meta.dirname, '..', '..', 'upgrade-scripts');
  const cluster = await startCluster({ nodes: options.nodes ?? 3, dir, scriptsDir });
  // LMDB survives SIGKILL: tests need not wait for slapd's slow syncrepl shutdown.
  return { ...cluster, stop: (o) => cluster.stop({ graceMs: 300, ...o }) };
}
