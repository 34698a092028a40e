import type { PlanRequest } from '../plan/load.js';
import type { UpgradePlan } from '../plan/planner.js';
import { PlanWriter, savedWrite, stepDigest, type PlanHeader, type PlanIdentity, type SavedStep } from '../plan/saved-plan.js';
import { runReplica } from '../replication/replica-freeze.js';
import type { Topology } from '../replication/topology.js';
import { FORMAT_VERSION } from '../report-format.js';
import type { PlannedChangeSink } from '../scripts/runtime/recording-store.js';
import { scriptId } from '../scripts/types.js';
import { toolVersion } from '../version.js';
import type { EventSink } from '../events.js';
import { applyPlanned } from './apply.js';
import { prepare } from './prepare.js';
import type { DryRunReport, StepResult } from './reports.js';
import { stepResults, type RunContext } from './run.js';

/**
 * `upgrade --dry-run`: the run's own prepare phase, then its apply phase in planned mode — the
 * same scripts against a recording store. Writes nothing anywhere: no lock, no history, no
 * freeze, no journal. `sink` gets every planned change as it is planned. With `savePlan`, the
 * plan is also written to that file (README "Reviewed plans"), and its digest is in the report.
 */
export async function dryRun(topology: Topology, request: PlanRequest, sink: PlannedChangeSink, events: EventSink, savePlan?: string): Promise<DryRunReport> {
  const { preflight: found, loaded: { plan, stored }, warnings, interrupted } = await prepare(topology, request, 'planned', events);
  const ctx: RunContext = { mode: 'planned', topology, plan, settings: { timeoutMs: 0, pollMs: 0 }, events, steps: stepResults(plan, 'planned'), warnings };
  const writer = savePlan ? new PlanWriter(savePlan, planHeader(topology, plan, stored.version, request)) : undefined;
  const stepOf = new Map(plan.steps.map((s, i) => [scriptId(s.script), i]));
  let saved: DryRunReport['savedPlan'];
  try {
    await applyPlanned(ctx, writer ? (script, record, write, basis) => {
      writer.write(savedWrite(stepOf.get(script)!, write, basis));
      sink(script, record, write);
    } : sink, { trackReads: writer !== undefined });
    if (writer) saved = { file: writer.file, digest: writer.finish(savedSteps(ctx.steps, plan)), writes: writer.writes };
  } finally {
    if (writer && !saved) writer.discard();
  }
  return {
    kind: 'dry-run', formatVersion: FORMAT_VERSION,
    fromVersion: plan.fromVersion, fromSource: plan.fromSource, toVersion: plan.toVersion, versions: plan.versions, tags: plan.tags,
    steps: ctx.steps,
    replicasToFreeze: found.replicas.map((r) => ({ url: r.url, alreadyReadOnly: r.writeState ? !runReplica(r.url, r.writeState).frozenByRun : false })),
    preflight: found, warnings: [...warnings, ...topology.transportWarnings],
    interruptedRun: interrupted ? { runId: interrupted.runId, state: interrupted.state, host: interrupted.host } : null,
    ...(saved ? { savedPlan: saved } : {}),
  };
}

/** Who the plan is for: a plan is run only against the same suffix, master and replicas. */
export function planIdentity(topology: Topology): PlanIdentity {
  return {
    suffix: topology.config.suffix, versionEntry: topology.config.versionEntry, master: topology.config.master.url,
    replicas: topology.replicas.map((r) => r.url).sort(), serverKind: topology.adapter.kind,
  };
}

function planHeader(topology: Topology, plan: UpgradePlan, stored: string | undefined, request: PlanRequest): PlanHeader {
  return {
    t: 'header', format: 'ldap-upgrade-plan', formatVersion: 1, toolVersion: toolVersion(), createdAt: new Date().toISOString(),
    identity: planIdentity(topology), stored: stored ?? null, fromVersion: plan.fromVersion, toVersion: plan.toVersion,
    request: { to: request.to, from: request.from, tags: request.tags, force: request.force },
    scripts: plan.steps.map((s) => ({
      id: scriptId(s.script), version: s.version, kind: s.script.kind, checksum: s.script.checksum,
      folded: s.folded.map((f) => ({ id: scriptId(f), checksum: f.checksum })),
    })),
  };
}

/** What each step planned, for the plan run to compare: schema and configuration steps by digest. */
export function savedSteps(steps: StepResult[], plan: UpgradePlan): SavedStep[] {
  return steps.map((s, index) => ({
    index, script: s.script, kind: plan.steps[index]!.script.kind, writes: s.schema || s.config ? 0 : s.entriesChanged,
    ...(s.schema ? { planned: stepDigest(s.schema.map((r) => ({ url: r.url, added: r.added, changed: r.changed, kept: r.kept }))) } : {}),
    ...(s.config ? { planned: stepDigest(s.config.map((r) => ({ url: r.url, changes: r.changes }))) } : {}),
  }));
}
