import { normalizeDn } from '../../ldap/entry.js';
import type { WriteIntent } from './write-plan.js';

/**
 * What keeps an upgrade script from taking the tool down or outliving its limit (a script runs in
 * the tool's own process): `process.exit`, an exception thrown outside its promise chain (a timer,
 * an event handler) and an unhandled rejection while it runs, and running past its time limit,
 * all end as a failure of that script — which the run turns into a rollback, an unfreeze, an
 * unlock and exit 5, instead of a dead process with frozen replicas and a held lock.
 */
export class ScriptEscape extends Error {}

let guarded = 0;

export async function containScript<T>(run: () => Promise<T>, timeLimitMs: number | undefined, onEscape: (err: ScriptEscape) => void): Promise<T> {
  let fail!: (err: ScriptEscape) => void;
  const escaped = new Promise<never>((_, reject) => {
    fail = (err) => {
      onEscape(err);
      reject(err);
    };
  });
  escaped.catch(() => undefined);
  const realExit = process.exit;
  const exit = ((code?: number | string | null) => {
    const err = new ScriptEscape(`it called process.exit(${code ?? ''}): scripts must return (or throw) instead`);
    fail(err);
    throw err;
  }) as typeof process.exit;
  const onUncaught = (err: unknown) => fail(new ScriptEscape(`it threw outside its promise chain (a timer or an event handler?): ${describe(err)}`));
  const onRejection = (reason: unknown) => fail(new ScriptEscape(`a promise it made was rejected and never handled: ${describe(reason)}`));
  guarded++;
  process.exit = exit;
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  const timer = timeLimitMs === undefined ? undefined : setTimeout(() => {
    fail(new ScriptEscape(`it ran past its time limit of ${formatSeconds(timeLimitMs)} (scriptTimeout, --script-timeout)`));
  }, timeLimitMs);
  try {
    return await Promise.race([run(), escaped]);
  } finally {
    clearTimeout(timer);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
    if (--guarded === 0) process.exit = realExit;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return s >= 120 && s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}

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
    const own = [versionEntry, `cn=lock,${versionEntry}`, `cn=runs,${versionEntry}`, `cn=history,${versionEntry}`];
    ownRecords = { versionEntry, normalized: normalizeDn(versionEntry), own: own.map((dn) => ({ dn, key: normalizeDn(dn) })) };
  }
  return ownRecords;
}

/**
 * What a data script may not write: the servers' configuration and schema (schema scripts carry
 * schema), and the tool's own records (docs/run.md "Records") — the version entry itself, the lock, the run
 * records and the history, and anything above them (a rename or delete of an ancestor would take
 * them along). Other entries under the version entry are the scripts' own.
 */
export function protectedWriteProblem(intent: WriteIntent, versionEntry: string | undefined): string | undefined {
  const targets = intent.kind === 'rename' ? [intent.dn, intent.newDn] : [intent.dn];
  const keys = targets.map(normalizeDn);
  for (const [i, key] of keys.entries()) {
    const home = SERVER_HOMES.find((h) => under(key, h));
    if (home) {
      return `scripts may not write ${home} (${targets[i]}): put attribute types and object classes in a schema script (NN-name.schema.ldif), which reaches every server that needs them; other server configuration is not the upgrade's to change`;
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
