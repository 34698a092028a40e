import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';
import { withCommonOptions, type CommonArgs } from '../common.js';
import { durationOption } from '../../config/values.js';

interface Args extends CommonArgs {
  runId: string;
  force?: boolean;
  yes?: boolean;
  timeout?: number;
}

export const undoCommand: CommandModule<object, Args> = {
  command: 'undo <runId>',
  describe: 'Undo a completed run from its journal: freeze, undo what no one changed since, set the version back, converge, unfreeze',
  builder: (y) => withCommonOptions(y)
    .positional('runId', { type: 'string', describe: 'the run to undo (`ldap-upgrade history` lists the runs that can be undone)' })
    .option('force', { type: 'boolean', describe: 'undo a completed run that is not the latest (later runs and the stored version stay)' })
    .option('yes', { type: 'boolean', alias: 'y', describe: 'do not ask for confirmation' })
    .option('timeout', { type: 'string', coerce: durationOption('timeout'), describe: 'how long to wait for every replica to hold the undo: seconds, or 90s, 5m (default: replication.timeout)' })
    .example('$0 undo 20261121T235959Z-a1b2c3', 'undo the latest completed run') as never,
  handler: async (argv) => {
    const { openSession, withTopology } = await import('../session.js');
    const session = openSession(argv, 'undo');
    if (!argv.yes && !(await import('../prompt.js')).canPrompt()) {
      throw new UsageError('undo writes to the directory: add --yes (there is no terminal to confirm on)');
    }
    await withTopology(session, argv, async (topology) => {
      const { undoRun } = await import('../../run/undo-run.js');
      const { RunOutput } = await import('../run-output.js');
      const output = new RunOutput(session);
      // An undo stopped half-way leaves a mix of both versions: the first Ctrl-C (or SIGTERM) says
      // so and lets it finish; a second one ends the process (then `recover` finishes the undo).
      let signalled = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (signalled) process.exit(signal === 'SIGTERM' ? 143 : 130);
        signalled = true;
        process.stderr.write(`ldap-upgrade: ${signal}: the undo goes on to its end (stopping half-way would leave a mix of both versions); ${signal === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again ends it now, and \`ldap-upgrade recover\` then finishes it\n`);
      };
      process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
      const report = await undoRun(topology, {
        runId: argv.runId, force: argv.force,
        confirm: argv.yes ? undefined : async (target, latest) => {
          const { confirm } = await import('../prompt.js');
          return confirm(`Undo run ${target.runId} (${target.fromVersion} → ${target.toVersion}, ${target.steps.length} script(s)), freezing ${topology.replicas.length} replica(s)${latest ? `; the version goes back to ${target.storedBefore ?? 'none'}` : '; it is not the latest completed run: the stored version stays'}. Continue?`);
        },
      }, output.events).finally(() => process.off('SIGINT', onSignal).off('SIGTERM', onSignal));
      output.finish(report, argv.outcome);
    });
  },
};
