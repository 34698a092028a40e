import { existsSync } from 'node:fs';
import Module, { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { pathToFileURL } from 'node:url';
import { ScriptFileError } from '../errors.js';
import type { ScriptDefinition } from './define.js';
import type { ScriptFile } from './types.js';
import { readLdifFile } from '../ldif/parse.js';
import type { ReadProgress } from '../ldif/lines.js';
import type { ChangeRecord } from '../ldif/types.js';
import { readSchemaScript } from '../schema/schema-file.js';
import { OFFLINE_DATABASE_DN, readConfigScript } from './config-script.js';

/**
 * Loads a code script's default export. `.js`/`.mjs` are imported as they are; `.ts` goes through
 * tsx (Node 20 cannot import TypeScript natively; see `loadTypeScript`), loaded only when a `.ts`
 * script exists so that other commands start fast.
 */
export async function loadCodeScript(script: ScriptFile): Promise<ScriptDefinition> {
  let module: { default?: unknown };
  try {
    module = script.path.endsWith('.ts') ? await loadTypeScript(script.path) : await importModule(script.path);
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

/** Loads every code script among `scripts` (in place), parses every schema, configuration and LDIF one, to validate them. */
export async function prepareScripts(scripts: ScriptFile[], placeholders: Record<string, string>): Promise<void> {
  for (const script of scripts) {
    if (script.kind === 'code') script.definition ??= await loadCodeScript(script);
    else if (script.kind === 'schema') script.schema ??= readSchemaScript(script.path);
    // Read here with a stand-in for each server's database entry: the run reads it per server.
    else if (script.kind === 'config') readConfigScript(script, { databaseDn: OFFLINE_DATABASE_DN, suffix: placeholders.suffix ?? '' });
    else for (const record of readLdifScript(script, placeholders)) void record; // read to its end: every record checked
  }
}

/** An LDIF script's records, streamed from its file (flat memory whatever its size). */
export function readLdifScript(script: ScriptFile, placeholders: Record<string, string>, progress?: ReadProgress): Generator<ChangeRecord> {
  return readLdifFile(script.path, { file: script.path, placeholders }, progress);
}

/**
 * A `.ts` script: compiled to CommonJS in this thread by tsx's require (about 0.1 s and 20 MB
 * less than its ESM loader, which starts a loader thread). A script that only ESM can run (top-
 * level await) goes through the ESM loader instead.
 */
async function loadTypeScript(path: string): Promise<{ default?: unknown }> {
  mapNameInRequire();
  const { require: tsxRequire } = await import('tsx/cjs/api');
  try {
    return tsxRequire(path, import.meta.url) as { default?: unknown };
  } catch (err) {
    if (!needsEsm(err)) throw err;
  }
  registerEsmHook();
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
}

async function importModule(path: string): Promise<{ default?: unknown }> {
  mapNameInRequire();
  registerEsmHook();
  return (await import(pathToFileURL(path).href)) as { default?: unknown };
}

/** Errors that mean "this module must be loaded as ESM", not a fault in the script. */
function needsEsm(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === 'ERR_REQUIRE_ESM' || e?.code === 'ERR_REQUIRE_ASYNC_MODULE' || /top-level await/i.test(e?.message ?? '');
}

// Compiled: dist/scripts/*.js beside dist/index.js. Under tsx (tests): src/*.ts, and tsx resolves
// the package name by itself.
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const INDEX_URL = new URL(`../index${EXT}`, import.meta.url);
const COMPILED = EXT === '.js' && existsSync(INDEX_URL);

let mapped = false;

/** `require('ldap-upgrade')` in a CommonJS script (what tsx makes of most `.ts`) gets this tool. */
function mapNameInRequire(): void {
  if (mapped || !COMPILED) return;
  mapped = true;
  const cjs = fileURLToPath(new URL('../script-api.cjs', import.meta.url));
  const loader = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = loader._resolveFilename;
  loader._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === 'ldap-upgrade' ? cjs : original.call(this, request, ...rest);
  };
}

let hooked = false;

/** `import ... from 'ldap-upgrade'` in an ES module script gets this tool (see resolve-hook). */
function registerEsmHook(): void {
  if (hooked || !COMPILED) return;
  hooked = true;
  register(new URL(`./resolve-hook${EXT}`, import.meta.url), { data: { indexUrl: INDEX_URL.href } });
}
