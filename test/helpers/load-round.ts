import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { readState, restartNode, type SandboxCluster } from '../../src/sandbox/index.js';
import { BIN } from './cli.js';
import { ClientWriter, missingWrites } from './client-load.js';
import { replicationTrouble } from './health.js';

export interface TimedRun {
  code: number | null;
  /** Every output line (stdout and stderr, timestamps of plain output removed), with when it arrived. */
  lines: { at: number; text: string }[];
  stdout: string;
  ms: number;
  endedAt: number;
}

/**
 * Runs the built CLI with piped output (plain, one line per event) and keeps when each line
 * arrived; `onLine` may act on a line (e.g. kill a server at a given point).
 */
export async function runTimed(cluster: SandboxCluster, args: string[], env: NodeJS.ProcessEnv = {}, onLine?: (text: string) => void): Promise<TimedRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, LDAP_UPGRADE_PASSWORD: undefined, LDAP_UPGRADE_CONFIG: cluster.configFile, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: TimedRun['lines'] = [];
  let stdout = '';
  const reader = () => {
    let buf = '';
    return (d: Buffer) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const text = buf.slice(0, i).replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, '');
        lines.push({ at: Date.now(), text });
        onLine?.(text);
        buf = buf.slice(i + 1);
      }
    };
  };
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stdout.on('data', reader());
  child.stderr.on('data', reader());
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, lines, stdout, ms: Date.now() - started, endedAt: Date.now() };
}

/**
 * Runs `upgrade --yes --scripts <scripts>` and kills the master (SIGKILL) 1 s after the run starts
 * the slow script of writeLoadScripts; once the run has ended, starts the master again.
 */
export async function upgradeKillingMaster(cluster: SandboxCluster, scripts: string): Promise<TimedRun> {
  const master = cluster.nodes[0]!;
  let kill: Promise<void> | undefined;
  const run = await runTimed(cluster, ['upgrade', '--yes', '--scripts', scripts], {}, (line) => {
    if (line.includes('03-slow.mjs ...')) kill = sleep(1000).then(() => { process.kill(master.pid, 'SIGKILL'); });
  });
  if (kill) {
    await kill;
    const state = readState(cluster.dir)!;
    await restartNode(state, master.id);
    master.pid = state.nodes.find((n) => n.id === master.id)!.pid;
  }
  return run;
}

/** What the client writers met during one run, and what holds at the end. */
export interface LoadFindings {
  /** Client writes accepted on a replica between its "freeze ok" and the start of the unfreeze. */
  acceptedWhileFrozen: number;
  refusedWhileFrozen: number;
  accepted: number;
  /** Results other than accepted or refused-as-frozen (10 referral, 53 unwilling), by code. */
  otherCodes: Map<number, number>;
  /** Seconds from the last script's end to the start of the unfreeze (the convergence wait). */
  convergeS: number;
  /** Accepted writes missing from some node at the end (after up to 15 s of replication). */
  missing: string[];
  /** Replication problems at the end ('' when healthy). */
  trouble: string;
}

/** Reads the findings of one run from its timed output and the writers' records, then the servers. */
export async function loadFindings(cluster: SandboxCluster, runs: TimedRun[], writers: ClientWriter[]): Promise<LoadFindings> {
  const lines = runs.flatMap((r) => r.lines);
  // Frozen from a replica's "freeze ok" line to the next start of an unfreeze (or the run's end).
  const windows = new Map<string, [number, number][]>();
  for (const r of runs) {
    const unfreezeAt = r.lines.find((l) => l.text === 'unfreeze the replicas')?.at ?? r.endedAt;
    for (const l of r.lines) {
      const m = /^(\S+): freeze ok:/.exec(l.text);
      if (m) windows.set(m[1]!, [...(windows.get(m[1]!) ?? []), [l.at, unfreezeAt]]);
    }
  }
  const lastScriptAt = lines.filter((l) => /: Success, \d+ entr/.test(l.text)).at(-1)?.at;
  const unfreezeAt = lines.filter((l) => l.text === 'unfreeze the replicas').at(-1)?.at;
  const out: LoadFindings = { acceptedWhileFrozen: 0, refusedWhileFrozen: 0, accepted: 0, otherCodes: new Map(), convergeS: lastScriptAt && unfreezeAt ? (unfreezeAt - lastScriptAt) / 1000 : NaN, missing: [], trouble: '' };
  for (const w of writers) {
    for (const x of w.writes) {
      const frozen = (windows.get(w.url) ?? []).some(([from, to]) => x.sentAt >= from && x.answeredAt <= to);
      if (x.code === 0) out.accepted++;
      if (frozen && x.code === 0) out.acceptedWhileFrozen++;
      else if (x.code === 10 || x.code === 53) out.refusedWhileFrozen += frozen ? 1 : 0;
      else if (x.code !== 0) out.otherCodes.set(x.code, (out.otherCodes.get(x.code) ?? 0) + 1);
    }
  }
  out.trouble = await replicationTrouble(cluster, 15_000);
  for (let i = 0; i < 30; i++) {
    out.missing = await missingWrites(cluster, writers);
    if (out.missing.length === 0) break;
    await sleep(500);
  }
  return out;
}

/** Starts writers on the given nodes, waits `leadMs`, runs `body`, waits `tailMs`, stops them. */
export async function underLoad<T>(cluster: SandboxCluster, urls: string[], round: string, body: () => Promise<T>, leadMs = 1500, tailMs = 2000): Promise<{ result: T; writers: ClientWriter[] }> {
  const writers = urls.map((url) => {
    const tag = `n${cluster.nodes.find((n) => n.url === url)!.id}`;
    return new ClientWriter(cluster, url, tag, `${tag}${round}`);
  });
  for (const w of writers) w.start();
  try {
    await sleep(leadMs);
    const result = await body();
    await sleep(tailMs);
    return { result, writers };
  } finally {
    for (const w of writers) await w.stop();
  }
}

export function describeFindings(f: LoadFindings): string {
  const other = f.otherCodes.size ? ` (other results: ${[...f.otherCodes].map(([k, v]) => `${v}× ${k}`).join(', ')})` : '';
  return `converged ${f.convergeS.toFixed(1)} s after the last script, while frozen: ${f.acceptedWhileFrozen} client writes accepted / ${f.refusedWhileFrozen} refused, ${f.accepted} accepted in all${other}, missing ${f.missing.length}${f.missing.length ? ` (${f.missing.slice(0, 2).join('; ')})` : ''}, replication ${f.trouble ? `UNHEALTHY (${f.trouble})` : 'healthy'}`;
}
