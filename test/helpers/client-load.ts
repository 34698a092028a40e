import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'ldapts';
import type { SandboxCluster } from '../../src/sandbox/index.js';
import { getValues } from '../../src/ldap/entry.js';
import { withDirectory } from './ldap.js';

/** One client write: when it was sent and answered, and its LDAP result code (0 accepted). */
export interface ClientWrite {
  node: string;
  op: 'add' | 'modify';
  dn: string;
  /** The value a modify set (the counter), for the end check. */
  value?: string;
  sentAt: number;
  answeredAt: number;
  code: number;
}

/** How many counter entries each writer modifies in turn (one entry modified thousands of times
 * accumulates value history in 389 DS, which slows every later change of it: not what
 * applications do). */
export const COUNTERS = 50;

/**
 * A client of one node writing as applications do, without ManageDsaIT and without chasing
 * referrals: every `intervalMs`, an add of a new entry under `ou=load` and a modify of one of the
 * node's COUNTERS counter entries (in turn), alternately, until stopped. Every attempt is kept
 * with its result code.
 */
export class ClientWriter {
  readonly writes: ClientWrite[] = [];
  private stopped = false;
  private done: Promise<void> = Promise.resolve();
  private seq = 0;

  /** `tag`: names the writer's counter entry; `prefix`: starts the names of the entries it adds. */
  constructor(private readonly cluster: SandboxCluster, readonly url: string, readonly tag: string, private readonly prefix = tag, private readonly intervalMs = 20) {}

  counterDn(k: number): string {
    return `cn=counter-${this.tag}-${k},ou=load,${this.cluster.suffix}`;
  }

  start(): void {
    this.stopped = false;
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async loop(): Promise<void> {
    let client: Client | undefined;
    while (!this.stopped) {
      try {
        if (!client) {
          client = new Client({ url: this.url, timeout: 5_000, connectTimeout: 2_000 });
          await client.bind(this.cluster.bindDn, this.cluster.password);
        }
        await this.writeOnce(client);
      } catch {
        // The node is down or restarting: a client retries with a new connection.
        await client?.unbind().catch(() => {});
        client = undefined;
        await sleep(200);
      }
      await sleep(this.intervalMs);
    }
    await client?.unbind().catch(() => {});
  }

  private async writeOnce(client: Client): Promise<void> {
    const n = this.seq++;
    const add = n % 2 === 0;
    const dn = add ? `cn=${this.prefix}-${n},ou=load,${this.cluster.suffix}` : this.counterDn(Math.floor(n / 2) % COUNTERS);
    const value = add ? undefined : `${this.prefix}-${n}`;
    const sentAt = Date.now();
    let code = 0;
    try {
      if (add) await client.add(dn, { objectClass: ['top', 'device'], cn: `${this.prefix}-${n}` });
      else await client.modify(dn, [{ operation: 'replace', modification: { type: 'serialNumber', values: [value!] } } as never]);
    } catch (err) {
      const c = (err as { code?: unknown }).code;
      if (typeof c !== 'number') throw err; // not an LDAP answer: the connection failed
      code = c;
    }
    this.writes.push({ node: this.url, op: add ? 'add' : 'modify', dn, value, sentAt, answeredAt: Date.now(), code });
  }
}

/** Creates `ou=load` and COUNTERS counter entries per tag on the master, and waits until every node has them. */
export async function prepareLoad(cluster: SandboxCluster, tags: string[]): Promise<void> {
  await withDirectory(cluster, cluster.nodes[0]!.url, 'data', async (d) => {
    if (!(await d.get(`ou=load,${cluster.suffix}`, ['1.1']))) await d.add(`ou=load,${cluster.suffix}`, { objectClass: ['organizationalUnit'], ou: ['load'] });
    for (const t of tags) {
      for (let k = 0; k < COUNTERS; k++) {
        const dn = `cn=counter-${t}-${k},ou=load,${cluster.suffix}`;
        if (!(await d.get(dn, ['1.1']))) await d.add(dn, { objectClass: ['top', 'device'], cn: [`counter-${t}-${k}`], serialNumber: ['0'] });
      }
    }
  });
  for (const n of cluster.nodes) {
    for (let i = 0; ; i++) {
      const ok = await withDirectory(cluster, n.url, 'data', async (d) => Boolean(await d.get(`cn=counter-${tags.at(-1)}-${COUNTERS - 1},ou=load,${cluster.suffix}`, ['1.1'])));
      if (ok) break;
      if (i > 300) throw new Error(`${n.url} did not get ou=load`);
      await sleep(50);
    }
  }
}

/**
 * What every node must hold at the end: each accepted add's entry, and each counter's last
 * accepted value. Returns one line per node and fact that does not hold (empty: all hold).
 */
export async function missingWrites(cluster: SandboxCluster, writers: ClientWriter[]): Promise<string[]> {
  const problems: string[] = [];
  for (const n of cluster.nodes) {
    await withDirectory(cluster, n.url, 'data', async (d) => {
      const present = new Set<string>();
      const serial = new Map<string, string>();
      for await (const page of d.searchPages({ base: `ou=load,${cluster.suffix}`, scope: 'one', filter: '(objectClass=device)', attributes: ['cn', 'serialNumber'] })) {
        for (const e of page) {
          present.add(e.dn.toLowerCase());
          const s = getValues(e, 'serialNumber').map(String)[0];
          if (s !== undefined) serial.set(e.dn.toLowerCase(), s);
        }
      }
      for (const w of writers) {
        const accepted = w.writes.filter((x) => x.code === 0);
        const lost = accepted.filter((x) => x.op === 'add' && !present.has(x.dn.toLowerCase()));
        if (lost.length) problems.push(`${n.url}: ${lost.length} accepted add(s) from ${w.tag} missing (${lost.slice(0, 3).map((x) => x.dn.split(',')[0]).join(', ')})`);
        const lastByDn = new Map<string, ClientWrite>();
        for (const x of accepted) if (x.op === 'modify') lastByDn.set(x.dn.toLowerCase(), x);
        for (const [dn, last] of lastByDn) {
          if (serial.get(dn) !== last.value) problems.push(`${n.url}: ${dn.split(',')[0]} holds ${serial.get(dn)}, last accepted ${last.value}`);
        }
      }
    });
  }
  return problems;
}
