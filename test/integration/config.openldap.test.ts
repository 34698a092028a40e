import { OPENLDAP_CONFIG } from './config-cases.js';
import { configSuite } from './config-suite.js';

configSuite('openldap', OPENLDAP_CONFIG);
