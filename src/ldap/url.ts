/** The port an LDAP URL names, or its scheme's default (636 for ldaps://, else 389). */
export function portOf(url: URL): string {
  return url.port || (url.protocol === 'ldaps:' ? '636' : '389');
}

/** `host:port` of a URL, for comparing servers named in different ways and naming them in messages. */
export function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname.toLowerCase()}:${portOf(u)}`;
}

/** Whether two LDAP URLs name one server (scheme, host and port; a URL that cannot be read names none). */
export function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).protocol === new URL(b).protocol && hostPort(a) === hostPort(b);
  } catch {
    return false;
  }
}
