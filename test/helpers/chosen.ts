import { it as vitestIt } from 'vitest';

/** How a shared suite runs on a cluster: its heading, and which of its cases (all by default). */
export interface SuiteOptions {
  /** Names the suite in its heading (e.g. "OpenLDAP 2.6 in containers"). */
  label?: string;
  /** The cases to run, by the start of their names (the container tier runs a chosen few on each version). */
  only?: string[];
}

type It = typeof vitestIt;

/**
 * Vitest's `it`, registering only the cases whose names start with one of `only` (all when
 * `only` is not given): a case left out is not registered at all, so it is not reported as skipped.
 */
export function chosen(only?: string[]): It {
  if (!only) return vitestIt;
  const wanted = (name: string) => only.some((o) => name.startsWith(o));
  const pick = ((name: string, ...rest: unknown[]) => {
    if (wanted(name)) (vitestIt as unknown as (...a: unknown[]) => void)(name, ...rest);
  }) as unknown as It & Record<string, unknown>;
  pick.each = ((cases: unknown[]) => (name: string, fn: (c: unknown) => unknown, timeout?: number) => {
    for (const c of cases) {
      const title = name.replace('%s', String(c));
      if (wanted(title)) vitestIt(title, () => fn(c) as Promise<void>, timeout);
    }
  }) as never;
  pick.runIf = ((condition: boolean) => (condition ? pick : () => undefined)) as never;
  return pick;
}
