import { sharedCluster } from '../helpers/cluster.js';
import { crashSuite } from './crash-suite.js';
import { upgradeSuite } from './upgrade-suite.js';

// One cluster for both suites: the run-side scenarios, then the kill -9 ones, on 389ds.
const shared = sharedCluster('389ds');
upgradeSuite('389ds', shared);
crashSuite('389ds', shared);
