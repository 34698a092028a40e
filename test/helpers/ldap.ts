import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Directory } from '../../src/ldap/directory.js';
import { getValues, isOperational, isUnder, normalizeDn } from '../../src/ldap/entry.js';
import { attributeLine } from '../../src/ldif/write.js';
import type { SandboxCluster } from '../../src/sandbox/index.js';

const TLS = { startTLS: false, insecure: false };

export async function openAs(cluster: SandboxCluster, url: string, as: 'data' | 'config' | 'anonymous' = 'data'): Promise<Directory> {
  if (as === 'anonymous') return Directory.open({ url, tls: TLS });
  return Directory.open({
    url, tls: TLS,
    bindDn: as === 'data' ? cluster.bindDn : cluster.configDn,
    password: as === 'data' ? cluster.password : cluster.configPassword,
  });
}

export async function withDirectory<T>(cluster: SandboxCluster, url: string, as: 'data' | 'config', fn: (d: Directory) => Promise<T>): Promise<T> {
  const d = await openAs(cluster, url, as);
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

/**
 * The suffix's user data on one node as sorted LDIF (entries by DN, attributes and values
 * sorted, operational attributes dropped). With `excludeTool`, the tool's own records under the
 * version entry (run records, history) are left out.
 */
export async function dump(cluster: SandboxCluster, url: string, options: { excludeTool?: boolean } = {}): Promise<string> {
  const versionEntry = `cn=schema-version,${cluster.suffix}`;
  return withDirectory(cluster, url, 'data', async (d) => {
    const entries: string[] = [];
    for await (const e of d.search({ base: cluster.suffix, attributes: ['*'] })) {
      if (options.excludeTool && isUnder(e.dn, versionEntry)) continue;
      const lines = [`dn: ${normalizeDn(e.dn)}`];
      for (const name of Object.keys(e.attributes).filter((n) => !isOperational(n)).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()))) {
        for (const v of getValues(e, name).map(String).sort()) lines.push(attributeLine(name.toLowerCase(), v));
      }
      entries.push(lines.join('\n'));
    }
    return entries.sort().join('\n\n');
  });
}

export async function contextCsn(cluster: SandboxCluster, url: string): Promise<string[]> {
  return withDirectory(cluster, url, 'data', async (d) => getValues((await d.get(cluster.suffix, ['contextCSN']))!, 'contextCSN').map(String).sort());
}

/** olcReadOnly of the node's database for the suffix ('TRUE', 'FALSE' or undefined). */
export async function readOnly(cluster: SandboxCluster, url: string): Promise<string | undefined> {
  return withDirectory(cluster, url, 'config', async (d) => {
    for await (const e of d.search({ base: 'cn=config', scope: 'one', filter: `(olcSuffix=${cluster.suffix})`, attributes: ['olcReadOnly'] })) {
      return getValues(e, 'olcReadOnly').map(String)[0];
    }
    return undefined;
  });
}

export async function setReadOnly(cluster: SandboxCluster, url: string, value: boolean): Promise<void> {
  await withDirectory(cluster, url, 'config', async (d) => {
    for await (const e of d.search({ base: 'cn=config', scope: 'one', filter: `(olcSuffix=${cluster.suffix})`, attributes: ['olcReadOnly'] })) {
      await d.modify(e.dn, [{ operation: 'replace', attribute: 'olcReadOnly', values: [value ? 'TRUE' : 'FALSE'] }]);
    }
  });
}

/** The bind password for ldap-utils' `-y`, which takes the whole file: a copy without the newline. */
export function clientPasswordFile(cluster: SandboxCluster): string {
  const file = join(cluster.dir, 'client-password');
  if (!existsSync(file)) writeFileSync(file, cluster.password, { mode: 0o600 });
  return file;
}

/**
 * A client write on a node by a real client (`ldapmodify`, which neither sends ManageDsaIT nor
 * chases referrals); returns its exit code, the LDAP result code: 0, 53 unwilling (a frozen
 * OpenLDAP), 10 referral (a frozen 389 DS). A write that succeeds is taken back at once
 * (roomNumber is not in the sample data), so content compares equal.
 */
export async function clientWrite(cluster: SandboxCluster, url: string, dn = `uid=user0001,ou=people,${cluster.suffix}`): Promise<number> {
  const ldif = `dn: ${dn}\nchangetype: modify\nreplace: roomNumber\nroomNumber: probe\n-\n\ndn: ${dn}\nchangetype: modify\ndelete: roomNumber\n-\n`;
  const pwFile = clientPasswordFile(cluster);
  return new Promise((resolve) => {
    const child = spawn('ldapmodify', ['-x', '-H', url, '-D', cluster.bindDn, '-y', pwFile], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('close', (code) => resolve(code ?? -1));
    child.stdin!.end(ldif);
  });
}

export async function readAttr(cluster: SandboxCluster, url: string, dn: string, attribute: string): Promise<string[] | null> {
  return withDirectory(cluster, url, 'data', async (d) => {
    const e = await d.get(dn, [attribute]);
    return e ? getValues(e, attribute).map(String) : null;
  });
}

/** Polls `fn` until it returns true (or fails after `ms`). */
export async function eventually(fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}

/** Reads every node's dump until they are all equal (replication settles), then returns them. */
export async function settledDumps(cluster: SandboxCluster, options: { excludeTool?: boolean } = {}, timeoutMs = 20_000): Promise<string[]> {
  let dumps: string[] = [];
  try {
    await eventually(async () => {
      dumps = await Promise.all(cluster.nodes.map((n) => dump(cluster, n.url, options)));
      return dumps.every((d) => d === dumps[0]);
    }, timeoutMs);
  } catch (err) {
    // A node that cannot be read at all: say so. Else say where the nodes disagree.
    if (dumps.length === 0) throw err;
    const first = dumps[0]!.split('\n\n');
    const report = dumps.slice(1).map((d, i) => {
      const other = d.split('\n\n');
      const missing = first.filter((e) => !other.includes(e)).map((e) => e.split('\n')[0]);
      const extra = other.filter((e) => !first.includes(e)).map((e) => e.split('\n')[0]);
      return `node ${i + 2}: ${missing.length} entries differ or missing (${missing.slice(0, 3).join('; ')}), ${extra.length} extra (${extra.slice(0, 3).join('; ')})`;
    });
    throw new Error(`the nodes did not agree within ${timeoutMs / 1000} s: ${report.join(' | ')}`);
  }
  return dumps;
}

/** Adds `count` inetOrgPerson entries `uid=<ou>NNNNN` under a new `ou=<ou>` on the master (one ldapadd). */
export async function bulkLoad(cluster: SandboxCluster, ou: string, count: number): Promise<void> {
  const lines = [`dn: ou=${ou},${cluster.suffix}\nobjectClass: organizationalUnit\nou: ${ou}\n`];
  for (let i = 0; i < count; i++) {
    const uid = `${ou}${String(i).padStart(5, '0')}`;
    lines.push(`dn: uid=${uid},ou=${ou},${cluster.suffix}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${ou} ${i}\nsn: ${i}\ndescription: loaded\n`);
  }
  const pwFile = clientPasswordFile(cluster);
  const code = await new Promise<number>((resolve) => {
    const child = spawn('ldapadd', ['-x', '-H', cluster.nodes[0]!.url, '-D', cluster.bindDn, '-y', pwFile], { stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('close', (c) => resolve(c ?? -1));
    child.stdin!.end(lines.join('\n'));
  });
  if (code !== 0) throw new Error(`ldapadd of ${count} entries exited ${code}`);
}

/** How many entries directly under `ou=<ou>` match `filter` on one node. */
export async function countMatching(cluster: SandboxCluster, url: string, ou: string, filter: string): Promise<number> {
  return withDirectory(cluster, url, 'data', async (d) => {
    let n = 0;
    for await (const page of d.searchPages({ base: `${ou},${cluster.suffix}`, scope: 'one', filter, attributes: ['1.1'] })) n += page.length;
    return n;
  });
}
