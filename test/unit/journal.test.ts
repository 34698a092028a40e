import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal, readJournal } from '../../src/records/journal.js';

const pre = (dn: string) => ({ dn, attributes: { description: ['before'] } });
const modify = (dn: string) => ({ kind: 'modify' as const, dn, changes: [{ operation: 'replace' as const, attribute: 'description', values: ['after'] }], pre: pre(dn) });

describe('journal', () => {
  it('leaves out writes the server refused; keeps those whose fate is unknown', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'journal-')), 'run.jsonl');
    const j = new Journal(path);
    j.append(modify('uid=a,dc=t'), 's');
    const refused = j.append(modify('uid=b,dc=t'), 's');
    j.append(modify('uid=c,dc=t'), 's');
    j.refused(refused);
    j.close();
    expect(readJournal(path).map((r) => [r.seq, r.dn, r.attributes])).toEqual([[1, 'uid=a,dc=t', ['description']], [3, 'uid=c,dc=t', ['description']]]);
  });

  it('deferred records reach the file only with writePending (before their writes leave), and at close', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'journal-')), 'run.jsonl');
    const j = new Journal(path);
    j.deferWrites();
    j.append(modify('uid=a,dc=t'), 's');
    expect(readFileSync(path, 'utf8')).toBe('');
    j.writePending();
    expect(readJournal(path)).toHaveLength(1);
    j.refused(j.append(modify('uid=b,dc=t'), 's'));
    j.close();
    expect(readJournal(path)).toHaveLength(1);
    // A reopened journal (resume) numbers on after every record it holds, refused ones included.
    const again = new Journal(path);
    expect(again.append(modify('uid=c,dc=t'), 's')).toBe(3);
    again.close();
  });

  it('ignores a torn last line (killed while writing it): that write was never sent', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'journal-')), 'run.jsonl');
    const j = new Journal(path);
    j.append(modify('uid=a,dc=t'), 's');
    j.close();
    appendFileSync(path, '{"seq":2,"script":"s","kind":"modi');
    expect(readJournal(path).map((r) => r.dn)).toEqual(['uid=a,dc=t']);
  });

  it('a torn last line (a kill mid-write) is cut off on reopening, so that later records can be read', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'journal-')), 'run.jsonl');
    const j = new Journal(path);
    j.append(modify('uid=a,dc=t'), 's');
    j.close();
    appendFileSync(path, '{"seq":2,"script":"s","kind":"modi');
    const again = new Journal(path);
    again.append(modify('uid=c,dc=t'), 's');
    again.close();
    expect(readJournal(path).map((r) => r.dn)).toEqual(['uid=a,dc=t', 'uid=c,dc=t']);
  });
});
