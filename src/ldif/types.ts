import type { AttributeValue, Modification } from '../ldap/entry.js';

interface RecordBase {
  dn: string;
  /** 1-based line of the record's `dn:` in its file, for error messages. */
  line: number;
}

/** An add (also a content record without `changetype`). `merge` is the `# ldap-upgrade: merge` mark. */
export interface AddRecord extends RecordBase {
  kind: 'add';
  attributes: Record<string, AttributeValue[]>;
  merge: boolean;
  /** Per attribute (the keys of `attributes`), the line of each value, for messages about one value. */
  valueLines?: Record<string, number[]>;
}

export interface ModifyRecord extends RecordBase {
  kind: 'modify';
  changes: Modification[];
  /** Per change, the line of each value (for messages about one value). */
  valueLines?: number[][];
}

export interface DeleteRecord extends RecordBase {
  kind: 'delete';
}

export interface ModRdnRecord extends RecordBase {
  kind: 'modrdn';
  newRdn: string;
  deleteOldRdn: boolean;
  newSuperior?: string;
}

/** One RFC 2849 change record. */
export type ChangeRecord = AddRecord | ModifyRecord | DeleteRecord | ModRdnRecord;
