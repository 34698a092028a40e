import type { TlsSettings } from '../ldap/tls.js';

/** How long one script may run by default, in seconds (config `scriptTimeout`, flag `--script-timeout`). */
export const DEFAULT_SCRIPT_TIMEOUT_S = 3600;

/** Writes in flight on the master connection by default. */
export const DEFAULT_WRITE_CONCURRENCY = 64;

export type ServerKindSetting = 'openldap' | '389ds' | 'auto';

export interface BindSettings {
  dn: string;
  /** Absolute path of the password file, if configured. */
  passwordFile?: string;
}

export interface ReplicaSettings {
  url: string;
  /**
   * Attributes this replica does not receive (a fractional replica, OpenLDAP `exattrs=`, 389 DS
   * `nsDS5ReplicatedAttributeList`): left out when its entries are compared with the master's.
   */
  ignoreAttributes?: string[];
}

/** The resolved configuration (README "Configuration"): every default applied, every path absolute. */
export interface UpgradeConfig {
  /** The configuration file it came from, if any. */
  file?: string;
  server: ServerKindSetting;
  suffix: string;
  master: { url: string };
  /**
   * The replicas as configured. Undefined: discover them from the master's replication
   * configuration (refused by `upgrade` on OpenLDAP unless `discovery` is `accepted`: read-only
   * consumers that pull from a provider cannot be found from it).
   */
  replicas?: ReplicaSettings[];
  /**
   * How the replica list came about: `configured` (a `replicas:` list), `default` (no list:
   * discovered), `accepted` (`replicas: discover`: discovered, and the administrator accepts
   * that consumers pulling from an OpenLDAP master cannot be found).
   */
  discovery: 'configured' | 'default' | 'accepted';
  bind: BindSettings;
  /** Credentials for cn=config changes (freeze); the same as `bind` unless configured. */
  configBind: BindSettings;
  /** Whether `configBind` was configured separately (its password is then asked separately). */
  separateConfigBind: boolean;
  tls: TlsSettings;
  versionEntry: string;
  baselineVersion: string;
  target?: string;
  scripts: string;
  replication: { timeout: number; pollInterval: number };
  /** Seconds one script may run before it counts as failed (default 3600). */
  scriptTimeout: number;
  /** Writes in flight on the master connection during a run (docs/internals.md "Scale and speed"). */
  writeConcurrency: number;
  backupDir: string;
  /** How many completed runs keep their journal, newest first, for `undo` (default 10; 0: none kept). */
  keepJournals: number;
  logDir: string;
}

/** Command-line overrides of configuration keys (every key can be overridden by a flag: README "Configuration"). */
export interface ConfigOverrides {
  server?: string;
  suffix?: string;
  master?: string;
  replicas?: string[];
  bindDn?: string;
  configBindDn?: string;
  caFile?: string;
  startTls?: boolean;
  tlsInsecure?: boolean;
  versionEntry?: string;
  baseline?: string;
  target?: string;
  scripts?: string;
  timeout?: number;
  pollInterval?: number;
  scriptTimeout?: number;
  writeConcurrency?: number;
  backupDir?: string;
  keepJournals?: number;
  logDir?: string;
}
