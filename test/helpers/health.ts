import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SandboxCluster } from '../../src/sandbox/index.js';
import { adapterFor } from '../../src/servers/detect.js';
import { openAs } from './ldap.js';

const logOffsets = new Map<string, number>();

/**
 * New "same Replica ID" lines in each 389 DS node's error log since the last call (the state 389
 * DS calls "requires administrator action"); none on OpenLDAP.
 */
export function duplicateIdLines(cluster: SandboxCluster): string[] {
  if (cluster.kind !== '389ds') return [];
  const out: string[] = [];
  for (const n of cluster.nodes) {
    const file = `/var/log/dirsrv/slapd-${n.instance}/errors`;
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const from = logOffsets.get(file) ?? 0;
    logOffsets.set(file, text.length);
    const hits = text.slice(from).split('\n').filter((l) => /same Replica ID|duplicate replica ID/i.test(l));
    if (hits.length) out.push(`${n.url}: ${hits.length} "same Replica ID" line(s) in its error log, e.g. ${hits[0]!.trim()}`);
  }
  return out;
}

/**
 * Waits (at most `timeoutMs`) until replication is healthy: every node's replication state holds
 * every other's (RUV / contextCSN), no agreement reports an error, and no 389 DS node logged
 * "same Replica ID" since the last call. Returns what is wrong at the end ('' when healthy).
 */
export async function replicationTrouble(cluster: SandboxCluster, timeoutMs = 15_000): Promise<string> {
  const adapter = adapterFor(cluster.kind === '389ds' ? '389ds' : 'openldap');
  const deadline = Date.now() + timeoutMs;
  const duplicates: string[] = [];
  for (;;) {
    duplicates.push(...duplicateIdLines(cluster));
    const states = await Promise.all(cluster.nodes.map(async (n) => {
      const d = await openAs(cluster, n.url, 'data');
      try { return await adapter.readReplicationState(d, cluster.suffix); } finally { await d.close(); }
    }));
    const problems = adapter.replicationProblems ? (await Promise.all(cluster.nodes.map(async (n) => {
      const d = await openAs(cluster, n.url, 'config');
      try { return await adapter.replicationProblems!(d, cluster.suffix); } finally { await d.close(); }
    }))).flat() : [];
    const disagree = cluster.nodes.filter((_, i) => !states.every((other) => adapter.compare(other, states[i]!).caughtUp)).map((n) => `${n.url} lacks changes another node has`);
    const trouble = [...duplicates, ...problems, ...disagree].join('; ');
    if (!trouble || duplicates.length || Date.now() > deadline) return trouble;
    await sleep(250);
  }
}
