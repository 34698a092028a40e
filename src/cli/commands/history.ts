import type { CommandModule } from 'yargs';
import { FORMAT_VERSION } from '../../report-format.js';
import { withCommonOptions, type CommonArgs } from '../common.js';

export const historyCommand: CommandModule<object, CommonArgs> = {
  command: 'history',
  describe: 'Applied scripts, newest first, and the runs that failed, were rolled back or were interrupted',
  builder: (y) => withCommonOptions(y) as never,
  handler: async (argv) => {
    const { openSession, withTopology } = await import('../session.js');
    const { formatHistory } = await import('../format/history.js');
    const session = openSession(argv, 'history');
    await withTopology(session, argv, async (topology) => {
      const { version, exists } = await topology.store.readVersion();
      const history = exists ? await topology.store.readHistory() : [];
      const runs = exists ? await topology.store.readRuns() : [];
      const report = {
        kind: 'history', formatVersion: FORMAT_VERSION, storedVersion: version ?? null, history,
        runs: runs.map((r) => ({
          runId: r.runId, state: r.state, fromVersion: r.fromVersion, toVersion: r.toVersion, startedAt: r.startedAt, updatedAt: r.updatedAt,
          host: r.host, scripts: r.steps.length, completed: r.completed, error: r.error ?? null,
        })),
      };
      session.print(report, () => formatHistory(report));
    });
  },
};
