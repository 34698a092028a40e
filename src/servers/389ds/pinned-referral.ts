import { setTimeout as sleep } from 'node:timers/promises';
import { RefusedError } from '../../errors.js';
import type { Directory } from '../../ldap/directory.js';
import { codeOf } from '../../ldap/wire.js';
import { getFirst, getValues, normalizeDn, sameValuesIgnoringCase, type LdapEntry } from '../../ldap/entry.js';
import type { FreezeContext, WriteState } from '../adapter.js';

/**
 * The 389 DS freeze (why and what was measured: README.md in this folder). A supplier's mapping
 * tree set to `referral on update` refers client writes while replicated ones apply, but 389 DS
 * resets that state at each incoming replication session — unless the node is set up for "chain
 * on update" (`repl_set_mtn_state_and_referrals` does not touch the state then). So the freeze
 * adds a chaining backend to the suffix's node as its second backend, with the replication
 * plugin's `repl_chain_on_update` distribution function, and sets the state in the same modify.
 * The chaining backend is never used: client updates are referred before distribution
 * (`mtn_get_be`), and the function sends searches, internal, replicated and Directory Manager
 * operations to the local database (binds too, unless the password policy is global; then they
 * are chained to the master, where the same accounts are). The replica stays a supplier with
 * its id, its RUV and its agreements: nothing to drop, nothing re-sent.
 */

export const STATE = 'nsslapd-state';
const FROZEN_STATE = 'referral on update';
const BACKEND = 'nsslapd-backend';
const PLUGIN = 'nsslapd-distribution-plugin';
const FUNCT = 'nsslapd-distribution-funct';
const REFERRAL = 'nsslapd-referral';
const CHAIN_ON_UPDATE = 'repl_chain_on_update';
/** The chaining backend instance the freeze adds (one per server: a run freezes a replica once). */
export const CHAIN_NAME = 'ldapupgradefreeze';
const CHAIN_DN = `cn=${CHAIN_NAME},cn=chaining database,cn=plugins,cn=config`;
/** The mapping-tree attributes the freeze changes, whose values before it are recorded. */
export const PINNED_ATTRIBUTES = [STATE, BACKEND, PLUGIN, FUNCT, REFERRAL];

/**
 * Why a recorded write state is not a pinned freeze of `suffix` (see ServerAdapter.writeStateProblem):
 * the suffix's own mapping-tree entry, the freeze's attributes only, values of their kinds.
 */
export function pinnedStateProblem(state: WriteState, suffix: string): string | undefined {
  if (state.attribute !== STATE) return `attribute ${JSON.stringify(state.attribute)} is not ${STATE}`;
  if (!isMappingTreeOf(state.entryDn, suffix)) return `entry ${JSON.stringify(state.entryDn)} is not the mapping tree entry of ${suffix}`;
  for (const o of [{ attribute: STATE, original: state.original, dn: state.entryDn }, ...(state.others ?? [])]) {
    if (o.dn !== undefined && normalizeDn(o.dn) !== normalizeDn(state.entryDn)) return `it restores ${JSON.stringify(o.attribute)} on another entry, ${JSON.stringify(o.dn)}`;
    const kind = PINNED_VALUES[o.attribute.toLowerCase()];
    if (!kind) return `attribute ${JSON.stringify(o.attribute)} is not one the freeze changes`;
    const bad = o.original.find((v) => !kind.test(v));
    if (bad !== undefined) return `${o.attribute} value ${JSON.stringify(bad)} is not of the kind the freeze records`;
  }
  return undefined;
}

/** The kind of value each pinned attribute takes (what readWriteState can record, nothing else). */
const PINNED_VALUES: Record<string, RegExp> = {
  [STATE]: /^(backend|disabled|referral|referral on update|container)$/i,
  [BACKEND]: /^[A-Za-z0-9_-]{1,64}$/,
  [PLUGIN]: /^[A-Za-z0-9_./-]{1,128}$/,
  [FUNCT]: /^[A-Za-z0-9_]{1,64}$/,
  [REFERRAL]: /^ldaps?:\/\/[^\s\0-\x1f]{1,512}$/i,
};

/** Whether `dn` is `cn=<suffix>,cn=mapping tree,cn=config` (its cn quoted or escaped, as 389 DS writes it). */
export function isMappingTreeOf(dn: string, suffix: string): boolean {
  // The first RDN's value may be quoted (commas inside) or escaped (RFC 4514).
  const m = /^\s*cn\s*=\s*("(?:[^"\\]|\\.)*"|(?:[^,\\]|\\.)*)\s*,(.*)$/is.exec(dn);
  if (!m || normalizeDn(m[2]!) !== 'cn=mapping tree,cn=config') return false;
  const value = m[1]!.startsWith('"') ? m[1]!.slice(1, -1) : unescapeDnValue(m[1]!);
  return normalizeDn(value) === normalizeDn(suffix);
}

/** An RDN value with its RFC 4514 escapes (`\3D`, `\,`) undone. */
function unescapeDnValue(v: string): string {
  // Hex escapes are UTF-8 bytes: through percent-encoding, which decodes them as such.
  const percent = v.trim().replace(/%/g, '%25').replace(/\\([0-9a-fA-F]{2})/g, '%$1').replace(/\\(.)/g, (_m, c: string) => encodeURIComponent(c));
  try {
    return decodeURIComponent(percent);
  } catch {
    return v;
  }
}

/** Whether a mapping-tree entry is pinned (chain-on-update layout: its state survives sessions). */
export function isPinned(tree: LdapEntry): boolean {
  return (getFirst(tree, FUNCT) ?? '').toLowerCase() === CHAIN_ON_UPDATE && getValues(tree, BACKEND).some((b) => String(b).toLowerCase() === CHAIN_NAME);
}

/** The write state of a supplier, frozen by pinning its mapping tree's referral state. */
export function pinnedWriteState(tree: LdapEntry): Pick<WriteState, 'entryDn' | 'attribute' | 'original' | 'others'> {
  return {
    entryDn: tree.dn, attribute: STATE, original: [getFirst(tree, STATE) ?? 'backend'],
    others: PINNED_ATTRIBUTES.filter((a) => a !== STATE).map((attribute) => ({ dn: tree.dn, attribute, original: getValues(tree, attribute).map(String) })),
  };
}

export async function freezePinned(config: Directory, state: WriteState, context: FreezeContext): Promise<void> {
  const tree = await config.get(state.entryDn, PINNED_ATTRIBUTES);
  if (!tree) throw new RefusedError(`${config.server}: its mapping tree entry ${state.entryDn} is gone`);
  if (!isPinned(tree)) {
    if (getFirst(tree, PLUGIN) || getValues(tree, BACKEND).length > 1) {
      throw new RefusedError(`${config.server}: its mapping tree for ${context.suffix} already has ${getValues(tree, BACKEND).length} backends or a distribution plugin (${getFirst(tree, PLUGIN) ?? 'none'}): this tool freezes a replica by adding its own, and leaves this one alone; freeze it by hand or remove that setup`);
    }
    await ensureChainingBackend(config, context.suffix, context.masterUrl);
    const referral = getValues(tree, REFERRAL).length ? [] : [{ operation: 'replace' as const, attribute: REFERRAL, values: [`${context.masterUrl.replace(/\/$/, '')}/${encodeURIComponent(context.suffix)}`] }];
    // One modify: the node never refers without being pinned, nor is pinned without referring.
    await config.modify(state.entryDn, [
      { operation: 'add', attribute: BACKEND, values: [CHAIN_NAME] },
      { operation: 'replace', attribute: PLUGIN, values: ['libreplication-plugin'] },
      { operation: 'replace', attribute: FUNCT, values: [CHAIN_ON_UPDATE] },
      ...referral,
      { operation: 'replace', attribute: STATE, values: [FROZEN_STATE] },
    ]);
  }
  // Client writes made just before are still on their way to the master: the scripts must see
  // them (and the run's convergence must not wait on changes of the replica's that never left).
  await context.drain();
}

/** Gives the node back its attributes as recorded, then removes the chaining backend. Idempotent. */
export async function unfreezePinned(config: Directory, state: WriteState): Promise<void> {
  const tree = await config.get(state.entryDn, PINNED_ATTRIBUTES);
  if (tree) {
    const changes = [];
    // Only the freeze's own backend goes: the node's database(s) stay whatever was recorded.
    if (getValues(tree, BACKEND).some((b) => String(b).toLowerCase() === CHAIN_NAME)) {
      changes.push({ operation: 'delete' as const, attribute: BACKEND, values: [CHAIN_NAME] });
    }
    for (const { attribute, original } of [{ attribute: STATE, original: state.original }, ...(state.others ?? [])]) {
      if (attribute === BACKEND) continue;
      const now = getValues(tree, attribute).map(String);
      if (sameValuesIgnoringCase(now, original)) continue;
      changes.push(original.length ? { operation: 'replace' as const, attribute, values: original } : { operation: 'delete' as const, attribute, values: [] });
    }
    // Unpinning and the state in one modify: never pinned and "backend" apart from each other.
    if (changes.length) await config.modify(state.entryDn, changes);
  }
  await removeChainingBackend(config);
}


async function ensureChainingBackend(config: Directory, suffix: string, masterUrl: string): Promise<void> {
  if (await config.get(CHAIN_DN, ['1.1'])) return;
  try {
    await config.add(CHAIN_DN, {
      objectClass: ['top', 'extensibleObject', 'nsBackendInstance'], cn: [CHAIN_NAME], 'nsslapd-suffix': [suffix],
      // Used only to chain binds when the password policy is global (see above).
      nsfarmserverurl: [`${masterUrl.replace(/\/$/, '')}/`],
    });
  } catch (err) {
    throw new RefusedError(`${config.server}: cannot add the chaining backend ${CHAIN_DN} that holds its freeze (${codeOf(err) ?? ''} ${err instanceof Error ? err.message : String(err)}): is the chaining database plugin enabled?`, { cause: err });
  }
}

/**
 * 389 DS gives the instance a child (`cn=monitor`) about a second after it starts — after the add,
 * and after a restart with the instance in dse.ldif (`cb_instance_add_monitor_later`, scheduled
 * with `slapi_eq_once_rel` one second on, in chainingdb/cb_instance.c). A removal inside that
 * second finds no child, then the child appears and the delete is refused as non-leaf (66): the
 * subtree is read again and deleted deepest first until the instance goes.
 */
async function removeChainingBackend(config: Directory): Promise<void> {
  await untilMonitorChild(config);
  for (let attempt = 1; ; attempt++) {
    if (!(await config.get(CHAIN_DN, ['1.1']))) return;
    const dns: string[] = [];
    for await (const e of config.search({ base: CHAIN_DN, scope: 'sub', filter: '(objectClass=*)', attributes: ['1.1'] })) dns.push(e.dn);
    try {
      for (const dn of dns.sort((x, y) => y.length - x.length)) {
        try {
          await config.delete(dn);
        } catch (err) {
          if (codeOf(err) !== 32) throw err;
        }
      }
      return;
    } catch (err) {
      if (codeOf(err) !== 66 || attempt >= NON_LEAF_ATTEMPTS) throw err;
      await sleep(NON_LEAF_PAUSE_MS);
    }
  }
}

/**
 * Waits (at most MONITOR_WAIT_MS) until the instance has its `cn=monitor` child: the event 389 DS
 * schedules a second after the instance starts has then run. An instance deleted before that
 * event leaves it to run on the freed instance — a replica's ns-slapd 3.1.2 died with a general
 * protection fault in libc (exit 139) in runs that froze and gave back within that second (a
 * forced re-run that had nothing to do, a recover right after a freeze). An instance without a
 * monitor child after the wait is removed all the same.
 */
async function untilMonitorChild(config: Directory): Promise<void> {
  const deadline = Date.now() + MONITOR_WAIT_MS;
  while (Date.now() < deadline) {
    if (!(await config.get(CHAIN_DN, ['1.1']))) return;
    if (await config.get(`cn=monitor,${CHAIN_DN}`, ['1.1'])) return;
    await sleep(MONITOR_POLL_MS);
  }
}

/** How long a removal waits for 389 DS to give the instance its monitor child, and how often it looks. */
const MONITOR_WAIT_MS = 3_000;
const MONITOR_POLL_MS = 100;

/** How often a removal refused as non-leaf is tried again, and the pause between (3 s in all). */
const NON_LEAF_ATTEMPTS = 7;
const NON_LEAF_PAUSE_MS = 500;
