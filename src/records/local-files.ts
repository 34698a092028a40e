import { accessSync, closeSync, constants, fchmodSync, lstatSync, mkdirSync, openSync, statfsSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LocalFileError } from '../errors.js';

/**
 * Local folders and files of a run (journal, logs, backups): made and checked with clear errors
 * naming the path and the cause.
 */

/** The least free space wanted in `backupDir` and `logDir` before a run starts. */
export const MIN_FREE_BYTES = 64 * 1024 * 1024;

/**
 * Creates a folder and its missing parents, one level at a time. (Node's own recursive mkdirSync
 * loops forever where a level cannot be created, e.g. under /proc.)
 */
export function ensureDir(path: string, mode = 0o700): void {
  const full = resolve(path);
  const missing: string[] = [];
  for (let p = full; ; p = dirname(p)) {
    if (isDirectory(p)) break;
    missing.push(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && isDirectory(p)) continue;
      throw new LocalFileError(`cannot create the folder ${p}: ${describeFsError(err)}`, { cause: err });
    }
  }
}

/**
 * Whether a run could write in `path` (made if missing), without writing anything: the folder
 * (or its nearest existing parent) must be a writable folder on a file system with at least
 * MIN_FREE_BYTES free. Returns the problem, or undefined.
 */
export function writableDirProblem(path: string, what: string): string | undefined {
  let p = resolve(path);
  while (!exists(p) && dirname(p) !== p) p = dirname(p);
  if (!isDirectory(p)) return `${what} ${path}: ${p} is not a folder`;
  // The folder itself (once it exists) holds journals, logs and backups: as ssh refuses a key
  // folder others can write, so does the tool.
  if (p === resolve(path)) {
    const loose = looseFolderProblem(p);
    if (loose) return `${what} ${path}: ${loose}`;
  }
  try {
    accessSync(p, constants.W_OK | constants.X_OK);
  } catch (err) {
    return `${what} ${path}: ${p} is not writable (${describeFsError(err)})`;
  }
  try {
    const fs = statfsSync(p);
    const free = Number(fs.bavail) * Number(fs.bsize);
    if (free < MIN_FREE_BYTES) return `${what} ${path}: only ${(free / 1024 / 1024).toFixed(1)} MB free on its file system (at least ${MIN_FREE_BYTES / 1024 / 1024} MB wanted)`;
  } catch {
    // No statfs here: the write itself will say.
  }
  return undefined;
}

/**
 * Why a folder of the tool's must not be used: writable by group or others (a sticky /tmp
 * included), or owned by another user than this one (or root).
 */
export function looseFolderProblem(path: string): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) return `${path} is owned by uid ${st.uid}, not by this user (uid ${uid}) or root`;
  if (st.mode & 0o022) return `${path} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}): make it 700`;
  return undefined;
}

const OPEN_FLAGS = {
  a: constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND,
  w: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC,
  wx: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
} as const;

/**
 * Opens a file for writing (created with `mode`), or throws LocalFileError naming it. A symbolic
 * link at `path` is never followed (O_NOFOLLOW: a planted link cannot send the write elsewhere).
 */
export function openForWrite(path: string, flags: 'a' | 'w' | 'wx', mode = 0o600): number {
  try {
    ensureDir(dirname(path));
    const fd = openSync(path, OPEN_FLAGS[flags] | constants.O_NOFOLLOW, mode);
    // The mode whatever the file had before (a file left by an earlier version, say).
    fchmodSync(fd, mode);
    return fd;
  } catch (err) {
    if (err instanceof LocalFileError) throw err;
    throw new LocalFileError(`cannot write ${path}: ${describeFsError(err)}`, { cause: err });
  }
}

/**
 * Why an existing file of the tool's must not be used (undefined: it may, or it does not exist):
 * a symbolic link, not a regular file, owned by another user, or writable by group or others.
 */
export function ownFileProblem(path: string): string | undefined {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return undefined;
  }
  if (st.isSymbolicLink()) return `${path} is a symbolic link`;
  if (!st.isFile()) return `${path} is not a regular file`;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return `${path} is owned by uid ${st.uid}, not by this user (uid ${uid})`;
  if (st.mode & 0o022) return `${path} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/** Appends `text` to a file (made mode 600), never through a symbolic link at `path`. */
export function appendToOwnFile(path: string, text: string): void {
  const fd = openSync(path, OPEN_FLAGS.a | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** "no space left on device (ENOSPC)" and the like. */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    ENOSPC: 'no space left on device', EACCES: 'permission denied', EPERM: 'operation not permitted',
    ENOENT: 'no such file or folder', EROFS: 'read-only file system', EIO: 'input/output error',
    ENOTDIR: 'a part of the path is not a folder', EISDIR: 'it is a folder', EDQUOT: 'disk quota exceeded',
    ELOOP: 'it is a symbolic link (never followed)', EEXIST: 'it exists already',
  };
  return e?.code ? `${words[e.code] ?? e.message} (${e.code})` : String(err);
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
