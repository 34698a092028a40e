import type { CommandModule } from 'yargs';
import { FORMAT_VERSION } from '../../report-format.js';
import { errorMessage } from '../../errors.js';
import { withCommonOptions, type CommonArgs } from '../common.js';

interface Args extends CommonArgs {
  offline?: boolean;
}

export const validateCommand: CommandModule<object, Args> = {
  command: 'validate',
  describe: 'Check the scripts parse and versions are valid, and (online) that the applied scripts are all there, unchanged, with none added before them; exit 7 when not',
  builder: (y) => withCommonOptions(y).option('offline', { type: 'boolean', describe: 'do not connect: skip the checksum comparison with the history' }) as never,
  handler: async (argv) => {
    const { openSession, connect } = await import('../session.js');
    const { loadCatalog } = await import('../../plan/load.js');
    const { driftMessages, hasDrift, NO_DRIFT, scriptDrift } = await import('../../plan/drift.js');
    const session = openSession(argv, 'validate');
    const catalog = await loadCatalog(session.config);
    let drift = NO_DRIFT;
    let checked = false;
    if (!argv.offline) {
      const topology = await connect(session, argv);
      try {
        const stored = await topology.store.readVersion();
        if (stored.exists) drift = scriptDrift(catalog, await topology.store.readHistory(), await topology.store.readRuns());
        checked = true;
      } catch (err) {
        session.events({ type: 'warning', message: `checksums not compared: ${errorMessage(err)}` });
      } finally {
        await topology.close();
      }
    }
    const drifted = hasDrift(drift);
    const result = {
      kind: 'validate', formatVersion: FORMAT_VERSION, valid: !drifted, scriptsDir: catalog.dir,
      versions: catalog.versions.map((v) => ({ version: v.version, scripts: v.scripts.map((s) => ({ name: s.name, kind: s.kind, checksum: s.checksum, runOnce: s.definition?.runOnce })) })),
      tags: [...catalog.tags].map(([tag, scripts]) => ({ tag, scripts: scripts.map((s) => s.name) })),
      skipped: catalog.skipped, checksumsCompared: checked, changedSinceApplied: drift.changed,
      drift: checked ? drift : null,
    };
    session.print(result, () => [
      `scripts in ${catalog.dir}: ${drifted ? 'INVALID: they do not match what the directory says was applied' : 'valid'}`,
      ...catalog.versions.map((v) => `  ${v.version}: ${v.scripts.map((s) => s.name).join(', ') || '(empty)'}`),
      ...[...catalog.tags].map(([tag, scripts]) => `  tag ${tag}: ${scripts.map((s) => s.name).join(', ')}`),
      ...(catalog.skipped.length ? [`skipped (not scripts): ${catalog.skipped.join(', ')}`] : []),
      checked ? (drifted ? driftMessages(drift).map((m) => `error: ${m}`).join('\n') : 'applied scripts: all there, unchanged, none pending before them') : 'applied scripts: not compared',
    ].join('\n') + '\n');
    if (drifted) {
      if (!session.json) process.stderr.write('ldap-upgrade: validate: the scripts folder has drifted from the history (upgrade refuses it, exit 7, unless --accept-script-drift)\n');
    }
    argv.outcome.finish({ kind: 'validate', drifted });
  },
};
