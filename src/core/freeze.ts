import { errorMessage } from '../errors.js';
import type { EventSink } from './events.js';
import { failpoint } from './failpoints.js';
import type { RunReplica } from './records.js';
import type { Topology } from './topology.js';

export interface FreezeOutcome {
  url: string;
  ok: boolean;
  error?: string;
}

/** Reads every replica's write state (before anything changes), in parallel. */
export async function readWriteStates(topology: Topology): Promise<RunReplica[]> {
  return Promise.all(topology.replicas.map(async (r): Promise<RunReplica> => {
    const cfg = await topology.openConfig(r.url);
    try {
      const writeState = await topology.adapter.readWriteState(cfg, topology.config.suffix);
      // A replica its administrator froze already stays frozen: the run neither freezes nor restores it.
      return { url: r.url, writeState, frozenByRun: !writeState.frozen, restored: false };
    } finally {
      await cfg.close();
    }
  }));
}

/** Freezes, in parallel, every replica the run is to freeze (SPEC §7.3). */
export async function freezeReplicas(topology: Topology, replicas: RunReplica[], events: EventSink): Promise<FreezeOutcome[]> {
  return Promise.all(replicas.filter((r) => r.frozenByRun).map(async (r): Promise<FreezeOutcome> => {
    try {
      const cfg = await topology.openConfig(r.url);
      try {
        await topology.adapter.freeze(cfg, r.writeState!, topology.config.master.url);
      } finally {
        await cfg.close();
      }
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
      const cfg = await topology.openConfig(r.url);
      try {
        await topology.adapter.unfreeze(cfg, r.writeState!);
      } finally {
        await cfg.close();
      }
      r.restored = true;
      events({ type: 'replica', url: r.url, action: 'unfreeze', ok: true, message: 'writable again' });
      return { url: r.url, ok: true };
    } catch (err) {
      events({ type: 'replica', url: r.url, action: 'unfreeze', ok: false, message: errorMessage(err) });
      return { url: r.url, ok: false, error: errorMessage(err) };
    }
  }));
}
