/** What withDeadline rejects with. */
export class DeadlineError extends Error {}

/** Rejects when `promise` has not settled within `ms` (a hung server keeps its socket open). */
export function withDeadline<T>(promise: Promise<T>, ms: number, what = 'the server did not answer in time'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${what} (${(ms / 1000).toFixed(1)} s)`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
