import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ScriptFileError } from '../errors.js';

/** One line of a text file: its text (without the line end) and its 1-based number. */
export interface TextLine {
  text: string;
  no: number;
}

/** Consecutive lines of a file: `texts[i]` is line `first + i` (without its line end). */
export interface LineBatch {
  texts: string[];
  first: number;
}

/** How far a streamed file has been read (for progress: bytes of the file's size). */
export interface ReadProgress {
  bytesRead: number;
  size: number;
}

const CHUNK = 1 << 16;

/**
 * The lines of a UTF-8 text file, a chunk of lines at a time (flat memory whatever the file's
 * size; no per-line overhead for the reader): LF or CRLF line ends; a byte sequence that is not
 * UTF-8, or a carriage return that is not part of a CRLF, is refused naming file:line (and the
 * byte), never decoded into something else.
 */
export function* fileLines(path: string, progress?: ReadProgress): Generator<LineBatch> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new ScriptFileError(`${path}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  try {
    if (progress) progress.size = fstatSync(fd).size;
    const buffer = Buffer.alloc(CHUNK);
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    let carry = Buffer.alloc(0);
    let no = 1;
    let pending = '';
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, null);
      if (progress) progress.bytesRead += n;
      // Decoded up to the last line feed: a multi-byte character never spans two decodes.
      const data = carry.length ? Buffer.concat([carry, buffer.subarray(0, n)]) : buffer.subarray(0, n);
      const end = n === 0 ? data.length : data.lastIndexOf(0x0a) + 1;
      const whole = data.subarray(0, end);
      carry = Buffer.from(data.subarray(end));
      if (whole.length) {
        let text: string;
        try {
          text = decoder.decode(whole);
        } catch {
          throw notUtf8(path, whole, no - 1);
        }
        const texts = (pending + text).split('\n');
        pending = texts.pop()!;
        if (texts.length) {
          yield checkedBatch(path, texts, no);
          no += texts.length;
        }
      }
      if (n === 0) break;
    }
    if (pending !== '') yield checkedBatch(path, [pending], no);
  } finally {
    closeSync(fd);
  }
}

/** The lines of a text already in memory, with the same checks (LF or CRLF; no lone CR). */
export function* textLines(text: string, file: string): Generator<LineBatch> {
  const texts = text.split('\n');
  if (texts.at(-1) === '') texts.pop();
  if (texts.length) yield checkedBatch(file, texts, 1);
}

/** CRLF ends cut to LF, a lone CR refused, line 1's BOM dropped (in place). */
function checkedBatch(file: string, texts: string[], first: number): LineBatch {
  if (first === 1 && texts[0]!.charCodeAt(0) === 0xfeff) texts[0] = texts[0]!.slice(1);
  // Most files have no CR at all: nothing to look at line by line then.
  if (texts.some((t) => t.includes('\r'))) {
    for (let i = 0; i < texts.length; i++) {
      const raw = texts[i]!;
      const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      const cr = text.indexOf('\r');
      if (cr >= 0) {
        throw new ScriptFileError(`${file}:${first + i}: a carriage return (CR) not followed by a line feed at column ${cr + 1} (${shown(text.slice(0, cr + 1))}): lines must end with LF or CRLF`);
      }
      texts[i] = text;
    }
  }
  return { texts, first };
}

/** Where in `bytes` (the lines after line `before`) the first byte that is not UTF-8 is. */
function notUtf8(file: string, bytes: Buffer, before: number): ScriptFileError {
  const at = invalidUtf8Offset(bytes);
  let line = before + 1;
  let start = 0;
  for (let i = 0; i < at; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  const byte = bytes[at]!.toString(16).padStart(2, '0');
  const before8 = bytes.subarray(start, at).toString('latin1');
  return new ScriptFileError(`${file}:${line}: byte 0x${byte} at column ${at - start + 1} (after ${shown(before8)}) is not UTF-8: LDIF text is UTF-8 (save the file as UTF-8, or write the value base64 with "::")`);
}

/** The offset of the first byte of an invalid UTF-8 sequence (the length when there is none). */
export function invalidUtf8Offset(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const need = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
    }
    // Overlong three- and four-byte forms, surrogates, and code points past U+10FFFF.
    if ((c === 0xe0 && b[i + 1]! < 0xa0) || (c === 0xed && b[i + 1]! > 0x9f) || (c === 0xf0 && b[i + 1]! < 0x90) || (c === 0xf4 && b[i + 1]! > 0x8f)) return i;
    i += need + 1;
  }
  return b.length;
}

/**
 * Text from a file shown in a message: quoted, cut to `max` characters, control characters and
 * the Unicode line and paragraph separators escaped (a message is one line, whatever the input).
 */
export function shown(text: string, max = 60): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  // eslint-disable-next-line no-control-regex
  return `"${cut.replace(/[\0-\x1f\x7f\u0085\u2028\u2029"\\]/g, (c) => (c === '"' || c === '\\' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))}"`;
}
