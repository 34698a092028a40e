import type { PlanRequest } from '../plan/load.js';
import { runReplica } from '../replication/replica-freeze.js';
import type { Topology } from '../replication/topology.js';
import { FORMAT_VERSION } from '../report-format.js';
import type { PlannedChangeSink } from '../scripts/runtime/recording-store.js';
import type { EventSink } from '../events.js';
import { applyPlanned } from './apply.js';
import { prepare } from './prepare.js';
import type { DryRunReport } from './reports.js';
import { stepResults, type RunContext } from './run.js';

/**
 * `upgrade --dry-run`: the run's own prepare phase, then its apply phase in planned mode — the
 * same scripts against a recording store. Writes nothing anywhere: no lock, no history, no
 * freeze, no journal. `sink` gets every planned change as it is planned.
 */
export async function dryRun(topology: Topology, request: PlanRequest, sink: PlannedChangeSink, events: EventSink): Promise<DryRunReport> {
  const { preflight: found, loaded: { plan }, warnings, interrupted } = await prepare(topology, request, 'planned', events);
  const ctx: RunContext = { mode: 'planned', topology, plan, settings: { timeoutMs: 0, pollMs: 0 }, events, steps: stepResults(plan, 'planned'), warnings };
  await applyPlanned(ctx, sink);
  return {
    kind: 'dry-run', formatVersion: FORMAT_VERSION,
    fromVersion: plan.fromVersion, fromSource: plan.fromSource, toVersion: plan.toVersion, versions: plan.versions, tags: plan.tags,
    steps: ctx.steps,
    replicasToFreeze: found.replicas.map((r) => ({ url: r.url, alreadyReadOnly: r.writeState ? !runReplica(r.url, r.writeState).frozenByRun : false })),
    preflight: found, warnings: [...warnings, ...topology.transportWarnings],
    interruptedRun: interrupted ? { runId: interrupted.runId, state: interrupted.state, host: interrupted.host } : null,
  };
}
