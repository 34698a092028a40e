import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import semver from 'semver';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { parseDuration } from './values.js';
import { ConfigError } from '../errors.js';
import { DEFAULT_SCRIPT_TIMEOUT_S, DEFAULT_WRITE_CONCURRENCY, type BindSettings, type ReplicaSettings, type ConfigOverrides, type ServerKindSetting, type UpgradeConfig } from './types.js';

export const DEFAULT_CONFIG_FILE = 'ldap-upgrade.yaml';

/** Which file to read: `--config FILE`, else ./ldap-upgrade.yaml, else $LDAP_UPGRADE_CONFIG (README "Configuration"). */
export function locateConfig(flag: string | undefined, env = process.env): string | undefined {
  if (flag) {
    if (!existsSync(flag)) throw new ConfigError(`${flag}: configuration file not found`);
    return resolve(flag);
  }
  if (existsSync(DEFAULT_CONFIG_FILE)) return resolve(DEFAULT_CONFIG_FILE);
  const fromEnv = env.LDAP_UPGRADE_CONFIG;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new ConfigError(`${fromEnv} (from $LDAP_UPGRADE_CONFIG): configuration file not found`);
    return resolve(fromEnv);
  }
  return undefined;
}

const KNOWN_KEYS: Record<string, string[] | null> = {
  server: null, suffix: null, master: ['url'], replicas: null, bind: ['dn', 'passwordFile'],
  configBind: ['dn', 'passwordFile'], tls: ['startTLS', 'caFile', 'insecure'], versionEntry: null,
  baselineVersion: null, target: null, scripts: null, replication: ['timeout', 'pollInterval'],
  backupDir: null, logDir: null, writeConcurrency: null, scriptTimeout: null, keepJournals: null,
};

/** Reads, validates and resolves the configuration; flags override file keys. */
export function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): UpgradeConfig {
  const reader = file ? ConfigReader.fromFile(file) : ConfigReader.empty();
  return reader.resolve(overrides);
}

/** Reads one YAML document and reports problems as `file:line:col: key: problem`. */
class ConfigReader {
  private constructor(
    private readonly file: string | undefined,
    private readonly doc: Document | undefined,
    private readonly lines: LineCounter,
    private readonly source = '',
  ) {}

  static empty(): ConfigReader {
    return new ConfigReader(undefined, undefined, new LineCounter());
  }

  static fromFile(file: string): ConfigReader {
    const lines = new LineCounter();
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const reader = new ConfigReader(file, doc, lines, text);
    const syntax = doc.errors[0];
    if (syntax) {
      const pos = lines.linePos(syntax.pos[0]);
      throw new ConfigError(`${basename(file)}:${pos.line}:${pos.col}: ${syntax.message.split('\n')[0]}`);
    }
    if (doc.contents !== null && !isMap(doc.contents)) reader.fail([], 'the file must be a mapping of keys (see the example in the README)');
    reader.checkKeys();
    return reader;
  }

  resolve(o: ConfigOverrides): UpgradeConfig {
    const base = this.file ? dirname(this.file) : process.cwd();
    const path = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
    const suffix = o.suffix ?? this.string(['suffix']);
    if (!suffix) this.fail(['suffix'], 'required: the replicated naming context to upgrade, e.g. dc=example,dc=com');
    const masterUrl = o.master ?? this.string(['master', 'url']);
    if (!masterUrl) this.fail(['master', 'url'], 'required: the URL of the master, e.g. ldap://ldap1.example.com:389');
    this.checkUrl(['master', 'url'], masterUrl!);
    const listed = o.replicas?.map((url) => ({ url })) ?? this.replicas();
    const replicas = listed === 'discover' ? undefined : listed;
    const discovery = listed === 'discover' ? 'accepted' as const : listed ? 'configured' as const : 'default' as const;
    o.replicas?.forEach((url, i) => this.checkUrl(['replicas', i, 'url'], url));
    const server = (o.server ?? this.string(['server']) ?? 'auto') as ServerKindSetting;
    if (!['openldap', '389ds', 'auto'].includes(server)) this.fail(['server'], `must be openldap, 389ds or auto, not ${server}`);
    const bindDn = o.bindDn ?? this.string(['bind', 'dn']);
    if (!bindDn) this.fail(['bind', 'dn'], 'required: the DN to bind as, e.g. cn=Directory Manager');
    const bindFile = this.string(['bind', 'passwordFile']);
    const bind: BindSettings = { dn: bindDn!, passwordFile: bindFile ? path(bindFile) : undefined };
    const configDn = o.configBindDn ?? this.string(['configBind', 'dn']);
    const configFile = this.string(['configBind', 'passwordFile']);
    const separateConfigBind = configDn !== undefined || configFile !== undefined;
    const configBind: BindSettings = separateConfigBind
      ? { dn: configDn ?? bind.dn, passwordFile: configFile ? path(configFile) : undefined }
      : bind;
    const caFile = o.caFile ? resolve(o.caFile) : this.string(['tls', 'caFile']);
    const baselineVersion = o.baseline ?? this.version(['baselineVersion']) ?? '0.0.0';
    const target = o.target ?? this.version(['target']);
    for (const [key, v] of [['baselineVersion', baselineVersion], ['target', target]] as const) {
      if (v !== undefined && !semver.valid(v)) this.fail([key], `not a semantic version (major.minor.patch): ${v}`);
    }
    const timeout = o.timeout ?? this.number(['replication', 'timeout']) ?? 300;
    const pollInterval = o.pollInterval ?? this.number(['replication', 'pollInterval']) ?? 0.2;
    const writeConcurrency = o.writeConcurrency ?? this.count(['writeConcurrency']) ?? DEFAULT_WRITE_CONCURRENCY;
    if (!Number.isInteger(writeConcurrency) || writeConcurrency < 1 || writeConcurrency > 256) {
      this.fail(['writeConcurrency'], `must be a whole number from 1 to 256, not ${writeConcurrency}`);
    }
    const keepJournals = o.keepJournals ?? this.count(['keepJournals'], 0, 10_000) ?? 10;
    if (!Number.isInteger(keepJournals) || keepJournals < 0 || keepJournals > 10_000) {
      this.fail(['keepJournals'], `must be a whole number from 0 to 10000, not ${keepJournals}`);
    }
    return {
      file: this.file,
      server,
      suffix: suffix!,
      master: { url: masterUrl! },
      replicas,
      discovery,
      bind,
      configBind,
      separateConfigBind,
      tls: {
        startTLS: o.startTls ?? this.boolean(['tls', 'startTLS']) ?? false,
        caFile: caFile ? path(caFile) : undefined,
        insecure: o.tlsInsecure ?? this.boolean(['tls', 'insecure']) ?? false,
      },
      versionEntry: o.versionEntry ?? this.string(['versionEntry']) ?? `cn=schema-version,${suffix}`,
      baselineVersion,
      target,
      // Paths from flags are relative to the working directory; from the file, to the file.
      scripts: o.scripts ? resolve(o.scripts) : path(this.string(['scripts']) ?? './upgrade-scripts'),
      replication: { timeout, pollInterval },
      scriptTimeout: o.scriptTimeout ?? this.number(['scriptTimeout']) ?? DEFAULT_SCRIPT_TIMEOUT_S,
      writeConcurrency,
      backupDir: o.backupDir ? resolve(o.backupDir) : path(this.string(['backupDir']) ?? './backups'),
      keepJournals,
      logDir: o.logDir ? resolve(o.logDir) : path(this.string(['logDir']) ?? './logs'),
    };
  }

  private checkKeys(): void {
    const root = this.doc?.contents;
    if (!isMap(root)) return;
    for (const pair of root.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      // Own keys only: `__proto__`, `constructor` and the like are unknown keys, not Object's.
      if (!Object.hasOwn(KNOWN_KEYS, key)) this.fail([key], `unknown key (known: ${Object.keys(KNOWN_KEYS).join(', ')})`);
      const sub = KNOWN_KEYS[key];
      if (sub && pair.value !== null) {
        if (!isMap(pair.value)) this.fail([key], `must be a mapping with ${sub.join(', ')}`);
        for (const p of (pair.value as { items: { key: unknown }[] }).items) {
          const k = String(isScalar(p.key) ? p.key.value : p.key);
          if (!sub.includes(k)) this.fail([key, k], `unknown key (known: ${sub.join(', ')})`);
        }
      }
    }
  }

  private replicas(): ReplicaSettings[] | 'discover' | undefined {
    const node = this.doc?.getIn(['replicas'], true);
    if (node === undefined || node === null) return undefined;
    if (isScalar(node) && node.value === 'discover') return 'discover';
    if (!isSeq(node)) this.fail(['replicas'], 'must be a list of { url: ... }, or the word discover (find them from the master, accepting that OpenLDAP consumers cannot be found)');
    return (node as { items: unknown[] }).items.map((_, i) => {
      const item = this.doc?.getIn(['replicas', i], true);
      if (!isMap(item)) this.fail(['replicas', i], 'each replica is a mapping with url (and optionally ignoreAttributes)');
      for (const p of (item as { items: { key: unknown }[] }).items) {
        const k = String(isScalar(p.key) ? p.key.value : p.key);
        if (k !== 'url' && k !== 'ignoreAttributes') this.fail(['replicas', i, k], 'unknown key (known: url, ignoreAttributes)');
      }
      const url = this.string(['replicas', i, 'url']);
      if (!url) this.fail(['replicas', i], 'each replica needs a url');
      this.checkUrl(['replicas', i, 'url'], url!);
      const ignored = this.doc?.getIn(['replicas', i, 'ignoreAttributes'], true);
      if (ignored === undefined || ignored === null) return { url: url! };
      if (!isSeq(ignored)) this.fail(['replicas', i, 'ignoreAttributes'], 'must be a list of attribute names');
      const names = (ignored as { items: unknown[] }).items.map((_, j) => {
        const name = this.string(['replicas', i, 'ignoreAttributes', j]);
        if (!name || !/^[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*$/.test(name)) this.fail(['replicas', i, 'ignoreAttributes', j], `not an attribute name: ${JSON.stringify(name)}`);
        return name!;
      });
      return { url: url!, ignoreAttributes: names };
    });
  }

  private checkUrl(path: (string | number)[], url: string): void {
    let ok = false;
    try {
      const u = new URL(url);
      ok = (u.protocol === 'ldap:' || u.protocol === 'ldaps:') && u.hostname !== '';
    } catch { /* reported below */ }
    if (!ok) this.fail(path, 'not an ldap:// or ldaps:// URL');
  }

  private value(path: (string | number)[]): unknown {
    return this.doc?.getIn(path);
  }

  private string(path: (string | number)[]): string | undefined {
    const v = this.value(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(path, `must be a string, not ${JSON.stringify(v)}`);
    return v as string;
  }

  /** Seconds: a positive number, or a string with a unit (`90s`, `5m`, `200ms`). */
  private number(path: (string | number)[]): number | undefined {
    const v = this.value(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') {
      try {
        return parseDuration(String(path[path.length - 1]), v);
      } catch {
        this.fail(path, `must be a duration (seconds, or a number with s, m, h or ms, e.g. 300, 90s, 5m), not ${JSON.stringify(v)}`);
      }
    }
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) this.fail(path, `must be a positive number of seconds, not ${JSON.stringify(v)}`);
    return v as number;
  }

  private count(path: (string | number)[], min = 1, max = 256): number | undefined {
    const v = this.value(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(path, `must be a whole number from ${min} to ${max}, not ${JSON.stringify(v)}`);
    return v as number;
  }

  private boolean(path: (string | number)[]): boolean | undefined {
    const v = this.value(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.fail(path, `must be true or false, not ${JSON.stringify(v)}`);
    return v as boolean;
  }

  /** Versions must be YAML strings: `2.10` unquoted is the number 2.1. */
  private version(path: (string | number)[]): string | undefined {
    const v = this.value(path);
    if (typeof v === 'number') {
      const node = this.doc?.getIn(path, true) as { source?: string } | undefined;
      const written = isScalar(node) && node.source ? node.source : String(v);
      this.fail(path, `versions must be strings: the YAML number ${written} reads as ${v}; quote it, e.g. "${written}"`);
    }
    return this.string(path);
  }

  private fail(path: (string | number)[], problem: string): never {
    const key = path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
    if (!this.file) throw new ConfigError(`${key || 'configuration'}: ${problem}${key ? ' (no configuration file: give it with a flag, or create ldap-upgrade.yaml)' : ''}`);
    let where = '1:1';
    for (let i = path.length; i >= 0 && this.doc; i--) {
      const node = i === 0 ? this.doc.contents : (this.doc.getIn(path.slice(0, i), true) as unknown);
      const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
      if (range) {
        const pos = this.keyOffset(path.slice(0, i)) ?? range[0];
        where = this.position(pos);
        break;
      }
    }
    throw new ConfigError(`${basename(this.file)}:${where}: ${key}: ${problem}`);
  }

  /** `line:col` of an offset; an entry of a block list points at its dash, as an editor would show it. */
  private position(offset: number): string {
    const { line, col } = this.lines.linePos(offset);
    const lineStart = this.lines.lineStarts[line - 1] ?? 0;
    const before = this.source.slice(lineStart, lineStart + col - 1);
    const dash = /^(\s*)-\s+$/.exec(before);
    return `${line}:${dash ? dash[1]!.length + 1 : col}`;
  }

  /** The position of the key itself for a map entry (so the error points at `url:`, not its value). */
  private keyOffset(path: (string | number)[]): number | undefined {
    if (path.length === 0 || !this.doc) return undefined;
    const last = path[path.length - 1];
    if (typeof last !== 'string') return undefined;
    const parent = path.length === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true);
    if (!isMap(parent)) return undefined;
    const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
    return pair && isScalar(pair.key) ? pair.key.range?.[0] : undefined;
  }
}
