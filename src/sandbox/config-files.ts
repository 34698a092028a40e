import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SandboxState } from './cluster.js';

/** A password file, mode 600, without a newline: `ldapsearch -y` takes the whole file as the password. */
export function writeSecret(file: string, secret: string): void {
  writeFileSync(file, secret, { mode: 0o600 });
}

/**
 * The `ldap-upgrade.yaml` for a sandbox: every node's URL, the password files, and the project's
 * `upgrade-scripts/` folder when the sandbox was started from a checkout.
 */
export function sandboxYaml(state: SandboxState, scriptsDir?: string): string {
  const [master, ...replicas] = state.nodes;
  const scripts = scriptsDir ?? resolve('upgrade-scripts');
  const lines = [
    '# Written by `ldap-upgrade sandbox up` for the local sandbox cluster.',
    `server: ${state.kind}`,
    `suffix: ${state.suffix}`,
    'master:',
    `  url: ${master!.url}`,
    'replicas:',
    ...replicas.map((r) => `  - url: ${r.url}${r.consumer ? '   # a read-only consumer of node 1' : ''}`),
    'bind:',
    `  dn: ${state.bindDn}`,
    `  passwordFile: ${state.passwordFile}`,
    'configBind:',
    `  dn: ${state.configDn}`,
    `  passwordFile: ${state.configPasswordFile}`,
    ...(existsSync(scripts) ? [`scripts: ${scripts}`] : []),
    'replication:',
    '  timeout: 60',
    `backupDir: ${join(state.dir, 'backups')}`,
    `logDir: ${join(state.dir, 'logs')}`,
  ];
  if (replicas.length === 0) lines.splice(lines.indexOf('replicas:'), 1, 'replicas: []');
  return lines.join('\n') + '\n';
}
