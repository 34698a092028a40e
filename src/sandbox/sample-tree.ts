import type { Directory } from '../ldap/directory.js';
import type { AttributeValue } from '../ldap/entry.js';

export interface SampleEntry {
  dn: string;
  attributes: Record<string, AttributeValue[]>;
}

const GIVEN = ['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Vint', 'Leslie', 'Margaret'];
const FAMILY = ['Lovelace', 'Turing', 'Hopper', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Cerf', 'Lamport', 'Hamilton'];

/**
 * A small organisation: `people` persons under ou=people and `groups` groups of names under
 * ou=groups. The last group also lists two members that do not exist (dangling references), for
 * the shipped repair tag to find.
 */
export function sampleTree(suffix: string, people = 300, groups = 20): SampleEntry[] {
  const rdnValue = /^dc=([^,]+)/i.exec(suffix)?.[1] ?? 'example';
  const entries: SampleEntry[] = [
    { dn: suffix, attributes: { objectClass: ['top', 'dcObject', 'organization'], dc: [rdnValue], o: [`${rdnValue} Inc.`] } },
    { dn: `ou=people,${suffix}`, attributes: { objectClass: ['organizationalUnit'], ou: ['people'] } },
    { dn: `ou=groups,${suffix}`, attributes: { objectClass: ['organizationalUnit'], ou: ['groups'] } },
  ];
  const uids: string[] = [];
  for (let i = 1; i <= people; i++) {
    const given = GIVEN[i % GIVEN.length]!;
    const family = FAMILY[Math.floor(i / GIVEN.length) % FAMILY.length]!;
    const uid = `user${String(i).padStart(4, '0')}`;
    uids.push(uid);
    entries.push({
      dn: `uid=${uid},ou=people,${suffix}`,
      attributes: {
        objectClass: ['inetOrgPerson'], uid: [uid], cn: [`${given} ${family} ${i}`], sn: [family],
        givenName: [given], mail: [`${uid}@${rdnValue}.com`], employeeNumber: [String(1000 + i)],
        departmentNumber: [String(i % 7)],
      },
    });
  }
  for (let g = 1; g <= groups; g++) {
    const members = uids.filter((_, i) => i % groups === g - 1).map((uid) => `uid=${uid},ou=people,${suffix}`);
    if (g === groups) members.push(`uid=former1,ou=people,${suffix}`, `uid=former2,ou=people,${suffix}`);
    entries.push({
      dn: `cn=team${String(g).padStart(2, '0')},ou=groups,${suffix}`,
      attributes: { objectClass: ['groupOfNames'], cn: [`team${String(g).padStart(2, '0')}`], member: members, description: [`Team ${g}`] },
    });
  }
  return entries;
}

/**
 * Adds the sample tree over LDAP: the suffix entry (unless the server made one already) and the
 * two branches first, then the rest with a few writes in flight.
 */
export async function loadSampleTree(master: Directory, suffix: string): Promise<void> {
  const entries = sampleTree(suffix);
  if (!(await master.get(suffix, ['1.1']))) await master.add(entries[0]!.dn, entries[0]!.attributes);
  for (const e of entries.slice(1, 3)) await master.add(e.dn, e.attributes);
  const rest = entries.slice(3);
  for (let i = 0; i < rest.length; i += 16) await Promise.all(rest.slice(i, i + 16).map((e) => master.add(e.dn, e.attributes)));
}
