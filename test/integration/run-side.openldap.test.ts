import { sharedCluster } from '../helpers/cluster.js';
import { crashSuite } from './crash-suite.js';
import { upgradeSuite } from './upgrade-suite.js';

// One cluster for both suites: the run-side scenarios, then the kill -9 ones, on openldap.
const shared = sharedCluster('openldap');
upgradeSuite('openldap', shared);
crashSuite('openldap', shared);
