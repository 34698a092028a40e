import { versionSuite } from './tier.js';

versionSuite('389ds', 'trixie');
