import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { appendToOwnFile, ensureDir } from '../records/local-files.js';

/**
 * The log of one run (docs/internals.md "Scale and speed"): a file in `logDir`, mode 600, that starts with what was run (tool
 * version, config file, command line — which never holds a password: those come from files, the
 * environment or the prompt) and ends with the final report and the exit code, failures included.
 * It is named after the run (`<runId>.log`, `<runId>.recover.log`) once the run has an id, and
 * `<time>-<command>-<pid>.log` before that (a run refused before its lock).
 */
export class RunLog {
  private constructor(public file: string, private readonly command: string) {}

  /** Opens the log, or undefined when `logDir` cannot be written (preflight names that). */
  static open(logDir: string, command: string, header: { version: string; config?: string; args: string[] }): RunLog | undefined {
    try {
      ensureDir(logDir);
      const file = join(logDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${command}-${process.pid}.log`);
      const lines = [
        `ldap-upgrade ${header.version} ${command} (pid ${process.pid})`,
        `config: ${header.config ?? '(none)'}`,
        `command line: ldap-upgrade ${header.args.join(' ')}`,
      ];
      appendToOwnFile(file, lines.map((l) => `${stamp()} ${l}\n`).join(''));
      return new RunLog(file, command);
    } catch {
      return undefined;
    }
  }

  line(text: string): void {
    try { appendToOwnFile(this.file, `${stamp()} ${text}\n`); } catch { /* the log is best effort */ }
  }

  /** Several lines (a report) under one time stamp. */
  block(title: string, text: string): void {
    try { appendToOwnFile(this.file, `${stamp()} ${title}\n${text.replace(/\n?$/, '\n')}`); } catch { /* best effort */ }
  }

  /** The run now has an id: the file takes its name (kept when that name is taken). */
  named(runId: string): void {
    const name = join(this.file, '..', `${runId}${this.command === 'upgrade' ? '' : `.${this.command}`}.log`);
    if (name === this.file || existsSync(name)) return;
    try {
      renameSync(this.file, name);
      this.file = name;
    } catch { /* keeps its first name */ }
  }
}

function stamp(): string {
  return new Date().toISOString();
}

let current: RunLog | undefined;

/** The log of this invocation, if it has one (for the final line written by main). */
export function currentLog(): RunLog | undefined {
  return current;
}

export function setCurrentLog(log: RunLog | undefined): void {
  current = log;
}
