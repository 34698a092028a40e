import { setTimeout as sleep } from 'node:timers/promises';
import type { SandboxCluster, SandboxKind } from '../../src/sandbox/index.js';
import { getValues, normalizeDn } from '../../src/ldap/entry.js';
import { waitUntilHolds } from '../../src/replication/catch-up.js';
import { dirsrvAdapter } from '../../src/servers/389ds/adapter.js';
import { resumeAgreements, waitForIdleAgreements } from '../../src/servers/389ds/legacy-hub.js';
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

/**
 * Freezes or thaws a node the way its administrator would (to set up "already frozen" cases).
 * A 389 DS supplier is made durably read-only by demoting it to a hub (a mapping-tree referral
 * state alone is reset by the next replication session). Promoting it back was seen to leave
 * replication broken ("duplicate replica ID"), so the thawed node is re-initialised from node 1.
 */
export async function setFrozen(cluster: SandboxCluster, url: string, frozen: boolean): Promise<void> {
  let thawedHub = false;
  await withDirectory(cluster, url, 'config', async (d) => {
    if (cluster.kind === 'openldap') {
      for await (const e of d.search({ base: 'cn=config', scope: 'one', filter: `(olcSuffix=${cluster.suffix})`, attributes: ['olcReadOnly'] })) {
        await d.modify(e.dn, [{ operation: 'replace', attribute: 'olcReadOnly', values: [frozen ? 'TRUE' : 'FALSE'] }]);
      }
      return;
    }
    // 389 DS: a hub, with its own agreements paused (and back).
    const tree = await mappingTree(cluster, d);
    const replica = `cn=replica,${tree}`;
    const agreements: string[] = [];
    for await (const a of d.search({ base: replica, scope: 'one', filter: '(objectClass=nsds5replicationagreement)', attributes: ['1.1'] })) agreements.push(a.dn);
    if (frozen) {
      for (const a of agreements) await d.modify(a, [{ operation: 'replace', attribute: 'nsds5ReplicaEnabled', values: ['off'] }]);
      await waitForIdleAgreements(d, agreements);
      await d.modify(replica, [{ operation: 'replace', attribute: 'nsDS5ReplicaType', values: ['2'] }]);
      return;
    }
    // Left by a run that was killed (nobody holds it any more) or set by hand.
    await d.modify(tree, [{ operation: 'replace', attribute: 'nsslapd-state', values: ['backend'] }]);
    if (String(getValues((await d.get(replica, ['nsDS5ReplicaType']))!, 'nsDS5ReplicaType')[0]) !== '2') return;
    // As the tool does (settle): a change on node 1 starts its sessions, which give the hub back
    // its own id's changes; promoting it before they arrive breaks its RUV (and crashed ns-slapd).
    await withDirectory(cluster, cluster.nodes[0]!.url, 'data', async (m) => {
      const dn = `cn=thaw-trigger,${cluster.suffix}`;
      await m.add(dn, { objectClass: ['applicationProcess'], cn: ['thaw-trigger'] });
      await m.delete(dn);
      await waitUntilHolds(dirsrvAdapter, cluster.suffix, d, await dirsrvAdapter.readReplicationState(m, cluster.suffix), 15_000);
    });
    const id = String(cluster.nodes.find((n) => n.url === url)!.id);
    await d.modify(replica, [
      { operation: 'replace', attribute: 'nsDS5ReplicaType', values: ['3'] },
      { operation: 'replace', attribute: 'nsDS5ReplicaId', values: [id] },
    ]);
    await resumeAgreements(d, agreements.map((dn) => ({ dn, enabled: ['on'] })));
    thawedHub = true;
  });
  if (thawedHub) await reinitialise(cluster, url);
}

/** A total update of a 389 DS node from node 1 (its agreement `cn=to-node<id>`). */
async function reinitialise(cluster: SandboxCluster, url: string): Promise<void> {
  const id = cluster.nodes.find((n) => n.url === url)!.id;
  await withDirectory(cluster, cluster.nodes[0]!.url, 'config', async (d) => {
    const agreement = `cn=to-node${id},cn=replica,${await mappingTree(cluster, d)}`;
    await d.modify(agreement, [{ operation: 'replace', attribute: 'nsds5BeginReplicaRefresh', values: ['start'] }]);
    const deadline = Date.now() + 60_000;
    for (;;) {
      await sleep(200);
      const e = await d.get(agreement, ['nsds5BeginReplicaRefresh', 'nsds5replicaLastInitStatus']);
      if (e && getValues(e, 'nsds5BeginReplicaRefresh').length === 0) return;
      if (Date.now() > deadline) throw new Error(`re-initialising ${url} did not finish within 60 s`);
    }
  });
}

async function mappingTree(cluster: SandboxCluster, d: Parameters<Parameters<typeof withDirectory>[3]>[0]): Promise<string> {
  for await (const e of d.search({ base: 'cn=mapping tree,cn=config', scope: 'one', filter: '(objectClass=nsMappingTree)', attributes: ['cn'] })) {
    if (getValues(e, 'cn').some((cn) => normalizeDn(String(cn).replace(/^"|"$/g, '')) === normalizeDn(cluster.suffix))) return e.dn;
  }
  throw new Error('no mapping tree entry for the suffix');
}


/**
 * 389 DS: stops the flow of a node's own changes to its peers, as a broken replication link
 * would (its own agreements disabled). Returns the restore function. (On OpenLDAP, taking the
 * peers' olcSyncrepl from it out and back was not reliable: once a peer never caught up again,
 * and deleting single values did not stop the flow; so no OpenLDAP variant.)
 */
export async function cutOutgoing(cluster: SandboxCluster, url: string): Promise<() => Promise<void>> {
  if (cluster.kind !== '389ds') throw new Error('cutOutgoing: 389 DS only');
  const agreements = await withDirectory(cluster, url, 'config', async (d) => {
    const out: string[] = [];
    for await (const a of d.search({ base: `cn=replica,${await mappingTree(cluster, d)}`, scope: 'one', filter: '(objectClass=nsds5replicationagreement)', attributes: ['1.1'] })) out.push(a.dn);
    for (const a of out) await d.modify(a, [{ operation: 'replace', attribute: 'nsds5ReplicaEnabled', values: ['off'] }]);
    await waitForIdleAgreements(d, out);
    return out;
  });
  return () => withDirectory(cluster, url, 'config', (d) => resumeAgreements(d, agreements.map((dn) => ({ dn, enabled: ['on'] }))));
}


/**
 * What a run must give back on a node, as one string: 389 DS the replica's type and id, the
 * mapping tree's state and each agreement's nsds5ReplicaEnabled; OpenLDAP the database's
 * olcReadOnly and the node's olcServerID.
 */
export async function replicationSetup(cluster: SandboxCluster, url: string): Promise<string> {
  return withDirectory(cluster, url, 'config', async (d) => {
    if (cluster.kind === 'openldap') {
      const ids = getValues((await d.get('cn=config', ['olcServerID']))!, 'olcServerID').map(String);
      let ro: string[] = [];
      for await (const e of d.search({ base: 'cn=config', scope: 'one', filter: `(olcSuffix=${cluster.suffix})`, attributes: ['olcReadOnly'] })) ro = getValues(e, 'olcReadOnly').map(String);
      return `olcServerID ${ids.join(',')}; olcReadOnly ${ro.join(',') || '(absent)'}`;
    }
    const tree = await mappingTree(cluster, d);
    const state = getValues((await d.get(tree, ['nsslapd-state']))!, 'nsslapd-state').map(String);
    const r = (await d.get(`cn=replica,${tree}`, ['nsDS5ReplicaType', 'nsDS5ReplicaId']))!;
    const agreements: string[] = [];
    for await (const a of d.search({ base: `cn=replica,${tree}`, scope: 'one', filter: '(objectClass=nsds5replicationagreement)', attributes: ['cn', 'nsds5ReplicaEnabled'] })) {
      agreements.push(`${getValues(a, 'cn')[0]}=${getValues(a, 'nsds5ReplicaEnabled')[0] ?? '(default on)'}`);
    }
    return `type ${getValues(r, 'nsDS5ReplicaType')[0]}, id ${getValues(r, 'nsDS5ReplicaId')[0]}, state ${state.join(',')}, agreements ${agreements.sort().join(' ')}`;
  });
}
