import type { CommandModule } from 'yargs';
import { FORMAT_VERSION } from '../../report-format.js';
import { withCommonOptions, type CommonArgs } from '../common.js';

export const historyCommand: CommandModule<object, CommonArgs> = {
  command: 'history',
  describe: 'Applied scripts, newest first (those of undone runs marked), the runs that can be undone, and the runs that failed, were rolled back or were interrupted',
  builder: (y) => withCommonOptions(y) as never,
  handler: async (argv) => {
    const { openSession, withTopology } = await import('../session.js');
    const { formatHistory } = await import('../format/history.js');
    const session = openSession(argv, 'history');
    await withTopology(session, argv, async (topology) => {
      const { version, exists } = await topology.store.readVersion();
      const history = exists ? await topology.store.readHistory() : [];
      const runs = exists ? await topology.store.readRuns() : [];
      const { newestFirst, undoableNow } = await import('../../run/journal-retention.js');
      // The latest completed run is undone plainly; the older ones with --force (newest first).
      const undoable = new Map(undoableNow(runs, topology.config.backupDir, topology.config.keepJournals).map((r) => [r.runId, r]));
      runs.sort(newestFirst);
      const report = {
        kind: 'history', formatVersion: FORMAT_VERSION, storedVersion: version ?? null, history,
        runs: runs.map((r) => ({
          runId: r.runId, state: r.state, fromVersion: r.fromVersion, toVersion: r.toVersion, startedAt: r.startedAt, updatedAt: r.updatedAt,
          host: r.host, scripts: r.steps.length, completed: r.completed, error: r.error ?? null,
          plan: r.plan ?? null, undoes: r.undoes ?? null, undoneBy: r.undoneBy ?? null, undoable: undoable.has(r.runId), undoNeedsForce: undoable.get(r.runId)?.needsForce ?? false,
        })),
      };
      session.print(report, () => formatHistory(report));
    });
  },
};
