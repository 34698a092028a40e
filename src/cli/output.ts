import { writeSync } from 'node:fs';

/**
 * Standard output in 64 KiB chunks: a dry run that plans a hundred thousand changes makes a few
 * hundred writes instead of one per change. Nothing is held beyond one chunk; call `flush` at the
 * end (and before anything else is printed).
 */
export class ChunkedStdout {
  private parts: string[] = [];
  private size = 0;

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
    writeAll(text);
  }
}

/** Writes all of `text` to fd 1, synchronously (a pipe may take it in several goes). */
function writeAll(text: string): void {
  let buffer = Buffer.from(text);
  while (buffer.length > 0) {
    try {
      buffer = buffer.subarray(writeSync(1, buffer));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}
