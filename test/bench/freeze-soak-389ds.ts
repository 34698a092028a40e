/**
 * `npm run soak:389ds` (issue #5, not part of the tests): on a fresh 3-node 389 DS sandbox,
 * ROUNDS (15) times: freeze both replicas through the adapter while the master takes writes,
 * check a client write to each is referred (10), unfreeze, write on them as clients would, then
 * wait up to 15 s for every RUV to agree and every agreement to be free of errors. Prints one line
 * per round and the number of unhealthy rounds: the freeze/unfreeze cycle's health, measured.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Directory } from '../../src/ldap/directory.js';
import { drainInto, waitUntilHolds } from '../../src/replication/catch-up.js';
import { startCluster } from '../../src/sandbox/index.js';
import { dirsrvAdapter } from '../../src/servers/389ds/adapter.js';
import { clientWrite as clientWriteAs } from '../helpers/ldap.js';

const TLS = { startTLS: false, insecure: false };
const c = await startCluster({ kind: '389ds', nodes: 3, dir: mkdtempSync(join(tmpdir(), 'soak389-')) });
const open = (url: string, as: 'data' | 'config') => Directory.open({ url, tls: TLS, bindDn: as === 'data' ? c.bindDn : c.configDn, password: as === 'data' ? c.password : c.configPassword });
const master = await open(c.nodes[0]!.url, 'data');
const write = async (n: number) => { for (let i = 0; i < n; i++) await master.modify(`uid=user${String(1 + (i % 300)).padStart(4, '0')},ou=people,${c.suffix}`, [{ operation: 'replace', attribute: 'description', values: [`x${Date.now()}-${i}`] }]); };
// A real client's write (ldapmodify): 0, or 10 (referral) from a frozen replica.
const clientWrite = (url: string) => clientWriteAs(c, url, `uid=user0003,ou=people,${c.suffix}`);
const replicas = c.nodes.slice(1);
let bad = 0;
for (let round = 1; round <= Number(process.env.ROUNDS ?? 15); round++) {
  const states = await Promise.all(replicas.map(async (n) => { const cfg = await open(n.url, 'config'); try { return await dirsrvAdapter.readWriteState(cfg, c.suffix); } finally { await cfg.close(); } }));
  const writer = write(150);
  await Promise.all(replicas.map(async (n, i) => { const cfg = await open(n.url, 'config'); try { await dirsrvAdapter.freeze(cfg, states[i]!, { masterUrl: c.nodes[0]!.url, suffix: c.suffix, drain: () => drainInto(dirsrvAdapter, c.suffix, master, cfg, 30_000) }); } finally { await cfg.close(); } }));
  const codes = await Promise.all(replicas.map((n) => clientWrite(n.url)));
  await writer;
  await Promise.all(replicas.map(async (n, i) => { const cfg = await open(n.url, 'config'); try { await dirsrvAdapter.unfreeze(cfg, states[i]!, { settle: async () => { await waitUntilHolds(dirsrvAdapter, c.suffix, cfg, await dirsrvAdapter.readReplicationState(master, c.suffix), 15_000); } }); } finally { await cfg.close(); } }));
  // Local writes right after the thaw, as clients would.
  const after = await Promise.all(replicas.map((n) => clientWrite(n.url)));
  await write(20);
  let ok = false; let problems: string[] = []; let alive: string[] = [];
  for (let s = 0; s < 15 && !ok; s++) {
    await sleep(1000);
    alive = await Promise.all(c.nodes.map(async (n) => { try { (await open(n.url, 'config')).close(); return 'up'; } catch { return 'DOWN'; } }));
    if (alive.includes('DOWN')) break;
    const ruvs = await Promise.all(c.nodes.map(async (n) => { const d = await open(n.url, 'data'); try { return await dirsrvAdapter.readReplicationState(d, c.suffix); } finally { await d.close(); } }));
    problems = (await Promise.all(c.nodes.map(async (n) => { const d = await open(n.url, 'config'); try { return (await dirsrvAdapter.replicationProblems!(d, c.suffix)).join('; '); } finally { await d.close(); } }))).filter(Boolean);
    ok = ruvs.every((r) => ruvs.every((o) => dirsrvAdapter.compare(o, r).caughtUp)) && problems.length === 0;
  }
  if (!ok) bad++;
  console.log(`round ${round}: frozen-write codes ${codes.join(',')}, after-thaw codes ${after.join(',')}, nodes ${alive.join(' ')}, healthy ${ok}${ok ? '' : ` [${problems.join(' | ')}]`}`);
  if (alive.includes('DOWN')) break;
}
console.log(`${bad} unhealthy round(s)`);
await master.close();
await c.stop();
