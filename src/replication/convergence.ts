import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../errors.js';
import type { Directory } from '../ldap/directory.js';
import { describeLag, lagMs } from '../servers/csn.js';
import type { ReplicationState } from '../servers/adapter.js';
import { DeadlineError, withDeadline } from '../ldap/deadline.js';
import { canaryArrived } from './canary.js';
import { ignoreSet } from './entry-compare.js';
import type { EventSink } from '../events.js';
import { journalTargets, type ReadTarget } from '../records/journal-targets.js';
import { readBack, SharedMasterReads } from './read-back.js';
import type { RunRecord } from '../records/run-record.js';
import type { Topology } from './topology.js';

export interface ConvergenceResult {
  url: string;
  converged: boolean;
  /** Time from the start of the wait until it was seen converged. */
  waitedMs: number;
  /** "converged", "behind by 2.0 s", "replication stuck: …", or the last error. */
  detail: string;
}

/** What a run proves on every replica besides the replication state (docs/replication.md "Convergence"). */
export interface ConvergenceProof {
  /** The run record holding the canary. */
  runId: string;
  canary: string;
  /** The entries the run changed, with the attributes it touched (re-iterable: read again at every check). */
  changed: () => AsyncIterable<ReadTarget>;
}

/** A replica to wait for, and its own replication id (left out of the comparison: see WriteState.ownId). */
export interface ConvergenceTarget {
  url: string;
  ownId?: string;
}

export interface ConvergenceOptions {
  timeoutMs: number;
  /** Base poll interval: a replica that moves is polled every pollMs/4; one that does not backs off 1.5× up to 2 s. */
  pollMs: number;
  signal?: AbortSignal;
  /** Canary and changed entries; without it only the replication state is compared. */
  proof?: ConvergenceProof;
}

/**
 * The proof of docs/replication.md "Convergence" for this run: its current canary, and the entries it changed (from its journal,
 * and the version entry) read back on each replica as on the master.
 */
export function convergenceProof(topology: Topology, record: RunRecord): ConvergenceProof {
  return { runId: record.runId, canary: record.canary!, changed: () => journalTargets(record.journal, [topology.config.versionEntry]) };
}

/** The longest pause between two polls of a replica that does not move. */
const MAX_POLL_MS = 2_000;
/** The least time a poll is given to answer, the last one included. */
const FINAL_POLL_MS = 1_000;
/** The read-back starts while the replica catches up once it is this close behind the master. */
const EARLY_READ_BACK_LAG_MS = 5_000;
/** A replica that is not converged and has not moved for this long is reported as stuck. */
export const STUCK_AFTER_MS = 10_000;

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
 * docs/run.md "Converge", docs/replication.md "Convergence": reads the master's replication state once (after the last write), then polls
 * every replica in parallel until each has converged — its state caught up, the run's canary
 * arrived, and every entry the run changed reads back as on the master — or until the timeout.
 * A replica whose connection drops is reconnected on the next poll; a hung one cannot hold a
 * poll past the timeout.
 */
export async function waitForConvergence(topology: Topology, replicas: ConvergenceTarget[], options: ConvergenceOptions, events: EventSink): Promise<ConvergenceResult[]> {
  const target = await topology.adapter.readReplicationState(topology.master, topology.config.suffix);
  const started = Date.now();
  const shared = new SharedMasterReads(replicas.length);
  return Promise.all(replicas.map((replica) => pollReplica(topology, replica, target, started, options, events, shared)));
}

interface Check {
  done: boolean;
  /** Which condition of docs/replication.md "Convergence" was not met (undefined when converged). */
  failed?: 'state' | 'canary' | 'entries' | 'unreachable';
  detail: string;
  /** What changed between polls tells a moving replica from a stuck one. */
  fingerprint: string;
}

async function pollReplica(topology: Topology, { url, ownId }: ConvergenceTarget, target: ReplicationState, started: number, options: ConvergenceOptions, events: EventSink, shared: SharedMasterReads): Promise<ConvergenceResult> {
  const ignore = ignoreSet(topology.replicas.find((r) => r.url === url)?.ignoreAttributes);
  let conn: Directory | undefined;
  let last: string | undefined;
  let lastMoved = started;
  let delay = options.pollMs;
  let check: Check = { done: false, failed: 'unreachable', detail: 'not polled', fingerprint: '' };
  // Right after the writes a replica that is behind is taken to be catching up.
  let first = true;
  // After a read-back with mismatches, only those entries are read again (the others matched).
  const readBackState: ReadBackState = {};
  for (;;) {
    // The poll that ends at the timeout still gets a moment to answer: a hung server holds it
    // no longer than that.
    const left = Math.max(FINAL_POLL_MS, options.timeoutMs - (Date.now() - started));
    try {
      conn ??= await withDeadline(topology.replicaData(url), left);
      readBackState.reading = false;
      check = await withDeadline(checkOnce(topology, conn, target, ownId, ignore, options.proof, readBackState, shared), left);
    } catch (err) {
      check = readBackState.reading && err instanceof DeadlineError
        ? { done: false, failed: 'entries', detail: `its state has caught up, but reading back the entries this run changed was not done when the time ran out (it answers: a run this large needs a longer --timeout)`, fingerprint: 'reading back' }
        : { done: false, failed: 'unreachable', detail: `unreachable: ${errorMessage(err)}`, fingerprint: 'unreachable' };
      await topology.dropReplicaData(url, conn);
      conn = undefined;
    }
    const now = Date.now();
    const moved = last !== undefined && check.fingerprint !== last;
    if (moved || last === undefined) lastMoved = now;
    last = check.fingerprint;
    const elapsed = now - started;
    if (check.done) {
      events({ type: 'converge-progress', url, converged: true, detail: 'converged', elapsedMs: elapsed });
      return { url, converged: true, waitedMs: elapsed, detail: 'converged' };
    }
    const still = now - lastMoved;
    let detail = check.detail;
    if (check.failed !== 'unreachable' && still >= Math.min(STUCK_AFTER_MS, Math.max(1_000, options.timeoutMs * 0.8))) {
      detail = `replication stuck: nothing has arrived for ${(still / 1000).toFixed(1)} s (${check.detail})`;
    }
    events({ type: 'converge-progress', url, converged: false, detail, elapsedMs: elapsed });
    if (elapsed >= options.timeoutMs || options.signal?.aborted) {
      return { url, converged: false, waitedMs: elapsed, detail };
    }
    delay = nextPollDelay(delay, moved || first, options.pollMs);
    first = false;
    await sleep(Math.min(delay, Math.max(0, options.timeoutMs - elapsed)));
  }
}

interface ReadBackState {
  /** Entries that did not read back last time (undefined: every one, again). */
  again?: ReadTarget[];
  /** The read-back started while the replica was still catching up (at most one). */
  early?: Promise<void>;
  /** This poll is reading back entries (after the state and the canary were found caught up). */
  reading?: boolean;
}

/** One poll: the three conditions of docs/replication.md "Convergence", cheapest first. */
async function checkOnce(topology: Topology, replica: Directory, target: ReplicationState, ownId: string | undefined, ignore: ReadonlySet<string> | undefined, proof: ConvergenceProof | undefined, previous: ReadBackState, shared: SharedMasterReads): Promise<Check> {
  const state = await topology.adapter.readReplicationState(replica, topology.config.suffix);
  const seen = JSON.stringify([...state]);
  const cmp = topology.adapter.compare(target, state, ownId);
  if (!cmp.caughtUp) {
    // While the replica catches up, the entries are read back once in the background: those that
    // match stay matched (a frozen replica only takes replication, and the run's writes on the
    // master are done), so once its state has caught up only the others are read again — the
    // wait ends soon after the last change arrives, not a whole read-back later.
    // Only close behind: a replica far behind would mismatch on most entries, and be read again.
    if (proof && !previous.early && lagMs(cmp) <= EARLY_READ_BACK_LAG_MS) {
      previous.early = readBack(topology.master, replica, proof.changed(), ignore, shared)
        .then((b) => { previous.again = b.again; })
        .catch(() => { previous.again = undefined; });
    }
    return { done: false, failed: 'state', detail: describeLag(cmp), fingerprint: seen };
  }
  if (!proof) return { done: true, detail: 'converged', fingerprint: seen };
  if (!(await canaryArrived(replica, topology.config.versionEntry, proof.runId, proof.canary))) {
    return {
      done: false, failed: 'canary', fingerprint: `${seen} canary`,
      detail: "its replication state has caught up with the master's, but this run's last change (its canary record) has not arrived: it does not receive this master's changes, or not all of them",
    };
  }
  previous.reading = true;
  await previous.early;
  const back = await readBack(topology.master, replica, previous.again ?? proof.changed(), ignore, shared);
  previous.reading = false;
  previous.again = back.again;
  if (back.count === 0) return { done: true, detail: 'converged', fingerprint: seen };
  const e = back.first!;
  return {
    done: false, failed: 'entries', fingerprint: `${seen} ${back.count}`,
    detail: `${back.count} entr${back.count === 1 ? 'y' : 'ies'} the run changed differ${back.count === 1 ? 's' : ''} from the master's, e.g. ${e.dn}: ${e.what} (a fractional replica? declare what it does not receive in replicas[].ignoreAttributes)`,
  };
}
