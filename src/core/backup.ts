import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import type { Directory } from '../ldap/directory.js';
import { formatEntry } from '../ldif/write.js';

/** Streams the suffix to an LDIF file (parents before children), page by page. Returns the entry count. */
export async function backupSuffix(master: Directory, suffix: string, file: string): Promise<number> {
  await mkdir(dirname(file), { recursive: true });
  const out = createWriteStream(file, { mode: 0o600 });
  let count = 0;
  try {
    out.write(`# ldap-upgrade backup of ${suffix} from ${master.server} at ${new Date().toISOString()}\nversion: 1\n\n`);
    for await (const entry of master.search({ base: suffix, scope: 'sub', attributes: ['*'] })) {
      if (!out.write(formatEntry(entry) + '\n\n')) await once(out, 'drain');
      count++;
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return count;
}
