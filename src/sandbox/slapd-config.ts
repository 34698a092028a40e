import { createHash, randomBytes } from 'node:crypto';

/** What one OpenLDAP sandbox node's `cn=config` needs to know. */
export interface SlapdNodeConfig {
  /** 1-based node number; also the olcServerID. */
  id: number;
  dir: string;
  suffix: string;
  rootDn: string;
  rootPassword: string;
  configPassword: string;
  /** URLs of every other node, to replicate from. */
  peers: { id: number; url: string }[];
  /**
   * A read-only consumer of its peers (olcSyncrepl without olcMultiProvider): client writes are
   * refused, and the provider keeps no trace of it. Default: a provider among providers.
   */
  consumer?: boolean;
  /** Extra syncrepl parameters, e.g. `exattrs=title` for a fractional consumer. */
  syncreplExtra?: string;
}

/** `{SSHA}` hash for olcRootPW, so no cleartext admin password sits in cn=config. */
export function sshaHash(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

/**
 * The `cn=config` LDIF of one multi-provider node (see docs/replication.md "Server facts"). The syncrepl
 * `credentials` must be cleartext: this is a loopback sandbox with a generated password. The
 * monitor database lets a run watch slapd build an index a configuration script added.
 */
export function slapdConfigLdif(node: SlapdNodeConfig): string {
  const syncrepl = node.peers.map((peer) =>
    `olcSyncrepl: {${peer.id - 1}}rid=${String(peer.id).padStart(3, '0')} provider=${peer.url} bindmethod=simple ` +
    `binddn="${node.rootDn}" credentials="${node.rootPassword}" searchbase="${node.suffix}" ` +
    'type=refreshAndPersist retry="1 +" timeout=1 network-timeout=3' + (node.syncreplExtra ? ` ${node.syncreplExtra}` : ''));
  return `dn: cn=config
objectClass: olcGlobal
cn: config
olcServerID: ${node.id}
olcPidFile: ${node.dir}/slapd.pid
olcLogLevel: none

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: {0}back_mdb
olcModuleLoad: {1}syncprov

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 5000

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcRootDN: cn=config
olcRootPW: ${sshaHash(node.configPassword)}

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: ${node.suffix}
olcDbDirectory: ${node.dir}/data
olcDbMaxSize: 1073741824
olcDbNoSync: TRUE
olcRootDN: ${node.rootDn}
olcRootPW: ${sshaHash(node.rootPassword)}
olcDbIndex: objectClass eq
olcDbIndex: entryCSN eq
olcDbIndex: entryUUID eq
olcDbIndex: cn,uid,mail eq
olcLimits: {0}dn.exact="${node.rootDn}" size=unlimited time=unlimited
olcAccess: {0}to * by dn.exact="${node.rootDn}" manage by * read
${syncrepl.map((l) => `${l}\n`).join('')}${node.peers.length > 0 && !node.consumer ? 'olcMultiProvider: TRUE\n' : ''}
dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {0}syncprov
olcSpCheckpoint: 100 10
olcSpSessionLog: 10000

dn: olcDatabase={2}monitor,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {2}monitor
olcAccess: {0}to * by dn.exact="cn=config" read by dn.exact="${node.rootDn}" read by * none
`;
}
