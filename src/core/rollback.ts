import type { Directory } from '../ldap/directory.js';
import { getValues, userAttributes } from '../ldap/entry.js';
import type { EventSink } from './events.js';
import type { JournalRecord } from './journal.js';

/**
 * Undoes journaled writes in reverse order from their pre-images (SPEC §7). Each undo step checks
 * the current state first, so running it twice (a crash during rollback) is safe. Only the
 * attributes a modify touched are restored: other writes to the same entry are kept.
 */
export async function undoJournal(master: Directory, records: JournalRecord[], events: EventSink): Promise<number> {
  let undone = 0;
  for (const r of [...records].reverse()) {
    switch (r.kind) {
      case 'add':
        if (await master.get(r.dn, ['1.1'])) { await master.delete(r.dn); undone++; }
        break;
      case 'delete':
        if (!(await master.get(r.dn, ['1.1']))) { await master.add(r.dn, userAttributes(r.pre!).attributes); undone++; }
        break;
      case 'rename':
        if (!(await master.get(r.dn, ['1.1'])) && (await master.get(r.newDn!, ['1.1']))) { await master.rename(r.newDn!, r.dn); undone++; }
        break;
      case 'modify': {
        if (!(await master.get(r.dn, ['1.1']))) {
          events({ type: 'warning', message: `rollback: ${r.dn} no longer exists; its change cannot be undone` });
          break;
        }
        const changes = (r.attributes ?? []).map((attribute) => ({ operation: 'replace' as const, attribute, values: getValues(r.pre!, attribute) }));
        await master.modify(r.dn, changes);
        undone++;
        break;
      }
    }
  }
  return undone;
}
