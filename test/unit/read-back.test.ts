import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalTargets } from '../../src/core/read-back.js';

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
