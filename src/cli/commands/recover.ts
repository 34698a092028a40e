import type { CommandModule } from 'yargs';
import { withCommonOptions, type CommonArgs } from '../common.js';
import { durationOption } from '../../config/values.js';

interface Args extends CommonArgs {
  rollback?: boolean;
  force?: boolean;
  timeout?: number;
}

export const recoverCommand: CommandModule<object, Args> = {
  command: 'recover',
  describe: 'After a crash: unfreeze the replicas an interrupted run froze and release its lock',
  builder: (y) => withCommonOptions(y)
    .option('rollback', { type: 'boolean', describe: "first undo the interrupted run's changes from its journal" })
    .option('force', { type: 'boolean', describe: 'recover although the run may still be alive (its lease has not expired)' })
    .option('timeout', { type: 'string', coerce: durationOption('timeout'), describe: 'how long to wait for the rollback to converge: seconds, or 90s, 5m' }) as never,
  handler: async (argv) => {
    const { openSession, withTopology } = await import('../session.js');
    const { recover } = await import('../../run/recover.js');
    const { formatRecover } = await import('../format/run.js');
    const session = openSession(argv, 'recover');
    await withTopology(session, argv, async (topology) => {
      const report = await recover(topology, { rollback: argv.rollback, force: argv.force }, session.events);
      session.print(report, () => formatRecover(report));
      if (report.error) process.stderr.write(`ldap-upgrade: ${(await import('../output.js')).terminalSafe(report.error)}\n`);
      argv.outcome.finish({ kind: 'recover', report });
    });
  },
};
