import { ExitCode, UpgradeError } from '../errors.js';
import type { StatusReport } from '../inspect/status.js';
import type { VerifyReport } from '../inspect/verify.js';
import type { RecoverReport } from '../run/recover.js';
import type { RunOutcome, RunReport } from '../run/reports.js';

/**
 * The two rules that decide every exit code: `exitCodeFor` for what a command threw,
 * `exitCodeForResult` for what it returned. Commands hand their result to their CommandOutcome;
 * `main()` returns its code. Nothing else decides one.
 */
export function exitCodeFor(err: unknown): number {
  return err instanceof UpgradeError ? err.exitCode : ExitCode.internal;
}

/** What a command returned, as far as its exit code depends on it. */
export type CommandResult =
  | { kind: 'upgrade'; report: RunReport; /** The signal that interrupted the run, if one did. */ signal?: string }
  | { kind: 'recover'; report: RecoverReport }
  | { kind: 'status'; report: StatusReport; check: boolean }
  | { kind: 'verify'; report: VerifyReport }
  | { kind: 'validate'; drifted: boolean }
  | { kind: 'sandbox-status'; allReachable: boolean }
  | { kind: 'other' };

const RUN_EXIT: Record<RunOutcome, number> = {
  done: ExitCode.ok,
  'nothing-to-do': ExitCode.ok,
  'script-failed': ExitCode.scriptFailed,
  'plan-moved': ExitCode.refused,
  'not-converged': ExitCode.notConverged,
  interrupted: ExitCode.cancelled,
  'master-lost': ExitCode.connection,
  'replicas-frozen': ExitCode.interrupted,
  'lock-lost': ExitCode.locked,
};

const RECOVER_EXIT: Record<RecoverReport['outcome'], number> = {
  'nothing-to-recover': ExitCode.ok,
  recovered: ExitCode.ok,
  'rolled-back': ExitCode.ok,
  'not-converged': ExitCode.notConverged,
  incomplete: ExitCode.connection,
};

export function exitCodeForResult(result: CommandResult): number {
  switch (result.kind) {
    case 'upgrade':
      if (result.report.outcome === 'interrupted' && result.signal === 'SIGTERM') return ExitCode.terminated;
      return RUN_EXIT[result.report.outcome];
    case 'recover':
      return RECOVER_EXIT[result.report.outcome];
    case 'status':
      if (!result.check) return ExitCode.ok;
      if (result.report.untrusted.length) return ExitCode.refused;
      if (result.report.interruptedRun) return ExitCode.interrupted;
      if (result.report.planRefusal) return ExitCode.refused;
      return result.report.upToDate ? ExitCode.ok : ExitCode.pending;
    case 'verify':
      if (result.report.replicas.some((r) => !r.reachable || r.error)) return ExitCode.connection;
      return result.report.identical ? ExitCode.ok : ExitCode.verifyDiffers;
    case 'validate':
      return result.drifted ? ExitCode.refused : ExitCode.ok;
    case 'sandbox-status':
      return result.allReachable ? ExitCode.ok : ExitCode.connection;
    case 'other':
      return ExitCode.ok;
  }
}

/**
 * One command invocation's outcome, handed to the handlers through yargs' parse context (no
 * module state: `main()` can be called again, as the tests do).
 */
export class CommandOutcome {
  code: number = ExitCode.ok;
  /** The command printed its result document (an error document is not added then). */
  printed = false;
  finish(result: CommandResult): void {
    this.code = exitCodeForResult(result);
  }
}

/** What every handler's argv carries besides its flags. */
export interface OutcomeArgs {
  outcome: CommandOutcome;
}

export function messageFor(err: unknown): string {
  if (err instanceof UpgradeError) return err.message;
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return `internal error (a bug in ldap-upgrade; please report it with this message): ${detail}`;
}

/** The `--json` form of an error (kind `error`). */
export function errorDocument(exitCode: number, message: string, err: unknown): Record<string, unknown> {
  const details: Record<string, unknown> = {};
  const e = err as { name?: string; server?: string; code?: unknown; diagnostic?: string } | undefined;
  if (e?.name) details.type = e.name;
  if (e?.server) details.server = e.server;
  if (typeof e?.code === 'number') details.ldapResultCode = e.code;
  if (e?.diagnostic) details.diagnostic = e.diagnostic;
  return { kind: 'error', formatVersion: 1, exitCode, message, details };
}
