import { loadConfig, locateConfig } from '../config/load.js';
import { resolvePassword } from '../config/password.js';
import type { ConfigOverrides, UpgradeConfig } from '../config/types.js';
import type { EventSink } from '../events.js';
import { openTopology, type Credentials, type Topology } from '../replication/topology.js';
import type { CommonArgs } from './common.js';
import { toJson } from './json-shape.js';
import { terminalSafe } from './output.js';
import { progressSink } from './progress.js';
import { RunLog, setCurrentLog } from './run-log.js';
import { toolVersion } from '../version.js';
import { canPrompt, promptHidden } from './prompt.js';

/** What a command handler works with: configuration, progress sink and output helpers. */
export interface Session {
  config: UpgradeConfig;
  json: boolean;
  events: EventSink;
  log?: RunLog;
  /** Prints the result: JSON with --json, else the human text (the log gets the human text). */
  print(result: unknown, human: () => string): void;
}

export function configOverrides(argv: CommonArgs & { to?: string; timeout?: number }): ConfigOverrides {
  return {
    server: argv.server, suffix: argv.suffix, master: argv.master, replicas: argv.replica, bindDn: argv['bind-dn'],
    configBindDn: argv['config-bind-dn'], caFile: argv['ca-file'], startTls: argv['start-tls'], tlsInsecure: argv['tls-insecure'],
    versionEntry: argv['version-entry'], baseline: argv.baseline, target: argv.to, scripts: argv.scripts,
    timeout: argv.timeout, pollInterval: argv['poll-interval'], scriptTimeout: argv['script-timeout'], writeConcurrency: argv['write-concurrency'], keepJournals: argv['keep-journals'], backupDir: argv['backup-dir'], logDir: argv['log-dir'],
  };
}

/** The commands that change the directory: they always keep a log of the run. */
const WRITING_COMMANDS = ['upgrade', 'recover', 'undo'];

export { toolVersion };

export function openSession(argv: CommonArgs & { to?: string; timeout?: number }, command: string): Session {
  const configFile = locateConfig(argv.config);
  const config = loadConfig(configFile, configOverrides(argv));
  const json = argv.json === true;
  // Runs that write keep a log; read-only commands only when asked (--log-dir on the command line).
  const log = WRITING_COMMANDS.includes(command) || argv['log-dir'] !== undefined
    ? RunLog.open(config.logDir, command, { version: toolVersion(), config: configFile, args: process.argv.slice(2) })
    : undefined;
  setCurrentLog(log);
  const events = progressSink(json ? 'json' : process.stderr.isTTY ? 'tty' : 'plain', log);
  return {
    config, json, events, log,
    print(result, human) {
      argv.outcome.printed = true;
      const text = terminalSafe(human());
      log?.block('report:', text);
      process.stdout.write(json ? toJson(result) : text);
    },
  };
}

/** Passwords in the order of README "Configuration"; the prompt only on a terminal. Never logged. */
export async function resolveCredentials(session: Session, argv: CommonArgs): Promise<Credentials> {
  const { config } = session;
  const warn = (message: string) => session.events({ type: 'warning', message });
  const prompt = canPrompt() ? promptHidden : undefined;
  const bind = await resolvePassword({
    bindDn: config.bind.dn, flagFile: argv['password-file'], envVar: 'LDAP_UPGRADE_PASSWORD',
    configuredFile: config.bind.passwordFile, prompt, warn, check: (password) => bindsOnMaster(config, config.bind.dn, password),
  });
  if (!config.separateConfigBind) return { bindPassword: bind.password, configPassword: bind.password };
  const cfg = await resolvePassword({
    bindDn: config.configBind.dn, flagFile: argv['config-password-file'], envVar: 'LDAP_UPGRADE_CONFIG_PASSWORD',
    configuredFile: config.configBind.passwordFile, prompt, warn, check: (password) => bindsOnMaster(config, config.configBind.dn, password),
  });
  return { bindPassword: bind.password, configPassword: cfg.password };
}

/**
 * Whether the master takes `password` for `dn` (a password typed at the prompt is tried at once,
 * so that a typo is asked again rather than failing the command later). Other failures (the
 * master unreachable, TLS) throw: exit 3 as for any connection.
 */
async function bindsOnMaster(config: UpgradeConfig, dn: string, password: string): Promise<boolean> {
  const { Directory } = await import('../ldap/directory.js');
  const { ConnectionError } = await import('../errors.js');
  try {
    const d = await Directory.open({ url: config.master.url, bindDn: dn, password, tls: config.tls, timeoutMs: 10_000 });
    await d.close();
    return true;
  } catch (err) {
    if (err instanceof ConnectionError && err.ldapCode === 49) return false;
    throw err;
  }
}

/** Resolves the passwords and connects to the whole topology. */
export async function connect(session: Session, argv: CommonArgs): Promise<Topology> {
  const credentials = await resolveCredentials(session, argv);
  return openTopology(session.config, credentials, session.events);
}

/** Connects, runs `fn` with the topology, and closes every connection whatever happens. */
export async function withTopology<T>(session: Session, argv: CommonArgs, fn: (topology: Topology) => Promise<T>): Promise<T> {
  const topology = await connect(session, argv);
  try {
    return await fn(topology);
  } finally {
    await topology.close();
  }
}
