import { partitionSuite } from './partitions.js';

partitionSuite('389ds', 'trixie');
