import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const ALL = ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/containers/**/*.test.ts'];
/**
 * `npm test` runs two phases of two files at a time. The 389 DS client-load file, whose writers
 * and servers need the CPU (beside another 389 DS file its restarted master was seen lagging
 * and once dying), runs in phase 2, next to files that start only OpenLDAP or nothing. Without
 * LDAP_UPGRADE_TEST_PHASE every file (or those named on the command line) runs at once.
 */
const QUIET = ['test/integration/server-faults.389ds.test.ts', 'test/unit/**/*.test.ts', 'test/integration/plan-cli.test.ts', 'test/integration/cli-strict.test.ts', 'test/integration/sandbox.test.ts', 'test/integration/trust.openldap.test.ts', 'test/integration/scale.openldap.test.ts'];
const phase = process.env.LDAP_UPGRADE_TEST_PHASE;
const workers = Number(process.env.LDAP_UPGRADE_TEST_WORKERS ?? 2);

/** Seconds a file took here (two at a time), longest first: the two lanes then end close together. */
const TOOK: Record<string, number> = {
  'run-side.389ds': 400, 'crash-side.389ds': 350, 'server-faults.389ds': 260, '389ds-3.1': 240, 'partitions-389ds': 200,
  'server-faults.openldap': 160, 'trust.389ds': 120, '389ds-2.3': 100, 'run-side.openldap': 95, 'schema.389ds': 90,
};
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const took = (f: TestSpecification) => TOOK[f.moduleId.replace(/^.*\//, '').replace(/\.test\.ts$/, '')] ?? 0;
    return [...files].sort((a, b) => took(b) - took(a));
  }
}

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: phase === '2' ? QUIET : ALL,
    exclude: phase === '1' ? QUIET : [],
    pool: 'forks',
    // Integration files each start their own cluster of real servers (on free ports, with their
    // own instance names and containers), and replication timing is part of what they check:
    // LDAP_UPGRADE_TEST_WORKERS files at a time (default 2, on these two cores).
    maxWorkers: workers,
    fileParallelism: workers > 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    sequence: { sequencer: LongestFirst },
  },
});
