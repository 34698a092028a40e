/**
 * `npm run bench` (issue #6): on a fresh 3-node OpenLDAP sandbox, measures side by side
 *  - applying a script that modifies N entries with `ldap-upgrade upgrade` vs the same
 *    changes from one `ldapmodify -f` and from four in parallel on quarters (the server's ceiling);
 *  - how long after the last replica really has the last change the tool reports convergence;
 *  - a dry run over DRY entries (peak RSS, time) vs a paged `ldapsearch` of the same entries;
 *  - the cold start of `ldap-upgrade --help`.
 * Then MILLION entries on 2 nodes: the dry run, and the real run (peak RSS, time); that part alone
 * with BENCH_ONLY_MILLION=1. Then a bulk import as one streamed LDIF script (ldif-stream.ts);
 * that part alone with BENCH_ONLY_LDIF=1.
 * Prints a table and one JSON line. Sizes: BENCH_ENTRIES (20000), BENCH_DRY_RUN_ENTRIES (100000),
 * BENCH_ROUNDS (3), BENCH_CONVERGENCE_ROUNDS (3).
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { attach } from '../../src/sandbox/cluster.js';
import { readState, restartNode, startCluster, type SandboxCluster } from '../../src/sandbox/index.js';
import { findSlapd } from '../../src/sandbox/openldap.js';
import { stopProcess } from '../../src/sandbox/processes.js';
import { BIN, clientPasswordFile, ldapArgs, median, ok, settle, timed, TightPoller } from './measure.js';
import { ldifStreamRows, ldifStreamRuns } from './ldif-stream.js';

const N = Number(process.env.BENCH_ENTRIES ?? 20_000);
const DRY = Math.max(N, Number(process.env.BENCH_DRY_RUN_ENTRIES ?? 100_000));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONVERGENCE_ROUNDS = Number(process.env.BENCH_CONVERGENCE_ROUNDS ?? 3);
const MILLION = Number(process.env.BENCH_MILLION ?? 1_000_000);

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

function benchEntries(suffix: string, from: number, to: number): string {
  const out: string[] = [];
  for (let i = from; i <= to; i++) {
    const uid = `b${String(i).padStart(7, '0')}`;
    out.push(`dn: uid=${uid},ou=bench,${suffix}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: Bench ${i}\nsn: ${i}\ndescription: loaded\n`);
  }
  return out.join('\n');
}

/** The same change to entries [from, to] as LDIF modify records. */
function modifyLdif(suffix: string, from: number, to: number, value: string): string {
  const out: string[] = [];
  for (let i = from; i <= to; i++) {
    out.push(`dn: uid=b${String(i).padStart(7, '0')},ou=bench,${suffix}\nchangetype: modify\nreplace: description\ndescription: ${value}\n-\n`);
  }
  return out.join('\n');
}

/**
 * A code script, as users write them: page through the entries, change one attribute of each.
 * Two forms: the search asks for the attribute it then writes (`written`), or — the common form —
 * for a key only (`common`: `attributes: ['uid']`), so that the written attribute's old value is
 * not among what the script read.
 */
type Form = 'written' | 'common';
const script = (form: Form) => `import { defineScript } from 'ldap-upgrade';

export default defineScript({
  description: 'bench: rewrite the description of every bench entry',
  async up(ctx) {
    const base = 'ou=bench,' + ctx.suffix;
    for await (const entry of ctx.search({ base, scope: 'one', filter: '(objectClass=inetOrgPerson)', attributes: [${form === 'written' ? "'description'" : "'uid'"}] })) {
      await ctx.modify(entry.dn, [{ operation: 'replace', attribute: 'description', values: ['tool ' + ctx.toVersion] }]);
    }
  },
});
`;

class Bench {
  private version = 0;
  readonly scripts: string;
  private readonly pw: string;

  constructor(readonly cluster: SandboxCluster, readonly dir: string) {
    this.scripts = join(dir, 'scripts');
    this.pw = clientPasswordFile(cluster);
  }

  nextVersion(form: Form = 'common'): string {
    const version = `${++this.version}.0.0`;
    mkdirSync(join(this.scripts, version), { recursive: true });
    writeFileSync(join(this.scripts, version, '01-rewrite-descriptions.ts'), script(form));
    return version;
  }

  async load(from: number, to: number): Promise<void> {
    const file = join(this.dir, `load-${from}.ldif`);
    const head = from === 1 ? `dn: ou=bench,${this.cluster.suffix}\nobjectClass: organizationalUnit\nou: bench\n\n` : '';
    writeFileSync(file, head + benchEntries(this.cluster.suffix, from, to));
    ok('ldapadd', await timed('ldapadd', [...ldapArgs(this.cluster, this.pw), '-f', file]));
    await settle(this.cluster);
  }

  cli(args: string[], options: Parameters<typeof timed>[2] = {}) {
    return timed(process.execPath, [BIN, ...args, '--config', this.cluster.configFile, '--scripts', this.scripts], options);
  }

  /** `ldapmodify -f` of the same changes, then the wait until every node has them: what a user would do by hand. */
  async ldapmodifyAndWait(value: string): Promise<number> {
    const file = join(this.dir, 'mod-e2e.ldif');
    writeFileSync(file, modifyLdif(this.cluster.suffix, 1, N, value));
    const started = performance.now();
    ok('ldapmodify', await timed('ldapmodify', [...ldapArgs(this.cluster, this.pw), '-f', file], { stdout: 'discard' }));
    await settle(this.cluster);
    return performance.now() - started;
  }

  async ldapmodify(processes: number, value: string): Promise<number> {
    const per = Math.ceil(N / processes);
    const files = Array.from({ length: processes }, (_, p) => {
      const file = join(this.dir, `mod-${processes}-${p}.ldif`);
      writeFileSync(file, modifyLdif(this.cluster.suffix, p * per + 1, Math.min(N, (p + 1) * per), value));
      return file;
    });
    const started = performance.now();
    const runs = await Promise.all(files.map((f) => timed('ldapmodify', [...ldapArgs(this.cluster, this.pw), '-f', f], { stdout: 'discard' })));
    runs.forEach((r) => ok('ldapmodify', r));
    const ms = performance.now() - started;
    await settle(this.cluster);
    return ms;
  }

  /**
   * One upgrade of all N entries; the apply time is the script's own duration in the report, the
   * end-to-end time from the process's start to its exit (freeze, journal, verified convergence).
   */
  async upgrade(form: Form, logDir?: string): Promise<{ applyMs: number; totalMs: number; convergeMs: number; processMs: number }> {
    this.nextVersion(form);
    const r = ok('upgrade', await this.cli(['upgrade', '--yes', '--json', ...(logDir ? ['--log-dir', logDir] : [])]));
    const report = JSON.parse(r.stdout) as { steps: { durationMs: number; entriesChanged: number }[]; totalMs: number; convergeMs: number };
    const step = report.steps[0]!;
    if (step.entriesChanged !== N) throw new Error(`the bench script changed ${step.entriesChanged} entries, not ${N}`);
    await settle(this.cluster);
    return { applyMs: step.durationMs, totalMs: report.totalMs, convergeMs: report.convergeMs, processMs: r.ms };
  }
}

/**
 * MILLION entries on a 2-node sandbox whose databases are loaded offline (`slapadd -q -w` on
 * node 1, then its `slapcat` of them into node 2: the way a replica is initialised), then
 *  - the rewrite's dry run against a paged `ldapsearch` of the same entries (as the issue measured it);
 *  - the rewrite for real, end to end (freeze, journal, verified convergence of all of them).
 */
async function millionRuns(parent: string) {
  const dir = join(parent, 'million');
  say(`2-node sandbox for the ${MILLION}-entry runs in ${dir}`);
  const cluster = await startCluster({ nodes: 2, dir, scriptsDir: join(dir, 'scripts') });
  try {
    const file = join(dir, 'million.ldif');
    const out = createWriteStream(file);
    out.write(`dn: ou=bench,${cluster.suffix}\nobjectClass: organizationalUnit\nou: bench\n\n`);
    for (let from = 1; from <= MILLION; from += 10_000) {
      if (!out.write(benchEntries(cluster.suffix, from, Math.min(MILLION, from + 9_999)) + '\n')) await once(out, 'drain');
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    for (const node of cluster.nodes) await stopProcess(node.pid, 5_000);
    const { slapadd } = findSlapd();
    const slapcat = join(dirname(slapadd), 'slapcat');
    const config = (id: number) => join(dir, `node${id}`, 'slapd.d');
    say(`slapadd of ${MILLION} entries into node 1`);
    ok('slapadd', await timed(slapadd, ['-q', '-w', '-n1', '-F', config(1), '-l', file]));
    const copy = join(dir, 'million-node1.ldif');
    ok('slapcat', await timed(slapcat, ['-n1', '-F', config(1), '-a', `(entryDN:dnSubtreeMatch:=ou=bench,${cluster.suffix})`, '-l', copy]));
    say('slapadd of its slapcat into node 2');
    ok('slapadd', await timed(slapadd, ['-q', '-w', '-n1', '-F', config(2), '-l', copy]));
    for (const id of [1, 2]) await restartNode(readState(dir)!, id);
    const state = attach(readState(dir)!);
    await settle(state);
    const bench = new Bench(state, dir);
    bench.nextVersion('common');
    const search = ok('ldapsearch', await timed('ldapsearch', [
      ...ldapArgs(state, clientPasswordFile(state)), '-b', `ou=bench,${state.suffix}`, '-s', 'one', '-E', 'pr=500/noprompt',
      '(objectClass=inetOrgPerson)', 'uid',
    ], { rss: true, stdout: 'discard' }));
    say(`dry run over ${MILLION} entries`);
    const dry = ok('dry run', await bench.cli(['upgrade', '--dry-run', '--ldif'], { rss: true, stdout: { count: '\nchangetype: modify' } }));
    if (dry.counted !== MILLION) throw new Error(`the dry run planned ${dry.counted} changes, not ${MILLION}`);
    const dryRun = {
      entries: MILLION, ms: Math.round(dry.ms), peakRssMb: +dry.peakRssMb!.toFixed(1), ldapsearchMs: Math.round(search.ms),
      timeVsLdapsearch: +(dry.ms / search.ms).toFixed(2),
    };
    say(`dry run: ${dryRun.ms} ms, ${dryRun.peakRssMb} MB; now the real run over ${MILLION} entries`);
    // A million entries replicate and read back for minutes: the sandbox's 60 s would not do.
    const real = ok('upgrade', await bench.cli(['upgrade', '--yes', '--json', '--timeout', '30m'], { rss: true }));
    const report = JSON.parse(real.stdout) as { steps: { durationMs: number; entriesChanged: number }[]; convergeMs: number };
    if (report.steps[0]!.entriesChanged !== MILLION) throw new Error(`the real run changed ${report.steps[0]!.entriesChanged} entries, not ${MILLION}`);
    const run = { ms: Math.round(real.ms), applyMs: report.steps[0]!.durationMs, convergeMs: report.convergeMs, peakRssMb: +real.peakRssMb!.toFixed(1) };
    say(`real run: ${run.ms} ms (apply ${run.applyMs} ms, convergence ${run.convergeMs} ms), ${run.peakRssMb} MB`);
    return { ...dryRun, run };
  } finally {
    await attach(readState(dir)!).stop({ graceMs: 300 });
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-bench-'));
  const met = (yes: boolean) => (yes ? 'met' : 'NOT MET');
  if (process.env.BENCH_ONLY_LDIF === '1') {
    // The streamed LDIF script alone (validate, dry run, real run of a bulk import).
    const ldif = await ldifStreamRuns(dir);
    process.stdout.write(ldifStreamRows(ldif, met).map((r) => r.join('  ')).join('\n') + '\n');
    process.stdout.write(JSON.stringify({ kind: 'bench-ldif', ...ldif }) + '\n');
    return;
  }
  if (process.env.BENCH_ONLY_MILLION === '1') {
    // The million-entry part alone (it takes most of the bench's time), as JSON.
    process.stdout.write(JSON.stringify({ kind: 'bench-million', ...(await millionRuns(dir)) }) + '\n');
    return;
  }
  say(`3-node OpenLDAP sandbox in ${dir}`);
  const cluster = await startCluster({ nodes: 3, dir, scriptsDir: join(dir, 'scripts') });
  const bench = new Bench(cluster, dir);
  try {
    say(`loading ${N} entries`);
    await bench.load(1, N);

    // 1. Apply throughput, side by side; the order rotates between rounds.
    const one: number[] = [];
    const four: number[] = [];
    const tool: number[] = [];
    const toolCommon: number[] = [];
    const toolTotal: number[] = [];
    const byHand: number[] = [];
    const e2eCommon: number[] = [];
    const e2eWritten: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const steps = [
        async () => one.push(await bench.ldapmodify(1, `one ${round}`)),
        async () => four.push(await bench.ldapmodify(4, `four ${round}`)),
        async () => byHand.push(await bench.ldapmodifyAndWait(`by hand ${round}`)),
        async () => { const u = await bench.upgrade('written'); tool.push(u.applyMs); toolTotal.push(u.totalMs); e2eWritten.push(u.processMs); },
        async () => { const u = await bench.upgrade('common'); toolCommon.push(u.applyMs); e2eCommon.push(u.processMs); },
      ];
      for (let i = 0; i < steps.length; i++) await steps[(i + round - 1) % steps.length]!();
      say(`round ${round}: ldapmodify ×1 ${one.at(-1)!.toFixed(0)} ms, ×4 ${four.at(-1)!.toFixed(0)} ms, ×1 + wait ${byHand.at(-1)!.toFixed(0)} ms; tool apply ${tool.at(-1)} ms (written form), ${toolCommon.at(-1)} ms (common form); tool end to end ${e2eWritten.at(-1)!.toFixed(0)} / ${e2eCommon.at(-1)!.toFixed(0)} ms`);
    }
    const rate = (ms: number) => N / (ms / 1000);

    // 2. Convergence detection delay, with an independent tight poller on every node.
    const delays: number[] = [];
    const lastDelays: number[] = [];
    for (let round = 1; round <= CONVERGENCE_ROUNDS; round++) {
      const logDir = join(dir, `logs-${round}`);
      const poller = new TightPoller(cluster);
      await poller.start();
      await bench.upgrade('common', logDir);
      await poller.stop();
      const log = readFileSync(join(logDir, readdirSync(logDir)[0]!), 'utf8');
      const reported = new Map<string, number>();
      for (const m of log.matchAll(/^(\S+) (ldaps?:\/\/\S+): converged after /gm)) reported.set(m[2]!, Date.parse(m[1]!));
      const firstReport = Math.min(...reported.values());
      const target = poller.masterStates().filter((s) => s.at <= firstReport).at(-1)!.state;
      const arrivals: number[] = [];
      for (const [url, at] of reported) {
        const arrived = poller.arrival(url, target);
        if (arrived === undefined) throw new Error(`the poller never saw ${url} converge`);
        delays.push(at - arrived);
        arrivals.push(arrived);
      }
      lastDelays.push(Math.max(...reported.values()) - Math.max(...arrivals));
      say(`convergence round ${round}: tool reported ${[...reported.values()].map((t, i) => t - arrivals[i]!).join(', ')} ms after arrival`);
    }

    // 3. Dry run over DRY entries vs a paged ldapsearch of the same entries.
    if (DRY > N) {
      say(`loading ${DRY - N} more entries (${DRY} in all)`);
      await bench.load(N + 1, DRY);
    }
    bench.nextVersion();
    const search = ok('ldapsearch', await timed('ldapsearch', [
      ...ldapArgs(cluster, clientPasswordFile(cluster)), '-b', `ou=bench,${cluster.suffix}`, '-s', 'one', '-E', 'pr=500/noprompt',
      '(objectClass=inetOrgPerson)', 'description',
    ], { rss: true }));
    const dry = ok('dry run', await bench.cli(['upgrade', '--dry-run', '--ldif'], { rss: true, stdout: { count: '\nchangetype: modify' } }));
    if (dry.counted !== DRY) throw new Error(`the dry run planned ${dry.counted} changes, not ${DRY}`);

    // 3b. The same dry run over MILLION entries (one node, loaded offline with slapadd).
    const million = MILLION > 0 ? await millionRuns(dir) : undefined;

    // 3c. A bulk import as one streamed LDIF script.
    const ldif = await ldifStreamRuns(dir);

    // 4. Cold start of --help.
    const help: number[] = [];
    for (let i = 0; i < 7; i++) help.push(ok('--help', await timed(process.execPath, [BIN, '--help'])).ms);

    const figures = {
      entries: N,
      apply: {
        ldapmodify1PerS: Math.round(rate(median(one))),
        ldapmodify4PerS: Math.round(rate(median(four))),
        toolPerS: Math.round(rate(median(tool))),
        toolVsOne: +(median(one) / median(tool)).toFixed(2),
        toolVsFour: +(median(four) / median(tool)).toFixed(2),
        toolCommonPerS: Math.round(rate(median(toolCommon))),
        toolCommonVsOne: +(median(one) / median(toolCommon)).toFixed(2),
        toolCommonVsFour: +(median(four) / median(toolCommon)).toFixed(2),
        ms: { ldapmodify1: one.map(Math.round), ldapmodify4: four.map(Math.round), toolApply: tool, toolApplyCommon: toolCommon, toolTotal: toolTotal },
      },
      endToEnd: {
        byHandMs: Math.round(median(byHand)), commonMs: Math.round(median(e2eCommon)), writtenMs: Math.round(median(e2eWritten)),
        commonVsByHand: +(median(byHand) / median(e2eCommon)).toFixed(2), writtenVsByHand: +(median(byHand) / median(e2eWritten)).toFixed(2),
        ms: { byHand: byHand.map(Math.round), common: e2eCommon.map(Math.round), written: e2eWritten.map(Math.round) },
      },
      million,
      ldif,
      convergence: { medianDelayMs: median(delays), medianLastReplicaDelayMs: median(lastDelays), delaysMs: delays },
      dryRun: {
        entries: DRY, ms: Math.round(dry.ms), peakRssMb: +dry.peakRssMb!.toFixed(1),
        ldapsearchMs: Math.round(search.ms), ldapsearchPeakRssMb: +search.peakRssMb!.toFixed(1),
        timeVsLdapsearch: +(dry.ms / search.ms).toFixed(2),
      },
      help: { medianMs: Math.round(median(help)), minMs: Math.round(Math.min(...help)) },
    };
    const rows: [string, string, string][] = [
      [`apply ${N} modifies: ldapmodify ×1`, `${figures.apply.ldapmodify1PerS} entries/s`, ''],
      [`apply ${N} modifies: ldapmodify ×4 (ceiling)`, `${figures.apply.ldapmodify4PerS} entries/s`, ''],
      [`apply, written form: ldap-upgrade (journaled)`, `${figures.apply.toolPerS} entries/s`, `${figures.apply.toolVsOne}× ×1 (≥ 1.0: ${met(figures.apply.toolVsOne >= 1)}), ${figures.apply.toolVsFour}× ×4 (≥ 0.9: ${met(figures.apply.toolVsFour >= 0.9)})`],
      [`apply, common form: ldap-upgrade (journaled)`, `${figures.apply.toolCommonPerS} entries/s`, `${figures.apply.toolCommonVsOne}× ×1 (≥ 1.0: ${met(figures.apply.toolCommonVsOne >= 1)}), ${figures.apply.toolCommonVsFour}× ×4 (≥ 0.9: ${met(figures.apply.toolCommonVsFour >= 0.9)})`],
      [`end to end, ${N} entries: ldapmodify -f + wait`, `${figures.endToEnd.byHandMs} ms`, ''],
      [`end to end: upgrade --yes, common form`, `${figures.endToEnd.commonMs} ms`, `${figures.endToEnd.commonVsByHand}× by hand (≥ 1.0: ${met(figures.endToEnd.commonVsByHand >= 1)})`],
      [`end to end: upgrade --yes, written form`, `${figures.endToEnd.writtenMs} ms`, `${figures.endToEnd.writtenVsByHand}× by hand`],
      ['convergence detected after arrival (median)', `${figures.convergence.medianDelayMs} ms`, `≤ 100 ms: ${met(figures.convergence.medianDelayMs <= 100)}`],
      [`dry run over ${DRY} entries: time`, `${figures.dryRun.ms} ms`, `${figures.dryRun.timeVsLdapsearch}× paged ldapsearch ${figures.dryRun.ldapsearchMs} ms (≤ 1.5: ${met(figures.dryRun.timeVsLdapsearch <= 1.5)})`],
      [`dry run over ${DRY} entries: peak RSS`, `${figures.dryRun.peakRssMb} MB`, `(ldapsearch ${figures.dryRun.ldapsearchPeakRssMb} MB)`],
      ...(million ? [
        [`dry run over ${million.entries} entries: time`, `${million.ms} ms`, `${million.timeVsLdapsearch}× paged ldapsearch ${million.ldapsearchMs} ms (≤ 1.5: ${met(million.timeVsLdapsearch <= 1.5)})`],
        [`dry run over ${million.entries} entries: peak RSS`, `${million.peakRssMb} MB`, `< 200 MB: ${met(million.peakRssMb < 200)}; ${(million.peakRssMb - figures.dryRun.peakRssMb).toFixed(1)} MB over ${DRY} (≤ 30: ${met(million.peakRssMb - figures.dryRun.peakRssMb <= 30)})`],
        [`real run over ${million.entries} entries, 2 nodes: time`, `${million.run.ms} ms`, `apply ${million.run.applyMs} ms, verified convergence ${million.run.convergeMs} ms`],
        [`real run over ${million.entries} entries: peak RSS`, `${million.run.peakRssMb} MB`, `< 250 MB: ${met(million.run.peakRssMb < 250)}`],
      ] as [string, string, string][] : [[`dry run over ${MILLION} entries`, 'skipped', 'BENCH_MILLION=0'] as [string, string, string]]),
      ...ldifStreamRows(ldif, met),
      ['ldap-upgrade --help cold start (median of 7)', `${figures.help.medianMs} ms`, `< 300 ms: ${met(figures.help.medianMs < 300)}`],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    const valueWidth = Math.max(...rows.map((r) => r[1].length));
    process.stdout.write(rows.map(([a, b, c]) => `${a.padEnd(width)}  ${b.padStart(valueWidth)}  ${c}`).join('\n') + '\n');
    process.stdout.write(JSON.stringify({ kind: 'bench', ...figures }) + '\n');
  } finally {
    await cluster.stop({ graceMs: 300 });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
