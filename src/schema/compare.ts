import { definitionDifferences, definitionLabel, type Definition } from './definition.js';
import { counterpart, type ServerSchema } from './read.js';

/** What a schema script would change on one server. */
export interface SchemaDiff {
  add: Definition[];
  change: { wanted: Definition; actual: Definition; fields: string[] }[];
  /** Definitions the server holds already, identical. */
  same: Definition[];
  /** Different, but not the script's to change (the server's own, or another schema's): left as they are. */
  kept: { wanted: Definition; actual: Definition; fields: string[]; why: string }[];
}

/** Why a server's definition is not a schema script's to replace (undefined: it may be replaced). */
export type Protection = (actual: Definition) => string | undefined;

/** Compares wanted definitions with a server's (by OID, by name as a fallback); never proposes a delete. */
export function diffSchema(wanted: Definition[], schema: ServerSchema, protection: Protection = () => undefined): SchemaDiff {
  const diff: SchemaDiff = { add: [], change: [], same: [], kept: [] };
  for (const w of wanted) {
    const actual = counterpart(schema, w);
    if (!actual) diff.add.push(w);
    else {
      const fields = definitionDifferences(w, actual);
      if (fields.length === 0) diff.same.push(w);
      else {
        const why = protection(actual);
        if (why) diff.kept.push({ wanted: w, actual, fields, why });
        else diff.change.push({ wanted: w, actual, fields });
      }
    }
  }
  return diff;
}

export const diffIsEmpty = (d: SchemaDiff) => d.add.length === 0 && d.change.length === 0;

/** `add sudoUser (1.3…), change sudoRole (…: DESC, MAY), 3 identical` */
export function describeDiff(d: SchemaDiff): string {
  const parts = [
    ...d.add.map((x) => `add ${x.kind} ${definitionLabel(x)}`),
    ...d.change.map((c) => `change ${c.wanted.kind} ${definitionLabel(c.wanted)} (${c.fields.join(', ')})`),
  ];
  if (d.kept.length) parts.push(`leave ${d.kept.length} that differ${d.kept.length === 1 ? 's' : ''} but ${d.kept.length === 1 ? 'is' : 'are'} not this script's (${d.kept.slice(0, 3).map((k) => `${definitionLabel(k.wanted)}: ${k.why}`).join('; ')}${d.kept.length > 3 ? '; …' : ''})`);
  if (d.same.length) parts.push(`${d.same.length} identical`);
  return parts.join(', ') || 'nothing';
}

/** What one node lacks or shows differently among the master's definitions (by OID, by name as a fallback). */
export interface SchemaGaps {
  missing: string[];
  differing: string[];
}

/** Listed at most (all are counted by the caller through the lists' lengths up to this). */
const LISTED = 50;

export function schemaGaps(master: ServerSchema, node: ServerSchema): SchemaGaps & { missingCount: number; differingCount: number } {
  const gaps = { missing: [] as string[], differing: [] as string[], missingCount: 0, differingCount: 0 };
  for (const def of master.byOid.values()) {
    const theirs = counterpart(node, def);
    if (!theirs) {
      gaps.missingCount++;
      if (gaps.missing.length < LISTED) gaps.missing.push(`${def.kind} ${definitionLabel(def)}`);
    } else if (definitionDifferences(def, theirs).length) {
      gaps.differingCount++;
      if (gaps.differing.length < LISTED) gaps.differing.push(`${def.kind} ${definitionLabel(def)} (${definitionDifferences(def, theirs).join(', ')})`);
    }
  }
  return gaps;
}
