import type { SandboxCluster, SandboxKind } from '../../src/sandbox/index.js';
import { getValues, normalizeDn } from '../../src/ldap/entry.js';
import { resumeAgreements, waitForIdleAgreements } from '../../src/servers/389ds/adapter.js';
import { withDirectory } from './ldap.js';

/** The result code a client write gets from a frozen replica: OpenLDAP refuses (53), 389 DS refers (10). */
export const FROZEN_WRITE_CODE: Record<SandboxKind, number> = { openldap: 53, '389ds': 10 };

/** Reads the freeze setting straight from the node's configuration (not through the tool). */
export async function isFrozen(cluster: SandboxCluster, url: string): Promise<boolean> {
  return withDirectory(cluster, url, 'config', async (d) => {
    if (cluster.kind === 'openldap') {
      for await (const e of d.search({ base: 'cn=config', scope: 'one', filter: `(olcSuffix=${cluster.suffix})`, attributes: ['olcReadOnly'] })) {
        return getValues(e, 'olcReadOnly').map(String)[0]?.toUpperCase() === 'TRUE';
      }
      throw new Error('no database for the suffix');
    }
    const dn = await mappingTree(cluster, d);
    const tree = await d.get(dn, ['nsslapd-state']);
    const replica = await d.get(`cn=replica,${dn}`, ['nsDS5ReplicaType']);
    const state = String(getValues(tree!, 'nsslapd-state')[0] ?? 'backend').toLowerCase();
    return state !== 'backend' || String(getValues(replica!, 'nsDS5ReplicaType')[0]) !== '3';
  });
}

/** Freezes or thaws a node the way its administrator would (to set up "already frozen" cases). */
export async function setFrozen(cluster: SandboxCluster, url: string, frozen: boolean): Promise<void> {
  await withDirectory(cluster, url, 'config', async (d) => {
    if (cluster.kind === 'openldap') {
      for await (const e of d.search({ base: 'cn=config', scope: 'one', filter: `(olcSuffix=${cluster.suffix})`, attributes: ['olcReadOnly'] })) {
        await d.modify(e.dn, [{ operation: 'replace', attribute: 'olcReadOnly', values: [frozen ? 'TRUE' : 'FALSE'] }]);
      }
      return;
    }
    // A 389 DS supplier is made read-only by turning it into a hub with its own agreements paused
    // (and back), as its administrator would.
    const replica = `cn=replica,${await mappingTree(cluster, d)}`;
    const agreements: string[] = [];
    for await (const a of d.search({ base: replica, scope: 'one', filter: '(objectClass=nsds5replicationagreement)', attributes: ['1.1'] })) agreements.push(a.dn);
    const pause = async (on: boolean) => {
      for (const a of agreements) await d.modify(a, [{ operation: 'replace', attribute: 'nsds5ReplicaEnabled', values: [on ? 'on' : 'off'] }]);
    };
    if (frozen) {
      await pause(false);
      await waitForIdleAgreements(d, agreements);
    }
    const id = String(cluster.nodes.find((n) => n.url === url)!.id);
    await d.modify(replica, [
      { operation: 'replace', attribute: 'nsDS5ReplicaType', values: [frozen ? '2' : '3'] },
      ...(frozen ? [] : [{ operation: 'replace' as const, attribute: 'nsDS5ReplicaId', values: [id] }]),
    ]);
    if (!frozen) await resumeAgreements(d, agreements.map((dn) => ({ dn, enabled: ['on'] })));
  });
}

async function mappingTree(cluster: SandboxCluster, d: Parameters<Parameters<typeof withDirectory>[3]>[0]): Promise<string> {
  for await (const e of d.search({ base: 'cn=mapping tree,cn=config', scope: 'one', filter: '(objectClass=nsMappingTree)', attributes: ['cn'] })) {
    if (getValues(e, 'cn').some((cn) => normalizeDn(String(cn).replace(/^"|"$/g, '')) === normalizeDn(cluster.suffix))) return e.dn;
  }
  throw new Error('no mapping tree entry for the suffix');
}

