import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

/**
 * SHA-256 of a script's normalised text: line endings as LF, trailing blanks of each line and
 * trailing empty lines removed, so an editor's reformatting does not count as a change.
 */
export function scriptChecksum(text: string): string {
  const sum = new LineChecksum();
  const lines = text.split('\n');
  lines.forEach((line, i) => sum.line(line, i < lines.length - 1));
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
  const onLines = (whole: string) => {
    facts.records += recordStarts(whole);
    if (!facts.unwritten && whole.includes('ldap-upgrade') && whole.split('\n').some((l) => unwritten.test(l))) facts.unwritten = true;
    sum.lines(whole);
  };
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    // Cut at line feeds: each piece starts at the start of a line.
    let pending = '';
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      const text = pending + decoder.decode(buffer.subarray(0, n), { stream: n > 0 });
      const end = text.lastIndexOf('\n') + 1;
      if (end > 0) onLines(text.slice(0, end));
      pending = text.slice(end);
      if (n === 0) break;
    }
    facts.records += recordStarts(pending);
    if (!facts.unwritten && unwritten.test(pending)) facts.unwritten = true;
    sum.line(pending, false);
  } finally {
    closeSync(fd);
  }
  return { checksum: sum.digest(), ...facts };
}

/** Lines of `text` (which starts at a line's start) that begin with `dn:`, in any case. */
function recordStarts(text: string): number {
  let n = 0;
  for (const dn of ['dn:', 'DN:', 'Dn:', 'dN:']) {
    for (let i = text.indexOf(dn); i >= 0; i = text.indexOf(dn, i + 3)) if (i === 0 || text.charCodeAt(i - 1) === 10) n++;
  }
  return n;
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
  /** Normalised text not hashed yet (hashed in batches: one update per line is slow). */
  private parts: string[] = [];
  private size = 0;

  /** One line; `terminated`: a line feed followed it (only a CR right before a line feed is part of the line end). */
  line(raw: string, terminated = true): void {
    let end = raw.length;
    if (terminated && end > 0 && raw.charCodeAt(end - 1) === 13) end--;
    while (end > 0) {
      const c = raw.charCodeAt(end - 1);
      if (c !== 32 && c !== 9) break;
      end--;
    }
    let start = 0;
    if (this.first && raw.charCodeAt(0) === 0xfeff) start = 1;
    if (!this.first) this.owed++;
    this.first = false;
    if (end <= start) return;
    if (this.owed) this.push('\n'.repeat(this.owed));
    this.owed = 0;
    this.push(start === 0 && end === raw.length ? raw : raw.slice(start, end));
  }

  /**
   * Whole lines, each ended by a line feed. Most text needs no normalising (no CR, no blanks at a
   * line's end, no BOM): then it is hashed as it is, the line feeds at its end held back (they
   * are dropped if nothing but empty lines follows); otherwise line by line.
   */
  lines(whole: string): void {
    if (/[ \t\r]\n/.test(whole) || (this.first && whole.charCodeAt(0) === 0xfeff)) {
      const parts = whole.split('\n');
      parts.pop();
      for (const p of parts) this.line(p, true);
      return;
    }
    if (!this.first) this.owed++;
    this.first = false;
    let end = whole.length - 1;
    let m = 0;
    while (end > 0 && whole.charCodeAt(end - 1) === 10) {
      end--;
      m++;
    }
    if (end === 0) {
      this.owed += m;
      return;
    }
    if (this.owed) this.push('\n'.repeat(this.owed));
    this.push(whole.slice(0, end));
    this.owed = m;
  }

  digest(): string {
    if (this.parts.length) this.hash.update(this.parts.join(''), 'utf8');
    return this.hash.digest('hex');
  }

  private push(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size > 1 << 16) {
      this.hash.update(this.parts.join(''), 'utf8');
      this.parts = [];
      this.size = 0;
    }
  }
}
