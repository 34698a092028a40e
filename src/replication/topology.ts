import type { UpgradeConfig } from '../config/types.js';
import { RefusedError, errorMessage } from '../errors.js';
import { Directory, type DirectoryOptions } from '../ldap/directory.js';
import { hostPort } from '../ldap/url.js';
import type { ServerAdapter } from '../servers/adapter.js';
import { adapterFor, detectServer, type ServerIdentity } from '../servers/detect.js';
import type { EventSink } from '../events.js';
import { StateStore } from '../records/state-store.js';
import type { RecordRules } from '../records/trust.js';

/** Passwords, resolved by the CLI (file, environment or prompt) before the core runs. */
export interface Credentials {
  bindPassword: string;
  /** For cn=config; the bind password when no separate configBind is configured. */
  configPassword: string;
}

export interface ReplicaConnection {
  url: string;
  /** Data connection (bind DN); undefined when it could not be opened. */
  data?: Directory;
  error?: string;
  /** Attributes it does not receive (a fractional replica): left out when its entries are compared. */
  ignoreAttributes?: string[];
}

/** Where the replica list came from, as `status` shows it and `upgrade` judges it. */
export interface ReplicaSource {
  /** `configured`: the `replicas:` list; `discovered`: found from the master's replication configuration. */
  how: 'configured' | 'discovered';
  /** The administrator asked for discovery (`replicas: discover`), accepting what it cannot find. */
  accepted: boolean;
  /** What discovery cannot see on this server kind (OpenLDAP: consumers that pull from the master). */
  blindSpot?: string;
}

/** Open connections to the master and every replica, with the server adapter. */
export interface Topology {
  config: UpgradeConfig;
  credentials: Credentials;
  master: Directory;
  identity: ServerIdentity;
  adapter: ServerAdapter;
  replicas: ReplicaConnection[];
  /** Whether the replica list came from the master's replication configuration. */
  discovered: boolean;
  replicaSource: ReplicaSource;
  store: StateStore;
  /**
   * What the transport leaves open, for the output and the run report: plaintext binds to hosts
   * other than this one's loopback, and TLS verification turned off (`tls.insecure`).
   */
  transportWarnings: string[];
  /** Opens a cn=config connection to a server (closed by the caller). */
  openConfig(url: string): Promise<Directory>;
  /** Opens a data connection to a server (closed by the caller). */
  openData(url: string): Promise<Directory>;
  /**
   * The kept data connection to a replica: the one opened at the start, or a new one once it was
   * dropped (closed by `close()`). Replicas not in the topology get one too.
   */
  replicaData(url: string): Promise<Directory>;
  /** Closes a replica's kept data connection after it failed; the next replicaData opens another. */
  dropReplicaData(url: string, failed: Directory | undefined): Promise<void>;
  close(): Promise<void>;
}

/**
 * The TLS settings for one server: never weaker than the configuration asked for the master. A
 * replica named `ldap://` (configured, or found by discovery) while the master is `ldaps://` or
 * StartTLS is reached with StartTLS, verified — refused when it cannot — never a plaintext bind.
 */
export function transportFor(config: UpgradeConfig, url: string): UpgradeConfig['tls'] {
  const masterSecure = new URL(config.master.url).protocol === 'ldaps:' || config.tls.startTLS;
  return { ...config.tls, startTLS: config.tls.startTLS || (masterSecure && new URL(url).protocol === 'ldap:') };
}

/** A warning when binding to `url` sends the password in plaintext to another host than this one. */
function plaintextBind(config: UpgradeConfig, url: string): string | undefined {
  const u = new URL(url);
  if (u.protocol === 'ldaps:' || transportFor(config, url).startTLS) return undefined;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (/^127\./.test(host) || host === '::1' || host === 'localhost') return undefined;
  return `${url}: plaintext LDAP (no ldaps://, no tls.startTLS): the bind passwords cross the network unencrypted`;
}

/** What a record read back from the directory is checked against (records/trust.ts). */
export function recordRules(topology: Topology): RecordRules {
  return {
    suffix: topology.config.suffix, backupDir: topology.config.backupDir, replicaUrls: topology.replicas.map((r) => r.url),
    writeStateProblem: (state, suffix) => topology.adapter.writeStateProblem(state, suffix),
  };
}

/**
 * Opens one bound connection: over the network by default (Directory.open); the in-memory
 * directory of the unit tests is another.
 */
export type Connector = (options: DirectoryOptions) => Promise<Directory>;

/** Runs `fn` on a connection being opened, and closes it after, whatever happens. */
export async function withConnection<T>(opening: Promise<Directory>, fn: (d: Directory) => Promise<T>): Promise<T> {
  const d = await opening;
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

/** The deadline of each cn=config operation (a data operation has 30 s: a page of a search can be slow). */
export const CONFIG_OPERATION_TIMEOUT_MS = 10_000;


/**
 * Binds to the master (failure: exit 3), detects or checks the server kind, finds the replicas
 * (configured or discovered) and binds to each. A replica that cannot be reached is kept with its
 * error: preflight decides what that means.
 */
export async function openTopology(config: UpgradeConfig, credentials: Credentials, events: EventSink, connector: Connector = (o) => Directory.open(o)): Promise<Topology> {
  const connect = (url: string, dn: string, password: string, timeoutMs?: number) =>
    connector({ url, bindDn: dn, password, tls: transportFor(config, url), timeoutMs });
  const transportWarnings = config.tls.insecure ? ['tls.insecure: true — server certificates are not verified: a server on the path can take the passwords'] : [];
  const openData = (url: string) => connect(url, config.bind.dn, credentials.bindPassword);
  // Freeze and unfreeze are a few small cn=config operations: a hung server holds each phase
  // no longer than this per operation.
  const openConfig = (url: string) => connect(url, config.configBind.dn, credentials.configPassword, CONFIG_OPERATION_TIMEOUT_MS);

  const master = await openData(config.master.url);
  events({ type: 'server', url: config.master.url, ok: true, message: 'master: bound' });
  const replicas: ReplicaConnection[] = [];
  try {
    const identity = await detectServer(master);
    if (config.server !== 'auto' && config.server !== identity.kind) {
      throw new RefusedError(`${master.server}: configured as server: ${config.server}, but it is ${identity.product}`);
    }
    const adapter = adapterFor(identity.kind);
    let urls = config.replicas?.map((r) => r.url);
    const discovered = urls === undefined;
    if (!urls) {
      urls = await discoverTopology(config, adapter, openConfig);
      events({ type: 'info', message: `replicas discovered from the master${adapter.discoveryBlindSpot ? '' : ' (following agreements level by level)'}: ${urls.join(', ') || 'none'}` });
    }
    await Promise.all(urls.map(async (url) => {
      const ignoreAttributes = config.replicas?.find((r) => r.url === url)?.ignoreAttributes;
      const entry: ReplicaConnection = { url, ...(ignoreAttributes ? { ignoreAttributes } : {}) };
      replicas.push(entry);
      try {
        entry.data = await openData(url);
        events({ type: 'server', url, ok: true, message: 'replica: bound' });
      } catch (err) {
        entry.error = errorMessage(err);
        events({ type: 'server', url, ok: false, message: entry.error });
      }
    }));
    replicas.sort((a, b) => urls!.indexOf(a.url) - urls!.indexOf(b.url));
    for (const url of [config.master.url, ...urls]) {
      const plain = plaintextBind(config, url);
      if (plain) transportWarnings.push(plain);
    }
    for (const message of transportWarnings) events({ type: 'warning', message });
    // Connections kept for replicas that are not in the topology (a run record's, say).
    const others = new Map<string, Directory>();
    const kept = (url: string) => replicas.find((r) => r.url === url);
    return {
      config, credentials, master, identity, adapter, replicas, discovered,
      replicaSource: { how: discovered ? 'discovered' : 'configured', accepted: config.discovery === 'accepted', blindSpot: discovered ? adapter.discoveryBlindSpot : undefined },
      store: new StateStore(master, config.versionEntry),
      transportWarnings,
      openConfig, openData,
      async replicaData(url) {
        const slot = kept(url);
        const have = slot ? slot.data : others.get(url);
        if (have) return have;
        const opened = await openData(url);
        if (slot) slot.data = opened;
        else others.set(url, opened);
        return opened;
      },
      async dropReplicaData(url, failed) {
        const slot = kept(url);
        if (slot && slot.data === failed) slot.data = undefined;
        if (others.get(url) === failed) others.delete(url);
        await failed?.close();
      },
      close: async () => {
        await Promise.all([master.close(), ...replicas.map((r) => r.data?.close()), ...[...others.values()].map((d) => d.close())]);
      },
    };
  } catch (err) {
    await Promise.all([master.close(), ...replicas.map((r) => r.data?.close())]);
    throw err;
  }
}

/**
 * The master's replication partners, then theirs, level by level (389 DS: a supplier's
 * agreements name its consumers and hubs, whose agreements name theirs), without the master.
 * A server whose configuration cannot be read ends that branch: preflight reports it.
 */
async function discoverTopology(config: UpgradeConfig, adapter: ServerAdapter, openConfig: (url: string) => Promise<Directory>): Promise<string[]> {
  const self = hostPort(config.master.url);
  const seen = new Set<string>([self]);
  const found: string[] = [];
  let level = [config.master.url];
  for (let depth = 0; level.length > 0 && depth < 10; depth++) {
    const next: string[] = [];
    for (const url of level) {
      let partners: string[];
      try {
        partners = await withConnection(openConfig(url), (cfg) => adapter.discoverReplicas(cfg, config.suffix));
      } catch (err) {
        if (url === config.master.url) throw err;
        continue;
      }
      for (const p of partners) {
        const key = hostPort(p);
        if (seen.has(key)) continue;
        seen.add(key);
        found.push(p);
        next.push(p);
      }
    }
    level = next;
  }
  return found;
}

/** Runs `fn` over a new cn=config connection to `url`, closed after. */
export function withConfig<T>(topology: Topology, url: string, fn: (c: Directory) => Promise<T>): Promise<T> {
  return withConnection(topology.openConfig(url), fn);
}
