import { describe, expect, it } from 'vitest';
import { CancelledError, LockedError, ScriptFailedError } from '../../src/errors.js';
import { exitCodeForResult } from '../../src/cli/exit.js';
import { dryRun } from '../../src/run/dry-run.js';
import { recover } from '../../src/run/recover.js';
import { runUpgrade } from '../../src/run/upgrade.js';
import { memoryRun, SUFFIX, TWO_VERSIONS, VERSION_ENTRY, type MemoryRun } from '../helpers/memory-run.js';

const settings = {};
const people = (n: number) => `uid=user${n},ou=people,${SUFFIX}`;

async function expectEveryNode(run: MemoryRun, check: (content: string[]) => void): Promise<void> {
  const master = run.content(run.cluster.master.url);
  check(master);
  for (const r of run.cluster.replicas) expect(run.content(r.url), r.url).toEqual(master);
}

function expectGivenBack(run: MemoryRun): void {
  for (const r of run.cluster.replicas) expect(r.frozen, `${r.url} frozen`).toBe(false);
}

describe('the run over an in-memory directory: what is written, in which order', () => {
  it('a clean run: frozen → applying → waiting → done; history and version after each script, replicas given back, lock released', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const report = await runUpgrade(run.topology, settings, (e) => run.events.push(e));
    expect(report.outcome).toBe('done');
    expect(exitCodeForResult({ kind: 'upgrade', report })).toBe(0);
    expect(run.states()).toEqual(['frozen', 'applying', 'waiting', 'done']);
    // The master's writes: lock and record first, the scripts' writes, then each script's history
    // and (after a version's last script) the version; the lock goes last but for the final record.
    const w = run.cluster.master.writes;
    const at = (s: string) => w.findIndex((x) => x.startsWith(s));
    expect(at(`add cn=lock,${VERSION_ENTRY}`)).toBeLessThan(at(`add ou=apps,${SUFFIX}`));
    expect(at(`add ou=apps,${SUFFIX}`)).toBeLessThan(at(`modify ${people(1)}`));
    const versionWrites = w.filter((x) => x === `modify ${VERSION_ENTRY}`);
    expect(versionWrites).toHaveLength(2);
    expect(w.lastIndexOf(`delete cn=lock,${VERSION_ENTRY}`)).toBe(w.length - 2);
    expect(w[w.length - 1]).toMatch(/^modify cn=\S+,cn=runs,/);
    expect(report.steps.map((s) => s.status)).toEqual(['Success', 'Success']);
    expect(report.replicas.map((r) => [r.freeze, r.converge, r.unfreeze])).toEqual([['Success', 'Success', 'Success'], ['Success', 'Success', 'Success']]);
    expect((await run.topology.store.readVersion()).version).toBe('1.1.0');
    expect(await run.topology.store.readLock()).toBeUndefined();
    expect((await run.topology.store.readHistory()).map((h) => h.script)).toEqual(['1.1.0/01-title.ldif', '1.0.0/01-add-ou.ldif']);
    expectGivenBack(run);
    await expectEveryNode(run, (c) => expect(c.some((l) => l.startsWith(`uid=user1,ou=people,${SUFFIX}`) && l.includes('migrated'))).toBe(true));
    // A second run has nothing to do and writes nothing.
    const before = run.cluster.master.writes.length;
    expect((await runUpgrade(run.topology, settings, () => undefined)).outcome).toBe('nothing-to-do');
    expect(run.cluster.master.writes.length).toBe(before);
  });

  it('a script refused half-way: rolled back in reverse from the journal, version and history as before, replicas given back (exit 5)', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const before = run.content(run.cluster.master.url);
    run.cluster.master.failWrite = { match: (op, dn) => op === 'modify' && dn === people(3), code: 50, message: 'insufficient access' };
    const report = await runUpgrade(run.topology, settings, (e) => run.events.push(e));
    expect(report.outcome).toBe('script-failed');
    expect(exitCodeForResult({ kind: 'upgrade', report })).toBe(5);
    expect(report.error).toMatch(/^version 1\.1\.0: script 1\.1\.0\/01-title\.ldif failed at uid=user3/);
    expect(report.rolledBack).toBe(true);
    expect(report.steps.map((s) => s.status)).toEqual(['Success', 'Error']);
    expect(run.states()).toEqual(['frozen', 'applying', 'rolling-back', 'rolled-back']);
    expect((await run.topology.store.readVersion()).version).toBeUndefined();
    expect(await run.topology.store.readHistory()).toEqual([]);
    expect(await run.topology.store.readLock()).toBeUndefined();
    expectGivenBack(run);
    await expectEveryNode(run, (c) => expect(c).toEqual(before));
  });

  it('interrupted by a signal during a script: rolled back, outcome interrupted (130; 143 for SIGTERM)', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const before = run.content(run.cluster.master.url);
    const controller = new AbortController();
    run.cluster.master.onWrite = (op, dn) => {
      if (op === 'modify' && dn === people(1)) controller.abort('SIGTERM');
    };
    const report = await runUpgrade(run.topology, { ...settings, signal: controller.signal }, () => undefined);
    expect(report.outcome).toBe('interrupted');
    expect(exitCodeForResult({ kind: 'upgrade', report, signal: 'SIGTERM' })).toBe(143);
    expect(exitCodeForResult({ kind: 'upgrade', report, signal: 'SIGINT' })).toBe(130);
    expect(report.rolledBack).toBe(true);
    expectGivenBack(run);
    await expectEveryNode(run, (c) => expect(c).toEqual(before));
  });

  it('"n" at the confirmation: CancelledError (130, as Ctrl-C there), nothing written anywhere', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    await expect(runUpgrade(run.topology, { ...settings, confirm: async () => false }, () => undefined)).rejects.toThrow(CancelledError);
    for (const s of run.cluster.servers) expect(s.writes, s.url).toEqual([]);
  });

  it('the dry run is prepare + apply in planned mode: the planned changes, reads seeing earlier ones, and no write on any server', async () => {
    const run = await memoryRun({
      ...TWO_VERSIONS,
      '1.1.0/02-under-apps.ldif': 'dn: cn=tool,ou=apps,${suffix}\nchangetype: add\nobjectClass: applicationProcess\ncn: tool\n',
    });
    const planned: string[] = [];
    const report = await dryRun(run.topology, {}, (script, record) => planned.push(`${script} ${record.kind} ${record.dn}`), () => undefined);
    expect(report.steps.map((s) => [s.script, s.status, s.entriesChanged])).toEqual([
      ['1.0.0/01-add-ou.ldif', 'Planned', 1], ['1.1.0/01-title.ldif', 'Planned', 2], ['1.1.0/02-under-apps.ldif', 'Planned', 1],
    ]);
    expect(planned).toEqual([
      `1.0.0/01-add-ou.ldif add ou=apps,${SUFFIX}`, `1.1.0/01-title.ldif modify ${people(1)}`, `1.1.0/01-title.ldif modify ${people(3)}`,
      `1.1.0/02-under-apps.ldif add cn=tool,ou=apps,${SUFFIX}`,
    ]);
    expect(report.replicasToFreeze).toEqual(run.cluster.replicas.map((r) => ({ url: r.url, alreadyReadOnly: false })));
    for (const s of run.cluster.servers) expect(s.writes, s.url).toEqual([]);
  });

  it('a bulk import into a branch the dry run itself adds reads none of its records from the master', async () => {
    const records = Array.from({ length: 50 }, (_, i) => `dn: uid=imp${i},ou=import,\${suffix}\nchangetype: add\nobjectClass: account\nuid: imp${i}\n`).join('\n');
    const run = await memoryRun({ '1.0.0/01-import.ldif': `dn: ou=import,\${suffix}\nchangetype: add\nobjectClass: organizationalUnit\nou: import\n\n${records}` });
    const read: string[] = [];
    const get = run.topology.master.get.bind(run.topology.master);
    run.topology.master.get = (dn: string, attributes?: string[]) => { read.push(dn); return get(dn, attributes); };
    const report = await dryRun(run.topology, {}, () => undefined, () => undefined);
    expect(report.steps[0]!.entriesChanged).toBe(51);
    expect(read.filter((dn) => /uid=imp/.test(dn))).toEqual([]);
    expect(read).toContain(`ou=import,${SUFFIX}`);
  });

  it('the dry run of a failing script: exit 5 naming it, nothing written', async () => {
    const run = await memoryRun({ '1.0.0/01-bad.ldif': 'dn: uid=nobody,ou=people,${suffix}\nchangetype: modrdn\nnewrdn: uid=x\ndeleteoldrdn: 1\n' });
    await expect(dryRun(run.topology, {}, () => undefined, () => undefined)).rejects.toThrow(ScriptFailedError);
    for (const s of run.cluster.servers) expect(s.writes, s.url).toEqual([]);
  });
});

describe('recover over an in-memory directory: its report in every outcome', () => {
  it('a replica that cannot be given back: the run ends replicas-frozen (8); recover while it is away is incomplete (3) with the report; once back, recovered (0)', async () => {
    const run = await memoryRun(TWO_VERSIONS, { timeout: 0.5 });
    const away = run.cluster.replicas[1]!;
    const events = (e: { type: string; phase?: string }) => {
      if (e.type === 'phase' && e.phase === 'converge') away.down = true;
    };
    const report = await runUpgrade(run.topology, settings, events as never);
    expect(report.outcome).toBe('replicas-frozen');
    expect(exitCodeForResult({ kind: 'upgrade', report })).toBe(8);
    expect(away.frozen).toBe(true);
    expect(run.cluster.replicas[0]!.frozen).toBe(false);

    const incomplete = await recover(run.topology, settings, () => undefined);
    expect(incomplete).toMatchObject({ outcome: 'incomplete', stillFrozen: [{ url: away.url }] });
    expect(incomplete.error).toMatch(/is still frozen/);
    expect(exitCodeForResult({ kind: 'recover', report: incomplete })).toBe(3);

    away.down = false;
    const done = await recover(run.topology, settings, () => undefined);
    expect(done).toMatchObject({ outcome: 'recovered', unfrozen: [away.url], stillFrozen: [] });
    expect(exitCodeForResult({ kind: 'recover', report: done })).toBe(0);
    expect(away.frozen).toBe(false);
  });

  it('a run that died mid-apply (its lock left, replicas frozen): recover --rollback undoes it through the same rollback, every node as before', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const before = run.content(run.cluster.master.url);
    // The process "dies" after the first script's writes: an unexpected error in a history add.
    run.cluster.master.failWrite = { match: (op, dn) => op === 'add' && /cn=history/.test(dn) && /-0002,/.test(dn), code: 80, message: 'other' };
    await expect(runUpgrade(run.topology, settings, () => undefined)).rejects.toThrow(/other/);
    expect(await run.topology.store.readLock()).toBeDefined();
    await expect(recover(run.topology, { ...settings, rollback: true }, () => undefined)).rejects.toThrow(LockedError);
    const report = await recover(run.topology, { ...settings, rollback: true, force: true }, () => undefined);
    expect(report).toMatchObject({ outcome: 'rolled-back', lockReleased: true });
    expect(report.changesUndone).toBe(3);
    expect((await run.topology.store.readVersion()).version).toBeUndefined();
    expect(await run.topology.store.readHistory()).toEqual([]);
    expectGivenBack(run);
    await expectEveryNode(run, (c) => expect(c).toEqual(before));
  });
});

describe('exact pre-images: a client write between a script read and its write survives every rollback', () => {
  /** Reads user1 and user3, lets a client of the master change their title, then writes them; the next script fails. */
  const scripts = {
    '1.0.0/01-read-pause-write.mjs': `export default {
      async up(ctx) {
        const people = [];
        for await (const e of ctx.search({ base: 'ou=people,' + ctx.suffix, filter: '(|(uid=user1)(uid=user3))', attributes: ['title'] })) people.push(e);
        await globalThis.__clientWritesNow();
        for (const p of people) await ctx.modify(p.dn, [{ operation: 'replace', attribute: 'title', values: ['by-script'] }]);
      },
    };\n`,
    '1.0.0/02-fails.ldif': 'dn: uid=nobody,ou=people,${suffix}\nchangetype: modify\nreplace: title\ntitle: x\n-\n',
  };

  async function lostWriteRun(preRead: boolean): Promise<{ run: MemoryRun; titles: () => (string | undefined)[][] }> {
    const run = await memoryRun(scripts);
    run.cluster.master.preRead = preRead;
    const client = await run.cluster.connector({ url: run.cluster.master.url, tls: {} as never });
    (globalThis as { __clientWritesNow?: () => Promise<void> }).__clientWritesNow = async () => {
      for (const n of [1, 3]) await client.modify(people(n), [{ operation: 'replace', attribute: 'title', values: [`client-${n}`] }]);
    };
    const titles = () => run.cluster.servers.map((s) => [1, 3].map((n) => s.get(people(n))?.attributes.title?.[0] as string | undefined));
    return { run, titles };
  }

  it('the failed run rolls back to the client\'s values, not the script\'s stale read (on every node)', async () => {
    const { run, titles } = await lostWriteRun(true);
    const report = await runUpgrade(run.topology, {}, () => undefined);
    expect(report.outcome).toBe('script-failed');
    expect(report.rolledBack).toBe(true);
    expect(titles()).toEqual(run.cluster.servers.map(() => ['client-1', 'client-3']));
  });

  it('recover --rollback after a dead run restores the client\'s values too', async () => {
    const { run, titles } = await lostWriteRun(true);
    // The process "dies" after the first script: its history entry cannot be written.
    run.cluster.master.failWrite = { match: (op, dn) => op === 'add' && /-0001,cn=history,/.test(dn), code: 80, message: 'other' };
    await expect(runUpgrade(run.topology, {}, () => undefined)).rejects.toThrow(/other/);
    const report = await recover(run.topology, { rollback: true, force: true }, () => undefined);
    expect(report.outcome).toBe('rolled-back');
    expect(titles()).toEqual(run.cluster.servers.map(() => ['client-1', 'client-3']));
  });

  it('without the Pre-Read control (a server that does not answer it) the stale read is what the journal has: the case the control exists for', async () => {
    const { run, titles } = await lostWriteRun(false);
    await runUpgrade(run.topology, {}, () => undefined);
    expect(titles()[0]).toEqual([undefined, undefined]);
  });
});

describe('the lock lost while the run runs', () => {
  it('deleted between two scripts: the run stops writing at once — no next script, no rollback, no give-back — outcome lock-lost (exit 4)', async () => {
    const run = await memoryRun(TWO_VERSIONS);
    const m = run.cluster.master;
    let writesAtLoss = -1;
    m.onWrite = (op, dn) => {
      if (op === 'add' && /-0001,cn=history,/.test(dn)) {
        m.entries.delete(`cn=lock,${VERSION_ENTRY}`.toLowerCase());
        writesAtLoss = m.writes.length;
      }
    };
    const report = await runUpgrade(run.topology, {}, () => undefined);
    expect(report.outcome).toBe('lock-lost');
    expect(exitCodeForResult({ kind: 'upgrade', report })).toBe(4);
    expect(report.error).toMatch(/was deleted while it ran.*nothing was rolled back/);
    expect(report.rolledBack).toBe(false);
    // After the loss: at most the version entry of the version just completed and its record.
    expect(m.writes.slice(writesAtLoss).every((w) => w.startsWith(`modify ${VERSION_ENTRY}`) || /,cn=runs,/.test(w))).toBe(true);
    expect(m.writes.some((w) => w.startsWith(`modify ${people(1)}`))).toBe(false);
    for (const r of run.cluster.replicas) expect(r.frozen, r.url).toBe(true);
  });
});
