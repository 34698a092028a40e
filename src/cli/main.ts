#!/usr/bin/env node
import yargs, { hideBin } from '../vendor/yargs.js';
import { backupCommand } from './commands/backup.js';
import { historyCommand } from './commands/history.js';
import { infoCommand } from './commands/info.js';
import { newCommand } from './commands/new.js';
import { recoverCommand } from './commands/recover.js';
import { sandboxCommand } from './commands/sandbox.js';
import { statusCommand } from './commands/status.js';
import { upgradeCommand } from './commands/upgrade.js';
import { undoCommand } from './commands/undo.js';
import { validateCommand } from './commands/validate.js';
import { verifyCommand } from './commands/verify.js';
import { CommandLineError, ExitCode } from '../errors.js';
import { CommandOutcome, errorDocument, exitCodeFor, messageFor } from './exit.js';
import { currentLog } from './run-log.js';
import { EXIT_CODES } from './common.js';
import { terminalSafe } from './output.js';

const EPILOG = `${EXIT_CODES}
Durations: seconds, or with a unit: 90s, 5m, 1h. With --json, errors are JSON (kind error) too.
Passwords: --password-file FILE, $LDAP_UPGRADE_PASSWORD, the configured passwordFile, a prompt.`;

const COMMANDS = ['status', 'upgrade', 'recover', 'undo', 'history', 'info', 'validate', 'verify', 'backup', 'new', 'sandbox'];

/** Runs the CLI; returns the exit code (never calls process.exit itself, so tests can call it). */
export async function main(args: string[]): Promise<number> {
  let failed: unknown;
  const outcome = new CommandOutcome();
  const first = args.find((a) => !a.startsWith('-'));
  if (first !== undefined && !COMMANDS.includes(first) && args.indexOf(first) === 0) {
    process.stderr.write(`ldap-upgrade: unknown command: ${first} (commands: ${COMMANDS.join(', ')})\nRun \`ldap-upgrade --help\` for usage.\n`);
    return ExitCode.usage;
  }
  const parser = yargs(args)
    .scriptName('ldap-upgrade')
    .usage('$0 <command> [options]\n\nUpgrade the data and schema of a replicated LDAP directory (OpenLDAP, 389 DS).')
    .command(statusCommand)
    .command(upgradeCommand)
    .command(recoverCommand)
    .command(undoCommand)
    .command(historyCommand)
    .command(infoCommand)
    .command(validateCommand)
    .command(verifyCommand)
    .command(backupCommand)
    .command(newCommand)
    .command(sandboxCommand)
    .demandCommand(1, 'name a command')
    .strict()
    .epilog(EPILOG)
    .wrap(Math.min(110, process.stdout.columns || 100))
    // Must throw: a fail handler that returns lets yargs run the command anyway (a typo'd flag
    // would run a real upgrade, then complain).
    .fail((msg, err) => {
      // An option's coerce error arrives re-wrapped by yargs (YError, message kept).
      if (err && err.name === 'YError') throw new UsageFailure(err.message);
      throw err ?? new UsageFailure(msg);
    })
    .help()
    .version();
  try {
    await parser.parseAsync(args, { outcome });
  } catch (err) {
    failed = err;
  }
  if (failed === undefined) {
    currentLog()?.line(`exit ${outcome.code}`);
    return outcome.code;
  }
  const usage = failed instanceof UsageFailure || failed instanceof CommandLineError;
  const code = usage ? ExitCode.usage : exitCodeFor(failed);
  const message = terminalSafe(failed instanceof UsageFailure ? failed.message : messageFor(failed));
  currentLog()?.line(`error: ${message}`);
  currentLog()?.line(`exit ${code}`);
  process.stderr.write(`ldap-upgrade: ${message}\n${usage ? 'Run `ldap-upgrade --help` for usage.\n' : ''}`);
  // --json: the error is a JSON document on stdout too (the flag may be all that parsed).
  if (args.includes('--json') && !outcome.printed) {
    process.stdout.write(JSON.stringify(errorDocument(code, message, failed), null, 2) + '\n');
  }
  return code;
}

class UsageFailure extends Error {
  override name = 'UsageError';
}

// Taken before any upgrade script runs: while one does, process.exit is the script guard's
// (a script calling it fails instead of ending the tool), and an abandoned script may keep it so.
const exit = process.exit.bind(process);
const code = await main(hideBin(process.argv));
process.exitCode = code;
// An interrupted script may still be busy in the background: do not let it keep the process
// alive once the run has been rolled back and reported. Exit after stdout and stderr drained.
process.stdout.write('', () => process.stderr.write('', () => exit(code)));
