import type { AttributeValue, LdapEntry } from '../ldap/entry.js';
import type { ChangeRecord } from './types.js';

const WIDTH = 76;

/** RFC 2849 SAFE-STRING test: otherwise the value is written base64 (`::`). */
function isSafe(value: string): boolean {
  if (value === '') return true;
  if (/^[ :<]/.test(value) || value.endsWith(' ')) return false;
  return /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value);
}

/** One `name: value` line, base64 when needed, folded at 76 columns. */
export function attributeLine(name: string, value: AttributeValue): string {
  let line: string;
  if (Buffer.isBuffer(value)) {
    const str = value.toString('utf8');
    line = Buffer.from(str, 'utf8').equals(value) && isSafe(str) ? `${name}: ${str}` : `${name}:: ${value.toString('base64')}`;
  } else {
    line = isSafe(value) ? `${name}: ${value}` : `${name}:: ${Buffer.from(value, 'utf8').toString('base64')}`;
  }
  return fold(line);
}

function fold(line: string): string {
  if (line.length <= WIDTH) return line;
  const parts = [line.slice(0, WIDTH)];
  for (let i = WIDTH; i < line.length; i += WIDTH - 1) parts.push(' ' + line.slice(i, i + WIDTH - 1));
  return parts.join('\n');
}

/** A change record as LDIF text (no trailing blank line). */
export function formatRecord(record: ChangeRecord): string {
  const out = [attributeLine('dn', record.dn)];
  switch (record.kind) {
    case 'add':
      out.push('changetype: add');
      for (const [name, values] of Object.entries(record.attributes)) for (const v of values) out.push(attributeLine(name, v));
      break;
    case 'delete':
      out.push('changetype: delete');
      break;
    case 'modrdn':
      out.push('changetype: modrdn', attributeLine('newrdn', record.newRdn), `deleteoldrdn: ${record.deleteOldRdn ? 1 : 0}`);
      if (record.newSuperior !== undefined) out.push(attributeLine('newsuperior', record.newSuperior));
      break;
    case 'modify':
      out.push('changetype: modify');
      for (const change of record.changes) {
        out.push(`${change.operation}: ${change.attribute}`);
        for (const v of change.values) out.push(attributeLine(change.attribute, v));
        out.push('-');
      }
      break;
  }
  return out.join('\n');
}

/** An entry as an LDIF content record (for backups and dumps). */
export function formatEntry(entry: LdapEntry): string {
  const out = [attributeLine('dn', entry.dn)];
  for (const [name, values] of Object.entries(entry.attributes)) for (const v of values) out.push(attributeLine(name, v));
  return out.join('\n');
}
