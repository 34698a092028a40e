import { failpoint } from '../failpoints.js';
import type { RunRecord } from '../records/run-record.js';
import { newCanary } from '../replication/canary.js';
import { convergenceProof, waitForConvergence, type ConvergenceResult, type ConvergenceTarget } from '../replication/convergence.js';
import type { RunReport } from './reports.js';
import { replicaResult, type LiveRun } from './run.js';

/**
 * The converge phase: everything written, the records included, must reach every replica — the
 * run record's last change is a new canary, after every other write. A replica that has not
 * converged by the timeout makes the outcome `not-converged` (exit 6); the data stays upgraded.
 */
export async function converge(run: LiveRun): Promise<void> {
  const { topology, record, report, settings, events } = run;
  record.state = 'waiting';
  record.canary = newCanary();
  await topology.store.writeRun(record);
  events({ type: 'phase', phase: 'converge', message: `waiting for ${topology.replicas.length} replica(s) to converge` });
  await failpoint('converge');
  const waitStarted = Date.now();
  const converged = await waitForConvergence(topology, convergenceTargets(record), {
    timeoutMs: settings.timeoutMs, pollMs: settings.pollMs, signal: settings.signal, proof: convergenceProof(topology, record),
  }, events);
  report.convergeMs = Date.now() - waitStarted;
  reportConvergence(report, converged);
  const lagging = converged.filter((c) => !c.converged);
  if (lagging.length > 0) {
    report.outcome = 'not-converged';
    report.error = `replicas did not converge within ${settings.timeoutMs / 1000} s: ${lagging.map((c) => `${c.url} (${c.detail})`).join('; ')}; the data is upgraded on the master`;
  }
}

/**
 * The run's replicas as convergence waits for them: each one's own replication id comes from
 * the write state the run recorded (a replica holds its own changes by definition), so a wait
 * that follows no preflight (`recover`) knows it as well as the run did.
 */
export function convergenceTargets(record: RunRecord): ConvergenceTarget[] {
  return record.replicas.map((r) => ({ url: r.url, ownId: r.writeState?.ownId }));
}

export function reportConvergence(report: RunReport, results: ConvergenceResult[]): void {
  for (const c of results) {
    const r = replicaResult(report, c.url);
    r.converge = c.converged ? 'Success' : 'Error';
    r.convergeMs = c.waitedMs;
    r.lag = c.detail;
  }
}
