import { lookup } from 'node:dns/promises';
import { hostPort } from './topology.js';

/**
 * Whether two URLs reach one server: the same host and port once names are resolved
 * (`ldap://localhost:389` and `ldap://127.0.0.1:389`, or the host's own name). Returns how they
 * meet ("both reach 127.0.0.1:3890"), or undefined. A name that does not resolve meets nothing
 * (connecting to it fails and says so).
 */
export async function sameServer(a: string, b: string): Promise<string | undefined> {
  if (hostPort(a) === hostPort(b)) return `the same host and port as the master's URL, ${hostPort(a)}`;
  const [ea, eb] = await Promise.all([endpoints(a), endpoints(b)]);
  const shared = [...ea].find((e) => eb.has(e));
  return shared ? `both URLs reach ${shared}` : undefined;
}

/** One lookup per host name and port for the process (preflight compares the master with every replica). */
const resolved = new Map<string, Promise<Set<string>>>();

function endpoints(url: string): Promise<Set<string>> {
  const key = hostPort(url);
  let found = resolved.get(key);
  if (!found) resolved.set(key, (found = lookupEndpoints(url)));
  return found;
}

async function lookupEndpoints(url: string): Promise<Set<string>> {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'ldaps:' ? '636' : '389');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  try {
    const addresses = await lookup(host, { all: true });
    return new Set(addresses.map((a) => `${a.family === 6 ? `[${a.address}]` : a.address}:${port}`));
  } catch {
    return new Set();
  }
}
