import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the built CLI as a child process (no terminal: stdin is closed). */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess & { result: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, LDAP_UPGRADE_PASSWORD: undefined, LDAP_UPGRADE_CONFIG: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const result = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return Object.assign(child, { result });
}

/** Runs the built CLI to the end. `config` sets $LDAP_UPGRADE_CONFIG. */
export function runCli(args: string[], options: { config?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return startCli(args, { ...(options.config ? { LDAP_UPGRADE_CONFIG: options.config } : {}), ...options.env }).result;
}
