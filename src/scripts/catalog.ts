import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import semver from 'semver';
import { ScriptFileError } from '../errors.js';
import { fileFacts } from './checksum.js';

/** The line `ldap-upgrade new` puts in the scripts it makes, until they are written. */
export const UNWRITTEN_LINE = 'ldap-upgrade: unwritten';
const UNWRITTEN = /^\s*(#|\/\/)\s*ldap-upgrade: unwritten\b/;
import { isSchemaScript } from '../schema/schema-file.js';
import type { ScriptCatalog, ScriptFile, ScriptKind, VersionScripts } from './types.js';

const KINDS: Record<string, ScriptKind> = { '.ldif': 'ldif', '.js': 'code', '.mjs': 'code', '.ts': 'code' };
const SCRIPT_NAME = /^(\d{2})-[^/]+$/;
/** `NN-name.config.ldif`, or `NN-name.openldap.config.ldif` / `NN-name.389ds.config.ldif` for one server kind. */
const CONFIG_NAME = /(?:\.(openldap|389ds))?\.config\.ldif$/i;
const RANK: Record<ScriptKind, number> = { schema: 0, config: 1, ldif: 2, code: 2 };

/**
 * Discovers the scripts folder (README "Upgrade scripts"): version folders named by semver, sorted as semver;
 * files `NN-name.{ldif,js,mjs,ts}` ordered by their prefix (a version's schema scripts first,
 * then its configuration scripts); `tags/<name>/` for named tags.
 * Reads no code: code scripts are loaded by `prepareScripts`.
 */
export function discoverScripts(dir: string): ScriptCatalog {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new ScriptFileError(`scripts folder ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : String(err)}`);
  }
  const skipped: string[] = [];
  const versions: VersionScripts[] = [];
  const tags = new Map<string, ScriptFile[]>();
  for (const name of names) {
    const path = join(dir, name);
    if (/[\0-\x1f\x7f]/.test(name)) throw new ScriptFileError(`${JSON.stringify(path)}: a folder name in the scripts folder may not hold line breaks or other control characters`);
    if (!statSync(path).isDirectory()) {
      skipped.push(name);
      continue;
    }
    if (name === 'tags') {
      for (const tag of readdirSync(path).sort()) {
        const tagPath = join(path, tag);
        if (!statSync(tagPath).isDirectory()) { skipped.push(`tags/${tag}`); continue; }
        if (!/^[A-Za-z0-9][\w.-]*$/.test(tag)) throw new ScriptFileError(`${tagPath}: a tag name uses letters, digits, ".", "_" and "-"`);
        tags.set(tag, readScripts(tagPath, tag, tag, skipped));
      }
      continue;
    }
    if (!semver.valid(name) || semver.clean(name) !== name) {
      throw new ScriptFileError(`${path}: folder name is not a semantic version (like 1.2.0), nor "tags"`);
    }
    versions.push({ version: name, scripts: readScripts(path, name, undefined, skipped) });
  }
  versions.sort((a, b) => semver.compare(a.version, b.version));
  return { dir, versions, tags, skipped };
}

function readScripts(folder: string, version: string, tag: string | undefined, skipped: string[]): ScriptFile[] {
  const scripts: ScriptFile[] = [];
  const byPrefix = new Map<string, string>();
  for (const name of readdirSync(folder).sort()) {
    const path = join(folder, name);
    // A name with a line break or another control character would reach the output, the logs and
    // the dry run's LDIF (an injected record): refused, shown escaped.
    if (/[\0-\x1f\x7f]/.test(name)) throw new ScriptFileError(`${JSON.stringify(path)}: a script's file name may not hold line breaks or other control characters`);
    const config = CONFIG_NAME.exec(name);
    const kind = config ? 'config' : isSchemaScript(name) ? 'schema' : KINDS[extname(name)];
    if (!kind || name.endsWith('.d.ts') || !statSync(path).isFile()) {
      skipped.push(join(tag ? `tags/${tag}` : version, name));
      continue;
    }
    const m = SCRIPT_NAME.exec(name);
    if (!m) throw new ScriptFileError(`${path}: a script name starts with a two-digit prefix, like 01-${name}`);
    const prefix = m[1]!;
    const other = byPrefix.get(prefix);
    if (other) throw new ScriptFileError(`${folder}: ${other} and ${name} share the prefix ${prefix}; each script needs its own`);
    byPrefix.set(prefix, name);
    // One streamed pass: a script of any size is never held whole.
    const facts = fileFacts(path, UNWRITTEN);
    if (facts.unwritten) {
      throw new ScriptFileError(`${path}: still the template \`ldap-upgrade new\` made: write the script, then delete its "ldap-upgrade: unwritten" line (until then it refuses to run, so that an empty script is never recorded as applied)`);
    }
    const serverKind = config?.[1]?.toLowerCase() as ScriptFile['serverKind'];
    scripts.push({ version, tag, prefix, name, path, kind, checksum: facts.checksum, ...(kind === 'ldif' ? { records: facts.records } : {}), ...(serverKind ? { serverKind } : {}) });
  }
  // A version's schema comes before its configuration, and both before its data (README "Upgrade
  // scripts"): its entries may use the new definitions, and its searches the new indexes.
  return scripts.sort((a, b) => RANK[a.kind] - RANK[b.kind] || a.prefix.localeCompare(b.prefix));
}
