import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Whether a process with this pid runs (signal 0 probes without touching it). A zombie — dead,
 * not yet reaped by its parent, as daemons killed here linger a moment — counts as dead.
 */
export function isAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust the signal probe
  }
}

/** Fails with a message naming the port when something already listens on 127.0.0.1:port. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` ports that are free now, chosen by the kernel (for tests running in parallel). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts a long-lived server process detached from ours (it outlives `sandbox up`), its output
 * appended to `logFile`. Resolves with its pid.
 */
export function spawnDetached(command: string, args: string[], logFile: string): Promise<number> {
  const fd = openSync(logFile, 'a');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd] });
    child.once('error', reject);
    child.once('spawn', () => {
      closeSync(fd);
      child.unref();
      resolve(child.pid!);
    });
  });
}

/** Waits until the port accepts connections; fails early when the process has died. */
export async function waitForPort(port: number, pid: number, logFile: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; Date.now() < deadline; delay = Math.min(delay * 2, 100)) {
    if (await canConnect(port)) return;
    if (!isAlive(pid)) throw new Error(`the server on port ${port} exited at start: ${lastLines(logFile)}`);
    await sleep(delay);
  }
  throw new Error(`the server on port ${port} did not start within ${timeoutMs / 1000} s: ${lastLines(logFile)}`);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(pid: number, graceMs = 5_000): Promise<void> {
  if (!isAlive(pid)) return;
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(20);
  }
  try { process.kill(pid, 'SIGKILL'); } catch { return; }
  while (isAlive(pid)) await sleep(10);
}

function lastLines(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
    return lines.slice(-3).join(' | ') || '(no output)';
  } catch {
    return '(no output)';
  }
}
