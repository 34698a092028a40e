import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import type { Directory } from '../ldap/directory.js';
import { formatEntry } from '../ldif/write.js';

export interface BackupResult {
  file: string;
  entries: number;
  durationMs: number;
}

/**
 * Streams the suffix to an LDIF file, page by page (SPEC §6 `backup`): memory does not grow with
 * the directory. `attributes` come from the server adapter (user attributes and the operational
 * ones an offline restore keeps). Written to `FILE.part` (mode 600) and renamed when complete, so
 * FILE is never a truncated backup. Entries come in the server's order, parents first except
 * where a rename moved an entry under a newer parent.
 */
export async function backupSuffix(master: Directory, suffix: string, file: string, attributes: string[]): Promise<BackupResult> {
  const started = Date.now();
  await mkdir(dirname(file), { recursive: true });
  const part = `${file}.part`;
  const out = createWriteStream(part, { mode: 0o600 });
  let entries = 0;
  try {
    out.write(`# ldap-upgrade backup of ${suffix} from ${master.server} at ${new Date().toISOString()}\nversion: 1\n\n`);
    for await (const page of master.searchPages({ base: suffix, scope: 'sub', attributes })) {
      const text = page.map((entry) => formatEntry(entry) + '\n\n').join('');
      if (!out.write(text)) await once(out, 'drain');
      entries += page.length;
    }
    out.end();
    await once(out, 'close');
  } catch (err) {
    out.destroy();
    await rm(part, { force: true });
    throw err;
  }
  await rename(part, file);
  return { file, entries, durationMs: Date.now() - started };
}
