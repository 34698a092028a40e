import { randomBytes } from 'node:crypto';
import { chownSync, copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Directory } from '../../src/ldap/directory.js';
import { getFirst } from '../../src/ldap/entry.js';
import type { SandboxCluster } from '../../src/sandbox/index.js';
import { createInstance, paths, removeInstance, startInstance, stopInstance } from '../../src/sandbox/dirsrv/instances.js';
import { enableSupplier } from '../../src/sandbox/dirsrv/replication.js';
import { freePorts } from '../../src/sandbox/processes.js';
import { withDirectory } from './ldap.js';

/**
 * A 389 DS instance initialised from node 1 the way a replica is initialised offline
 * (`db2ldif -r` on the source, `ldif2db` on the new node, here as the equivalent online tasks):
 * a supplier of its own (replica id 9) holding the same entries, nsUniqueIds and RUV as node 1,
 * with no agreement to or from any node. It never receives anything.
 */
export async function startDirsrvClone(c: SandboxCluster): Promise<{ url: string; stop: () => Promise<void> }> {
  const source = c.nodes[0]!;
  const instance = source.instance!.replace(/n\d+$/, 'cl');
  const [port] = await freePorts(1);
  const url = `ldap://127.0.0.1:${port}`;
  const file = `${instance}.ldif`;
  await createInstance({ instance, port: port!, suffix: c.suffix, rootPassword: c.password, workDir: c.dir });
  let pid = 0;
  try {
    pid = await startInstance(instance, port!, join(c.dir, `${instance}.log`));
    const exported = join(paths(source.instance!).data, 'ldif', file);
    await withDirectory(c, source.url, 'config', (d) => runTask(d, 'export', { nsInstance: ['userRoot'], nsFilename: [exported], nsExportReplica: ['true'] }));
    const imported = join(paths(instance).data, 'ldif', file);
    copyFileSync(exported, imported);
    const owner = statSync(join(paths(instance).data, 'ldif'));
    chownSync(imported, owner.uid, owner.gid);
    await withDirectory(c, url, 'config', async (d) => {
      await enableSupplier(d, c.suffix, 9, randomBytes(12).toString('base64url'));
      await runTask(d, 'import', { nsInstance: ['userRoot'], nsFilename: [imported] });
    });
  } catch (err) {
    await stopInstance(pid, 2_000);
    removeInstance(instance);
    throw err;
  }
  return {
    url,
    stop: async () => {
      await stopInstance(pid, 5_000);
      removeInstance(instance);
    },
  };
}

/** Adds a task entry under cn=tasks,cn=config and waits (≤ 60 s) for its exit code; throws unless 0. */
async function runTask(d: Directory, kind: 'export' | 'import', attributes: Record<string, string[]>): Promise<void> {
  const dn = `cn=ldap-upgrade-test-${Date.now()},cn=${kind},cn=tasks,cn=config`;
  await d.add(dn, { objectClass: ['top', 'extensibleObject'], cn: [dn.slice(3, dn.indexOf(','))], ...attributes });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const task = await d.get(dn, ['nsTaskExitCode', 'nsTaskLog']);
    const code = task ? getFirst(task, 'nsTaskExitCode') : undefined;
    if (code !== undefined) {
      if (String(code) !== '0') throw new Error(`${kind} task failed (${code}): ${task ? getFirst(task, 'nsTaskLog') : ''}`);
      return;
    }
    await sleep(200);
  }
  throw new Error(`${kind} task did not finish within 60 s`);
}
