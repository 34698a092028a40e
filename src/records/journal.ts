import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, readFileSync, writeSync } from 'node:fs';
import { LocalFileError, RefusedError } from '../errors.js';
import { describeFsError, openForWrite, ownFileProblem } from './local-files.js';
import { applyModifications, getValues, hasValue, pickAttributes, userAttributes, type AttributeValue, type LdapEntry } from '../ldap/entry.js';
import type { PlannedWrite } from '../ldap/planned-write.js';
import { decodeBuffers, encodeBuffers } from './json-values.js';

/** One journaled write: enough to undo it. */
export interface JournalRecord {
  seq: number;
  script: string;
  /**
   * A configuration script's write: the server it was sent to, over configBind (cn=config is not
   * replicated: each server's own change is undone there). Absent: a data write on the master.
   */
  server?: string;
  kind: PlannedWrite['kind'];
  dn: string;
  newDn?: string;
  /** Attributes a modify touched (only those are restored on undo). */
  attributes?: string[];
  /** The entry before the write; null for an add. */
  pre: LdapEntry | null;
  /**
   * What the write left (a modify: the attributes it touched; an add: the entry it made), so that
   * a rollback can tell the run's value from a later change by someone else. Absent in journals
   * of earlier versions: those writes are undone without that check.
   */
  post?: Record<string, AttributeValue[]>;
}

/**
 * The run's journal of pre-images (docs/run.md "Apply"), a JSON-lines file in `backupDir`. Each record is
 * written (to the kernel, so it survives a kill -9) before its write is sent; the file is
 * fsync'ed at every script boundary.
 */
export class Journal {
  private fd: number;
  private seq = 0;
  /** Records not yet written, when `deferred` (see `deferWrites`). */
  private pending: string[] = [];
  private deferred = false;
  /** Bytes of whole records in the file. */
  private size = 0;
  /** Set when a record could not be written: no write may leave after that. */
  failure?: LocalFileError;

  constructor(readonly path: string) {
    refuseForeignJournal(path);
    // Reopened (resume): number on after every record it holds, refused ones included, and cut a
    // torn last line (a kill mid-write) off, so that records appended now can be read.
    const data = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
    this.seq = parseJournalText(data.toString('utf8')).records.reduce((max, r) => Math.max(max, r.seq), 0);
    this.fd = openForWrite(path, 'a');
    this.size = data.lastIndexOf(0x0a) + 1;
    if (fstatSync(this.fd).size !== this.size) ftruncateSync(this.fd, this.size);
  }

  /** How many writes have been journaled (the sequence number of the last). */
  get written(): number {
    return this.seq;
  }

  /** Records a write before it is sent; returns its sequence number. */
  append(write: PlannedWrite, script: string): number {
    return this.record(write, script);
  }

  /**
   * Records a configuration script's write to `server` and writes it to the file at once (never
   * kept for the master's batch): it is sent on another connection, right after.
   */
  appendConfig(write: PlannedWrite, script: string, server: string): number {
    const seq = this.record(write, script, server);
    this.writePending();
    return seq;
  }

  private record(write: PlannedWrite, script: string, server?: string): number {
    // The small fields first: readers that need only them (the verified convergence) parse the
    // line up to "pre" (see journalTargets).
    const record: JournalRecord = {
      seq: ++this.seq, script, ...(server ? { server } : {}), kind: write.kind, dn: write.dn,
      ...(write.kind === 'rename' ? { newDn: write.newDn } : {}),
      ...(write.kind === 'modify' ? { attributes: [...new Set(write.changes.map((c) => c.attribute))] } : {}),
      pre: write.pre,
      ...(write.kind === 'modify' ? { post: applyModifications(write.pre, write.changes).attributes } : {}),
      ...(write.kind === 'add' ? { post: write.attributes } : {}),
    };
    this.put(JSON.stringify(record, encodeBuffers) + '\n');
    return record.seq;
  }

  /**
   * The server's pre-image of write `seq` (Pre-Read, atomic with the write) differs from the one
   * journaled before it was sent (a client changed the entry in between): a correction record
   * makes readers use the server's, so that a rollback restores what the write really replaced,
   * never a stale read over a client's change. Nothing is written when they agree.
   */
  correct(seq: number, write: PlannedWrite, replaced: LdapEntry): void {
    if (write.kind === 'modify') {
      const touched = [...new Set(write.changes.map((c) => c.attribute))];
      if (touched.every((a) => sameValueSet(getValues(replaced, a), getValues(write.pre, a)))) return;
      const pre = { dn: write.pre.dn, attributes: { ...withoutAttributes(write.pre, touched).attributes, ...pickAttributes(replaced, touched).attributes } };
      this.put(JSON.stringify({ correct: seq, pre, post: applyModifications(pre, write.changes).attributes }, encodeBuffers) + '\n');
    } else if (write.kind === 'delete') {
      const real = userAttributes(replaced);
      const names = new Set([...Object.keys(real.attributes), ...Object.keys(write.pre.attributes)].map((k) => k.toLowerCase()));
      if ([...names].every((a) => sameValueSet(getValues(real, a), getValues(write.pre, a)))) return;
      this.put(JSON.stringify({ correct: seq, pre: { dn: write.pre.dn, attributes: real.attributes } }, encodeBuffers) + '\n');
    }
  }

  /** The server refused write `seq`: it changed nothing, so there is nothing to undo for it. */
  refused(seq: number): void {
    this.put(JSON.stringify({ refused: seq }) + '\n');
  }

  private put(line: string): void {
    if (this.failure) throw this.failure;
    if (this.deferred) this.pending.push(line);
    else this.write(line);
  }

  /**
   * Appends to the file, all of it or nothing: a short write (a disk filling up) is continued, and
   * a failure cuts the file back to its last whole record before it is kept and thrown (a torn
   * record would hide every record after it from a later reader).
   */
  private write(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    try {
      for (let off = 0; off < bytes.length;) off += writeSync(this.fd, bytes, off, bytes.length - off);
      this.size += bytes.length;
    } catch (err) {
      try { ftruncateSync(this.fd, this.size); } catch { /* reported below all the same */ }
      this.failure = new LocalFileError(`cannot write the run's journal ${this.path}: ${describeFsError(err)}; the writes it was to describe were not sent`, { cause: err });
      throw this.failure;
    }
  }

  /**
   * Records are kept until `writePending`, which the caller runs before the writes they describe
   * leave the process (the master connection's batch hook): one system call per batch.
   */
  deferWrites(): void {
    this.deferred = true;
  }

  /** Writes the records kept so far (to the kernel: they survive a kill -9 of this process). */
  writePending(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.write(text);
  }

  sync(): void {
    this.writePending();
    try {
      fsyncSync(this.fd);
    } catch (err) {
      this.failure = new LocalFileError(`cannot write the run's journal ${this.path} to disk: ${describeFsError(err)}`, { cause: err });
      throw this.failure;
    }
  }

  close(): void {
    try { this.writePending(); } catch { /* reported by the write that needed it */ }
    try { fsyncSync(this.fd); } catch { /* already closed */ }
    try { closeSync(this.fd); } catch { /* already closed */ }
  }
}

/**
 * Reads a journal: the writes that may have been applied, in the order they were sent. A torn last
 * line (killed mid-write) is ignored: its write was never sent. Writes the server refused are left
 * out (undoing them would only fail: a refused write can name an attribute the schema lacks).
 */
export function readJournal(path: string): JournalRecord[] {
  refuseForeignJournal(path);
  const { records, refused } = parseJournal(path);
  return records.filter((r) => !refused.has(r.seq));
}

/** A journal the tool did not write itself is not read, nor appended to (exit 7, naming it). */
function refuseForeignJournal(path: string): void {
  const problem = ownFileProblem(path);
  if (problem) throw new RefusedError(`journal refused: ${problem}`);
}

function parseJournal(path: string): { records: JournalRecord[]; refused: Set<number> } {
  return parseJournalText(existsSync(path) ? readFileSync(path, 'utf8') : '');
}

type Correction = { correct: number; pre: LdapEntry; post?: Record<string, AttributeValue[]> };

function parseJournalText(text: string): { records: JournalRecord[]; refused: Set<number> } {
  const out: JournalRecord[] = [];
  const refused = new Set<number>();
  const corrections = new Map<number, Correction>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let parsed: JournalRecord | { refused: number } | Correction;
    try {
      parsed = JSON.parse(line, decodeBuffers) as JournalRecord | { refused: number } | Correction;
    } catch {
      break;
    }
    if ('refused' in parsed) refused.add(parsed.refused);
    else if ('correct' in parsed) corrections.set(parsed.correct, parsed);
    else out.push(parsed);
  }
  for (const r of out) {
    const c = corrections.get(r.seq);
    if (!c) continue;
    r.pre = c.pre;
    if (c.post) r.post = c.post;
  }
  return { records: out, refused };
}

function sameValueSet(a: AttributeValue[], b: AttributeValue[]): boolean {
  return a.length === b.length && a.every((v) => hasValue(b, v));
}

function withoutAttributes(entry: LdapEntry, names: string[]): LdapEntry {
  const drop = new Set(names.map((n) => n.toLowerCase()));
  return { dn: entry.dn, attributes: Object.fromEntries(Object.entries(entry.attributes).filter(([k]) => !drop.has(k.toLowerCase()))) };
}
