import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { scripts } from '../helpers/cluster.js';
import { expectWritableAndUnlocked } from '../helpers/expect.js';
import { handshake } from '../helpers/handshake.js';
import { isFrozen } from '../helpers/kinds.js';
import { eventually, readAttr, settledDumps } from '../helpers/ldap.js';
import type { ContainerCluster } from './cluster.js';
import type { ContainerServer, DebianRelease } from './engine.js';
import { onContainers } from './tier.js';

const SLOW = scripts('slow');

/** After every fault: the cut link back, nodes equal, writable, the lock free, at the new version (the slow fixture's 1.2.0) or at none. */
async function expectWhole(c: ContainerCluster, upgraded: boolean): Promise<void> {
  await settledDumps(c, {}, 90_000);
  for (const n of c.nodes) {
    const version = await readAttr(c, n.url, `cn=schema-version,${c.suffix}`, 'description');
    if (upgraded) expect(version, n.url).toEqual(['1.2.0']);
    else expect(version ?? [], n.url).toEqual([]);
  }
  await expectWritableAndUnlocked(c);
}

/**
 * Network partitions (`docker network disconnect`) in each phase of a run: a replica cut off
 * before the freeze, once frozen, during the scripts (given back its link after a while), during
 * the convergence wait, before it is given back; the master cut off during a script. Each ends
 * in bounded time with a truthful exit code; `recover` completes once the link is back; nothing
 * is lost.
 */
export function partitionSuite(server: ContainerServer, release: DebianRelease): void {
  onContainers(server, release, (shared, version) => {
    describe(`network partitions on ${version} in containers`, () => {
      const timeout = server === '389ds' ? 8 : 4;
      const upgrade = (env: NodeJS.ProcessEnv, extra: string[] = []) =>
        startCli(['upgrade', '--yes', '--timeout', String(timeout), ...extra, ...SLOW], { LDAP_UPGRADE_CONFIG: shared().configFile, ...env });
      const recover = (extra: string[] = []) => runCli(['recover', '--json', ...extra, ...SLOW], { config: shared().configFile });

      it('a replica cut off before the run: refused by preflight before any write (exit 7 naming it), the others untouched; then the run completes', async () => {
        const c = shared();
        const victim = c.nodes[2]!;
        await c.cut(victim.id);
        try {
          const started = Date.now();
          const r = await upgrade({}).result;
          expect(r.code, r.stderr).toBe(7);
          expect(r.stderr).toContain(`preflight failed: ${victim.url}: unreachable`);
          expect(Date.now() - started).toBeLessThan(60_000);
          expect(await readAttr(c, c.nodes[0]!.url, `cn=schema-version,${c.suffix}`, 'description')).toBeNull();
          expect(await isFrozen(c, c.nodes[1]!.url)).toBe(false);
        } finally {
          await c.restore(victim.id);
        }
        await expectWhole(c, false);
        const ok = await upgrade({}).result;
        expect(ok.code, ok.stderr).toBe(0);
        await expectWhole(c, true);
      });

      it('a replica cut off during the scripts and given its link back after 3 s: the run waits for it and completes (exit 0)', async () => {
        const c = shared();
        const victim = c.nodes[1]!;
        const p = handshake();
        const run = upgrade(p.env, ['--timeout', '60']);
        await p.reached(60_000);
        await c.cut(victim.id);
        p.go();
        await sleep(3_000);
        await c.restore(victim.id);
        const r = await run.result;
        expect(r.code, r.stderr).toBe(0);
        await expectWhole(c, true);
      });

      /**
       * A replica cut off while the run is held at `point` and kept off: exit 8 naming it, the
       * other replica given back; `recover` fails while it is off and completes once it is back.
       */
      const keptOff = (point: string, victimId: number, says: (url: string) => string[]) => async () => {
        const c = shared();
        const victim = c.nodes[victimId - 1]!;
        const other = c.nodes.find((n) => n.id !== victim.id && n.id !== 1)!;
        const p = handshake();
        const run = upgrade(p.at(point));
        await p.reached(60_000);
        // Replicas are frozen side by side: the victim too before its link goes.
        await eventually(() => isFrozen(c, victim.url), 30_000);
        await c.cut(victim.id);
        try {
          p.go();
          const r = await run.result;
          expect(r.code, r.stderr).toBe(8);
          // The victim named; under load the other replica may be named too (slow, not cut).
          for (const part of says(victim.url)) expect(r.stderr).toContain(part);
          expect(await isFrozen(c, other.url)).toBe(false);
          expect((await recover()).code).toBe(3); // still cut off: recover says so, and can be run again
        } finally {
          // Given back whatever happened: a failed case must not leave the next ones a cut node.
          await c.restore(victim.id);
        }
        expect(await isFrozen(c, victim.url)).toBe(true);
        const rec = await recover();
        expect(rec.code, rec.stderr).toBe(0);
        await expectWhole(c, true);
      };

      it('a replica cut off once frozen: exit 8 at the timeout (it stays frozen), the other given back; recover once the link is back',
        keptOff('freeze', 3, (url) => [url]));
      it('a replica cut off during the convergence wait: exit 8 at the timeout naming it, the other given back; recover once it is back',
        keptOff('converge', 3, (url) => [`replicas did not converge within ${timeout} s: `, `${url} (`]));
      it('a replica cut off just before it is given back: exit 8 (it stays frozen, the data is there); recover once it is back',
        keptOff('give-back', 2, (url) => [url]));

      it('the master cut off during a script: exit 3 in bounded time, replicas stay frozen; recover --rollback once it is back restores every node', async () => {
        const c = shared();
        const before = (await settledDumps(c, { excludeTool: true }))[0];
        const master = c.nodes[0]!;
        const p = handshake();
        const run = upgrade(p.env);
        await p.reached(60_000);
        await c.cut(master.id);
        const started = Date.now();
        p.go();
        const r = await run.result;
        const took = Date.now() - started;
        expect(r.code, r.stderr).toBe(3);
        expect(took).toBeLessThan(120_000);
        await c.restore(master.id);
        for (const n of c.nodes.slice(1)) expect(await isFrozen(c, n.url), n.url).toBe(true);
        const rec = await recover(['--rollback']);
        expect(rec.code, rec.stderr).toBe(0);
        await expectWhole(c, false);
        expect((await settledDumps(c, { excludeTool: true }))[0]).toBe(before);
      }, 180_000);
    });
  });
}
