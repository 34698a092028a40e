import { RefusedError } from '../../errors.js';
import type { Directory } from '../../ldap/directory.js';
import { getFirst, getValues, normalizeDn, type LdapEntry } from '../../ldap/entry.js';
import type { ServerAdapter } from '../adapter.js';
import { compareCsnSets } from '../csn.js';

const MAPPING_TREE = 'cn=mapping tree,cn=config';
const RUV_FILTER = '(&(objectClass=nsTombstone)(nsUniqueId=ffffffff-ffffffff-ffffffff-ffffffff))';
const FROZEN_STATE = 'referral on update';

/**
 * 389 Directory Server (multi-supplier). `nsslapd-readonly` would also refuse replicated changes,
 * so a replica is frozen by setting its mapping-tree entry for the suffix to
 * `nsslapd-state: referral on update` (client writes get a referral to the master; replication
 * still applies), and given back its original state (LAB-NOTES: 389 DS).
 */
export const dirsrvAdapter: ServerAdapter = {
  kind: '389ds',

  async readReplicationState(data, suffix) {
    for await (const entry of data.search({ base: suffix, scope: 'sub', filter: RUV_FILTER, attributes: ['nsds50ruv'] })) {
      return parseRuv(getValues(entry, 'nsds50ruv').map(String));
    }
    return new Map();
  },

  compare: (master, replica) => compareCsnSets(master, replica),

  async readWriteState(config, suffix) {
    const tree = await findMappingTree(config, suffix);
    const state = getFirst(tree, 'nsslapd-state') ?? 'backend';
    const referral = getValues(tree, 'nsslapd-referral').map(String);
    return {
      entryDn: tree.dn, attribute: 'nsslapd-state', original: [state], frozen: state.toLowerCase() !== 'backend',
      others: [{ attribute: 'nsslapd-referral', original: referral }],
    };
  },

  async freeze(config, state, masterUrl) {
    const referral = state.others?.find((o) => o.attribute === 'nsslapd-referral')?.original ?? [];
    await config.modify(state.entryDn, [
      { operation: 'replace', attribute: 'nsslapd-state', values: [FROZEN_STATE] },
      // Clients are referred to the master; keep a referral the replication set up already.
      ...(referral.length === 0 ? [{ operation: 'replace' as const, attribute: 'nsslapd-referral', values: [masterUrl] }] : []),
    ]);
  },

  async unfreeze(config, state) {
    await config.modify(state.entryDn, [
      { operation: 'replace', attribute: 'nsslapd-state', values: state.original.length ? state.original : ['backend'] },
      ...(state.others ?? []).map((o) => ({ operation: 'replace' as const, attribute: o.attribute, values: o.original })),
    ]);
  },

  async discoverReplicas(config, suffix) {
    return (await agreements(config, suffix)).map((a) => a.url);
  },

  async replicationProblems(config, suffix) {
    const problems: string[] = [];
    for (const a of await agreements(config, suffix)) {
      const status = a.status ?? '';
      const m = /^Error \((-?\d+)\)/.exec(status);
      if (m && m[1] !== '0') problems.push(`agreement ${a.name} to ${a.url} is in error: ${status}`);
    }
    return problems;
  },
};

/** `{replica RID URL} MINCSN MAXCSN` values → RID → max CSN (replicas without changes skipped). */
export function parseRuv(values: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const m = /^\{replica (\d+)[^}]*\}\s+([0-9a-f]{20})\s+([0-9a-f]{20})/i.exec(v.trim());
    if (m) out.set(m[1]!, m[3]!.toLowerCase());
  }
  return out;
}

async function findMappingTree(config: Directory, suffix: string): Promise<LdapEntry> {
  const want = normalizeDn(suffix);
  for await (const e of config.search({ base: MAPPING_TREE, scope: 'one', filter: '(objectClass=nsMappingTree)', attributes: ['cn', 'nsslapd-state', 'nsslapd-referral'] })) {
    if (getValues(e, 'cn').some((cn) => normalizeDn(String(cn).replace(/^"|"$/g, '')) === want)) return e;
  }
  throw new RefusedError(`${config.server}: no mapping tree entry for ${suffix} under ${MAPPING_TREE}`);
}

interface Agreement {
  name: string;
  url: string;
  status?: string;
}

async function agreements(config: Directory, suffix: string): Promise<Agreement[]> {
  const want = normalizeDn(suffix);
  const out: Agreement[] = [];
  for await (const e of config.search({
    base: MAPPING_TREE, scope: 'sub', filter: '(objectClass=nsds5replicationagreement)',
    attributes: ['cn', 'nsDS5ReplicaRoot', 'nsDS5ReplicaHost', 'nsDS5ReplicaPort', 'nsDS5ReplicaTransportInfo', 'nsds5replicaLastUpdateStatus'],
  })) {
    if (normalizeDn(getFirst(e, 'nsDS5ReplicaRoot') ?? '') !== want) continue;
    const secure = (getFirst(e, 'nsDS5ReplicaTransportInfo') ?? '').toUpperCase() === 'SSL';
    out.push({
      name: getFirst(e, 'cn') ?? e.dn,
      url: `${secure ? 'ldaps' : 'ldap'}://${getFirst(e, 'nsDS5ReplicaHost')}:${getFirst(e, 'nsDS5ReplicaPort')}`,
      status: getFirst(e, 'nsds5replicaLastUpdateStatus'),
    });
  }
  return out;
}

