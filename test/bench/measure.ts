import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Directory } from '../../src/ldap/directory.js';
import { adapterFor } from '../../src/servers/detect.js';
import type { SandboxCluster } from '../../src/sandbox/index.js';
import { waitUntilNodesAgree } from '../../src/sandbox/convergence.js';

export { clientPasswordFile } from '../helpers/ldap.js';

export const BIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** Peak resident set size, MB (from /usr/bin/time). */
  peakRssMb?: number;
  /** With `stdout: { count }`: how often the text occurred in the output (which is not kept). */
  counted?: number;
}

/** Runs a command to its end; wall time from spawn to exit. With `rss`, under `/usr/bin/time -f %M`. */
export function timed(command: string, args: string[], options: { rss?: boolean; env?: NodeJS.ProcessEnv; stdout?: 'capture' | 'discard' | { count: string } } = {}): Promise<Timed> {
  const [cmd, argv] = options.rss ? ['/usr/bin/time', ['-f', 'peak-rss-kb=%M', command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd as string, argv as string[], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', options.stdout === 'discard' ? 'ignore' : 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let counted = 0;
    const count = typeof options.stdout === 'object' ? options.stdout.count : undefined;
    // Counting: the output is read as it comes and not kept (a million-entry dry run's LDIF).
    let tail = '';
    child.stdout?.on('data', (d) => {
      if (count === undefined) { stdout += d; return; }
      const text = tail + String(d);
      for (let i = text.indexOf(count); i >= 0; i = text.indexOf(count, i + count.length)) counted++;
      tail = text.slice(Math.max(0, text.length - count.length + 1));
    });
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      const rss = /peak-rss-kb=(\d+)/.exec(stderr);
      resolve({ ms, code, stdout, stderr, peakRssMb: rss ? Number(rss[1]) / 1024 : undefined, ...(count !== undefined ? { counted } : {}) });
    });
  });
}

/** Fails the benchmark with the command's own words. */
export function ok(what: string, r: Timed): Timed {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr.slice(-2000)}`);
  return r;
}

export function ldapArgs(cluster: SandboxCluster, passwordFile: string): string[] {
  return ['-x', '-H', cluster.nodes[0]!.url, '-D', cluster.bindDn, '-y', passwordFile];
}

export async function settle(cluster: SandboxCluster): Promise<void> {
  const dirs = await Promise.all(cluster.nodes.map((n) => Directory.open({ url: n.url, tls: { startTLS: false, insecure: false } })));
  try {
    await waitUntilNodesAgree(dirs, cluster.suffix, adapterFor(cluster.kind), { timeoutMs: 300_000, expectChanges: true });
  } finally {
    await Promise.all(dirs.map((d) => d.close()));
  }
}

/**
 * An independent observer of replication: polls every node's replication state as fast as the
 * server answers (one base read at a time per node) and keeps, per replica, when each state was
 * first seen. Afterwards, `arrival(url, target)` is when that replica first held `target`.
 */
export class TightPoller {
  private running = true;
  private readonly seen = new Map<string, { at: number; state: Map<string, string> }[]>();
  private loops: Promise<void>[] = [];

  constructor(private readonly cluster: SandboxCluster) {}

  async start(): Promise<void> {
    const adapter = adapterFor(this.cluster.kind);
    const conns = await Promise.all(this.cluster.nodes.map((n) => Directory.open({ url: n.url, tls: { startTLS: false, insecure: false } })));
    this.loops = this.cluster.nodes.map(async (node, i) => {
      const log: { at: number; state: Map<string, string> }[] = [];
      this.seen.set(node.url, log);
      let last = '';
      while (this.running) {
        const state = await adapter.readReplicationState(conns[i]!, this.cluster.suffix);
        const at = Date.now();
        const key = JSON.stringify([...state]);
        if (key !== last) log.push({ at, state });
        last = key;
        await new Promise((r) => setTimeout(r, 2));
      }
      await conns[i]!.close();
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** The master's states, in order of first sight. */
  masterStates(): { at: number; state: Map<string, string> }[] {
    return this.seen.get(this.cluster.nodes[0]!.url) ?? [];
  }

  /** When `url` first held `target` (caught up for every server id of it), or undefined. */
  arrival(url: string, target: Map<string, string>): number | undefined {
    const adapter = adapterFor(this.cluster.kind);
    return this.seen.get(url)?.find((s) => adapter.compare(target, s.state).caughtUp)?.at;
  }
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
