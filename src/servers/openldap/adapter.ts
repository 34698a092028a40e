import { openldapConfig } from './config.js';
import { openldapSchema } from './schema.js';
import { RefusedError } from '../../errors.js';
import type { Directory } from '../../ldap/directory.js';
import { getValues, normalizeDn, sameValuesIgnoringCase } from '../../ldap/entry.js';
import { escapeFilterValue } from '../../ldap/escape.js';
import type { ReplicationState, ServerAdapter, WriteState } from '../adapter.js';
import { compareCsnSets, parseContextCsn } from '../csn.js';

/**
 * OpenLDAP (multi-provider syncrepl). Freeze is `olcReadOnly: TRUE` on the replica's own database
 * entry for the suffix — never on the frontend, which would lock cn=config itself (docs/replication.md "Server facts").
 */
export const openLdapAdapter: ServerAdapter = {
  kind: 'openldap',
  // syncprov keeps no list of the consumers that pull from it.
  discoveryBlindSpot: 'read-only consumers that pull from a provider cannot be found from it (syncprov keeps no list of them)',
  backupAttributes: ['*', 'entryUUID', 'entryCSN', 'structuralObjectClass', 'createTimestamp', 'creatorsName', 'modifyTimestamp', 'modifiersName', 'contextCSN'],
  schema: openldapSchema,
  config: openldapConfig,

  async readReplicationState(data, suffix) {
    const entry = await data.get(suffix, ['contextCSN']);
    return parseContextCsn(entry ? getValues(entry, 'contextCSN').map(String) : []);
  },

  compare: (master: ReplicationState, replica: ReplicationState) => compareCsnSets(master, replica),

  writeStateProblem(state) {
    if (state.attribute !== 'olcReadOnly') return `attribute ${JSON.stringify(state.attribute)} is not olcReadOnly`;
    if (!/^olcDatabase=\{\d+\}[a-z]+,cn=config$/i.test(normalizeDn(state.entryDn)) || /frontend/i.test(state.entryDn)) {
      return `entry ${JSON.stringify(state.entryDn)} is not a database entry of cn=config`;
    }
    if (!state.original.every((v) => /^(TRUE|FALSE)$/i.test(v))) return `olcReadOnly values ${JSON.stringify(state.original)} are not TRUE or FALSE`;
    if (state.others?.length) return 'it lists other attributes to restore (an OpenLDAP freeze changes olcReadOnly alone)';
    return undefined;
  },

  async readWriteState(config, suffix) {
    const db = await findDatabase(config, suffix);
    const original = getValues(db.entry, 'olcReadOnly').map(String);
    const readOnly = original.some((v) => v.toUpperCase() === 'TRUE');
    // A syncrepl consumer that is not a provider in turn takes no client writes ("shadow
    // context"): read-only by nature, never frozen by a run, and never a master.
    const consumer = getValues(db.entry, 'olcSyncrepl').length > 0
      && !getValues(db.entry, 'olcMultiProvider').concat(getValues(db.entry, 'olcMirrorMode')).some((v) => String(v).toUpperCase() === 'TRUE');
    return {
      entryDn: db.entry.dn, attribute: 'olcReadOnly', original, frozen: readOnly || consumer,
      why: consumer ? 'a read-only consumer (olcSyncrepl without olcMultiProvider)' : readOnly ? 'olcReadOnly: TRUE' : undefined,
    };
  },

  async serverIdentity(config) {
    const root = await config.get('cn=config', ['olcServerID']);
    const ids = root ? getValues(root, 'olcServerID').map(String) : [];
    // "1 ldap://host" lists (one for every node, as a replicated cn=config has) name no single node.
    return ids.length === 1 && /^\s*\d+\s*$/.test(ids[0]!) && Number(ids[0]) !== 0 ? `olcServerID ${Number(ids[0])}` : undefined;
  },

  async freeze(config, state, context) {
    assertNotFrontend(state);
    await config.modify(state.entryDn, [{ operation: 'replace', attribute: 'olcReadOnly', values: ['TRUE'] }]);
    await context.drain();
  },

  async unfreeze(config, state) {
    assertNotFrontend(state);
    // Idempotent: a replica already in its original state is given back (slapd answers 16 to a
    // `replace` with no values when the attribute is absent, which made `recover` fail forever).
    const now = await config.get(state.entryDn, ['olcReadOnly']);
    if (!now) throw new RefusedError(`${config.server}: ${state.entryDn} no longer exists in cn=config`);
    const current = getValues(now, 'olcReadOnly').map(String);
    if (sameValuesIgnoringCase(current, state.original)) return;
    await config.modify(state.entryDn, [
      state.original.length > 0
        ? { operation: 'replace', attribute: 'olcReadOnly', values: state.original }
        : { operation: 'delete', attribute: 'olcReadOnly', values: [] },
    ]);
  },

  async discoverReplicas(config, suffix) {
    const db = await findDatabase(config, suffix);
    const urls: string[] = [];
    for (const value of getValues(db.entry, 'olcSyncrepl').map(String)) {
      const m = /provider=("?)([^"\s]+)\1/.exec(value);
      if (m) urls.push(m[2]!.replace(/\/$/, ''));
    }
    return urls;
  },
};

async function findDatabase(config: Directory, suffix: string) {
  const want = normalizeDn(suffix);
  for await (const entry of config.search({
    base: 'cn=config', scope: 'one', filter: `(olcSuffix=${escapeFilterValue(suffix)})`,
    attributes: ['olcSuffix', 'olcReadOnly', 'olcSyncrepl', 'olcDatabase', 'olcMultiProvider', 'olcMirrorMode'],
  })) {
    if (getValues(entry, 'olcSuffix').some((s) => normalizeDn(String(s)) === want)) return { entry };
  }
  throw new RefusedError(`${config.server}: no database for ${suffix} in cn=config (is the suffix served there, and may ${'the config bind DN'} read cn=config?)`);
}


function assertNotFrontend(state: WriteState): void {
  // olcReadOnly on the frontend also locks cn=config: it could not be undone over LDAP.
  if (/^olcDatabase=\{-1\}frontend/i.test(state.entryDn) || /^cn=config$/i.test(state.entryDn)) {
    throw new RefusedError(`refusing to set olcReadOnly on ${state.entryDn}: it would lock cn=config itself`);
  }
}
