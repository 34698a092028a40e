/**
 * Typed errors of the tool. Every expected failure is one of these; the CLI entry turns them
 * into exit codes in one place (see `cli/exit.ts`). Messages are one line and never hold a password.
 */

export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  connection: 3,
  locked: 4,
  scriptFailed: 5,
  notConverged: 6,
  refused: 7,
  interrupted: 8,
  verifyDiffers: 9,
  pending: 10,
  /** Ctrl-C or "n" at a prompt, or SIGINT during a run (128 + SIGINT). */
  cancelled: 130,
  /** SIGTERM during a run (128 + SIGTERM): rolled back, replicas unfrozen. */
  terminated: 143,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class UpgradeError extends Error {
  abstract readonly exitCode: ExitCodeValue;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad flags, bad configuration file, bad script files. Exit 2. */
export class UsageError extends UpgradeError {
  readonly exitCode = ExitCode.usage;
}

/** A bad flag value, found while the command line is parsed (before anything else). Exit 2. */
export class CommandLineError extends UsageError {}

/** Bad configuration file: the message names file:line:column and the key. Exit 2. */
export class ConfigError extends UsageError {}

/** An upgrade script folder or file that cannot be used. Exit 2. */
export class ScriptFileError extends UsageError {}

/** A local file or folder (journal, log, backup) that cannot be created or written. Exit 2. */
export class LocalFileError extends UsageError {}

/** A file given on the command line is not what it must be (a plan file truncated, not a plan). */
export class InvalidInputError extends UsageError {}

/** Cannot connect, TLS failure, bind refused, no password available. Exit 3. */
export class ConnectionError extends UpgradeError {
  readonly exitCode = ExitCode.connection;
  /** The LDAP result code of a refused bind (49: invalid credentials), when that was the cause. */
  readonly ldapCode?: number;
  /** `host:port` of the server it is about, when it is about one. */
  readonly server?: string;
  /** The connection was lost and could not be made (and bound) again within the reconnect window. */
  readonly reconnectFailed: boolean;
  constructor(message: string, options?: { cause?: unknown; ldapCode?: number; server?: string; reconnectFailed?: boolean }) {
    super(message, options);
    this.ldapCode = options?.ldapCode;
    this.server = options?.server;
    this.reconnectFailed = options?.reconnectFailed === true;
  }
}

/** Another run holds the lock. Exit 4. */
export class LockedError extends UpgradeError {
  readonly exitCode = ExitCode.locked;
}

/** Preflight failed, downgrade, data newer than tool, unknown tag, missing --force. Exit 7. */
export class RefusedError extends UpgradeError {
  readonly exitCode = ExitCode.refused;
}

/** An interrupted run was found; `recover` or `upgrade --resume` is needed. Exit 8. */
export class InterruptedRunError extends UpgradeError {
  readonly exitCode = ExitCode.interrupted;
}

/**
 * An LDAP operation failed with a result code. `server` is host:port; `code` the LDAP result
 * code (e.g. 49 invalid credentials, 53 unwilling to perform, 10 referral).
 */
export class LdapOperationError extends UpgradeError {
  /**
   * A server's refusal is not a bug of the tool: credentials and availability problems are
   * connection failures (3), anything else the server refused is a refusal (7). Script failures
   * are wrapped elsewhere (5).
   */
  readonly exitCode: ExitCodeValue;
  /** The server's own diagnostic text, when it sent one. */
  readonly diagnostic?: string;
  constructor(
    readonly server: string,
    readonly code: number,
    readonly detail: string,
    options?: { cause?: unknown; diagnostic?: string },
  ) {
    super(`${server}: ${detail} (${code})`, options);
    this.diagnostic = options?.diagnostic;
    this.exitCode = CONNECTION_CODES.has(code) ? ExitCode.connection : ExitCode.refused;
  }
}

/** Result codes that mean "cannot work with this server as these credentials": exit 3. */
const CONNECTION_CODES = new Set([7, 8, 13, 48, 49, 51, 52]);

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A script failed (in a dry run: would fail). Exit 5. */
export class ScriptFailedError extends UpgradeError {
  readonly exitCode = ExitCode.scriptFailed;
}

/** Ctrl-C at a prompt, or "n" at the confirmation: nothing was changed. Exit 130. */
export class CancelledError extends UpgradeError {
  readonly exitCode = ExitCode.cancelled;
}
