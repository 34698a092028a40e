import { upgradeSuite } from './upgrade-suite.js';

upgradeSuite('389ds');
