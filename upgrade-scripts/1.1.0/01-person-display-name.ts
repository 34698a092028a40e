import { defineScript } from 'ldap-upgrade';

/** 1.1.0: the application now searches people by displayName (indexed), so every person needs one. */
export default defineScript({
  description: 'Give every person a displayName built from givenName and sn',
  async up(ctx) {
    for await (const person of ctx.search({ base: `ou=people,${ctx.suffix}`, filter: '(&(objectClass=inetOrgPerson)(!(displayName=*)))', attributes: ['givenName', 'sn', 'cn'] })) {
      const given = ctx.values(person, 'givenName')[0];
      const family = ctx.values(person, 'sn')[0];
      const displayName = given && family ? `${given} ${family}` : ctx.values(person, 'cn')[0]!;
      await ctx.modify(person.dn, [{ operation: 'replace', attribute: 'displayName', values: [displayName] }]);
    }
  },
});
