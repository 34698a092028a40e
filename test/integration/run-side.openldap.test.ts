import { sharedCluster } from '../helpers/cluster.js';
import { crashSuite } from './crash-suite.js';
import { faultSuite } from './fault-suite.js';
import { upgradeSuite } from './upgrade-suite.js';

// One cluster for both suites: the kill -9 scenarios, then the run-side ones, on openldap. The run-side
// suite ends with a replica stopped and started again, after which multi-provider replication
// may take its time to agree on every entry; nothing runs after it on this cluster.
const shared = sharedCluster('openldap');
crashSuite('openldap', shared);
faultSuite('openldap', shared);
upgradeSuite('openldap', shared);
