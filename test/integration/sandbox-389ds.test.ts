import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readState } from '../../src/sandbox/index.js';
import { freePorts, isAlive } from '../../src/sandbox/processes.js';
import { runCli } from '../helpers/cli.js';

describe('389 DS sandbox (CLI)', () => {
  it('up starts converged suppliers on 127.0.0.1; down leaves nothing in /etc, /var/lib, /var/log, /run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-389-'));
    const [port] = await freePorts(1);
    const up = await runCli(['sandbox', 'up', '--server', '389ds', '--nodes', '2', '--dir', dir, '--base-port', String(port)]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/sandbox up in [\d.]+ s: 2 389ds node\(s\), converged/);
    const state = readState(dir)!;
    const instances = state.nodes.map((n) => n.instance!);
    expect(new Set(instances).size).toBe(2);
    const status = await runCli(['sandbox', 'status', '--dir', dir, '--json']);
    expect(JSON.parse(status.stdout).nodes.every((n: { reachable: boolean; converged: boolean }) => n.reachable && n.converged)).toBe(true);
    const cfg = await runCli(['status', '--json', '--config', state.configFile, '--scripts', join(import.meta.dirname, '..', '..', 'upgrade-scripts')]);
    expect(cfg.code, cfg.stderr).toBe(0);
    expect(JSON.parse(cfg.stdout)).toMatchObject({ server: expect.stringContaining('389-Directory'), replicas: [{ reachable: true, frozen: false, converged: true }] });
    // Without replicas: in the file, they are found from the master's replication agreements.
    const bare = join(mkdtempSync(join(tmpdir(), 'ldap-upgrade-cfg-')), 'ldap-upgrade.yaml');
    const yaml = readFileSync(state.configFile, 'utf8').replace(/replicas:\n(  - url: .*\n)+/, '');
    expect(yaml).not.toContain('replicas');
    writeFileSync(bare, yaml);
    const found = await runCli(['status', '--json', '--config', bare, '--scripts', join(import.meta.dirname, '..', '..', 'upgrade-scripts')]);
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout).replicas.map((x: { url: string }) => x.url)).toEqual([state.nodes[1]!.url]);
    const down = await runCli(['sandbox', 'down', '--dir', dir]);
    expect(down.code, down.stderr).toBe(0);
    expect(state.nodes.some((n) => isAlive(n.pid))).toBe(false);
    for (const name of instances) {
      for (const path of [`/etc/dirsrv/slapd-${name}`, `/var/lib/dirsrv/slapd-${name}`, `/var/log/dirsrv/slapd-${name}`, `/run/dirsrv/slapd-${name}.pid`, `/run/lock/dirsrv/slapd-${name}`]) {
        expect(existsSync(path), path).toBe(false);
      }
    }
    expect(existsSync(dir)).toBe(false);
  }, 180_000);

  it('refuses a node count it cannot make', async () => {
    const r = await runCli(['sandbox', 'up', '--server', '389ds', '--nodes', '5', '--dir', mkdtempSync(join(tmpdir(), 'ldap-upgrade-389-'))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--server 389ds takes 2 or 3 nodes');
  });
});
