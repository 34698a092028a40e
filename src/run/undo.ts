import type { Directory } from '../ldap/directory.js';
import { getValues, hasValue, isOperational, userAttributes, type AttributeValue, type LdapEntry } from '../ldap/entry.js';
import { everyProgressTick, type EventSink } from '../events.js';
import { failpoint } from '../failpoints.js';
import type { JournalRecord } from '../records/journal.js';

export interface UndoResult {
  undone: number;
  /**
   * Changes of the run left in place because the entry was changed after the run wrote it (by a
   * client of the master, or anyone else): undoing them would overwrite that later change.
   */
  conflicts: string[];
}

/**
 * Undoes journaled writes in reverse order from their pre-images (docs/run.md). Each step compares the
 * entry with what the run's write left (`post`): still so → undone; already as before the write
 * (a rollback that was interrupted, a write that never arrived) → nothing to do; anything else →
 * someone changed it since: left alone and listed as a conflict. Only the attributes a modify
 * touched are compared and restored: other writes to the same entry are kept. A configuration
 * script's write (`server` set) is undone on that server through `configOf`.
 */
export async function undoJournal(master: Directory, records: JournalRecord[], events: EventSink, configOf?: (server: string) => Promise<Directory>): Promise<UndoResult> {
  const result: UndoResult = { undone: 0, conflicts: [] };
  const conflict = (text: string) => {
    result.conflicts.push(text);
    events({ type: 'warning', message: `rollback: ${text}; left as it is` });
  };
  const configFor = async (server: string): Promise<Directory> => {
    if (!configOf) throw new Error(`the journal holds a configuration write to ${server}, and no connection to it was given`);
    return configOf(server);
  };
  let done = 0;
  const stop = everyProgressTick((elapsedMs) => events({ type: 'rollback-progress', undone: result.undone, done, total: records.length, elapsedMs }));
  try {
    for (const r of [...records].reverse()) {
      done++;
      if (result.undone === 1) await failpoint('rollback');
      // A configuration script's write is undone on its own server's cn=config.
      const dir = r.server === undefined ? master : await configFor(r.server);
      switch (r.kind) {
        case 'add': {
          const now = await dir.get(r.dn, ['*']);
          if (!now) break;
          const changed = r.post ? changedAttributes(userAttributes(now), r.post, impliedByServer(r.dn)) : [];
          if (changed.length) conflict(`${r.dn}: added by the run, then changed (${changed.join(', ')})`);
          else { await dir.delete(r.dn); result.undone++; }
          break;
        }
        case 'delete': {
          const now = await dir.get(r.dn, ['*']);
          if (!now) { await dir.add(r.dn, userAttributes(r.pre!).attributes); result.undone++; }
          else if (changedAttributes(userAttributes(now), userAttributes(r.pre!).attributes).length) conflict(`${r.dn}: deleted by the run, then added again by someone else`);
          break;
        }
        case 'rename': {
          const atOld = await dir.get(r.dn, ['1.1']);
          const atNew = await dir.get(r.newDn!, ['1.1']);
          if (!atOld && atNew) { await dir.rename(r.newDn!, r.dn); result.undone++; }
          else if (!atOld) conflict(`${r.newDn}: renamed by the run from ${r.dn}, then renamed or deleted by someone else`);
          else if (atNew) conflict(`${r.dn}: renamed by the run to ${r.newDn}, and both names are taken now`);
          break;
        }
        case 'modify': {
          const attributes = r.attributes ?? [];
          const now = await dir.get(r.dn, attributes.length ? attributes : ['1.1']);
          if (!now) {
            conflict(`${r.dn}: changed by the run, then deleted or renamed by someone else`);
            break;
          }
          const pre = r.pre!;
          const restore: string[] = [];
          const theirs: string[] = [];
          for (const a of attributes) {
            const current = getValues(now, a);
            if (sameSet(current, getValues(pre, a))) continue; // already as before
            if (!r.post || sameSet(current, valuesIn(r.post, a))) restore.push(a);
            else theirs.push(a);
          }
          if (theirs.length) conflict(`${r.dn}: ${theirs.join(', ')} changed after the run wrote ${theirs.length === 1 ? 'it' : 'them'}`);
          if (restore.length) {
            await dir.modify(r.dn, restore.map((attribute) => ({ operation: 'replace' as const, attribute, values: getValues(pre, attribute) })));
            result.undone++;
          }
          break;
        }
      }
    }
  } finally {
    stop();
  }
  return result;
}

function valuesIn(attributes: Record<string, AttributeValue[]>, name: string): AttributeValue[] {
  return getValues({ dn: '', attributes } as LdapEntry, name);
}

function sameSet(a: AttributeValue[], b: AttributeValue[]): boolean {
  return a.length === b.length && a.every((v) => hasValue(b, v));
}

/**
 * User attributes whose values differ between an entry and `expected` — attributes the entry has
 * beyond `expected` count as changed too — but for values the server adds by itself (`implied`).
 */
function changedAttributes(entry: LdapEntry, expected: Record<string, AttributeValue[]>, implied: (name: string, v: AttributeValue) => boolean = () => false): string[] {
  const out: string[] = [];
  const names = new Set([...Object.keys(expected), ...Object.keys(entry.attributes)].filter((k) => !isOperational(k)).map((k) => k.toLowerCase()));
  for (const name of names) {
    const now = getValues(entry, name);
    const want = valuesIn(expected, name);
    const missing = want.some((v) => !hasValue(now, v));
    const extra = now.some((v) => !hasValue(want, v) && !implied(name, v));
    if (missing || extra) out.push(Object.keys(entry.attributes).find((k) => k.toLowerCase() === name) ?? name);
  }
  return out;
}

/** What a server adds to an entry it is sent: `objectClass: top` (389 DS) and the RDN's own value. */
function impliedByServer(dn: string): (name: string, v: AttributeValue) => boolean {
  const rdn = /^([^=]+)=((?:\\.|[^,+])*)/.exec(dn);
  return (name, v) => {
    const value = String(v).toLowerCase();
    if (name.toLowerCase() === 'objectclass' && value === 'top') return true;
    return Boolean(rdn && rdn[1]!.trim().toLowerCase() === name.toLowerCase() && rdn[2]!.trim().toLowerCase() === value);
  };
}
