import { versionSuite } from './tier.js';

versionSuite('openldap', 'bookworm');
