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

let printed = false;
/** Called when a command has printed its result document (an error document is not added then). */
export function markPrinted(): void {
  printed = true;
}
export function printedReport(): boolean {
  return printed;
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
