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
  /** Base poll interval: a replica that moves is polled every pollMs/4; one that does not backs off 1.5× up to 2 s. */
  pollMs: number;
  signal?: AbortSignal;
}

/** The longest pause between two polls of a replica that does not move. */
const MAX_POLL_MS = 2_000;

/**
 * The pause before the next poll of one replica. A replica that is catching up (its state moved
 * since the last poll) is polled 4× as often as `pollMs`, so that the wait ends close after the
 * change really arrives (one base-scope read each time: no load to speak of); one that does not
 * move backs off by 1.5× up to 2 s (a replica that is down or stuck costs almost nothing).
 */
export function nextPollDelay(previousMs: number, moved: boolean, pollMs: number): number {
  if (moved) return Math.max(5, pollMs / 4);
  return Math.min(Math.max(previousMs, pollMs / 4) * 1.5, Math.max(MAX_POLL_MS, pollMs));
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
  let last: string | undefined;
  let delay = options.pollMs;
  // Right after the writes a replica that is behind is taken to be catching up.
  let first = true;
  for (;;) {
    let moved = false;
    try {
      conn ??= await topology.openData(url);
      if (slot) slot.data = conn;
      const state = await topology.adapter.readReplicationState(conn, topology.config.suffix);
      const seen = JSON.stringify([...state]);
      moved = last !== undefined && seen !== last;
      last = seen;
      const cmp = topology.adapter.compare(target, state, slot?.ownId);
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
    delay = nextPollDelay(delay, moved || first, options.pollMs);
    first = false;
    await sleep(Math.min(delay, Math.max(0, options.timeoutMs - elapsed)));
  }
}
