/**
 * The optional fields of each JSON document (by `kind`), and of the lists inside them: printed as
 * null when they have no value, so that a reader sees every field of the shape (README "JSON").
 */
const OPTIONAL: Record<string, { fields: string[]; lists?: Record<string, string[]> }> = {
  upgrade: {
    fields: ['runId', 'convergeMs', 'conflicts', 'error', 'backupFile', 'journal', 'plan'],
    lists: { steps: ['tag', 'error', 'schema', 'config'], replicas: ['convergeMs', 'lag', 'error'] },
  },
  undo: { fields: ['runId', 'convergeMs', 'conflicts', 'error', 'journal', 'undo'], lists: { replicas: ['convergeMs', 'lag', 'error'] } },
  'dry-run': { fields: ['savedPlan'], lists: { steps: ['tag', 'error', 'schema', 'config'] } },
  recover: { fields: ['runId', 'notConverged', 'finishedRollback', 'finishedUndoOf', 'conflicts', 'schemaKept', 'overridden', 'error'] },
  status: {
    fields: ['storedVersion', 'targetVersion', 'planRefusal', 'lock', 'interruptedRun'],
    lists: { replicas: ['frozen', 'frozenBy', 'converged', 'lag', 'schemaLacks', 'configLacks', 'error'] },
  },
};

/** `doc` with every optional field of its kind present (null when it has no value). */
export function withNulls<T>(doc: T): T {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return doc;
  const shape = OPTIONAL[(doc as { kind?: string }).kind ?? ''];
  if (!shape) return doc;
  const out: Record<string, unknown> = { ...(doc as Record<string, unknown>) };
  for (const f of shape.fields) out[f] ??= null;
  for (const [list, fields] of Object.entries(shape.lists ?? {})) {
    const items = out[list];
    if (Array.isArray(items)) out[list] = items.map((item: Record<string, unknown>) => ({ ...Object.fromEntries(fields.map((f) => [f, null])), ...item }));
  }
  if (shape === OPTIONAL.status && out.replicaSource && typeof out.replicaSource === 'object') out.replicaSource = { blindSpot: null, ...(out.replicaSource as object) };
  return out as T;
}

/** A result as the JSON users read: every field of its shape, null when it has no value. */
export function toJson(result: unknown): string {
  return JSON.stringify(withNulls(result), (_key, value: unknown) => (value === undefined ? null : value), 2) + '\n';
}
