import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../errors.js';

/** TLS settings of the configuration (`tls:`). Verification is on unless `insecure` is true. */
export interface TlsSettings {
  startTLS: boolean;
  caFile?: string;
  insecure: boolean;
}

export function tlsOptions(settings: TlsSettings, host: string): ConnectionOptions {
  // `host` is what the certificate is checked against (an upgraded socket otherwise defaults to
  // "localhost"); SNI (`servername`) only takes DNS names.
  const options: ConnectionOptions = { rejectUnauthorized: !settings.insecure, host, servername: isIp(host) ? undefined : host };
  if (settings.caFile) {
    try {
      options.ca = readFileSync(settings.caFile);
    } catch (err) {
      throw new ConfigError(`tls.caFile: cannot read ${settings.caFile}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  }
  return options;
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
