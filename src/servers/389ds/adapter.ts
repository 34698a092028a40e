import { dirsrvSchema } from './schema.js';
import { dirsrvConfig } from './config.js';
import { findMappingTree, MAPPING_TREE } from './mapping-tree.js';

export { findMappingTree };
import { RefusedError } from '../../errors.js';
import type { Directory } from '../../ldap/directory.js';
import { demotedStateProblem, unfreezeDemoted } from './legacy-hub.js';
import { freezePinned, isPinned, PINNED_ATTRIBUTES, pinnedStateProblem, pinnedWriteState, STATE, unfreezePinned } from './pinned-referral.js';
import { getFirst, getValues, normalizeDn, type LdapEntry } from '../../ldap/entry.js';
import type { ServerAdapter } from '../adapter.js';
import { compareCsnSets } from '../csn.js';

const RUV_FILTER = '(&(objectClass=nsTombstone)(nsUniqueId=ffffffff-ffffffff-ffffffff-ffffffff))';
const REPLICA_ATTRIBUTES = ['nsDS5ReplicaType', 'nsDS5ReplicaId'];
const SUPPLIER = '3';
/** The replica id 389 DS gives every read-only replica (hub or consumer) when it starts. */
const READ_ONLY_REPLICA_ID = '65535';

/**
 * 389 Directory Server (multi-supplier). A replica is frozen by pinning its mapping tree's
 * `referral on update` state (pinned-referral.ts): client writes get a referral (10) to the
 * suppliers, replicated changes apply, and the replica stays a supplier. What was tried before
 * (demotion to a hub, whose unfreeze legacy-hub.ts keeps for runs of earlier versions) and why:
 * README.md in this folder.
 */
export const dirsrvAdapter: ServerAdapter = {
  kind: '389ds',
  // aci is returned only when asked for by name.
  backupAttributes: ['*', 'aci', 'nsUniqueId', 'createTimestamp', 'creatorsName', 'modifyTimestamp', 'modifiersName'],
  schema: dirsrvSchema,
  config: dirsrvConfig,

  async readReplicationState(data, suffix) {
    return parseRuv(await ruvValues(data, suffix));
  },

  compare: (master, replica, ownId) => compareCsnSets(master, replica, ownId),

  async readWriteState(config, suffix) {
    const tree = await findMappingTree(config, suffix, PINNED_ATTRIBUTES);
    const replica = await config.get(`cn=replica,${tree.dn}`, REPLICA_ATTRIBUTES);
    if (!replica) throw new RefusedError(`${config.server}: ${suffix} is not replicated there (no cn=replica,${tree.dn})`);
    const state = getFirst(tree, STATE) ?? 'backend';
    const type = getFirst(replica, 'nsDS5ReplicaType') ?? '';
    const referring = state.toLowerCase() !== 'backend';
    const pinned = isPinned(tree);
    return {
      ...pinnedWriteState(tree),
      // Not a supplier (a hub or a consumer): read-only for good, left alone by the run.
      frozen: type !== SUPPLIER || referring,
      why: type !== SUPPLIER ? `not a supplier (nsDS5ReplicaType: ${type || 'unset'}: a hub or consumer)` : referring ? `nsslapd-state: ${state}${pinned ? ' (pinned by a chaining backend)' : ''}` : undefined,
      // A supplier its administrator set to "referral on update" (not pinned) refers client
      // writes only until its next incoming replication session: frozen by the run all the same,
      // given back so.
      transient: type === SUPPLIER && referring && !pinned ? true : undefined,
      ownId: ownId(replica),
    };
  },

  writeStateProblem(state, suffix) {
    return state.attribute === 'nsDS5ReplicaType' ? demotedStateProblem(state, suffix) : pinnedStateProblem(state, suffix);
  },

  freeze: freezePinned,

  async unfreeze(config, state, context) {
    // Frozen by an earlier version of this tool (demoted to a hub): given back that way.
    if (state.attribute === 'nsDS5ReplicaType') return unfreezeDemoted(config, state, context, (suffix) => ruvValues(config, suffix));
    await unfreezePinned(config, state);
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
    const { problems, warnings } = await agreementHealth(config, suffix);
    return [...problems, ...warnings];
  },

  async replicationHealth(config, suffix) {
    return agreementHealth(config, suffix);
  },

  async replicationStatus(config, suffix) {
    return (await agreements(config, suffix)).map((a) => `agreement ${a.name} to ${a.url}${a.enabled.some((v) => v.toLowerCase() === 'off') ? ' (disabled)' : ''}: ${a.status ?? 'no session yet'}`);
  },
};

/**
 * The agreements' last statuses. 0 is success; 1 ("Can't acquire busy replica") is the normal
 * back-off between suppliers, and a status that calls itself transient (e.g. "Error (18) Can't
 * acquire replica (Incremental update transient warning. Backing off, will retry update
 * later.)") too. A connection error (-1, "Can't contact LDAP server") is kept from the last
 * session until the next one — after its back-off, up to 300 s by default — so right after a
 * restart it is stale: a warning, since the run's canary (master → replica) and drain (replica →
 * master) prove the link or refuse the run. Any other error is a problem.
 */
async function agreementHealth(config: Directory, suffix: string): Promise<{ problems: string[]; warnings: string[] }> {
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const a of await agreements(config, suffix)) {
    const status = a.status ?? '';
    const m = /^Error \((-?\d+)\)/.exec(status);
    if (!m || m[1] === '0' || m[1] === '1' || /transient|will retry/i.test(status)) continue;
    if (m[1] === '-1' || /can't contact ldap server/i.test(status)) {
      warnings.push(`agreement ${a.name} to ${a.url} last reported a connection error (${status}); 389 DS updates it at its next session: the run's canary and drain check the link`);
    } else {
      problems.push(`agreement ${a.name} to ${a.url} is in error: ${status}`);
    }
  }
  return { problems, warnings };
}

/** The nsds50ruv values of the suffix's RUV tombstone entry. */
export async function ruvValues(d: Directory, suffix: string): Promise<string[]> {
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

