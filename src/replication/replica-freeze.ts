import { errorMessage } from '../errors.js';
import type { WriteState } from '../servers/adapter.js';
import type { EventSink } from '../events.js';
import { failpoint } from '../failpoints.js';
import type { RunReplica } from '../records/run-record.js';
import { drainInto, waitUntilHolds } from './catch-up.js';
import { withConnection, type Topology } from './topology.js';

/** The longest wait for a frozen replica's last client writes to reach the master. */
export const DRAIN_TIMEOUT_MS = 60_000;

export interface FreezeOutcome {
  url: string;
  ok: boolean;
  error?: string;
}

/**
 * A replica of the run, from its write state before the run. One its administrator froze already
 * stays frozen: the run neither freezes nor restores it — unless that freeze does not hold by
 * itself (`transient`), in which case the run freezes it and gives that state back.
 */
export function runReplica(url: string, writeState: WriteState): RunReplica {
  return { url, writeState, frozenByRun: !writeState.frozen || writeState.transient === true, restored: false };
}

/** Reads every replica's write state (before anything changes), in parallel. */
export async function readWriteStates(topology: Topology): Promise<RunReplica[]> {
  return Promise.all(topology.replicas.map((r) => withConnection(topology.openConfig(r.url), async (cfg) => runReplica(r.url, await topology.adapter.readWriteState(cfg, topology.config.suffix)))));
}

/**
 * Freezes, in parallel, every replica the run is to freeze (docs/run.md "Freeze"). Each one is also drained:
 * the changes its clients wrote just before the freeze must have reached the master before the
 * scripts run (they would not see them otherwise), waited for at most `drainTimeoutMs`.
 */
export async function freezeReplicas(topology: Topology, replicas: RunReplica[], events: EventSink, drainTimeoutMs: number): Promise<FreezeOutcome[]> {
  return Promise.all(replicas.filter((r) => r.frozenByRun).map(async (r): Promise<FreezeOutcome> => {
    try {
      await withConnection(topology.openConfig(r.url), (cfg) => topology.adapter.freeze(cfg, r.writeState!, {
        masterUrl: topology.config.master.url,
        suffix: topology.config.suffix,
        drain: () => withConnection(topology.openData(r.url), (data) => drainInto(topology.adapter, topology.config.suffix, topology.master, data, drainTimeoutMs, cfg)),
      }));
      events({ type: 'replica', url: r.url, action: 'freeze', ok: true, message: 'frozen (client writes refused)' });
      await failpoint('freeze');
      return { url: r.url, ok: true };
    } catch (err) {
      events({ type: 'replica', url: r.url, action: 'freeze', ok: false, message: errorMessage(err) });
      return { url: r.url, ok: false, error: errorMessage(err) };
    }
  }));
}

/** Restores, in parallel, the original state of every replica the run froze and has not restored yet. */
export async function unfreezeReplicas(topology: Topology, replicas: RunReplica[], events: EventSink): Promise<FreezeOutcome[]> {
  return Promise.all(replicas.filter((r) => r.frozenByRun && !r.restored && r.writeState).map(async (r): Promise<FreezeOutcome> => {
    try {
      await withConnection(topology.openConfig(r.url), (cfg) => topology.adapter.unfreeze(cfg, r.writeState!, { settle: (ownId) => settle(topology, r.url, ownId) }));
      r.restored = true;
      events({ type: 'replica', url: r.url, action: 'unfreeze', ok: true, message: 'writable again' });
      await failpoint('unfreeze');
      return { url: r.url, ok: true };
    } catch (err) {
      events({ type: 'replica', url: r.url, action: 'unfreeze', ok: false, message: errorMessage(err) });
      return { url: r.url, ok: false, error: errorMessage(err) };
    }
  }));
}

/** The longest wait, before a replica is given back, for it to hold what the master has. */
export const SETTLE_TIMEOUT_MS = 15_000;

/** Best effort: a replica that cannot be read or does not catch up in time is given back anyway. */
async function settle(topology: Topology, url: string, ownId?: string): Promise<void> {
  try {
    const wanted = await topology.adapter.readReplicationState(topology.master, topology.config.suffix);
    await withConnection(topology.openData(url), (data) => waitUntilHolds(topology.adapter, topology.config.suffix, data, wanted, SETTLE_TIMEOUT_MS, ownId));
  } catch {
    // Unreachable: unfreezing it fails on its own and says so.
  }
}
