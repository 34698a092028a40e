import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { protectedWriteProblem } from '../../src/scripts/runtime/protected-dns.js';
import { ScriptFileError } from '../../src/errors.js';
import { diffSchema, schemaGaps } from '../../src/schema/compare.js';
import { definitionDifferences, formatDefinition, parseDefinition } from '../../src/schema/definition.js';
import type { ServerSchema } from '../../src/schema/read.js';
import { parseSchemaScript } from '../../src/schema/schema-file.js';
import { accessProblem } from '../../src/servers/openldap/schema.js';
import { discoverScripts } from '../../src/scripts/catalog.js';

const FILES = join(import.meta.dirname, '..', 'fixtures', 'schema-files');
const shipped = (path: string) => readFileSync(join(FILES, path), 'utf8');

function serverSchema(...values: [kind: 'attributeType' | 'objectClass', text: string][]): ServerSchema {
  const s: ServerSchema = { byOid: new Map(), byName: new Map() };
  for (const [kind, text] of values) {
    const d = parseDefinition(kind, text);
    s.byOid.set(`${kind}:${d.oid}`, d);
    for (const n of d.names) s.byName.set(`${kind}:${n.toLowerCase()}`, d);
  }
  return s;
}

describe('schema scripts: the forms servers ship', () => {
  it("OpenLDAP's dyngroup.ldif: macros (chained) expanded, {N} prefixes dropped, attribute types before object classes", () => {
    const s = parseSchemaScript(shipped('openldap/dyngroup.ldif'), 'dyngroup.ldif');
    expect(s.name).toBe('dyngroup');
    const byName = new Map(s.definitions.map((d) => [d.names[0], d]));
    expect(byName.get('memberURL')!.oid).toBe('2.16.840.1.113730.3.1.198');
    expect(byName.get('dgIdentity')!.oid).toBe('1.3.6.1.4.1.4203.666.11.8.1.1');
    expect(byName.get('dgIdentityAux')!.oid).toBe('1.3.6.1.4.1.4203.666.11.8.2.1');
    expect(s.definitions.map((d) => d.kind)).toEqual(['attributeType', 'attributeType', 'attributeType', 'attributeType', 'objectClass', 'objectClass']);
    for (const d of s.definitions) expect(formatDefinition(d)).not.toMatch(/\{\d+\}|DynGroup|Netscape/);
  });

  it("OpenLDAP's openldap.ldif (macros without {N}, multi-line values, comments between values)", () => {
    const s = parseSchemaScript(shipped('openldap/openldap.ldif'), 'openldap.ldif');
    expect(s.definitions.map((d) => `${d.names[0]} ${d.oid}`)).toEqual([
      'OpenLDAPorg 1.3.6.1.4.1.4203.1.4.3', 'OpenLDAPou 1.3.6.1.4.1.4203.1.4.4', 'OpenLDAPperson 1.3.6.1.4.1.4203.1.4.5', 'OpenLDAPdisplayableObject 1.3.6.1.4.1.4203.1.4.6',
    ]);
    expect(s.definitions[2]!.fields.get('SUP')).toEqual(['pilotPerson', 'inetOrgPerson']);
  });

  it("389 DS's 60sudo.ldif (dn: cn=schema, two-space continuation lines, X-ORIGIN): named after the script file", () => {
    const s = parseSchemaScript(shipped('389ds/60sudo.ldif'), '/x/1.2.0/01-sudo.schema.ldif');
    expect(s.name).toBe('sudo');
    expect(s.definitions.filter((d) => d.kind === 'attributeType')).toHaveLength(10);
    const role = s.definitions.find((d) => d.names[0] === 'sudoRole')!;
    expect(role.fields.get('MUST')).toEqual(['cn']);
    expect(role.fields.get('MAY')).toContain('sudoOrder');
    expect(s.definitions.at(-1)).toBe(role);
  });

  it('the changetype: modify form with add:; a superior defined later in the file is placed first', () => {
    const s = parseSchemaScript([
      'dn: cn=schema', 'changetype: modify', 'add: attributeTypes',
      "attributeTypes: ( 1.2.3.2 NAME 'child' SUP parent )",
      "attributeTypes: ( 1.2.3.1 NAME 'parent' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )", '-',
      'add: objectClasses', "objectClasses: ( 1.2.3.9 NAME 'thing' AUXILIARY MAY ( child $ parent ) )", '-', '',
    ].join('\n'), 'x.schema.ldif');
    expect(s.definitions.map((d) => d.names[0])).toEqual(['parent', 'child', 'thing']);
  });

  it('refuses what it cannot carry to both kinds, or that would delete, with the file and line', () => {
    const bad = (text: string) => () => parseSchemaScript(text, 'f.schema.ldif');
    expect(() => parseSchemaScript(shipped('openldap/pmi.ldif'), 'pmi.ldif')).toThrow(/pmi\.ldif:65: olcLdapSyntaxes: LDAP syntaxes are not supported/);
    expect(bad('dn: cn=schema\nchangetype: modify\ndelete: attributeTypes\nattributeTypes: ( 1.2.3 NAME \'x\' )\n')).toThrow(/f\.schema\.ldif:1: .*only adds or changes definitions \(never deletes/);
    expect(bad('dn: cn=schema\nchangetype: modify\nreplace: attributeTypes\nattributeTypes: ( 1.2.3 NAME \'x\' )\n')).toThrow(/never deletes/);
    expect(bad("dn: ou=x,dc=example,dc=com\nobjectClass: organizationalUnit\nou: x\n")).toThrow(/holds cn=schema .* or cn=NAME,cn=schema,cn=config/);
    expect(bad("dn: cn=schema\nattributeTypes: ( MyMacro:1 NAME 'x' )\n")).toThrow(/"MyMacro:1" is neither a numeric OID nor a known macro/);
    expect(bad("dn: cn=schema\nattributeTypes: ( 1.2.3 NAME 'x' )\nattributeTypes: ( 1.2.3 NAME 'y' )\n")).toThrow(/attribute type 1\.2\.3 is defined twice \(first on line 2\)/);
    expect(bad("dn: cn=schema\nattributeTypes: ( 1.2.3 NAME 'x' \n")).toThrow(ScriptFileError);
    expect(bad("dn: cn=schema\nobjectClass: top\n")).toThrow(/holds no attribute type or object class definitions/);
  });
});

describe('schema definitions compared by meaning', () => {
  const sudoRole = parseSchemaScript(shipped('389ds/60sudo.ldif'), '01-sudo.schema.ldif').definitions.find((d) => d.names[0] === 'sudoRole')!;

  it("OpenLDAP's rewrite of a definition (fields reordered, MUST ( cn ) as MUST cn) is the same definition", () => {
    const fromSlapd = parseDefinition('objectClass', "( 1.3.6.1.4.1.15953.9.2.1 NAME 'sudoRole' DESC 'Sudoer Entries' SUP top STRUCTURAL MUST cn MAY ( sudoUser $ sudoHost $ sudoCommand $ sudoRunAs $ sudoRunAsUser $ sudoRunAsGroup $ sudoOption $ sudoOrder $ sudoNotBefore $ sudoNotAfter $ description ) X-ORIGIN 'SUDO' )");
    expect(definitionDifferences(sudoRole, fromSlapd)).toEqual([]);
  });

  it("389 DS's rewrite (inherited matching rules and syntax shown, X-ORIGIN 'user defined') is the same definition", () => {
    const wanted = parseDefinition('attributeType', "( 1.3.6.1.4.1.99999.1 NAME 'luTestAttr' DESC 'x' SUP name )");
    const from389 = parseDefinition('attributeType', "( 1.3.6.1.4.1.99999.1 NAME 'luTestAttr' DESC 'x' SUP name EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 X-ORIGIN 'user defined' )");
    expect(definitionDifferences(wanted, from389)).toEqual([]);
    const aux = parseDefinition('objectClass', "( 1.2.3.9 NAME 'thing' AUXILIARY MAY a )");
    expect(definitionDifferences(aux, parseDefinition('objectClass', "( 1.2.3.9 NAME 'thing' SUP top AUXILIARY MAY a X-ORIGIN ( 'x' 'user defined' ) )"))).toEqual([]);
  });

  it('a real change is one: DESC, a MAY attribute more, SINGLE-VALUE dropped, the kind of class', () => {
    const at = parseDefinition('attributeType', "( 1.2.3.4 NAME 'a' DESC 'one' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )");
    expect(definitionDifferences(at, parseDefinition('attributeType', "( 1.2.3.4 NAME 'a' DESC 'two' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )"))).toEqual(['DESC']);
    expect(definitionDifferences(at, parseDefinition('attributeType', "( 1.2.3.4 NAME 'a' DESC 'one' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"))).toEqual(['SINGLE-VALUE']);
    const oc = parseDefinition('objectClass', "( 1.2.3.9 NAME 'thing' AUXILIARY MAY ( a $ b ) )");
    expect(definitionDifferences(oc, parseDefinition('objectClass', "( 1.2.3.9 NAME 'thing' AUXILIARY MAY a )"))).toEqual(['MAY']);
    expect(definitionDifferences(oc, parseDefinition('objectClass', "( 1.2.3.9 NAME 'thing' STRUCTURAL MAY ( b $ a ) )")).sort()).toEqual(['AUXILIARY', 'STRUCTURAL']);
  });

  it('diff: added, changed, identical, and kept where the server definition is not the script\'s to replace', () => {
    const wanted = parseSchemaScript([
      'dn: cn=schema',
      "attributeTypes: ( 1.2.3.1 NAME 'new' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
      "attributeTypes: ( 1.2.3.2 NAME 'same' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
      "attributeTypes: ( 1.2.3.3 NAME 'mine' DESC 'v2' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
      "attributeTypes: ( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'mine now' SUP name )", '',
    ].join('\n'), 'x.schema.ldif').definitions;
    const server = serverSchema(
      ['attributeType', "( 1.2.3.2 NAME 'same' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 X-ORIGIN 'user defined' )"],
      ['attributeType', "( 1.2.3.3 NAME 'mine' DESC 'v1' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 X-ORIGIN 'user defined' )"],
      ['attributeType', "( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name(s)' SUP name X-ORIGIN 'RFC 4519' )"],
    );
    const d = diffSchema(wanted, server, (actual) => (actual.oid === '2.5.4.3' ? "the server's own" : undefined));
    expect(d.add.map((x) => x.names[0])).toEqual(['new']);
    expect(d.change.map((x) => [x.wanted.names[0], x.fields])).toEqual([['mine', ['DESC']]]);
    expect(d.same.map((x) => x.names[0])).toEqual(['same']);
    expect(d.kept.map((x) => [x.wanted.names[0], x.why])).toEqual([['cn', "the server's own"]]);
  });

  it('schemaGaps: what a node lacks or shows otherwise among the master\'s definitions', () => {
    const master = serverSchema(['attributeType', "( 1.2.3.1 NAME 'a' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"], ['objectClass', "( 1.2.3.9 NAME 'o' AUXILIARY MAY a )"]);
    const node = serverSchema(['objectClass', "( 1.2.3.9 NAME 'o' AUXILIARY MAY ( a $ b ) )"]);
    const gaps = schemaGaps(master, node);
    expect(gaps.missing).toEqual(['attributeType a (1.2.3.1)']);
    expect(gaps.differing).toEqual(['objectClass o (1.2.3.9) (MAY)']);
    expect(schemaGaps(master, master)).toMatchObject({ missingCount: 0, differingCount: 0 });
  });
});

describe('where schema scripts stand', () => {
  it('a version\'s schema scripts come before its data scripts, whatever their prefixes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-schema-'));
    mkdirSync(join(dir, '2.0.0'));
    writeFileSync(join(dir, '2.0.0', '01-entries.ldif'), 'dn: ou=x,dc=example,dc=com\nchangetype: delete\n');
    writeFileSync(join(dir, '2.0.0', '02-sudo.schema.ldif'), shipped('389ds/60sudo.ldif'));
    const scripts = discoverScripts(dir).versions[0]!.scripts;
    expect(scripts.map((s) => [s.name, s.kind])).toEqual([['02-sudo.schema.ldif', 'schema'], ['01-entries.ldif', 'ldif']]);
  });

  it('data scripts may not write cn=config or cn=schema: the refusal points at schema scripts', () => {
    const modify = (dn: string) => ({ kind: 'modify' as const, dn, changes: [] });
    expect(protectedWriteProblem(modify('cn=schema'), 'cn=schema-version,dc=example,dc=com')).toMatch(/may not write cn=schema .*schema script \(NN-name\.schema\.ldif\)/);
    expect(protectedWriteProblem(modify('cn={4}x,cn=schema,cn=config'), undefined)).toMatch(/may not write cn=config/);
    expect(protectedWriteProblem(modify('cn=Subschema'), undefined)).toMatch(/schema script/);
    expect(protectedWriteProblem(modify('ou=config,dc=example,dc=com'), undefined)).toBeUndefined();
  });
});

describe("OpenLDAP: whether configBind may write the schema (slapd's access rules read as slapd does)", () => {
  const me = 'cn=Schema Admin,dc=example,dc=com';
  it('the first rule covering cn=schema,cn=config decides, then the first by naming the DN', () => {
    expect(accessProblem([`{0}to * by dn.exact="${me}" write`], me)).toBeUndefined();
    expect(accessProblem([`{0}to * by dn.exact="${me}" manage by * break`], me)).toBeUndefined();
    expect(accessProblem([`{0}to dn.subtree="cn=schema,cn=config" by dn.exact="${me}" read`, `{1}to * by dn.exact="${me}" write`], me)).toMatch(/rule "\{0\}to dn\.subtree=.*gives it read/);
    expect(accessProblem([`{0}to dn.subtree="cn=schema,cn=config" by users read`], me)).toMatch(/gives it read/);
    expect(accessProblem([`{0}to dn.base="olcDatabase={1}mdb,cn=config" by dn.exact="${me}" write`], me)).toMatch(/no olcAccess there grants it write/);
    expect(accessProblem([`{0}to * by dn.exact="cn=other,dc=example,dc=com" write`], me)).toMatch(/does not name it/);
    expect(accessProblem([], me)).toMatch(/not the cn=config database's olcRootDN/);
  });
  it('rules it cannot judge (groups, attrs=, patterns) are left to the write itself', () => {
    expect(accessProblem(['{0}to * by group.exact="cn=admins,dc=example,dc=com" write'], me)).toBeNull();
    expect(accessProblem(['{0}to attrs=olcAttributeTypes by * read'], me)).toBeNull();
  });
});

describe('the schema reader: what it does not understand is an error naming file:line and the token', () => {
  const schema = (...lines: string[]) => lines.join('\n') + '\n';
  const refused = (text: string) => {
    try {
      parseSchemaScript(text, 'x.schema.ldif');
    } catch (err) {
      expect(err).toBeInstanceOf(ScriptFileError);
      return (err as Error).message;
    }
    throw new Error('not refused');
  };

  it('an error on line 3 of a record names line 3; a duplicate names both lines', () => {
    expect(refused(schema('dn: cn=schema', "attributeTypes: ( 1.2.3.1 NAME 'a' )", "attributeTypes: ( 1.2.3.2 NAME 'b' FROB )"))).toMatch(/^x\.schema\.ldif:3: attributeTypes: "FROB" is not a keyword of an attribute type/);
    expect(refused(schema('dn: cn=schema', "attributeTypes: ( 1.2.3.1 NAME 'a' )", "objectClasses: ( 1.2.3.9 NAME 'o' )", "attributeTypes: ( 1.2.3.1 NAME 'c' )")))
      .toBe('x.schema.ldif:4: attribute type 1.2.3.1 is defined twice (first on line 2)');
    expect(refused(schema('dn: cn=schema', "attributeTypes: ( 1.2.3.1 NAME 'a' )", "attributeTypes: ( 1.2.3.2 NAME 'A' )"))).toBe('x.schema.ldif:3: attribute type A (1.2.3.2) is defined twice (first on line 2)');
    // The changetype: modify form too.
    expect(refused(schema('dn: cn=schema', 'changetype: modify', 'add: attributeTypes', "attributeTypes: ( 1.2.3.1 NAME 'a' )", "attributeTypes: ( 1.2.3.01 NAME 'b' )", '-')))
      .toMatch(/^x\.schema\.ldif:5: attributeTypes: "1\.2\.3\.01" is not a numeric OID \(arcs of digits, no leading zeros/);
  });

  it('superiors that form a cycle: refused naming it (not 51 definitions out of 2)', () => {
    expect(refused(schema('dn: cn=schema', "attributeTypes: ( 1.2.3.1 NAME 'a' SUP b )", "attributeTypes: ( 1.2.3.2 NAME 'b' SUP a )"))).toMatch(/^x\.schema\.ldif:2: the superiors \(SUP\) of attribute types form a cycle: a → b → a/);
    expect(refused(schema('dn: cn=schema', "objectClasses: ( 1.2.3.3 NAME 'self' SUP self AUXILIARY )"))).toMatch(/form a cycle: self → self/);
  });

  it('unknown bare keywords, unbalanced or nested parentheses, a misplaced $, a backslash that is not \\27 or \\5C: refused naming the token', () => {
    const cases: [string, RegExp][] = [
      ["( 1.2.3.1 NAME 'a' SINGLEVALUE )", /"SINGLEVALUE" is not a keyword of an attribute type/],
      ["( 1.2.3.1 NAME 'a' SUP ( b $ c )", /a definition ends with "\)"/],
      ["( 1.2.3.1 NAME 'a' SUP ( b ( c ) ) )", /SUP: a "\(" inside a list/],
      ["( 1.2.3.1 NAME ( 'a' 'b' ) SUP ( b c ) )", /SUP: "c" follows another element without a "\$"/],
      ["( 1.2.3.1 NAME 'a' SUP ( $ b ) )", /SUP: a "\$" with no element before it/],
      ["( 1.2.3.1 NAME 'a' DESC 'it\\'s' )", /a backslash in a quoted string must be \\27 \(a quote\) or \\5C/],
      ["( 1.2.3.1 NAME 'a' USAGE sometimes )", /USAGE "sometimes" is none of/],
      ["( 1.2.3.1 NAME 'a' NAME 'b' )", /NAME is given twice/],
      ["( 1.2..3 NAME 'a' )", /"1\.2\.\.3" is not a numeric OID/],
    ];
    for (const [text, message] of cases) expect(refused(schema('dn: cn=schema', `attributeTypes: ${text}`)), text).toMatch(message);
  });

  it('escaped quotes (\\27) and backslashes (\\5C) are read, and written back escaped', () => {
    const s = parseSchemaScript(schema('dn: cn=schema', "attributeTypes: ( 1.2.3.1 NAME 'a' DESC 'it\\27s a \\5C' )"), 'x.schema.ldif');
    expect(s.definitions[0]!.fields.get('DESC')).toBe("it's a \\");
    expect(formatDefinition(s.definitions[0]!)).toBe("( 1.2.3.1 NAME 'a' DESC 'it\\27s a \\5C' )");
  });

  it('SYNTAX MyMacro{64}: the macro expanded, its bound kept', () => {
    const s = parseSchemaScript(schema('dn: cn=my,cn=schema,cn=config', 'olcObjectIdentifier: MyString 1.3.6.1.4.1.1466.115.121.1.15', "olcAttributeTypes: ( 1.2.3.1 NAME 'a' SYNTAX MyString{64} )"), 'x.schema.ldif');
    expect(s.definitions[0]!.fields.get('SYNTAX')).toBe('1.3.6.1.4.1.1466.115.121.1.15{64}');
  });

  it('version: 2 in a schema file: refused naming the line', () => {
    expect(refused(schema('version: 2', 'dn: cn=schema', "attributeTypes: ( 1.2.3.1 NAME 'a' )"))).toMatch(/^x\.schema\.ldif:1: LDIF version "2"/);
  });
});
