import { RefusedError } from '../errors.js';
import { CANARY_TIMEOUT_MS, proveReplicationPath } from '../replication/canary.js';
import { DRAIN_TIMEOUT_MS, freezeReplicas, readWriteStates } from '../replication/replica-freeze.js';
import { finish, giveBack, stillFrozen } from './give-back.js';
import { replicaResult, type LiveRun } from './run.js';

/**
 * The freeze phase: every replica's original write state goes to the run record before anything
 * changes; a new run first proves that every replica replicates from this master (its canary);
 * then every replica the run is to freeze is frozen, in parallel. One that cannot be frozen
 * ends the run (exit 7): the others are given back, nothing was written.
 */
export async function freeze(run: LiveRun): Promise<void> {
  const { topology, record, report, settings, events } = run;
  if (record.replicas.length === 0) record.replicas = await readWriteStates(topology);
  if (!settings.resumed) await proveReplicationPathOrRefuse(run);
  events({ type: 'phase', phase: 'freeze', message: `freeze ${topology.replicas.length} replica(s)` });
  await topology.store.writeRun(record);
  report.replicas = record.replicas.map((r) => ({
    url: r.url, freeze: r.frozenByRun ? 'NotExecuted' : 'Success', alreadyReadOnly: !r.frozenByRun,
    converge: 'NotExecuted', unfreeze: r.frozenByRun ? 'NotExecuted' : 'Success',
  }));
  const frozen = await freezeReplicas(topology, record.replicas, events, Math.min(settings.timeoutMs, DRAIN_TIMEOUT_MS));
  for (const f of frozen) replicaResult(report, f.url).freeze = f.ok ? 'Success' : 'Error';
  const failed = frozen.filter((f) => !f.ok);
  if (failed.length === 0) return;
  await giveBack(run);
  record.state = 'failed';
  record.error = `freeze failed: ${failed.map((f) => `${f.url}: ${f.error}`).join('; ')}`;
  await finish(topology, record);
  const still = stillFrozen(record);
  throw new RefusedError(`${record.error}; nothing was written; ${still.length === 0
    ? 'every replica was given back its write state'
    : `STILL FROZEN (could not be given back): ${still.join(', ')} — run \`ldap-upgrade recover\` once ${still.length === 1 ? 'it answers' : 'they answer'}`}`);
}

/**
 * Before anything is frozen: every replica must show a change made on the master now. One that
 * does not is refused (exit 7) with only the run's record written; the lock is released.
 */
async function proveReplicationPathOrRefuse(run: LiveRun): Promise<void> {
  const { topology, record, settings, events } = run;
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
