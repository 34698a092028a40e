import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RefusedError } from '../../errors.js';
import type { Directory } from '../../ldap/directory.js';
import { getFirst, getValues, isUnder, normalizeDn, parentDn, rdnOf, type LdapEntry } from '../../ldap/entry.js';
import { escapeDnValue } from '../../ldap/escape.js';
import type { ConfigWriter } from '../adapter.js';
import { findMappingTree } from './mapping-tree.js';

const LDBM = 'cn=ldbm database,cn=plugins,cn=config';
const INDEX_TASKS = 'cn=index,cn=tasks,cn=config';
/** How long 389 DS keeps a finished task's entry (its `ttl`): long enough for a slow poll to read its end. */
const TASK_TTL_S = 600;
/** The names of the index tasks this tool starts begin so (how a later run finds one still running). */
const TASK_PREFIX = 'ldap-upgrade-';

/**
 * Configuration scripts on 389 DS. An index entry (`nsIndex` under `cn=index,${databaseDn}`) or a
 * VLV index (`vlvIndex` under a `vlvSearch` there) added or changed applies to new writes at once,
 * but the entries already there are indexed only by an index task: one entry under
 * `cn=index,cn=tasks,cn=config` per server with `nsInstance` (the backend), `nsIndexAttribute`
 * (each attribute) and `nsIndexVLVAttribute` (each VLV index), polled until 389 DS sets
 * `nsTaskExitCode` (ldap/servers/slapd/task.c: the code is written only when the task has
 * finished; its `nsTaskLog` says why a non-zero one failed). FreeIPA batches its index changes
 * into one such task per server the same way. While an index task runs, 389 DS keeps the
 * backend read-only (client writes, replicated changes and this tool's own records wait): a run
 * killed during the wait leaves it running, and `recover` / `upgrade --resume` wait for it
 * before their first write (`runningBuilds`).
 */
export const dirsrvConfig: ConfigWriter = {
  async databaseDn(config, suffix) {
    const tree = await findMappingTree(config, suffix, ['nsslapd-backend']);
    // A replica frozen by this tool names its chaining instance here too: the ldbm one is the database.
    for (const backend of getValues(tree, 'nsslapd-backend').map(String)) {
      const dn = `cn=${escapeDnValue(backend)},${LDBM}`;
      if (await config.get(dn, ['1.1'])) return dn;
    }
    throw new RefusedError(`the mapping tree entry ${tree.dn} names no ldbm database backend (nsslapd-backend)`);
  },

  async writeProblem(config, bindDn, dn) {
    const cfg = await config.get('cn=config', ['nsslapd-rootdn']).catch(() => null);
    const root = cfg ? getFirst(cfg, 'nsslapd-rootdn') : undefined;
    if (root && normalizeDn(root) === normalizeDn(bindDn)) return undefined;
    if (!(await config.get(dn, ['1.1']).catch(() => null))) return `${bindDn} cannot read ${dn}: configBind must be the Directory Manager (nsslapd-rootdn) or be granted write there`;
    // An aci on the entry or above it (acis are inherited) that allows writes may or may not
    // name this DN: the write will tell.
    for (let at = dn; at && isUnder(at, 'cn=config'); at = parentDn(at)) {
      const entry = await config.get(at, ['aci']).catch(() => null);
      if (entry && getValues(entry, 'aci').some((a) => /allow\s*\([^)]*\b(write|add|all)\b/i.test(String(a)))) return undefined;
    }
    return `${bindDn} may not write ${dn}: it is not the Directory Manager (nsslapd-rootdn) and no aci on it or above it allows writes`;
  },

  indexBuild(writes, databaseDn) {
    const attributes = new Set<string>();
    const vlv = new Set<string>();
    const indexes = `cn=index,${databaseDn}`;
    for (const w of writes) {
      if (!isUnder(w.dn, databaseDn) || w.kind === 'delete') continue;
      const classes = w.kind === 'add' ? getValues({ dn: w.dn, attributes: w.attributes }, 'objectClass').map((c) => String(c).toLowerCase()) : getValues(w.pre, 'objectClass').map((c) => String(c).toLowerCase());
      const touched = w.kind === 'add' ? Object.keys(w.attributes) : w.changes.map((c) => c.attribute);
      const name = rdnValue(w.dn);
      if (classes.includes('nsindex') && normalizeDn(w.dn).endsWith(`,${normalizeDn(indexes)}`)) {
        if (w.kind === 'add' || touched.some((a) => /^(nsIndexType|nsMatchingRule)$/i.test(a))) attributes.add(name);
      } else if (classes.includes('vlvindex')) {
        if (w.kind === 'add' || touched.some((a) => /^vlvSort$/i.test(a))) vlv.add(name);
      }
    }
    return attributes.size || vlv.size ? { attributes: [...attributes], vlv: [...vlv] } : undefined;
  },

  async runningBuilds(config) {
    const running: string[] = [];
    for await (const e of config.search({ base: INDEX_TASKS, scope: 'one', filter: `(&(cn=${TASK_PREFIX}*)(!(nsTaskExitCode=*)))`, attributes: ['cn', 'nsTaskStatus'] })) {
      running.push(`index task ${getFirst(e, 'cn')}${getFirst(e, 'nsTaskStatus') ? ` (${getFirst(e, 'nsTaskStatus')})` : ''}`);
    }
    return running;
  },

  async buildIndexes(config, _suffix, databaseDn, build, options) {
    const backend = rdnValue(databaseDn);
    const name = `${TASK_PREFIX}${Date.now()}-${randomBytes(3).toString('hex')}`;
    const dn = `cn=${name},${INDEX_TASKS}`;
    await config.add(dn, {
      objectClass: ['top', 'extensibleObject'], cn: [name], nsInstance: [backend], ttl: [String(TASK_TTL_S)],
      ...(build.attributes.length ? { nsIndexAttribute: build.attributes } : {}),
      ...(build.vlv.length ? { nsIndexVLVAttribute: build.vlv } : {}),
    });
    const what = [...build.attributes, ...build.vlv.map((v) => `VLV ${v}`)].join(', ');
    await options.started?.();
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    for (let wait = Math.min(options.pollMs, 50); ; wait = Math.min(wait * 2, options.pollMs)) {
      const task = await config.get(dn, ['nsTaskExitCode', 'nsTaskStatus', 'nsTaskLog', 'nsTaskCurrentItem', 'nsTaskTotalItems']);
      if (!task) throw new RefusedError(`index task ${dn} (${what}) disappeared before it reported an exit code`);
      const code = getFirst(task, 'nsTaskExitCode');
      if (code !== undefined) {
        if (code !== '0') throw new RefusedError(`index task ${dn} (${what}) failed with exit code ${code}: ${lastLines(task)}`);
        return { summary: `index task ${name} (${what}): exit 0 after ${((Date.now() - started) / 1000).toFixed(1)} s` };
      }
      if (Date.now() > deadline) throw new RefusedError(`index task ${dn} (${what}) had not finished after ${Math.round(options.timeoutMs / 1000)} s: ${getFirst(task, 'nsTaskStatus') ?? 'no status'}`);
      if (options.signal?.aborted) throw new RefusedError(`interrupted while index task ${dn} (${what}) ran`);
      options.progress(`index task ${name} (${what}): ${getFirst(task, 'nsTaskStatus') ?? 'started'}`);
      await sleep(wait);
    }
  },
};

/** The value of a DN's first RDN (`cn=mail,cn=index,…` → `mail`). */
function rdnValue(dn: string): string {
  return rdnOf(dn).replace(/^[^=]+=/, '').replace(/\\(.)/g, '$1').trim();
}

/** The last lines of a task's log and its status, in one line. */
function lastLines(task: LdapEntry): string {
  const log = (getFirst(task, 'nsTaskLog') ?? '').trim().split('\n').slice(-3).join(' / ');
  return [getFirst(task, 'nsTaskStatus'), log].filter(Boolean).join('; ') || 'no log';
}
