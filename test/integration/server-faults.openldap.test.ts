import { sharedCluster } from '../helpers/cluster.js';
import { masterLossSuite } from './fault-suite.js';

// Servers that die or hang mid-run, on a cluster of their own: what OpenLDAP's replication does
// after a provider's kill -9 must not spill into the other suites.
const shared = sharedCluster('openldap');
masterLossSuite('openldap', shared);
