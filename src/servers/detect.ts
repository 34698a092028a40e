import { ConnectionError, RefusedError } from '../errors.js';
import type { Directory } from '../ldap/directory.js';
import { getValues } from '../ldap/entry.js';
import type { ServerAdapter, ServerKind } from './adapter.js';
import { openLdapAdapter } from './openldap/adapter.js';
import { dirsrvAdapter } from './389ds/adapter.js';

export interface ServerIdentity {
  kind: ServerKind;
  /** e.g. "OpenLDAP" or "389-Directory/2.3.1", for reports. */
  product: string;
}

/**
 * Tells OpenLDAP from 389 DS by the root DSE: OpenLDAP's has the `OpenLDAProotDSE` object class
 * (and `configContext: cn=config`); 389 DS's names its vendor (`vendorName: 389 Project`).
 */
export async function detectServer(dir: Directory): Promise<ServerIdentity> {
  const root = await dir.get('', ['*', '+']);
  if (!root) throw new ConnectionError(`${dir.server}: cannot read the root DSE`);
  const classes = [...getValues(root, 'objectClass'), ...getValues(root, 'structuralObjectClass')].map((v) => String(v).toLowerCase());
  const vendorName = getValues(root, 'vendorName').map(String).join(' ');
  const vendorVersion = getValues(root, 'vendorVersion').map(String).join(' ');
  if (classes.includes('openldaprootdse')) return { kind: 'openldap', product: 'OpenLDAP' };
  if (/389|fedora|red hat directory/i.test(vendorName) || /389-Directory/i.test(vendorVersion)) {
    return { kind: '389ds', product: vendorVersion || vendorName };
  }
  const seen = [vendorName, vendorVersion].filter(Boolean).join(', ') || 'no vendor attributes';
  throw new RefusedError(`${dir.server}: neither OpenLDAP nor 389 Directory Server (root DSE: ${seen}); set server: in the configuration if detection is wrong`);
}

export function adapterFor(kind: ServerKind): ServerAdapter {
  return kind === 'openldap' ? openLdapAdapter : dirsrvAdapter;
}
