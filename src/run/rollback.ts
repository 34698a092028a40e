import { existsSync } from 'node:fs';
import { RefusedError } from '../errors.js';
import { readJournal } from '../records/journal.js';
import type { RunRecord } from '../records/run-record.js';
import { newCanary } from '../replication/canary.js';
import { convergenceProof, waitForConvergence, type ConvergenceResult } from '../replication/convergence.js';
import type { Topology } from '../replication/topology.js';
import type { Directory } from '../ldap/directory.js';
import { sameUrl } from '../ldap/url.js';
import { isSchemaScript } from '../schema/schema-file.js';
import type { EventSink } from '../events.js';
import { convergenceTargets } from './converge.js';
import type { RunSettings } from './run.js';
import { undoJournal } from './undo.js';
import { awaitLeftBuilds, whileReadOnly } from './config-step.js';

export interface RollbackResult {
  undone: number;
  /** Changes of the run left in place: changed again after the run wrote them (see UndoResult). */
  conflicts: string[];
  /** Schema scripts the run had reached: schema is forward-only, a rollback keeps it. */
  schemaKept: string[];
  /** Each replica: whether it holds the undo. */
  converged: ConvergenceResult[];
}

export interface RollbackOptions {
  /**
   * Wait (at most 30 s) for the replicas to hold what the master has before undoing: a master
   * that was just restarted is still being caught up with by its replicas, and undo writes sent
   * meanwhile were seen to be skipped by OpenLDAP replicas (their contextCSN equal to the
   * master's, the entries not). `recover` asks for it; a run that fails in its stride does not.
   */
  settleFirst?: boolean;
}

/**
 * The one rollback, for a failed or interrupted run and for `recover --rollback`: undoes the
 * run's journal in reverse order from its pre-images (conflict-aware: see undoJournal), removes
 * its history, sets the version back, then proves with a new canary that every replica holds the
 * undo. The record's state is `rolling-back` throughout (a kill leaves that for `recover` to
 * finish); giving the replicas back and the final state are the caller's. Throws when the undo
 * cannot be done (the master lost, the journal missing): the data may be half rolled back.
 */
export async function rollBack(topology: Topology, record: RunRecord, settings: RunSettings, events: EventSink, options: RollbackOptions = {}): Promise<RollbackResult> {
  const { store } = topology;
  if ((record.completed > 0 || record.state === 'applying' || record.state === 'rolling-back') && !existsSync(record.journal)) {
    throw new RefusedError(`--rollback: the journal ${record.journal} of run ${record.runId} is not on this machine (the run was on ${record.host})`);
  }
  // A build the run started and left running (its deadline passed, it was interrupted) keeps a
  // 389 DS database read-only: nothing could be undone there before it ends.
  await awaitLeftBuilds(topology, settings.timeoutMs, settings.pollMs, events);
  record.state = 'rolling-back';
  await whileReadOnly(() => store.writeRun(record), settings.timeoutMs);
  if (options.settleFirst) {
    await waitForConvergence(topology, convergenceTargets(record), { timeoutMs: Math.min(settings.timeoutMs, 30_000), pollMs: settings.pollMs }, events);
  }
  const configs = new ConfigConnections(topology);
  let undoResult;
  try {
    undoResult = await undoJournal(topology.master, readJournal(record.journal), events, (server) => configs.get(server));
  } finally {
    await configs.close();
  }
  const { undone, conflicts } = undoResult;
  // An undo (`undo RUNID`) keeps the target's history, marked; a run's own rollback removes its own.
  if (record.undoes) await store.markHistoryUndone(record.undoes, record.runId);
  else await store.removeHistory(record.runId);
  await store.setVersion(record.storedBefore);
  events({ type: 'info', message: `rollback: ${undone} change(s) undone` });
  record.canary = newCanary();
  await store.writeRun(record);
  const converged = await waitForConvergence(topology, convergenceTargets(record), {
    timeoutMs: settings.timeoutMs, pollMs: settings.pollMs, proof: convergenceProof(topology, record),
  }, events);
  return { undone, conflicts, schemaKept: schemaReached(record), converged };
}

/**
 * The cn=config connections a rollback undoes configuration writes over, one per server, opened
 * when first needed. The journal names each write's server: only the master and the replicas of
 * this topology (the configuration's, or discovery's under its rules) are ever connected to.
 */
class ConfigConnections {
  private readonly open = new Map<string, Promise<Directory>>();

  constructor(private readonly topology: Topology) {}

  get(server: string): Promise<Directory> {
    const url = [this.topology.config.master.url, ...this.topology.replicas.map((r) => r.url)].find((u) => sameUrl(u, server));
    if (!url) return Promise.reject(new RefusedError(`the journal names ${server} for a configuration write, which is neither the master nor one of its replicas here: not connected to`));
    let c = this.open.get(url);
    if (!c) {
      c = this.topology.openConfig(url);
      this.open.set(url, c);
    }
    return c;
  }

  async close(): Promise<void> {
    await Promise.all([...this.open.values()].map((c) => c.then((d) => d.close(), () => undefined)));
  }
}

/** The schema scripts among those the run completed or was in. */
export function schemaReached(record: RunRecord): string[] {
  return record.steps.slice(0, record.completed + 1).filter(isSchemaScript);
}
