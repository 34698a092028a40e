import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/sandbox/processes.js';
import { freePorts, readState, restartOpenLdapNode, startCluster, type SandboxCluster } from '../../src/sandbox/index.js';
import { runCli } from '../helpers/cli.js';
import { contextCsn, eventually, readAttr, withDirectory } from '../helpers/ldap.js';

describe('OpenLDAP sandbox', () => {
  let cluster: SandboxCluster;
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, dir: mkdtempSync(join(tmpdir(), 'ldap-upgrade-sandbox-')) });
  });
  afterAll(async () => cluster?.stop());

  it('replicates a write on node 1 to nodes 2 and 3, and contextCSN converges', async () => {
    const dn = `uid=user0042,ou=people,${cluster.suffix}`;
    await withDirectory(cluster, cluster.nodes[0]!.url, 'data', (d) => d.modify(dn, [{ operation: 'replace', attribute: 'title', values: ['replicated'] }]));
    for (const node of cluster.nodes.slice(1)) {
      await eventually(async () => (await readAttr(cluster, node.url, dn, 'title'))?.[0] === 'replicated');
    }
    const master = await contextCsn(cluster, cluster.nodes[0]!.url);
    await eventually(async () => (await Promise.all(cluster.nodes.map((n) => contextCsn(cluster, n.url)))).every((c) => c.join() === master.join()));
  });

  it('writes a configuration for the cluster, with password files only its owner can read', async () => {
    const state = readState(cluster.dir)!;
    expect(state.nodes).toHaveLength(3);
    const { statSync, readFileSync } = await import('node:fs');
    expect(statSync(cluster.passwordFile).mode & 0o077).toBe(0);
    const yaml = readFileSync(cluster.configFile, 'utf8');
    for (const n of cluster.nodes) expect(yaml).toContain(n.url);
    expect(yaml).not.toContain(cluster.password);
    // As ldapsearch -y reads them: the whole file is the password.
    for (const file of [cluster.passwordFile, cluster.configPasswordFile]) {
      const dn = file === cluster.passwordFile ? cluster.bindDn : cluster.configDn;
      const r = spawnSync('ldapwhoami', ['-x', '-H', cluster.nodes[0]!.url, '-D', dn, '-y', file], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
  });

  it('does not start a second cluster in the same folder', async () => {
    const again = await startCluster({ nodes: 3, dir: cluster.dir });
    expect(again.reused).toBe(true);
    expect(again.nodes.map((n) => n.pid)).toEqual(cluster.nodes.map((n) => n.pid));
  });

  it('a node killed with SIGKILL and restarted catches up', async () => {
    const victim = cluster.nodes[2]!;
    process.kill(victim.pid, 'SIGKILL');
    await eventually(async () => !isAlive(victim.pid));
    const dn = `uid=user0100,ou=people,${cluster.suffix}`;
    await withDirectory(cluster, cluster.nodes[0]!.url, 'data', async (d) => {
      for (let i = 0; i < 50; i++) await d.modify(dn, [{ operation: 'replace', attribute: 'title', values: [`while-down-${i}`] }]);
    });
    const state = readState(cluster.dir)!;
    await restartOpenLdapNode(state, victim.id);
    await eventually(async () => (await readAttr(cluster, victim.url, dn, 'title'))?.[0] === 'while-down-49');
    const status = await runCli(['sandbox', 'status', '--dir', cluster.dir, '--json']);
    expect(status.code).toBe(0);
    const nodes = JSON.parse(status.stdout).nodes as { reachable: boolean; converged: boolean }[];
    expect(nodes.every((n) => n.reachable && n.converged)).toBe(true);
  });
});

describe('sandbox errors and clean-up (CLI)', () => {
  it('down stops every process and removes the folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-sandbox-'));
    // Two nodes take the free port found and the next one, which another test file may hold:
    // another base port then (a CI run lost one that way).
    let up = await runCli(['sandbox', 'up', '--nodes', '2', '--dir', dir, '--base-port', String((await freePorts(1))[0])]);
    for (let tries = 1; tries < 4 && up.code === 2 && /is already in use/.test(up.stderr); tries++) {
      up = await runCli(['sandbox', 'up', '--nodes', '2', '--dir', dir, '--base-port', String((await freePorts(1))[0])]);
    }
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/sandbox up in [\d.]+ s: 2 openldap node\(s\), converged/);
    const pids = readState(dir)!.nodes.map((n) => n.pid);
    expect(pids.every(isAlive)).toBe(true);
    const down = await runCli(['sandbox', 'down', '--dir', dir]);
    expect(down.code).toBe(0);
    expect(pids.some(isAlive)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('names an occupied port', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-sandbox-'));
      const r = await runCli(['sandbox', 'up', '--nodes', '2', '--dir', dir, '--base-port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.close();
    }
  });

  it('says how to install slapd when it is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-sandbox-'));
    const r = await runCli(['sandbox', 'up', '--dir', dir], { env: { LDAP_UPGRADE_SLAPD: '/nonexistent/slapd' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('slapd not found at /nonexistent/slapd: install OpenLDAP with `apt-get install slapd ldap-utils`');
  });
});
