import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

/**
 * SHA-256 of a script's normalised text: line endings as LF, trailing blanks of each line and
 * trailing empty lines removed, so an editor's reformatting does not count as a change.
 */
export function scriptChecksum(text: string): string {
  const sum = new LineChecksum();
  const lines = text.split('\n');
  for (const line of lines) sum.line(line);
  return sum.digest();
}

/** What the catalog learns from one pass over a script file. */
export interface ScriptFileFacts {
  checksum: string;
  /** Lines that start a record (`dn:`): an LDIF script's record count, for its progress. */
  records: number;
  /** A line matched `unwritten` (the template `ldap-upgrade new` made). */
  unwritten: boolean;
}

/**
 * The checksum of a file, streamed (a 1 GB LDIF script is never one string), equal to
 * `scriptChecksum` of its text as `readFileSync(path, 'utf8')` decodes it.
 */
export function fileFacts(path: string, unwritten: RegExp): ScriptFileFacts {
  const sum = new LineChecksum();
  const facts = { records: 0, unwritten: false };
  const onLine = (line: string) => {
    if (line.length >= 3 && (line.charCodeAt(0) | 0x20) === 0x64 && (line.charCodeAt(1) | 0x20) === 0x6e && line.charCodeAt(2) === 0x3a) facts.records++;
    if (!facts.unwritten && unwritten.test(line)) facts.unwritten = true;
    sum.line(line);
  };
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    let pending = '';
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      const text = pending + decoder.decode(buffer.subarray(0, n), { stream: n > 0 });
      const parts = text.split('\n');
      pending = parts.pop()!;
      for (const p of parts) onLine(p);
      if (n === 0) break;
    }
    onLine(pending);
  } finally {
    closeSync(fd);
  }
  return { checksum: sum.digest(), ...facts };
}

/**
 * The normalised text fed line by line (each line as split at LF): a line's CR before its LF and
 * trailing blanks dropped, the BOM of the first line dropped, empty lines at the end dropped.
 */
class LineChecksum {
  private readonly hash: Hash = createHash('sha256');
  private first = true;
  /** Line feeds owed before the next non-empty line (none are written after the last). */
  private owed = 0;

  line(raw: string): void {
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (this.first && text.startsWith('\uFEFF')) text = text.slice(1);
    text = text.replace(/[ \t]+$/, '');
    if (!this.first) this.owed++;
    this.first = false;
    if (text === '') return;
    if (this.owed) this.hash.update('\n'.repeat(this.owed));
    this.owed = 0;
    this.hash.update(text, 'utf8');
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
