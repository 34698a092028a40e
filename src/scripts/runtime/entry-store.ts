import type { SearchRequest } from '../../ldap/directory.js';
import type { LdapEntry } from '../../ldap/entry.js';
import type { WriteIntent } from './write-plan.js';

/** Told once per effective write of a script (for its "entries changed"). */
export type WriteTally = () => void;

/**
 * What a script context reads from and writes to. The live store pipelines writes to the master,
 * each one's pre-image journaled before it is sent; the recording store (dry run) keeps them in an
 * overlay that later reads see, and reports them as LDIF. Scripts run the same code either way.
 */
export interface EntryStore {
  readonly dryRun: boolean;
  /** The entry as the script should see it: after every write it submitted before. */
  get(dn: string): Promise<LdapEntry | null>;
  search(request: SearchRequest): AsyncIterable<LdapEntry>;
  /**
   * Takes a write. It may still be in flight when this resolves; a failure then surfaces at the
   * next submit, read or `flush`. Writes on related DNs (equal, above, below) keep their order.
   */
  submit(intent: WriteIntent, script: string, tally: WriteTally): Promise<void>;
  /** Resolves once every submitted write is answered; throws the first failure. */
  flush(): Promise<void>;
  /** The script was given up (it escaped, or ran past its limit): refuse whatever it still sends. */
  abandon(reason: Error): void;
}

/** A submitted write that failed (or could not be planned), named by the entry it was for. */
export class WriteFailure extends Error {
  constructor(readonly dn: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}
