import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../errors.js';
import type { Directory } from '../ldap/directory.js';
import { describeLag } from '../servers/csn.js';
import type { ReplicationState } from '../servers/adapter.js';
import type { EventSink } from './events.js';
import type { Topology } from './topology.js';

export interface ConvergenceResult {
  url: string;
  converged: boolean;
  /** Time from the start of the wait until it was seen converged. */
  waitedMs: number;
  /** "converged", "behind by 2.0 s", or the last error. */
  detail: string;
}

export interface ConvergenceOptions {
  timeoutMs: number;
  /** First poll interval; backs off by 1.5× up to 2 s. */
  pollMs: number;
  signal?: AbortSignal;
}

/**
 * SPEC §7.5/§8: reads the master's replication state once (after the last write), then polls
 * every replica in parallel until each has it, or until the timeout. A replica whose connection
 * drops is reconnected on the next poll.
 */
export async function waitForConvergence(topology: Topology, urls: string[], options: ConvergenceOptions, events: EventSink): Promise<ConvergenceResult[]> {
  const target = await topology.adapter.readReplicationState(topology.master, topology.config.suffix);
  const started = Date.now();
  return Promise.all(urls.map((url) => pollReplica(topology, url, target, started, options, events)));
}

async function pollReplica(topology: Topology, url: string, target: ReplicationState, started: number, options: ConvergenceOptions, events: EventSink): Promise<ConvergenceResult> {
  const slot = topology.replicas.find((r) => r.url === url);
  let conn: Directory | undefined = slot?.data;
  let detail = 'not polled';
  for (let delay = options.pollMs; ; delay = Math.min(delay * 1.5, 2_000)) {
    try {
      conn ??= await topology.openData(url);
      if (slot) slot.data = conn;
      const state = await topology.adapter.readReplicationState(conn, topology.config.suffix);
      const cmp = topology.adapter.compare(target, state);
      detail = describeLag(cmp);
      if (cmp.caughtUp) {
        const waitedMs = Date.now() - started;
        events({ type: 'converge-progress', url, converged: true, detail, elapsedMs: waitedMs });
        return { url, converged: true, waitedMs, detail };
      }
    } catch (err) {
      detail = `unreachable: ${errorMessage(err)}`;
      await conn?.close();
      conn = undefined;
      if (slot) slot.data = undefined;
    }
    const elapsed = Date.now() - started;
    events({ type: 'converge-progress', url, converged: false, detail, elapsedMs: elapsed });
    if (elapsed >= options.timeoutMs || options.signal?.aborted) return { url, converged: false, waitedMs: elapsed, detail };
    await sleep(Math.min(delay, Math.max(0, options.timeoutMs - elapsed)));
  }
}
