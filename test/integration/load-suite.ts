import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SandboxCluster, SandboxKind } from '../../src/sandbox/index.js';
import { prepareLoad } from '../helpers/client-load.js';
import { replicationSetup } from '../helpers/kinds.js';
import { readAttr, settledDumps } from '../helpers/ldap.js';
import { describeFindings, loadFindings, runTimed, underLoad, upgradeKillingMaster, type LoadFindings } from '../helpers/load-round.js';
import { writeLoadScripts } from '../helpers/load-scripts.js';
import { expectWritableAndUnlocked } from '../helpers/expect.js';

/** The slow script's wait: long enough for a kill in the middle of it. */
const WAIT_MS = 3000;

function expectClean(f: LoadFindings): void {
  const said = describeFindings(f);
  expect(f.acceptedWhileFrozen, said).toBe(0);
  expect(f.missing, said).toEqual([]);
  expect(f.trouble, said).toBe('');
  expect([...f.otherCodes], said).toEqual([]);
}


/**
 * Runs under client load (issue #17): a client writing on every replica before, during and after
 * each run, as applications do. A freeze must hold (no client write accepted while frozen) and
 * still converge; nothing a client was told succeeded may be lost; replication must stay healthy.
 */
export function loadSuite(kind: SandboxKind, shared: () => SandboxCluster): void {
describe(`under client load (${kind})`, () => {
  const setup = async () => {
    const c = shared();
    await prepareLoad(c, c.nodes.slice(1).map((n) => `n${n.id}`));
    const setupBefore = await Promise.all(c.nodes.map((n) => replicationSetup(c, n.url)));
    // Each node's replica id, type, agreements (389 DS) or read-only flag and server id (OpenLDAP) as before.
    const givenBack = async () => expect(await Promise.all(c.nodes.map((n) => replicationSetup(c, n.url)))).toEqual(setupBefore);
    return { c, scripts: mkdtempSync(join(tmpdir(), 'ldap-upgrade-load-')), replicas: c.nodes.slice(1).map((n) => n.url), givenBack };
  };

  it('two runs with a client writing on every replica: exit 0, converged within seconds of the last script, no write accepted while frozen, none lost, replication healthy', async () => {
    const { c, scripts, replicas, givenBack } = await setup();
    for (let v = 1; v <= 2; v++) {
      writeLoadScripts(scripts, v, WAIT_MS);
      const { result: run, writers } = await underLoad(c, replicas, `r${v}`, () => runTimed(c, ['upgrade', '--yes', '--scripts', scripts]));
      const f = await loadFindings(c, [run], writers);
      expect(run.code, run.lines.slice(-4).map((l) => l.text).join('\n')).toBe(0);
      expectClean(f);
      // The writers were refused while frozen (they did write during the run).
      expect(f.refusedWhileFrozen, describeFindings(f)).toBeGreaterThan(0);
      expect(f.convergeS, describeFindings(f)).toBeLessThan(10);
      expect(await readAttr(c, c.nodes[2]!.url, `cn=schema-version,${c.suffix}`, 'description')).toEqual([`1.${v}.0`]);
      await givenBack();
    }
    await settledDumps(c, { excludeTool: true }, 30_000);
    await expectWritableAndUnlocked(c);
  }, 180_000);

  for (const finish of ['recover --rollback', 'upgrade --resume'] as const) {
    it(`the master killed mid-script under client load, started again, then \`${finish}\`: ${finish === 'recover --rollback' ? 'every node back to before the run' : 'the run completes'}, no write accepted while frozen or lost, replication healthy`, async () => {
      const { c, scripts, replicas, givenBack } = await setup();
      writeLoadScripts(scripts, 1, WAIT_MS);
      const { result: [killed, done], writers } = await underLoad(c, replicas, 'k', async () => {
        const first = await upgradeKillingMaster(c, scripts);
        const args = finish === 'recover --rollback' ? ['recover', '--rollback'] : ['upgrade', '--yes', '--resume', '--scripts', scripts];
        return [first, await runTimed(c, args)] as const;
      });
      const say = (r: typeof killed) => r.lines.slice(-4).map((l) => l.text).join('\n');
      expect(killed.code, say(killed)).toBe(3);
      expect(done.code, say(done)).toBe(0);
      const f = await loadFindings(c, [killed, done], writers);
      expectClean(f);
      await settledDumps(c, { excludeTool: true }, 30_000);
      for (const n of c.nodes) {
        const version = (await readAttr(c, n.url, `cn=schema-version,${c.suffix}`, 'description')) ?? [];
        if (finish === 'recover --rollback') expect(version, n.url).not.toContain('1.1.0');
        else expect(version, n.url).toEqual(['1.1.0']);
        // The first script's change: undone by the rollback, there after the resumed run.
        expect(await readAttr(c, n.url, `cn=release-1,ou=groups,${c.suffix}`, 'cn'), n.url).toEqual(finish === 'recover --rollback' ? null : ['release-1']);
      }
      await givenBack();
      await expectWritableAndUnlocked(c);
    }, 180_000);
  }
});
}
