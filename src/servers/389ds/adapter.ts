import { setTimeout as sleep } from 'node:timers/promises';
import { RefusedError } from '../../errors.js';
import { codeOf, type Directory } from '../../ldap/directory.js';
import { getFirst, getValues, normalizeDn, type LdapEntry } from '../../ldap/entry.js';
import type { ServerAdapter, WriteState } from '../adapter.js';
import { compareCsnSets } from '../csn.js';

const MAPPING_TREE = 'cn=mapping tree,cn=config';
const RUV_FILTER = '(&(objectClass=nsTombstone)(nsUniqueId=ffffffff-ffffffff-ffffffff-ffffffff))';
const REPLICA_ATTRIBUTES = ['nsDS5ReplicaType', 'nsDS5ReplicaId'];
const SUPPLIER = '3';
const HUB = '2';
/** The replica id 389 DS gives every read-only replica (hub or consumer) when it starts. */
const READ_ONLY_REPLICA_ID = '65535';
const MAPPING_STATE = 'nsslapd-state';
const FROZEN_STATE = 'referral on update';
const AGREEMENT_ENABLED = 'nsds5ReplicaEnabled';

/**
 * 389 Directory Server (multi-supplier). `nsslapd-readonly` would also refuse replicated changes,
 * and a supplier's mapping-tree `nsslapd-state: referral on update` holds only until the next
 * incoming replication session (the plugin resets it from the replica's type). So a replica is
 * frozen by making it a read-only replica for the time of the run: its replica entry becomes a
 * hub's (`nsDS5ReplicaType: 2`), for which the plugin itself keeps `referral on update` — client
 * writes get a referral to the suppliers, replicated changes still apply — and its own agreements
 * are paused. Becoming a hub makes 389 DS forget the replica's own id (RUV element and changelog),
 * so the replica is drained first (the mapping-tree state holds client writes meanwhile), and it
 * is given back only once it holds what the master has. Unfreezing restores all of it.
 */
export const dirsrvAdapter: ServerAdapter = {
  kind: '389ds',
  // aci is returned only when asked for by name.
  backupAttributes: ['*', 'aci', 'nsUniqueId', 'createTimestamp', 'creatorsName', 'modifyTimestamp', 'modifiersName'],

  async readReplicationState(data, suffix) {
    return parseRuv(await ruvValues(data, suffix));
  },

  compare: (master, replica, ownId) => compareCsnSets(master, replica, ownId),

  async readWriteState(config, suffix) {
    const tree = await findMappingTree(config, suffix);
    const replica = await config.get(`cn=replica,${tree.dn}`, REPLICA_ATTRIBUTES);
    if (!replica) throw new RefusedError(`${config.server}: ${suffix} is not replicated there (no cn=replica,${tree.dn})`);
    const state = getFirst(tree, 'nsslapd-state') ?? 'backend';
    const type = getFirst(replica, 'nsDS5ReplicaType') ?? '';
    const referring = state.toLowerCase() !== 'backend';
    return {
      entryDn: replica.dn, attribute: 'nsDS5ReplicaType', original: [type],
      // Not a supplier (a hub or a consumer): read-only for good, left alone by the run.
      frozen: type !== SUPPLIER || referring,
      why: type !== SUPPLIER ? `not a supplier (nsDS5ReplicaType: ${type || 'unset'}: a hub or consumer)` : referring ? `nsslapd-state: ${state}` : undefined,
      // A supplier its administrator set to "referral on update" refers client writes only until
      // its next incoming replication session: frozen by the run all the same, given back so.
      transient: type === SUPPLIER && referring ? true : undefined,
      ownId: ownId(replica),
      others: [
        // Given back with the type: 389 DS wants the id whenever a replica becomes read-write.
        { attribute: 'nsDS5ReplicaId', original: getValues(replica, 'nsDS5ReplicaId').map(String) },
        // Holds client writes while the replica's last changes go out, before it becomes a hub
        // (only where replication has set the referral the state needs).
        ...(getFirst(tree, 'nsslapd-referral') ? [{ dn: tree.dn, attribute: MAPPING_STATE, original: [state] }] : []),
        // Its own outgoing agreements pause while it is a hub: a hub with a supplier's agreements
        // fails them with "duplicate replica ID" and then waits for an administrator.
        ...(await agreements(config, suffix)).map((a) => ({ dn: a.dn, attribute: AGREEMENT_ENABLED, original: a.enabled })),
      ],
    };
  },

  async freeze(config, state, context) {
    // Idempotent (a resumed run freezes again): 389 DS refuses to set a hub's type to hub.
    const now = await config.get(state.entryDn, REPLICA_ATTRIBUTES);
    if (now && getFirst(now, 'nsDS5ReplicaType') === HUB) return;
    const others = state.others ?? [];
    // 0. The replica's last change of its own id before it becomes a hub is a modify of its
    //    keep-alive entry: see markOwnId.
    if (state.ownId) await markOwnId(config, state);
    // 1. Client writes get a referral from now on (an incoming replication session can give the
    //    state back for a moment; step 3 makes it hold).
    const tree = others.find((o) => o.dn && o.attribute === MAPPING_STATE);
    if (tree) await config.modify(tree.dn!, [{ operation: 'replace', attribute: MAPPING_STATE, values: [FROZEN_STATE] }]);
    // 2. Becoming a hub drops the replica's own changes from its changelog: every one of them
    //    must have reached the master first, or it would be lost to the topology.
    await context.drain();
    const paused = others.filter((o) => o.dn && o.attribute === AGREEMENT_ENABLED).map((o) => o.dn!);
    for (const dn of paused) await config.modify(dn, [{ operation: 'replace', attribute: AGREEMENT_ENABLED, values: ['off'] }]);
    // A session still running when the replica becomes a hub fails with "duplicate replica ID"
    // and then waits for an administrator: let the paused agreements finish theirs first.
    await waitForIdleAgreements(config, paused);
    // 3. A hub: the replication plugin itself keeps "referral on update". The replica id stays in
    //    the entry (the csn generator state in nsState names it).
    await config.modify(state.entryDn, [{ operation: 'replace', attribute: 'nsDS5ReplicaType', values: [HUB] }]);
  },

  async unfreeze(config, state, context) {
    const others = state.others ?? [];
    const now = await config.get(state.entryDn, REPLICA_ATTRIBUTES);
    // Already a supplier again (repaired offline): 389 DS refuses to set a live supplier's id.
    if (!now || getFirst(now, 'nsDS5ReplicaType') !== state.original[0]) {
      // As a hub it lost its own id from its RUV, so the master sends it its own old changes
      // again; given back before they are recorded, its RUV breaks (see ownElementSafe). So it is
      // given back once it holds what the master has of the other ids, and its own id's element
      // is whole again (the re-sent keep-alive modify of the freeze brings it back).
      await context.settle(state.ownId);
      if (state.ownId) await waitForOwnElement(config, state);
      await restoreReplicaType(config, state);
    }
    // A supplier again sets its mapping tree to "backend" itself; a freeze that stopped before the
    // demotion left "referral on update" there.
    const tree = others.find((o) => o.dn && o.attribute === MAPPING_STATE);
    if (tree) {
      const current = await config.get(tree.dn!, [MAPPING_STATE]);
      const want = tree.original[0] ?? 'backend';
      if ((getFirst(current ?? { dn: tree.dn!, attributes: {} }, MAPPING_STATE) ?? '').toLowerCase() !== want.toLowerCase()) {
        await config.modify(tree.dn!, [{ operation: 'replace', attribute: MAPPING_STATE, values: [want] }]);
      }
    }
    await resumeAgreements(config, others.filter((o) => o.dn && o.attribute === AGREEMENT_ENABLED).map((o) => ({ dn: o.dn!, enabled: o.original })));
  },

  async serverIdentity(config, suffix) {
    const tree = await findMappingTree(config, suffix);
    const replica = await config.get(`cn=replica,${tree.dn}`, REPLICA_ATTRIBUTES);
    const id = replica ? ownId(replica) : undefined;
    return id ? `replica id ${id}` : undefined;
  },

  async discoverReplicas(config, suffix) {
    return (await agreements(config, suffix)).map((a) => a.url);
  },

  async replicationProblems(config, suffix) {
    const problems: string[] = [];
    for (const a of await agreements(config, suffix)) {
      const status = a.status ?? '';
      const m = /^Error \((-?\d+)\)/.exec(status);
      // 0 is success; 1 ("Can't acquire busy replica") is the normal back-off between suppliers,
      // and a status that calls itself transient (e.g. "Error (18) Can't acquire replica
      // (Incremental update transient warning. Backing off, will retry update later.)") too.
      if (m && m[1] !== '0' && m[1] !== '1' && !/transient|will retry/i.test(status)) problems.push(`agreement ${a.name} to ${a.url} is in error: ${status}`);
    }
    return problems;
  },
};

/**
 * Gives paused agreements their `nsds5ReplicaEnabled` back; resuming starts a session at once.
 * A first session may still meet the consumer holding the session cut by the freeze ("duplicate
 * replica ID") and then stop for an administrator: such an agreement is restarted, a few times.
 */
export async function resumeAgreements(config: Directory, agreements: { dn: string; enabled: string[] }[]): Promise<void> {
  const set = (dn: string, value: string[]) => config.modify(dn, [{ operation: 'replace', attribute: 'nsds5ReplicaEnabled', values: value }]);
  for (const a of agreements) await set(a.dn, a.enabled.length ? a.enabled : ['on']);
  const enabled = agreements.filter((a) => (a.enabled[0] ?? 'on').toLowerCase() === 'on').map((a) => a.dn);
  for (let attempt = 0; attempt < 5; attempt++) {
    await sleep(300);
    await waitForIdleAgreements(config, enabled, 5_000);
    const stuck: string[] = [];
    for (const dn of enabled) {
      const status = getFirst((await config.get(dn, ['nsds5replicaLastUpdateStatus'])) ?? { dn, attributes: {} }, 'nsds5replicaLastUpdateStatus') ?? '';
      if (/duplicate replica ID|administrator action|Error \(11\)/i.test(status)) stuck.push(dn);
    }
    if (stuck.length === 0) return;
    for (const dn of stuck) {
      await set(dn, ['off']);
      await sleep(500);
      await set(dn, ['on']);
    }
  }
}

/** Waits (at most `timeoutMs`) until none of these agreements has a session in progress. */
export async function waitForIdleAgreements(config: Directory, dns: string[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const dn of dns) {
    for (;;) {
      const e = await config.get(dn, ['nsds5replicaUpdateInProgress']);
      if (!e || (getFirst(e, 'nsds5replicaUpdateInProgress') ?? 'FALSE').toUpperCase() !== 'TRUE' || Date.now() > deadline) break;
      await sleep(50);
    }
  }
}

async function restoreReplicaType(config: Directory, state: WriteState): Promise<void> {
  try {
    await config.modify(state.entryDn, [
      { operation: 'replace', attribute: 'nsDS5ReplicaType', values: state.original },
      ...(state.others ?? []).filter((o) => !o.dn).map((o) => ({ operation: 'replace' as const, attribute: o.attribute, values: o.original })),
    ]);
  } catch (err) {
    // A hub restarted with a supplier's replica id cannot start its replica (nsState names the
    // old id): 389 DS then answers "operations error" until the entry is fixed offline.
    if (codeOf(err) !== 1) throw err;
    const id = state.others?.find((o) => o.attribute === 'nsDS5ReplicaId')?.original[0] ?? '(its id)';
    throw new RefusedError(`${config.server}: its replica did not come back after a restart while frozen (389 DS starts a hub with id ${READ_ONLY_REPLICA_ID}, which its state does not match): stop that instance, set "nsDS5ReplicaType: ${state.original[0] ?? SUPPLIER}" and "nsDS5ReplicaId: ${id}" in the entry ${state.entryDn} of its dse.ldif, start it, and run \`ldap-upgrade recover\` again`);
  }
}

/** How long a hub may take to get its own id's RUV element back before it is given back. */
export const OWN_ELEMENT_TIMEOUT_MS = 60_000;

/**
 * Makes a modify of the replica's keep-alive entry (`cn=repl keep alive <id>,<suffix>`, the
 * entry 389 DS itself updates to move a RUV forward) the replica's last change of its own id
 * before it becomes a hub. Why: demotion deletes the replica's own RUV element
 * (`replica_config_change_type_and_id`: `ruv_delete_replica`), so the master re-sends the hub
 * every change of that id it holds (`clcache_initial_anchorcsn`: no consumer max CSN → from the
 * supplier's min CSN). A re-sent add of an entry that exists is a no-op that does not update the
 * RUV (`urp_add_operation`: "this CSN won't update the max csn in RUV"); a re-sent modify of an
 * existing entry is applied and does. Without the marker, a replica whose clients last added
 * entries never gets the element back: the master re-sends the same adds at every session and
 * the hub never converges (issue #17); and a hub given back while the element exists only as an
 * id without a URL or CSN (left by no-op replays) can crash ns-slapd in `ruv_add_replica`.
 */
async function markOwnId(config: Directory, state: WriteState): Promise<void> {
  const replica = await config.get(state.entryDn, ['nsDS5ReplicaRoot']);
  const suffix = replica ? getFirst(replica, 'nsDS5ReplicaRoot') : undefined;
  if (!suffix) throw new RefusedError(`${config.server}: no nsDS5ReplicaRoot in ${state.entryDn}`);
  const dn = `cn=repl keep alive ${state.ownId},${suffix}`;
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
  const mark = () => config.modify(dn, [{ operation: 'replace', attribute: 'keepalivetimestamp', values: [stamp] }]);
  try {
    await mark();
  } catch (err) {
    if (codeOf(err) !== 32) throw err;
    // Not made yet (389 DS makes it on the first keep-alive update): made as the server does.
    await config.add(dn, { objectClass: ['top', 'ldapsubentry', 'extensibleObject'], cn: [`repl keep alive ${state.ownId}`] });
    await mark();
  }
}

/**
 * Waits until a hub's RUV holds its own former id again with a URL and a CSN (or not at all:
 * nothing of it was re-sent), as `markOwnId` makes happen once the master's re-sent changes have
 * arrived. Refused after OWN_ELEMENT_TIMEOUT_MS: promoting it then could crash the server.
 */
async function waitForOwnElement(config: Directory, state: WriteState): Promise<void> {
  const replica = await config.get(state.entryDn, ['nsDS5ReplicaRoot']);
  const suffix = replica ? getFirst(replica, 'nsDS5ReplicaRoot') : undefined;
  if (!suffix) return;
  const deadline = Date.now() + OWN_ELEMENT_TIMEOUT_MS;
  for (let delay = 20; ; delay = Math.min(delay * 1.5, 500)) {
    const values = await ruvValues(config, suffix);
    if (ownElementSafe(values, state.ownId!)) return;
    if (Date.now() >= deadline) {
      throw new RefusedError(`${config.server}: still a hub after ${OWN_ELEMENT_TIMEOUT_MS / 1000} s: its RUV holds its own replica id ${state.ownId} without a URL or CSN (the master has not re-sent its last own change yet), and 389 DS can crash when such a replica is made a supplier again; check replication from the master to it, then run \`ldap-upgrade recover\``);
    }
    await sleep(delay);
  }
}

/** Whether a RUV (its nsds50ruv values) holds replica id `id` whole (URL and CSNs) or not at all. */
export function ownElementSafe(values: string[], id: string): boolean {
  for (const v of values) {
    const m = /^\{replica (\d+)(?:\s+([^}\s]+))?\}\s*(?:([0-9a-f]{20})\s+([0-9a-f]{20}))?/i.exec(v.trim());
    if (m && String(Number(m[1])) === id) return Boolean(m[2] && m[3]);
  }
  return true;
}

async function ruvValues(d: Directory, suffix: string): Promise<string[]> {
  for await (const entry of d.search({ base: suffix, scope: 'sub', filter: RUV_FILTER, attributes: ['nsds50ruv'] })) return getValues(entry, 'nsds50ruv').map(String);
  return [];
}

function ownId(replica: LdapEntry): string | undefined {
  const id = getFirst(replica, 'nsDS5ReplicaId');
  return id && id !== READ_ONLY_REPLICA_ID ? String(Number(id)) : undefined;
}

/** `{replica RID URL} MINCSN MAXCSN` values → RID → max CSN (replicas without changes skipped). */
export function parseRuv(values: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const m = /^\{replica (\d+)[^}]*\}\s+([0-9a-f]{20})\s+([0-9a-f]{20})/i.exec(v.trim());
    if (m) out.set(m[1]!, m[3]!.toLowerCase());
  }
  return out;
}

/** The suffix's entry under cn=mapping tree,cn=config. */
export async function findMappingTree(config: Directory, suffix: string): Promise<LdapEntry> {
  const want = normalizeDn(suffix);
  for await (const e of config.search({ base: MAPPING_TREE, scope: 'one', filter: '(objectClass=nsMappingTree)', attributes: ['cn', 'nsslapd-state', 'nsslapd-referral'] })) {
    if (getValues(e, 'cn').some((cn) => normalizeDn(String(cn).replace(/^"|"$/g, '')) === want)) return e;
  }
  throw new RefusedError(`${config.server}: no mapping tree entry for ${suffix} under ${MAPPING_TREE}`);
}

interface Agreement {
  dn: string;
  name: string;
  url: string;
  status?: string;
  /** nsds5ReplicaEnabled values ([] when absent: enabled). */
  enabled: string[];
}

async function agreements(config: Directory, suffix: string): Promise<Agreement[]> {
  const want = normalizeDn(suffix);
  const out: Agreement[] = [];
  for await (const e of config.search({
    base: MAPPING_TREE, scope: 'sub', filter: '(objectClass=nsds5replicationagreement)',
    attributes: ['cn', 'nsDS5ReplicaRoot', 'nsDS5ReplicaHost', 'nsDS5ReplicaPort', 'nsDS5ReplicaTransportInfo', 'nsds5replicaLastUpdateStatus', 'nsds5ReplicaEnabled'],
  })) {
    if (normalizeDn(getFirst(e, 'nsDS5ReplicaRoot') ?? '') !== want) continue;
    const secure = (getFirst(e, 'nsDS5ReplicaTransportInfo') ?? '').toUpperCase() === 'SSL';
    out.push({
      dn: e.dn,
      enabled: getValues(e, 'nsds5ReplicaEnabled').map(String),
      name: getFirst(e, 'cn') ?? e.dn,
      url: `${secure ? 'ldaps' : 'ldap'}://${getFirst(e, 'nsDS5ReplicaHost')}:${getFirst(e, 'nsDS5ReplicaPort')}`,
      status: getFirst(e, 'nsds5replicaLastUpdateStatus'),
    });
  }
  return out;
}

