import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type SandboxCluster } from '../../src/sandbox/index.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/cluster.js';
import { eventually, readAttr } from '../helpers/ldap.js';
import { handshake } from '../helpers/handshake.js';
import { configVariant } from '../helpers/topologies.js';

const APP = join(import.meta.dirname, '..', 'fixtures', 'embed', 'app-start.mjs');

/** Runs the embedding program (it imports 'ldap-upgrade', the package's own export: dist/index.js). */
function startApp(config: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [APP, config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ code, out: JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown> });
      } catch {
        reject(new Error(`app-start printed no result (exit ${code}): ${stdout}${stderr}`));
      }
    });
  });
}

describe('the programmatic API on OpenLDAP: an application that upgrades its directory at start-up', () => {
  let c: SandboxCluster;
  let url: (i: number) => string;

  beforeAll(async () => {
    c = await startCluster({ nodes: 3, dir: mkdtempSync(join(tmpdir(), 'ldap-upgrade-api-')), scriptsDir: join(FIXTURES, 'basic') });
    url = (i) => c.nodes[i]!.url;
  });
  afterAll(async () => c?.stop({ graceMs: 300 }));

  it('before any run: status() returns the document `status --json` prints; dryRun() the plan, writing nothing', async () => {
    const v = `cn=v-embed-status,${c.suffix}`;
    const config = configVariant(c, 'embed-status', { versionEntry: v, scripts: join(FIXTURES, 'basic'), replicas: [url(1), url(2)] });
    const { status, dryRun } = await import('../../src/index.js');
    const api = await status({ config });
    const cli = JSON.parse((await runCli(['status', '--json', '--config', config])).stdout) as Record<string, unknown>;
    expect(api.kind).toBe('status');
    expect({ upToDate: api.upToDate, target: api.targetVersion, pending: api.pending, replicas: api.replicas.map((r) => r.url) })
      .toEqual({ upToDate: cli.upToDate, target: cli.targetVersion, pending: cli.pending, replicas: (cli.replicas as { url: string }[]).map((r) => r.url) });
    const changes: string[] = [];
    const plan = await dryRun({ config, onChange: (script, change) => changes.push(`${script} ${change.kind} ${change.dn}`) });
    expect(plan.steps.map((s) => s.status)).toEqual(['Planned', 'Planned', 'Planned']);
    expect(changes[0], JSON.stringify(plan.steps)).toBe(`1.0.0/01-add-ou.ldif add ou=fixture,${c.suffix}`);
    expect(await readAttr(c, url(0), v, 'cn')).toBeNull();
  });

  it('three instances start at once: one runs the upgrade, the others wait on the lock and find nothing to do; each script applied once', async () => {
    const v = `cn=v-embed,${c.suffix}`;
    const config = configVariant(c, 'embed', { versionEntry: v, scripts: join(FIXTURES, 'slow'), replicas: [url(1), url(2)] });
    // The winner is held half-way through its scripts until both others have found the lock held.
    const hs = handshake();
    const waiting = join(c.dir, 'embed-waiting');
    const env = { ...hs.env, APP_WAITING_FILE: waiting };
    const runs = [startApp(config, env), startApp(config, env), startApp(config, env)];
    await hs.reached();
    await eventually(async () => readdirSync(c.dir).filter((f) => f.startsWith('embed-waiting.')).length === 2, 30_000);
    hs.go();
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, JSON.stringify(r.out)).toBe(0);
    expect(results.map((r) => r.out.outcome).sort()).toEqual(['done', 'nothing-to-do', 'nothing-to-do']);
    const winner = results.find((r) => r.out.outcome === 'done')!;
    expect(winner.out.waited).toBe(0);
    for (const r of results.filter((x) => x !== winner)) expect(r.out.waited as number).toBeGreaterThan(0);
    expect(winner.out.events).toMatchObject({ phase: expect.any(Number), 'script-start': 3, 'script-end': 3 });
    for (const r of results) expect(r.out).toMatchObject({ upToDate: true, version: '1.2.0' });
    // Each script once in the history, the version on every node.
    const history = await runCli(['history', '--json', '--config', config]);
    const applied = (JSON.parse(history.stdout) as { history: { script: string }[] }).history.map((h) => h.script).sort();
    expect(applied).toEqual(['1.0.0/01-add-ou.ldif', '1.1.0/01-wait.ts', '1.2.0/01-after.ldif']);
    for (let i = 0; i < 3; i++) expect(await readAttr(c, url(i), v, 'description')).toEqual(['1.2.0']);
  });

  it('dryRun({ savePlan }) → upgrade({ plan }) → undo({ runId }): the reviewed plan runs, and is taken back', async () => {
    const v = `cn=v-embed-plan,${c.suffix}`;
    const config = configVariant(c, 'embed-plan', { versionEntry: v, scripts: join(FIXTURES, 'basic'), replicas: [url(1), url(2)] });
    const { dryRun, upgrade, undo } = await import('../../src/index.js');
    const file = join(c.dir, 'embed-plan.jsonl');
    const planned = await dryRun({ config, savePlan: file });
    expect(planned.savedPlan).toMatchObject({ file, digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    const run = await upgrade({ config, plan: file });
    expect(run).toMatchObject({ outcome: 'done', plan: { file, digest: planned.savedPlan!.digest } });
    expect(await readAttr(c, url(0), v, 'description')).toEqual(['1.1.0']);
    const team = `cn=team03,ou=groups,${c.suffix}`;
    expect(await readAttr(c, url(0), team, 'description')).toContain('upgraded to 1.1.0');
    const back = await undo({ config, runId: run.runId! });
    expect(back).toMatchObject({ kind: 'undo', outcome: 'done', undo: { runId: run.runId, version: null } });
    for (let i = 0; i < 3; i++) await eventually(async () => !(await readAttr(c, url(i), team, 'description'))!.includes('upgraded to 1.1.0'), 20_000);
    expect(await readAttr(c, url(0), v, 'description')).toEqual([]);
  });
});
