import { LdapOperationError } from '../../src/errors.js';
import type { Directory, DirectoryOptions, SearchRequest } from '../../src/ldap/directory.js';
import {
  applyModifications, cloneEntry, getValues, isOperational, isUnder, normalizeDn, parentDn, pickAttributes,
  type AttributeValue, type LdapEntry, type Modification,
} from '../../src/ldap/entry.js';
import { ResultCode } from '../../src/ldap/result-codes.js';
import type { Connector } from '../../src/replication/topology.js';
import { compileFilter } from '../../src/scripts/runtime/filter-match.js';

/**
 * An in-memory OpenLDAP-like directory for the unit tier: one `MemoryServer` per node, each with
 * a root DSE, a cn=config holding the suffix's `olcDatabase={1}mdb` entry (olcReadOnly freezes
 * it, as on slapd: client writes get 53, replicated ones still apply), and the suffix's data with
 * a `contextCSN`. A write on the master is replicated at once to every replica whose link is up;
 * a replica whose link is cut gets nothing until it is restored (then it catches up whole). The
 * real OpenLDAP adapter, state store, journal and run phases work against it unchanged.
 */
export class MemoryServer {
  readonly entries = new Map<string, LdapEntry>();
  /** Every write this server took from a client, in order ("modify dn", …): what tests assert on. */
  readonly writes: string[] = [];
  private csnCount = 0;
  /** Fails the next matching client write with this LDAP code (a script's refused write, a full disk). */
  failWrite?: { match: (op: string, dn: string) => boolean; code: number; message: string };
  /** Cut off: every operation fails as a lost connection would. */
  down = false;
  /** Whether it answers the Pre-Read control (both server kinds do; false: as a server without it). */
  preRead = true;
  /** Called after every client write with the entry as it is now (undefined: deleted). */
  onWrite?: (op: string, dn: string, after: LdapEntry | undefined) => void;

  constructor(readonly url: string, readonly sid: number, readonly suffix: string, readonly cluster: MemoryCluster) {
    this.put({ dn: '', attributes: { objectClass: ['top', 'OpenLDAProotDSE'], configContext: ['cn=config'] } });
    this.put({ dn: 'cn=config', attributes: { objectClass: ['olcGlobal'], cn: ['config'], olcServerID: [String(sid)] } });
    this.put({ dn: 'olcDatabase={1}mdb,cn=config', attributes: { objectClass: ['olcDatabaseConfig', 'olcMdbConfig'], olcDatabase: ['{1}mdb'], olcSuffix: [suffix], olcMultiProvider: ['TRUE'] } });
  }

  get frozen(): boolean {
    return getValues(this.entries.get(normalizeDn('olcDatabase={1}mdb,cn=config'))!, 'olcReadOnly').some((v) => String(v).toUpperCase() === 'TRUE');
  }

  put(entry: LdapEntry): void {
    this.entries.set(normalizeDn(entry.dn), cloneEntry(entry));
  }

  get(dn: string): LdapEntry | undefined {
    return this.entries.get(normalizeDn(dn));
  }

  /** The next CSN of this server, in OpenLDAP's form (fixed width: string order is time order). */
  nextCsn(): string {
    const now = new Date(Date.now() + this.csnCount);
    const stamp = now.toISOString().replace(/[-:T]/g, '').replace(/\.(\d{3})Z$/, '.$1000Z');
    return `${stamp}#${String(this.csnCount++).padStart(6, '0')}#${this.sid.toString(16).padStart(3, '0')}#000000`;
  }

  /** Sets this server's contextCSN value for `sid` on the suffix entry. */
  stampCsn(sid: number, csn: string): void {
    const suffix = this.get(this.suffix);
    if (!suffix) return;
    const tag = `#${sid.toString(16).padStart(3, '0')}#`;
    const others = getValues(suffix, 'contextCSN').map(String).filter((v) => !v.includes(tag));
    suffix.attributes.contextCSN = [...others, csn];
  }

  /** A write from a client of this server (the tool, or a test's client). */
  write(op: 'add' | 'modify' | 'delete' | 'rename', dn: string, apply: () => string[]): void {
    if (this.down) throw Object.assign(new Error(`${this.url}: connection refused`), { code: undefined });
    const data = isUnder(dn, this.suffix);
    if (this.failWrite?.match(op, dn)) {
      const f = this.failWrite;
      this.failWrite = undefined;
      throw new LdapOperationError(this.url, f.code, `${op} ${dn}: ${f.message}`, { diagnostic: f.message });
    }
    if (data && this.frozen) throw new LdapOperationError(this.url, ResultCode.unwillingToPerform, `${op} ${dn}: unwilling to perform: operation restricted`);
    const touched = apply();
    this.writes.push(`${op} ${dn}`);
    this.onWrite?.(op, dn, this.get(touched[touched.length - 1]!));
    if (!data) return;
    const csn = this.nextCsn();
    this.stampCsn(this.sid, csn);
    this.cluster.replicateFrom(this, touched, csn);
  }
}

export class MemoryCluster {
  readonly servers: MemoryServer[];
  /** Replicas whose link from the master is cut. */
  private readonly cut = new Set<string>();
  /** Connections opened, by URL (a test can see that nothing reached a server it must not). */
  readonly opened: string[] = [];

  constructor(readonly suffix: string, nodes = 3, basePort = 1389) {
    this.servers = Array.from({ length: nodes }, (_, i) => new MemoryServer(`ldap://127.0.0.1:${basePort + i}`, i + 1, suffix, this));
    const top = this.master;
    const dc = /^dc=([^,]+)/i.exec(suffix)?.[1] ?? 'example';
    for (const s of this.servers) s.put({ dn: suffix, attributes: { objectClass: ['top', 'dcObject', 'organization'], dc: [dc], o: [dc] } });
    top.write('add', `ou=people,${suffix}`, () => this.addLocal(top, `ou=people,${suffix}`, { objectClass: ['organizationalUnit'], ou: ['people'] }));
    for (let i = 1; i <= 5; i++) {
      const dn = `uid=user${i},ou=people,${suffix}`;
      top.write('add', dn, () => this.addLocal(top, dn, { objectClass: ['inetOrgPerson'], uid: [`user${i}`], cn: [`User ${i}`], sn: [`${i}`], departmentNumber: [String(i % 2)] }));
    }
    for (const s of this.servers) s.writes.length = 0;
  }

  get master(): MemoryServer {
    return this.servers[0]!;
  }

  get replicas(): MemoryServer[] {
    return this.servers.slice(1);
  }

  server(url: string): MemoryServer {
    const s = this.servers.find((x) => x.url === url.replace(/\/$/, ''));
    if (!s) throw Object.assign(new Error(`${url}: connection refused (no such memory server)`), { code: undefined });
    return s;
  }

  /** Stops replication from the master to `url` until `restore(url)`. */
  cutLink(url: string): void {
    this.cut.add(url);
  }

  /** Gives the link back: the replica catches up with everything it missed at once. */
  restore(url: string): void {
    this.cut.delete(url);
    const replica = this.server(url);
    for (const [key, e] of [...replica.entries]) if (isUnder(e.dn, this.suffix) && !this.master.entries.has(key)) replica.entries.delete(key);
    for (const e of this.master.entries.values()) if (isUnder(e.dn, this.suffix)) replica.put(e);
  }

  replicateFrom(source: MemoryServer, touched: string[], csn: string): void {
    for (const target of this.servers) {
      if (target === source || this.cut.has(target.url) || this.cut.has(source.url)) continue;
      for (const dn of touched) {
        const e = source.get(dn);
        if (e) target.put(e);
        else target.entries.delete(normalizeDn(dn));
      }
      target.stampCsn(source.sid, csn);
    }
  }

  addLocal(server: MemoryServer, dn: string, attributes: Record<string, AttributeValue[]>): string[] {
    if (server.get(dn)) throw new LdapOperationError(server.url, ResultCode.alreadyExists, `add ${dn}: already exists`);
    if (dn !== '' && !server.get(parentDn(dn)) && normalizeDn(dn) !== normalizeDn(this.suffix)) {
      throw new LdapOperationError(server.url, ResultCode.noSuchObject, `add ${dn}: no such object`);
    }
    server.put({ dn, attributes });
    return [dn];
  }

  /** Opens "connections" to the memory servers: the topology's connector. */
  readonly connector: Connector = async (options: DirectoryOptions) => {
    this.opened.push(options.url);
    const server = this.server(options.url);
    if (server.down) throw Object.assign(new Error(`${options.url}: connection refused`), { code: undefined });
    return new MemoryDirectory(server, this) as unknown as Directory;
  };
}

/** One connection to a memory server, with the Directory's methods the tool uses. */
export class MemoryDirectory {
  readonly server: string;
  readonly url: string;
  constructor(private readonly node: MemoryServer, private readonly cluster: MemoryCluster) {
    this.url = node.url;
    this.server = new URL(node.url).host;
  }

  batchWrites(): boolean {
    return false;
  }

  async get(dn: string, attributes: string[] = ['*']): Promise<LdapEntry | null> {
    this.check();
    const e = this.node.get(dn);
    return e ? project(e, attributes) : null;
  }

  async *search(request: SearchRequest): AsyncGenerator<LdapEntry> {
    for await (const page of this.searchPages(request)) yield* page;
  }

  async *searchPages(request: SearchRequest): AsyncGenerator<LdapEntry[]> {
    this.check();
    if (!this.node.get(request.base)) return;
    const match = compileFilter(request.filter ?? '(objectClass=*)');
    const base = normalizeDn(request.base);
    const out: LdapEntry[] = [];
    for (const [key, e] of this.node.entries) {
      if (key === '' && base !== '') continue;
      const scope = request.scope ?? 'sub';
      const inScope = scope === 'base' ? key === base : scope === 'one' ? key !== base && normalizeDn(parentDn(e.dn)) === base : key === base || isUnder(e.dn, request.base);
      if (inScope && match(e)) out.push(project(e, request.attributes ?? ['*']));
    }
    const size = request.pageSize ?? 500;
    for (let i = 0; i < out.length; i += size) yield out.slice(i, i + size);
  }

  async add(dn: string, attributes: Record<string, AttributeValue[]>): Promise<void> {
    this.node.write('add', dn, () => this.cluster.addLocal(this.node, dn, attributes));
  }

  /** With `preRead`, returns those attributes as they were just before the write (the Pre-Read control), unless the server is set not to. */
  async modify(dn: string, changes: Modification[], preRead?: string[]): Promise<LdapEntry | undefined> {
    if (changes.length === 0) return undefined;
    let before: LdapEntry | undefined;
    this.node.write('modify', dn, () => {
      const e = this.existing(dn, 'modify');
      before = cloneEntry(e);
      this.node.put(applyModifications(e, changes));
      return [dn];
    });
    return preRead && this.node.preRead ? project(before!, preRead) : undefined;
  }

  async delete(dn: string, preRead?: string[]): Promise<LdapEntry | undefined> {
    let before: LdapEntry | undefined;
    this.node.write('delete', dn, () => {
      before = cloneEntry(this.existing(dn, 'delete'));
      if ([...this.node.entries.values()].some((x) => normalizeDn(parentDn(x.dn)) === normalizeDn(dn))) {
        throw new LdapOperationError(this.server, ResultCode.notAllowedOnNonLeaf, `delete ${dn}: not allowed on non-leaf`);
      }
      this.node.entries.delete(normalizeDn(dn));
      return [dn];
    });
    return preRead && this.node.preRead ? project(before!, preRead) : undefined;
  }

  async rename(dn: string, newDn: string): Promise<void> {
    this.node.write('rename', dn, () => {
      const e = this.existing(dn, 'rename');
      if (this.node.get(newDn)) throw new LdapOperationError(this.server, ResultCode.alreadyExists, `rename ${dn}: already exists`);
      this.node.entries.delete(normalizeDn(dn));
      const [attr, value] = newDn.split(',')[0]!.split('=') as [string, string];
      const moved = applyModifications({ dn: newDn, attributes: e.attributes }, [{ operation: 'add', attribute: attr, values: [value] }]);
      this.node.put(moved);
      return [dn, newDn];
    });
  }

  async close(): Promise<void> {
    // nothing to release
  }

  private check(): void {
    if (this.node.down) throw Object.assign(new Error(`${this.node.url}: connection lost`), { code: undefined });
  }

  private existing(dn: string, what: string): LdapEntry {
    const e = this.node.get(dn);
    if (!e) throw new LdapOperationError(this.server, ResultCode.noSuchObject, `${what} ${dn}: no such object`);
    return e;
  }
}

/** An entry as a search returns it for `attributes` ('*' user, '+' operational, '1.1' none). */
function project(e: LdapEntry, attributes: string[]): LdapEntry {
  if (attributes.includes('1.1') && attributes.length === 1) return { dn: e.dn, attributes: {} };
  const all = attributes.includes('+');
  const user = attributes.includes('*');
  const named = pickAttributes(e, attributes.filter((a) => a !== '*' && a !== '+' && a !== '1.1'));
  const out: LdapEntry = { dn: e.dn, attributes: { ...named.attributes } };
  for (const [k, v] of Object.entries(e.attributes)) {
    if ((user && !isOperational(k)) || (all && isOperational(k))) out.attributes[k] = [...v];
  }
  return out;
}
