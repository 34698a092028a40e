import { setTimeout as sleep } from 'node:timers/promises';
import { RefusedError } from '../errors.js';
import type { Directory } from '../ldap/directory.js';
import type { ReplicationState, ServerAdapter } from '../servers/adapter.js';
import { describeLag, type CatchUp } from '../servers/csn.js';

/**
 * Waits until `holder` has every change of the replication state `wanted` (polling `holder` at
 * 20 ms, backing off to 500 ms; `ownId`: the holder's own id, left out), for at most `timeoutMs`;
 * returns the last comparison.
 */
export async function waitUntilHolds(adapter: ServerAdapter, suffix: string, holder: Directory, wanted: ReplicationState, timeoutMs: number, ownId?: string): Promise<CatchUp> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 1.5, 500)) {
    const cmp = adapter.compare(wanted, await adapter.readReplicationState(holder, suffix), ownId);
    if (cmp.caughtUp || Date.now() >= deadline) return cmp;
    await sleep(delay);
  }
}

/**
 * Waits until `master` has every change `replica` holds now. Refused after `timeoutMs`: the
 * replica's own changes do not reach the master, and running the scripts without them would
 * upgrade an incomplete directory. The refusal says what the replica reports of its own links
 * (`replicaConfig`: its configuration connection, where the adapter reads such a status).
 */
export async function drainInto(adapter: ServerAdapter, suffix: string, master: Directory, replica: Directory, timeoutMs: number, replicaConfig?: Directory): Promise<void> {
  const cmp = await waitUntilHolds(adapter, suffix, master, await adapter.readReplicationState(replica, suffix), timeoutMs);
  if (!cmp.caughtUp) {
    const links = replicaConfig && adapter.replicationStatus ? await adapter.replicationStatus(replicaConfig, suffix).catch(() => []) : [];
    const said = links.length > 0 ? `; it reports ${links.join('; ')}` : '';
    throw new RefusedError(`the master lacks changes this replica holds (master ${describeLag(cmp)}) after ${Math.round(timeoutMs / 1000)} s: check replication from it to the master${said}`);
  }
}
