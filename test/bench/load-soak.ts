/**
 * `npm run soak:load` (issue #17; not part of the tests, which run a short version of it): real
 * `ldap-upgrade upgrade --yes` runs on a fresh sandbox (KIND: 389ds or openldap, NODES: 3) while
 * a client writes on every replica (an add and a modify every ~20 ms, as applications do), from
 * 1.5 s before each run until 2 s after it. ROUNDS (20) rounds, each with a new version of a few
 * LDIF and code scripts, one of which takes WAIT_MS (6000) ms. Per round it prints: the exit
 * code, the run's time, how long the replicas took to converge after the last script, the client
 * writes accepted / refused while frozen, accepted writes missing from any node at the end, and
 * whether replication is healthy after (every RUV / contextCSN set agrees, no agreement in error,
 * no "duplicate replica ID" in any 389 DS error log).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, type SandboxCluster } from '../../src/sandbox/index.js';
import { adapterFor } from '../../src/servers/detect.js';
import { ClientWriter, missingWrites, prepareLoad } from '../helpers/client-load.js';
import { openAs } from '../helpers/ldap.js';
import { writeLoadScripts } from '../helpers/load-scripts.js';

const kind = (process.env.KIND ?? '389ds') as '389ds' | 'openldap';
const rounds = Number(process.env.ROUNDS ?? 20);
const waitMs = Number(process.env.WAIT_MS ?? 6000);
const BIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

const c = await startCluster({ kind, nodes: Number(process.env.NODES ?? 3), dir: mkdtempSync(join(tmpdir(), 'load-soak-')) });
const scriptsDir = mkdtempSync(join(tmpdir(), 'load-scripts-'));
const replicas = c.nodes.slice(1);
const tags = replicas.map((n) => `n${n.id}`);
await prepareLoad(c, tags);
const adapter = adapterFor(kind);
let failures = 0;
const seenLog = new Map<string, number>();
const lines: string[] = [];

for (let round = 1; round <= rounds; round++) {
  writeLoadScripts(scriptsDir, round, waitMs);
  const writers = replicas.map((n, i) => new ClientWriter(c, n.url, `${tags[i]}r${round}`));
  for (const w of writers) w.start();
  await sleep(1500);
  const run = await runUpgrade(c, scriptsDir);
  await sleep(2000);
  for (const w of writers) await w.stop();

  // Frozen window per replica: from its "freeze ok" line to the start of the unfreeze phase.
  const frozenFrom = new Map<string, number>();
  for (const l of run.lines) if (/: freeze ok:/.test(l.text)) frozenFrom.set(l.text.split(': freeze ok')[0]!, l.at);
  const unfreezeAt = run.lines.find((l) => l.text === 'unfreeze the replicas')?.at ?? run.endedAt;
  const lastScriptAt = run.lines.filter((l) => /: Success, \d+ entr/.test(l.text)).at(-1)?.at;
  let inWindowAccepted = 0;
  let inWindowRefused = 0;
  for (const w of writers) {
    const from = frozenFrom.get(w.url);
    if (from === undefined) continue;
    for (const x of w.writes) {
      if (x.sentAt < from || x.answeredAt > unfreezeAt) continue;
      if (x.code === 0) inWindowAccepted++; else inWindowRefused++;
    }
  }
  const accepted = writers.reduce((s, w) => s + w.writes.filter((x) => x.code === 0).length, 0);
  const health = await healthAfter(c, adapter);
  const missing = await missingWritesEventually(c, writers);
  const converge = lastScriptAt ? (unfreezeAt - lastScriptAt) / 1000 : NaN;
  const ok = run.code === 0 && inWindowAccepted === 0 && missing.length === 0 && health.ok;
  if (!ok) failures++;
  const line = `round ${round}: exit ${run.code}, ${(run.ms / 1000).toFixed(1)} s, converged ${converge.toFixed(1)} s after the last script, frozen window: ${inWindowAccepted} accepted / ${inWindowRefused} refused, ${accepted} client writes accepted in all, missing ${missing.length}, replication ${health.ok ? 'healthy' : `UNHEALTHY (${health.why})`}${ok ? '' : `  <-- ${run.tail}`}`;
  console.log(line);
  lines.push(line);
  for (const m of missing.slice(0, 5)) console.log(`  ${m}`);
}
console.log(`${kind}: ${failures} failed round(s) of ${rounds}`);
await c.stop();
process.exit(failures ? 1 : 0);

async function runUpgrade(cluster: SandboxCluster, scripts: string) {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, 'upgrade', '--yes', '--scripts', scripts], {
    env: { ...process.env, LDAP_UPGRADE_CONFIG: cluster.configFile }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: { at: number; text: string }[] = [];
  let buf = '';
  const take = (d: Buffer) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      out.push({ at: Date.now(), text: buf.slice(0, i).replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, '') });
      buf = buf.slice(i + 1);
    }
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, lines: out, ms: Date.now() - started, endedAt: Date.now(), tail: out.slice(-3).map((l) => l.text).join(' / ') };
}

/** Accepted writes made just before the end may still be on their way: allow replication 15 s. */
async function missingWritesEventually(cluster: SandboxCluster, writers: ClientWriter[]): Promise<string[]> {
  let missing: string[] = [];
  for (let i = 0; i < 30; i++) {
    missing = await missingWrites(cluster, writers);
    if (missing.length === 0) break;
    await sleep(500);
  }
  return missing;
}

async function healthAfter(cluster: SandboxCluster, adapter: ReturnType<typeof adapterFor>): Promise<{ ok: boolean; why: string }> {
  let why = '';
  for (let i = 0; i < 30; i++) {
    const states = await Promise.all(cluster.nodes.map(async (n) => { const d = await openAs(cluster, n.url, 'data'); try { return await adapter.readReplicationState(d, cluster.suffix); } finally { await d.close(); } }));
    const problems = adapter.replicationProblems ? (await Promise.all(cluster.nodes.map(async (n) => { const d = await openAs(cluster, n.url, 'config'); try { return await adapter.replicationProblems!(d, cluster.suffix); } finally { await d.close(); } }))).flat() : [];
    const agree = states.every((a) => states.every((b) => adapter.compare(a, b).caughtUp));
    const dup = duplicateIdLines(cluster);
    why = [agree ? '' : 'replication states differ', ...problems, ...dup].filter(Boolean).join('; ');
    if (!why) return { ok: true, why };
    if (dup.length) break;
    await sleep(500);
  }
  return { ok: false, why };
}

/** New "same Replica ID" lines in each 389 DS error log since the last look. */
function duplicateIdLines(cluster: SandboxCluster): string[] {
  if (cluster.kind !== '389ds') return [];
  const out: string[] = [];
  for (const n of cluster.nodes) {
    const file = `/var/log/dirsrv/slapd-${n.instance}/errors`;
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const from = seenLog.get(file) ?? 0;
    seenLog.set(file, text.length);
    const hits = text.slice(from).split('\n').filter((l) => /same Replica ID|duplicate replica ID/i.test(l));
    if (hits.length) out.push(`${n.url}: ${hits.length} "same Replica ID" log line(s)`);
  }
  return out;
}

