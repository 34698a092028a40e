import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../errors.js';
import { withDeadline } from '../ldap/deadline.js';
import type { Directory } from '../ldap/directory.js';
import type { EventSink } from '../events.js';
import type { RunRecord } from '../records/run-record.js';
import { StateStore } from '../records/state-store.js';
import type { Topology } from './topology.js';

/**
 * The run's canary (docs/replication.md "Convergence"): a fresh token in its run record, written on the master. Seeing it
 * on a replica proves that the replica receives this master's changes — a copy made with
 * `slapcat | slapadd -w` holds the same entries and replication state without replicating from
 * it, and a state comparison cannot tell the two apart.
 */
export function newCanary(): string {
  return randomBytes(9).toString('base64url');
}

/** Whether `replica` holds the run record with this canary. */
export async function canaryArrived(replica: Directory, versionEntry: string, runId: string, canary: string): Promise<boolean> {
  const record = await new StateStore(replica, versionEntry).readRun(runId);
  return record?.canary === canary;
}

/**
 * The longest wait for the first canary: one small change, normally there in milliseconds, but
 * 13–17 s was measured on a 3-supplier 389 DS sandbox whose replicas all took client writes
 * (their sessions keep each other busy); 60 s leaves room for that.
 */
export const CANARY_TIMEOUT_MS = 60_000;

export interface PathProof {
  url: string;
  ok: boolean;
  waitedMs: number;
  error?: string;
}

/**
 * Before the freeze: writes a new canary into the run record on the master and waits, in
 * parallel and for at most `timeoutMs`, until every replica shows it.
 */
export async function proveReplicationPath(topology: Topology, record: RunRecord, timeoutMs: number, events: EventSink): Promise<PathProof[]> {
  record.canary = newCanary();
  await topology.store.writeRun(record);
  const started = Date.now();
  return Promise.all(topology.replicas.map(async (slot): Promise<PathProof> => {
    let last = 'not read yet';
    for (let delay = 10; ; delay = Math.min(delay * 1.5, 500)) {
      const left = timeoutMs - (Date.now() - started);
      let data: Directory | undefined;
      try {
        data = await topology.replicaData(slot.url);
        // At least 2 s per read: a last read cut short says nothing about the replica.
        if (await withDeadline(canaryArrived(data, topology.config.versionEntry, record.runId, record.canary!), Math.max(left, 2_000))) {
          const waitedMs = Date.now() - started;
          events({ type: 'replica', url: slot.url, action: 'converge', ok: true, message: `replicates from the master (this run's canary arrived in ${waitedMs} ms)` });
          return { url: slot.url, ok: true, waitedMs };
        }
        last = 'the canary has not arrived';
      } catch (err) {
        last = `unreachable: ${errorMessage(err)}`;
        await topology.dropReplicaData(slot.url, data);
      }
      if (Date.now() - started >= timeoutMs) {
        const waitedMs = Date.now() - started;
        const error = `this run's canary (its record on the master) did not reach it within ${(timeoutMs / 1000).toFixed(0)} s (${last}): it does not replicate from this master (a copy or a clone of it?), or its replication is stopped`;
        events({ type: 'replica', url: slot.url, action: 'converge', ok: false, message: error });
        return { url: slot.url, ok: false, waitedMs, error };
      }
      await sleep(Math.min(delay, Math.max(0, timeoutMs - (Date.now() - started))));
    }
  }));
}
