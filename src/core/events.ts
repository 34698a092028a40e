/**
 * Progress is events, not printing: the core emits these and never writes to the console. The
 * CLI renders them (live display on a terminal, timestamped lines when piped, nothing with --json)
 * and writes every one to the run's log file.
 */
export type UpgradeEvent =
  | { type: 'phase'; phase: 'preflight' | 'lock' | 'backup' | 'freeze' | 'apply' | 'converge' | 'unfreeze' | 'unlock' | 'rollback' | 'recover'; message: string; /** The run it is about, once it has one (the log takes its name). */ runId?: string }
  | { type: 'server'; url: string; message: string; ok: boolean }
  | { type: 'script-start'; index: number; total: number; script: string }
  | { type: 'script-end'; script: string; status: 'Success' | 'Error'; entriesChanged: number; durationMs: number; /** A dry run's: nothing changed. */ planned?: boolean }
  | { type: 'script-log'; script: string; message: string }
  | { type: 'replica'; url: string; action: 'freeze' | 'unfreeze' | 'converge'; ok: boolean; message: string }
  | { type: 'converge-progress'; url: string; converged: boolean; detail: string; elapsedMs: number }
  | { type: 'warning'; message: string }
  | { type: 'info'; message: string };

export type EventSink = (event: UpgradeEvent) => void;

export const ignoreEvents: EventSink = () => undefined;
