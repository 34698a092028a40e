import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes versions 1.1.0 … 1.<upTo>.0 of a shipped-style script set into `dir` (the same text for
 * a version every time, so applied ones keep their checksums): an LDIF modify, a code script that
 * adds an entry and rewrites 30 people (searching for a key, writing another attribute), one
 * that waits `waitMs` and then changes a few more, and an LDIF add.
 */
export function writeLoadScripts(dir: string, upTo: number, waitMs: number): void {
  for (let k = 1; k <= upTo; k++) {
    const v = join(dir, `1.${k}.0`);
    mkdirSync(v, { recursive: true });
    writeFileSync(join(v, '01-describe.ldif'), `dn: cn=team01,ou=groups,\${suffix}\nchangetype: modify\nreplace: description\ndescription: release 1.${k}.0\n-\n`);
    writeFileSync(join(v, '02-people.mjs'), `export default {
  description: 'Rewrite 30 people',
  async up(ctx) {
    await ctx.add('cn=release-${k},ou=groups,' + ctx.suffix, { objectClass: ['organizationalRole'], cn: ['release-${k}'] });
    let n = 0;
    for await (const p of ctx.search({ base: 'ou=people,' + ctx.suffix, filter: '(uid=user00*)', attributes: ['uid'] })) {
      if (n++ >= 30) break;
      await ctx.modify(p.dn, [{ operation: 'replace', attribute: 'title', values: ['release 1.${k}.0'] }]);
    }
  },
};
`);
    writeFileSync(join(v, '03-slow.mjs'), `export default {
  description: 'A step that takes a while',
  async up(ctx) {
    await new Promise((r) => setTimeout(r, ${waitMs}));
    for (const u of ['user0001', 'user0002', 'user0003']) await ctx.modify('uid=' + u + ',ou=people,' + ctx.suffix, [{ operation: 'replace', attribute: 'employeeType', values: ['r${k}'] }]);
  },
};
`);
    writeFileSync(join(v, '04-mark.ldif'), `dn: cn=mark-${k},ou=groups,\${suffix}\nchangetype: add\nobjectClass: organizationalRole\ncn: mark-${k}\n`);
  }
}
