import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Output in 64 KiB chunks (to standard output, or to `fd`): a dry run that plans a hundred thousand changes makes a few
 * hundred writes instead of one per change. Nothing is held beyond one chunk; call `flush` at the
 * end (and before anything else is printed).
 */
export class ChunkedStdout {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly fd = 1) {}

  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 65_536) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    writeAll(this.fd, Buffer.from(text));
  }
}

/**
 * A dry run's LDIF, held in a temporary file only this user can read (the LDIF holds entries'
 * values) until the summary has been printed: memory stays flat however many changes are planned.
 */
export class LdifSpool {
  private readonly dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-dry-run-'));
  readonly fd = openSync(join(this.dir, 'planned.ldif'), 'w+', 0o600);

  /** Copies what was written to standard output. */
  copyToStdout(): void {
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (let at = 0; ;) {
      const n = readSync(this.fd, chunk, 0, chunk.length, at);
      if (n === 0) return;
      writeAll(1, chunk.subarray(0, n));
      at += n;
    }
  }

  remove(): void {
    try { closeSync(this.fd); } catch { /* closed */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Writes all of `buffer` to `fd`, synchronously (a pipe may take it in several goes). */
function writeAll(fd: number, data: Buffer): void {
  let buffer = data;
  while (buffer.length > 0) {
    try {
      buffer = buffer.subarray(writeSync(fd, buffer));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

/**
 * Text for a terminal or a log: control characters other than line breaks and tabs shown as
 * `\xNN`. Much of what is printed comes from the directory (DNs, values, server messages, run
 * records), and an escape sequence in it must not drive the operator's terminal.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\0-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
