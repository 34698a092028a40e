/**
 * `npm run soak:load` (issue #17; not part of the tests, which run a short version of it): real
 * `ldap-upgrade upgrade --yes` runs on a fresh sandbox (KIND: 389ds or openldap, NODES: 3) while
 * a client writes on every replica (an add and a modify every ~20 ms, as applications do), from
 * 1.5 s before each run until 2 s after it. ROUNDS (20) rounds, each with a new version of a few
 * LDIF and code scripts, one of which takes WAIT_MS (6000) ms. Then (unless FAULTS=0) two rounds
 * with the master killed (SIGKILL) during that slow script and started again: one finished with
 * `recover --rollback`, one with `upgrade --resume`. Per round it prints: the exit code(s), the
 * run's time, how long the replicas took to converge after the last script, the client writes
 * accepted / refused while frozen, accepted writes missing from any node at the end, and whether
 * replication is healthy after (every RUV / contextCSN set agrees, no agreement in error, no
 * "same Replica ID" in any 389 DS error log).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../../src/sandbox/index.js';
import { prepareLoad } from '../helpers/client-load.js';
import { describeFindings, loadFindings, runTimed, underLoad, upgradeKillingMaster, type TimedRun } from '../helpers/load-round.js';
import { writeLoadScripts } from '../helpers/load-scripts.js';
import { readAttr, settledDumps } from '../helpers/ldap.js';

const kind = (process.env.KIND ?? '389ds') as '389ds' | 'openldap';
const rounds = Number(process.env.ROUNDS ?? 20);
const waitMs = Number(process.env.WAIT_MS ?? 6000);

const c = await startCluster({ kind, nodes: Number(process.env.NODES ?? 3), dir: mkdtempSync(join(tmpdir(), 'load-soak-')) });
const scriptsDir = mkdtempSync(join(tmpdir(), 'load-scripts-'));
// WRITERS=0: the same rounds without client writers (to compare the convergence time).
const replicaUrls = process.env.WRITERS === '0' ? [] : c.nodes.slice(1).map((n) => n.url);
await prepareLoad(c, c.nodes.slice(1).map((n) => `n${n.id}`));
let failures = 0;
let version = 0;

for (let round = 1; round <= rounds; round++) {
  writeLoadScripts(scriptsDir, ++version, waitMs);
  const { result: run, writers } = await underLoad(c, replicaUrls, `r${round}`, () => runTimed(c, ['upgrade', '--yes', '--scripts', scriptsDir]));
  const t0 = Date.now();
  const f = await loadFindings(c, [run], writers);
  const checkS = ((Date.now() - t0) / 1000).toFixed(1);
  const ok = run.code === 0 && f.acceptedWhileFrozen === 0 && f.otherCodes.size === 0 && f.missing.length === 0 && !f.trouble;
  if (!ok) failures++;
  console.log(`round ${round}: exit ${run.code}, ${(run.ms / 1000).toFixed(1)} s, ${describeFindings(f)} (checked in ${checkS} s)${ok ? '' : `  <-- ${tail(run)}`}`);
}

if (process.env.FAULTS !== '0') {
  for (const finish of ['recover --rollback', 'upgrade --resume'] as const) {
    writeLoadScripts(scriptsDir, ++version, waitMs);
    const before = version - 1;
    const { result, writers } = await underLoad(c, replicaUrls, `k${finish === 'upgrade --resume' ? 'u' : 'r'}${version}`, async () => {
      const killed = await upgradeKillingMaster(c, scriptsDir);
      const args = finish === 'recover --rollback' ? ['recover', '--rollback', '--scripts', scriptsDir] : ['upgrade', '--yes', '--resume', '--scripts', scriptsDir];
      return [killed, await runTimed(c, args)];
    });
    const [killed, done] = result;
    const f = await loadFindings(c, [killed!, done!], writers);
    let equal = true;
    try { await settledDumps(c, { excludeTool: true }, 30_000); } catch { equal = false; }
    const at = (await readAttr(c, c.nodes[0]!.url, `cn=schema-version,${c.suffix}`, 'description'))?.[0];
    const want = `1.${finish === 'upgrade --resume' ? version : before}.0`;
    if (finish === 'recover --rollback') version--; // its version is pending again
    const ok = killed!.code === 3 && done!.code === 0 && at === want && equal && f.acceptedWhileFrozen === 0 && f.missing.length === 0 && !f.trouble;
    if (!ok) failures++;
    console.log(`master killed mid-script, restarted, then ${finish}: exits ${killed!.code} then ${done!.code}, version ${at} (want ${want}), nodes ${equal ? 'equal' : 'DIFFER'}, ${describeFindings(f)}${ok ? '' : `  <-- ${tail(killed!)} // ${tail(done!)}`}`);
  }
}
console.log(`${kind}: ${failures} failed round(s)`);
await c.stop();
process.exit(failures ? 1 : 0);

function tail(run: TimedRun): string {
  return run.lines.slice(-3).map((l) => l.text).join(' / ');
}
