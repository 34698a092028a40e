import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalTargets, SharedMasterReads } from '../../src/core/read-back.js';

describe('what the verified convergence reads back, from the journal', () => {
  it("a modify's touched attributes; every attribute for adds, deletes, renames and the tool's own entries; a torn line skipped", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ldap-upgrade-rb-')), 'run.journal.jsonl');
    writeFileSync(file, [
      JSON.stringify({ seq: 1, kind: 'modify', dn: 'uid=a,dc=t', attributes: ['description', 'title'], pre: {} }),
      JSON.stringify({ seq: 2, kind: 'add', dn: 'uid=b,dc=t', pre: null }),
      JSON.stringify({ seq: 3, kind: 'delete', dn: 'uid=c,dc=t', pre: {} }),
      JSON.stringify({ seq: 4, kind: 'rename', dn: 'uid=d,dc=t', newDn: 'uid=e,dc=t', pre: {} }),
      '{"seq": 5, "kind": "modify", "dn": "uid=f',
    ].join('\n') + '\n');
    const targets = [];
    for await (const t of journalTargets(file, ['cn=schema-version,dc=t'])) targets.push(t);
    expect(targets).toEqual([
      { dn: 'cn=schema-version,dc=t' },
      { dn: 'uid=a,dc=t', attributes: ['description', 'title'] },
      { dn: 'uid=b,dc=t' },
      { dn: 'uid=c,dc=t' },
      { dn: 'uid=d,dc=t' },
      { dn: 'uid=e,dc=t' },
    ]);
  });
});

describe("the master's side of a read-back, shared by the replicas of one wait", () => {
  it('read once for two replicas, then forgotten; at most `capacity` kept for a replica far ahead', async () => {
    const shared = new SharedMasterReads(2, 2);
    let reads = 0;
    const read = async () => { reads++; return new Map([['uid=a,dc=t', 'digest']]); };
    await shared.take('g1', read);
    expect(await shared.take('g1', read)).toEqual(new Map([['uid=a,dc=t', 'digest']]));
    expect(reads).toBe(1);
    await shared.take('g1', read); // both replicas had it: read again
    expect(reads).toBe(2);
    for (const g of ['g2', 'g3', 'g4']) await shared.take(g, read);
    expect(reads).toBe(5);
    await shared.take('g4', read); // beyond capacity: not kept
    expect(reads).toBe(6);
    await shared.take('g2', read); // kept
    expect(reads).toBe(6);
  });
  it('one replica: nothing is kept', async () => {
    const shared = new SharedMasterReads(1);
    let reads = 0;
    const read = async () => { reads++; return new Map<string, string>(); };
    await shared.take('g', read);
    await shared.take('g', read);
    expect(reads).toBe(2);
  });
});
