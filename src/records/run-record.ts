import type { WriteState } from '../servers/adapter.js';

/** The lock entry's content (docs/run.md "Records"). */
export interface LockInfo {
  runId: string;
  host: string;
  pid: number;
  startedAt: string;
  /** Lease expiry (ISO time), renewed while the run lives. */
  expiresAt: string;
}

/** One applied script, as kept under `cn=history`. */
export interface HistoryRecord {
  version: string;
  script: string;
  tag?: string;
  checksum: string;
  runId: string;
  appliedBy: string;
  appliedAt: string;
  durationMs: number;
  entriesChanged: number;
  /** `upgrade --plan`: the digest of the reviewed plan the run ran. */
  plan?: string;
  /** `undo`: the run that undid this one, and when (the record is kept, marked). */
  undoneBy?: string;
  undoneAt?: string;
}

export type RunState = 'frozen' | 'applying' | 'waiting' | 'rolling-back' | 'done' | 'failed' | 'rolled-back' | 'recovered' | 'undone';

export const ACTIVE_STATES: readonly RunState[] = ['frozen', 'applying', 'waiting', 'rolling-back'];

/** A run that stopped in the middle, or ended leaving a replica frozen: `recover` (or resume) it. */
export function isUnfinishedRun(record: RunRecord): boolean {
  // Read back from the directory: anything may be there (records/trust.ts checks the rest).
  return ACTIVE_STATES.includes(record.state) || (Array.isArray(record.replicas) && record.replicas.some((r) => r?.frozenByRun && !r.restored));
}

export interface RunReplica {
  url: string;
  /** The write state before the run froze it; undefined until it was read. */
  writeState?: WriteState;
  /** Whether this run changed it (and so must restore it). */
  frozenByRun: boolean;
  /** Whether it has been given back its original state. */
  restored: boolean;
}

/** Everything `recover` and `upgrade --resume` need, readable from any admin machine (docs/run.md "Records"). */
export interface RunRecord {
  runId: string;
  state: RunState;
  host: string;
  pid: number;
  startedAt: string;
  updatedAt: string;
  fromVersion: string;
  toVersion: string;
  /** The stored version before the run (undefined: there was none), restored on rollback. */
  storedBefore?: string;
  tags: string[];
  /** Script ids of the plan, in order. */
  steps: string[];
  /** How many of `steps` completed. */
  completed: number;
  /** The run's journal of pre-images, on `host`. */
  journal: string;
  replicas: RunReplica[];
  error?: string;
  /**
   * The run's canary (docs/replication.md "Convergence"): a token changed before the freeze and again after the last
   * write; a replica that shows the current one receives this master's changes.
   */
  canary?: string;
  /** `upgrade --plan`: the digest of the reviewed plan whose writes the run sent. */
  plan?: string;
  /** `undo RUNID`: the completed run this one undoes (its journal is the one undone). */
  undoes?: string;
  /** A run that was undone: the undo's run id. */
  undoneBy?: string;
}
