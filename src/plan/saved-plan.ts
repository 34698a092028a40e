import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { InvalidInputError, LocalFileError, RefusedError } from '../errors.js';
import { getValues, userAttributes, type AttributeValue, type LdapEntry, type Modification } from '../ldap/entry.js';
import type { PlannedWrite } from '../ldap/planned-write.js';
import type { ReadBasis } from '../scripts/runtime/recording-store.js';
import { decodeBuffers, encodeBuffers } from '../records/json-values.js';
import { describeFsError, openForWrite, ownFileProblem } from '../records/local-files.js';

/**
 * A reviewed plan (README "Reviewed plans"): what `upgrade --dry-run --save-plan FILE` planned, and
 * what `upgrade --plan FILE` then runs instead of the scripts. A JSON-lines file, mode 600 (it
 * holds data): a header (tool version, the topology's identity, stored and target versions,
 * every script with its checksum), one line per planned write with a digest of what it was
 * planned from, the planned changes of each schema and configuration step, and a last line with
 * the SHA-256 of every line before it — the plan's digest, which the dry run prints.
 */
export const PLAN_FORMAT = 'ldap-upgrade-plan';
export const PLAN_FORMAT_VERSION = 1;

export interface PlanIdentity {
  suffix: string;
  versionEntry: string;
  master: string;
  /** The replicas' URLs, sorted. */
  replicas: string[];
  serverKind: string;
}

export interface PlanHeader {
  t: 'header';
  format: typeof PLAN_FORMAT;
  formatVersion: number;
  toolVersion: string;
  createdAt: string;
  identity: PlanIdentity;
  /** The stored version the plan was made from (null: none stored). */
  stored: string | null;
  fromVersion: string;
  toVersion: string;
  /** What the dry run was asked for: the plan run asks the same. */
  request: { to?: string; from?: string; tags?: string[]; force?: boolean };
  /** Every step's script (and the runOnce scripts folded into it), in order, with its checksum. */
  scripts: { id: string; version: string; kind: string; checksum: string; folded: { id: string; checksum: string }[] }[];
}

/** One planned data write, without its pre-image: `from` is a digest of it (see fromDigest). */
export type SavedWrite = { t: 'write'; step: number; from: string } & (
  | { kind: 'add'; dn: string; attributes: Record<string, AttributeValue[]> }
  | { kind: 'modify'; dn: string; changes: Modification[]; /** The attributes `from` covers when the script read more of the entry than it changes (null: all). */ of?: string[] | null }
  | { kind: 'delete'; dn: string }
  | { kind: 'rename'; dn: string; newDn: string });

/** A schema or configuration step's planned changes, per server (compared when the plan runs). */
export interface SavedStep {
  index: number;
  script: string;
  kind: string;
  writes: number;
  /** Schema and configuration steps: the digest of their planned per-server changes. */
  planned?: string;
}

export interface SavedPlan {
  file: string;
  header: PlanHeader;
  /** The planned data writes, per step index. */
  writes: SavedWrite[][];
  steps: SavedStep[];
  /** `sha256:` and the hex digest of every line before the last. */
  digest: string;
  total: number;
}

/** The attributes whose values a saved write was planned from (undefined: every user attribute; []: existence). */
export function fromAttributes(w: Pick<SavedWrite, 'kind'> & { changes?: Modification[]; of?: string[] | null }): string[] | undefined {
  if (w.kind === 'add') return [];
  if (w.kind === 'modify') return w.of === null ? undefined : w.of ?? changedAttributes(w.changes!);
  return undefined;
}

/**
 * A digest of what a write was planned from: the entry's values of `attributes` (names case
 * aside, values in any order, bytes exact), or of every user attribute; absent entries have their
 * own digest. The same function reads the entry when the plan runs, so any change to those values
 * since the review — and only to those — makes the digests differ.
 */
export function fromDigest(entry: LdapEntry | null, attributes: string[] | undefined): string {
  if (!entry) return 'absent';
  const h = createHash('sha256');
  const names = attributes ?? Object.keys(userAttributes(entry).attributes);
  const lower = [...new Set(names.map((n) => n.toLowerCase()))].sort();
  for (const name of lower) {
    const values = getValues(entry, name).map((v) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v).toString('base64')).sort();
    // Absent and empty are the same (a planned entry may keep an emptied attribute; the server drops it).
    if (values.length === 0) continue;
    h.update(`${name}\0${values.length}\0${values.join('\0')}\n`);
  }
  return h.digest('hex').slice(0, 32);
}

/** The attributes a modify changes, each once. */
export function changedAttributes(changes: Modification[]): string[] {
  return [...new Set(changes.map((c) => c.attribute))];
}

/**
 * A planned write as the plan saves it; a modify whose script read more of the entry than it
 * changes (a value computed from others) is planned from those too (`basis`).
 */
export function savedWrite(step: number, w: PlannedWrite, basis?: ReadBasis): SavedWrite {
  switch (w.kind) {
    case 'add': return { t: 'write', step, from: 'absent', kind: 'add', dn: w.dn, attributes: w.attributes };
    case 'modify': return basis
      ? { t: 'write', step, from: fromDigest(basis.entry, basis.of ?? undefined), kind: 'modify', dn: w.dn, changes: w.changes, of: basis.of }
      : { t: 'write', step, from: fromDigest(w.pre, changedAttributes(w.changes)), kind: 'modify', dn: w.dn, changes: w.changes };
    case 'delete': return { t: 'write', step, from: fromDigest(w.pre, undefined), kind: 'delete', dn: w.dn };
    case 'rename': return { t: 'write', step, from: fromDigest(w.pre, undefined), kind: 'rename', dn: w.dn, newDn: w.newDn };
  }
}

/** The digest of a step's planned per-server changes (schema: what is added, changed, kept; configuration: the changes). */
export function stepDigest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value, encodeBuffers)).digest('hex').slice(0, 32);
}

/**
 * Writes a plan as it is made: to a private temporary file beside FILE, renamed to FILE only
 * once the dry run completed (a failed dry run leaves no plan behind, and never half of one).
 */
export class PlanWriter {
  private readonly temp: string;
  private fd: number;
  private readonly hash = createHash('sha256');
  private pending: string[] = [];
  private pendingBytes = 0;
  private count = 0;

  constructor(readonly file: string, header: PlanHeader) {
    const problem = ownFileProblem(file);
    if (problem) throw new RefusedError(`--save-plan: ${problem}: not written over`);
    this.temp = `${file}.${process.pid}.tmp`;
    this.fd = openForWrite(this.temp, 'w');
    this.line(header);
  }

  /** Data writes written so far. */
  get writes(): number {
    return this.count;
  }

  write(w: SavedWrite): void {
    this.count++;
    this.line(w);
  }

  /** Ends the plan with its steps and digest, and puts it in place; returns the digest. */
  finish(steps: SavedStep[]): string {
    this.line({ t: 'steps', steps });
    this.flush();
    const digest = `sha256:${this.hash.digest('hex')}`;
    this.put(JSON.stringify({ t: 'end', writes: this.count, digest }) + '\n');
    this.flush();
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      renameSync(this.temp, this.file);
    } catch (err) {
      throw new LocalFileError(`cannot write the plan ${this.file}: ${describeFsError(err)}`, { cause: err });
    }
    return digest;
  }

  /** The dry run failed: no plan. */
  discard(): void {
    try { closeSync(this.fd); } catch { /* closed */ }
    rmSync(this.temp, { force: true });
  }

  private line(value: unknown): void {
    const text = JSON.stringify(value, encodeBuffers) + '\n';
    this.hash.update(text);
    this.put(text);
  }

  private put(text: string): void {
    this.pending.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes > 1 << 20) this.flush();
  }

  private flush(): void {
    const bytes = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingBytes = 0;
    try {
      for (let off = 0; off < bytes.length;) off += writeSync(this.fd, bytes, off, bytes.length - off);
    } catch (err) {
      throw new LocalFileError(`cannot write the plan ${this.file}: ${describeFsError(err)}`, { cause: err });
    }
  }
}

/**
 * Reads a plan file, all of it checked before anything is done with it: not a plan, truncated,
 * or not valid → exit 2 (InvalidInputError); a file the tool did not write (another owner,
 * writable by others, a link), an edited one (its digest), or of another tool or format version
 * → exit 7. One line says which.
 */
export function readSavedPlan(file: string, toolVersion: string): SavedPlan {
  if (!existsSync(file)) throw new InvalidInputError(`--plan ${file}: no such file`);
  const problem = ownFileProblem(file);
  if (problem) throw new RefusedError(`--plan refused: ${problem}`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`--plan ${file}: cannot read it: ${describeFsError(err)}`);
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const bad = (what: string) => new InvalidInputError(`--plan ${file}: ${what}`);
  const parse = (i: number): Record<string, unknown> => {
    try {
      const v = JSON.parse(lines[i]!, decodeBuffers) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch { /* below */ }
    throw bad(`line ${i + 1} is not a plan record (truncated or edited?)`);
  };
  if (lines.length < 3) throw bad('not a plan file, or truncated (fewer than 3 lines)');
  const header = parse(0) as unknown as PlanHeader;
  if (header.t !== 'header' || header.format !== PLAN_FORMAT) throw bad('not a plan file written by `ldap-upgrade upgrade --dry-run --save-plan`');
  const end = parse(lines.length - 1);
  if (end.t !== 'end' || typeof end.digest !== 'string') throw bad('truncated: its last line is not the plan\'s end (with its digest)');
  const hash = createHash('sha256');
  for (let i = 0; i < lines.length - 1; i++) hash.update(lines[i]! + '\n');
  const digest = `sha256:${hash.digest('hex')}`;
  if (digest !== end.digest) throw new RefusedError(`--plan ${file}: its content does not match its digest (${String(end.digest)}): the file was edited after it was saved`);
  if (header.formatVersion !== PLAN_FORMAT_VERSION) throw new RefusedError(`--plan ${file}: plan format ${String(header.formatVersion)}, this tool reads format ${PLAN_FORMAT_VERSION}`);
  if (header.toolVersion !== toolVersion) throw new RefusedError(`--plan ${file}: saved by ldap-upgrade ${header.toolVersion}, this is ${toolVersion}: make the plan again with this version`);
  const writes: SavedWrite[][] = header.scripts.map(() => []);
  let steps: SavedStep[] | undefined;
  let total = 0;
  for (let i = 1; i < lines.length - 1; i++) {
    const r = parse(i);
    if (r.t === 'write') {
      const w = r as unknown as SavedWrite;
      if (!Number.isInteger(w.step) || !writes[w.step] || typeof w.dn !== 'string') throw bad(`line ${i + 1}: a write of no step of the plan`);
      if (typeof w.from !== 'string' || !writeShapeOk(w)) throw bad(`line ${i + 1}: not a planned add, modify, delete or rename`);
      writes[w.step]!.push(w);
      total++;
    } else if (r.t === 'steps' && Array.isArray(r.steps)) {
      steps = r.steps as SavedStep[];
    } else {
      throw bad(`line ${i + 1}: unknown record ${JSON.stringify(r.t)}`);
    }
  }
  if (!steps || steps.length !== header.scripts.length) throw bad('its steps do not match its scripts');
  if (end.writes !== total) throw bad(`it holds ${total} writes, its end says ${String(end.writes)}`);
  return { file, header, writes, steps, digest, total };
}

function writeShapeOk(w: SavedWrite): boolean {
  switch (w.kind) {
    case 'add': return !!w.attributes && typeof w.attributes === 'object' && Object.values(w.attributes).every(Array.isArray);
    case 'modify': return (w.of === undefined || w.of === null || (Array.isArray(w.of) && w.of.every((a) => typeof a === 'string'))) && Array.isArray(w.changes) && w.changes.every((c) => c && typeof c.attribute === 'string' && ['add', 'delete', 'replace'].includes(c.operation) && Array.isArray(c.values));
    case 'delete': return true;
    case 'rename': return typeof w.newDn === 'string';
    default: return false;
  }
}

/** The plan's digest as the report, history and prompt show it (the first 16 hex digits are enough to compare by eye). */
export function shortDigest(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 16);
}
