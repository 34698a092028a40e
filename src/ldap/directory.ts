import type { Socket } from 'node:net';
import { Attribute, Change, Client, Control } from 'ldapts';
import { ConnectionError, LdapOperationError } from '../errors.js';
import { codeOf, describeNetworkError, diagnosticOf, toEntry } from './wire.js';
import { BINARY_ATTRIBUTES, type AttributeValue, type LdapEntry, type Modification } from './entry.js';
import { ResultCode, resultCodeName } from './result-codes.js';
import { tlsOptions, type TlsSettings } from './tls.js';
import { DeadlineError, withDeadline } from './deadline.js';
import { PreReadControl } from './pre-read.js';
import { portOf } from './url.js';

export interface DirectoryOptions {
  url: string;
  /** Bind DN; empty or undefined binds anonymously. */
  bindDn?: string;
  password?: string;
  tls: TlsSettings;
  /** Per-operation timeout in ms (default 30 s). A timeout closes the connection. */
  timeoutMs?: number;
  /** Connect timeout in ms (default 5 s). */
  connectTimeoutMs?: number;
}

export interface SearchRequest {
  base: string;
  scope?: 'base' | 'one' | 'sub';
  filter?: string;
  attributes?: string[];
  /** Page size of the Simple Paged Results control (default 500). */
  pageSize?: number;
}

/** The most entries one search may return (a directory of a hundred million entries fits). */
export const MAX_SEARCH_ENTRIES = 200_000_000;

/** How long a lost connection is tried again (with its bind) before the operation fails. */
export const RECONNECT_WINDOW_MS = 10_000;

/** ManageDsaIT: treat referral objects as ordinary entries; never follow referrals. */
const MANAGE_DSA_IT = '2.16.840.1.113730.3.4.2';

/**
 * One bound connection to one server. Every operation has the same shape: send, translate any
 * failure into a domain error naming the server (`host:port: invalid credentials (49)`).
 */
export class Directory {
  /** Set by `batchWrites`: runs before the batched messages leave (the journal's records). */
  private beforeFlush?: () => void;
  private corked = false;
  /** The re-bind in progress after a lost connection (shared by every operation waiting for it). */
  private rebinding?: Promise<void>;

  private constructor(
    private readonly client: Client,
    /** `host:port`, used in every message about this server. */
    readonly server: string,
    readonly url: string,
    private readonly options: DirectoryOptions,
  ) {}

  static async open(options: DirectoryOptions): Promise<Directory> {
    const parsed = new URL(options.url);
    const secure = parsed.protocol === 'ldaps:';
    const server = `${parsed.hostname}:${portOf(parsed)}`;
    const tls = secure || options.tls.startTLS ? tlsOptions(options.tls, parsed.hostname) : undefined;
    const client = new Client({
      url: options.url,
      timeout: options.timeoutMs ?? 30_000,
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      tlsOptions: secure ? tls : undefined,
      strictDN: false,
    });
    const directory = new Directory(client, server, options.url, options);
    try {
      await directory.bindOnce();
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw directory.connectionError(err, options.bindDn);
    }
    return directory;
  }

  private async bindOnce(): Promise<void> {
    const secure = new URL(this.options.url).protocol === 'ldaps:';
    if (this.options.tls.startTLS && !secure) {
      // The handshake has its own deadline: a server that accepts StartTLS and then never
      // handshakes would otherwise hold the tool for ever (the operation timeout ends with the
      // extended response, before the handshake).
      const ms = this.options.connectTimeoutMs ?? 5_000;
      try {
        await withDeadline(this.client.startTLS(tlsOptions(this.options.tls, new URL(this.options.url).hostname)), ms, 'StartTLS: the TLS handshake did not complete');
      } catch (err) {
        if (err instanceof DeadlineError) await this.client.unbind().catch(() => undefined);
        throw err;
      }
    }
    // Bind before anything else: ldapts hangs when operations start before it has connected.
    await this.client.bind(this.options.bindDn ?? '', this.options.password ?? '');
  }

  /**
   * Before each operation: a connection that was lost (server restarted, a timeout closed it) is
   * made again and bound again — ldapts would reconnect by itself, but unbound (the server then
   * answers "strong authentication required" or treats the client as anonymous). A few attempts
   * over about RECONNECT_WINDOW_MS; a refused bind is not retried.
   */
  private async ready(): Promise<void> {
    if ((this.client.isBound && !this.lost) || this.closed) return;
    this.rebinding ??= this.rebind().finally(() => { this.rebinding = undefined; });
    await this.rebinding;
  }

  /** bindOnce, given up (and the connection closed) after `ms`. */
  private async boundWithin(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const attempt = this.bindOnce();
    attempt.catch(() => undefined);
    try {
      await Promise.race([attempt, new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          void this.client.unbind().catch(() => undefined);
          reject(new Error(`BindRequest: no answer within ${(ms / 1000).toFixed(1)} s (timeout)`));
        }, ms);
      })]);
    } finally {
      clearTimeout(timer);
    }
  }

  private closed = false;
  /** An operation failed on the network: the connection is made again before the next one. */
  private lost = false;

  private async rebind(): Promise<void> {
    const deadline = Date.now() + RECONNECT_WINDOW_MS;
    let last: unknown;
    for (let delay = 250; ; delay = Math.min(delay * 2, 4_000)) {
      try {
        await this.client.unbind().catch(() => undefined);
        // Each attempt within what is left of the window: a hung server (SIGSTOP) accepts the
        // connection and never answers, and would hold the bind for a whole operation timeout.
        await this.boundWithin(Math.max(500, deadline - Date.now()));
        this.lost = false;
        return;
      } catch (err) {
        last = err;
        if (codeOf(err) !== undefined) break; // the server answered: a refused bind
      }
      if (Date.now() + delay > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    const err = this.connectionError(last, this.options.bindDn, `lost the connection and could not bind again within ${RECONNECT_WINDOW_MS / 1000} s`);
    throw new ConnectionError(err.message, { cause: last, ldapCode: err.ldapCode, server: this.server, reconnectFailed: true });
  }

  /**
   * From now on, the write requests made in one turn of the event loop leave in one socket write
   * (one system call instead of one per request: with many writes in flight, the client's own CPU
   * is what it saves), and `beforeFlush` runs just before they leave. If it throws, they never
   * leave: the connection is closed and every request in flight fails. Returns false when the
   * connection cannot batch (nothing changes then). `undefined` ends the batching.
   */
  batchWrites(beforeFlush: (() => void) | undefined): boolean {
    if (beforeFlush && !this.socket()) return false;
    this.beforeFlush = beforeFlush;
    return true;
  }

  private socket(): Socket | undefined {
    // ldapts keeps its socket private; batching is an optimisation that is skipped without it.
    const socket = (this.client as unknown as { socket?: unknown }).socket;
    return socket && typeof (socket as Socket).cork === 'function' ? socket as Socket : undefined;
  }

  private corkForThisTurn(): void {
    if (!this.beforeFlush || this.corked) return;
    const socket = this.socket();
    if (!socket) {
      // Nothing to hold the messages back (the connection is being made again): run the hook now.
      this.beforeFlush();
      return;
    }
    socket.cork();
    this.corked = true;
    setImmediate(() => {
      this.corked = false;
      try {
        this.beforeFlush?.();
      } catch (err) {
        this.lost = true;
        socket.destroy(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      socket.uncork();
    });
  }

  /** Reads one entry, or null when it does not exist. */
  async get(dn: string, attributes: string[] = ['*']): Promise<LdapEntry | null> {
    await this.ready();
    try {
      const { searchEntries } = await this.client.search(dn, {
        scope: 'base', filter: '(objectClass=*)', attributes, explicitBufferAttributes: BINARY_ATTRIBUTES,
      }, this.controls());
      const entry = searchEntries[0];
      return entry ? toEntry(entry, this.server) : null;
    } catch (err) {
      if (codeOf(err) === ResultCode.noSuchObject) return null;
      throw this.operationError(err, `read ${dn}`);
    }
  }

  /** Streams entries page by page (Simple Paged Results): memory does not grow with the result. */
  async *search(request: SearchRequest): AsyncGenerator<LdapEntry> {
    for await (const page of this.searchPages(request)) yield* page;
  }

  /** The pages of a paged search, as they arrive (for callers that handle a page at a time). */
  async *searchPages(request: SearchRequest): AsyncGenerator<LdapEntry[]> {
    await this.ready();
    const pages = this.client.searchPaginated(request.base, {
      scope: request.scope ?? 'sub',
      filter: request.filter ?? '(objectClass=*)',
      attributes: request.attributes ?? ['*'],
      explicitBufferAttributes: BINARY_ATTRIBUTES,
      paged: { pageSize: request.pageSize ?? 500 },
    }, this.controls());
    // The next page is asked for as soon as one arrives, so the server sends it while this one is
    // being used: the caller rarely waits for a round trip. At most two pages are held.
    const iterator = pages[Symbol.asyncIterator]();
    let next = iterator.next();
    // A server that pages for ever (the same page again and again) must not fill a backup or
    // hold a run: a page that starts with an entry an earlier page started with ends the search.
    const firsts = new Set<string>();
    let count = 0;
    try {
      for (;;) {
        const page = await next;
        if (page.done) return;
        next = iterator.next();
        next.catch(() => undefined); // surfaces at the await above, or is dropped if the caller stops
        const entries = page.value.searchEntries;
        const first = entries[0]?.dn;
        if (first !== undefined) {
          if (firsts.has(first)) throw new LdapOperationError(this.server, 80, `search ${request.base}: the server sent the page starting at ${first} again after ${count} entries: it pages in a loop`);
          firsts.add(first);
        }
        count += entries.length;
        if (count > MAX_SEARCH_ENTRIES) throw new LdapOperationError(this.server, 4, `search ${request.base}: more than ${MAX_SEARCH_ENTRIES} entries`);
        yield entries.map((e) => toEntry(e, this.server));
      }
    } catch (err) {
      if (codeOf(err) === ResultCode.noSuchObject) return;
      throw this.operationError(err, `search ${request.base}`);
    } finally {
      void iterator.return?.(undefined)?.catch(() => undefined);
    }
  }

  async add(dn: string, attributes: Record<string, AttributeValue[]>): Promise<void> {
    const list = Object.entries(attributes).map(([type, values]) => new Attribute({ type, values: values as string[] }));
    this.corkForThisTurn();
    await this.run(`add ${dn}`, () => this.client.add(dn, list, this.controls()));
  }

  /**
   * Modifies `dn`. With `preRead` (attribute names), the server is asked for those attributes as
   * they were just before this modify (Pre-Read control, RFC 4527): returned when it answers
   * with them, undefined otherwise.
   */
  async modify(dn: string, changes: Modification[], preRead?: string[]): Promise<LdapEntry | undefined> {
    if (changes.length === 0) return undefined;
    const list = changes.map((c) => new Change({
      operation: c.operation,
      modification: new Attribute({ type: c.attribute, values: c.values as string[] }),
    }));
    const pre = preRead ? new PreReadControl(preRead) : undefined;
    this.corkForThisTurn();
    await this.run(`modify ${dn}`, () => this.client.modify(dn, list, this.controls(pre)));
    return pre?.entry;
  }

  /** Deletes `dn`; with `preRead`, returns those attributes as they were just before (see modify). */
  async delete(dn: string, preRead?: string[]): Promise<LdapEntry | undefined> {
    const pre = preRead ? new PreReadControl(preRead) : undefined;
    this.corkForThisTurn();
    await this.run(`delete ${dn}`, () => this.client.del(dn, this.controls(pre)));
    return pre?.entry;
  }

  /** Renames `dn` to `newDn` (a full DN; a different parent moves the entry). */
  async rename(dn: string, newDn: string): Promise<void> {
    this.corkForThisTurn();
    await this.run(`rename ${dn}`, () => this.client.modifyDN(dn, newDn, this.controls()));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client.unbind().catch(() => undefined);
  }

  /** ManageDsaIT on every operation, and the operation's own control (Pre-Read) when it has one. */
  private controls(extra?: Control): Control[] {
    const manage = new Control(MANAGE_DSA_IT, { critical: false });
    return extra ? [manage, extra] : [manage];
  }

  private async run(what: string, op: () => Promise<void>): Promise<void> {
    await this.ready();
    try {
      await op();
    } catch (err) {
      throw this.operationError(err, what);
    }
  }

  private operationError(err: unknown, what: string): Error {
    if (err instanceof LdapOperationError) return err; // ours already (named, with its reason)
    const code = codeOf(err);
    if (code === undefined) {
      this.lost = true;
      return this.connectionError(err);
    }
    // Never followed: a referral means this server does not take writes for the entry.
    const hint = code === ResultCode.referral ? ' — the server refers writes elsewhere: it is read-only here (a replica frozen by a run, a hub or a consumer), not a master' : '';
    const diagnostic = diagnosticOf(err);
    return new LdapOperationError(this.server, code, `${what}: ${resultCodeName(code)}${diagnostic ? `: ${diagnostic}` : ''}${hint}`, { cause: err, diagnostic });
  }

  private connectionError(err: unknown, bindDn?: string, context?: string): ConnectionError {
    if (err instanceof ConnectionError) return err;
    const code = codeOf(err);
    const prefix = `${this.server}: ${context ? `${context}: ` : ''}`;
    if (code !== undefined) {
      const who = code === ResultCode.invalidCredentials && bindDn ? ` for ${bindDn}` : '';
      const diagnostic = diagnosticOf(err);
      return new ConnectionError(`${prefix}${resultCodeName(code)}${who}${diagnostic ? `: ${diagnostic}` : ''} (${code})`, { cause: err, ldapCode: code, server: this.server });
    }
    return new ConnectionError(`${prefix}${describeNetworkError(err)}`, { cause: err, server: this.server });
  }
}
