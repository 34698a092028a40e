import { withDirectory } from '../helpers/ldap.js';
import { schemaSuite } from './schema-suite.js';

const CONFIG_DB = 'olcDatabase={0}config,cn=config';

// OpenLDAP gets 389 DS's sudo schema (dn: cn=schema form, X-ORIGIN) on every node's own cn=config.
schemaSuite('openldap', {
  file: '389ds/60sudo.ldif',
  script: '01-sudo.schema.ldif',
  entries: (suffix) => ({
    ldif: [
      'dn: ou=SUDOers,${suffix}', 'changetype: add', 'objectClass: organizationalUnit', 'ou: SUDOers', '',
      'dn: cn=defaults,ou=SUDOers,${suffix}', 'changetype: add', 'objectClass: sudoRole', 'cn: defaults', 'sudoOption: env_reset', 'sudoUser: ALL', '',
    ].join('\n'),
    dns: [`ou=SUDOers,${suffix}`, `cn=defaults,ou=SUDOers,${suffix}`],
  }),
  // Written on the master's own cn=config only; then on the others too.
  gapOnNode3: async (c, definition) => {
    const entry = { objectClass: ['olcSchemaConfig'], cn: ['lu-gap-test'], olcAttributeTypes: [definition] };
    await withDirectory(c, c.nodes[0]!.url, 'config', (d) => d.add('cn=lu-gap-test,cn=schema,cn=config', entry));
    return { undo: async () => { for (const n of c.nodes.slice(1)) await withDirectory(c, n.url, 'config', (d) => d.add('cn=lu-gap-test,cn=schema,cn=config', entry)); } };
  },
  // The data DN may write cn=config (the freeze) but only read its schema.
  denySchemaWrites: async (c) => {
    const rules = [`to dn.subtree="cn=schema,cn=config" by dn.exact="${c.bindDn}" read`, `to * by dn.exact="${c.bindDn}" write`];
    for (const n of c.nodes) await withDirectory(c, n.url, 'config', (d) => d.modify(CONFIG_DB, [{ operation: 'add', attribute: 'olcAccess', values: rules }]));
    return {
      dn: c.bindDn, passwordFile: c.passwordFile,
      undo: async () => {
        for (const n of c.nodes) await withDirectory(c, n.url, 'config', (d) => d.modify(CONFIG_DB, [{ operation: 'delete', attribute: 'olcAccess', values: [] }]));
      },
    };
  },
});

