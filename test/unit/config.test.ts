import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-config-'));
function file(text: string, name = 'ldap-upgrade.yaml'): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const BASE = `server: auto
suffix: dc=example,dc=com
master:
  url: ldap://ldap1.example.com:389
bind:
  dn: cn=Directory Manager
  passwordFile: secrets/password.conf
`;

describe('loadConfig', () => {
  it('applies defaults and resolves paths against the file', () => {
    const c = loadConfig(file(BASE));
    expect(c.versionEntry).toBe('cn=schema-version,dc=example,dc=com');
    expect(c.baselineVersion).toBe('0.0.0');
    expect(c.replicas).toBeUndefined();
    expect(c.bind.passwordFile).toBe(join(dir, 'secrets/password.conf'));
    expect(c.scripts).toBe(join(dir, 'upgrade-scripts'));
    expect(c.configBind).toEqual(c.bind);
    expect(c.separateConfigBind).toBe(false);
    expect(c.tls).toEqual({ startTLS: false, caFile: undefined, insecure: false });
    expect(c.replication).toEqual({ timeout: 300, pollInterval: 0.2 });
    expect(c.writeConcurrency).toBe(64);
  });

  it('takes writeConcurrency as a whole number from 1 to 256, from the file or a flag', () => {
    expect(loadConfig(file(BASE + 'writeConcurrency: 8\n')).writeConcurrency).toBe(8);
    expect(loadConfig(file(BASE + 'writeConcurrency: 8\n'), { writeConcurrency: 1 }).writeConcurrency).toBe(1);
    expect(() => loadConfig(file(BASE + 'writeConcurrency: 0.5\n'))).toThrow(/ldap-upgrade\.yaml:8:\d+: writeConcurrency: must be a whole number from 1 to 256/);
    expect(() => loadConfig(file(BASE), { writeConcurrency: 1000 })).toThrow(/writeConcurrency: must be a whole number from 1 to 256, not 1000/);
  });

  it('lets flags override keys; paths from flags are relative to the working directory', () => {
    const c = loadConfig(file(BASE), { master: 'ldaps://other:636', replicas: ['ldap://r1'], timeout: 5, target: '2.0.0', scripts: 'my-scripts' });
    expect(c.scripts).toBe(join(process.cwd(), 'my-scripts'));
    expect(c.master.url).toBe('ldaps://other:636');
    expect(c.replicas).toEqual([{ url: 'ldap://r1' }]);
    expect(c.replication.timeout).toBe(5);
    expect(c.target).toBe('2.0.0');
  });

  it('names file, line, column and key of a bad replica URL', () => {
    const path = file(`server: auto
suffix: dc=example,dc=com
master:
  url: ldap://ldap1.example.com:389
replicas:
  - url: ldap://ldap2.example.com:389
  - url: http://ldap3.example.com:389
bind:
  dn: cn=x
`);
    expect(() => loadConfig(path)).toThrow('ldap-upgrade.yaml:7:3: replicas[1].url: not an ldap:// or ldaps:// URL');
  });

  it('refuses a version written as a YAML number and explains the 2.10 trap', () => {
    const path = file(BASE + 'target: 2.10\n');
    expect(() => loadConfig(path)).toThrow(/ldap-upgrade\.yaml:8:1: target: versions must be strings: the YAML number 2\.10 reads as 2\.1/);
  });

  it('reports YAML syntax errors with line and column', () => {
    const path = file('suffix: dc=x\nmaster: [\n');
    expect(() => loadConfig(path)).toThrow(ConfigError);
    expect(() => loadConfig(path)).toThrow(/^ldap-upgrade\.yaml:\d+:\d+: /);
  });

  it('refuses unknown keys, naming them', () => {
    expect(() => loadConfig(file(BASE + 'replication:\n  timout: 3\n'))).toThrow(/ldap-upgrade\.yaml:9:3: replication\.timout: unknown key/);
    expect(() => loadConfig(file(BASE + 'mastr: x\n'))).toThrow(/ldap-upgrade\.yaml:8:1: mastr: unknown key/);
  });

  it('requires the suffix and the master', () => {
    expect(() => loadConfig(file('bind:\n  dn: cn=x\n'))).toThrow(/suffix: required/);
    expect(() => loadConfig(file('suffix: dc=x\nbind:\n  dn: cn=x\n'))).toThrow(/master\.url: required/);
  });

  it('keeps a separate configBind when configured', () => {
    const c = loadConfig(file(BASE + 'configBind:\n  dn: cn=config\n  passwordFile: /etc/cfg.pw\n'));
    expect(c.separateConfigBind).toBe(true);
    expect(c.configBind).toEqual({ dn: 'cn=config', passwordFile: '/etc/cfg.pw' });
  });

  it('refuses non-boolean tls.insecure', () => {
    expect(() => loadConfig(file(BASE + 'tls:\n  insecure: "yes"\n'))).toThrow(/tls\.insecure: must be true or false/);
  });
});
