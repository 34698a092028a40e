/**
 * What keeps an upgrade script from taking the tool down or outliving its limit (a script runs in
 * the tool's own process): `process.exit`, an exception thrown outside its promise chain (a timer,
 * an event handler) and an unhandled rejection while it runs, and running past its time limit,
 * all end as a failure of that script — which the run turns into a rollback, an unfreeze, an
 * unlock and exit 5, instead of a dead process with frozen replicas and a held lock.
 */
export class ScriptEscape extends Error {}

let guarded = 0;

export async function containScript<T>(run: () => Promise<T>, timeLimitMs: number | undefined, onEscape: (err: ScriptEscape) => void): Promise<T> {
  let fail!: (err: ScriptEscape) => void;
  const escaped = new Promise<never>((_, reject) => {
    fail = (err) => {
      onEscape(err);
      reject(err);
    };
  });
  escaped.catch(() => undefined);
  const realExit = process.exit;
  const exit = ((code?: number | string | null) => {
    const err = new ScriptEscape(`it called process.exit(${code ?? ''}): scripts must return (or throw) instead`);
    fail(err);
    throw err;
  }) as typeof process.exit;
  const onUncaught = (err: unknown) => fail(new ScriptEscape(`it threw outside its promise chain (a timer or an event handler?): ${describe(err)}`));
  const onRejection = (reason: unknown) => fail(new ScriptEscape(`a promise it made was rejected and never handled: ${describe(reason)}`));
  guarded++;
  process.exit = exit;
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  const timer = timeLimitMs === undefined ? undefined : setTimeout(() => {
    fail(new ScriptEscape(`it ran past its time limit of ${formatSeconds(timeLimitMs)} (scriptTimeout, --script-timeout)`));
  }, timeLimitMs);
  try {
    return await Promise.race([run(), escaped]);
  } finally {
    clearTimeout(timer);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
    if (--guarded === 0) process.exit = realExit;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return s >= 120 && s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}
