import { sharedCluster } from '../helpers/cluster.js';
import { upgradeSuite } from './upgrade-suite.js';

// The run-side scenarios on 389ds (the kill -9 and fault ones: crash-side.389ds.test.ts). The
// suite ends with a replica stopped and started again, after which multi-supplier replication may
// take its time to agree on every entry; nothing runs after it on this cluster.
const shared = sharedCluster('389ds');
upgradeSuite('389ds', shared);
