import type { SearchRequest } from '../../ldap/directory.js';
import type { AttributeValue, LdapEntry, Modification } from '../../ldap/entry.js';

/** One effective write, with the entry as it was before it (null for an add). */
export type PlannedWrite =
  | { kind: 'add'; dn: string; attributes: Record<string, AttributeValue[]>; pre: null }
  | { kind: 'modify'; dn: string; changes: Modification[]; pre: LdapEntry }
  | { kind: 'delete'; dn: string; pre: LdapEntry }
  | { kind: 'rename'; dn: string; newDn: string; pre: LdapEntry };

/**
 * What a script context reads from and writes to. The live store sends writes to the master
 * after journaling their pre-images; the recording store (dry run) keeps them in an overlay that
 * later reads see, and reports them as LDIF. Scripts run the same code either way.
 */
export interface EntryStore {
  readonly dryRun: boolean;
  get(dn: string): Promise<LdapEntry | null>;
  search(request: SearchRequest): AsyncIterable<LdapEntry>;
  write(write: PlannedWrite, script: string): Promise<void>;
}
