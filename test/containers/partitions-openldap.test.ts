import { partitionSuite } from './partitions.js';

partitionSuite('openldap', 'trixie');
