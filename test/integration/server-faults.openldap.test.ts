import { sharedCluster } from '../helpers/cluster.js';
import { masterLossSuite } from './fault-suite.js';
import { loadSuite } from './load-suite.js';

// Servers that die or hang mid-run, and runs under client load, on a cluster of their own: what
// OpenLDAP's replication does after a provider's kill -9 must not spill into the other suites.
const shared = sharedCluster('openldap');
loadSuite('openldap', shared);
masterLossSuite('openldap', shared);
