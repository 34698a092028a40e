import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { isAlive, stopProcess } from './processes.js';

/** Server kinds the sandbox can start. */
export type SandboxKind = 'openldap' | '389ds';

export interface SandboxNode {
  /** 1-based; node 1 is the master. */
  id: number;
  port: number;
  url: string;
  pid: number;
  /** 389 DS instance name (slapd-<instance>). */
  instance?: string;
  /** A read-only consumer of node 1 (default: a provider/supplier among the others). */
  consumer?: boolean;
}

/** What `sandbox up` leaves in `DIR/sandbox.json`. Holds no password (those are in files, mode 600). */
export interface SandboxState {
  kind: SandboxKind;
  dir: string;
  suffix: string;
  bindDn: string;
  configDn: string;
  passwordFile: string;
  configPasswordFile: string;
  configFile: string;
  nodes: SandboxNode[];
}

/** A running cluster as the test suite and the CLI use it. */
export interface SandboxCluster extends SandboxState {
  password: string;
  configPassword: string;
  /** Stops every node (SIGTERM, then SIGKILL after `graceMs`) and removes the directory unless `keep`. */
  stop(options?: { keep?: boolean; graceMs?: number }): Promise<void>;
}

export const STATE_FILE = 'sandbox.json';

export function readState(dir: string): SandboxState | undefined {
  const file = join(resolve(dir), STATE_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as SandboxState;
}

export function writeState(state: SandboxState): void {
  mkdirSync(state.dir, { recursive: true });
  writeFileSync(join(state.dir, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
}

export function attach(state: SandboxState): SandboxCluster {
  return {
    ...state,
    password: readFileSync(state.passwordFile, 'utf8').trim(),
    configPassword: readFileSync(state.configPasswordFile, 'utf8').trim(),
    stop: async (options) => { await stopCluster(state.dir, options); },
  };
}

/** Stops the sandbox in `dir` (if any) and removes `dir` unless `keep`. Safe to call twice. */
export async function stopCluster(dir: string, options: { keep?: boolean; graceMs?: number } = {}): Promise<SandboxState | undefined> {
  const state = readState(dir);
  if (state?.kind === '389ds') {
    const { stopDirsrvNodes } = await import('./dirsrv/cluster.js');
    await stopDirsrvNodes(state, options);
  } else if (state) {
    await Promise.all(state.nodes.map((n) => stopProcess(n.pid, options.graceMs ?? 2_000)));
  }
  if (!options.keep) rmSync(resolve(dir), { recursive: true, force: true });
  return state;
}

export function runningNodes(state: SandboxState): SandboxNode[] {
  return state.nodes.filter((n) => isAlive(n.pid));
}

export function validateNodeCount(kind: SandboxKind, nodes: number): void {
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) throw new UsageError(`--nodes must be between 1 and 9, got ${nodes}`);
  if (kind === '389ds' && (nodes < 2 || nodes > 3)) throw new UsageError(`--server 389ds takes 2 or 3 nodes, got ${nodes}`);
}
