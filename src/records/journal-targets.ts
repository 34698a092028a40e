import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** An entry to read back, and the attributes that matter (undefined: every user attribute). */
export interface ReadTarget {
  dn: string;
  attributes?: string[];
}

/**
 * The entries a run changed, from its journal, with the attributes each write touched (a modify's;
 * an add, a delete, a rename and the `extra` DNs: every user attribute). Configuration writes
 * (one server's cn=config, not replicated) are left out.
 */
export async function* journalTargets(path: string | undefined, extra: string[] = []): AsyncGenerator<ReadTarget> {
  for (const dn of extra) yield { dn };
  if (!path || !existsSync(path)) return;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const record = journalHead(line);
    if (!record) continue;
    if (typeof record.dn !== 'string') continue;
    // A configuration write (cn=config of one server): not replicated, nothing to read back.
    if (record.server !== undefined) continue;
    const touched = record.kind === 'modify' && Array.isArray(record.attributes) ? record.attributes.filter((a): a is string => typeof a === 'string') : undefined;
    // A delete: gone on both sides, or (after a rollback) back with every attribute.
    yield { dn: record.dn, ...(touched ? { attributes: touched } : {}) };
    if (typeof record.newDn === 'string') yield { dn: record.newDn };
  }
}

type JournalHead = { kind?: unknown; dn?: unknown; newDn?: unknown; attributes?: unknown; server?: unknown };

/**
 * A journal line's kind, DN, new DN and touched attributes, parsed up to its pre-image when they
 * come first (journals of this version: the pre- and post-images are most of a line), else whole.
 * Undefined for a line that is not JSON (a torn last line).
 */
function journalHead(line: string): JournalHead | undefined {
  // `,"pre":` cannot occur inside a JSON string (a quote there is escaped): it is the key.
  const cut = line.indexOf(',"pre":');
  if (cut > 0) {
    try {
      const head = JSON.parse(line.slice(0, cut) + '}') as JournalHead;
      if ((head.kind !== 'modify' || 'attributes' in head) && (head.kind !== 'rename' || 'newDn' in head)) return head;
    } catch {
      // parsed whole below
    }
  }
  try {
    return JSON.parse(line) as JournalHead;
  } catch {
    return undefined;
  }
}

/**
 * The DNs a run changed, from its journal (docs/replication.md "Convergence": the DNs in the run's journal), streamed
 * line by line: both names of a rename, and `extra` (the tool's own version entry). A torn last
 * line is skipped. DNs repeat when an entry was written more than once (each batch reads one
 * DN once).
 */
export async function* journalDns(path: string | undefined, extra: string[] = []): AsyncGenerator<string> {
  for await (const target of journalTargets(path, extra)) yield target.dn;
}
