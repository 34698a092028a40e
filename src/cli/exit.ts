import { ExitCode, UpgradeError } from '../errors.js';

/** The one place where errors become exit codes and one-line messages (STYLE: errors). */
export function exitCodeFor(err: unknown): number {
  return err instanceof UpgradeError ? err.exitCode : ExitCode.internal;
}

export function messageFor(err: unknown): string {
  if (err instanceof UpgradeError) return err.message;
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return `internal error (a bug in ldap-upgrade; please report it with this message): ${detail}`;
}

/** Exit code set by a command handler (handlers never call process.exit). */
let code: number = ExitCode.ok;
export function setExitCode(value: number): void {
  code = value;
}
export function currentExitCode(): number {
  return code;
}
