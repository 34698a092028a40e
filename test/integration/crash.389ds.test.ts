import { crashSuite } from './crash-suite.js';

crashSuite('389ds');
