import type { UpgradeConfig } from '../config/types.js';
import { RefusedError, errorMessage } from '../errors.js';
import { Directory } from '../ldap/directory.js';
import type { ServerAdapter } from '../servers/adapter.js';
import { adapterFor, detectServer, type ServerIdentity } from '../servers/detect.js';
import type { EventSink } from './events.js';
import { StateStore } from './state-store.js';

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
  /** Left out of its convergence checks: its own id, when it was read-only before the run (see WriteState.ownId). */
  ownId?: string;
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
  store: StateStore;
  /** Opens a cn=config connection to a server (closed by the caller). */
  openConfig(url: string): Promise<Directory>;
  openData(url: string): Promise<Directory>;
  close(): Promise<void>;
}

/** `host:port` of a URL, for comparing servers named in different ways. */
export function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname.toLowerCase()}:${u.port || (u.protocol === 'ldaps:' ? '636' : '389')}`;
}

/**
 * Binds to the master (failure: exit 3), detects or checks the server kind, finds the replicas
 * (configured or discovered) and binds to each. A replica that cannot be reached is kept with its
 * error: preflight decides what that means.
 */
export async function openTopology(config: UpgradeConfig, credentials: Credentials, events: EventSink): Promise<Topology> {
  const connect = (url: string, dn: string, password: string) =>
    Directory.open({ url, bindDn: dn, password, tls: config.tls });
  const openData = (url: string) => connect(url, config.bind.dn, credentials.bindPassword);
  const openConfig = (url: string) => connect(url, config.configBind.dn, credentials.configPassword);

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
      const cfg = await openConfig(config.master.url);
      try {
        urls = await adapter.discoverReplicas(cfg, config.suffix);
      } finally {
        await cfg.close();
      }
      const self = hostPort(config.master.url);
      urls = [...new Set(urls)].filter((u) => hostPort(u) !== self);
      events({ type: 'info', message: `replicas discovered from the master: ${urls.join(', ') || 'none'}` });
    }
    await Promise.all(urls.map(async (url) => {
      const entry: ReplicaConnection = { url };
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
    return {
      config, credentials, master, identity, adapter, replicas, discovered,
      store: new StateStore(master, config.versionEntry),
      openConfig, openData,
      close: async () => {
        await Promise.all([master.close(), ...replicas.map((r) => r.data?.close())]);
      },
    };
  } catch (err) {
    await Promise.all([master.close(), ...replicas.map((r) => r.data?.close())]);
    throw err;
  }
}

export function requireReachable(topology: Topology): void {
  const dead = topology.replicas.filter((r) => !r.data);
  if (dead.length > 0) {
    throw new RefusedError(`preflight: replica ${dead.map((r) => `${r.url} unreachable (${r.error})`).join('; ')}`);
  }
}

