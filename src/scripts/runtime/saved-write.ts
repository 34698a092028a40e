import { pickAttributes, userAttributes, type LdapEntry } from '../../ldap/entry.js';
import type { PlannedWrite } from '../../ldap/planned-write.js';
import { changedAttributes, fromAttributes, fromDigest, type SavedWrite } from '../../plan/saved-plan.js';
import type { EntryLookup } from './write-plan.js';

/** An entry a reviewed plan writes no longer holds what the plan was made from. */
export class PlanMoved extends Error {
  constructor(readonly dn: string, what: string) {
    super(`${dn}: ${what} since the plan was made`);
  }
}

/**
 * The write a saved one becomes on the entry as it is now: exactly the plan's, or PlanMoved when
 * the entry's values the plan was made from differ (nothing is sent then).
 */
export async function replaySaved(saved: SavedWrite, lookup: EntryLookup): Promise<PlannedWrite> {
  const attributes = fromAttributes(saved);
  const now = await lookup(saved.dn, attributes);
  if (fromDigest(now, attributes) !== saved.from) throw new PlanMoved(saved.dn, saved.kind === 'add' ? 'the entry was absent when planned and exists now' : now ? `${!attributes ? 'the entry' : attributes.length === 1 ? `its ${attributes[0]}` : `one of ${attributes.join(', ')}`} changed` : 'the entry was removed');
  switch (saved.kind) {
    case 'add': return { kind: 'add', dn: saved.dn, attributes: saved.attributes, pre: null };
    case 'modify': return { kind: 'modify', dn: saved.dn, changes: saved.changes, pre: pickAttributes(now!, attributes!) };
    case 'delete': return { kind: 'delete', dn: saved.dn, pre: now! };
    case 'rename': return { kind: 'rename', dn: saved.dn, newDn: saved.newDn, pre: userAttributes(now!) };
  }
}

/**
 * After the write: the server's pre-image (Pre-Read, atomic with it) of what the write changes
 * must still be what was read and checked right before it (replaySaved); a client's change between the check and the write fails the run (PlanMoved),
 * whose rollback restores that pre-image — the client's values.
 */
export function checkReplaced(saved: SavedWrite, planned: PlannedWrite | undefined, replaced: LdapEntry | undefined): void {
  if (!replaced || !planned || (planned.kind !== 'modify' && planned.kind !== 'delete')) return;
  // What the write changes (a modify's attributes; a delete's whole entry), as read right before it.
  const attributes = planned.kind === 'modify' ? changedAttributes(planned.changes) : undefined;
  const expected = planned.kind === 'modify' ? pickAttributes(planned.pre, attributes!) : planned.pre;
  if (fromDigest(attributes ? pickAttributes(replaced, attributes) : replaced, attributes) !== fromDigest(expected, attributes)) {
    throw new PlanMoved(saved.dn, 'a client changed it between the plan run\'s check and its write (the write is undone by the rollback)');
  }
}
