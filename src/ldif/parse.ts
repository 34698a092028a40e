import { ScriptFileError } from '../errors.js';
import type { AttributeValue, Modification, ModifyOperation } from '../ldap/entry.js';
import { fileLines, shown, textLines, type LineBatch, type ReadProgress, type TextLine } from './lines.js';
import type { AddRecord, ChangeRecord } from './types.js';

export interface ParseOptions {
  /** Name used in error messages (`file:line: problem`). */
  file?: string;
  /** `${name}` placeholders and their values; any other `${...}` is an error. */
  placeholders?: Record<string, string>;
}

const MERGE_MARK = /^#\s*ldap-upgrade:\s*merge\s*$/i;
/** An attribute description: a name or numeric OID, then options (`;binary`, `;lang-de`, `;read_keys`). */
const DESCRIPTION = /^(?:[A-Za-z][A-Za-z0-9_-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9_-]+)*$/;
/** Names that only start a record: never an attribute inside one. */
const RESERVED = new Set(['dn', 'changetype', 'control']);
/** In a plain (not base64) value: the characters that would not survive as they are. */
// eslint-disable-next-line no-control-regex
const UNSAFE_PLAIN = /[\0-\x08\x0a-\x1f\x7f\u0085\u2028\u2029]/;

/** Parses RFC 2849 LDIF text (change records, folded lines, comments, base64 values kept as bytes). */
export function parseLdif(source: string, options: ParseOptions = {}): ChangeRecord[] {
  return [...ldifRecords(textLines(source, options.file ?? 'LDIF'), options)];
}

/** Streams an LDIF file record by record (flat memory whatever its size); `progress` follows its bytes. */
export function readLdifFile(path: string, options: ParseOptions = {}, progress?: ReadProgress): Generator<ChangeRecord> {
  return ldifRecords(fileLines(path, progress), { ...options, file: options.file ?? path });
}

/**
 * Records from lines, one at a time. A construct the reader does not understand is an error
 * naming file:line and the text — never skipped, never guessed (README "Upgrade scripts").
 */
export function* ldifRecords(batches: Iterable<LineBatch>, options: ParseOptions = {}): Generator<ChangeRecord> {
  const file = options.file ?? 'LDIF';
  const fail = (no: number, problem: string): never => {
    throw new ScriptFileError(`${file}:${no}: ${problem}`);
  };
  let block: TextLine[] = [];
  let comments: string[] = [];
  let lastWasComment = false;
  let first = true;
  const finish = (): ChangeRecord | undefined => {
    const lines = block;
    for (const l of lines) l.text = substitute(l, options.placeholders, fail);
    const merge = comments.some((c) => MERGE_MARK.test(c));
    block = [];
    comments = [];
    if (lines.length === 0) return undefined;
    const starts = first;
    first = false;
    if (/^version\s*:/i.test(lines[0]!.text)) {
      const v = /^version\s*:\s*(.*?)\s*$/i.exec(lines[0]!.text)![1];
      if (!starts) fail(lines[0]!.no, `"version:" belongs on the file's first line only`);
      if (v !== '1') fail(lines[0]!.no, `LDIF version ${shown(v ?? '')}: only version 1 (RFC 2849) is read`);
      lines.shift();
      if (lines.length === 0) return undefined;
    }
    return parseRecord(lines, merge, fail);
  };
  for (const batch of batches) {
    const { texts, first: firstNo } = batch;
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i]!;
      const no = firstNo + i;
      if (text.charCodeAt(0) === 32) {
        if (text.trim() === '') fail(no, 'a line of only spaces: an empty line ends a record, and a line that starts with a space continues the one before — which is meant? (an empty line must be empty)');
        if (lastWasComment) continue; // folded comment
        const prev = block[block.length - 1];
        if (!prev) fail(no, `a continuation line (starting with a space) follows nothing: ${shown(text)}`);
        prev!.text += text.slice(1);
        continue;
      }
      if (text.charCodeAt(0) === 35) {
        comments.push(text);
        lastWasComment = true;
        continue;
      }
      lastWasComment = false;
      if (text === '') {
        const r = finish();
        if (r) yield r;
        continue;
      }
      if (text.charCodeAt(0) === 9 && text.trim() === '') fail(no, 'a line of only blanks (tabs): an empty line must be empty');
      block.push({ text, no });
    }
  }
  const r = finish();
  if (r) yield r;
}

function substitute(line: TextLine, placeholders: Record<string, string> | undefined, fail: (no: number, p: string) => never): string {
  const text = line.text;
  let at = text.indexOf('${');
  if (at < 0) return text;
  let out = '';
  let from = 0;
  while (at >= 0) {
    const close = text.indexOf('}', at + 2);
    if (close < 0) break; // no closing brace: not a placeholder
    const name = text.slice(at + 2, close);
    const value = placeholders && Object.hasOwn(placeholders, name) ? placeholders[name] : undefined;
    if (value === undefined) {
      const known = Object.keys(placeholders ?? {}).map((k) => '${' + k + '}').join(', ');
      return fail(line.no, `unknown placeholder ${shown(text.slice(at, close + 1))}${known ? ` (known: ${known})` : ''}`);
    }
    out += text.slice(from, at) + value;
    from = close + 1;
    at = text.indexOf('${', from);
  }
  return out + text.slice(from);
}

interface AttrVal {
  name: string;
  /** The name in lower case (compared often, made once). */
  lower: string;
  value: AttributeValue;
  no: number;
  /** The value was base64 (`::`): kept exactly, never trimmed. */
  base64: boolean;
}

function attrVal(line: TextLine, fail: (no: number, p: string) => never): AttrVal {
  const lineText = line.text;
  if (lineText === '-') return { name: '-', lower: '-', value: '', no: line.no, base64: false };
  const colon = lineText.indexOf(':');
  if (colon < 0) return fail(line.no, `expected "attribute: value", got ${shown(lineText)}`);
  let nameEnd = colon;
  while (nameEnd > 0 && lineText.charCodeAt(nameEnd - 1) === 32) nameEnd--;
  const name = lineText.slice(0, nameEnd);
  if (!DESCRIPTION.test(name)) {
    return fail(line.no, `${shown(lineText.slice(0, colon))} is not an attribute description (a name or numeric OID, then ;options of letters, digits, "-" and "_")`);
  }
  const rest = lineText.slice(colon + 1);
  if (rest.startsWith(':')) {
    const b64 = rest.slice(1).trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) fail(line.no, `${name}: invalid base64 value ${shown(b64, 40)}`);
    return { name, lower: name.toLowerCase(), value: Buffer.from(b64, 'base64'), no: line.no, base64: true };
  }
  if (rest.startsWith('<')) return fail(line.no, `${name}: URL values (":<") are not supported in upgrade scripts; inline the value with "::" base64`);
  let fill = 0;
  while (rest.charCodeAt(fill) === 32) fill++;
  const value = fill ? rest.slice(fill) : rest;
  const bad = UNSAFE_PLAIN.test(value) ? UNSAFE_PLAIN.exec(value) : null;
  if (bad) {
    fail(line.no, `${name}: the value holds ${describeChar(bad[0])} at column ${lineText.length - value.length + bad.index + 1}: write such a value base64 ("${name}:: …")`);
  }
  return { name, lower: name.toLowerCase(), value, no: line.no, base64: false };
}

function describeChar(c: string): string {
  const names: Record<string, string> = { '\u2028': 'U+2028 LINE SEPARATOR', '\u2029': 'U+2029 PARAGRAPH SEPARATOR', '\u0085': 'U+0085 NEXT LINE', '\0': 'a NUL byte' };
  return names[c] ?? `the control character U+${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`;
}

/** A DN-like value (dn, newrdn, newsuperior) as text: base64 exactly; plain without the blanks around it, but an escaped final space (`cn=b\ `) kept. */
function dnText(v: AttrVal, fail: (no: number, p: string) => never): string {
  if (v.base64) {
    const bytes = v.value as Buffer;
    const text = bytes.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(bytes)) fail(v.no, `${v.name}: the base64 value is not UTF-8 text`);
    return text;
  }
  const s = (v.value as string).replace(/^\s+/, '');
  let end = s.length;
  while (end > 0 && /\s/.test(s[end - 1]!)) {
    let slashes = 0;
    for (let k = end - 2; k >= 0 && s[k] === '\\'; k--) slashes++;
    if (slashes % 2 === 1) break; // the space is escaped: part of the value
    end--;
  }
  return s.slice(0, end);
}

function text(v: AttrVal): string {
  return Buffer.isBuffer(v.value) ? v.value.toString('utf8') : v.value;
}

function parseRecord(lines: TextLine[], merge: boolean, fail: (no: number, p: string) => never): ChangeRecord {
  const first = attrVal(lines[0]!, fail);
  if (first.lower !== 'dn') fail(first.no, `a record must start with "dn:", got ${shown(first.name + ':')}`);
  const dn = dnText(first, fail);
  if (dn === '') fail(first.no, 'empty dn');
  let body: AttrVal[] = [];
  for (let i = 1; i < lines.length; i++) body.push(attrVal(lines[i]!, fail));
  if (body[0]?.lower === 'control') fail(body[0].no, 'controls are not supported in upgrade scripts');
  let changetype = 'add'; // a content record (no changetype) is an add
  let typeLine = first.no;
  if (body[0]?.lower === 'changetype') {
    changetype = text(body[0]).trim().toLowerCase();
    typeLine = body[0].no;
    body = body.slice(1);
  }
  let misplaced: AttrVal | undefined;
  for (const v of body) {
    if (RESERVED.has(v.lower)) {
      misplaced = v;
      break;
    }
  }
  if (misplaced) {
    fail(misplaced.no, misplaced.name.toLowerCase() === 'dn'
      ? `a second "dn:" in the record of ${shown(dn)} (line ${first.no}): records are separated by an empty line`
      : `"${misplaced.name}:" must come right after the record's "dn:" (line ${first.no})`);
  }
  const line = first.no;
  switch (changetype) {
    case 'add': {
      if (body.length === 0) fail(line, `${shown(dn)}: an add needs attributes`);
      const attributes: AddRecord['attributes'] = {};
      const valueLines: Record<string, number[]> = {};
      // The first spelling of a name is its key: `cn` and `CN` are one attribute.
      const keys = new Map<string, string>();
      for (const v of body) {
        if (v.name === '-') fail(v.no, `a "-" line belongs to a modify; this record of ${shown(dn)} is an add`);
        let key = keys.get(v.lower);
        if (key === undefined) {
          key = v.name;
          keys.set(v.lower, key);
          attributes[key] = [];
          valueLines[key] = [];
        }
        attributes[key]!.push(v.value);
        valueLines[key]!.push(v.no);
      }
      return { kind: 'add', dn, attributes, merge, line, valueLines };
    }
    case 'delete':
      if (body.length > 0) fail(body[0]!.no, `a delete record takes no attributes, got ${shown(body[0]!.name + ':')}`);
      return { kind: 'delete', dn, line };
    case 'modrdn':
    case 'moddn':
      return parseModRdn(dn, line, body, fail);
    case 'modify': {
      const valueLines: number[][] = [];
      return { kind: 'modify', dn, changes: parseModifications(body, dn, typeLine, fail, valueLines), line, valueLines };
    }
    default:
      return fail(typeLine, `unknown changetype ${shown(changetype)} (add, modify, delete, modrdn)`);
  }
}

/** newrdn, deleteoldrdn and an optional newsuperior, in that order, each once (as ldapmodify reads them). */
function parseModRdn(dn: string, line: number, body: AttrVal[], fail: (no: number, p: string) => never): ChangeRecord {
  const expected = ['newrdn', 'deleteoldrdn', 'newsuperior'];
  body.forEach((v, i) => {
    if (v.lower !== expected[i]) {
      fail(v.no, i >= expected.length
        ? `${shown(dn)}: a modrdn takes newrdn:, deleteoldrdn: and newsuperior: only; ${shown(v.name + ':')} after them`
        : `${shown(dn)}: expected "${expected[i]}:" here (a modrdn is newrdn:, deleteoldrdn:, then newsuperior: if it moves), got ${shown(v.name + ':')}`);
    }
  });
  const [newRdn, del, sup] = body;
  if (!newRdn) return fail(line, `${shown(dn)}: modrdn needs newrdn:`);
  if (!del || !['0', '1'].includes(text(del).trim())) return fail(del?.no ?? line, `${shown(dn)}: modrdn needs deleteoldrdn: 0 or 1`);
  const rdn = dnText(newRdn, fail);
  if (rdn === '') fail(newRdn.no, `${shown(dn)}: empty newrdn`);
  return { kind: 'modrdn', dn, newRdn: rdn, deleteOldRdn: text(del).trim() === '1', newSuperior: sup ? dnText(sup, fail) : undefined, line };
}

function parseModifications(body: AttrVal[], dn: string, typeLine: number, fail: (no: number, p: string) => never, valueLines: number[][]): Modification[] {
  const changes: Modification[] = [];
  let i = 0;
  while (i < body.length) {
    const op = body[i]!;
    const operation = op.lower;
    if (!['add', 'delete', 'replace'].includes(operation)) fail(op.no, `${shown(dn)}: expected "add:", "delete:" or "replace:", got ${shown(op.name + ':')}`);
    const attribute = text(op).trim();
    if (!DESCRIPTION.test(attribute)) fail(op.no, `${shown(dn)}: "${operation}:" names ${shown(attribute)}, which is not an attribute description`);
    const values: AttributeValue[] = [];
    const lines: number[] = [];
    i++;
    while (i < body.length && body[i]!.name !== '-') {
      const v = body[i]!;
      if (v.lower !== attribute.toLowerCase()) fail(v.no, `${shown(dn)}: ${shown(v.name)} inside "${operation}: ${attribute}" (missing "-" line?)`);
      values.push(v.value);
      lines.push(v.no);
      i++;
    }
    valueLines.push(lines);
    if (operation === 'add' && values.length === 0) fail(op.no, `${shown(dn)}: "add: ${attribute}" needs values`);
    changes.push({ operation: operation as ModifyOperation, attribute, values });
    i++; // the "-" separator
  }
  if (changes.length === 0) fail(typeLine, `${shown(dn)}: a modify needs changes`);
  return changes;
}
