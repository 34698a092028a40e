import { LdapOperationError } from '../../errors.js';
import {
  getValues, hasValue, normalizeDn, pickAttributes, userAttributes,
  type AttributeValue, type LdapEntry, type Modification,
} from '../../ldap/entry.js';
import type { Directory } from '../../ldap/directory.js';
import { ResultCode } from '../../ldap/result-codes.js';
import type { PlannedWrite } from '../../ldap/planned-write.js';

/** What a script asked for, before it is checked against the entry as it is. */
export type WriteIntent =
  | { kind: 'add'; dn: string; attributes: Record<string, AttributeValue[]>; merge: boolean }
  | { kind: 'modify'; dn: string; changes: Modification[] }
  | { kind: 'delete'; dn: string }
  | { kind: 'rename'; dn: string; newDn: string };

/**
 * Reads an entry for planning. `attributes` names the attributes whose values matter; undefined
 * means every user attribute (a delete's or rename's pre-image); an empty list means existence only.
 */
export type EntryLookup = (dn: string, attributes: string[] | undefined) => Promise<LdapEntry | null>;

/** Reads an entry from the server for `planWrite`, asking for just what the lookup needs. */
export function readForPlan(master: Directory, dn: string, attributes: string[] | undefined): Promise<LdapEntry | null> {
  return master.get(dn, attributes === undefined ? ['*'] : attributes.length === 0 ? ['1.1'] : attributes);
}

/** The DNs a write touches: writes on related DNs (equal, above or below) keep their order. */
export function intentDns(intent: WriteIntent): string[] {
  return intent.kind === 'rename' ? [intent.dn, intent.newDn] : [intent.dn];
}

/**
 * Turns an intent into the effective write (README "Upgrade scripts": adding a present value, deleting an absent
 * one or an absent entry, adding an entry that holds every given value are no-ops; null then).
 * The pre-image read here is what the journal keeps. Throws for writes that cannot be made.
 */
export async function planWrite(intent: WriteIntent, lookup: EntryLookup): Promise<PlannedWrite | null> {
  switch (intent.kind) {
    case 'add': {
      const pre = await lookup(intent.dn, Object.keys(intent.attributes));
      if (!pre) return { kind: 'add', dn: intent.dn, attributes: intent.attributes, pre: null };
      // The entry counts as the same when it holds every value the add gives (servers add values of
      // their own, like 389 DS's objectClass: top).
      const missing = Object.entries(intent.attributes)
        .map(([attribute, values]) => ({ attribute, values: values.filter((v) => !hasValue(getValues(pre, attribute), v)) }))
        .filter((m) => m.values.length > 0);
      if (missing.length === 0) return null;
      if (!intent.merge) {
        throw new LdapOperationError('master', ResultCode.alreadyExists,
          `add ${intent.dn}: the entry exists without these values of ${missing.map((m) => m.attribute).join(', ')} (mark the record "# ldap-upgrade: merge" to add the missing values)`);
      }
      const changes = missing.map(({ attribute, values }) => ({ operation: 'add' as const, attribute, values }));
      return { kind: 'modify', dn: intent.dn, changes, pre: pickAttributes(pre, changes.map((c) => c.attribute)) };
    }
    case 'modify': {
      const attributes = [...new Set(intent.changes.map((c) => c.attribute))];
      const pre = await lookup(intent.dn, attributes);
      if (!pre) throw new LdapOperationError('master', ResultCode.noSuchObject, `modify ${intent.dn}: no such entry`);
      const effective = effectiveChanges(pre, intent.changes);
      return effective.length === 0 ? null : { kind: 'modify', dn: intent.dn, changes: effective, pre: pickAttributes(pre, attributes) };
    }
    case 'delete': {
      const pre = await lookup(intent.dn, undefined);
      return pre ? { kind: 'delete', dn: intent.dn, pre } : null;
    }
    case 'rename': {
      if (normalizeDn(intent.dn) === normalizeDn(intent.newDn)) return null;
      const pre = await lookup(intent.dn, undefined);
      if (pre) return { kind: 'rename', dn: intent.dn, newDn: intent.newDn, pre: userAttributes(pre) };
      if (await lookup(intent.newDn, [])) return null; // already renamed (re-run)
      throw new LdapOperationError('master', ResultCode.noSuchObject, `rename ${intent.dn}: no such entry`);
    }
  }
}

/** Whether two value lists hold the same values (in any order). */
function sameSet(a: AttributeValue[], b: AttributeValue[]): boolean {
  return a.length === b.length && a.every((v) => hasValue(b, v));
}

/** The part of `changes` that would change `entry` (applied in order, as the server would). */
export function effectiveChanges(entry: LdapEntry, changes: Modification[]): Modification[] {
  // Values as changed by the earlier changes of the list (rarely needed: created on first use).
  let state: Map<string, AttributeValue[]> | undefined;
  const current = (name: string) => state?.get(name.toLowerCase()) ?? getValues(entry, name);
  const set = (name: string, values: AttributeValue[]) => (state ??= new Map()).set(name.toLowerCase(), values);
  const out: Modification[] = [];
  for (const c of changes) {
    const now = current(c.attribute);
    if (c.operation === 'add') {
      const values = c.values.filter((v, i) => !hasValue(now, v) && !hasValue(c.values.slice(0, i), v));
      if (values.length === 0) continue;
      out.push({ ...c, values });
      set(c.attribute, [...now, ...values]);
    } else if (c.operation === 'delete') {
      if (c.values.length === 0) {
        if (now.length === 0) continue;
        out.push(c);
        set(c.attribute, []);
      } else {
        const values = c.values.filter((v) => hasValue(now, v));
        if (values.length === 0) continue;
        out.push({ ...c, values });
        set(c.attribute, now.filter((v) => !hasValue(values, v)));
      }
    } else {
      if (sameSet(now, c.values)) continue;
      out.push(c);
      set(c.attribute, [...c.values]);
    }
  }
  return out;
}
