import { describe, expect, it } from 'vitest';
import { holderIsDead, thisHost } from '../../src/records/liveness.js';

const future = new Date(Date.now() + 60_000).toISOString();
const past = new Date(Date.now() - 1_000).toISOString();

describe('holderIsDead', () => {
  it('an expired lease is dead wherever it ran', () => {
    expect(holderIsDead({ host: 'elsewhere', pid: 1, expiresAt: past })).toMatchObject({ dead: true });
  });
  it('a live lease on another host may be alive', () => {
    expect(holderIsDead({ host: 'elsewhere.example', pid: 1, expiresAt: future })).toMatchObject({ dead: false, why: expect.stringContaining('elsewhere.example') });
  });
  it('on this host, a gone process is dead and a running one is alive', () => {
    expect(holderIsDead({ host: thisHost(), pid: 2 ** 22 + 12345, expiresAt: future }).dead).toBe(true);
    expect(holderIsDead({ host: thisHost(), pid: process.ppid, expiresAt: future }).dead).toBe(false);
  });
});

describe('holderIsDead: a process alive on this host', () => {
  it('is never taken for dead, even with its lease run out (a stopped process may go on)', () => {
    expect(holderIsDead({ host: thisHost(), pid: process.ppid, expiresAt: past })).toMatchObject({ dead: false, why: expect.stringContaining('is running on this host') });
  });
});
