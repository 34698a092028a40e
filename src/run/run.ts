import type { UpgradeConfig } from '../config/types.js';
import type { UpgradePlan } from '../plan/planner.js';
import type { RunRecord } from '../records/run-record.js';
import type { SavedPlan } from '../plan/saved-plan.js';
import type { Topology } from '../replication/topology.js';
import { FORMAT_VERSION } from '../report-format.js';
import { scriptId } from '../scripts/types.js';
import type { EventSink } from '../events.js';
import type { ReplicaResult, RunReport, StepResult } from './reports.js';

/**
 * How a run's phases carry out its steps: `live` writes to the master (journaled, recorded in the
 * history); `planned` is the dry run: the same scripts through a store that records their writes
 * and sends none. `grep planned src/run` shows every place where the two differ.
 */
export type RunMode = 'live' | 'planned';

export interface RunSettings {
  timeoutMs: number;
  pollMs: number;
  /** Writes in flight on the master (default 64). */
  writeConcurrency?: number;
  /** Aborted on SIGINT/SIGTERM: a live run rolls back and gives the replicas back. */
  signal?: AbortSignal;
  /** A resumed run: its replicas are frozen already and its replication path was proven. */
  resumed?: boolean;
}

/**
 * The run's timing and concurrency, from the configuration (the command line's `--timeout`,
 * `--poll-interval` and `--write-concurrency` are overrides of its keys): one route from the
 * settings to the core.
 */
export function runSettings(config: UpgradeConfig): RunSettings {
  return { timeoutMs: config.replication.timeout * 1000, pollMs: config.replication.pollInterval * 1000, writeConcurrency: config.writeConcurrency };
}

/** What every phase works with. A phase changes only `record` (and writes it) and the results. */
export interface RunContext {
  readonly mode: RunMode;
  readonly topology: Topology;
  readonly plan: UpgradePlan;
  readonly settings: RunSettings;
  readonly events: EventSink;
  /** One result per step of the plan, pre-filled (NotExecuted, or Planned) and overwritten as it goes. */
  readonly steps: StepResult[];
  /** The report's warnings, added to as the phases find them. */
  readonly warnings: string[];
}

/** A run that holds the lock: its record in the directory and the report it returns. */
export interface LiveRun extends RunContext {
  readonly mode: 'live';
  readonly record: RunRecord;
  readonly report: RunReport;
  /** When the command started (the report's totalMs counts from there). */
  readonly started: number;
  /** `upgrade --plan`: the reviewed plan whose writes the data steps send (not their scripts'). */
  readonly saved?: SavedPlan;
}

/** The step results of a plan before it runs; a resumed run's completed steps are already Success. */
export function stepResults(plan: UpgradePlan, mode: RunMode, completed = 0): StepResult[] {
  return plan.steps.map((s, i) => ({
    version: s.version, script: scriptId(s.script), tag: s.tag,
    status: mode === 'planned' ? 'Planned' : i < completed ? 'Success' : 'NotExecuted',
    entriesChanged: 0, durationMs: 0, folded: s.folded.map(scriptId),
  }));
}

export function liveRun(topology: Topology, record: RunRecord, plan: UpgradePlan, settings: RunSettings, events: EventSink, started: number, saved?: SavedPlan): LiveRun {
  const steps = stepResults(plan, 'live', record.completed);
  const report: RunReport = {
    kind: 'upgrade', formatVersion: FORMAT_VERSION, runId: record.runId, outcome: 'done', fromVersion: plan.fromVersion,
    toVersion: plan.toVersion, steps, replicas: [], totalMs: 0, rolledBack: false, warnings: [], journal: record.journal,
  };
  if (saved) report.plan = { file: saved.file, digest: saved.digest };
  return { mode: 'live', topology, record, plan, settings, events, steps, warnings: report.warnings, report, started, ...(saved ? { saved } : {}) };
}

/** The report's line for one replica (report.replicas is filled at the freeze). */
export function replicaResult(report: RunReport, url: string): ReplicaResult {
  return report.replicas.find((r) => r.url === url)!;
}

/** Whether the run's signal has fired (SIGINT/SIGTERM). */
export class Interrupted extends Error {}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Interrupted(String(signal.reason ?? 'a signal'));
}

/** Rejects with Interrupted when the signal fires; never settles otherwise. */
export function aborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (!signal) return;
    const fire = () => reject(new Interrupted(String(signal.reason ?? 'a signal')));
    if (signal.aborted) fire();
    else signal.addEventListener('abort', fire, { once: true });
  });
}
