import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { withCommonOptions, type CommonArgs } from '../common.js';

interface BackupArgs extends CommonArgs {
  out: string;
}

export const backupCommand: CommandModule<object, BackupArgs> = {
  command: 'backup',
  describe: 'Stream the suffix from the master to an LDIF file (with the operational attributes an offline restore keeps)',
  builder: (y) => withCommonOptions(y)
    .option('out', { type: 'string', demandOption: true, describe: 'the LDIF file to write (mode 600; written as FILE.part, renamed when complete)' }) as never,
  handler: async (argv) => {
    const { openSession, withTopology } = await import('../session.js');
    const { backupSuffix } = await import('../../inspect/backup.js');
    const { FORMAT_VERSION } = await import('../../report-format.js');
    const session = openSession(argv, 'backup');
    await withTopology(session, argv, async (topology) => {
      const result = await backupSuffix(topology.master, topology.config.suffix, resolve(argv.out), topology.adapter.backupAttributes);
      session.print({ kind: 'backup', formatVersion: FORMAT_VERSION, suffix: topology.config.suffix, master: topology.config.master.url, ...result },
        () => `backup of ${topology.config.suffix}: ${result.entries} entries written to ${result.file} in ${(result.durationMs / 1000).toFixed(1)} s\n`);
    });
  },
};
