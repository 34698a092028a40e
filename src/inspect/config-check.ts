import { errorMessage } from '../errors.js';
import type { Directory } from '../ldap/directory.js';
import { getValues, hasValue, type LdapEntry } from '../ldap/entry.js';
import { withConnection, type Topology } from '../replication/topology.js';
import { discoverScripts } from '../scripts/catalog.js';
import { describeConfigWrite } from '../scripts/config-script.js';
import { configWritesOn } from '../scripts/runtime/config-writes.js';
import { scriptId, type ScriptFile } from '../scripts/types.js';

/**
 * Whether every server holds what the applied configuration scripts set (cn=config is not
 * replicated: a server rebuilt or added after the run lacks it). `verify` and `status` report a
 * server that does not.
 */

/** The configuration scripts of the folder that the history says were applied, for this server kind, in order. */
export async function appliedConfigScripts(topology: Topology): Promise<ScriptFile[]> {
  let catalog;
  try {
    catalog = discoverScripts(topology.config.scripts);
  } catch {
    return []; // no scripts folder here: nothing to compare with
  }
  const all = [...catalog.versions.flatMap((v) => v.scripts), ...[...catalog.tags.values()].flat()];
  const config = all.filter((s) => s.kind === 'config' && (!s.serverKind || s.serverKind === topology.adapter.kind));
  if (config.length === 0) return [];
  const applied = new Set((await topology.store.readHistory()).filter((h) => !h.undoneBy).map((h) => h.script));
  return config.filter((s) => applied.has(scriptId(s)));
}

/**
 * What `url` lacks of `scripts` (each a line naming the change it would take), worked out as the
 * run would: the scripts in order, each record a no-op where it holds. A change one script makes
 * and a later one takes back is no gap. Undefined when the server cannot be read.
 */
export async function configGaps(topology: Topology, url: string, scripts: ScriptFile[]): Promise<{ lacks: string[]; error?: string }> {
  if (scripts.length === 0) return { lacks: [] };
  try {
    return await withConnection(topology.openConfig(url), async (c) => {
      const databaseDn = await topology.adapter.config.databaseDn(c, topology.config.suffix);
      const seen = new Map<string, LdapEntry | null>();
      const pending = [];
      for (const script of scripts) {
        for (const w of await configWritesOn(c, url, script, { databaseDn, suffix: topology.config.suffix }, seen)) pending.push({ script, w });
      }
      const lacks: string[] = [];
      for (const { script, w } of pending) {
        if (await heldNow(c, w.dn, seen.get(w.dn.toLowerCase()) ?? null)) continue;
        lacks.push(`${scriptId(script)}: ${describeConfigWrite(w)}`);
      }
      return { lacks };
    });
  } catch (err) {
    return { lacks: [], error: errorMessage(err) };
  }
}

/** Whether the entry at `dn` is as the scripts leave it (`wanted`; null: absent), on the attributes they name. */
async function heldNow(c: Directory, dn: string, wanted: LdapEntry | null): Promise<boolean> {
  const now = await c.get(dn, ['*']);
  if (!wanted || !now) return !wanted === !now;
  return Object.entries(wanted.attributes).every(([name, values]) => {
    const actual = getValues(now, name);
    return values.length === actual.length && values.every((v) => hasValue(actual, v));
  });
}
