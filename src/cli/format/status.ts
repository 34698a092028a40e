import type { StatusReport } from '../../inspect/status.js';

export function formatStatus(s: StatusReport): string {
  const lines = [
    `server:   ${s.server} (master ${s.master})`,
    `version:  ${s.storedVersion ?? `none — assuming baseline ${s.baselineVersion}`}`,
    `target:   ${s.targetVersion ?? '(no plan)'}`,
    s.planRefusal ? `pending:  cannot plan: ${s.planRefusal}` : s.upToDate ? 'pending:  none (up to date)' : `pending:  ${s.pending.length} script(s)`,
    ...s.pending.map((p) => `  - ${p.script}`),
    `lock:     ${s.lock ? `held by run ${s.lock.runId} (host ${s.lock.host}, pid ${s.lock.pid}, since ${s.lock.startedAt})${s.lock.holderDead ? ` — interrupted: ${s.lock.why}; run \`ldap-upgrade recover\`` : ''}` : 'free'}`,
  ];
  for (const u of s.untrusted) lines.push(`UNTRUSTED: ${u}`);
  if (s.interruptedRun) lines.push(`interrupted run: ${s.interruptedRun.runId} (state ${s.interruptedRun.state}, host ${s.interruptedRun.host}): run \`ldap-upgrade recover\` or \`upgrade --resume\``);
  const source = s.replicaSource.how === 'configured' ? 'as configured' : `discovered from the master${s.replicaSource.accepted ? ' (replicas: discover)' : ''}${s.replicaSource.blindSpot ? `; ${s.replicaSource.blindSpot}` : ''}`;
  lines.push(`replicas: ${s.replicas.length} (${source})`);
  for (const r of s.replicas) {
    if (!r.reachable) {
      lines.push(`  - ${r.url}: UNREACHABLE (${r.error})`);
      continue;
    }
    const frozen = r.frozen === undefined ? 'write state unknown' : r.frozen ? (r.frozenBy ? `frozen by ldap-upgrade run ${r.frozenBy}` : 'read-only (not by ldap-upgrade)') : 'writable';
    lines.push(`  - ${r.url}: reachable, ${frozen}, ${r.converged ? 'converged' : r.lag ?? 'convergence unknown'}${r.error ? ` (${r.error})` : ''}`);
    if (r.configLacks?.length) lines.push(`    CONFIGURATION: lacks ${r.configLacks.length} change(s) of the applied configuration scripts: ${r.configLacks.slice(0, 3).join('; ')}${r.configLacks.length > 3 ? '; …' : ''}`);
    if (r.schemaLacks?.length) lines.push(`    SCHEMA: lacks ${r.schemaLacks.length} definition(s) the master has: ${r.schemaLacks.slice(0, 5).join(', ')}${r.schemaLacks.length > 5 ? ', …' : ''}`);
  }
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}
