import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A scripts folder from `{ '2.0.0/01-x.schema.ldif': text }`, in a new temporary folder. */
export function scriptsTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-scripts-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
