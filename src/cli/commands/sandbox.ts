import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type { OutcomeArgs } from '../exit.js';
import { integerOption } from '../../config/values.js';

interface Args extends OutcomeArgs {
  action: 'up' | 'down' | 'status';
  nodes: number;
  server: 'openldap' | '389ds';
  dir: string;
  'base-port': number;
  consumers?: number;
  keep?: boolean;
  json?: boolean;
}

export const sandboxCommand: CommandModule<object, Args> = {
  command: 'sandbox <action>',
  describe: 'Start, inspect or stop a local replicated cluster of real servers on 127.0.0.1',
  builder: (y: Argv) => y
    .positional('action', { choices: ['up', 'down', 'status'] as const, demandOption: true, describe: 'up | down | status' })
    .option('nodes', { type: 'string', default: '3', coerce: integerOption('nodes', 1, 9), describe: 'number of nodes (1–9); node 1 is the master' })
    .option('server', { choices: ['openldap', '389ds'] as const, default: 'openldap' as const, describe: 'server kind' })
    .option('dir', { type: 'string', default: '.sandbox', describe: 'folder for the nodes, ldap-upgrade.yaml and password files' })
    .option('base-port', { type: 'string', default: '3890', coerce: integerOption('base-port', 1, 65526), describe: 'node i listens on base-port + i - 1' })
    .option('consumers', { type: 'string', coerce: integerOption('consumers', 0, 8), describe: 'the last N nodes are read-only consumers of node 1 (OpenLDAP: they pull from it; 389 DS: node 1 has agreements to them); default 0' })
    .option('keep', { type: 'boolean', describe: 'down: keep the folder' })
    .option('json', { type: 'boolean', describe: 'print JSON' }) as never,
  handler: async (argv) => {
    const sandbox = await import('../../sandbox/index.js');
    const dir = resolve(argv.dir);
    const out = (value: unknown, text: string) => process.stdout.write(argv.json ? JSON.stringify(value, null, 2) + '\n' : text);
    if (argv.action === 'up') {
      const t0 = Date.now();
      const c = await sandbox.startCluster({ nodes: argv.nodes, kind: argv.server, dir, basePort: argv['base-port'], consumers: argv.consumers });
      const ms = Date.now() - t0;
      const info = { kind: 'sandbox', reused: c.reused, dir: c.dir, config: c.configFile, startMs: ms, nodes: c.nodes.map(({ id, url, pid, consumer }) => ({ id, url, pid, role: id === 1 ? 'master' : consumer ? 'consumer' : 'provider' })) };
      out(info, [
        c.reused ? `a sandbox is already running in ${c.dir} (not starting another):` : `sandbox up in ${(ms / 1000).toFixed(2)} s: ${c.nodes.length} ${c.kind} node(s), converged`,
        ...c.nodes.map((n) => `  node ${n.id}${n.id === 1 ? ' (master)' : n.consumer ? ' (read-only consumer of node 1)' : ''}: ${n.url}  pid ${n.pid}`),
        `configuration: ${c.configFile}`,
        'try:',
        `  export LDAP_UPGRADE_CONFIG=${c.configFile}`,
        '  npx ldap-upgrade status',
        '  npx ldap-upgrade upgrade --dry-run',
        '  npx ldap-upgrade upgrade --yes',
        `  npx ldap-upgrade sandbox down --dir ${c.dir}`,
      ].join('\n') + '\n');
    } else if (argv.action === 'down') {
      const state = await sandbox.stopCluster(dir, { keep: argv.keep });
      out({ kind: 'sandbox', stopped: state?.nodes.length ?? 0, dir }, state ? `stopped ${state.nodes.length} node(s)${argv.keep ? '' : `; removed ${dir}`}\n` : `no sandbox in ${dir}\n`);
    } else {
      const { state, nodes } = await sandbox.clusterStatus(dir);
      out({ kind: 'sandbox-status', dir, server: state.kind, nodes }, [
        `sandbox in ${dir} (${state.kind}):`,
        ...nodes.map((n) => `  node ${n.id}: ${n.url}  pid ${n.pid} ${n.running ? 'running' : 'NOT RUNNING'}, ${n.reachable ? 'reachable' : 'unreachable'}, ${n.converged === undefined ? 'convergence unknown' : n.converged ? 'converged' : 'NOT converged'}`),
      ].join('\n') + '\n');
      argv.outcome.finish({ kind: 'sandbox-status', allReachable: nodes.every((n) => n.reachable) });
    }
  },
};
