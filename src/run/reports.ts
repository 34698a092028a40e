import type { PreflightReport } from './preflight.js';


export type StepStatus = 'Success' | 'Error' | 'NotExecuted' | 'Planned';

export interface StepResult {
  version: string;
  script: string;
  tag?: string;
  status: StepStatus;
  entriesChanged: number;
  durationMs: number;
  /** runOnce scripts folded into this one. */
  folded: string[];
  error?: string;
  /** Schema scripts: per server, the definitions added or changed (dry run: that would be). */
  schema?: SchemaServerResult[];
  /** Configuration scripts: per server, the changes made (dry run: that would be) and the index built. */
  config?: ConfigServerResult[];
}

export interface ConfigServerResult {
  url: string;
  /** One line per change (`modify olcDatabase={1}mdb,cn=config (add olcDbIndex: mail eq)`). */
  changes: string[];
  /** The index build and how it ended (dry run: that one would be built, over how many entries). */
  index?: string;
  /** The build could not be watched to its end: why. */
  warning?: string;
}

export interface SchemaServerResult {
  url: string;
  /** `written`: this server was written; `replicated`: it received the master's schema by replication. */
  how: 'written' | 'replicated';
  added: string[];
  changed: string[];
  identical: number;
  /** Different on the server, but not the script's to replace (the server's own, another schema's): left. */
  kept: string[];
}

export interface DryRunReport {
  kind: 'dry-run';
  formatVersion: number;
  fromVersion: string;
  fromSource: 'stored' | 'forced' | 'baseline';
  toVersion: string;
  versions: string[];
  tags: string[];
  steps: StepResult[];
  /** Replicas the real run would freeze (already read-only ones are left as they are). */
  replicasToFreeze: { url: string; alreadyReadOnly: boolean }[];
  preflight: PreflightReport;
  warnings: string[];
  /** A run that was interrupted (the real upgrade refuses, exit 8, until it is recovered); null: none. */
  interruptedRun: { runId: string; state: string; host: string } | null;
  /** `--save-plan`: where the plan was written, its digest and how many data writes it holds. */
  savedPlan?: { file: string; digest: string; writes: number };
}

export type ReplicaOutcome = 'Success' | 'Error' | 'NotExecuted';

export interface ReplicaResult {
  url: string;
  freeze: ReplicaOutcome;
  /** Already read-only before the run: left frozen afterwards. */
  alreadyReadOnly: boolean;
  converge: ReplicaOutcome;
  convergeMs?: number;
  lag?: string;
  unfreeze: ReplicaOutcome;
  error?: string;
}

/**
 * How a run ended. `master-lost`: the master went away mid-run and did not come back in time;
 * the replicas stay frozen and the lock held, for `recover --rollback` or `upgrade --resume` once
 * it is back. `replicas-frozen`: the run ended (upgraded, or rolled back) but some replica could
 * not be given back; it stays frozen until `recover` gives it back (never reported as done).
 * `lock-lost`: the run's lock was deleted or taken by another run while it ran: it stopped
 * writing at once (no rollback, no give-back: they would write over whoever holds it now).
 * `plan-moved`: a reviewed plan's entry changed between the plan run's check and its write: the
 * run was rolled back (exit 7, as a plan refused before it started).
 * Exit codes: `exitCodeForResult` in cli/exit.ts.
 */
export type RunOutcome = 'done' | 'nothing-to-do' | 'script-failed' | 'plan-moved' | 'not-converged' | 'interrupted' | 'master-lost' | 'replicas-frozen' | 'lock-lost';

export interface RunReport {
  /** `undo`: the report of `undo RUNID` (a run of its own that undoes another's journal). */
  kind: 'upgrade' | 'undo';
  formatVersion: number;
  runId?: string;
  outcome: RunOutcome;
  fromVersion: string;
  toVersion: string;
  steps: StepResult[];
  replicas: ReplicaResult[];
  totalMs: number;
  convergeMs?: number;
  rolledBack: boolean;
  /** Changes the rollback left in place: changed again after the run wrote them (see UndoResult). */
  conflicts?: string[];
  warnings: string[];
  error?: string;
  backupFile?: string;
  journal?: string;
  /** `upgrade --plan`: the reviewed plan's file and digest. */
  plan?: { file: string; digest: string };
  /** `undo`: the run undone, how many changes, the version set back (versionKept: --force on an older run left it). */
  undo?: { runId: string; changesUndone: number; version: string | null; versionKept: boolean };
}
