import { errorMessage, ScriptFailedError } from '../errors.js';
import { failpoint } from '../failpoints.js';
import type { LdapEntry } from '../ldap/entry.js';
import type { PlanStep } from '../plan/planner.js';
import { Journal } from '../records/journal.js';
import type { EntryStore } from '../scripts/runtime/entry-store.js';
import { LiveStore } from '../scripts/runtime/live-store.js';
import { RecordingStore, type PlannedChangeSink } from '../scripts/runtime/recording-store.js';
import { runScript, ScriptFailure } from '../scripts/runtime/run-script.js';
import { WriteFailure } from '../scripts/runtime/entry-store.js';
import { PlanMoved } from '../scripts/runtime/saved-write.js';
import type { SavedWrite } from '../plan/saved-plan.js';
import { everyProgressTick } from '../events.js';
import { scriptId } from '../scripts/types.js';
import type { ConfigServerResult, SchemaServerResult, StepResult } from './reports.js';
import { applyConfigStep, configChanges, ConfigStepFailure, planConfigStep, whileReadOnly } from './config-step.js';
import { aborted, Interrupted, throwIfAborted, type LiveRun, type RunContext } from './run.js';
import { assertLockHeld, LockLost } from './lock.js';
import { applySchemaStep, planSchemaStep, schemaChanges, SchemaStepFailure, schemaWarnings } from './schema-step.js';

/**
 * How one mode carries out a step: the live run writes (journaled) and records each completed
 * step in the history; the planned run (the dry run) records the writes it would make.
 */
interface StepWriter {
  readonly store: EntryStore;
  /** Writes sent so far (what a failed step had sent is what the rollback undoes). */
  written(): number;
  schema(step: PlanStep, result: StepResult): Promise<SchemaServerResult[]>;
  config(step: PlanStep, result: StepResult): Promise<ConfigServerResult[]>;
  /** A step's writes are all answered: make them durable before the step counts as done. */
  seal(): void;
  /** Before a step starts (live: the lock must still be the run's). */
  starting(): Promise<void>;
  /** After a step succeeded. */
  completed(index: number, step: PlanStep, result: StepResult): Promise<void>;
  /**
   * A data step's writes other than by running its script: the plan run's (`upgrade --plan`)
   * saved writes; the plan check's none (only schema and configuration steps are planned again).
   */
  data?: (index: number, step: PlanStep, result: StepResult) => Promise<number>;
  /** The error a failed step ends the phase with. */
  failed(err: unknown, step: PlanStep, result: StepResult, writtenBefore: number, startedAt: number): unknown;
}

/** Why a live run's apply phase stopped early: the rollback follows. */
export interface ApplyFailure {
  outcome: 'interrupted' | 'script-failed' | 'lock-lost';
  message: string;
}

/**
 * Apply, live (the run's §4 of docs/run.md): each pending script on the master in order, every
 * write's pre-image journaled before it is sent, a history entry after each script and the
 * version entry after a version's last one. Returns why it stopped when a script failed or the
 * run was interrupted (its writes are then for the rollback to undo); throws anything else.
 */
export async function apply(run: LiveRun): Promise<ApplyFailure | undefined> {
  const { topology, record, report, settings } = run;
  record.state = 'applying';
  await topology.store.writeRun(record);
  const journal = new Journal(record.journal);
  const live = new LiveStore(topology.master, journal, { signal: settings.signal, concurrency: settings.writeConcurrency });
  await failpoint('apply');
  try {
    await applySteps(run, liveWriter(run, journal, live), record.completed);
    return undefined;
  } catch (err) {
    if (err instanceof LockLost) return { outcome: 'lock-lost', message: err.message };
    if (err instanceof Interrupted) {
      report.outcome = 'interrupted';
      return { outcome: 'interrupted', message: `interrupted by ${err.message}` };
    }
    if (err instanceof ScriptFailure) {
      report.outcome = err.cause instanceof PlanMoved ? 'plan-moved' : 'script-failed';
      const version = run.plan.steps.find((s) => scriptId(s.script) === err.script)?.version;
      return { outcome: 'script-failed', message: `version ${version}: ${err.message}` };
    }
    throw err;
  } finally {
    await live.drain();
    live.finish();
    journal.close();
  }
}

/**
 * Apply, planned (the dry run): the same steps through a recording store whose reads see the
 * writes planned before; `sink` gets each planned change. A failing script ends the dry run
 * (exit 5, nothing written).
 */
export async function applyPlanned(ctx: RunContext, sink: PlannedChangeSink, options: { skipData?: boolean; trackReads?: boolean } = {}): Promise<void> {
  const store = new RecordingStore(ctx.topology.master, sink, { trackReads: options.trackReads });
  // What the dry run's configuration scripts would have written, per server, for the later ones.
  const configSeen = new Map<string, Map<string, LdapEntry | null>>();
  try {
    await planSteps(ctx, store, configSeen, options);
  } finally {
    store.close();
  }
}

function planSteps(ctx: RunContext, store: RecordingStore, configSeen: Map<string, Map<string, LdapEntry | null>>, options: { skipData?: boolean }): Promise<void> {
  return applySteps(ctx, {
    store,
    written: () => 0,
    schema: (step, result) => planSchemaStep(ctx.topology, step.script.schema!, result.script, ctx.events),
    config: (step, result) => planConfigStep(ctx.topology, step.script, result.script, ctx.events, configSeen),
    seal: () => undefined,
    ...(options.skipData ? { data: async () => 0 } : {}),
    starting: async () => undefined,
    completed: async () => undefined,
    failed: (err, step) => err instanceof ScriptFailure
      ? new ScriptFailedError(`dry run: version ${step.version}: ${err.message} (nothing was written)`, { cause: err })
      : err,
  }, 0);
}

/** The step loop, one for both modes. */
async function applySteps(ctx: RunContext, writer: StepWriter, from: number): Promise<void> {
  const { plan, steps, events, settings, topology } = ctx;
  const planned = ctx.mode === 'planned';
  for (let i = from; i < plan.steps.length; i++) {
    throwIfAborted(settings.signal);
    await writer.starting();
    const step = plan.steps[i]!;
    const result = steps[i]!;
    events({ type: 'script-start', index: i + 1, total: plan.steps.length, script: result.script });
    const t0 = Date.now();
    const writtenBefore = writer.written();
    try {
      if (step.script.kind === 'schema') {
        result.schema = await writer.schema(step, result);
        result.entriesChanged = schemaChanges(result.schema);
        ctx.warnings.push(...schemaWarnings(result.script, result.schema));
      } else if (step.script.kind === 'config') {
        result.config = await writer.config(step, result);
        result.entriesChanged = configChanges(result.config);
        ctx.warnings.push(...result.config.flatMap((r) => (r.warning ? [`${result.script}: ${r.url}: ${r.warning}`] : [])));
      } else if (writer.data) {
        result.entriesChanged = await Promise.race([writer.data(i, step, result), aborted(settings.signal)]);
      } else {
        // A signal does not wait for a script that is busy reading: the store refuses its next write.
        result.entriesChanged = await Promise.race([
          runScript(step.script, {
            store: writer.store, suffix: topology.config.suffix, versionEntry: topology.config.versionEntry,
            fromVersion: plan.fromVersion, toVersion: step.version, events, timeLimitMs: topology.config.scriptTimeout * 1000,
            ...(planned ? { planned: true } : {}),
          }),
          aborted(settings.signal),
        ]);
      }
    } catch (err) {
      throw writer.failed(err, step, result, writtenBefore, t0);
    }
    try {
      writer.seal();
    } catch (err) {
      result.status = 'Error';
      result.error = errorMessage(err);
      throw new ScriptFailure(result.script, undefined, errorMessage(err), { cause: err });
    }
    if (!planned) result.status = 'Success';
    result.durationMs = Date.now() - t0;
    events({
      type: 'script-end', script: result.script, status: 'Success', entriesChanged: result.entriesChanged, durationMs: result.durationMs,
      ...(planned ? { planned: true } : {}), schema: step.script.kind === 'schema', ...(step.script.kind === 'config' ? { config: true } : {}),
    });
    await writer.completed(i, step, result);
  }
}

function liveWriter(run: LiveRun, journal: Journal, store: LiveStore): StepWriter {
  const { topology, record, settings, events, plan } = run;
  // A resumed run starts with the step it was interrupted in.
  const interruptedStep = settings.resumed ? plan.steps[record.completed] : undefined;
  return {
    store,
    written: () => journal.written,
    // Not journaled: schema is forward-only (a rollback keeps it and says so).
    schema: (step, result) => applySchemaStep(topology, step.script.schema!, result.script, {
      timeoutMs: settings.timeoutMs, pollMs: settings.pollMs, poke: () => topology.store.writeRun(record), signal: settings.signal,
    }, events).catch((err) => {
      if (err instanceof SchemaStepFailure) result.schema = err.results;
      throw new ScriptFailure(result.script, undefined, errorMessage(err), { cause: err });
    }),
    // Journaled per server: a rollback undoes it on each (cn=config is not replicated).
    config: async (step, result) => {
      const results = await applyConfigStep(topology, step.script, result.script, {
        journal, timeoutMs: settings.timeoutMs, pollMs: settings.pollMs, signal: settings.signal, rebuild: step === interruptedStep,
      }, events).catch((err) => {
        if (err instanceof ConfigStepFailure) result.config = err.results;
        throw new ScriptFailure(result.script, undefined, errorMessage(err), { cause: err });
      });
      // 389 DS gives a backend back to writes a moment after its index task reports its end:
      // the next step starts once the master takes the run record again.
      if (results.some((r) => r.index)) await whileReadOnly(() => topology.store.writeRun(record), settings.timeoutMs);
      return results;
    },
    seal: () => journal.sync(),
    ...(run.saved ? { data: (i: number, _step: PlanStep, result: StepResult) => replayStep(run.saved!.writes[i] ?? [], result.script, store, events) } : {}),
    starting: () => assertLockHeld(topology, record),
    failed(err, _step, result, writtenBefore, startedAt) {
      result.status = 'Error';
      result.durationMs = Date.now() - startedAt;
      result.error = errorMessage(err);
      // What it had sent (journaled) before it stopped: what the rollback then undoes.
      result.entriesChanged = journal.written - writtenBefore;
      events({ type: 'script-end', script: result.script, status: 'Error', entriesChanged: result.entriesChanged, durationMs: result.durationMs });
      if (settings.signal?.aborted) return new Interrupted(String(settings.signal.reason ?? 'a signal'));
      return err;
    },
    async completed(i, step, result) {
      await topology.store.addHistory({
        version: step.version, script: result.script, tag: step.tag, checksum: step.script.checksum, runId: record.runId,
        appliedBy: `${record.host}:${record.pid}`, appliedAt: new Date().toISOString(), durationMs: result.durationMs,
        entriesChanged: result.entriesChanged, ...(run.saved ? { plan: run.saved.digest } : {}),
      }, i + 1);
      const next = plan.steps[i + 1];
      if (!step.tag && (!next || next.tag || next.version !== step.version)) await topology.store.setVersion(step.version);
      record.completed = i + 1;
      await topology.store.writeRun(record);
    },
  };
}

/**
 * A data step of a reviewed plan: its saved writes, each sent only if its entry still holds what
 * the plan was made from (LiveStore.submitSaved). Returns how many were written.
 */
async function replayStep(writes: SavedWrite[], script: string, store: LiveStore, events: LiveRun['events']): Promise<number> {
  let changed = 0;
  const tally = () => void changed++;
  const stop = everyProgressTick((elapsedMs) => events({ type: 'script-progress', script, entriesChanged: changed, elapsedMs, done: changed, total: writes.length }));
  try {
    for (const w of writes) await store.submitSaved(w, script, tally);
    await store.flush();
  } catch (err) {
    const cause = err instanceof WriteFailure ? err.cause : err;
    const dn = err instanceof WriteFailure ? err.dn : undefined;
    throw new ScriptFailure(script, dn, cause instanceof PlanMoved ? `the plan is out of date: ${cause.message}` : errorMessage(cause), { cause });
  } finally {
    stop();
  }
  return changed;
}
