import { afterAll, beforeAll } from 'vitest';
import type { SandboxCluster } from '../../src/sandbox/index.js';
import { testCluster } from '../helpers/cluster.js';
import { scaleSuite } from './scale-suite.js';

let cluster: SandboxCluster;
beforeAll(async () => { cluster = await testCluster({ scripts: 'bulk' }); }, 60_000);
afterAll(async () => { await cluster?.stop(); });
scaleSuite('openldap', () => cluster);
