/**
 * Module resolution hook (node:module `register`): lets code scripts anywhere on disk
 * `import { defineScript } from 'ldap-upgrade'`, resolved to the running tool itself rather than
 * to a copy that would have to be installed next to the scripts.
 */
let target = '';

export async function initialize(data: { indexUrl: string }): Promise<void> {
  target = data.indexUrl;
}

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<{ url: string; shortCircuit?: boolean }> {
  if (specifier === 'ldap-upgrade' && target) return { url: target, shortCircuit: true };
  return next(specifier, context);
}
