import { LockedError, RefusedError } from '../errors.js';
import type { Directory } from '../ldap/directory.js';
import { getFirst, getValues, type LdapEntry } from '../ldap/entry.js';
import { codeOf } from '../ldap/wire.js';
import { ResultCode } from '../ldap/result-codes.js';
import { escapeDnValue, escapeFilterValue } from '../ldap/escape.js';
import type { HistoryRecord, LockInfo, RunRecord } from './run-record.js';

/**
 * The tool's records on the master, all under the version entry and all with stock schema only
 * (`applicationProcess`: cn + description): the version entry's `description` holds the version;
 * the lock, each history record and each run record hold a JSON document in theirs.
 */
export class StateStore {
  constructor(
    private readonly master: Directory,
    readonly versionEntry: string,
  ) {}

  get lockDn(): string { return `cn=lock,${this.versionEntry}`; }
  get historyDn(): string { return `cn=history,${this.versionEntry}`; }
  get runsDn(): string { return `cn=runs,${this.versionEntry}`; }

  /** The stored version; `exists` false when the version entry itself is missing. */
  async readVersion(): Promise<{ exists: boolean; version?: string }> {
    const entry = await this.master.get(this.versionEntry, ['description']);
    if (!entry) return { exists: false };
    const version = getFirst(entry, 'description');
    return { exists: true, version: version?.trim() || undefined };
  }

  async readLock(): Promise<LockInfo | undefined> {
    const entry = await this.master.get(this.lockDn, ['description']);
    return entry ? parseJson<LockInfo>(entry) : undefined;
  }

  async readHistory(): Promise<HistoryRecord[]> {
    const out: HistoryRecord[] = [];
    for await (const e of this.master.search({ base: this.historyDn, scope: 'one', attributes: ['description'] })) {
      const r = parseJson<HistoryRecord>(e);
      if (r) out.push(r);
    }
    return out.sort((a, b) => (a.appliedAt < b.appliedAt ? 1 : a.appliedAt > b.appliedAt ? -1 : 0));
  }

  async readRuns(): Promise<RunRecord[]> {
    const out: RunRecord[] = [];
    for await (const e of this.master.search({ base: this.runsDn, scope: 'one', attributes: ['description'] })) {
      const r = parseJson<RunRecord>(e);
      if (r) out.push(r);
    }
    return out.sort((a, b) => (a.runId < b.runId ? 1 : -1));
  }

  async readRun(runId: string): Promise<RunRecord | undefined> {
    const e = await this.master.get(`cn=${escapeDnValue(runId)},${this.runsDn}`, ['description']);
    return e ? parseJson<RunRecord>(e) : undefined;
  }

  /** Creates the version entry (without a version) and its containers when missing. */
  async ensureEntries(): Promise<void> {
    await this.addIfMissing(this.versionEntry);
    await this.addIfMissing(this.historyDn);
    await this.addIfMissing(this.runsDn);
  }

  /** Takes the lock with an atomic add; a second run gets alreadyExists → LockedError. */
  async takeLock(info: LockInfo): Promise<void> {
    try {
      await this.master.add(this.lockDn, { objectClass: ['applicationProcess'], cn: ['lock'], description: [JSON.stringify(info)] });
    } catch (err) {
      if (codeOf(err) !== ResultCode.alreadyExists) throw err;
      const holder = await this.readLock();
      throw new LockedError(`locked by run ${holder ? describeHolder(holder) : '(unknown: the lock vanished meanwhile)'}`);
    }
  }

  async writeLock(info: LockInfo): Promise<void> {
    await this.master.modify(this.lockDn, [{ operation: 'replace', attribute: 'description', values: [JSON.stringify(info)] }]);
  }

  /** Removes the lock if `runId` holds it. */
  async releaseLock(runId: string): Promise<void> {
    const lock = await this.readLock();
    if (lock && lock.runId === runId) await this.master.delete(this.lockDn);
  }

  async forceReleaseLock(): Promise<void> {
    const lock = await this.master.get(this.lockDn, ['cn']);
    if (lock) await this.master.delete(this.lockDn);
  }

  async writeRun(record: RunRecord): Promise<void> {
    record.updatedAt = new Date().toISOString();
    const dn = `cn=${record.runId},${this.runsDn}`;
    const description = [JSON.stringify(record)];
    if (await this.master.get(dn, ['cn'])) await this.master.modify(dn, [{ operation: 'replace', attribute: 'description', values: description }]);
    else await this.master.add(dn, { objectClass: ['applicationProcess'], cn: [record.runId], description });
  }

  async addHistory(record: HistoryRecord, seq: number): Promise<void> {
    const cn = `${record.runId}-${String(seq).padStart(4, '0')}`;
    await this.master.add(`cn=${cn},${this.historyDn}`, { objectClass: ['applicationProcess'], cn: [cn], description: [JSON.stringify(record)] });
  }

  /** Deletes the history records of one run (rollback). */
  async removeHistory(runId: string): Promise<void> {
    const dns: string[] = [];
    for await (const e of this.master.search({ base: this.historyDn, scope: 'one', filter: `(cn=${escapeFilterValue(runId)}-*)`, attributes: ['cn'] })) dns.push(e.dn);
    for (const dn of dns) await this.master.delete(dn);
  }

  /** Marks the history records of one run undone by another (`undo`): kept, with who undid them and when. */
  async markHistoryUndone(runId: string, by: string): Promise<void> {
    const at = new Date().toISOString();
    for await (const e of this.master.search({ base: this.historyDn, scope: 'one', filter: `(cn=${escapeFilterValue(runId)}-*)`, attributes: ['description'] })) {
      const r = parseJson<HistoryRecord>(e);
      if (!r || r.runId !== runId || r.undoneBy) continue;
      await this.master.modify(e.dn, [{ operation: 'replace', attribute: 'description', values: [JSON.stringify({ ...r, undoneBy: by, undoneAt: at })] }]);
    }
  }

  async setVersion(version: string | undefined): Promise<void> {
    await this.master.modify(this.versionEntry, [{ operation: 'replace', attribute: 'description', values: version ? [version] : [] }]);
  }

  /** Adds an `applicationProcess` entry named by its `cn=` RDN unless it exists (a race is fine). */
  private async addIfMissing(dn: string): Promise<void> {
    if (await this.master.get(dn, ['cn'])) return;
    const rdn = /^cn=((?:\\.|[^,])+)/i.exec(dn);
    if (!rdn) throw new RefusedError(`${dn}: the version entry must be named by cn=`);
    try {
      await this.master.add(dn, { objectClass: ['applicationProcess'], cn: [rdn[1]!] });
    } catch (err) {
      if (codeOf(err) === ResultCode.noSuchObject) throw new RefusedError(`${dn}: its parent entry does not exist on the master: create it, or set versionEntry elsewhere`);
      if (codeOf(err) !== ResultCode.alreadyExists) throw err;
    }
  }
}

export function describeHolder(lock: LockInfo): string {
  return `${lock.runId} (host ${lock.host}, pid ${lock.pid}, since ${lock.startedAt})`;
}

function parseJson<T>(entry: LdapEntry): T | undefined {
  for (const v of getValues(entry, 'description')) {
    try {
      return JSON.parse(String(v)) as T;
    } catch { /* not ours */ }
  }
  return undefined;
}
