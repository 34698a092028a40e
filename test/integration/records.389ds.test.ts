import { recordsSuite } from './records-suite.js';

recordsSuite('389ds');
