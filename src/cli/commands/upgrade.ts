import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';
import { withCommonOptions, type CommonArgs } from '../common.js';
import { durationOption } from '../../config/values.js';
import type { PlanRequest } from '../../plan/load.js';
import type { Topology } from '../../replication/topology.js';
import type { Session } from '../session.js';
import type { SavedPlan } from '../../plan/saved-plan.js';

interface Args extends CommonArgs {
  'dry-run'?: boolean;
  ldif?: boolean;
  summary?: boolean;
  to?: string;
  from?: string;
  force?: boolean;
  tag?: string[];
  timeout?: number;
  resume?: boolean;
  backup?: string;
  yes?: boolean;
  'accept-script-drift'?: boolean;
  'save-plan'?: string;
  plan?: string;
}

export const upgradeCommand: CommandModule<object, Args> = {
  command: 'upgrade',
  describe: 'Freeze the replicas, run the pending scripts (data on the master, configuration scripts on every server), wait for convergence, unfreeze',
  builder: (y) => withCommonOptions(y)
    .option('dry-run', { type: 'boolean', describe: 'run preflight and the scripts against a recording context; write nothing' })
    .option('ldif', { type: 'boolean', describe: 'with --dry-run: print only the planned changes as LDIF, as they are planned' })
    .option('summary', { type: 'boolean', describe: 'with --dry-run: print only the summary (scripts, counts, replicas, warnings), not the LDIF' })
    .option('to', { type: 'string', describe: 'stop at this version (default: the highest script version)' })
    .option('from', { type: 'string', describe: 'override the stored version (needs --force)' })
    .option('force', { type: 'boolean', describe: 'confirm --from or --tag' })
    .option('tag', { type: 'string', array: true, describe: 'also run the named tag (repeatable; needs --force)' })
    .option('timeout', { type: 'string', coerce: durationOption('timeout'), describe: 'how long to wait for convergence: seconds, or 90s, 5m, 1h (default: replication.timeout, 300)' })
    .option('save-plan', { type: 'string', describe: 'with --dry-run: also write the plan to this file (mode 600), for `upgrade --plan FILE` to run exactly that' })
    .option('plan', { type: 'string', describe: 'run this saved plan and nothing else: refused (exit 7) if its digest, scripts, stored version or any entry it writes changed since it was saved' })
    .option('resume', { type: 'boolean', describe: 'continue an interrupted run after its last completed script' })
    .option('backup', { type: 'string', describe: 'stream the suffix to this LDIF file before freezing' })
    .option('yes', { type: 'boolean', alias: 'y', describe: 'do not ask for confirmation' })
    .option('accept-script-drift', { type: 'boolean', describe: 'go on although applied scripts changed or were removed, or a script was added to a version already applied (`validate` lists them); each is a warning in the report' })
    .example('$0 upgrade --dry-run --summary', 'what would run, and how many entries each script would change')
    .example('$0 upgrade --dry-run --save-plan plan.jsonl', 'review the plan, and keep it')
    .example('$0 upgrade --plan plan.jsonl', 'run the reviewed plan: its writes, and nothing else')
    .example('$0 upgrade --yes', 'run the pending scripts (no confirmation prompt)')
    .example('$0 upgrade --yes --timeout 30m', 'a large run: allow 30 min for every replica to have every change')
    .implies('ldif', 'dry-run')
    .implies('summary', 'dry-run')
    .implies('save-plan', 'dry-run')
    .conflicts('plan', ['dry-run', 'resume', 'from', 'to', 'tag', 'force'])
    .conflicts('ldif', 'summary')
    .conflicts('dry-run', ['resume', 'backup'])
    .conflicts('resume', ['from', 'to', 'tag']) as never,
  handler: async (argv) => {
    const { openSession, withTopology } = await import('../session.js');
    const session = openSession(argv, argv['dry-run'] ? 'dry-run' : 'upgrade');
    const request = { to: argv.to, from: argv.from, tags: argv.tag, force: argv.force, acceptDrift: argv['accept-script-drift'] };
    if (!argv['dry-run'] && !argv.yes && !(await import('../prompt.js')).canPrompt()) {
      throw new UsageError('upgrade writes to the directory: add --yes (there is no terminal to confirm on)');
    }
    // A plan is read (and refused: exit 2 or 7) before anything is connected to.
    const saved = argv.plan ? (await import('../../plan/saved-plan.js')).readSavedPlan(argv.plan, (await import('../../version.js')).toolVersion()) : undefined;
    await withTopology(session, argv, (topology) => argv['dry-run'] ? printDryRun(argv, session, topology, request) : runAndReport(argv, session, topology, request, saved));
  },
};

/** `--dry-run`: the plan's summary and its LDIF (streamed with --ldif; spooled after the summary by default). */
async function printDryRun(argv: Args, session: Session, topology: Topology, request: PlanRequest): Promise<void> {
  const { dryRun } = await import('../../run/dry-run.js');
  const { formatRecord } = await import('../../ldif/write.js');
  const { formatDryRun, savedPlanLine } = await import('../format/run.js');
  const { ChunkedStdout, LdifSpool } = await import('../output.js');
  const changes: Record<string, string[]> = {};
  // --ldif streams the LDIF as it is planned; by default it is spooled to a private
  // temporary file and printed after the summary (the summary's counts are known last).
  const spool = !session.json && !argv.ldif && !argv.summary ? new LdifSpool() : undefined;
  const out = new ChunkedStdout(spool?.fd);
  let lastScript = '';
  try {
    const report = await dryRun(topology, request, (script, record) => {
      if (argv.summary) return;
      const text = formatRecord(record);
      if (session.json) {
        (changes[script] ??= []).push(text);
        return;
      }
      if (script !== lastScript) out.write(`# ${script}\n`);
      lastScript = script;
      out.write(text + '\n\n');
    }, session.events, argv['save-plan']).finally(() => out.flush());
    if (session.json) session.print({ ...report, changes }, () => '');
    else if (argv.ldif && report.savedPlan) process.stderr.write(`${savedPlanLine(report.savedPlan)}\n`);
    else if (!argv.ldif) {
      process.stdout.write(formatDryRun(report));
      if (spool) {
        process.stdout.write(`\nplanned changes, as LDIF (${report.steps.reduce((n, s) => n + s.entriesChanged, 0)} entries; --summary leaves them out, --ldif prints only them):\n\n`);
        spool.copyToStdout();
      }
    }
  } finally {
    spool?.remove();
  }
}

/** The run: SIGINT/SIGTERM abort it (it rolls back), the report is printed and written beside the log. */
async function runAndReport(argv: Args, session: Session, topology: Topology, request: PlanRequest, saved?: SavedPlan): Promise<void> {
  const { runUpgrade } = await import('../../run/upgrade.js');
  const { RunOutput } = await import('../run-output.js');
  const output = new RunOutput(session);
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    const report = await runUpgrade(topology, {
      ...request, resume: argv.resume, backupFile: argv.backup, saved,
      signal: controller.signal,
      confirm: argv.yes ? undefined : async (loaded, resume) => {
        const { confirm } = await import('../prompt.js');
        const what = saved
          ? `Run the reviewed plan ${saved.file} (${saved.digest}): from ${loaded.plan.fromVersion} to ${loaded.plan.toVersion}, ${saved.total} write(s) in ${loaded.plan.steps.length} script(s), freezing ${topology.replicas.length} replica(s)`
          : resume ? `Resume run ${resume.runId} (${resume.steps.length - resume.completed} script(s) left)` : `Upgrade from ${loaded.plan.fromVersion} to ${loaded.plan.toVersion}: ${loaded.plan.steps.length} script(s), freezing ${topology.replicas.length} replica(s)`;
        return confirm(`${what}. Continue?`);
      },
    }, output.events);
    // The run's report, next to its log: JSON and a self-contained HTML page.
    output.finish(report, argv.outcome, controller.signal.aborted ? String(controller.signal.reason) : undefined);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}
