import { setTimeout as sleep } from 'node:timers/promises';
import type { Directory } from '../../ldap/directory.js';
import { getFirst, getValues } from '../../ldap/entry.js';
import { findMappingTree } from '../../servers/389ds/adapter.js';

export const REPLICATION_MANAGER = 'cn=replication manager,cn=config';

/** The replication manager entry that suppliers bind as; returns the suffix's replica entry DN. */
async function addReplicationManager(dir: Directory, suffix: string, managerPassword: string): Promise<string> {
  await dir.add(REPLICATION_MANAGER, {
    objectClass: ['top', 'inetUser', 'netscapeServer', 'nsAccount'], cn: ['replication manager'], uid: ['replication manager'],
    userPassword: [managerPassword],
  });
  return `cn=replica,${(await findMappingTree(dir, suffix)).dn}`;
}

/** What `dsconf replication enable --role supplier` does, over LDAP (no password on a command line). */
export async function enableSupplier(dir: Directory, suffix: string, replicaId: number, managerPassword: string): Promise<string> {
  const replicaDn = await addReplicationManager(dir, suffix, managerPassword);
  await dir.add(replicaDn, {
    objectClass: ['top', 'nsds5Replica'], cn: ['replica'], nsDS5ReplicaRoot: [suffix], nsDS5Flags: ['1'], nsDS5ReplicaType: ['3'],
    nsDS5ReplicaId: [String(replicaId)], nsDS5ReplicaBindDN: [REPLICATION_MANAGER],
    // Short back-off: a consumer that refused changes for a while is retried within 10 s, not 300 s.
    nsds5ReplicaBackoffMin: ['1'], nsds5ReplicaBackoffMax: ['10'],
  });
  return replicaDn;
}

/**
 * A read-only consumer (`dsconf replication enable --role consumer`): replica type 2, id 65535,
 * no changelog; it takes changes from the suppliers that have agreements to it.
 */
export async function enableConsumer(dir: Directory, suffix: string, managerPassword: string): Promise<string> {
  const replicaDn = await addReplicationManager(dir, suffix, managerPassword);
  await dir.add(replicaDn, {
    objectClass: ['top', 'nsds5Replica'], cn: ['replica'], nsDS5ReplicaRoot: [suffix], nsDS5Flags: ['0'], nsDS5ReplicaType: ['2'],
    nsDS5ReplicaId: ['65535'], nsDS5ReplicaBindDN: [REPLICATION_MANAGER],
  });
  return replicaDn;
}

/** A supplier → consumer agreement (to 127.0.0.1 unless `host`); with `init`, a total update of the consumer, awaited. */
export async function addAgreement(dir: Directory, replicaDn: string, suffix: string, to: { host?: string; port: number; name: string }, managerPassword: string, init: boolean): Promise<void> {
  const dn = `cn=${to.name},${replicaDn}`;
  await dir.add(dn, {
    objectClass: ['top', 'nsds5replicationagreement'], cn: [to.name], nsDS5ReplicaRoot: [suffix],
    nsDS5ReplicaHost: [to.host ?? '127.0.0.1'], nsDS5ReplicaPort: [String(to.port)], nsDS5ReplicaTransportInfo: ['LDAP'],
    nsDS5ReplicaBindDN: [REPLICATION_MANAGER], nsDS5ReplicaBindMethod: ['SIMPLE'], nsDS5ReplicaCredentials: [managerPassword],
    ...(init ? { nsds5BeginReplicaRefresh: ['start'] } : {}),
  });
  if (!init) return;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const e = await dir.get(dn, ['nsds5BeginReplicaRefresh', 'nsds5replicaLastInitStatus']);
    const status = e ? getFirst(e, 'nsds5replicaLastInitStatus') ?? '' : '';
    if (e && getValues(e, 'nsds5BeginReplicaRefresh').length === 0 && status) {
      if (!/succeeded|Error \(0\)/i.test(status)) throw new Error(`total update to port ${to.port} failed: ${status}`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`total update to port ${to.port} did not finish within 60 s (${status || 'no status'})`);
    await sleep(100);
  }
}

/**
 * Replication between the nodes of a cluster (`conns[i]` is node i + 1): suppliers (replica ids
 * 1…) or read-only consumers; node 1 has an agreement to every other node and initialises it,
 * and every other supplier one to every supplier; a consumer is fed by node 1 only. Agreements
 * go to each node's `host` (127.0.0.1 unless given) and `port`.
 */
export async function replicateNodes(conns: Directory[], suffix: string, nodes: { id: number; port: number; host?: string; consumer?: boolean }[], managerPassword: string): Promise<void> {
  const replicaDns = await Promise.all(conns.map((c, i) => (nodes[i]!.consumer ? enableConsumer(c, suffix, managerPassword) : enableSupplier(c, suffix, i + 1, managerPassword))));
  const agreement = (from: number, to: (typeof nodes)[number], init: boolean) =>
    addAgreement(conns[from]!, replicaDns[from]!, suffix, { host: to.host, port: to.port, name: `to-node${to.id}` }, managerPassword, init);
  for (const to of nodes.slice(1)) await agreement(0, to, true);
  const suppliers = nodes.filter((n) => !n.consumer);
  await Promise.all(suppliers.flatMap((from) => (from.id === 1 ? [] : suppliers.filter((to) => to.id !== from.id).map((to) => agreement(from.id - 1, to, false)))));
}
