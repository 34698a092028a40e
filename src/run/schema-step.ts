import { setTimeout as sleep } from 'node:timers/promises';
import { RefusedError, errorMessage } from '../errors.js';
import type { Directory } from '../ldap/directory.js';
import { describeDiff, diffIsEmpty, diffSchema, type SchemaDiff } from '../schema/compare.js';
import { definitionLabel, type Definition } from '../schema/definition.js';
import { readServerSchema } from '../schema/read.js';
import type { SchemaScript } from '../schema/schema-file.js';
import type { UpgradePlan } from '../plan/planner.js';
import type { EventSink } from '../events.js';
import type { SchemaServerResult } from './reports.js';
import { hostPort } from '../ldap/url.js';
import { withConfig, type Topology } from '../replication/topology.js';

/** A schema step that failed, with what it had written (kept: schema is forward-only). */
export class SchemaStepFailure extends Error {
  constructor(message: string, readonly results: SchemaServerResult[], options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** How long a replica may lack definitions the master has before they are written on the master again. */
const REPUSH_AFTER_MS = 5_000;

/** The servers a schema script is written to, and those that get it by replication. */
export interface SchemaTargets {
  written: string[];
  replicated: string[];
}

export async function schemaTargets(topology: Topology): Promise<SchemaTargets> {
  const placement = await withConfig(topology, topology.config.master.url, (c) => topology.adapter.schema.placement(c));
  const replicas = topology.replicas.map((r) => r.url);
  return placement === 'each-node' ? { written: [topology.config.master.url, ...replicas], replicated: [] } : { written: [topology.config.master.url], replicated: replicas };
}

/**
 * Before the lock, when the plan holds schema scripts: configBind must be able to write the schema
 * on every server that is written (exit 7 naming each one that cannot; 3 when it cannot bind).
 */
export async function schemaPreflight(topology: Topology, plan: UpgradePlan, events: EventSink): Promise<void> {
  if (!plan.steps.some((s) => s.script.kind === 'schema')) return;
  const targets = await schemaTargets(topology);
  const problems = (await Promise.all(targets.written.map(async (url) => {
    const problem = await withConfig(topology, url, (c) => topology.adapter.schema.writeProblem(c, topology.config.configBind.dn));
    return problem ? `${url}: ${problem}` : undefined;
  }))).filter((p): p is string => p !== undefined);
  if (problems.length) throw new RefusedError(`preflight: the plan has schema scripts, but ${problems.join('; ')}`);
  events({ type: 'info', message: `schema: configBind may write it on ${targets.written.join(', ')}${targets.replicated.length ? `; ${targets.replicated.join(', ')} get it by replication` : ''}` });
}

/** Dry run: per server, what the script would add or change. Writes nothing. */
export async function planSchemaStep(topology: Topology, script: SchemaScript, id: string, events: EventSink): Promise<SchemaServerResult[]> {
  const targets = await schemaTargets(topology);
  const urls = [...targets.written, ...targets.replicated];
  const diffs = await Promise.all(urls.map((url) => withConfig(topology, url, async (c) => await serverDiff(topology, c, script))));
  return urls.map((url, i) => {
    const how = targets.written.includes(url) ? 'written' : 'replicated';
    events({ type: 'script-log', script: id, message: `${url}: would ${describeDiff(diffs[i]!)}${how === 'replicated' ? ' (by replication from the master)' : ''}` });
    return result(url, how, diffs[i]!);
  });
}

export interface SchemaApplyOptions {
  timeoutMs: number;
  pollMs: number;
  /** Makes a replicated change on the master, so that replication sessions start (389 DS pushes schema at a session's start). */
  poke: () => Promise<void>;
  signal?: AbortSignal;
}

/**
 * Writes a schema script where it goes (every node, or the master), then waits until every server
 * shows every definition as wanted: nothing that uses them is sent before. Throws naming the
 * server and the definition.
 */
export async function applySchemaStep(topology: Topology, script: SchemaScript, id: string, options: SchemaApplyOptions, events: EventSink): Promise<SchemaServerResult[]> {
  const targets = await schemaTargets(topology);
  const results: SchemaServerResult[] = [];
  // What the replicas lack before the master is written: what replication brings them.
  const before = new Map(await Promise.all(targets.replicated.map(async (url) => [url, await withConfig(topology, url, async (c) => await serverDiff(topology, c, script))] as const)));
  for (const url of targets.written) {
    const diff = await withConfig(topology, url, async (c) => {
      const d = await serverDiff(topology, c, script);
      if (!diffIsEmpty(d)) {
        try {
          await topology.adapter.schema.apply(c, script, d);
        } catch (err) {
          const message = errorMessage(err);
          // What did land before the refusal stays (forward-only): say which.
          const after = await serverDiff(topology, c, script).catch(() => undefined);
          const landed = after ? [...d.add, ...d.change.map((x) => x.wanted)].filter((w) => !after.add.includes(w) && !after.change.some((x) => x.wanted === w)) : [];
          const partial: SchemaDiff = { ...d, add: d.add.filter((w) => landed.includes(w)), change: d.change.filter((x) => landed.includes(x.wanted)) };
          results.push(result(url, 'written', partial));
          throw new SchemaStepFailure(`${message.includes(hostPort(url)) ? message : `${url}: ${message}`}${landed.length ? `; written there before the refusal, and kept: ${landed.map(definitionLabel).join(', ')}` : ''}`, results, { cause: err });
        }
      }
      return d;
    });
    events({ type: 'script-log', script: id, message: `${url}: ${diffIsEmpty(diff) ? 'nothing to do' : describeDiff(diff)}` });
    results.push(result(url, 'written', diff));
  }
  if (targets.replicated.length && results.some((r) => r.added.length || r.changed.length)) await options.poke();
  const pending = new Set([...targets.written, ...targets.replicated]);
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  let wait = options.pollMs;
  let repushed = started;
  for (;;) {
    let last = '';
    const lacking = new Set<Definition>();
    for (const url of [...pending]) {
      const diff = await withConfig(topology, url, async (c) => await serverDiff(topology, c, script));
      if (diffIsEmpty(diff)) pending.delete(url);
      else {
        last = `${url} ${diff.add.length ? `lacks ${definitionLabel(diff.add[0]!)}` : `shows ${definitionLabel(diff.change[0]!.wanted)} differently (${diff.change[0]!.fields.join(', ')})`}`;
        if (targets.replicated.includes(url)) for (const d of [...diff.add, ...diff.change.map((c) => c.wanted)]) lacking.add(d);
      }
    }
    if (pending.size === 0) break;
    const renew = topology.adapter.schema.renew;
    if (renew && lacking.size && !targets.written.some((u) => pending.has(u)) && Date.now() - repushed > REPUSH_AFTER_MS) {
      // The master has them and a replica still does not: see SchemaWriter.renew.
      repushed = Date.now();
      events({ type: 'script-log', script: id, message: `${[...pending].join(', ')} still lack${pending.size === 1 ? 's' : ''} ${lacking.size} definition(s): writing them on the master again` });
      await withConfig(topology, topology.config.master.url, (c) => renew(c, [...lacking]));
      await options.poke();
    }
    if (Date.now() > deadline || options.signal?.aborted) {
      throw new SchemaStepFailure(`the schema did not reach every server within ${Math.round(options.timeoutMs / 1000)} s: ${last}${pending.size > 1 ? ` (and ${pending.size - 1} more)` : ''}`, results);
    }
    await sleep(wait);
    wait = Math.min(wait * 2, 2_000);
  }
  for (const url of targets.replicated) {
    events({ type: 'script-log', script: id, message: `${url}: received by replication` });
    results.push(result(url, 'replicated', before.get(url)!));
  }
  return results;
}

function result(url: string, how: SchemaServerResult['how'], d: SchemaDiff): SchemaServerResult {
  return {
    url, how, added: d.add.map(definitionLabel), changed: d.change.map((c) => definitionLabel(c.wanted)), identical: d.same.length,
    kept: d.kept.map((k) => `${definitionLabel(k.wanted)} (${k.fields.join(', ')} differ; ${k.why})`),
  };
}

/** The script against one server's schema, with what the script may not replace set apart. */
async function serverDiff(topology: Topology, c: Directory, script: SchemaScript): Promise<SchemaDiff> {
  const [schema, protection] = await Promise.all([readServerSchema(c), topology.adapter.schema.protection(c, script)]);
  return diffSchema(script.definitions, schema, protection);
}


/** One warning per server where the script found definitions it may not replace. */
export function schemaWarnings(script: string, results: SchemaServerResult[]): string[] {
  return results.filter((r) => r.kept.length).map((r) => `${script}: ${r.url}: left as the server has ${r.kept.length === 1 ? 'it' : 'them'}: ${r.kept.join('; ')}`);
}

/** How many definitions a schema step added or changed on the servers it wrote (the most on one server). */
export function schemaChanges(results: SchemaServerResult[]): number {
  return Math.max(0, ...results.filter((r) => r.how === 'written').map((r) => r.added.length + r.changed.length));
}

/** `1.2.0/01-sudo.schema.ldif` and the like among a report's steps that changed a schema. */
export function schemaStepsApplied(steps: { script: string; schema?: SchemaServerResult[] }[]): string[] {
  return steps.filter((s) => s.schema?.some((r) => r.added.length || r.changed.length)).map((s) => s.script);
}

