import { sharedCluster } from '../helpers/cluster.js';
import { crashSuite } from './crash-suite.js';
import { faultSuite } from './fault-suite.js';

// The kill -9 and fault scenarios on 389ds, on a cluster of their own (the run-side ones are in
// run-side.389ds.test.ts: two files of ~5 min each, which run side by side).
const shared = sharedCluster('389ds');
crashSuite('389ds', shared);
faultSuite('389ds', shared);
