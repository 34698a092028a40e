import { describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/scripts/runtime/filter-match.js';
import { effectiveChanges } from '../../src/scripts/runtime/script-context.js';
import type { LdapEntry } from '../../src/ldap/entry.js';

const entry: LdapEntry = { dn: 'uid=a,dc=x', attributes: { objectClass: ['inetOrgPerson'], mail: ['a@x.org'], sn: ['Lovelace'], employeeNumber: ['1007'] } };

describe('effectiveChanges (idempotent writes)', () => {
  it('drops values already present and deletions of absent ones', () => {
    expect(effectiveChanges(entry, [
      { operation: 'add', attribute: 'MAIL', values: ['A@x.org', 'b@x.org'] },
      { operation: 'delete', attribute: 'description', values: [] },
      { operation: 'delete', attribute: 'mail', values: ['nope@x.org'] },
      { operation: 'replace', attribute: 'sn', values: ['lovelace'] },
    ])).toEqual([{ operation: 'add', attribute: 'MAIL', values: ['b@x.org'] }]);
  });

  it('follows earlier changes of the same modify', () => {
    expect(effectiveChanges(entry, [
      { operation: 'delete', attribute: 'mail', values: [] },
      { operation: 'add', attribute: 'mail', values: ['a@x.org'] },
    ])).toEqual([
      { operation: 'delete', attribute: 'mail', values: [] },
      { operation: 'add', attribute: 'mail', values: ['a@x.org'] },
    ]);
  });

  it('is empty when re-run on its own result', () => {
    expect(effectiveChanges(entry, [{ operation: 'replace', attribute: 'mail', values: ['a@x.org'] }])).toEqual([]);
  });
});

describe('filters on planned entries (dry-run overlay)', () => {
  it.each([
    ['(objectClass=inetOrgPerson)', true],
    ['(&(mail=*)(!(description=*)))', true],
    ['(|(sn=nobody)(mail=A@X.ORG))', true],
    ['(sn=Love*)', true],
    ['(sn=*ace)', true],
    ['(sn=*x*)', false],
    ['(employeeNumber>=1000)', true],
    ['(employeeNumber<=999)', false],
    ['(description=*)', false],
  ])('%s → %s', (filter, expected) => {
    expect(compileFilter(filter)(entry)).toBe(expected);
  });
});
