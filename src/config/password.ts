import { readFileSync, statSync } from 'node:fs';
import { ConfigError, ConnectionError } from '../errors.js';

/** Where a password came from, for messages (never the password itself). */
export type PasswordSource = 'flag' | 'environment' | 'configured file' | 'prompt';

export interface PasswordRequest {
  /** What the password is for, e.g. "cn=Directory Manager". */
  bindDn: string;
  /** `--password-file FILE` (absolute or relative to the working directory). */
  flagFile?: string;
  /** The environment variable to read, e.g. LDAP_UPGRADE_PASSWORD. */
  envVar: string;
  /** The configured `passwordFile`. */
  configuredFile?: string;
  /** Asks on the terminal; undefined when there is no terminal. */
  prompt?: (question: string) => Promise<string>;
  /** Reports a warning (group/other-readable file, a configured file that is missing). */
  warn?: (message: string) => void;
  /**
   * Tries a password typed at the prompt on the server: false when the server refuses it
   * (invalid credentials: asked again, up to PROMPT_TRIES times); other failures throw.
   */
  check?: (password: string) => Promise<boolean>;
  env?: NodeJS.ProcessEnv;
}

/** How many passwords the prompt takes before giving up (as sudo and ssh do). */
export const PROMPT_TRIES = 3;

export interface ResolvedPassword {
  password: string;
  source: PasswordSource;
}

/**
 * the order of README "Configuration", first that exists wins: --password-file, the environment variable, the configured
 * file, then a prompt on the terminal. Without any: exit 3 saying which file was missing.
 */
export async function resolvePassword(req: PasswordRequest): Promise<ResolvedPassword> {
  const env = req.env ?? process.env;
  if (req.flagFile) return { password: readPasswordFile(req.flagFile, req.warn, true), source: 'flag' };
  const fromEnv = env[req.envVar];
  if (fromEnv !== undefined && fromEnv !== '') {
    // Read once, then gone from the environment: upgrade scripts run in this process, and a
    // child process would inherit it.
    delete env[req.envVar];
    return { password: fromEnv, source: 'environment' };
  }
  if (req.configuredFile && fileExists(req.configuredFile)) {
    return { password: readPasswordFile(req.configuredFile, req.warn, false), source: 'configured file' };
  }
  if (req.prompt) {
    // Named before the prompt: a typo in passwordFile must not pass for "no file configured".
    if (req.configuredFile) req.warn?.(`the password file ${req.configuredFile} configured for ${req.bindDn} does not exist: asking on the terminal instead`);
    for (let attempt = 1; ; attempt++) {
      const password = await req.prompt(`Password for ${req.bindDn}: `);
      if (password === '') throw new ConnectionError(`no password given for ${req.bindDn}`);
      if (!req.check || (await req.check(password))) return { password, source: 'prompt' };
      if (attempt === PROMPT_TRIES) throw new ConnectionError(`the server refused ${PROMPT_TRIES} passwords for ${req.bindDn} (invalid credentials): nothing was changed`, { ldapCode: 49 });
      req.warn?.(`the server refused that password for ${req.bindDn} (invalid credentials); ${PROMPT_TRIES - attempt} ${PROMPT_TRIES - attempt === 1 ? 'try' : 'tries'} left`);
    }
  }
  const missing = req.configuredFile ? `the password file ${req.configuredFile} does not exist` : 'no passwordFile is configured';
  throw new ConnectionError(
    `no password for ${req.bindDn}: ${missing} and there is no terminal to ask on; ` +
    `give --password-file FILE, set $${req.envVar}, or create that file (mode 600)`,
  );
}

function fileExists(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * A password file holds the password alone on its first line, or `name=value` lines of which
 * `internaldb=` (Dogtag's password.conf) or `password=` is taken.
 */
export function readPasswordFile(file: string, warn?: (m: string) => void, required = true): string {
  let text: string;
  try {
    const st = statSync(file);
    if ((st.mode & 0o077) !== 0) {
      warn?.(`password file ${file} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (required || code !== 'ENOENT') throw new ConnectionError(`cannot read password file ${file}: ${code ?? err}`);
    throw err;
  }
  return parsePasswordFile(text, file);
}

export function parsePasswordFile(text: string, file = 'password file'): string {
  const lines = text.split(/\r?\n/);
  const named = new Map<string, string>();
  for (const line of lines) {
    const m = /^([A-Za-z][\w.-]*)=(.*)$/.exec(line);
    if (m) named.set(m[1]!.toLowerCase(), m[2]!);
  }
  const picked = named.get('internaldb') ?? named.get('password');
  if (picked !== undefined) return picked;
  const nonEmpty = lines.filter((l) => l !== '');
  if (nonEmpty.length > 1 && nonEmpty.every((l) => /^[A-Za-z][\w.-]*=/.test(l))) {
    throw new ConfigError(`${file}: holds name=value lines but no internaldb= or password= line`);
  }
  const first = lines[0] ?? '';
  if (first === '') throw new ConfigError(`${file}: is empty; put the password alone on its first line`);
  return first;
}
