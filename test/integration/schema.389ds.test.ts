import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, readAttr, withDirectory } from '../helpers/ldap.js';
import { schemaSuite } from './schema-suite.js';

// 389 DS gets OpenLDAP's duaconf schema (cn=duaconf,cn=schema,cn=config form, an OID macro): on
// the master, then by replication to the other supplier and the consumer.
schemaSuite('389ds', {
  file: 'openldap/duaconf.ldif',
  script: '01-duaconf.schema.ldif',
  entries: (suffix) => ({
    ldif: [
      'dn: ou=profile,${suffix}', 'changetype: add', 'objectClass: organizationalUnit', 'ou: profile', '',
      'dn: cn=default,ou=profile,${suffix}', 'changetype: add', 'objectClass: top', 'objectClass: DUAConfigProfile', 'cn: default',
      'defaultServerList: 127.0.0.1', 'searchTimeLimit: 30', '',
    ].join('\n'),
    dns: [`ou=profile,${suffix}`, `cn=default,ou=profile,${suffix}`],
  }),
  // A user that cn=config's aci lets do everything there; cn=schema only lets anyone read.
  denySchemaWrites: async (c) => {
    const dn = `uid=lu-schema-test,ou=people,${c.suffix}`;
    const password = 'lu-schema-test-password';
    const passwordFile = join(c.dir, 'lu-schema-test.pw');
    writeFileSync(passwordFile, password, { mode: 0o600 });
    const aci = `(targetattr="*")(version 3.0; acl "ldap-upgrade schema test"; allow (all) userdn="ldap:///${dn}";)`;
    await withDirectory(c, c.nodes[0]!.url, 'data', (d) => d.add(dn, { objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'], uid: ['lu-schema-test'], cn: ['lu'], sn: ['test'], userPassword: [password] }));
    for (const n of c.nodes) {
      await eventually(async () => (await readAttr(c, n.url, dn, 'uid')) !== null, 30_000);
      await withDirectory(c, n.url, 'config', (d) => d.modify('cn=config', [{ operation: 'add', attribute: 'aci', values: [aci] }]));
    }
    return {
      dn, passwordFile,
      undo: async () => {
        for (const n of c.nodes) await withDirectory(c, n.url, 'config', (d) => d.modify('cn=config', [{ operation: 'delete', attribute: 'aci', values: [aci] }]));
        await withDirectory(c, c.nodes[0]!.url, 'data', (d) => d.delete(dn));
      },
    };
  },
});
