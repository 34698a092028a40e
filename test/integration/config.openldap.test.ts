import { getValues } from '../../src/ldap/entry.js';
import { configSuite } from './config-suite.js';

const indexed = (values: unknown[], attribute: string) => values.some((v) => String(v).split(/\s+/)[0]!.split(',').some((a) => a.toLowerCase() === attribute));

// An olcDbIndex value on each node's own database entry (its {N} may differ from node to node).
configSuite('openldap', {
  index: '# description, for the application\'s searches\ndn: ${databaseDn}\nchangetype: modify\nadd: olcDbIndex\nolcDbIndex: description eq\n',
  hasIndex: async (d, databaseDn, attribute = 'description') => indexed(getValues((await d.get(databaseDn, ['olcDbIndex']))!, 'olcDbIndex'), attribute),
  dropIndex: async (d, databaseDn) => d.modify(databaseDn, [{ operation: 'delete', attribute: 'olcDbIndex', values: ['description eq'] }]),
  otherKind: { name: 'vlv.389ds.config.ldif', text: 'dn: cn=x,cn=ldbm database,cn=plugins,cn=config\nchangetype: delete\n' },
});
