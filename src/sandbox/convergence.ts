import { setTimeout as sleep } from 'node:timers/promises';
import type { Directory } from '../ldap/directory.js';
import type { ReplicationState, ServerAdapter } from '../servers/adapter.js';

/**
 * Polls every node's replication state (through the server kind's adapter) until all hold node
 * 1's; with `expectChanges`, node 1 must have some (an empty state would match anything). A node
 * that cannot answer yet counts as not converged.
 */
export async function waitUntilNodesAgree(conns: Directory[], suffix: string, adapter: ServerAdapter, options: { timeoutMs: number; expectChanges: boolean }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    const states = await Promise.all(conns.map((c) => adapter.readReplicationState(c, suffix).catch(() => undefined)));
    const [first, ...others] = states;
    const agree = (s: ReplicationState | undefined) => first !== undefined && s !== undefined && adapter.compare(first, s).caughtUp;
    if ((!options.expectChanges || (first?.size ?? 0) > 0) && others.every(agree)) return;
    if (Date.now() > deadline) throw new Error(`the sandbox did not converge within ${options.timeoutMs / 1000} s`);
    await sleep(delay);
  }
}
