import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileFacts, scriptChecksum } from '../../src/scripts/checksum.js';

/** The checksum as earlier versions computed it (the directory's history holds those): it must not move. */
function earlier(text: string): string {
  const normalised = text.replace(/^\uFEFF/, '').split(/\r?\n/).map((l) => l.replace(/[ \t]+$/, '')).join('\n').replace(/\n+$/, '');
  return createHash('sha256').update(normalised, 'utf8').digest('hex');
}

const dir = mkdtempSync(join(tmpdir(), 'checksum-'));
const UNWRITTEN = /^\s*(#|\/\/)\s*ldap-upgrade: unwritten\b/;

describe('script checksums, streamed from the file', () => {
  const texts = [
    '', '\n\n', 'a', 'a\n', '\uFEFFdn: x\r\ncn: y  \r\n\r\n\r\n', 'a\r \nb\t\n', '\n\na\n\n b\n\n', 'x\u2028y\n', ' \t\n', 'a\rb\n', 'éü€𝄞\n', 'ends in a CR\r', 'a \r\n\r\r\n', 'a\r \n',
  ];
  it('equal to the earlier whole-text checksum, text by text', () => {
    for (const t of texts) expect(scriptChecksum(t), JSON.stringify(t)).toBe(earlier(t));
  });

  it('a file streamed in 1 MB chunks (multi-byte characters across them, Latin-1 bytes, CRLF) has the checksum of its text', () => {
    const big = Array.from({ length: 60_000 }, (_, i) => `dn: cn=${'é€'.repeat(i % 7)}${i},dc=x  \r\ncn: ${i}\r\n`).join('\r\n');
    // LF only (hashed a chunk at a time), with runs of empty lines everywhere and at the end;
    // and mixed: some chunks need line-by-line normalising, others not.
    const lf = Array.from({ length: 60_000 }, (_, i) => `dn: cn=${i},dc=x\ncn: ${'€'.repeat(i % 5)}${i}\n${'\n'.repeat(i % 4)}`).join('') + '\n\n\n';
    const mixed = Array.from({ length: 60_000 }, (_, i) => `dn: cn=${i},dc=x${i % 9000 === 0 ? ' \t' : ''}\ncn: ${i}${i % 13000 === 0 ? '\r' : ''}\n\n`).join('');
    const cases: [string, Buffer][] = [
      ['big.ldif', Buffer.from(big)],
      ['lf.ldif', Buffer.from(lf)],
      ['mixed.ldif', Buffer.from(mixed)],
      ['bom.ldif', Buffer.from('\uFEFF' + lf)],
      ['latin1.ldif', Buffer.from('dn: cn=M\xfcller,dc=x\ncn: M\xfcller\n', 'latin1')],
      ...texts.map((t, i): [string, Buffer] => [`t${i}.txt`, Buffer.from(t)]),
    ];
    for (const [name, bytes] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      expect(fileFacts(path, UNWRITTEN).checksum, name).toBe(earlier(readFileSync(path, 'utf8')));
    }
    expect(fileFacts(join(dir, 'big.ldif'), UNWRITTEN).records).toBe(60_000);
  });

  it('finds the unwritten mark on any line', () => {
    const path = join(dir, 'new.ts');
    writeFileSync(path, 'export default {};\n// ldap-upgrade: unwritten — delete this line\n');
    expect(fileFacts(path, UNWRITTEN).unwritten).toBe(true);
    writeFileSync(path, 'export default {}; // ldap-upgrade: unwritten\n');
    expect(fileFacts(path, UNWRITTEN).unwritten).toBe(false);
  });
});
