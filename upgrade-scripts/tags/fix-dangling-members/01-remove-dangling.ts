import { defineScript } from 'ldap-upgrade';

/** Out-of-band repair: drop group members whose entry no longer exists (run with --tag fix-dangling-members --force). */
export default defineScript({
  description: 'Remove members that point at deleted entries',
  async up(ctx) {
    for await (const group of ctx.search({ filter: '(objectClass=groupOfNames)', attributes: ['member'] })) {
      const members = ctx.values(group, 'member');
      const dangling: string[] = [];
      for (const member of members) if (!(await ctx.exists(member))) dangling.push(member);
      // groupOfNames needs one member at least: keep the group valid.
      if (dangling.length === 0 || dangling.length === members.length) continue;
      ctx.log(`${group.dn}: removing ${dangling.length} dangling member(s)`);
      await ctx.modify(group.dn, [{ operation: 'delete', attribute: 'member', values: dangling }]);
    }
  },
});
