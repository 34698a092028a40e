import { LdapOperationError } from '../../errors.js';
import {
  attributeKey, getValues, hasValue, normalizeDn, parentDn, rdnOf, userAttributes,
  type AttributeValue, type LdapEntry, type Modification,
} from '../../ldap/entry.js';
import { ResultCode } from '../../ldap/result-codes.js';
import type { ScriptContext, ScriptSearch } from '../../scripts/define.js';
import type { EntryStore } from './entry-store.js';

export interface ContextOptions {
  store: EntryStore;
  suffix: string;
  fromVersion: string;
  toVersion: string;
  /** Script id, for the journal and the planned-change output. */
  script: string;
  log: (message: string) => void;
}

/**
 * The script context (SPEC §4). Every write reads the entry first (its pre-image), reduces the
 * write to its effective part — adding a present value, deleting an absent one or an absent entry
 * are no-ops — and hands the rest to the store. So scripts are safe to re-run after a crash.
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
    const picked: LdapEntry = { dn: entry.dn, attributes: {} };
    for (const name of attributes) {
      const key = attributeKey(entry, name);
      if (key) picked.attributes[key] = entry.attributes[key]!;
    }
    return picked;
  }

  async exists(dn: string): Promise<boolean> {
    return (await this.options.store.get(dn)) !== null;
  }

  values(entry: LdapEntry, attribute: string): string[] {
    return getValues(entry, attribute).map(String);
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
  async addEntry(dn: string, attributes: Record<string, AttributeValue[]>, merge: boolean): Promise<void> {
    this.currentDn = dn;
    const pre = await this.options.store.get(dn);
    if (!pre) {
      await this.options.store.write({ kind: 'add', dn, attributes, pre: null }, this.options.script);
      this.entriesChanged++;
      return;
    }
    // The entry counts as the same when it holds every value the add gives (servers add values of
    // their own, like 389 DS's objectClass: top).
    const missing = Object.entries(attributes)
      .map(([attribute, values]) => ({ attribute, values: values.filter((v) => !hasValue(getValues(pre, attribute), v)) }))
      .filter((m) => m.values.length > 0);
    if (missing.length === 0) return;
    if (!merge) {
      throw new LdapOperationError('master', ResultCode.alreadyExists,
        `add ${dn}: the entry exists without these values of ${missing.map((m) => m.attribute).join(', ')} (mark the record "# ldap-upgrade: merge" to add the missing values)`);
    }
    await this.modify(dn, missing.map(({ attribute, values }) => ({ operation: 'add' as const, attribute, values })));
  }

  async modify(dn: string, changes: Modification[]): Promise<void> {
    this.currentDn = dn;
    const pre = await this.options.store.get(dn);
    if (!pre) throw new LdapOperationError('master', ResultCode.noSuchObject, `modify ${dn}: no such entry`);
    const effective = effectiveChanges(pre, changes);
    if (effective.length === 0) return;
    await this.options.store.write({ kind: 'modify', dn, changes: effective, pre }, this.options.script);
    this.entriesChanged++;
  }

  async delete(dn: string): Promise<void> {
    this.currentDn = dn;
    const pre = await this.options.store.get(dn);
    if (!pre) return;
    await this.options.store.write({ kind: 'delete', dn, pre }, this.options.script);
    this.entriesChanged++;
  }

  async rename(dn: string, newDn: string): Promise<void> {
    this.currentDn = dn;
    if (normalizeDn(dn) === normalizeDn(newDn)) return;
    const pre = await this.options.store.get(dn);
    if (!pre) {
      if (await this.options.store.get(newDn)) return; // already renamed (re-run)
      throw new LdapOperationError('master', ResultCode.noSuchObject, `rename ${dn}: no such entry`);
    }
    await this.options.store.write({ kind: 'rename', dn, newDn, pre: userAttributes(pre) }, this.options.script);
    this.entriesChanged++;
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
}

function normaliseAttributes(attributes: Record<string, AttributeValue | AttributeValue[]>): Record<string, AttributeValue[]> {
  const out: Record<string, AttributeValue[]> = {};
  for (const [k, v] of Object.entries(attributes)) out[k] = Array.isArray(v) ? v : [v];
  return out;
}

function sameSet(a: AttributeValue[], b: AttributeValue[]): boolean {
  return a.length === b.length && a.every((v) => hasValue(b, v));
}

/** The part of `changes` that would change `entry` (applied in order, as the server would). */
export function effectiveChanges(entry: LdapEntry, changes: Modification[]): Modification[] {
  const state = new Map<string, AttributeValue[]>();
  const current = (name: string) => state.get(name.toLowerCase()) ?? getValues(entry, name);
  const out: Modification[] = [];
  for (const c of changes) {
    const now = current(c.attribute);
    if (c.operation === 'add') {
      const values = c.values.filter((v, i) => !hasValue(now, v) && !hasValue(c.values.slice(0, i), v));
      if (values.length === 0) continue;
      out.push({ ...c, values });
      state.set(c.attribute.toLowerCase(), [...now, ...values]);
    } else if (c.operation === 'delete') {
      if (c.values.length === 0) {
        if (now.length === 0) continue;
        out.push(c);
        state.set(c.attribute.toLowerCase(), []);
      } else {
        const values = c.values.filter((v) => hasValue(now, v));
        if (values.length === 0) continue;
        out.push({ ...c, values });
        state.set(c.attribute.toLowerCase(), now.filter((v) => !hasValue(values, v)));
      }
    } else {
      if (sameSet(now, c.values)) continue;
      out.push(c);
      state.set(c.attribute.toLowerCase(), [...c.values]);
    }
  }
  return out;
}
