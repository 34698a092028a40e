import { describe, expect, it } from 'vitest';
import { ScriptFileError } from '../../src/errors.js';
import { parseLdif } from '../../src/ldif/parse.js';
import { attributeLine, formatRecord } from '../../src/ldif/write.js';

describe('parseLdif', () => {
  it('parses the four change types with placeholders', () => {
    const records = parseLdif(`version: 1

# a comment
dn: ou=x,\${suffix}
changetype: add
objectClass: organizationalUnit
ou: x

dn: cn=a,\${suffix}
changetype: modify
add: mail
mail: a@example.com
mail: b@example.com
-
delete: description
-
replace: sn
sn: A
-

dn: cn=b,\${suffix}
changetype: delete

dn: cn=c,\${suffix}
changetype: modrdn
newrdn: cn=d
deleteoldrdn: 1
newsuperior: ou=x,\${suffix}
`, { placeholders: { suffix: 'dc=example,dc=com' } });
    expect(records.map((r) => r.kind)).toEqual(['add', 'modify', 'delete', 'modrdn']);
    expect(records[0]).toMatchObject({ dn: 'ou=x,dc=example,dc=com', attributes: { objectClass: ['organizationalUnit'], ou: ['x'] }, line: 4 });
    expect(records[1]).toMatchObject({ changes: [
      { operation: 'add', attribute: 'mail', values: ['a@example.com', 'b@example.com'] },
      { operation: 'delete', attribute: 'description', values: [] },
      { operation: 'replace', attribute: 'sn', values: ['A'] },
    ] });
    expect(records[3]).toMatchObject({ newRdn: 'cn=d', deleteOldRdn: true, newSuperior: 'ou=x,dc=example,dc=com' });
  });

  it('unfolds continuation lines and keeps base64 values as bytes', () => {
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13]);
    const [r] = parseLdif(`dn: cn=a,dc=x\nchangetype: add\ndescription: one long\n  line\nuserCertificate;binary:: ${bytes.toString('base64')}\n`);
    expect(r!.kind).toBe('add');
    const attrs = (r as { attributes: Record<string, unknown[]> }).attributes;
    expect(attrs.description).toEqual(['one long line']);
    expect(Buffer.isBuffer(attrs['userCertificate;binary']![0])).toBe(true);
    expect((attrs['userCertificate;binary']![0] as Buffer).equals(bytes)).toBe(true);
  });

  it('sees the merge mark of a record', () => {
    const [a, b] = parseLdif('# ldap-upgrade: merge\ndn: cn=a,dc=x\nobjectClass: device\ncn: a\n\ndn: cn=b,dc=x\nobjectClass: device\ncn: b\n');
    expect(a).toMatchObject({ kind: 'add', merge: true });
    expect(b).toMatchObject({ kind: 'add', merge: false });
  });

  it.each([
    ['dn: cn=a\nchangetype: frobnicate\n', /x\.ldif:2: unknown changetype "frobnicate"/],
    ['\n\ncn: a\n', /x\.ldif:3: a record must start with "dn:"/],
    ['dn: cn=a\nchangetype: modify\nadd: mail\nsn: x\n-\n', /x\.ldif:4: .*"sn" inside "add: mail"/],
    ['dn: cn=a\nchangetype: add\njpegPhoto:: !!!\n', /x\.ldif:3: jpegPhoto: invalid base64/],
    ['dn: ${nope},dc=x\nchangetype: delete\n', /x\.ldif:1: unknown placeholder "\$\{nope\}"/],
    ['dn: cn=a\nchangetype: modrdn\nnewrdn: cn=b\n', /x\.ldif:1: .*deleteoldrdn/],
  ])('reports %j with file:line', (text, message) => {
    expect(() => parseLdif(text, { file: 'x.ldif', placeholders: { suffix: 'dc=x' } })).toThrow(ScriptFileError);
    expect(() => parseLdif(text, { file: 'x.ldif', placeholders: { suffix: 'dc=x' } })).toThrow(message);
  });
});

describe('LDIF writer', () => {
  it('round-trips records, binary values and long lines', () => {
    const bytes = Buffer.from([0x30, 0x82, 0x01, 0x0a, 0x00, 0xff]);
    const long = 'x'.repeat(200);
    const source = { kind: 'add' as const, dn: 'cn=é,dc=x', attributes: { objectClass: ['device'], description: [long, ' leading space', 'ünïcode'], cACertificate: [bytes] }, merge: false, line: 0 };
    const text = formatRecord(source);
    expect(text.split('\n').every((l) => l.length <= 76)).toBe(true);
    const [back] = parseLdif(text);
    expect(back).toMatchObject({ kind: 'add', dn: 'cn=é,dc=x' });
    const attrs = (back as typeof source).attributes;
    // Base64 values come back as bytes: compare as text where they were text.
    expect(attrs.description!.map(String)).toEqual([long, ' leading space', 'ünïcode']);
    expect(Buffer.from(attrs.cACertificate![0] as Buffer).equals(bytes)).toBe(true);
  });

  it('writes safe strings plainly and unsafe ones in base64', () => {
    expect(attributeLine('cn', 'plain')).toBe('cn: plain');
    expect(attributeLine('cn', ':colon')).toBe(`cn:: ${Buffer.from(':colon').toString('base64')}`);
    expect(attributeLine('cn', 'trailing ')).toMatch(/^cn:: /);
    expect(attributeLine('cn', 'a\nb')).toMatch(/^cn:: /);
  });

  it('round-trips a modify record', () => {
    const rec = { kind: 'modify' as const, dn: 'cn=a,dc=x', changes: [{ operation: 'delete' as const, attribute: 'member', values: ['cn=z'] }, { operation: 'replace' as const, attribute: 'sn', values: [] }], line: 0 };
    expect(parseLdif(formatRecord(rec))[0]).toMatchObject({ kind: 'modify', changes: rec.changes });
  });
});
