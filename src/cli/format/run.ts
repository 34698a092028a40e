import type { RecoverReport } from '../../run/recover.js';
import type { DryRunReport, RunReport, SchemaServerResult, StepResult } from '../../run/reports.js';

function stepLine(s: StepResult): string {
  const folded = s.folded.length ? ` (runOnce: also stands for ${s.folded.join(', ')})` : '';
  const planned = s.status === 'Planned';
  const took = s.status === 'Success' || planned ? `, ${s.durationMs} ms` : '';
  const what = s.schema
    ? `definition${s.entriesChanged === 1 ? '' : 's'} ${planned ? 'to add or change' : 'added or changed'}`
    : s.config
      ? `configuration change${s.entriesChanged === 1 ? '' : 's'}${planned ? ' to make' : ''} (on the server with the most)`
      : `entr${s.entriesChanged === 1 ? 'y' : 'ies'}${planned ? ' would change' : ''}`;
  return [
    `  ${s.status.padEnd(11)} ${s.script}: ${s.entriesChanged} ${what}${took}${folded}${s.error ? ` — ${s.error}` : ''}`,
    ...(s.schema ?? []).map((x) => `      ${x.url}: ${schemaLine(x, planned)}`),
    ...(s.config ?? []).flatMap((x) => [
      `      ${x.url}: ${x.changes.length ? x.changes.join('; ') : 'nothing to do'}`,
      ...(x.index ? [`        ${x.index}`] : []),
      ...(x.warning ? [`        warning: ${x.warning}`] : []),
    ]),
  ].join('\n');
}

function schemaLine(x: SchemaServerResult, planned: boolean): string {
  const parts = [
    ...(x.added.length ? [`${x.added.length} ${planned ? 'to add' : 'added'}`] : []),
    ...(x.changed.length ? [`${x.changed.length} ${planned ? 'to change' : 'changed'}`] : []),
    ...(x.kept.length ? [`${x.kept.length} left as the server has them`] : []),
    `${x.identical} identical`,
  ];
  return `${parts.join(', ')}${x.how === 'replicated' ? ' (by replication from the master)' : ''}`;
}

/** The human dry-run report (the planned LDIF follows it, unless --summary). */
export function formatDryRun(r: DryRunReport): string {
  const from = r.fromSource === 'baseline' ? `${r.fromVersion} (no stored version: baseline)` : r.fromSource === 'forced' ? `${r.fromVersion} (forced with --from)` : r.fromVersion;
  const lines = [
    `DRY RUN — nothing was written`,
    `from ${from} to ${r.toVersion}${r.versions.length ? `: versions ${r.versions.join(', ')}` : ''}${r.tags.length ? `; tags ${r.tags.join(', ')}` : ''}`,
    `scripts (${r.steps.length}):`,
    ...r.steps.map(stepLine),
    `replicas that would be frozen (${r.replicasToFreeze.filter((x) => !x.alreadyReadOnly).length}):`,
    ...r.replicasToFreeze.map((x) => `  - ${x.url}${x.alreadyReadOnly ? ' (already read-only: left as it is)' : ''}`),
    `preflight: ${r.preflight.master.product} master ${r.preflight.master.url}; ` +
      (r.preflight.replicas.length ? r.preflight.replicas.map((x) => `${x.url} ${x.lag ?? ''}`).join(', ') : 'no replicas'),
    ...r.warnings.map((w) => `warning: ${w}`),
    ...(r.savedPlan ? [savedPlanLine(r.savedPlan)] : []),
  ];
  return lines.join('\n') + '\n';
}

/** Where `--save-plan` put the plan, and the digest the reviewer compares with the plan run's prompt. */
export function savedPlanLine(p: NonNullable<DryRunReport['savedPlan']>): string {
  return `plan saved: ${p.file} (${p.digest}, ${p.writes} write${p.writes === 1 ? '' : 's'}): run it with \`ldap-upgrade upgrade --plan ${p.file}\``;
}

export function formatRun(r: RunReport): string {
  if (r.outcome === 'nothing-to-do') return `nothing to do: the directory is at ${r.fromVersion}\n`;
  const title: Record<RunReport['outcome'], string> = {
    done: `upgraded from ${r.fromVersion} to ${r.toVersion}`,
    'nothing-to-do': '',
    'script-failed': 'FAILED: a script failed; its run was rolled back',
    'plan-moved': 'REFUSED: an entry of the reviewed plan changed during the run; the run was rolled back',
    'not-converged': `upgraded on the master to ${r.toVersion}, but NOT every replica converged`,
    interrupted: 'INTERRUPTED: the run was rolled back',
    'master-lost': 'STOPPED: the master was lost mid-run; the replicas stay frozen and the lock is held',
    'lock-lost': 'STOPPED: the run lost its lock (deleted, or taken by another run); it stopped writing, the replicas stay frozen',
    'replicas-frozen': 'NOT FINISHED: a replica could not be given back and stays frozen (run `ldap-upgrade recover`)',
  };
  const lines = [
    `run ${r.runId}: ${r.undo ? undoTitle(r, title[r.outcome]) : title[r.outcome]}`,
    ...(r.plan ? [`plan: ${r.plan.file} (${r.plan.digest})`] : []),
    ...(r.error ? [`error: ${r.error}`] : []),
    ...(r.steps.length ? ['scripts:', ...r.steps.map(stepLine)] : []),
    'replicas:',
    ...r.replicas.map((x) => `  ${x.url}: freeze ${x.alreadyReadOnly ? 'skipped (already read-only)' : x.freeze}, converge ${x.converge}${x.convergeMs !== undefined ? ` (${x.convergeMs} ms)` : ''}, unfreeze ${x.alreadyReadOnly ? 'skipped (stays read-only)' : x.unfreeze}${x.error ? ` — ${x.error}` : ''}`),
    `total ${(r.totalMs / 1000).toFixed(1)} s${r.convergeMs !== undefined ? `, convergence wait ${r.convergeMs} ms` : ''}`,
    ...(r.backupFile ? [`backup: ${r.backupFile}`] : []),
    ...conflictLines(r.conflicts, r.undo ? 'the undo' : 'the rollback'),
    ...r.warnings.map((w) => `warning: ${w}`),
  ];
  return lines.join('\n') + '\n';
}

/** An undo's headline: which run, how many changes, where the version is now. */
function undoTitle(r: RunReport, outcome: string): string {
  const u = r.undo!;
  const what = `undid run ${u.runId}: ${u.changesUndone} change${u.changesUndone === 1 ? '' : 's'} undone, ${u.versionKept ? `the stored version kept at ${r.fromVersion}` : `the version set back to ${u.version ?? 'none'}`}`;
  return r.outcome === 'done' ? what : `${what} — ${outcome}`;
}

/** The changes a rollback left in place, each named (an administrator decides about them). */
function conflictLines(conflicts: string[] | undefined, by = 'the rollback'): string[] {
  if (!conflicts?.length) return [];
  return [`LEFT IN PLACE by ${by} (${conflicts.length}): changed again after the run wrote them — check each by hand:`, ...conflicts.map((c) => `  ${c}`)];
}

export function formatRecover(r: RecoverReport): string {
  if (r.outcome === 'nothing-to-recover') return 'nothing to recover: no lock and no unfinished run\n';
  return [
    `run ${r.runId}: ${r.outcome}`,
    ...(r.overridden ? [`warning: ${r.overridden}`] : []),
    ...(r.finishedUndoOf ? [`it was undoing run ${r.finishedUndoOf} when it stopped: the undo was finished (run ${r.finishedUndoOf} is undone)`]
      : r.finishedRollback ? ['it had stopped half-way through its rollback: the rollback was finished first'] : []),
    ...(r.changesUndone ? [`changes undone: ${r.changesUndone}`] : []),
    ...conflictLines(r.conflicts),
    ...(r.schemaKept ? [`schema kept (forward-only, not undone by a rollback): what ${r.schemaKept.join(', ')} wrote stays; a re-run finds it identical`] : []),
    `unfrozen: ${r.unfrozen.join(', ') || 'none needed'}`,
    ...r.stillFrozen.map((s) => `STILL FROZEN: ${s.url} (${s.error})`),
    ...(r.notConverged ?? []).map((n) => `NOT CONVERGED with the rollback: ${n.url} (${n.detail}); \`ldap-upgrade verify\` lists what differs`),
    `lock: ${r.lockReleased ? 'released' : 'was free'}`,
  ].join('\n') + '\n';
}
