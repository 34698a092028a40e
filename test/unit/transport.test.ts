import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { BerWriter } from 'ldapts';
import { loadConfig } from '../../src/config/load.js';
import { Directory } from '../../src/ldap/directory.js';
import { transportFor } from '../../src/replication/topology.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A server that answers the StartTLS request with success, then never starts the handshake. */
async function silentStartTls(): Promise<{ url: string; server: Server }> {
  const server = createServer((socket) => {
    socket.once('data', (d) => {
      const id = d[4]!; // 30 LL 02 01 <id>: the first request's message id
      const w = new BerWriter();
      w.startSequence();
      w.writeInt(id);
      w.startSequence(0x78); // ExtendedResponse [APPLICATION 24]
      w.writeEnumeration(0);
      w.writeString('');
      w.writeString('');
      w.endSequence();
      w.endSequence();
      socket.write(w.buffer);
      // …and then nothing: the client's ClientHello is never answered.
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `ldap://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('transport', () => {
  const servers: Server[] = [];
  afterAll(() => { for (const s of servers) s.close(); });

  it('a server that accepts StartTLS and never handshakes: the connection fails at its deadline, not never', async () => {
    const { url, server } = await silentStartTls();
    servers.push(server);
    const started = Date.now();
    await expect(Directory.open({ url, bindDn: 'cn=x', password: 'secret', tls: { startTLS: true, insecure: false }, connectTimeoutMs: 1_000 }))
      .rejects.toThrow(/StartTLS: the TLS handshake did not complete/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a replica named ldap:// while the master is ldaps:// or StartTLS is reached with StartTLS, never a plaintext bind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-transport-'));
    const config = (master: string, startTLS: boolean) => {
      const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(file, `suffix: dc=x\nmaster:\n  url: ${master}\nbind:\n  dn: cn=admin,dc=x\ntls:\n  startTLS: ${startTLS}\n`);
      return loadConfig(file);
    };
    expect(transportFor(config('ldaps://m.example:636', false), 'ldap://r.example:389').startTLS).toBe(true);
    expect(transportFor(config('ldap://m.example:389', true), 'ldap://r.example:389').startTLS).toBe(true);
    expect(transportFor(config('ldaps://m.example:636', false), 'ldaps://r.example:636').startTLS).toBe(false);
    expect(transportFor(config('ldap://127.0.0.1:389', false), 'ldap://127.0.0.1:390').startTLS).toBe(false);
  });
});
