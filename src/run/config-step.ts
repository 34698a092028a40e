import { setTimeout as sleep } from 'node:timers/promises';
import { LdapOperationError, RefusedError, UpgradeError, errorMessage } from '../errors.js';
import type { Directory } from '../ldap/directory.js';
import type { LdapEntry } from '../ldap/entry.js';
import type { ConfigWrite, PlannedWrite } from '../ldap/planned-write.js';
import { PROGRESS_MS, type EventSink } from '../events.js';
import { failpoint } from '../failpoints.js';
import type { UpgradePlan } from '../plan/planner.js';
import type { Journal } from '../records/journal.js';
import { withConfig, type Topology } from '../replication/topology.js';
import { describeConfigWrite } from '../scripts/config-script.js';
import { configRecordsAsWrites, configWritesOn } from '../scripts/runtime/config-writes.js';
import type { IndexBuild } from '../servers/adapter.js';
import type { ScriptFile } from '../scripts/types.js';
import type { ConfigServerResult } from './reports.js';

/**
 * Configuration scripts (README "Configuration scripts"): on every server — the master and each
 * replica — over configBind, each record made to hold (a no-op where it holds already), every
 * write journaled with its server before it is sent, then the index builds the writes call for,
 * awaited. cn=config is not replicated: nothing here waits for replication.
 */

/** A configuration step that failed, with what each server had been sent (the rollback undoes it from the journal). */
export class ConfigStepFailure extends Error {
  constructor(message: string, readonly results: ConfigServerResult[], options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Whether `script` is for this topology's server kind (a `.openldap.` / `.389ds.` one is skipped on the other). */
export function configApplies(script: ScriptFile, topology: Topology): boolean {
  return !script.serverKind || script.serverKind === topology.adapter.kind;
}

/** Every server a configuration script goes to. */
export function configServers(topology: Topology): string[] {
  return [topology.config.master.url, ...topology.replicas.map((r) => r.url)];
}

/**
 * Before the lock, when the plan holds configuration scripts for this kind: every server must
 * answer over configBind (3 when it cannot bind, 7 when it cannot be reached), have a database
 * entry for the suffix, let configBind write it (7 naming the right that is missing), and every
 * record must be one that can hold there (2 naming the file, the record's line and the server: a
 * DN that does not exist, an entry present with other values). Nothing is written.
 */
export async function configPreflight(topology: Topology, plan: UpgradePlan, events: EventSink): Promise<void> {
  const scripts = plan.steps.map((s) => s.script).filter((s) => s.kind === 'config' && configApplies(s, topology));
  if (scripts.length === 0) return;
  const problems: string[] = [];
  await Promise.all(configServers(topology).map((url) => withConfig(topology, url, async (c) => {
    let databaseDn: string;
    try {
      databaseDn = await topology.adapter.config.databaseDn(c, topology.config.suffix);
    } catch (err) {
      problems.push(`${url}: ${errorMessage(err)}`);
      return;
    }
    const problem = await topology.adapter.config.writeProblem(c, topology.config.configBind.dn, databaseDn);
    if (problem) problems.push(`${url}: ${problem}`);
    // The scripts in plan order, each seeing what the ones before it would have written.
    const seen = new Map<string, LdapEntry | null>();
    for (const script of scripts) await configWritesOn(c, url, script, { databaseDn, suffix: topology.config.suffix }, seen);
  }).catch((err: unknown) => {
    // Bad input (2), a refusal (7), no connection or bind (3): as they are; anything else — a
    // read the server refused included — is a refusal naming the server.
    if ((err instanceof UpgradeError && !(err instanceof LdapOperationError)) || !(err instanceof Error)) throw err;
    throw new RefusedError(`preflight: configuration scripts: ${url}: ${errorMessage(err)}`, { cause: err });
  })));
  if (problems.length) throw new RefusedError(`preflight: the plan has configuration scripts, but ${problems.join('; ')}`);
  events({ type: 'info', message: `configuration: ${scripts.length} script(s) for every server (${configServers(topology).length}); configBind may write the database entry on each` });
}

/**
 * Dry run: per server, what the script would change and whether an index would be built. Writes
 * nothing. `seen` (per server URL) carries what the dry run's earlier configuration scripts would
 * have written there, so that a later one sees it.
 */
export async function planConfigStep(topology: Topology, script: ScriptFile, id: string, events: EventSink, seen: Map<string, Map<string, LdapEntry | null>> = new Map()): Promise<ConfigServerResult[]> {
  if (!configApplies(script, topology)) return skipped(topology, script, id, events);
  const planned = await Promise.all(configServers(topology).map((url) => withConfig(topology, url, async (c) => {
    const databaseDn = await topology.adapter.config.databaseDn(c, topology.config.suffix);
    if (!seen.has(url)) seen.set(url, new Map());
    const writes = await configWritesOn(c, url, script, { databaseDn, suffix: topology.config.suffix }, seen.get(url)!);
    return { url, writes, build: topology.adapter.config.indexBuild(writes, databaseDn) };
  })));
  const entries = planned.some((p) => p.build) ? await countEntries(topology) : 0;
  return planned.map(({ url, writes, build }) => {
    const index = build ? `would build the index of ${[...build.attributes, ...build.vlv.map((v) => `VLV ${v}`)].join(', ')} over ${entries} entries` : undefined;
    events({ type: 'script-log', script: id, message: `${url}: ${writes.length ? `would ${writes.map(describeConfigWrite).join('; ')}` : 'nothing to do'}${index ? `; ${index}` : ''}` });
    return { url, changes: writes.map(describeConfigWrite), ...(index ? { index } : {}) };
  });
}

export interface ConfigApplyOptions {
  journal: Journal;
  /**
   * The step a resumed run was interrupted in: the index builds of every index record are
   * started again (the one started before may not have finished; a build is idempotent).
   */
  rebuild?: boolean;
  timeoutMs: number;
  pollMs: number;
  signal?: AbortSignal;
}

/**
 * Applies a configuration script on every server at once, each write journaled (with its server)
 * before it is sent, then builds the indexes it calls for there and waits. Throws
 * ConfigStepFailure naming the server when one refuses or its build fails; what the others were
 * sent stays journaled for the rollback.
 */
export async function applyConfigStep(topology: Topology, script: ScriptFile, id: string, options: ConfigApplyOptions, events: EventSink): Promise<ConfigServerResult[]> {
  if (!configApplies(script, topology)) return skipped(topology, script, id, events);
  const urls = configServers(topology);
  const results: ConfigServerResult[] = urls.map((url) => ({ url, changes: [] }));
  const settled = await Promise.allSettled(urls.map((url, i) => withConfig(topology, url, async (c) => {
    const result = results[i]!;
    const databaseDn = await topology.adapter.config.databaseDn(c, topology.config.suffix);
    const writes = await configWritesOn(c, url, script, { databaseDn, suffix: topology.config.suffix }, new Map());
    for (const w of writes) {
      const seq = options.journal.appendConfig(plannedWrite(w), id, url);
      try {
        await send(c, w);
      } catch (err) {
        // Refused: it changed nothing there, so there is nothing to undo for it.
        if (err instanceof LdapOperationError) options.journal.refused(seq);
        throw err;
      }
      result.changes.push(describeConfigWrite(w));
    }
    events({ type: 'script-log', script: id, message: `${url}: ${writes.length ? writes.map(describeConfigWrite).join('; ') : 'nothing to do'}` });
    const build = mergeBuilds([
      topology.adapter.config.indexBuild(writes, databaseDn),
      options.rebuild ? topology.adapter.config.indexBuild(await configRecordsAsWrites(c, script, { databaseDn, suffix: topology.config.suffix }), databaseDn) : undefined,
    ]);
    if (build) {
      let said = 0;
      const built = await topology.adapter.config.buildIndexes(c, topology.config.suffix, databaseDn, build, {
        timeoutMs: options.timeoutMs, pollMs: options.pollMs, signal: options.signal,
        // A line now and then while it lasts, not one per poll.
        progress: (text) => {
          if (Date.now() - said < PROGRESS_MS) return;
          said = Date.now();
          events({ type: 'script-log', script: id, message: `${url}: ${text}` });
        },
        started: () => failpoint('index'),
      });
      result.index = built.summary;
      if (built.warning) result.warning = built.warning;
      events({ type: 'script-log', script: id, message: `${url}: ${built.summary}` });
      if (built.warning) events({ type: 'warning', message: `${id}: ${url}: ${built.warning}` });
    }
  })));
  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [`${urls[i]}: ${errorMessage(s.reason)}`] : []));
  if (failed.length) throw new ConfigStepFailure(failed.join('; '), results, { cause: (settled.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason });
  return results;
}

function mergeBuilds(builds: (IndexBuild | undefined)[]): IndexBuild | undefined {
  const present = builds.filter((b): b is IndexBuild => b !== undefined);
  if (present.length === 0) return undefined;
  return { attributes: [...new Set(present.flatMap((b) => b.attributes))], vlv: [...new Set(present.flatMap((b) => b.vlv))] };
}

/**
 * Before the first write of `recover` or `upgrade --resume`: waits (at most `timeoutMs`) until
 * no index build a killed run left running keeps a server's database read-only (389 DS), with a
 * line now and then. Servers that cannot be asked are passed over (their own step says why).
 */
export async function awaitLeftBuilds(topology: Topology, timeoutMs: number, pollMs: number, events: EventSink): Promise<void> {
  const running = topology.adapter.config.runningBuilds;
  if (!running) return;
  const deadline = Date.now() + timeoutMs;
  await Promise.all(configServers(topology).map((url) => withConfig(topology, url, async (c) => {
    let said = 0;
    for (;;) {
      const left = await running(c, topology.config.suffix);
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        events({ type: 'warning', message: `${url}: ${left.join(', ')} still running after ${Math.round(timeoutMs / 1000)} s (389 DS keeps the database read-only meanwhile): going on` });
        return;
      }
      if (Date.now() - said >= PROGRESS_MS * 5) {
        said = Date.now();
        events({ type: 'info', message: `${url}: waiting for ${left.join(', ')}, left by the interrupted run (the database is read-only until it ends)` });
      }
      await sleep(pollMs);
    }
  }).catch(() => undefined)));
}

/**
 * Runs `write` (a write to the master), again while the master answers that its database is
 * read-only — 389 DS after an index task, until it has set the backend writable again — for at
 * most `timeoutMs`.
 */
export async function whileReadOnly<T>(write: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 50; ; wait = Math.min(wait * 2, 1_000)) {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof LdapOperationError) || err.code !== 53 || !/read-only/i.test(err.message) || Date.now() > deadline) throw err;
    }
    await sleep(wait);
  }
}

/** How many configuration changes a step made (the most on one server). */
export function configChanges(results: ConfigServerResult[]): number {
  return Math.max(0, ...results.map((r) => r.changes.length));
}

async function send(c: Directory, w: ConfigWrite): Promise<void> {
  if (w.kind === 'add') await c.add(w.dn, w.attributes);
  else if (w.kind === 'modify') await c.modify(w.dn, w.changes);
  else await c.delete(w.dn);
}

/** The journal's shape of a configuration write. */
function plannedWrite(w: ConfigWrite): PlannedWrite {
  return w.kind === 'add' ? { ...w, pre: null } : w;
}

function skipped(topology: Topology, script: ScriptFile, id: string, events: EventSink): ConfigServerResult[] {
  events({ type: 'script-log', script: id, message: `for ${script.serverKind} servers only: skipped on ${topology.adapter.kind}` });
  return [];
}

/** The entries under the suffix on the master (what an index build goes over), for the dry run. */
async function countEntries(topology: Topology): Promise<number> {
  let n = 0;
  for await (const _ of topology.master.search({ base: topology.config.suffix, scope: 'sub', attributes: ['1.1'] })) n++;
  return n;
}

