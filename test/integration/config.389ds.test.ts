import { configSuite } from './config-suite.js';

const index = (attribute: string) => `cn=${attribute},cn=index,`;

// An nsIndex entry and a VLV search with its index under each server's backend; an index task per server.
configSuite('389ds', {
  index: [
    '# description, for the application\'s searches', 'dn: cn=description,cn=index,${databaseDn}', 'changetype: add', 'objectClass: top', 'objectClass: nsIndex',
    'cn: description', 'nsSystemIndex: false', 'nsIndexType: eq', '',
  ].join('\n'),
  hasIndex: async (d, databaseDn, attribute = 'description') => (await d.get(`${index(attribute)}${databaseDn}`, ['1.1'])) !== null,
  dropIndex: async (d, databaseDn) => d.delete(`${index('description')}${databaseDn}`),
  vlv: {
    script: [
      'dn: cn=people by uid,${databaseDn}', 'changetype: add', 'objectClass: top', 'objectClass: vlvSearch', 'cn: people by uid',
      'vlvBase: ou=people,${suffix}', 'vlvScope: 1', 'vlvFilter: (objectClass=inetOrgPerson)', '',
      'dn: cn=people by uid index,cn=people by uid,${databaseDn}', 'changetype: add', 'objectClass: top', 'objectClass: vlvIndex',
      'cn: people by uid index', 'vlvSort: uid', '',
    ].join('\n'),
    has: async (d, databaseDn) => (await d.get(`cn=people by uid index,cn=people by uid,${databaseDn}`, ['1.1'])) !== null,
  },
  otherKind: { name: 'index.openldap.config.ldif', text: 'dn: olcDatabase={9}mdb,cn=config\nchangetype: modify\nadd: olcDbIndex\nolcDbIndex: sn eq\n' },
});
