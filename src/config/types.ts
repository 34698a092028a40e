import type { TlsSettings } from '../ldap/tls.js';

/** Writes in flight on the master connection by default. */
export const DEFAULT_WRITE_CONCURRENCY = 64;

export type ServerKindSetting = 'openldap' | '389ds' | 'auto';

export interface BindSettings {
  dn: string;
  /** Absolute path of the password file, if configured. */
  passwordFile?: string;
}

/** The resolved configuration (SPEC §3): every default applied, every path absolute. */
export interface UpgradeConfig {
  /** The configuration file it came from, if any. */
  file?: string;
  server: ServerKindSetting;
  suffix: string;
  master: { url: string };
  /** Undefined: discover the replicas from the master's replication configuration. */
  replicas?: { url: string }[];
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
  /** Writes in flight on the master connection during a run (SPEC §9). */
  writeConcurrency: number;
  backupDir: string;
  logDir: string;
}

/** Command-line overrides of configuration keys (SPEC §3: every key can be overridden by a flag). */
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
  writeConcurrency?: number;
  backupDir?: string;
  logDir?: string;
}
