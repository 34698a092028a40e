import { isUtf8 } from 'node:buffer';
import {
  getValues, parentDn, pickAttributes, rdnOf, type AttributeValue, type LdapEntry, type Modification,
} from '../../ldap/entry.js';
import type { ScriptContext, ScriptSearch } from '../define.js';
import type { EntryStore } from './entry-store.js';
import type { WriteIntent } from './write-plan.js';
import { protectedWriteProblem } from './protected-dns.js';

export { effectiveChanges } from './write-plan.js';

export interface ContextOptions {
  store: EntryStore;
  suffix: string;
  fromVersion: string;
  toVersion: string;
  /** Script id, for the journal and the planned-change output. */
  script: string;
  log: (message: string) => void;
  /** The version entry: the tool's own records there are refused to scripts (see protected-dns.ts). */
  versionEntry?: string;
}

/**
 * The script context (README "Upgrade scripts"). Writes go to the store, which checks each against the entry as it
 * is (its pre-image) and keeps only the effective part — adding a present value, deleting an
 * absent one or an absent entry are no-ops — so scripts are safe to re-run after a crash. A write
 * may still be in flight when its promise resolves (the live store pipelines them); its failure
 * then surfaces at a later call or when the script ends.
 */
export class UpgradeScriptContext implements ScriptContext {
  readonly suffix: string;
  readonly fromVersion: string;
  readonly toVersion: string;
  /** Entries this script changed (effective writes). */
  entriesChanged = 0;
  /** The DN the script was writing when it failed, for the error message. */
  currentDn?: string;

  constructor(private readonly options: ContextOptions) {
    this.suffix = options.suffix;
    this.fromVersion = options.fromVersion;
    this.toVersion = options.toVersion;
  }

  get dryRun(): boolean {
    return this.options.store.dryRun;
  }

  search(request: ScriptSearch): AsyncIterable<LdapEntry> {
    return this.options.store.search({
      base: request.base ?? this.suffix, scope: request.scope ?? 'sub', filter: request.filter, attributes: request.attributes,
    });
  }

  async get(dn: string, attributes?: string[]): Promise<LdapEntry | null> {
    const entry = await this.options.store.get(dn);
    if (!entry || !attributes || attributes.includes('*')) return entry;
    return pickAttributes(entry, attributes);
  }

  async exists(dn: string): Promise<boolean> {
    return (await this.options.store.get(dn)) !== null;
  }

  values(entry: LdapEntry, attribute: string): string[] {
    return getValues(entry, attribute).map((v) => {
      if (typeof v === 'string') return v;
      if (isUtf8(v)) return v.toString('utf8');
      throw new Error(`${attribute} of ${entry.dn} holds a value that is not UTF-8 text (a hashed password, binary data): as a string it would be corrupted; read it with ctx.bytes(entry, '${attribute}') and write that Buffer back as it is`);
    });
  }

  bytes(entry: LdapEntry, attribute: string): Buffer[] {
    return getValues(entry, attribute).map((v) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v));
  }

  log(message: string): void {
    this.options.log(message);
  }

  async add(dn: string, attributes: Record<string, AttributeValue | AttributeValue[]>): Promise<void> {
    await this.addEntry(dn, normaliseAttributes(attributes), false);
  }

  /**
   * Adds an entry. If it exists holding every given value: no-op. Lacking some: an error, unless
   * `merge`, which adds the missing values instead.
   */
  addEntry(dn: string, attributes: Record<string, AttributeValue[]>, merge: boolean): Promise<void> {
    return this.submit({ kind: 'add', dn, attributes, merge });
  }

  modify(dn: string, changes: Modification[]): Promise<void> {
    return this.submit({ kind: 'modify', dn, changes });
  }

  delete(dn: string): Promise<void> {
    return this.submit({ kind: 'delete', dn });
  }

  rename(dn: string, newDn: string): Promise<void> {
    return this.submit({ kind: 'rename', dn, newDn });
  }

  /** LDIF modrdn: `newRdn` under `newSuperior` (default: the same parent). */
  async modRdn(dn: string, newRdn: string, deleteOldRdn: boolean, newSuperior?: string): Promise<void> {
    const newDn = `${newRdn},${newSuperior ?? parentDn(dn)}`;
    await this.rename(dn, newDn);
    if (!deleteOldRdn) {
      const [attr, ...rest] = rdnOf(dn).split('=');
      await this.modify(newDn, [{ operation: 'add', attribute: attr!, values: [rest.join('=')] }]);
    }
  }

  /** Resolves once every write this script submitted is answered; throws the first failure. */
  flush(): Promise<void> {
    return this.options.store.flush();
  }

  private submit(intent: WriteIntent): Promise<void> {
    this.currentDn = intent.dn;
    const refused = protectedWriteProblem(intent, this.options.versionEntry);
    if (refused) return Promise.reject(new Error(refused));
    return this.options.store.submit(intent, this.options.script, () => { this.entriesChanged++; });
  }
}

function normaliseAttributes(attributes: Record<string, AttributeValue | AttributeValue[]>): Record<string, AttributeValue[]> {
  const out: Record<string, AttributeValue[]> = {};
  for (const [k, v] of Object.entries(attributes)) out[k] = Array.isArray(v) ? v : [v];
  return out;
}
