import { sharedCluster } from '../helpers/cluster.js';
import { planUndoSuite } from './plan-undo-suite.js';

planUndoSuite('389ds', sharedCluster('389ds'));
