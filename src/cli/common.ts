import type { Argv } from 'yargs';
import { durationOption, integerOption } from '../config/values.js';
import type { CommandOutcome } from './exit.js';

/** Flags every directory command takes: the configuration file and key overrides (README "Configuration"). */
export interface CommonArgs {
  /** This invocation's outcome (from main's parse context, not a flag). */
  outcome: CommandOutcome;
  config?: string;
  json?: boolean;
  'password-file'?: string;
  'config-password-file'?: string;
  server?: string;
  suffix?: string;
  master?: string;
  replica?: string[];
  'bind-dn'?: string;
  'config-bind-dn'?: string;
  'ca-file'?: string;
  'start-tls'?: boolean;
  'tls-insecure'?: boolean;
  'version-entry'?: string;
  baseline?: string;
  scripts?: string;
  'poll-interval'?: number;
  'script-timeout'?: number;
  'write-concurrency'?: number;
  'keep-journals'?: number;
  'backup-dir'?: string;
  'log-dir'?: string;
}

export function withCommonOptions<T>(y: Argv<T>): Argv<T & CommonArgs> {
  return y
    .option('config', { type: 'string', describe: 'configuration file (default ./ldap-upgrade.yaml, else $LDAP_UPGRADE_CONFIG)' })
    .option('json', { type: 'boolean', describe: 'print one JSON document (no progress on stderr)' })
    .option('password-file', { type: 'string', describe: 'file holding the bind password (else $LDAP_UPGRADE_PASSWORD, the configured file, a prompt)' })
    .option('config-password-file', { type: 'string', describe: 'file holding the cn=config password (else $LDAP_UPGRADE_CONFIG_PASSWORD, configBind.passwordFile, a prompt)' })
    .option('server', { type: 'string', choices: ['openldap', '389ds', 'auto'], describe: 'override: server kind' })
    .option('suffix', { type: 'string', describe: 'override: the replicated naming context' })
    .option('master', { type: 'string', describe: 'override: master URL' })
    .option('replica', { type: 'string', array: true, describe: 'override: replica URL (repeatable)' })
    .option('bind-dn', { type: 'string', describe: 'override: bind DN' })
    .option('config-bind-dn', { type: 'string', describe: 'override: DN for cn=config changes' })
    .option('ca-file', { type: 'string', describe: 'override: CA certificates file' })
    .option('start-tls', { type: 'boolean', describe: 'override: use StartTLS' })
    .option('tls-insecure', { type: 'boolean', describe: 'override: do NOT verify server certificates (explicit opt-out)' })
    .option('version-entry', { type: 'string', describe: 'override: DN of the version entry' })
    .option('baseline', { type: 'string', describe: 'override: version assumed when none is stored' })
    .option('scripts', { type: 'string', describe: 'override: upgrade scripts folder' })
    .option('poll-interval', { type: 'string', coerce: durationOption('poll-interval'), describe: 'override: convergence poll interval, seconds or 200ms (a moving replica is polled 4x as often)' })
    .option('script-timeout', { type: 'string', coerce: durationOption('script-timeout'), describe: 'override: how long one script may run before it counts as failed (default 1h; e.g. 90s, 30m)' })
    .option('keep-journals', { type: 'string', coerce: integerOption('keep-journals', 0, 10000), describe: 'override: how many completed runs keep their journal for `undo` (default 10)' })
    .option('write-concurrency', { type: 'string', coerce: integerOption('write-concurrency', 1, 256), describe: 'override: writes in flight on the master during a run (1-256, default 64)' })
    .option('backup-dir', { type: 'string', describe: 'override: folder for journals and backups' })
    .option('log-dir', { type: 'string', describe: 'override: folder for run logs (read-only commands: write a log there)' })
    // The command's own options first: the default group is made before the shared ones.
    .group([], 'Options:')
    .group(['config', 'password-file', 'config-password-file', 'json'], 'Configuration, passwords, output:')
    .group(['server', 'suffix', 'master', 'replica', 'bind-dn', 'config-bind-dn', 'ca-file', 'start-tls', 'tls-insecure', 'version-entry', 'baseline', 'scripts',
      'poll-interval', 'script-timeout', 'write-concurrency', 'keep-journals', 'backup-dir', 'log-dir'], 'Overrides of ldap-upgrade.yaml keys:')
    .epilog(EXIT_CODES) as Argv<T & CommonArgs>;
}

/** The exit codes, at the foot of every command's help. */
export const EXIT_CODES = `Exit codes:
  0   done, or nothing to do           6   replicas did not converge in time
  1   internal error (a bug)           7   refused: preflight, downgrade, tag, scripts drifted
  2   usage, configuration, scripts    8   an interrupted run (recover), or a replica left frozen
  3   connection, TLS, bind, password  9   verify: the replicas differ
  4   locked by another run (or lost)  10  status --check: an upgrade is pending
  5   a script failed (rolled back)    130 cancelled (Ctrl-C or "n" at a prompt, SIGINT)
                                       143 SIGTERM during a run (rolled back)`;
