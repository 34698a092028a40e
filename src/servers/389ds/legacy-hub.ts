import { setTimeout as sleep } from 'node:timers/promises';
import { RefusedError } from '../../errors.js';
import type { Directory } from '../../ldap/directory.js';
import { codeOf } from '../../ldap/wire.js';
import { getFirst, getValues, normalizeDn, parentDn } from '../../ldap/entry.js';
import { isMappingTreeOf } from './pinned-referral.js';
import type { UnfreezeContext, WriteState } from '../adapter.js';

/**
 * Unfreezing a replica frozen the way earlier versions of this tool froze it: demoted to a hub
 * (`nsDS5ReplicaType: 2`, agreements paused), kept so that `recover` still finishes a run that
 * such a version left frozen. New runs pin the referral state instead (pinned-referral.ts; why:
 * README.md in this folder).
 */

const MAPPING_STATE = 'nsslapd-state';
const AGREEMENT_ENABLED = 'nsds5ReplicaEnabled';
/** The replica id 389 DS gives every read-only replica (hub or consumer) when it starts. */
const READ_ONLY_REPLICA_ID = '65535';
const SUPPLIER = '3';
/** How long a hub may take to get its own id's RUV element back before it is given back. */
export const OWN_ELEMENT_TIMEOUT_MS = 60_000;

/**
 * Why a recorded write state is not a demotion of `suffix` by an earlier version: the suffix's
 * `cn=replica` entry (type 3, a supplier, to restore), its mapping tree's state and its own
 * agreements' enabled flags, nothing else.
 */
export function demotedStateProblem(state: WriteState, suffix: string): string | undefined {
  const replica = normalizeDn(state.entryDn);
  if (!/^cn=replica,/.test(replica) || !isMappingTreeOf(parentDn(state.entryDn), suffix)) return `entry ${JSON.stringify(state.entryDn)} is not the replica entry of ${suffix}`;
  if (state.original.length !== 1 || state.original[0] !== SUPPLIER) return `nsDS5ReplicaType values ${JSON.stringify(state.original)} are not ${SUPPLIER}`;
  for (const o of state.others ?? []) {
    const dn = normalizeDn(o.dn ?? '');
    if (o.attribute === MAPPING_STATE && dn === normalizeDn(parentDn(state.entryDn)) && o.original.every((v) => /^(backend|referral on update)$/i.test(v))) continue;
    if (o.attribute === AGREEMENT_ENABLED && dn.endsWith(`,${replica}`) && o.original.every((v) => /^(on|off)$/i.test(v))) continue;
    return `it restores ${JSON.stringify(o.attribute)} on ${JSON.stringify(o.dn)}, which a demotion does not change`;
  }
  return undefined;
}

export async function unfreezeDemoted(config: Directory, state: WriteState, context: UnfreezeContext, ruvValues: (suffix: string) => Promise<string[]>): Promise<void> {
  const others = state.others ?? [];
  const now = await config.get(state.entryDn, ['nsDS5ReplicaType', 'nsDS5ReplicaRoot']);
  // Already a supplier again (repaired offline): 389 DS refuses to set a live supplier's id.
  if (!now || getFirst(now, 'nsDS5ReplicaType') !== state.original[0]) {
    // As a hub it lost its own id from its RUV, so the master sends it its own old changes again;
    // given back before they are recorded, its RUV breaks (see ownElementSafe). So it is given
    // back once it holds what the master has of the other ids, and its own id's element is whole.
    await context.settle(state.ownId);
    const suffix = now ? getFirst(now, 'nsDS5ReplicaRoot') : undefined;
    if (state.ownId && suffix) await waitForOwnElement(config, state.ownId, () => ruvValues(suffix));
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
}

/**
 * Waits until a hub's RUV holds its own former id again with a URL and a CSN (or not at all),
 * refused after OWN_ELEMENT_TIMEOUT_MS: promoting it while its element is an id without URL or CSN
 * (left by no-op replays) reaches `ruv_add_replica`, which compares that NULL purl with strcasecmp.
 */
async function waitForOwnElement(config: Directory, id: string, read: () => Promise<string[]>): Promise<void> {
  const deadline = Date.now() + OWN_ELEMENT_TIMEOUT_MS;
  for (let delay = 20; ; delay = Math.min(delay * 1.5, 500)) {
    if (ownElementSafe(await read(), id)) return;
    if (Date.now() >= deadline) {
      throw new RefusedError(`${config.server}: still a hub after ${OWN_ELEMENT_TIMEOUT_MS / 1000} s: its RUV holds its own replica id ${id} without a URL or CSN (the master has not re-sent its last own change yet), and 389 DS can crash when such a replica is made a supplier again; check replication from the master to it, then run \`ldap-upgrade recover\``);
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
