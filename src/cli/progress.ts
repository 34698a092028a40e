import type { EventSink, UpgradeEvent } from '../core/events.js';
import type { RunLog } from './run-log.js';

/** One line of text for an event, or undefined when it is only for the live display. */
export function describeEvent(e: UpgradeEvent): string | undefined {
  switch (e.type) {
    case 'phase': return e.message;
    case 'server': return `${e.url}: ${e.ok ? '' : 'PROBLEM: '}${e.message}`;
    case 'script-start': return `[${e.index}/${e.total}] ${e.script} ...`;
    case 'script-end': return e.planned
      ? `${e.script}: planned, ${e.entriesChanged} entr${e.entriesChanged === 1 ? 'y' : 'ies'} would change (nothing written; ${e.durationMs} ms)`
      : `${e.script}: ${e.status}, ${e.entriesChanged} entr${e.entriesChanged === 1 ? 'y' : 'ies'} changed in ${e.durationMs} ms`;
    case 'script-log': return `${e.script}: ${e.message}`;
    case 'replica': return `${e.url}: ${e.action} ${e.ok ? 'ok' : 'FAILED'}: ${e.message}`;
    case 'converge-progress': return e.converged ? `${e.url}: converged after ${e.elapsedMs} ms` : undefined;
    case 'warning': return `warning: ${e.message}`;
    case 'info': return e.message;
  }
}

/**
 * Renders progress on stderr: on a terminal, lines plus one live status line while waiting for
 * replicas; piped, plain timestamped lines; with --json, nothing. Every event also goes to the
 * run's log file, when there is one.
 */
export function progressSink(mode: 'json' | 'tty' | 'plain', log?: RunLog): EventSink {
  const waiting = new Map<string, string>();
  let liveLine = false;
  const clearLive = () => {
    if (liveLine) process.stderr.write('\r\x1b[K');
    liveLine = false;
  };
  return (event) => {
    const text = describeEvent(event);
    if (log) {
      if (event.type === 'phase' && event.runId) log.named(event.runId);
      log.line(text ?? (event.type === 'converge-progress' ? `${event.url}: ${event.detail}` : JSON.stringify(event)));
    }
    if (mode === 'json') return;
    if (mode === 'plain') {
      if (text) process.stderr.write(`${new Date().toISOString()} ${text}\n`);
      return;
    }
    clearLive();
    if (text) process.stderr.write(`${text}\n`);
    if (event.type === 'converge-progress') {
      waiting.set(event.url, event.converged ? 'converged' : event.detail);
      const summary = [...waiting].map(([url, d]) => `${new URL(url).host} ${d}`).join(' | ');
      process.stderr.write(`waiting ${(event.elapsedMs / 1000).toFixed(1)} s: ${summary}`);
      liveLine = true;
    }
  };
}
