import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScriptFileError } from '../../src/errors.js';
import { parseLdif, readLdifFile } from '../../src/ldif/parse.js';
import { formatRecord } from '../../src/ldif/write.js';

const dir = mkdtempSync(join(tmpdir(), 'ldif-hardening-'));
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ScriptFileError);
    return (err as Error).message;
  }
  throw new Error('not refused');
};

describe('the LDIF reader: a construct it does not understand is an error naming file:line', () => {
  it('a line of only spaces between two records: refused naming it (not one add of cn=a with a dn attribute)', () => {
    expect(refusal(() => parseLdif('dn: cn=a,dc=x\ncn: a\n \ndn: cn=b,dc=x\ncn: b\n', { file: 'x.ldif' }))).toMatch(/^x\.ldif:3: a line of only spaces/);
  });

  it('a second dn: inside one record: refused naming its line', () => {
    expect(refusal(() => parseLdif('dn: cn=a,dc=x\ncn: a\ndn: cn=b,dc=x\ncn: b\n', { file: 'x.ldif' }))).toMatch(/^x\.ldif:3: a second "dn:" in the record of "cn=a,dc=x" \(line 1\)/);
  });

  it('Latin-1 bytes: refused naming file:line, the column and the byte (not decoded to U+FFFD)', () => {
    const path = file('latin1.ldif', Buffer.from('dn: cn=ok,dc=x\ncn: ok\n\ndn: cn=M\xfcller,dc=x\ncn: M\xfcller\n', 'latin1'));
    const message = refusal(() => [...readLdifFile(path)]);
    expect(message).toBe(`${path}:4: byte 0xfc at column 9 (after "dn: cn=M") is not UTF-8: LDIF text is UTF-8 (save the file as UTF-8, or write the value base64 with "::")`);
  });

  it('a misspelt modrdn line (newsuperiour:): refused naming it, as ldapmodify does (not a rename in place)', () => {
    expect(refusal(() => parseLdif('dn: cn=a,ou=x,dc=x\nchangetype: modrdn\nnewrdn: cn=a\ndeleteoldrdn: 1\nnewsuperiour: ou=y,dc=x\n', { file: 'x.ldif' })))
      .toMatch(/^x\.ldif:5: "cn=a,ou=x,dc=x": expected "newsuperior:" here .*got "newsuperiour:"/);
    expect(refusal(() => parseLdif('dn: cn=a,dc=x\nchangetype: modrdn\ndeleteoldrdn: 1\nnewrdn: cn=b\n', { file: 'x.ldif' }))).toMatch(/^x\.ldif:3: .*expected "newrdn:" here/);
  });

  it('an attribute option with "_" (FreeIPA\'s ipaAllowedToPerform;read_keys) is read, and what the writer writes reads back', () => {
    const [r] = parseLdif('dn: cn=k,dc=x\nchangetype: modify\nadd: ipaAllowedToPerform;read_keys\nipaAllowedToPerform;read_keys: uid=a,dc=x\n-\n');
    expect(r).toMatchObject({ kind: 'modify', changes: [{ operation: 'add', attribute: 'ipaAllowedToPerform;read_keys', values: ['uid=a,dc=x'] }] });
    expect(parseLdif(formatRecord(r!))).toEqual([{ ...r, line: 1 }]);
  });

  it('U+2028 or U+2029 in a plain value, a control character, a CR-only line end: clear errors naming the line and the character', () => {
    expect(refusal(() => parseLdif('dn: cn=a,dc=x\ncn: a\u2028b\n', { file: 'x.ldif' }))).toBe('x.ldif:2: cn: the value holds U+2028 LINE SEPARATOR at column 6: write such a value base64 ("cn:: …")');
    expect(refusal(() => parseLdif('dn: cn=a,dc=x\ndescription: p\u2029q\n', { file: 'x.ldif' }))).toMatch(/^x\.ldif:2: description: the value holds U\+2029 PARAGRAPH SEPARATOR/);
    expect(refusal(() => parseLdif('dn: cn=a,dc=x\ndescription: a\x07b\n', { file: 'x.ldif' }))).toMatch(/^x\.ldif:2: description: the value holds the control character U\+0007 at column 15/);
    const message = refusal(() => parseLdif('dn: cn=a,dc=x\rcn: a\r', { file: 'x.ldif' }));
    expect(message).toBe('x.ldif:1: a carriage return (CR) not followed by a line feed at column 14 ("dn: cn=a,dc=x\\u000d"): lines must end with LF or CRLF');
    expect(message).not.toMatch(/\r/);
    // Base64 carries anything; CRLF line ends are fine.
    expect(parseLdif(`dn: cn=a,dc=x\r\ncn:: ${Buffer.from('a\u2028b').toString('base64')}\r\n`)[0]).toMatchObject({ attributes: { cn: [Buffer.from('a\u2028b')] } });
  });

  it('a base64 DN or newrdn ending in an escaped space keeps it; a plain one too', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const [r] = parseLdif(`dn:: ${b64('cn=a\\ ,dc=x')}\nchangetype: modrdn\nnewrdn:: ${b64('cn=b\\ ')}\ndeleteoldrdn: 1\n`);
    expect(r).toMatchObject({ dn: 'cn=a\\ ,dc=x', newRdn: 'cn=b\\ ' });
    const [p] = parseLdif('dn: cn=a,dc=x\nchangetype: modrdn\nnewrdn: cn=b\\ \ndeleteoldrdn: 1\n');
    expect(p).toMatchObject({ newRdn: 'cn=b\\ ' });
    const [q] = parseLdif('dn: cn=a,dc=x  \nchangetype: delete\n');
    expect(q).toMatchObject({ dn: 'cn=a,dc=x' });
  });

  it('version: 2, or version: further down: refused naming the line', () => {
    expect(refusal(() => parseLdif('version: 2\ndn: cn=a,dc=x\ncn: a\n', { file: 'x.ldif' }))).toMatch(/^x\.ldif:1: LDIF version "2": only version 1/);
    expect(refusal(() => parseLdif('dn: cn=a,dc=x\ncn: a\n\nversion: 1\n', { file: 'x.ldif' }))).toMatch(/^x\.ldif:4: "version:" belongs on the file's first line only/);
    expect(parseLdif('version: 1\ndn: cn=a,dc=x\ncn: a\n')).toHaveLength(1);
  });

  it('an empty modify: reported at its own line (its changetype), not line 0', () => {
    expect(refusal(() => parseLdif('\n\ndn: cn=a,dc=x\nchangetype: modify\n', { file: 'x.ldif' }))).toMatch(/^x\.ldif:4: "cn=a,dc=x": a modify needs changes/);
  });

  it('a "-" in an add, changetype not right after dn, an attribute name with bad characters: refused naming the line', () => {
    expect(refusal(() => parseLdif('dn: cn=a,dc=x\ncn: a\n-\n', { file: 'x.ldif' }))).toMatch(/^x\.ldif:3: a "-" line belongs to a modify/);
    expect(refusal(() => parseLdif('dn: cn=a,dc=x\ncn: a\nchangetype: delete\n', { file: 'x.ldif' }))).toMatch(/^x\.ldif:3: "changetype:" must come right after/);
    expect(refusal(() => parseLdif('dn: cn=a,dc=x\nc n: a\n', { file: 'x.ldif' }))).toMatch(/^x\.ldif:2: "c n" is not an attribute description/);
  });

  it('a streamed file: records across read chunks, multi-byte characters at chunk edges, CRLF, progress by bytes', () => {
    const records = 20_000;
    const text = Array.from({ length: records }, (_, i) => `dn: cn=Müller ${i},dc=x\r\nobjectClass: device\r\ncn: Müller ${i}\r\ndescription: ${'€'.repeat(i % 50)}\r\n`).join('\r\n');
    const path = file('big.ldif', text);
    const progress = { bytesRead: 0, size: 0 };
    let n = 0;
    for (const r of readLdifFile(path, {}, progress)) {
      if (r.kind !== 'add') throw new Error('not an add');
      expect(r.attributes.description?.[0]).toBe('€'.repeat(n % 50));
      n++;
    }
    expect(n).toBe(records);
    expect(progress).toEqual({ bytesRead: Buffer.byteLength(text), size: Buffer.byteLength(text) });
    expect(parseLdif(text)).toHaveLength(records);
  });
});

describe('what the writer writes, the reader reads back exactly', () => {
  it('2,000 random records: names with options and _, values of any bytes or characters (U+2028, leading spaces and colons, trailing spaces, CR, NUL)', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const pieces = ['a', 'Z', ' ', ':', '<', '\u2028', '\u2029', 'é', '€', '𝄞', '\r', '\0', '\t', '\\', ',', '=', '-', '#'];
    const text = () => Array.from({ length: rnd(12) }, () => pieces[rnd(pieces.length)]).join('');
    const value = () => (rnd(3) === 0 ? Buffer.from(Array.from({ length: rnd(20) }, () => rnd(256))) : text());
    const name = () => ['cn', 'description', 'ipaAllowedToPerform;read_keys', 'userCertificate;binary', 'x-my_attr', '2.5.4.3', 'cn;lang-de'][rnd(7)]!;
    for (let i = 0; i < 2000; i++) {
      const dn = `cn=${text().replace(/[,=+<>#;\\"]/g, '') || 'x'}${i},dc=x`;
      const kind = rnd(3);
      const record = kind === 0
        ? { kind: 'add' as const, dn, attributes: { [name()]: [value()], objectClass: ['device'] }, merge: false, line: 0 }
        : kind === 1
          ? { kind: 'modify' as const, dn, changes: [{ operation: 'replace' as const, attribute: name(), values: [value(), value()] }], line: 0 }
          : { kind: 'delete' as const, dn, line: 0 };
      const [back] = parseLdif(formatRecord(record));
      const bytes = (v: unknown) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v)));
      expect(back!.kind).toBe(record.kind);
      expect(back!.dn, JSON.stringify(record.dn)).toBe(record.dn);
      if (record.kind === 'add' && back!.kind === 'add') {
        for (const [k, vs] of Object.entries(record.attributes)) expect(back.attributes[k]!.map(bytes)).toEqual(vs.map(bytes));
      }
      if (record.kind === 'modify' && back!.kind === 'modify') expect(back.changes[0]!.values.map(bytes)).toEqual(record.changes[0]!.values.map(bytes));
    }
  });
});
