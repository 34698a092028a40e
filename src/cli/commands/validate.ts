import type { CommandModule } from 'yargs';
import { FORMAT_VERSION } from '../../core/reports.js';
import { errorMessage } from '../../errors.js';
import { withCommonOptions, type CommonArgs } from '../common.js';

interface Args extends CommonArgs {
  offline?: boolean;
}

export const validateCommand: CommandModule<object, Args> = {
  command: 'validate',
  describe: 'Check the scripts parse, versions are valid, and applied scripts are unchanged',
  builder: (y) => withCommonOptions(y).option('offline', { type: 'boolean', describe: 'do not connect: skip the checksum comparison with the history' }) as never,
  handler: async (argv) => {
    const { openSession, connect } = await import('../session.js');
    const { loadCatalog, changedSinceApplied } = await import('../../core/planning.js');
    const session = openSession(argv, 'validate');
    const catalog = await loadCatalog(session.config);
    let changed: string[] = [];
    let checked = false;
    if (!argv.offline) {
      const topology = await connect(session, argv);
      try {
        changed = changedSinceApplied(catalog, await topology.store.readHistory());
        checked = true;
      } catch (err) {
        session.events({ type: 'warning', message: `checksums not compared: ${errorMessage(err)}` });
      } finally {
        await topology.close();
      }
    }
    const result = {
      kind: 'validate', formatVersion: FORMAT_VERSION, valid: true, scriptsDir: catalog.dir,
      versions: catalog.versions.map((v) => ({ version: v.version, scripts: v.scripts.map((s) => ({ name: s.name, kind: s.kind, checksum: s.checksum, runOnce: s.definition?.runOnce })) })),
      tags: [...catalog.tags].map(([tag, scripts]) => ({ tag, scripts: scripts.map((s) => s.name) })),
      skipped: catalog.skipped, checksumsCompared: checked, changedSinceApplied: changed,
    };
    session.print(result, () => [
      `scripts in ${catalog.dir}: valid`,
      ...catalog.versions.map((v) => `  ${v.version}: ${v.scripts.map((s) => s.name).join(', ') || '(empty)'}`),
      ...[...catalog.tags].map(([tag, scripts]) => `  tag ${tag}: ${scripts.map((s) => s.name).join(', ')}`),
      ...(catalog.skipped.length ? [`skipped (not scripts): ${catalog.skipped.join(', ')}`] : []),
      checked ? (changed.length ? changed.map((c) => `warning: ${c} changed since it was applied`).join('\n') : 'applied scripts: unchanged') : 'applied scripts: not compared',
    ].join('\n') + '\n');
  },
};
