import { getValues } from '../../src/ldap/entry.js';
import { openLdapAdapter } from '../../src/servers/openldap/adapter.js';
import { withDirectory } from '../helpers/ldap.js';

const CONFIG_DB = 'olcDatabase={0}config,cn=config';
import type { ConfigCase } from './config-suite.js';

const indexed = (values: unknown[], attribute: string) => values.some((v) => String(v).split(/\s+/)[0]!.split(',').some((a) => a.toLowerCase() === attribute));

/** OpenLDAP: an olcDbIndex value on each node's own database entry (its {N} may differ from node to node). */
export const OPENLDAP_CONFIG: ConfigCase = {
  index: '# description, for the application\'s searches\ndn: ${databaseDn}\nchangetype: modify\nadd: olcDbIndex\nolcDbIndex: description eq\n',
  hasIndex: async (d, databaseDn, attribute = 'description') => indexed(getValues((await d.get(databaseDn, ['olcDbIndex']))!, 'olcDbIndex'), attribute),
  dropIndex: async (d, databaseDn) => d.modify(databaseDn, [{ operation: 'delete', attribute: 'olcDbIndex', values: ['description eq'] }]),
  otherKind: { name: 'vlv.389ds.config.ldif', text: 'dn: cn=x,cn=ldbm database,cn=plugins,cn=config\nchangetype: delete\n' },
  // The data DN may write cn=config (the freeze) but only read each node's database entry.
  denyDatabaseWrites: async (c) => {
    const added: { url: string; rules: string[] }[] = [];
    for (const n of c.nodes) {
      await withDirectory(c, n.url, 'config', async (d) => {
        const databaseDn = await openLdapAdapter.config.databaseDn(d, c.suffix);
        const rules = [`to dn.base="${databaseDn}" by dn.exact="${c.bindDn}" read`, `to * by dn.exact="${c.bindDn}" write`];
        await d.modify(CONFIG_DB, [{ operation: 'add', attribute: 'olcAccess', values: rules }]);
        added.push({ url: n.url, rules });
      });
    }
    return {
      dn: c.bindDn, passwordFile: c.passwordFile,
      undo: async () => {
        for (const a of added) await withDirectory(c, a.url, 'config', (d) => d.modify(CONFIG_DB, [{ operation: 'delete', attribute: 'olcAccess', values: [] }]));
      },
    };
  },
};

const index = (attribute: string) => `cn=${attribute},cn=index,`;

/** 389 DS: an nsIndex entry and a VLV search with its index under each server's backend; an index task per server. */
export const DIRSRV_CONFIG: ConfigCase = {
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
};
