import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/containers/**/*.test.ts'],
    pool: 'forks',
    // Integration files each start their own cluster of real servers (on free ports, with their
    // own instance names and containers), and replication timing is part of what they check:
    // LDAP_UPGRADE_TEST_WORKERS files at a time (default 2, on these two cores).
    maxWorkers: Number(process.env.LDAP_UPGRADE_TEST_WORKERS ?? 2),
    fileParallelism: Number(process.env.LDAP_UPGRADE_TEST_WORKERS ?? 2) > 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
