import type { AttributeValue, LdapEntry, Modification } from './entry.js';

/**
 * One effective write with the entry as it was before it (null for an add): what a script's
 * store sends (or, in a dry run, records) and what the run's journal keeps to undo it.
 */
export type PlannedWrite =
  | { kind: 'add'; dn: string; attributes: Record<string, AttributeValue[]>; pre: null }
  | { kind: 'modify'; dn: string; changes: Modification[]; pre: LdapEntry }
  | { kind: 'delete'; dn: string; pre: LdapEntry }
  | { kind: 'rename'; dn: string; newDn: string; pre: LdapEntry };

/**
 * One effective write of a configuration script on one server (README "Configuration scripts"),
 * with the entry as it was before it (none for an add).
 */
export type ConfigWrite =
  | { kind: 'add'; dn: string; attributes: Record<string, AttributeValue[]> }
  | { kind: 'modify'; dn: string; changes: Modification[]; pre: LdapEntry }
  | { kind: 'delete'; dn: string; pre: LdapEntry };
