import { PROGRESS_MS, type EventSink, type UpgradeEvent } from '../events.js';
import { terminalSafe } from './output.js';
import type { RunLog } from './run-log.js';

const safe = (text: string | undefined) => (text === undefined ? undefined : terminalSafe(text));

/** One line of text for an event, or undefined when it is only for the live display. */
export function describeEvent(e: UpgradeEvent): string | undefined {
  switch (e.type) {
    case 'phase': return e.message;
    case 'server': return `${e.url}: ${e.ok ? '' : 'PROBLEM: '}${e.message}`;
    case 'script-start': return `[${e.index}/${e.total}] ${e.script} ...`;
    case 'script-end': {
      const what = e.schema ? `definition${e.entriesChanged === 1 ? '' : 's'}` : e.config ? `configuration change${e.entriesChanged === 1 ? '' : 's'}` : `entr${e.entriesChanged === 1 ? 'y' : 'ies'}`;
      const where = e.config ? ' (on the server with the most)' : '';
      return e.planned
        ? `${e.script}: planned, ${e.entriesChanged} ${what} would ${e.config ? 'be made' : 'change'}${where} (nothing written; ${e.durationMs} ms)`
        : `${e.script}: ${e.status}, ${e.entriesChanged} ${what} ${e.schema ? 'added or changed' : e.config ? 'made' : 'changed'}${where} in ${e.durationMs} ms`;
    }
    case 'script-log': return `${e.script}: ${e.message}`;
    case 'replica': return `${e.url}: ${e.action} ${e.ok ? 'ok' : 'FAILED'}: ${e.message}`;
    case 'converge-progress': return e.converged ? `${e.url}: converged after ${e.elapsedMs} ms` : undefined;
    case 'warning': return `warning: ${e.message}`;
    case 'info': return e.message;
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const perSecond = (n: number, ms: number) => (ms > 0 ? Math.round((n * 1000) / ms) : 0);
const left = (done: number, total: number, ms: number) => (done > 0 && total > done ? `, about ${Math.ceil(((total - done) * ms) / done / 1000)} s left` : '');

/** A progress event as one line (the live line on a terminal; every PLAIN_EVERY_MS in logs and piped output). */
export function describeProgress(e: UpgradeEvent): string | undefined {
  switch (e.type) {
    case 'script-progress': {
      const of = e.total !== undefined && e.done !== undefined ? `, record ${e.done} of ${e.total} (${Math.floor((e.done * 100) / Math.max(1, e.total))} %)${left(e.done, e.total, e.elapsedMs)}` : '';
      return `${e.script}: ${e.entriesChanged} entr${e.entriesChanged === 1 ? 'y' : 'ies'} ${e.planned ? 'would change' : 'changed'} so far, ${perSecond(e.entriesChanged, e.elapsedMs)}/s, ${seconds(e.elapsedMs)}${of}`;
    }
    case 'rollback-progress':
      return `rollback: ${e.done} of ${e.total} journaled writes looked at, ${e.undone} undone, ${perSecond(e.done, e.elapsedMs)}/s, ${seconds(e.elapsedMs)}${left(e.done, e.total, e.elapsedMs)}`;
    case 'converge-progress':
      return e.converged ? undefined : `${e.url}: ${e.detail} (${seconds(e.elapsedMs)})`;
    default:
      return undefined;
  }
}

/** How often a long step's progress is written when there is no live line (logs, pipes). */
export const PLAIN_EVERY_MS = 5 * PROGRESS_MS;

/** The thing a progress event is about: its lines are spaced by PLAIN_EVERY_MS. */
function progressKey(e: UpgradeEvent): string | undefined {
  return e.type === 'script-progress' ? `script ${e.script}` : e.type === 'rollback-progress' ? 'rollback' : e.type === 'converge-progress' && !e.converged ? `replica ${e.url}` : undefined;
}

/**
 * Renders progress on stderr: on a terminal, lines plus one live status line (a script's entries
 * and rate, the rollback's, the replicas being waited for); piped, plain timestamped lines, a
 * long step's progress every PLAIN_EVERY_MS; with --json, nothing. Every event also goes to the
 * run's log file, when there is one (progress at the same pace as piped output).
 */
export function progressSink(mode: 'json' | 'tty' | 'plain', log?: RunLog): EventSink {
  const waiting = new Map<string, string>();
  const lastLine = new Map<string, number>();
  let liveLine = false;
  const clearLive = () => {
    if (liveLine) process.stderr.write('\r\x1b[K');
    liveLine = false;
  };
  /** Whether a progress line for this key is due (the first one PLAIN_EVERY_MS after its first event). */
  const due = (key: string) => {
    const now = Date.now();
    const last = lastLine.get(key);
    if (last === undefined) lastLine.set(key, now);
    if (last === undefined || now - last < PLAIN_EVERY_MS) return false;
    lastLine.set(key, now);
    return true;
  };
  return (event) => {
    const text = safe(describeEvent(event));
    const key = progressKey(event);
    const progress = key ? safe(describeProgress(event)) : undefined;
    const plainDue = key !== undefined && (log !== undefined || mode === 'plain') && due(key);
    if (log) {
      if (event.type === 'phase' && event.runId) log.named(event.runId);
      if (text) log.line(text);
      else if (progress && plainDue) log.line(progress);
    }
    if (mode === 'json') return;
    if (mode === 'plain') {
      const line = text ?? (plainDue ? progress : undefined);
      if (line) process.stderr.write(`${new Date().toISOString()} ${line}\n`);
      return;
    }
    clearLive();
    if (text) process.stderr.write(`${text}\n`);
    if (event.type === 'converge-progress') {
      waiting.set(event.url, event.converged ? 'converged' : event.detail);
      const summary = [...waiting].map(([url, d]) => `${new URL(url).host} ${d}`).join(' | ');
      process.stderr.write(`waiting ${seconds(event.elapsedMs)}: ${summary}`.slice(0, Math.max(40, (process.stderr.columns || 120) - 1)));
      liveLine = true;
    } else if (progress) {
      process.stderr.write(progress.slice(0, Math.max(40, (process.stderr.columns || 120) - 1)));
      liveLine = true;
    }
  };
}
