import { RefusedError } from '../../errors.js';
import type { Directory } from '../../ldap/directory.js';
import { getValues, normalizeDn, type LdapEntry } from '../../ldap/entry.js';

export const MAPPING_TREE = 'cn=mapping tree,cn=config';

/** The suffix's entry under cn=mapping tree,cn=config, with `attributes` besides its cn. */
export async function findMappingTree(config: Directory, suffix: string, attributes: string[] = []): Promise<LdapEntry> {
  const want = normalizeDn(suffix);
  for await (const e of config.search({ base: MAPPING_TREE, scope: 'one', filter: '(objectClass=nsMappingTree)', attributes: ['cn', ...attributes] })) {
    if (getValues(e, 'cn').some((cn) => normalizeDn(String(cn).replace(/^"|"$/g, '')) === want)) return e;
  }
  throw new RefusedError(`${config.server}: no mapping tree entry for ${suffix} under ${MAPPING_TREE}`);
}
