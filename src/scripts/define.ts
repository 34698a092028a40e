import type { AttributeValue, LdapEntry, Modification } from '../ldap/entry.js';

/** What a script's search asks for. `base` defaults to the suffix, `scope` to sub. */
export interface ScriptSearch {
  base?: string;
  scope?: 'base' | 'one' | 'sub';
  filter?: string;
  attributes?: string[];
}

/**
 * The only way an upgrade script touches the directory (README "Upgrade scripts"). In a dry run the same calls
 * are recorded instead of sent, and reads see the writes recorded earlier in the same dry run.
 * Writes are idempotent: adding a value that is present or deleting one that is absent is a no-op.
 */
export interface ScriptContext {
  readonly suffix: string;
  readonly fromVersion: string;
  readonly toVersion: string;
  readonly dryRun: boolean;
  /** Streams matching entries page by page. */
  search(request: ScriptSearch): AsyncIterable<LdapEntry>;
  get(dn: string, attributes?: string[]): Promise<LdapEntry | null>;
  exists(dn: string): Promise<boolean>;
  add(dn: string, attributes: Record<string, AttributeValue | AttributeValue[]>): Promise<void>;
  modify(dn: string, changes: Modification[]): Promise<void>;
  delete(dn: string): Promise<void>;
  /** Renames (and with another parent, moves) `dn` to the full DN `newDn`. */
  rename(dn: string, newDn: string): Promise<void>;
  /**
   * The values of an attribute of an entry, as strings (attribute names are case-insensitive).
   * Throws for a value that is not UTF-8 text (a hashed password, a binary blob): read such an
   * attribute with `bytes`, which cannot corrupt it.
   */
  values(entry: LdapEntry, attribute: string): string[];
  /**
   * The values of an attribute as bytes, exactly as the server holds them: write them back as
   * they are and they stay unchanged. (Entries from `get` and `search` carry a value that is not
   * UTF-8 as a Buffer already; `bytes` gives every value so.)
   */
  bytes(entry: LdapEntry, attribute: string): Buffer[];
  log(message: string): void;
}

export interface ScriptDefinition {
  description?: string;
  /** Scripts that share this key run once per upgrade (at the last place one of them appears). */
  runOnce?: string;
  up(ctx: ScriptContext): Promise<void>;
}

/** Declares a code upgrade script: `export default defineScript({ ... })`. */
export function defineScript(definition: ScriptDefinition): ScriptDefinition {
  return definition;
}
