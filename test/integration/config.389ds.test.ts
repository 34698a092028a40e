import { DIRSRV_CONFIG } from './config-cases.js';
import { configSuite } from './config-suite.js';

configSuite('389ds', DIRSRV_CONFIG);
