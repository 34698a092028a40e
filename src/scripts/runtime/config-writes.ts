import { ScriptFileError, errorMessage } from '../../errors.js';
import type { Directory } from '../../ldap/directory.js';
import { applyModifications, parentDn, type LdapEntry } from '../../ldap/entry.js';
import type { ConfigWrite } from '../../ldap/planned-write.js';
import { configWrite, readConfigScript, type ConfigPlaceholders } from '../config-script.js';
import type { ScriptFile } from '../types.js';

/**
 * The writes that make every record of `script` hold on one server, worked out in order against
 * what the server holds, as changed by the writes before (`seen`: DN → entry, null when absent).
 * Bad input for this server throws ScriptFileError naming the file, the record's line and the server.
 */
export async function configWritesOn(c: Directory, url: string, script: Pick<ScriptFile, 'path'>, placeholders: ConfigPlaceholders, seen: Map<string, LdapEntry | null>): Promise<ConfigWrite[]> {
  const records = readConfigScript(script, placeholders);
  const current = async (dn: string): Promise<LdapEntry | null> => {
    const key = dn.toLowerCase();
    if (!seen.has(key)) seen.set(key, await c.get(dn, ['*']));
    return seen.get(key)!;
  };
  const writes: ConfigWrite[] = [];
  for (const r of records) {
    const at = `${script.path}:${r.line}: ${url}`;
    let w: ConfigWrite | undefined;
    try {
      w = configWrite(r, (await current(r.dn)) ?? undefined);
    } catch (err) {
      throw new ScriptFileError(`${at}: ${errorMessage(err)}`, { cause: err });
    }
    if (!w) continue;
    if (w.kind === 'add' && !(await current(parentDn(w.dn)))) throw new ScriptFileError(`${at}: cannot add ${w.dn}: its parent ${parentDn(w.dn)} does not exist there`);
    seen.set(w.dn.toLowerCase(), w.kind === 'delete' ? null : w.kind === 'add' ? { dn: w.dn, attributes: w.attributes } : applyModifications(w.pre, w.changes));
    writes.push(w);
  }
  return writes;
}

/**
 * Every add and modify of `script` as a write, whether it holds already or not (the entry as it
 * is now for a modify's pre-image): what a resumed run's interrupted step asks builds for again,
 * since the build it had started may not have finished.
 */
export async function configRecordsAsWrites(c: Directory, script: Pick<ScriptFile, 'path'>, placeholders: ConfigPlaceholders): Promise<ConfigWrite[]> {
  const out: ConfigWrite[] = [];
  for (const r of readConfigScript(script, placeholders)) {
    if (r.kind === 'add') out.push({ kind: 'add', dn: r.dn, attributes: r.attributes });
    else if (r.kind === 'modify') out.push({ kind: 'modify', dn: r.dn, changes: r.changes, pre: (await c.get(r.dn, ['*'])) ?? { dn: r.dn, attributes: {} } });
  }
  return out;
}
