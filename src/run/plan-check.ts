import { RefusedError } from '../errors.js';
import { normalizeDn } from '../ldap/entry.js';
import { sameUrl } from '../ldap/url.js';
import type { LoadedPlan } from '../plan/load.js';
import { fromAttributes, fromDigest, type SavedPlan, type SavedWrite } from '../plan/saved-plan.js';
import type { Topology } from '../replication/topology.js';
import { readForPlan, type WriteIntent } from '../scripts/runtime/write-plan.js';
import { protectedWriteProblem } from '../scripts/runtime/protected-dns.js';
import { scriptId } from '../scripts/types.js';
import type { EventSink } from '../events.js';
import { applyPlanned } from './apply.js';
import { planIdentity, savedSteps } from './dry-run.js';
import { stepResults, type RunContext } from './run.js';

/** How many moved entries a refusal names (the count says how many more there are). */
const NAMED = 10;

/**
 * `upgrade --plan`: everything that must still hold for the reviewed plan to be the run, checked
 * before the lock (README "Reviewed plans"): the same suffix, master and replicas; the stored
 * version the plan was made from; the same scripts with the same checksums; the schema and
 * configuration steps planning the same changes on every server; and every entry the plan
 * writes holding what the plan was made from. Refused (exit 7) naming what moved.
 */
export async function checkSavedPlan(topology: Topology, saved: SavedPlan, loaded: LoadedPlan, events: EventSink): Promise<void> {
  const { header } = saved;
  const here = planIdentity(topology);
  const refuse = (what: string) => new RefusedError(`--plan ${saved.file}: ${what}: nothing was written; review again (\`upgrade --dry-run --save-plan FILE\`)`);
  if (normalizeDn(here.suffix) !== normalizeDn(header.identity.suffix) || normalizeDn(here.versionEntry) !== normalizeDn(header.identity.versionEntry)) {
    throw refuse(`made for suffix ${header.identity.suffix} (version entry ${header.identity.versionEntry}), this configuration is ${here.suffix} (${here.versionEntry})`);
  }
  if (!sameUrl(here.master, header.identity.master)) throw refuse(`made for the master ${header.identity.master}, this configuration's is ${here.master}`);
  const sameReplicas = here.replicas.length === header.identity.replicas.length && here.replicas.every((u) => header.identity.replicas.some((v) => sameUrl(u, v)));
  if (!sameReplicas) throw refuse(`made for the replicas ${header.identity.replicas.join(', ') || 'none'}, these are ${here.replicas.join(', ') || 'none'}`);
  if (here.serverKind !== header.identity.serverKind) throw refuse(`made for ${header.identity.serverKind}, the master is ${here.serverKind}`);
  const stored = loaded.stored.version ?? null;
  if (stored !== header.stored) throw refuse(`made from stored version ${header.stored ?? 'none'}, the directory is at ${stored ?? 'none'} now`);
  const steps = loaded.plan.steps;
  const scripts = header.scripts;
  if (steps.length !== scripts.length || steps.some((s, i) => scriptId(s.script) !== scripts[i]!.id)) {
    throw refuse(`its scripts (${scripts.map((s) => s.id).join(', ') || 'none'}) are not those pending now (${steps.map((s) => scriptId(s.script)).join(', ') || 'none'})`);
  }
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const planned = scripts[i]!;
    if (step.script.checksum !== planned.checksum) throw refuse(`${planned.id} changed since the plan was made (checksum ${step.script.checksum.slice(0, 12)}…, the plan's ${planned.checksum.slice(0, 12)}…)`);
    for (const f of step.folded) {
      const was = planned.folded.find((p) => p.id === scriptId(f));
      if (!was || was.checksum !== f.checksum) throw refuse(`${scriptId(f)} (folded into ${planned.id}) changed since the plan was made`);
    }
  }
  // A plan is the operator's file, but what it writes is held to the scripts' rules all the same.
  for (const w of saved.writes.flat()) {
    const problem = protectedWriteProblem({ kind: w.kind, dn: w.dn, ...(w.kind === 'rename' ? { newDn: w.newDn } : {}) } as WriteIntent, topology.config.versionEntry);
    if (problem) throw refuse(`its write of ${w.dn} is one no script may make (${problem})`);
  }
  await checkSteps(topology, saved, loaded, events, refuse);
  const moved = await movedEntries(topology, saved.writes.flat());
  if (moved.length) {
    throw refuse(`${moved.length} entr${moved.length === 1 ? 'y' : 'ies'} it writes changed since it was made: ${moved.slice(0, NAMED).join('; ')}${moved.length > NAMED ? `; and ${moved.length - NAMED} more` : ''}`);
  }
}

/** The schema and configuration steps, planned again (read-only): each server's changes must be the plan's. */
async function checkSteps(topology: Topology, saved: SavedPlan, loaded: LoadedPlan, events: EventSink, refuse: (what: string) => Error): Promise<void> {
  if (!loaded.plan.steps.some((s) => s.script.kind === 'schema' || s.script.kind === 'config')) return;
  const ctx: RunContext = { mode: 'planned', topology, plan: loaded.plan, settings: { timeoutMs: 0, pollMs: 0 }, events: quiet(events), steps: stepResults(loaded.plan, 'planned'), warnings: [] };
  await applyPlanned(ctx, () => undefined, { skipData: true });
  const now = savedSteps(ctx.steps, loaded.plan);
  for (const s of saved.steps) {
    if (s.planned !== undefined && now[s.index]?.planned !== s.planned) {
      throw refuse(`${s.script} would now make other changes than the plan's on some server (its entries under cn=config or cn=schema changed since)`);
    }
  }
}

/** Only warnings pass: the check's planning is not the run's progress. */
function quiet(events: EventSink): EventSink {
  return (e) => { if (e.type === 'warning') events(e); };
}

/**
 * The entries whose values a write of the plan was planned from and that hold others now: the
 * first write on each DN is compared with the master as it is (later ones were planned from what
 * the plan's own earlier writes leave, and are checked right before they are sent).
 */
async function movedEntries(topology: Topology, writes: SavedWrite[]): Promise<string[]> {
  const first: SavedWrite[] = [];
  const seen = new Set<string>();
  for (const w of writes) {
    const key = normalizeDn(w.dn);
    if (!seen.has(key)) first.push(w);
    seen.add(key);
    if (w.kind === 'rename') seen.add(normalizeDn(w.newDn));
  }
  const moved: { at: number; text: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < first.length) {
      const at = next++;
      const w = first[at]!;
      const attributes = fromAttributes(w);
      const now = await readForPlan(topology.master, w.dn, attributes);
      if (fromDigest(now, attributes) !== w.from) moved.push({ at, text: `${w.dn} (${describeMove(w, now !== null, attributes)})` });
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, first.length) }, worker));
  return moved.sort((a, b) => a.at - b.at).map((m) => m.text);
}

function describeMove(w: SavedWrite, exists: boolean, attributes: string[] | undefined): string {
  if (w.kind === 'add') return 'planned as an add of an absent entry; it exists now';
  if (!exists) return `planned as a ${w.kind} of an entry that is gone now`;
  if (!attributes) return `planned as a ${w.kind} of the entry as it was; it changed`;
  return attributes.length === 1 ? `its ${attributes[0]} changed` : `what it was planned from changed: one of ${attributes.join(', ')}`;
}
