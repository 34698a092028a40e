import { closeSync, createWriteStream, fsyncSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { LocalFileError } from '../errors.js';
import { describeFsError, openForWrite } from '../records/local-files.js';
import type { Directory } from '../ldap/directory.js';
import { formatEntry } from '../ldif/write.js';

export interface BackupResult {
  file: string;
  entries: number;
  durationMs: number;
}

/**
 * Streams the suffix to an LDIF file, page by page (README "Usage"): memory does not grow with
 * the directory. `attributes` come from the server adapter (user attributes and the operational
 * ones an offline restore keeps). Written to `FILE.part` (mode 600) and renamed when complete, so
 * FILE is never a truncated backup. Entries come in the server's order, parents first except
 * where a rename moved an entry under a newer parent.
 */
export async function backupSuffix(master: Directory, suffix: string, file: string, attributes: string[]): Promise<BackupResult> {
  const started = Date.now();
  const part = `${file}.part`;
  // A `.part` already there (an earlier backup cut short, or planted) is never reused: removed
  // (a symbolic link itself, not what it points to), then made anew, exclusively, mode 600.
  await rm(part, { force: true }).catch(() => undefined); // a path that cannot hold it: openForWrite says so
  // Opened here, so that a path that cannot be written is a clear error before any read.
  const fd = openForWrite(part, 'wx');
  const out = createWriteStream(part, { fd, autoClose: false });
  let failed: unknown;
  out.on('error', (err) => (failed ??= err));
  let entries = 0;
  try {
    out.write(`# ldap-upgrade backup of ${suffix} from ${master.server} at ${new Date().toISOString()}\nversion: 1\n\n`);
    for await (const page of master.searchPages({ base: suffix, scope: 'sub', attributes })) {
      const text = page.map((entry) => formatEntry(entry) + '\n\n').join('');
      if (failed) throw failed;
      if (!out.write(text)) await Promise.race([once(out, 'drain'), once(out, 'error')]);
      if (failed) throw failed;
      entries += page.length;
    }
    out.end();
    await once(out, 'finish');
    if (failed) throw failed;
    // On disk before it takes the backup's name: a crash never leaves a short file under it.
    fsyncSync(fd);
    closeSync(fd);
  } catch (err) {
    out.destroy();
    try { closeSync(fd); } catch { /* closed already */ }
    await rm(part, { force: true });
    if (err instanceof Error && 'code' in err && typeof (err as NodeJS.ErrnoException).syscall === 'string') {
      throw new LocalFileError(`cannot write the backup ${part}: ${describeFsError(err)}`, { cause: err });
    }
    throw err;
  }
  await rename(part, file);
  return { file, entries, durationMs: Date.now() - started };
}
