import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** testcontainers' reaper (Ryuk) is an image from a registry, which cannot be pulled here: this module removes what it starts. */
process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';

export type ContainerServer = 'openldap' | '389ds';
export type DebianRelease = 'bookworm' | 'trixie';

/** The four server versions of the container tier (test/containers/images/build.sh makes them). */
export const VERSIONS: { server: ContainerServer; release: DebianRelease; version: string }[] = [
  { server: 'openldap', release: 'bookworm', version: 'OpenLDAP 2.5' },
  { server: 'openldap', release: 'trixie', version: 'OpenLDAP 2.6' },
  { server: '389ds', release: 'bookworm', version: '389 DS 2.3' },
  { server: '389ds', release: 'trixie', version: '389 DS 3.1' },
];

/** What every container and network of this tier carries, and the test process that owns it. */
export const LABEL = 'ldap-upgrade-test.owner';

const BUILD = join(import.meta.dirname, 'images', 'build.sh');

let engine: Promise<string | undefined> | undefined;

/**
 * Why the container tier cannot run here, or undefined when it can: an engine answers and the
 * images of the current recipe exist (`.ci/setup` builds them; `LDAP_UPGRADE_CONTAINERS=0` turns
 * the tier off; `=1` makes a missing engine a failure instead of a skip).
 */
export function engineProblem(): Promise<string | undefined> {
  engine ??= (async () => {
    if (process.env.LDAP_UPGRADE_CONTAINERS === '0') return 'LDAP_UPGRADE_CONTAINERS=0';
    try {
      await run('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 });
    } catch (err) {
      return `no Docker engine answers (${(err as Error).message.split('\n')[0]}): run \`bash .ci/setup\` as root to install and start one`;
    }
    const missing = [];
    for (const tag of imageTags()) {
      try {
        await run('docker', ['image', 'inspect', tag], { timeout: 10_000 });
      } catch {
        missing.push(tag);
      }
    }
    if (missing.length) return `images not built: ${missing.join(', ')} (run \`bash test/containers/images/build.sh\` as root)`;
    sweepDeadOwners();
    return undefined;
  })();
  return engine;
}

let tags: string[] | undefined;
export function imageTags(): string[] {
  tags ??= execFileSync('bash', [BUILD, '--print-tags'], { encoding: 'utf8' }).trim().split('\n');
  return tags;
}

export function imageFor(server: ContainerServer, release: DebianRelease): string {
  const tag = imageTags().find((t) => t.startsWith(`ldap-upgrade-test/${server}:${release}-`));
  if (!tag) throw new Error(`no image recipe for ${server} on ${release}`);
  return tag;
}

type Kind = 'container' | 'network';

/** The containers (stopped ones too) or networks carrying the label, each with its owner's pid. */
function labelled(kind: Kind, owner?: number): { id: string; owner: number }[] {
  const filter = owner === undefined ? `label=${LABEL}` : `label=${LABEL}=${owner}`;
  return execFileSync('docker', [kind, 'ls', ...(kind === 'container' ? ['-a'] : []), '--filter', filter, '--format', `{{.ID}} {{.Label "${LABEL}"}}`], { encoding: 'utf8' })
    .trim().split('\n').filter(Boolean).map((l) => {
      const [id, pid] = l.split(' ');
      return { id: id!, owner: Number(pid) };
    });
}

/** Removes containers first (with their volumes), then the networks they were on. */
function remove(kind: Kind, ids: string[]): void {
  if (ids.length) execFileSync('docker', kind === 'container' ? ['rm', '-f', '-v', ...ids] : ['network', 'rm', ...ids], { stdio: 'ignore' });
}

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** Removes, by label, the containers and networks of test processes that are gone (killed before their own clean-up). */
export function sweepDeadOwners(): void {
  for (const kind of ['container', 'network'] as const) remove(kind, labelled(kind).filter((x) => isGone(x.owner)).map((x) => x.id));
}

/** Removes every container and network this process made (on exit, whatever ended it). */
export function removeOwn(): void {
  try {
    for (const kind of ['container', 'network'] as const) remove(kind, labelled(kind, process.pid).map((x) => x.id));
  } catch {
    // No engine any more: nothing of ours can be left running in it.
  }
}

let hooked = false;
/** Removes this process's containers when it exits or is interrupted (SIGINT, SIGTERM). */
export function removeOwnOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', removeOwn);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      removeOwn();
      process.kill(process.pid, signal);
    });
  }
}
