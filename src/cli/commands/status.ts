import type { CommandModule } from 'yargs';
import { withCommonOptions, type CommonArgs } from '../common.js';

interface Args extends CommonArgs {
  check?: boolean;
}

export const statusCommand: CommandModule<object, Args> = {
  command: 'status',
  describe: 'Stored version, pending scripts, lock, and each replica: reachable, frozen, converged',
  builder: (y) => withCommonOptions(y).example('$0 status', 'version, pending scripts, lock, replicas').example('$0 status --check', 'for monitoring: exit 10 when an upgrade is pending').option('check', { type: 'boolean', describe: 'exit 10 when an upgrade is pending, 0 when up to date (8 when a run was interrupted: recover first; 7 when no plan can be made or a record under the version entry is untrusted)' }) as never,
  handler: async (argv) => {
    const { openSession, withTopology } = await import('../session.js');
    const { readStatus } = await import('../../inspect/status.js');
    const { formatStatus } = await import('../format/status.js');
    const session = openSession(argv, 'status');
    await withTopology(session, argv, async (topology) => {
      const report = await readStatus(topology);
      session.print(report, () => formatStatus(report));
      argv.outcome.finish({ kind: 'status', report, check: argv.check === true });
    });
  },
};
