import { existsSync, readFileSync } from 'node:fs';
import Module, { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { pathToFileURL } from 'node:url';
import { ScriptFileError } from '../errors.js';
import type { ScriptDefinition } from './define.js';
import type { ScriptFile } from './types.js';
import { parseLdif } from '../ldif/parse.js';
import type { ChangeRecord } from '../ldif/types.js';

/**
 * Loads a code script's default export. `.js`/`.mjs` are imported as they are; `.ts` goes through
 * tsx's `tsImport` (Node 20 cannot import TypeScript natively), loaded only when a `.ts` script
 * exists so that other commands start fast.
 */
export async function loadCodeScript(script: ScriptFile): Promise<ScriptDefinition> {
  let module: { default?: unknown };
  await registerSelfImport();
  try {
    if (script.path.endsWith('.ts')) {
      const { tsImport } = await import('tsx/esm/api');
      module = (await tsImport(pathToFileURL(script.path).href, import.meta.url)) as { default?: unknown };
    } else {
      module = (await import(pathToFileURL(script.path).href)) as { default?: unknown };
    }
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ScriptFileError(`${script.path}: cannot load: ${reason}`, { cause: err });
  }
  // tsx may wrap a CommonJS-looking module's default export once more.
  let def = module.default as { default?: unknown; up?: unknown } | undefined;
  if (def && typeof def.up !== 'function' && def.default) def = def.default as typeof def;
  if (!def || typeof def.up !== 'function') {
    throw new ScriptFileError(`${script.path}: must export default defineScript({ up(ctx) { ... } })`);
  }
  const runOnce = (def as ScriptDefinition).runOnce;
  if (runOnce !== undefined && (typeof runOnce !== 'string' || runOnce === '')) {
    throw new ScriptFileError(`${script.path}: runOnce must be a non-empty string`);
  }
  return def as ScriptDefinition;
}

/** Loads every code script among `scripts` (in place) and parses every LDIF one, to validate them. */
export async function prepareScripts(scripts: ScriptFile[], placeholders: Record<string, string>): Promise<void> {
  for (const script of scripts) {
    if (script.kind === 'code') script.definition ??= await loadCodeScript(script);
    else readLdifScript(script, placeholders);
  }
}

export function readLdifScript(script: ScriptFile, placeholders: Record<string, string>): ChangeRecord[] {
  return parseLdif(readFileSync(script.path, 'utf8'), { file: script.path, placeholders });
}

let registered = false;

/** Makes `import ... from 'ldap-upgrade'` in a script resolve to this running tool (see resolve-hook). */
async function registerSelfImport(): Promise<void> {
  if (registered) return;
  registered = true;
  // Compiled: dist/scripts/*.js beside dist/index.js. Under tsx (tests): src/*.ts.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const indexUrl = new URL(`../index${ext}`, import.meta.url);
  const hookUrl = new URL(`./resolve-hook${ext}`, import.meta.url);
  if (ext === '.ts' || !existsSync(new URL(indexUrl))) return; // tsx resolves the package by itself
  register(hookUrl, { data: { indexUrl: indexUrl.href } });
  // CommonJS scripts (tsx compiles .ts outside ESM packages to CommonJS): map the name in require().
  const cjs = fileURLToPath(new URL('../script-api.cjs', import.meta.url));
  const loader = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = loader._resolveFilename;
  loader._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === 'ldap-upgrade' ? cjs : original.call(this, request, ...rest);
  };
}
