import type { CommandModule } from 'yargs';
import { FORMAT_VERSION } from '../../core/reports.js';
import { withCommonOptions, type CommonArgs } from '../common.js';

export const historyCommand: CommandModule<object, CommonArgs> = {
  command: 'history',
  describe: 'Applied scripts, newest first',
  builder: (y) => withCommonOptions(y) as never,
  handler: async (argv) => {
    const { openSession, withTopology } = await import('../session.js');
    const session = openSession(argv, 'history');
    await withTopology(session, argv, async (topology) => {
      const history = await topology.store.readHistory();
      const { version } = await topology.store.readVersion();
      session.print({ kind: 'history', formatVersion: FORMAT_VERSION, storedVersion: version, history }, () =>
        history.length === 0 ? 'no script has been applied\n' : history.map((h) =>
          `${h.appliedAt}  ${h.script.padEnd(40)} ${String(h.entriesChanged).padStart(7)} entr${h.entriesChanged === 1 ? 'y  ' : 'ies'}  ${h.durationMs} ms  run ${h.runId}  by ${h.appliedBy}`).join('\n') + '\n');
    });
  },
};
