import { ConnectionError, RefusedError, errorMessage } from '../errors.js';
import type { UpgradePlan } from '../plan/planner.js';
import { scriptId } from '../scripts/types.js';
import { LiveStore } from '../scripts/runtime/live-store.js';
import { CANARY_TIMEOUT_MS, newCanary, proveReplicationPath } from '../replication/canary.js';
import { convergenceProof, waitForConvergence, type ConvergenceResult } from '../replication/convergence.js';
import type { EventSink } from '../events.js';
import { failpoint } from '../failpoints.js';
import { DRAIN_TIMEOUT_MS, freezeReplicas, readWriteStates, unfreezeReplicas } from '../replication/replica-freeze.js';
import { Journal, readJournal } from '../records/journal.js';
import { LEASE_MS, leaseExpiry } from '../records/liveness.js';
import type { RunRecord } from '../records/run-record.js';
import { FORMAT_VERSION } from '../report-format.js';
import { type ReplicaResult, type RunReport, type StepResult } from './reports.js';
import { undoJournal } from './undo.js';
import { runScript, ScriptFailure } from '../scripts/runtime/run-script.js';
import { applySchemaStep, schemaChanges, SchemaStepFailure, schemaStepsApplied, schemaWarnings } from './schema-step.js';
import type { Topology } from '../replication/topology.js';

export interface RunSettings {
  timeoutMs: number;
  pollMs: number;
  /** Writes in flight on the master (default 64). */
  writeConcurrency?: number;
  signal?: AbortSignal;
  /** A resumed run: its replicas are frozen already and its replication path was proven. */
  resumed?: boolean;
}

/**
 * Freeze → apply → wait → unfreeze → unlock → final record (SPEC §7.3–7.7), for a run that holds
 * the lock. Replicas are given back in every outcome. Each result starts as NotExecuted and is
 * overwritten as the run goes, so a failure report is exact.
 */
export async function executeRun(topology: Topology, record: RunRecord, plan: UpgradePlan, settings: RunSettings, events: EventSink, started: number): Promise<RunReport> {
  const { store } = topology;
  const steps: StepResult[] = plan.steps.map((s, i) => ({
    version: s.version, script: scriptId(s.script), tag: s.tag, status: i < record.completed ? 'Success' : 'NotExecuted',
    entriesChanged: 0, durationMs: 0, folded: s.folded.map(scriptId),
  }));
  const report: RunReport = {
    kind: 'upgrade', formatVersion: FORMAT_VERSION, runId: record.runId, outcome: 'done', fromVersion: plan.fromVersion,
    toVersion: plan.toVersion, steps, replicas: [], totalMs: 0, rolledBack: false, warnings: [], journal: record.journal,
  };
  const lease = setInterval(() => {
    store.writeLock({ runId: record.runId, host: record.host, pid: record.pid, startedAt: record.startedAt, expiresAt: leaseExpiry() })
      .catch((err) => events({ type: 'warning', message: `could not renew the lock's lease: ${errorMessage(err)}` }));
  }, LEASE_MS / 4);
  lease.unref();
  try {
    // Freeze: original states go to the run record before anything changes.
    if (record.replicas.length === 0) record.replicas = await readWriteStates(topology);
    if (!settings.resumed) await proveReplicationPathOrRefuse(topology, record, settings, events);
    events({ type: 'phase', phase: 'freeze', message: `freeze ${topology.replicas.length} replica(s)` });
    await store.writeRun(record);
    report.replicas = record.replicas.map((r) => ({
      url: r.url, freeze: r.frozenByRun ? 'NotExecuted' : 'Success', alreadyReadOnly: !r.frozenByRun,
      converge: 'NotExecuted', unfreeze: r.frozenByRun ? 'NotExecuted' : 'Success',
    }));
    const frozen = await freezeReplicas(topology, record.replicas, events, Math.min(settings.timeoutMs, DRAIN_TIMEOUT_MS));
    for (const f of frozen) replica(report, f.url).freeze = f.ok ? 'Success' : 'Error';
    const failedFreeze = frozen.filter((f) => !f.ok);
    if (failedFreeze.length > 0) {
      await giveBack(topology, record, report, events);
      record.state = 'failed';
      record.error = `freeze failed: ${failedFreeze.map((f) => `${f.url}: ${f.error}`).join('; ')}`;
      await finish(topology, record);
      const still = record.replicas.filter((r) => r.frozenByRun && !r.restored).map((r) => r.url);
      throw new RefusedError(`${record.error}; nothing was written; ${still.length === 0
        ? 'every replica was given back its write state'
        : `STILL FROZEN (could not be given back): ${still.join(', ')} — run \`ldap-upgrade recover\` once ${still.length === 1 ? 'it answers' : 'they answer'}`}`);
    }

    // Apply.
    record.state = 'applying';
    await store.writeRun(record);
    const journal = new Journal(record.journal);
    const live = new LiveStore(topology.master, journal, { signal: settings.signal, concurrency: settings.writeConcurrency });
    let failure: { message: string } | undefined;
    await failpoint('apply');
    try {
      for (let i = record.completed; i < plan.steps.length; i++) {
        if (settings.signal?.aborted) throw new Interrupted(String(settings.signal.reason ?? 'a signal'));
        const step = plan.steps[i]!;
        const result = steps[i]!;
        events({ type: 'script-start', index: i + 1, total: plan.steps.length, script: result.script });
        const t0 = Date.now();
        const writtenBefore = journal.written;
        try {
          if (step.script.kind === 'schema') {
            // Not journaled: schema is forward-only (a rollback keeps it and says so).
            result.schema = await applySchemaStep(topology, step.script.schema!, result.script, {
              timeoutMs: settings.timeoutMs, pollMs: settings.pollMs, poke: () => store.writeRun(record), signal: settings.signal,
            }, events).catch((err) => {
              if (err instanceof SchemaStepFailure) result.schema = err.results;
              throw new ScriptFailure(result.script, undefined, errorMessage(err), { cause: err });
            });
            result.entriesChanged = schemaChanges(result.schema);
            report.warnings.push(...schemaWarnings(result.script, result.schema));
          } else {
            // A signal does not wait for a script that is busy reading: the store refuses its next write.
            result.entriesChanged = await Promise.race([
              runScript(step.script, {
                store: live, suffix: topology.config.suffix, versionEntry: topology.config.versionEntry,
                fromVersion: plan.fromVersion, toVersion: step.version, events, timeLimitMs: topology.config.scriptTimeout * 1000,
              }),
              aborted(settings.signal),
            ]);
          }
        } catch (err) {
          result.status = 'Error';
          result.durationMs = Date.now() - t0;
          result.error = errorMessage(err);
          // What it had sent (journaled) before it stopped: what the rollback then undoes.
          result.entriesChanged = journal.written - writtenBefore;
          events({ type: 'script-end', script: result.script, status: 'Error', entriesChanged: result.entriesChanged, durationMs: result.durationMs });
          if (settings.signal?.aborted) throw new Interrupted(String(settings.signal.reason ?? 'a signal'));
          throw err;
        }
        try {
          journal.sync();
        } catch (err) {
          result.status = 'Error';
          result.error = errorMessage(err);
          throw new ScriptFailure(result.script, undefined, errorMessage(err), { cause: err });
        }
        result.status = 'Success';
        result.durationMs = Date.now() - t0;
        events({ type: 'script-end', script: result.script, status: 'Success', entriesChanged: result.entriesChanged, durationMs: result.durationMs, schema: step.script.kind === 'schema' });
        await store.addHistory({
          version: step.version, script: result.script, tag: step.tag, checksum: step.script.checksum, runId: record.runId,
          appliedBy: `${record.host}:${record.pid}`, appliedAt: new Date().toISOString(), durationMs: result.durationMs,
          entriesChanged: result.entriesChanged,
        }, i + 1);
        const next = plan.steps[i + 1];
        if (!step.tag && (!next || next.tag || next.version !== step.version)) await store.setVersion(step.version);
        record.completed = i + 1;
        await store.writeRun(record);
      }
    } catch (err) {
      if (err instanceof Interrupted) {
        report.outcome = 'interrupted';
        failure = { message: `interrupted by ${err.message}` };
      } else if (err instanceof ScriptFailure) {
        report.outcome = 'script-failed';
        const version = plan.steps.find((s) => scriptId(s.script) === err.script)?.version;
        failure = { message: `version ${version}: ${err.message}` };
      } else {
        throw err;
      }
    } finally {
      await live.drain();
      live.finish();
      journal.close();
    }

    if (failure) {
      report.error = failure.message;
      await rollBack(topology, record, report, settings, events);
      return report;
    }

    // Wait for convergence of everything written, including the records themselves: the run
    // record's last change is a new canary, after every other write.
    record.state = 'waiting';
    record.canary = newCanary();
    await store.writeRun(record);
    events({ type: 'phase', phase: 'converge', message: `waiting for ${topology.replicas.length} replica(s) to converge` });
    await failpoint('converge');
    const waitStarted = Date.now();
    const converged = await waitForConvergence(topology, record.replicas.map((r) => r.url), { timeoutMs: settings.timeoutMs, pollMs: settings.pollMs, signal: settings.signal, proof: convergenceProof(topology, record) }, events);
    report.convergeMs = Date.now() - waitStarted;
    applyConvergence(report, converged);
    const lagging = converged.filter((c) => !c.converged);
    if (lagging.length > 0) {
      report.outcome = 'not-converged';
      report.error = `replicas did not converge within ${settings.timeoutMs / 1000} s: ${lagging.map((c) => `${c.url} (${c.detail})`).join('; ')}; the data is upgraded on the master`;
    }
    await giveBack(topology, record, report, events);
    record.state = report.outcome === 'done' ? 'done' : 'failed';
    record.error = report.error;
    await finish(topology, record);
    return report;
  } catch (err) {
    if (masterLost(topology, err) && record.state !== 'failed' && record.state !== 'frozen') {
      // Half-applied data on the master: clients must not write to the replicas meanwhile.
      stopForLostMaster(topology, record, report, err, `while ${record.state === 'waiting' ? 'waiting for the replicas' : 'applying the scripts'}`);
      return report;
    }
    // An unexpected failure: still give the replicas back; the lock stays for `recover` to see.
    if (record.state !== 'failed') {
      await giveBack(topology, record, report, events).catch(() => undefined);
      record.error = errorMessage(err);
      await store.writeRun(record).catch(() => undefined);
    }
    throw err;
  } finally {
    clearInterval(lease);
    report.totalMs = Date.now() - started;
  }
}

class Interrupted extends Error {}

/** Whether `err` (or what it wraps) is the master's connection failing for good. */
function masterLost(topology: Topology, err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    // Only once reconnecting failed: one operation cut off (its socket closed) is not a lost master.
    if (e instanceof ConnectionError && e.reconnectFailed && e.server === topology.master.server) return true;
  }
  return false;
}

/**
 * The master went away and did not come back within the reconnect window: nothing more can be
 * written (nor the run record), so the replicas stay frozen — clients must not write on
 * half-applied data — and the lock stays; the report says what to run once the master is back.
 */
function stopForLostMaster(topology: Topology, record: RunRecord, report: RunReport, err: unknown, when: string): void {
  const frozen = record.replicas.filter((r) => r.frozenByRun && !r.restored).map((r) => r.url);
  report.outcome = 'master-lost';
  report.error = `the master ${topology.config.master.url} was lost ${when} (${errorMessage(err)}): ${frozen.length ? `the replicas ${frozen.join(', ')} stay frozen` : 'no replica is frozen'} and the lock stays held. Once the master is back, run \`ldap-upgrade recover --rollback\` to undo this run (or \`ldap-upgrade upgrade --resume\` to finish it)`;
  for (const url of frozen) {
    const r = report.replicas.find((x) => x.url === url);
    if (r) r.unfreeze = 'NotExecuted';
  }
}

/**
 * Before anything is frozen: every replica must show a change made on the master now. One that
 * does not is refused (exit 7) with only the run's record written; the lock is released.
 */
async function proveReplicationPathOrRefuse(topology: Topology, record: RunRecord, settings: RunSettings, events: EventSink): Promise<void> {
  if (topology.replicas.length === 0) return;
  events({ type: 'phase', phase: 'freeze', message: `proving that ${topology.replicas.length} replica(s) replicate from the master (canary)` });
  const proofs = await proveReplicationPath(topology, record, Math.min(settings.timeoutMs, CANARY_TIMEOUT_MS), events);
  const failed = proofs.filter((p) => !p.ok);
  if (failed.length === 0) return;
  // Nothing was frozen: nothing is left for `recover` to give back (the record is finished).
  for (const r of record.replicas) r.restored = true;
  record.state = 'failed';
  record.error = `replication path not proven: ${failed.map((f) => `${f.url}: ${f.error}`).join('; ')}`;
  await finish(topology, record);
  throw new RefusedError(`${record.error}; nothing was frozen or changed (only the run record was written), the lock is released`);
}

/** Rejects with Interrupted when the signal fires; never settles otherwise. */
function aborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (!signal) return;
    const fire = () => reject(new Interrupted(String(signal.reason ?? 'a signal')));
    if (signal.aborted) fire();
    else signal.addEventListener('abort', fire, { once: true });
  });
}

function replica(report: RunReport, url: string): ReplicaResult {
  return report.replicas.find((r) => r.url === url)!;
}

function applyConvergence(report: RunReport, results: ConvergenceResult[]): void {
  for (const c of results) {
    const r = replica(report, c.url);
    r.converge = c.converged ? 'Success' : 'Error';
    r.convergeMs = c.waitedMs;
    r.lag = c.detail;
  }
}

/** Unfreezes every replica the run froze; a replica that cannot be reached stays listed for `recover`. */
async function giveBack(topology: Topology, record: RunRecord, report: RunReport, events: EventSink): Promise<void> {
  events({ type: 'phase', phase: 'unfreeze', message: 'unfreeze the replicas' });
  // The record's time of update is a change on the master: its replication sessions start, and a
  // 389 DS replica that was a hub gets its own id back before it is given back (settle()).
  await topology.store.writeRun(record).catch(() => undefined);
  await failpoint('give-back');
  const results = await unfreezeReplicas(topology, record.replicas, events);
  for (const u of results) {
    const r = replica(report, u.url);
    r.unfreeze = u.ok ? 'Success' : 'Error';
    if (!u.ok) {
      r.error = u.error;
      report.warnings.push(`${u.url} could not be unfrozen (${u.error}): run \`ldap-upgrade recover\` once it is reachable`);
    }
  }
  // Never "done" (nor "rolled back, replicas unfrozen") while a replica is still frozen.
  const frozen = results.filter((u) => !u.ok);
  if (frozen.length) {
    const before = report.outcome === 'done' ? 'the data is upgraded' : report.error ?? report.outcome;
    report.outcome = 'replicas-frozen';
    report.error = `${before}; but ${frozen.map((u) => u.url).join(', ')} could not be given back and stay${frozen.length === 1 ? 's' : ''} frozen: run \`ldap-upgrade recover\` once the cause is fixed (${frozen.map((u) => u.error).join('; ')})`;
  }
}

/** Unlock, then the run record's final state (SPEC §7.7). */
async function finish(topology: Topology, record: RunRecord): Promise<void> {
  await topology.store.releaseLock(record.runId);
  await topology.store.writeRun(record);
}

/** Script failure or signal: undo from the journal, wait for the undo to converge, give back, unlock. */
async function rollBack(topology: Topology, record: RunRecord, report: RunReport, settings: RunSettings, events: EventSink): Promise<void> {
  const { store } = topology;
  record.state = 'rolling-back';
  record.error = report.error;
  await store.writeRun(record);
  events({ type: 'phase', phase: 'rollback', message: `rolling back run ${record.runId}: ${report.error}` });
  try {
    const { undone, conflicts } = await undoJournal(topology.master, readJournal(record.journal), events);
    if (conflicts.length) report.conflicts = conflicts;
    await store.removeHistory(record.runId);
    await store.setVersion(record.storedBefore);
    events({ type: 'info', message: `rollback: ${undone} change(s) undone` });
  } catch (err) {
    if (masterLost(topology, err)) {
      stopForLostMaster(topology, record, report, err, 'while rolling back');
      return;
    }
    // Keep the lock: the data is half rolled back, and `recover --rollback` can finish it.
    report.warnings.push(`rollback failed: ${errorMessage(err)}; the lock is kept: run \`ldap-upgrade recover --rollback\``);
    report.error = `${report.error}; rollback failed: ${errorMessage(err)}`;
    await giveBack(topology, record, report, events);
    await store.writeRun(record);
    return;
  }
  report.rolledBack = true;
  const schema = schemaStepsApplied(report.steps);
  if (schema.length) {
    report.warnings.push(`schema is forward-only: the rollback kept what ${schema.join(', ')} added or changed (attribute types and object classes stay on every server; a re-run finds them identical)`);
  }
  record.canary = newCanary();
  await store.writeRun(record);
  const converged = await waitForConvergence(topology, record.replicas.map((r) => r.url), { timeoutMs: settings.timeoutMs, pollMs: settings.pollMs, proof: convergenceProof(topology, record) }, events);
  applyConvergence(report, converged);
  await giveBack(topology, record, report, events);
  record.state = 'rolled-back';
  await finish(topology, record);
}
