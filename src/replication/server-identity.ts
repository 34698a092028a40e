import { lookup } from 'node:dns/promises';
import { hostPort, portOf } from '../ldap/url.js';

/**
 * How two URLs reach one server — the same host and port once names are resolved
 * (`ldap://localhost:389` and `ldap://127.0.0.1:389`, or the host's own name) — in words ("both
 * URLs reach 127.0.0.1:3890"); undefined when they reach different servers. A name that does not
 * resolve meets nothing (connecting to it fails and says so).
 */
export async function howSameServer(a: string, b: string): Promise<string | undefined> {
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
  const port = portOf(u);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  try {
    const addresses = await lookup(host, { all: true });
    return new Set(addresses.map((a) => `${a.family === 6 ? `[${a.address}]` : a.address}:${port}`));
  } catch {
    return new Set();
  }
}
