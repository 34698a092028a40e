import { setTimeout as sleep } from 'node:timers/promises';
import type { Directory } from '../ldap/directory.js';
import type { ReplicationState, ServerAdapter } from '../servers/adapter.js';
import { describeLag } from '../servers/csn.js';

/**
 * Polls every node's replication state (through the server kind's adapter) until each holds
 * every other's; with `expectChanges`, node 1 must have some (an empty state would match
 * anything). A node that cannot answer yet counts as not converged.
 */
export async function waitUntilNodesAgree(conns: Directory[], suffix: string, adapter: ServerAdapter, options: { timeoutMs: number; expectChanges: boolean; nudgeAfterMs?: number }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let nudgeAt = options.nudgeAfterMs === undefined ? Infinity : Date.now() + options.nudgeAfterMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    const states = await Promise.all(conns.map((c) => adapter.readReplicationState(c, suffix).catch(() => undefined)));
    // Every node holds every other node's changes: a link that delivers one way only (node 3's
    // changes reach node 2 but not node 1) is not a converged cluster.
    const agree = (a: ReplicationState | undefined, b: ReplicationState | undefined) => a !== undefined && b !== undefined && adapter.compare(a, b).caughtUp;
    const all = states.every((a, i) => states.every((b, j) => i === j || agree(a, b)));
    if ((!options.expectChanges || (states[0]?.size ?? 0) > 0) && all) return;
    if (Date.now() > deadline) throw new Error(`the sandbox did not converge within ${options.timeoutMs / 1000} s: ${disagreement(states, adapter)}`);
    if (Date.now() > nudgeAt) {
      // 389 DS: an agreement that reported success may still hold back a node's first changes
      // (seen in CI: node 3's reached node 2, not node 1, for 2 min, every agreement "Incremental
      // update succeeded"); a write on every node starts a new session on each of its agreements.
      await nudge(conns, suffix);
      nudgeAt = Date.now() + options.nudgeAfterMs!;
    }
    await sleep(delay);
  }
}

/** Which node lacks which other node's changes (for the message of a cluster that did not converge). */
function disagreement(states: (ReplicationState | undefined)[], adapter: ServerAdapter): string {
  const silent = states.flatMap((s, i) => (s === undefined ? [`node ${i + 1}`] : []));
  if (silent.length > 0) return `${silent.join(', ')} cannot be read`;
  for (const [i, a] of states.entries()) {
    for (const [j, b] of states.entries()) {
      const cmp = i === j ? undefined : adapter.compare(a!, b!);
      if (cmp && !cmp.caughtUp) return `node ${j + 1} lacks changes node ${i + 1} holds (${describeLag(cmp)})`;
    }
  }
  return 'node 1 has no changes yet';
}

/** A write on every node (the suffix entry's description, the same value everywhere): each node's agreements then send what they hold. */
async function nudge(conns: Directory[], suffix: string): Promise<void> {
  await Promise.all(conns.map((c) => c.modify(suffix, [{ operation: 'replace', attribute: 'description', values: ['ldap-upgrade sandbox'] }]).catch(() => undefined)));
}
