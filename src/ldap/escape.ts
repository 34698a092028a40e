/** Escapes a value for use inside an LDAP filter (RFC 4515). */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/** Escapes a value for use as an RDN value in a DN string (RFC 4514). */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=\0]/g, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'))
    .replace(/^[ #]/, (c) => '\\' + c.charCodeAt(0).toString(16))
    .replace(/ $/, '\\20');
}
