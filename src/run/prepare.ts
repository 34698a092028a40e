import { RefusedError } from '../errors.js';
import { checkDrift, loadPlan, type LoadedPlan, type PlanRequest } from '../plan/load.js';
import { isUnfinishedRun, type RunRecord } from '../records/run-record.js';
import { recordRules, type Topology } from '../replication/topology.js';
import { runRecordProblems, untrustedMessage } from '../records/trust.js';
import { scriptId } from '../scripts/types.js';
import type { EventSink } from '../events.js';
import { findInterrupted } from './lock.js';
import { preflight, type PreflightReport } from './preflight.js';
import type { RunMode } from './run.js';
import { schemaPreflight } from './schema-step.js';
import { configPreflight } from './config-step.js';

/** What a run (or dry run) knows before it writes anything. */
export interface Prepared {
  /** A live run resuming: the interrupted run it continues. */
  resuming?: RunRecord;
  /** A planned run: the interrupted run it found (the real run would refuse until it is recovered). */
  interrupted?: RunRecord;
  preflight: PreflightReport;
  loaded: LoadedPlan;
  /** Script drift accepted (and, planned, the interrupted run): the report's warnings. */
  warnings: string[];
  stepIds: string[];
}

/**
 * Everything before the lock, read-only, once for the run and the dry run: an interrupted run or
 * a live lock (live: they matter more than anything preflight could find — exit 4 or 8), the
 * preflight (exit 7 on any problem), the plan (the interrupted run's when resuming), script
 * drift, and the schema and configuration preflights. A planned run only warns about an interrupted run.
 */
export async function prepare(topology: Topology, request: PlanRequest & { resume?: boolean }, mode: RunMode, events: EventSink): Promise<Prepared> {
  const resuming = mode === 'live' ? await findInterrupted(topology, request.resume === true) : undefined;
  if (request.resume && !resuming) throw new RefusedError('--resume: there is no interrupted run to resume');
  if (resuming?.plan) {
    throw new RefusedError(`--resume: run ${resuming.runId} ran the reviewed plan ${resuming.plan}, which a resumed run would not follow (it runs the scripts): \`ldap-upgrade recover --rollback\` undoes what it wrote, \`ldap-upgrade recover\` keeps it`);
  }
  if (resuming?.undoes) {
    throw new RefusedError(`--resume: run ${resuming.runId} is an undo of run ${resuming.undoes}: \`ldap-upgrade recover\` finishes it`);
  }
  const found = await preflight(topology, events);
  if (found.problems.length > 0) throw new RefusedError(`preflight failed: ${found.problems.join('; ')}`);
  const loaded = resuming
    ? await loadPlan(topology.config, topology.store, { from: resuming.fromVersion, to: resuming.toVersion, tags: resuming.tags, force: true })
    : await loadPlan(topology.config, topology.store, request);
  const stepIds = loaded.plan.steps.map((s) => scriptId(s.script));
  if (mode === 'live') {
    const warnings = checkDrift(loaded.drift, request.acceptDrift);
    for (const message of warnings) events({ type: 'warning', message });
    await schemaPreflight(topology, loaded.plan, events);
    await configPreflight(topology, loaded.plan, events);
    if (resuming && stepIds.join('\n') !== resuming.steps.join('\n')) {
      throw new RefusedError(`--resume: the scripts differ from those of run ${resuming.runId}; run \`ldap-upgrade recover --rollback\` instead`);
    }
    return { resuming, preflight: found, loaded, warnings, stepIds };
  }
  // planned: the schema preflight first, then drift (as the dry run always reported them)
  await schemaPreflight(topology, loaded.plan, events);
  await configPreflight(topology, loaded.plan, events);
  const warnings = checkDrift(loaded.drift, request.acceptDrift);
  const unfinished = loaded.runs.find(isUnfinishedRun);
  const problems = unfinished ? runRecordProblems(unfinished, recordRules(topology)) : [];
  const interrupted = problems.length ? undefined : unfinished;
  if (problems.length) warnings.unshift(`${untrustedMessage(unfinished!, problems)}; \`upgrade\` refuses (exit 7) while it is there`);
  if (interrupted) {
    warnings.unshift(`run ${interrupted.runId} (${interrupted.host}) was interrupted while ${interrupted.state}: \`upgrade\` refuses (exit 8) until \`ldap-upgrade recover\` (--rollback undoes it) or \`upgrade --resume\`; this plan starts from the directory as it is now, with whatever that run left`);
  }
  for (const w of warnings) events({ type: 'warning', message: w });
  return { interrupted, preflight: found, loaded, warnings, stepIds };
}
