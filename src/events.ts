/**
 * Progress is events, not printing: the core emits these and never writes to the console. The
 * CLI renders them (live display on a terminal, timestamped lines when piped, nothing with --json)
 * and writes every one to the run's log file.
 */
export type UpgradeEvent =
  | { type: 'phase'; phase: 'preflight' | 'lock' | 'backup' | 'freeze' | 'converge' | 'unfreeze' | 'rollback' | 'recover'; message: string; /** The run it is about, once it has one (the log takes its name). */ runId?: string }
  | { type: 'server'; url: string; message: string; ok: boolean }
  | { type: 'script-start'; index: number; total: number; script: string }
  | { type: 'script-end'; script: string; status: 'Success' | 'Error'; entriesChanged: number; durationMs: number; /** A dry run's: nothing changed. */ planned?: boolean; /** A schema script's: entriesChanged counts definitions. */ schema?: boolean; /** A configuration script's: entriesChanged counts changes on the server with the most. */ config?: boolean }
  | { type: 'script-log'; script: string; message: string }
  /** Every PROGRESS_MS while a script runs: what it changed so far; `done`/`total`: LDIF records. */
  | { type: 'script-progress'; script: string; entriesChanged: number; elapsedMs: number; done?: number; total?: number; /** A dry run's: nothing changed. */ planned?: boolean }
  /** Every PROGRESS_MS while a rollback runs: journal records done of `total`. */
  | { type: 'rollback-progress'; undone: number; done: number; total: number; elapsedMs: number }
  | { type: 'replica'; url: string; action: 'freeze' | 'unfreeze' | 'converge'; ok: boolean; message: string }
  | { type: 'converge-progress'; url: string; converged: boolean; detail: string; elapsedMs: number }
  | { type: 'warning'; message: string }
  | { type: 'info'; message: string };

export type EventSink = (event: UpgradeEvent) => void;

/** How often the progress of a long step is reported ($LDAP_UPGRADE_TEST_PROGRESS_MS: tests). */
export const PROGRESS_MS = Number(process.env.LDAP_UPGRADE_TEST_PROGRESS_MS) || 1_000;

/** Calls `report` every PROGRESS_MS until the returned function is called (the timer never keeps the process alive). */
export function everyProgressTick(report: (elapsedMs: number) => void): () => void {
  const started = Date.now();
  const timer = setInterval(() => report(Date.now() - started), PROGRESS_MS);
  timer.unref();
  return () => clearInterval(timer);
}
