import { canonicalDn } from '../../ldap/canonical-dn.js';
import type { WriteIntent } from './write-plan.js';

/** Where server configuration and schema live: never written by data scripts. */
const SERVER_HOMES = ['cn=config', 'cn=schema', 'cn=subschema'];

/** Whether normalised `dn` equals normalised `base` or lies below it. */
function under(dn: string, base: string): boolean {
  return dn === base || dn.endsWith(',' + base);
}

/** The tool's own records under a version entry, normalised once (a script writes many entries). */
let ownRecords: { versionEntry: string; normalized: string; own: { dn: string; key: string }[] } | undefined;

function recordsOf(versionEntry: string) {
  if (ownRecords?.versionEntry !== versionEntry) {
    // Compared in canonical form: `2.5.4.3=lock,…` or `cn=\\6cock,…` is the lock too.
    const own = [versionEntry, `cn=lock,${versionEntry}`, `cn=runs,${versionEntry}`, `cn=history,${versionEntry}`];
    ownRecords = { versionEntry, normalized: canonicalDn(versionEntry), own: own.map((dn) => ({ dn, key: canonicalDn(dn) })) };
  }
  return ownRecords;
}

/**
 * What a data script may not write: the servers' configuration and schema (schema and
 * configuration scripts carry them, to every server), and the tool's own records (docs/run.md "Records") — the version entry itself, the lock, the run
 * records and the history, and anything above them (a rename or delete of an ancestor would take
 * them along). Other entries under the version entry are the scripts' own.
 */
export function protectedWriteProblem(intent: WriteIntent, versionEntry: string | undefined): string | undefined {
  const targets = intent.kind === 'rename' ? [intent.dn, intent.newDn] : [intent.dn];
  const keys = targets.map(canonicalDn);
  for (const [i, key] of keys.entries()) {
    const home = SERVER_HOMES.find((h) => under(key, h));
    if (home) {
      return `scripts may not write ${home} (${targets[i]}): put attribute types and object classes in a schema script (NN-name.schema.ldif), and indexes and other server settings in a configuration script (NN-name.config.ldif): each reaches every server that needs it`;
    }
  }
  if (!versionEntry) return undefined;
  const { normalized: ve, own } = recordsOf(versionEntry);
  for (const [i, key] of keys.entries()) {
    const hit = own.find((o, j) => (j === 0 ? key === ve : under(key, o.key)));
    if (hit) return `scripts may not write the tool's own records (${hit.dn}: the version, lock, run and history entries)`;
    if ((intent.kind === 'rename' || intent.kind === 'delete') && under(ve, key) && key !== ve) {
      return `scripts may not ${intent.kind} ${targets[i]}: the tool's own records (${versionEntry}) are below it`;
    }
  }
  return undefined;
}
