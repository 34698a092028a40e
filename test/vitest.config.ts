import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    // The 389 DS run-side suite is opt-in (npm run test:389ds): its freeze by demotion to a hub is
    // not stable enough yet under load (see README, "How replicas are frozen").
    exclude: process.env.LDAP_UPGRADE_TEST_389DS ? [] : ['test/integration/run-side.389ds.test.ts'],
    pool: 'forks',
    // Integration files each start their own cluster of real servers, and replication timing is
    // part of what they check: one file at a time on these two cores (the suite takes ~2 min).
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
