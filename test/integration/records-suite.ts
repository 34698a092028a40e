import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type SandboxCluster, type SandboxKind } from '../../src/sandbox/index.js';
import { runCli, startCli } from '../helpers/cli.js';
import { handshake } from '../helpers/handshake.js';
import { FIXTURES } from '../helpers/cluster.js';
import { eventually, readAttr, withDirectory } from '../helpers/ldap.js';
import { configVariant } from '../helpers/topologies.js';

/** A TCP listener that counts what reaches it (a stranger's port a planted record names). */
async function listener(): Promise<{ url: string; bytes: () => number; connections: () => number; close: () => Promise<void> }> {
  let bytes = 0;
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.on('data', (d) => { bytes += d.length; });
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `ldap://127.0.0.1:${port}`, bytes: () => bytes, connections: () => connections, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * Someone who can write the suffix (an over-broad ACL, or any replica) plants a run record under
 * the version entry. Before this was checked, `recover` bound to the URL it named with the
 * cn=config password and wrote its values to the entry it named; `--resume` opened its journal.
 */
export function recordsSuite(kind: SandboxKind): void {
  describe(`what the tool reads back is input on ${kind}: planted records, exact pre-images`, () => {
    let c: SandboxCluster;
    let url: (i: number) => string;
    beforeAll(async () => {
      c = await startCluster({ kind, nodes: 3, dir: mkdtempSync(join(tmpdir(), `ldap-upgrade-records-${kind}-`)), scriptsDir: join(FIXTURES, 'basic') });
      url = (i) => c.nodes[i]!.url;
    }, 240_000);
    afterAll(async () => c?.stop({ graceMs: 300 }));

    it('naming a stranger URL, a userPassword to restore and a local file as its journal: upgrade, recover and resume exit 7 naming it; no byte reaches the URL, the file and the entry are untouched', async () => {
      const v = `cn=v-planted,${c.suffix}`;
      const config = configVariant(c, 'planted', { versionEntry: v, scripts: join(FIXTURES, 'basic'), replicas: [url(1), url(2)] });
      const stranger = await listener();
      const victim = join(c.dir, 'victim.txt');
      writeFileSync(victim, 'precious\n');
      const person = `uid=user0001,ou=people,${c.suffix}`;
      const runId = '20261201T101010Z-abcdef';
      const record = {
        runId, state: 'applying', host: 'elsewhere', pid: 4242, startedAt: '2026-12-01T10:10:10Z', updatedAt: '2026-12-01T10:10:11Z',
        fromVersion: '0.0.0', toVersion: '1.1.0', tags: [], steps: ['1.0.0/01-add-ou.ldif'], completed: 1, journal: victim,
        replicas: [{ url: stranger.url, frozenByRun: true, restored: false, writeState: { entryDn: person, attribute: 'userPassword', original: ['planted'], frozen: false } }],
      };
      // Planted over the data bind, as any account that can write the suffix could.
      await withDirectory(c, url(1), 'data', async (d) => {
        for (const dn of [v, `cn=runs,${v}`]) {
          if (!(await d.get(dn, ['1.1']))) await d.add(dn, { objectClass: ['applicationProcess'], cn: [dn.slice(3, dn.indexOf(','))] });
        }
        await d.add(`cn=${runId},cn=runs,${v}`, { objectClass: ['applicationProcess'], cn: [runId], description: [JSON.stringify(record)] });
      });
      const passwordBefore = await readAttr(c, url(0), person, 'userPassword');
      try {
        // Wait until the master has it (it was written on a replica).
        for (let i = 0; i < 100 && !(await readAttr(c, url(0), `cn=${runId},cn=runs,${v}`, 'cn')); i++) await new Promise((r) => setTimeout(r, 100));
        for (const args of [['upgrade', '--yes'], ['upgrade', '--yes', '--resume'], ['recover'], ['recover', '--rollback', '--force']]) {
          const r = await runCli(args, { config });
          expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(7);
          expect(r.stderr).toMatch(new RegExp(`untrusted run record ${runId}`));
          expect(r.stderr).toContain(`names "${stranger.url}", which is not a replica of the configuration`);
        }
        const status = await runCli(['status', '--check'], { config });
        expect(status.code).toBe(7);
        expect(status.stdout).toMatch(/UNTRUSTED: untrusted run record/);
        expect(stranger.connections()).toBe(0);
        expect(stranger.bytes()).toBe(0);
        expect(readFileSync(victim, 'utf8')).toBe('precious\n');
        expect(await readAttr(c, url(0), person, 'userPassword')).toEqual(passwordBefore);
        for (let i = 1; i <= 2; i++) expect(await readAttr(c, url(i), person, 'userPassword')).toEqual(passwordBefore);
        // Once it is removed, the upgrade runs.
        await withDirectory(c, url(0), 'data', (d) => d.delete(`cn=${runId},cn=runs,${v}`));
        const ok = await runCli(['upgrade', '--yes'], { config });
        expect(ok.code, ok.stderr).toBe(0);
      } finally {
        await stranger.close();
      }
    }, 180_000);

    /** Sets the two people's title on the master (a client's write) and waits until every node has it. */
    async function clientSets(values: [string, string]): Promise<void> {
      await withDirectory(c, url(0), 'data', async (d) => {
        for (const [i, v] of values.entries()) await d.modify(`uid=user000${i + 1},ou=people,${c.suffix}`, [{ operation: 'replace', attribute: 'title', values: [v] }]);
      });
    }
    const titles = async (i: number) => [await readAttr(c, url(i), `uid=user0001,ou=people,${c.suffix}`, 'title'), await readAttr(c, url(i), `uid=user0002,ou=people,${c.suffix}`, 'title')];
    async function expectEverywhere(want: [string, string]): Promise<void> {
      for (let i = 0; i < 3; i++) {
        await eventually(async () => JSON.stringify(await titles(i)) === JSON.stringify(want.map((w) => [w])), 20_000).catch(() => undefined);
        expect(await titles(i), url(i)).toEqual(want.map((w) => [w]));
      }
    }

    it("a client's write on the master between a script's read and its write is kept by the failed run's rollback (Pre-Read), on every node", async () => {
      const v = `cn=v-preimage-failed,${c.suffix}`;
      const config = configVariant(c, 'preimage-failed', { versionEntry: v, scripts: join(FIXTURES, 'read-pause-write'), replicas: [url(1), url(2)] });
      await clientSets(['before-1', 'before-2']);
      await expectEverywhere(['before-1', 'before-2']);
      const hs = handshake();
      const run = startCli(['upgrade', '--yes'], { LDAP_UPGRADE_CONFIG: config, ...hs.env });
      await hs.reached();
      await clientSets(['client-1', 'client-2']);
      hs.go();
      const r = await run.result;
      expect(r.code, r.stderr).toBe(5);
      await expectEverywhere(['client-1', 'client-2']);
    }, 120_000);

    it('… and by recover --rollback after the run was killed (kill -9) once its writes were made', async () => {
      const v = `cn=v-preimage-killed,${c.suffix}`;
      const config = configVariant(c, 'preimage-killed', { versionEntry: v, scripts: join(FIXTURES, 'read-pause-write'), replicas: [url(1), url(2)] });
      await clientSets(['before-1', 'before-2']);
      await expectEverywhere(['before-1', 'before-2']);
      const script = handshake();
      const stop = handshake();
      const run = startCli(['upgrade', '--yes', '--to', '1.0.0'], { LDAP_UPGRADE_CONFIG: config, ...script.env, ...stop.at('converge') });
      await script.reached();
      await clientSets(['client-1', 'client-2']);
      script.go();
      await stop.reached();
      run.kill('SIGKILL');
      await run.result;
      const r = await runCli(['recover', '--rollback'], { config });
      expect(r.code, r.stderr).toBe(0);
      await expectEverywhere(['client-1', 'client-2']);
    }, 120_000);

    it('its lock deleted while it runs: the run stops writing (exit 4, lock-lost), the next script never runs; recover --rollback --force undoes it', async () => {
      const v = `cn=v-lock-deleted,${c.suffix}`;
      const config = configVariant(c, 'lock-deleted', { versionEntry: v, scripts: join(FIXTURES, 'slow'), replicas: [url(1), url(2)] });
      const hs = handshake();
      const run = startCli(['upgrade', '--yes'], { LDAP_UPGRADE_CONFIG: config, ...hs.env });
      await hs.reached();
      await withDirectory(c, url(0), 'data', (d) => d.delete(`cn=lock,${v}`));
      hs.go();
      const r = await run.result;
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(/was deleted while it ran\. It stopped writing: nothing was rolled back/);
      expect(await readAttr(c, url(0), `ou=after,${c.suffix}`, 'ou')).toBeNull();
      const back = await runCli(['recover', '--rollback', '--force'], { config });
      expect(back.code, back.stderr).toBe(0);
      expect(await readAttr(c, url(0), v, 'description')).toEqual([]); // no version: rolled back
      for (let i = 1; i <= 2; i++) {
        await withDirectory(c, url(i), 'data', async (d) => {
          await d.modify(`uid=user0001,ou=people,${c.suffix}`, [{ operation: 'replace', attribute: 'description', values: ['writable again'] }]);
        });
      }
    }, 120_000);
  });
}
