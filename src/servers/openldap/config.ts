import { setTimeout as sleep } from 'node:timers/promises';
import { LdapOperationError, RefusedError } from '../../errors.js';
import type { Directory } from '../../ldap/directory.js';
import { getValues, normalizeDn, type AttributeValue } from '../../ldap/entry.js';
import { escapeFilterValue } from '../../ldap/escape.js';
import type { ConfigWriter } from '../adapter.js';
import { configWriteProblem } from './schema.js';

/**
 * Where slapd lists its background tasks (back-monitor, thread.c: `cn=Tasklist` holds one
 * `{i}name(arg)` value per task of its run queue, running or waiting).
 */
export const TASKLIST = 'cn=Tasklist,cn=Threads,cn=Monitor';

/**
 * Configuration scripts on OpenLDAP. An `olcDbIndex` value added or replaced on a back-mdb
 * database makes slapd index the entries already there by itself, online: the change queues
 * `mdb_online_index` with the database's suffix in slapd's run queue, and the task removes itself
 * from the queue once every entry is indexed (servers/slapd/back-mdb/config.c, `MDB_INDEX` and
 * `mdb_online_index`). Until then searches on the attribute do not use the new index. The wait
 * watches that queue through the monitor backend: `cn=Tasklist,cn=Threads,cn=Monitor`.
 */
export const openldapConfig: ConfigWriter = {
  async databaseDn(config, suffix) {
    const want = normalizeDn(suffix);
    for await (const e of config.search({ base: 'cn=config', scope: 'one', filter: `(olcSuffix=${escapeFilterValue(suffix)})`, attributes: ['olcSuffix'] })) {
      if (getValues(e, 'olcSuffix').some((v) => normalizeDn(String(v)) === want)) return e.dn;
    }
    throw new RefusedError(`no database under cn=config has olcSuffix ${suffix}`);
  },

  writeProblem(config, bindDn, dn) {
    return configWriteProblem(config, bindDn, dn, dn);
  },

  indexBuild(writes, databaseDn) {
    const attributes = new Set<string>();
    for (const w of writes) {
      if (w.kind !== 'modify' || normalizeDn(w.dn) !== normalizeDn(databaseDn)) continue;
      for (const c of w.changes) {
        if (c.attribute.toLowerCase() !== 'olcdbindex' || c.operation === 'delete') continue;
        for (const name of indexedAttributes(c.values)) attributes.add(name);
      }
    }
    return attributes.size ? { attributes: [...attributes], vlv: [] } : undefined;
  },

  async buildIndexes(config, suffix, _databaseDn, build, options) {
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    const what = `the index of ${build.attributes.join(', ')}`;
    await options.started?.();
    for (let wait = Math.min(options.pollMs, 50); ; wait = Math.min(wait * 2, options.pollMs)) {
      const running = await indexing(config, suffix);
      if (running === undefined) {
        return { summary: `${what}: built by slapd online`, warning: `slapd builds ${what} online, but this server's monitor (${TASKLIST}) cannot be read with configBind, so the run cannot wait for the end: searches on ${build.attributes.join(', ')} may be slow until it is done (configure the monitor database, olcDatabase=monitor, readable by configBind)` };
      }
      if (!running) return { summary: `${what}: built online in ${((Date.now() - started) / 1000).toFixed(1)} s` };
      if (Date.now() > deadline) throw new RefusedError(`${what} was still being built after ${Math.round(options.timeoutMs / 1000)} s (slapd's mdb_online_index for ${suffix})`);
      if (options.signal?.aborted) throw new RefusedError(`interrupted while slapd built ${what}`);
      options.progress(`slapd is indexing ${build.attributes.join(', ')} (${((Date.now() - started) / 1000).toFixed(1)} s so far)`);
      await sleep(wait);
    }
  },
};

/** The attribute names of `olcDbIndex` values (`cn,uid eq,sub`, `default eq`: not `default`). */
export function indexedAttributes(values: AttributeValue[]): string[] {
  return values.flatMap((v) => String(v).trim().split(/\s+/)[0]!.split(',')).map((a) => a.trim()).filter((a) => a && a.toLowerCase() !== 'default');
}

/**
 * Whether slapd's online indexing of the database of `suffix` is queued or running; undefined
 * when the monitor cannot be read (no monitor database, or no access to it).
 */
async function indexing(config: Directory, suffix: string): Promise<boolean | undefined> {
  let entry;
  try {
    entry = await config.get(TASKLIST, ['monitoredInfo']);
  } catch (err) {
    if (err instanceof LdapOperationError) return undefined;
    throw err;
  }
  if (!entry) return undefined;
  const want = normalizeDn(suffix);
  return getValues(entry, 'monitoredInfo').some((v) => {
    const m = /^(?:\{\d+\})?mdb_online_index\((.*)\)$/.exec(String(v).trim());
    return m !== null && normalizeDn(m[1]!) === want;
  });
}

