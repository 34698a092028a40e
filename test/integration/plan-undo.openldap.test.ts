import { sharedCluster } from '../helpers/cluster.js';
import { planUndoSuite } from './plan-undo-suite.js';

planUndoSuite('openldap', sharedCluster('openldap'));
