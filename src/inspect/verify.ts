import { errorMessage } from '../errors.js';
import type { Directory } from '../ldap/directory.js';
import { isUnder, normalizeDn } from '../ldap/entry.js';
import { differingAttributes, entryDigest as digest, ignoreSet } from '../replication/entry-compare.js';
import type { EventSink } from '../events.js';
import { FORMAT_VERSION } from '../report-format.js';
import type { Topology } from '../replication/topology.js';
import { schemaGaps } from '../schema/compare.js';
import { readServerSchema } from '../schema/read.js';
import { appliedConfigScripts, configGaps } from './config-check.js';

/** At most this many DNs are listed per kind of difference and replica (all are counted). */
const LISTED = 1000;

export interface ReplicaComparison {
  url: string;
  reachable: boolean;
  identical: boolean;
  entries: number;
  /** On the master, not on the replica. */
  missing: { count: number; dns: string[] };
  /** On the replica, not on the master. */
  extra: { count: number; dns: string[] };
  /** On both, with other values: the DN and the attributes that differ. */
  differing: { count: number; entries: { dn: string; attributes: string[] }[] };
  /** Attribute types and object classes of the master's that this node lacks or shows otherwise. */
  schema?: { missing: number; differing: number; examples: string[] };
  /** What this server lacks of the applied configuration scripts (cn=config is not replicated). */
  config?: string[];
  error?: string;
}

export interface VerifyReport {
  kind: 'verify';
  formatVersion: number;
  master: string;
  entries: number;
  identical: boolean;
  /** What the master lacks of the applied configuration scripts. */
  masterConfig?: string[];
  replicas: ReplicaComparison[];
}

/**
 * `verify`: compares the suffix on the master and on each replica entry by entry. Both sides are
 * streamed page by page; the master's side is kept as one digest per DN (not the entries), so
 * memory grows by about a hundred bytes per entry. Operational attributes and the tool's own
 * lock and run records are left out. Each
 * server's cn=config is checked against the applied configuration scripts.
 */
export async function verifyTopology(topology: Topology, events: EventSink): Promise<VerifyReport> {
  const { suffix } = topology.config;
  events({ type: 'phase', phase: 'preflight', message: `reading ${suffix} on the master` });
  // One digest per DN for each distinct set of ignored attributes (fractional replicas).
  const ignoreKeys = [...new Set(topology.replicas.map((r) => ignoreKey(r.ignoreAttributes)))];
  const ignores = ignoreKeys.map((k) => ignoreSet(k ? k.split(',') : undefined));
  const master = new Map<string, { dn: string; digests: string[] }>();
  const skip = bookkeeping(topology);
  for await (const e of topology.master.search({ base: suffix, attributes: ['*'] })) if (!skip(e.dn)) master.set(normalizeDn(e.dn), { dn: e.dn, digests: ignores.map((i) => digest(e, i)) });
  const masterSchema = await readServerSchema(topology.master);
  const configScripts = await appliedConfigScripts(topology);
  const masterConfig = await configGaps(topology, topology.config.master.url, configScripts);
  const replicas = await Promise.all(topology.replicas.map(async (r) => {
    const index = ignoreKeys.indexOf(ignoreKey(r.ignoreAttributes));
    const result = await compareReplica(topology, r.url, r.data, r.error, master, index, ignores[index]);
    if (r.data && !result.error) {
      const gaps = schemaGaps(masterSchema, await readServerSchema(r.data));
      result.schema = { missing: gaps.missingCount, differing: gaps.differingCount, examples: [...gaps.missing.map((m) => `lacks ${m}`), ...gaps.differing.map((d) => `differs: ${d}`)].slice(0, 10) };
      if (gaps.missingCount || gaps.differingCount) result.identical = false;
      const config = await configGaps(topology, r.url, configScripts);
      if (config.lacks.length || config.error) {
        result.config = config.error ? [`cannot be read over configBind: ${config.error}`] : config.lacks;
        result.identical = false;
      }
    }
    return result;
  }));
  const masterLacks = masterConfig.error ? [`cannot be read over configBind: ${masterConfig.error}`] : masterConfig.lacks;
  return {
    kind: 'verify', formatVersion: FORMAT_VERSION, master: topology.config.master.url, entries: master.size,
    identical: replicas.every((r) => r.identical) && masterLacks.length === 0, ...(masterLacks.length ? { masterConfig: masterLacks } : {}), replicas,
  };
}

/**
 * The tool's own lock and run records: bookkeeping of runs, changed at a run's very end (the lock
 * deleted, the record's last state), which a replica may not hold yet right after a run — not the
 * directory's content. The version entry and the history are compared like any entry.
 */
function bookkeeping(topology: Topology): (dn: string) => boolean {
  const lock = normalizeDn(topology.store.lockDn);
  const runs = topology.store.runsDn;
  return (dn) => normalizeDn(dn) === lock || (isUnder(dn, runs) && normalizeDn(dn) !== normalizeDn(runs));
}

function ignoreKey(names: string[] | undefined): string {
  return (names ?? []).map((n) => n.toLowerCase()).sort().join(',');
}

async function compareReplica(topology: Topology, url: string, data: Directory | undefined, error: string | undefined, master: Map<string, { dn: string; digests: string[] }>, index: number, ignore: ReadonlySet<string> | undefined): Promise<ReplicaComparison> {
  const result: ReplicaComparison = {
    url, reachable: data !== undefined, identical: false, entries: 0,
    missing: { count: 0, dns: [] }, extra: { count: 0, dns: [] }, differing: { count: 0, entries: [] },
  };
  if (!data) {
    result.error = error;
    return result;
  }
  const seen = new Set<string>();
  try {
    const skip = bookkeeping(topology);
    for await (const e of data.search({ base: topology.config.suffix, attributes: ['*'] })) {
      if (skip(e.dn)) continue;
      result.entries++;
      const key = normalizeDn(e.dn);
      const expected = master.get(key);
      if (expected === undefined) {
        add(result.extra, e.dn);
        continue;
      }
      seen.add(key);
      if (expected.digests[index] === digest(e, ignore)) continue;
      result.differing.count++;
      if (result.differing.entries.length < LISTED) {
        const theirs = await topology.master.get(e.dn);
        result.differing.entries.push({ dn: e.dn, attributes: theirs ? differingAttributes(theirs, e, ignore) : ['(gone from the master)'] });
      }
    }
  } catch (err) {
    result.error = errorMessage(err);
    return result;
  }
  for (const [key, m] of master) if (!seen.has(key)) add(result.missing, m.dn);
  result.identical = result.missing.count === 0 && result.extra.count === 0 && result.differing.count === 0;
  return result;
}

function add(list: { count: number; dns: string[] }, dn: string): void {
  list.count++;
  if (list.dns.length < LISTED) list.dns.push(dn);
}
