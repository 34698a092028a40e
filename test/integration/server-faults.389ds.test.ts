import { sharedCluster } from '../helpers/cluster.js';
import { masterLossSuite } from './fault-suite.js';
import { loadSuite } from './load-suite.js';

// Servers that die or hang mid-run, and runs under client load, on a 389 DS cluster of their own.
const shared = sharedCluster('389ds');
loadSuite('389ds', shared);
masterLossSuite('389ds', shared);
