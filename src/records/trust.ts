import { resolve } from 'node:path';
import { RefusedError } from '../errors.js';
import { hostPort } from '../ldap/url.js';
import type { WriteState } from '../servers/adapter.js';
import { ACTIVE_STATES, type LockInfo, type RunRecord, type RunState } from './run-record.js';

/**
 * The tool's records are input, not orders: the version entry's subtree can be written by anyone
 * who can write the suffix (an over-broad ACL) or any replica. Before a lock or run record is used
 * for anything — a connection, a write back to cn=config, a journal opened — it is checked against
 * what the configuration sanctions; a record that fails is refused (exit 7) naming it and what does
 * not match, before any connection to what it names is made or any file it names is opened.
 */
export interface RecordRules {
  suffix: string;
  backupDir: string;
  /** The replicas the configuration lists, or that discovery finds now under the same rules. */
  replicaUrls: string[];
  /** The server adapter's own check of a recorded write state (ServerAdapter.writeStateProblem). */
  writeStateProblem(state: WriteState, suffix: string): string | undefined;
}

/** A run id as newRunId makes it: `20261121T235959Z-a1b2c3`. */
export const RUN_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

const STATES: readonly RunState[] = [...ACTIVE_STATES, 'done', 'failed', 'rolled-back', 'recovered', 'undone'];

/** A reviewed plan's digest as runs record it. */
const PLAN_DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Where a run's journal is: in backupDir, named by its run id (nowhere else is ever opened). */
export function journalPath(backupDir: string, runId: string): string {
  return resolve(backupDir, `${runId}.journal.jsonl`);
}

/** What is wrong with a lock read back from the directory ([] when nothing). */
export function lockProblems(lock: unknown): string[] {
  const l = lock as Partial<LockInfo> | null;
  if (!l || typeof l !== 'object') return ['it is not a lock document'];
  const out: string[] = [];
  if (typeof l.runId !== 'string' || !RUN_ID.test(l.runId)) out.push(`its run id ${show(l.runId)} is not a run id`);
  if (typeof l.host !== 'string' || !/^[A-Za-z0-9._:-]{1,255}$/.test(l.host)) out.push(`its host ${show(l.host)} is not a host name`);
  if (!Number.isInteger(l.pid) || (l.pid as number) <= 0) out.push(`its pid ${show(l.pid)} is not a process id`);
  if (typeof l.expiresAt !== 'string' || Number.isNaN(Date.parse(l.expiresAt))) out.push(`its lease expiry ${show(l.expiresAt)} is not a time`);
  return out;
}

/** What is wrong with a run record read back from the directory ([] when nothing). */
export function runRecordProblems(record: unknown, rules: RecordRules): string[] {
  const r = record as Partial<RunRecord> | null;
  if (!r || typeof r !== 'object') return ['it is not a run record'];
  const out: string[] = [];
  if (typeof r.runId !== 'string' || !RUN_ID.test(r.runId)) return [`its run id ${show(r.runId)} is not a run id`];
  if (!STATES.includes(r.state as RunState)) out.push(`its state ${show(r.state)} is not a run state`);
  if (typeof r.host !== 'string' || !/^[A-Za-z0-9._:-]{1,255}$/.test(r.host)) out.push(`its host ${show(r.host)} is not a host name`);
  if (!Number.isInteger(r.pid)) out.push(`its pid ${show(r.pid)} is not a process id`);
  if (!Array.isArray(r.steps) || !r.steps.every((s) => typeof s === 'string' && !/[\0-\x1f\x7f]/.test(s))) out.push('its scripts are not a list of script names');
  if (!Number.isInteger(r.completed) || (r.completed as number) < 0 || (Array.isArray(r.steps) && (r.completed as number) > r.steps.length)) out.push(`its completed count ${show(r.completed)} does not fit its scripts`);
  if (!Array.isArray(r.tags) || !r.tags.every((t) => typeof t === 'string')) out.push('its tags are not a list of names');
  for (const [name, v] of [['fromVersion', r.fromVersion], ['toVersion', r.toVersion]] as const) if (typeof v !== 'string') out.push(`its ${name} ${show(v)} is not a version`);
  if (r.storedBefore !== undefined && r.storedBefore !== null && typeof r.storedBefore !== 'string') out.push(`its storedBefore ${show(r.storedBefore)} is not a version`);
  if (r.undoes !== undefined && (typeof r.undoes !== 'string' || !RUN_ID.test(r.undoes) || r.undoes === r.runId)) return [...out, `its undone run ${show(r.undoes)} is not a run id`];
  if (r.undoneBy !== undefined && (typeof r.undoneBy !== 'string' || !RUN_ID.test(r.undoneBy))) out.push(`its undoing run ${show(r.undoneBy)} is not a run id`);
  if (r.plan !== undefined && (typeof r.plan !== 'string' || !PLAN_DIGEST.test(r.plan))) out.push(`its plan ${show(r.plan)} is not a plan digest`);
  // An undo's journal is the one of the run it undoes (it writes none of its own).
  const journal = journalPath(rules.backupDir, r.undoes ?? r.runId);
  if (typeof r.journal !== 'string' || resolve(r.journal) !== journal) out.push(`its journal ${show(r.journal)} is not ${journal} (a run's journal is in backupDir, named by its run id; if the run had another backupDir, give it with --backup-dir)`);
  if (!Array.isArray(r.replicas)) return [...out, 'its replicas are not a list'];
  const known = new Map(rules.replicaUrls.map((u) => [safeHostPort(u), u]));
  for (const [i, rep] of r.replicas.entries()) {
    const where = `replicas[${i}]`;
    if (!rep || typeof rep !== 'object' || typeof rep.url !== 'string') { out.push(`${where} is not a replica`); continue; }
    if (!known.has(safeHostPort(rep.url))) out.push(`${where} names ${show(rep.url)}, which is not a replica of the configuration (nor found by discovery now)`);
    if (typeof rep.frozenByRun !== 'boolean' || typeof rep.restored !== 'boolean') out.push(`${where} (${rep.url}) has no frozen/restored flags`);
    if (rep.writeState !== undefined) {
      const problem = writeStateShape(rep.writeState) ?? rules.writeStateProblem(rep.writeState, rules.suffix);
      if (problem) out.push(`${where} (${rep.url}): its write state to restore is not this tool's: ${problem}`);
    }
  }
  return out;
}

/** Refuses (exit 7) a record with problems, naming it and each problem. */
export function trustedRunRecord(record: RunRecord, rules: RecordRules): RunRecord {
  const problems = runRecordProblems(record, rules);
  if (problems.length) throw new RefusedError(untrustedMessage(record, problems));
  // From here on the configuration's own spelling of each URL is what is connected to.
  const known = new Map(rules.replicaUrls.map((u) => [safeHostPort(u), u]));
  return { ...record, journal: journalPath(rules.backupDir, record.undoes ?? record.runId), replicas: record.replicas.map((r) => ({ ...r, url: known.get(safeHostPort(r.url))! })) };
}

/** Refuses (exit 7) a lock with problems, naming it. */
export function trustedLock(lock: LockInfo): LockInfo {
  const problems = lockProblems(lock);
  if (problems.length) throw new RefusedError(`untrusted lock under the version entry: ${problems.join('; ')} — it was not written by this tool: nothing it names was used; remove it, and protect the version entry's subtree (README "What it keeps in the directory")`);
  return lock;
}

export function untrustedMessage(record: { runId?: unknown } | null, problems: string[]): string {
  const name = typeof record?.runId === 'string' && RUN_ID.test(record.runId) ? `run record ${record.runId}` : `a run record (${show(record?.runId)})`;
  return `untrusted ${name} under the version entry: ${problems.join('; ')} — it was not written by this tool for this configuration (or was changed since): nothing it names was used; remove it, and protect the version entry's subtree (README "What it keeps in the directory")`;
}

/** The fields a write state must have, of their types, before the adapter looks at it. */
function writeStateShape(s: Partial<WriteState>): string | undefined {
  if (!s || typeof s !== 'object') return 'it is not a write state';
  if (typeof s.entryDn !== 'string' || typeof s.attribute !== 'string') return 'it names no entry and attribute';
  if (!Array.isArray(s.original) || !s.original.every((v) => typeof v === 'string')) return 'its values are not a list of strings';
  if (s.others !== undefined && (!Array.isArray(s.others) || !s.others.every((o) => o && typeof o.attribute === 'string' && Array.isArray(o.original) && o.original.every((v) => typeof v === 'string') && (o.dn === undefined || typeof o.dn === 'string')))) {
    return 'its other attributes are not a list of attributes and values';
  }
  if (s.ownId !== undefined && (typeof s.ownId !== 'string' || !/^\d{1,5}$/.test(s.ownId))) return `its own id ${show(s.ownId)} is not a replica id`;
  return undefined;
}

/** Scheme, host and port: a record's URL must name a configured replica with its own transport. */
function safeHostPort(url: string): string {
  try {
    return `${new URL(url).protocol}//${hostPort(url)}`;
  } catch {
    return `(not a URL: ${url})`;
  }
}

/** A value from a record, quoted and cut short, control characters escaped (it may be anyone's). */
export function show(v: unknown): string {
  const text = v === undefined ? 'none' : JSON.stringify(v) ?? String(v);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}
