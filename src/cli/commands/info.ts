import type { CommandModule } from 'yargs';
import { FORMAT_VERSION } from '../../report-format.js';
import { errorMessage } from '../../errors.js';
import { withCommonOptions, type CommonArgs } from '../common.js';

export const infoCommand: CommandModule<object, CommonArgs> = {
  command: 'info',
  describe: 'Every script, applied and pending, in one table: version, script, description, state, when, how long, entries',
  builder: (y) => withCommonOptions(y).example('$0 info', 'what ran, what will run, and what drifted').example('$0 info --json', 'the same as one JSON document') as never,
  handler: async (argv) => {
    const { openSession, withTopology } = await import('../session.js');
    const { loadCatalog, loadPlan } = await import('../../plan/load.js');
    const { scriptDrift } = await import('../../plan/drift.js');
    const { scriptInfo } = await import('../../inspect/info.js');
    const { formatInfo } = await import('../format/info.js');
    const session = openSession(argv, 'info');
    await withTopology(session, argv, async (topology) => {
      const { store, config } = topology;
      const stored = await store.readVersion();
      let planRefusal: string | null = null;
      let loaded: Awaited<ReturnType<typeof loadPlan>> | undefined;
      try {
        loaded = await loadPlan(config, store, {});
      } catch (err) {
        planRefusal = errorMessage(err);
      }
      const catalog = loaded?.catalog ?? await loadCatalog(config);
      const history = loaded?.history ?? (stored.exists ? await store.readHistory() : []);
      const runs = loaded?.runs ?? (stored.exists ? await store.readRuns() : []);
      const drift = loaded?.drift ?? scriptDrift(catalog, history, runs);
      const scripts = scriptInfo(catalog, history, runs, loaded?.plan, drift);
      const { undoableNow } = await import('../../run/journal-retention.js');
      const report = {
        kind: 'info', formatVersion: FORMAT_VERSION, storedVersion: stored.version ?? null, baselineVersion: config.baselineVersion,
        targetVersion: loaded?.plan.toVersion ?? null, planRefusal, scripts, undoable: undoableNow(runs, config.backupDir, config.keepJournals),
      };
      session.print(report, () => formatInfo(report));
    });
  },
};
