import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type SandboxCluster } from '../../src/sandbox/index.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/cluster.js';
import { isFrozen } from '../helpers/kinds.js';
import { clientWrite, readAttr, withDirectory } from '../helpers/ldap.js';
import { expectCloneRefused, expectReportedStuck } from '../helpers/expect.js';
import { configVariant } from '../helpers/topologies.js';
import { startDirsrvClone } from '../helpers/dirsrv-clone.js';

/** 389 DS: two suppliers and a read-only consumer fed by node 1 (issue "Never a false word"). */
describe('trust on 389 DS: 2 suppliers and a consumer of node 1', () => {
  let c: SandboxCluster;
  let url: (i: number) => string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-trust389-'));
    c = await startCluster({ kind: '389ds', nodes: 3, consumers: 1, dir, scriptsDir: join(FIXTURES, 'basic') });
    url = (i) => c.nodes[i]!.url;
  }, 180_000);
  afterAll(async () => c?.stop({ graceMs: 5_000 }), 60_000);

  it('no replicas listed: discovery follows the agreements and finds the consumer; the run reaches it', async () => {
    const v = `cn=v-discovery,${c.suffix}`;
    const config = configVariant(c, 'discovery', { versionEntry: v, scripts: join(FIXTURES, 'basic') });
    const status = JSON.parse((await runCli(['status', '--json'], { config })).stdout);
    expect(status.replicaSource).toMatchObject({ how: 'discovered' });
    expect(status.replicaSource.blindSpot).toBeNull();
    expect(status.replicas.map((r: { url: string }) => r.url).sort()).toEqual([url(1), url(2)].sort());
    const r = await runCli(['upgrade', '--yes', '--json'], { config });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.replicas.find((x: { url: string }) => x.url === url(2))).toMatchObject({ alreadyReadOnly: true, converge: 'Success' });
    for (const i of [0, 1, 2]) expect(await readAttr(c, url(i), v, 'description'), url(i)).toEqual(['1.1.0']);
    expect(await readAttr(c, url(2), `uid=user0001,ou=people,${c.suffix}`, 'title')).toEqual(['migrated']);
    expect(await isFrozen(c, url(1))).toBe(false);
    expect(await clientWrite(c, url(1))).toBe(0);
  }, 120_000);

  it('the consumer given as the master: refused (7) by preflight, nothing written', async () => {
    const v = `cn=v-consumer-master,${c.suffix}`;
    const config = configVariant(c, 'consumer-master', { versionEntry: v, scripts: join(FIXTURES, 'basic'), master: url(2), replicas: [url(0), url(1)] });
    const r = await runCli(['upgrade', '--yes'], { config });
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/does not take client writes .*not a supplier/);
    expect(await readAttr(c, url(0), v, 'cn')).toBeNull();
  }, 60_000);

  it("a write the server refuses: exit 5 with 389 DS's own diagnostic text, rolled back, lock free", async () => {
    const v = `cn=v-diagnostic,${c.suffix}`;
    const config = configVariant(c, 'diagnostic', { versionEntry: v, scripts: join(FIXTURES, 'undefined-attribute'), replicas: [url(1), url(2)] });
    const r = await runCli(['upgrade', '--yes', '--json'], { config });
    expect(r.code, r.stderr).toBe(5);
    // The server's words (not only a result code's name), and never "internal error".
    expect(r.stderr).toMatch(/ldapUpgradeNoSuchAttribute.*(not allowed|undefined|unknown).*\(\d+\)/i);
    expect(r.stderr).not.toContain('internal error');
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'script-failed', rolledBack: true });
    expect(await readAttr(c, url(0), `cn=lock,${v}`, 'cn')).toBeNull();
  }, 60_000);

  it('a node initialised from an LDIF export of node 1 (same entries and RUV) with no agreement: refused (7) naming it; only the run record written; lock released', async () => {
    // Node 3 is a consumer (read-only by role): only the supplier is checked for client writes.
    await expectCloneRefused(c, startDirsrvClone, [url(1)]);
  }, 180_000);

  it('a fractional consumer (its agreement excludes title): exit 6 naming it, an entry and the attribute; declared ignoreAttributes: exit 0', async () => {
    const agreement = `cn=to-node3,cn=replica,cn="${c.suffix}",cn=mapping tree,cn=config`;
    await withDirectory(c, url(0), 'config', (d) => d.modify(agreement, [{ operation: 'replace', attribute: 'nsDS5ReplicatedAttributeList', values: ['(objectclass=*) $ EXCLUDE title'] }]));
    const v = `cn=v-fractional,${c.suffix}`;
    const config = configVariant(c, 'fractional', { versionEntry: v, scripts: join(FIXTURES, 'slow'), replicas: [url(1), url(2)] });
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-hs-'));
    writeFileSync(join(dir, 'release'), '');
    const env = { LDAP_UPGRADE_TEST_RELEASE: join(dir, 'release') };
    const r = await runCli(['upgrade', '--yes', '--timeout', '8'], { config, env });
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(new RegExp(`${url(2).replace(/[.]/g, '\\.')} \\(.*uid=user\\d+,ou=people,dc=example,dc=com: attribute title differs`));
    // Again, title declared as not received: the same rewrite of title passes.
    await withDirectory(c, url(0), 'data', async (d) => {
      for await (const e of d.search({ base: `ou=people,${c.suffix}`, filter: '(title=slow-*)', attributes: ['title'] })) {
        await d.modify(e.dn, [{ operation: 'replace', attribute: 'title', values: ['reset'] }]);
      }
    });
    const declared = configVariant(c, 'fractional-declared', { versionEntry: `cn=v-fractional-2,${c.suffix}`, scripts: join(FIXTURES, 'slow'), replicas: [url(1), { url: url(2), ignoreAttributes: ['title'] }] });
    const ok = await runCli(['upgrade', '--yes', '--timeout', '20'], { config: declared, env });
    expect(ok.code, ok.stderr).toBe(0);
  }, 120_000);

  // Last on this cluster: node 1 stops sending to the consumer for good.
  it('the consumer whose replication stops during the scripts: exit 6 reporting it as stuck (never "behind by 0.0 s"), the others given back', async () => {
    const v = `cn=v-stuck,${c.suffix}`;
    const config = configVariant(c, 'stuck', { versionEntry: v, scripts: join(FIXTURES, 'slow'), replicas: [url(1), url(2)] });
    const agreement = `cn=to-node3,cn=replica,cn="${c.suffix}",cn=mapping tree,cn=config`;
    await expectReportedStuck(config, 15, url(2), async () => { await withDirectory(c, url(0), 'config', (d) => d.modify(agreement, [{ operation: 'replace', attribute: 'nsds5ReplicaEnabled', values: ['off'] }])); });
    expect(await isFrozen(c, url(1))).toBe(false);
    expect(await clientWrite(c, url(1))).toBe(0);
    expect(await readAttr(c, url(0), `cn=lock,${v}`, 'cn')).toBeNull();
  }, 120_000);
});
