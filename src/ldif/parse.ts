import { ScriptFileError } from '../errors.js';
import type { AttributeValue, Modification, ModifyOperation } from '../ldap/entry.js';
import type { AddRecord, ChangeRecord } from './types.js';

export interface ParseOptions {
  /** Name used in error messages (`file:line: problem`). */
  file?: string;
  /** `${name}` placeholders and their values; any other `${...}` is an error. */
  placeholders?: Record<string, string>;
}

interface Line {
  text: string;
  no: number;
}

const MERGE_MARK = /^#\s*ldap-upgrade:\s*merge\s*$/i;

/** Parses RFC 2849 LDIF (change records, folded lines, comments, base64 values kept as bytes). */
export function parseLdif(source: string, options: ParseOptions = {}): ChangeRecord[] {
  const file = options.file ?? 'LDIF';
  const fail = (no: number, problem: string): never => {
    throw new ScriptFileError(`${file}:${no}: ${problem}`);
  };
  const records: ChangeRecord[] = [];
  for (const block of blocks(source, fail)) {
    const merge = block.comments.some((c) => MERGE_MARK.test(c));
    const lines = block.lines.map((l) => ({ ...l, text: substitute(l, options.placeholders, fail) }));
    if (lines.length === 0) continue;
    if (/^version:/i.test(lines[0]!.text)) {
      lines.shift();
      if (lines.length === 0) continue;
    }
    records.push(parseRecord(lines, merge, fail));
  }
  return records;
}

/** Splits into records at blank lines, unfolds continuation lines, sets comments apart. */
function blocks(source: string, fail: (no: number, p: string) => never) {
  const out: { lines: Line[]; comments: string[] }[] = [];
  let current: { lines: Line[]; comments: string[] } = { lines: [], comments: [] };
  let lastWasComment = false;
  const raw = source.replace(/^\uFEFF/, '').split(/\r?\n/);
  raw.forEach((text, i) => {
    const no = i + 1;
    if (text.startsWith(' ')) {
      if (lastWasComment) return; // folded comment
      const prev = current.lines[current.lines.length - 1];
      if (!prev) fail(no, 'a continuation line (starting with a space) follows nothing');
      prev!.text += text.slice(1);
      return;
    }
    if (text.startsWith('#')) {
      current.comments.push(text);
      lastWasComment = true;
      return;
    }
    lastWasComment = false;
    if (text.trim() === '') {
      if (current.lines.length > 0) {
        out.push(current);
        current = { lines: [], comments: [] };
      }
      return;
    }
    current.lines.push({ text, no });
  });
  if (current.lines.length > 0) out.push(current);
  return out;
}

function substitute(line: Line, placeholders: Record<string, string> | undefined, fail: (no: number, p: string) => never): string {
  return line.text.replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
    const value = placeholders?.[name];
    if (value === undefined) {
      const known = Object.keys(placeholders ?? {}).map((k) => '${' + k + '}').join(', ');
      return fail(line.no, `unknown placeholder ${whole}${known ? ` (known: ${known})` : ''}`);
    }
    return value;
  });
}

interface AttrVal {
  name: string;
  value: AttributeValue;
  no: number;
}

function attrVal(line: Line, fail: (no: number, p: string) => never): AttrVal {
  if (line.text.trim() === '-') return { name: '-', value: '', no: line.no };
  const m = /^([A-Za-z0-9][A-Za-z0-9;.\-]*)\s*:(.*)$/.exec(line.text);
  if (!m) return fail(line.no, `expected "attribute: value", got "${line.text.slice(0, 40)}"`);
  const name = m[1]!;
  const rest = m[2]!;
  if (rest.startsWith(':')) {
    const b64 = rest.slice(1).trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) fail(line.no, `${name}: invalid base64 value`);
    return { name, value: Buffer.from(b64, 'base64'), no: line.no };
  }
  if (rest.startsWith('<')) return fail(line.no, `${name}: URL values (":<") are not supported in upgrade scripts; inline the value with "::" base64`);
  return { name, value: rest.replace(/^ +/, ''), no: line.no };
}

function text(v: AttrVal): string {
  return Buffer.isBuffer(v.value) ? v.value.toString('utf8') : v.value;
}

function parseRecord(lines: Line[], merge: boolean, fail: (no: number, p: string) => never): ChangeRecord {
  const first = attrVal(lines[0]!, fail);
  if (first.name.toLowerCase() !== 'dn') fail(first.no, `a record must start with "dn:", got "${first.name}:"`);
  const dn = text(first).trim();
  if (dn === '') fail(first.no, 'empty dn');
  let body = lines.slice(1).map((l) => attrVal(l, fail));
  if (body[0]?.name.toLowerCase() === 'control') fail(body[0].no, 'controls are not supported in upgrade scripts');
  let changetype = 'add'; // a content record (no changetype) is an add
  if (body[0]?.name.toLowerCase() === 'changetype') {
    changetype = text(body[0]).trim().toLowerCase();
    body = body.slice(1);
  }
  const line = first.no;
  switch (changetype) {
    case 'add': {
      if (body.length === 0) fail(line, `${dn}: an add needs attributes`);
      const attributes: AddRecord['attributes'] = {};
      for (const v of body) {
        const key = Object.keys(attributes).find((k) => k.toLowerCase() === v.name.toLowerCase()) ?? v.name;
        (attributes[key] ??= []).push(v.value);
      }
      return { kind: 'add', dn, attributes, merge, line };
    }
    case 'delete':
      if (body.length > 0) fail(body[0]!.no, 'a delete record takes no attributes');
      return { kind: 'delete', dn, line };
    case 'modrdn':
    case 'moddn': {
      const get = (n: string) => body.find((v) => v.name.toLowerCase() === n);
      const newRdn = get('newrdn');
      const del = get('deleteoldrdn');
      if (!newRdn) return fail(line, `${dn}: modrdn needs newrdn:`);
      if (!del || !['0', '1'].includes(text(del).trim())) return fail(del?.no ?? line, `${dn}: modrdn needs deleteoldrdn: 0 or 1`);
      const sup = get('newsuperior');
      return { kind: 'modrdn', dn, newRdn: text(newRdn).trim(), deleteOldRdn: text(del).trim() === '1', newSuperior: sup ? text(sup).trim() : undefined, line };
    }
    case 'modify':
      return { kind: 'modify', dn, changes: parseModifications(body, dn, fail), line };
    default:
      return fail(line, `unknown changetype "${changetype}" (add, modify, delete, modrdn)`);
  }
}

function parseModifications(body: AttrVal[], dn: string, fail: (no: number, p: string) => never): Modification[] {
  const changes: Modification[] = [];
  let i = 0;
  while (i < body.length) {
    const op = body[i]!;
    const operation = op.name.toLowerCase();
    if (!['add', 'delete', 'replace'].includes(operation)) fail(op.no, `${dn}: expected "add:", "delete:" or "replace:", got "${op.name}:"`);
    const attribute = text(op).trim();
    const values: AttributeValue[] = [];
    i++;
    while (i < body.length && body[i]!.name !== '-') {
      const v = body[i]!;
      if (v.name.toLowerCase() !== attribute.toLowerCase()) fail(v.no, `${dn}: "${v.name}" inside "${operation}: ${attribute}" (missing "-" line?)`);
      values.push(v.value);
      i++;
    }
    if (operation === 'add' && values.length === 0) fail(op.no, `${dn}: "add: ${attribute}" needs values`);
    changes.push({ operation: operation as ModifyOperation, attribute, values });
    i++; // the "-" separator
  }
  if (changes.length === 0) fail(body[0]?.no ?? 0, `${dn}: a modify needs changes`);
  return changes;
}
