import { RefusedError, ScriptFailedError } from '../errors.js';
import { scriptId } from '../scripts/types.js';
import { RecordingStore, type PlannedChangeSink } from '../scripts/runtime/recording-store.js';
import type { EventSink } from '../events.js';
import { checkDrift, loadPlan, type PlanRequest } from '../plan/load.js';
import { runReplica } from '../replication/replica-freeze.js';
import { isUnfinishedRun } from '../records/run-record.js';
import { preflight } from './preflight.js';
import { FORMAT_VERSION } from '../report-format.js';
import { type DryRunReport, type StepResult } from './reports.js';
import { runScript, ScriptFailure } from '../scripts/runtime/run-script.js';
import { planSchemaStep, schemaChanges, schemaPreflight, schemaWarnings } from './schema-step.js';
import type { Topology } from '../replication/topology.js';

/**
 * `upgrade --dry-run` (SPEC §6): preflight, then the planned scripts against a recording
 * context. Writes nothing anywhere: no lock, no history, no freeze, no journal.
 */
export async function dryRun(topology: Topology, request: PlanRequest, sink: PlannedChangeSink, events: EventSink): Promise<DryRunReport> {
  const found = await preflight(topology, events);
  if (found.problems.length > 0) throw new RefusedError(`preflight failed: ${found.problems.join('; ')}`);
  const { plan, drift, runs } = await loadPlan(topology.config, topology.store, request);
  await schemaPreflight(topology, plan, events);
  const warnings = checkDrift(drift, request.acceptDrift);
  const interrupted = runs.find(isUnfinishedRun);
  if (interrupted) {
    warnings.unshift(`run ${interrupted.runId} (${interrupted.host}) was interrupted while ${interrupted.state}: \`upgrade\` refuses (exit 8) until \`ldap-upgrade recover\` (--rollback undoes it) or \`upgrade --resume\`; this plan starts from the directory as it is now, with whatever that run left`);
  }
  for (const w of warnings) events({ type: 'warning', message: w });
  const store = new RecordingStore(topology.master, sink);
  const steps: StepResult[] = plan.steps.map((s) => ({
    version: s.version, script: scriptId(s.script), tag: s.tag, status: 'Planned', entriesChanged: 0, durationMs: 0, folded: s.folded.map(scriptId),
  }));
  for (const [i, step] of plan.steps.entries()) {
    events({ type: 'script-start', index: i + 1, total: plan.steps.length, script: steps[i]!.script });
    const started = Date.now();
    try {
      if (step.script.kind === 'schema') {
        steps[i]!.schema = await planSchemaStep(topology, step.script.schema!, steps[i]!.script, events);
        steps[i]!.entriesChanged = schemaChanges(steps[i]!.schema!);
        warnings.push(...schemaWarnings(steps[i]!.script, steps[i]!.schema!));
      } else {
        steps[i]!.entriesChanged = await runScript(step.script, {
          store, suffix: topology.config.suffix, versionEntry: topology.config.versionEntry,
          fromVersion: plan.fromVersion, toVersion: step.version, events, timeLimitMs: topology.config.scriptTimeout * 1000, planned: true,
        });
      }
    } catch (err) {
      if (!(err instanceof ScriptFailure)) throw err;
      throw new ScriptFailedError(`dry run: version ${step.version}: ${err.message} (nothing was written)`, { cause: err });
    }
    steps[i]!.durationMs = Date.now() - started;
    events({ type: 'script-end', script: steps[i]!.script, status: 'Success', entriesChanged: steps[i]!.entriesChanged, durationMs: steps[i]!.durationMs, planned: true, schema: step.script.kind === 'schema' });
  }
  return {
    kind: 'dry-run', formatVersion: FORMAT_VERSION,
    fromVersion: plan.fromVersion, fromSource: plan.fromSource, toVersion: plan.toVersion, versions: plan.versions, tags: plan.tags,
    steps,
    replicasToFreeze: found.replicas.map((r) => ({ url: r.url, alreadyReadOnly: r.writeState ? !runReplica(r.url, r.writeState).frozenByRun : false })),
    preflight: found, warnings,
    interruptedRun: interrupted ? { runId: interrupted.runId, state: interrupted.state, host: interrupted.host } : null,
  };
}
