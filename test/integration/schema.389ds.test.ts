import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, readAttr, withDirectory } from '../helpers/ldap.js';
import { readServerSchema } from '../../src/schema/read.js';
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
  // Node 1 stops sending to the consumer; the definition goes to node 1 (and node 2); then the
  // agreement is on again and a change starts a session, which carries the schema.
  gapOnNode3: async (c, definition) => {
    const agreement = `cn=to-node3,cn=replica,cn="${c.suffix}",cn=mapping tree,cn=config`;
    const enabled = (on: boolean) => withDirectory(c, c.nodes[0]!.url, 'config', (d) => d.modify(agreement, [{ operation: 'replace', attribute: 'nsds5ReplicaEnabled', values: [on ? 'on' : 'off'] }]));
    await enabled(false);
    await withDirectory(c, c.nodes[0]!.url, 'config', (d) => d.modify('cn=schema', [{ operation: 'add', attribute: 'attributeTypes', values: [definition] }]));
    return {
      undo: async () => {
        await enabled(true);
        // 389 DS 2.3.1 starts a total update of the consumer when this agreement (made with
        // nsds5BeginReplicaRefresh) is enabled again: wait until it is done and the node answers.
        await eventually(async () => {
          await withDirectory(c, c.nodes[0]!.url, 'data', (d) => d.modify(`ou=people,${c.suffix}`, [{ operation: 'replace', attribute: 'description', values: [`poke ${Date.now()}`] }]));
          const busy = await withDirectory(c, c.nodes[0]!.url, 'config', async (d) => String((await d.get(agreement, ['nsds5replicaUpdateInProgress']))?.attributes.nsds5replicaUpdateInProgress ?? 'TRUE'));
          if (/true/i.test(busy)) return false;
          return withDirectory(c, c.nodes[2]!.url, 'data', async (d) => (await readServerSchema(d)).byName.has('attributeType:luschematestgap') && (await d.get(c.suffix, ['dc'])) !== null).catch(() => false);
        }, 60_000);
      },
    };
  },
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
