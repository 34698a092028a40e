import type { CommandModule } from 'yargs';
import { withCommonOptions, type CommonArgs } from '../common.js';

export const verifyCommand: CommandModule<object, CommonArgs> = {
  command: 'verify',
  describe: "Compare the suffix (entry by entry) and the schema (by OID) on the master and on each replica, and check each server's cn=config against the applied configuration scripts (exit 9 when they differ)",
  builder: (y) => withCommonOptions(y) as never,
  handler: async (argv) => {
    const { openSession, withTopology } = await import('../session.js');
    const { verifyTopology } = await import('../../inspect/verify.js');
    const session = openSession(argv, 'verify');
    await withTopology(session, argv, async (topology) => {
      const report = await verifyTopology(topology, session.events);
      session.print(report, () => [
        `master ${report.master}: ${report.entries} entries${report.masterConfig ? `; LACKS configuration: ${report.masterConfig.length} change(s)` : ''}`,
        ...(report.masterConfig ?? []).map((x) => `  config:  ${x}`),
        ...report.replicas.flatMap((r) => [
          `${r.url}: ${!r.reachable || r.error ? `NOT COMPARED (${r.error})` : r.identical ? `identical (${r.entries} entries)` : `DIFFERS: ${r.missing.count} missing, ${r.extra.count} extra, ${r.differing.count} with other values${r.schema && (r.schema.missing || r.schema.differing) ? `; schema: ${r.schema.missing} definition(s) lacking, ${r.schema.differing} different` : ''}${r.config ? `; configuration: ${r.config.length} change(s) lacking` : ''}`}`,
          ...(r.schema?.examples ?? []).map((x) => `  schema:  ${x}`),
          ...(r.config ?? []).map((x) => `  config:  ${x}`),
          ...r.missing.dns.map((dn) => `  missing: ${dn}`),
          ...r.extra.dns.map((dn) => `  extra:   ${dn}`),
          ...r.differing.entries.map((d) => `  differs: ${d.dn} (${d.attributes.join(', ')})`),
        ]),
      ].join('\n') + '\n');
      argv.outcome.finish({ kind: 'verify', report });
    });
  },
};
