import { LdapOperationError } from '../../errors.js';
import { readLdifScript } from '../load-code.js';
import { scriptId, type ScriptFile } from '../types.js';
import { WriteFailure, type EntryStore } from './entry-store.js';
import { UpgradeScriptContext } from './script-context.js';
import { everyProgressTick, type EventSink } from '../../events.js';
import { containScript, ScriptEscape } from './containment.js';

export interface ScriptRunOptions {
  store: EntryStore;
  suffix: string;
  versionEntry: string;
  fromVersion: string;
  toVersion: string;
  events: EventSink;
  /** The script's time limit (default none). */
  timeLimitMs?: number;
  /** A dry run's: its progress counts planned changes. */
  planned?: boolean;
  /** Called when the script escapes (exit, stray exception, time limit): its later writes must be refused. */
  onEscape?: (reason: Error) => void;
}

/** A script that failed: names the version, the script, the entry and the LDAP error (docs/run.md). */
export class ScriptFailure extends Error {
  constructor(
    readonly script: string,
    readonly dn: string | undefined,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`script ${script} failed${dn ? ` at ${dn}` : ''}: ${reason}`, options);
  }
}

/** Runs one script through a context over `store`; returns how many entries it changed. */
export async function runScript(script: ScriptFile, options: ScriptRunOptions): Promise<number> {
  const id = scriptId(script);
  const ctx = new UpgradeScriptContext({
    store: options.store, suffix: options.suffix, fromVersion: options.fromVersion, toVersion: options.toVersion,
    script: id, log: (message) => options.events({ type: 'script-log', script: id, message }), versionEntry: options.versionEntry,
  });
  const ldif: LdifProgress = { done: 0 };
  const stop = everyProgressTick((elapsedMs) => options.events({
    type: 'script-progress', script: id, entriesChanged: ctx.entriesChanged, elapsedMs, ...(ldif.total !== undefined ? { done: ldif.done, total: ldif.total } : {}),
    ...(options.planned ? { planned: true } : {}),
  }));
  try {
    await containScript(() => runBody(script, options, ctx, ldif), options.timeLimitMs, (err) => {
      options.store.abandon(err);
      options.onEscape?.(err);
    });
  } catch (err) {
    // A pipelined write's failure names its own entry, not the one the script had reached.
    const cause = err instanceof WriteFailure ? err.cause : err;
    const dn = err instanceof WriteFailure ? err.dn : err instanceof ScriptEscape ? undefined : ctx.currentDn;
    const reason = cause instanceof LdapOperationError ? cause.message.replace(/^master: /, '') : cause instanceof Error ? cause.message : String(cause);
    throw new ScriptFailure(id, dn, reason, { cause });
  } finally {
    stop();
  }
  return ctx.entriesChanged;
}

/** How far an LDIF script has got: records done of its total. */
interface LdifProgress {
  done: number;
  total?: number;
}

async function runBody(script: ScriptFile, options: ScriptRunOptions, ctx: UpgradeScriptContext, progress: LdifProgress): Promise<void> {
  {
    if (script.kind === 'ldif') {
      // Streamed record by record; the total is the catalog's count of the file's records.
      progress.total = script.records;
      for (const r of readLdifScript(script, { suffix: options.suffix, versionEntry: options.versionEntry })) {
        progress.done++;
        switch (r.kind) {
          case 'add': await ctx.addEntry(r.dn, r.attributes, r.merge); break;
          case 'modify': await ctx.modify(r.dn, r.changes); break;
          case 'delete': await ctx.delete(r.dn); break;
          case 'modrdn': await ctx.modRdn(r.dn, r.newRdn, r.deleteOldRdn, r.newSuperior); break;
        }
      }
    } else {
      await script.definition!.up(ctx);
    }
    await ctx.flush();
  }
}
