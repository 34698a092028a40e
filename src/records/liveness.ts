import { hostname } from 'node:os';
import type { LockInfo } from './run-record.js';

/** Lease of the lock: renewed every quarter of it while the run lives. */
export const LEASE_MS = 60_000;

export function thisHost(): string {
  return hostname();
}

/**
 * Whether the run holding `lock` is certainly dead: it ran on this host and its process is gone,
 * or it ran elsewhere and its lease expired. A process alive on this host is never taken for
 * dead, whatever its lease says (a stopped process, SIGSTOP, lets its lease run out and may go
 * on); a lease still running elsewhere may be a live run.
 */
export function holderIsDead(lock: Pick<LockInfo, 'host' | 'pid' | 'expiresAt'>, now = Date.now()): { dead: boolean; why: string } {
  if (lock.host !== thisHost() && Date.parse(lock.expiresAt) < now) return { dead: true, why: `its lease expired at ${lock.expiresAt}` };
  if (lock.host === thisHost()) {
    if (lock.pid === process.pid) return { dead: false, why: 'it is this process' };
    try {
      process.kill(lock.pid, 0);
      return { dead: false, why: `its process ${lock.pid} is running on this host` };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EPERM') return { dead: false, why: `its process ${lock.pid} is running on this host` };
      return { dead: true, why: `its process ${lock.pid} is gone from this host` };
    }
  }
  return { dead: false, why: `its lease runs until ${lock.expiresAt} and it runs on ${lock.host}` };
}

export function leaseExpiry(now = Date.now()): string {
  return new Date(now + LEASE_MS).toISOString();
}
