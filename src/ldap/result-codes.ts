/** LDAP result codes (RFC 4511 §4.1.9) as short lower-case phrases for one-line messages. */
const NAMES: Record<number, string> = {
  1: 'operations error', 2: 'protocol error', 3: 'time limit exceeded', 4: 'size limit exceeded',
  7: 'auth method not supported', 8: 'strong authentication required', 10: 'referral',
  11: 'admin limit exceeded', 12: 'unavailable critical extension', 13: 'confidentiality required',
  16: 'no such attribute', 17: 'undefined attribute type', 18: 'inappropriate matching',
  19: 'constraint violation', 20: 'attribute or value exists', 21: 'invalid attribute syntax',
  32: 'no such object', 34: 'invalid DN syntax', 48: 'inappropriate authentication',
  49: 'invalid credentials', 50: 'insufficient access rights', 51: 'busy', 52: 'unavailable',
  53: 'unwilling to perform', 54: 'loop detected', 64: 'naming violation',
  65: 'object class violation', 66: 'not allowed on non-leaf', 67: 'not allowed on RDN',
  68: 'already exists', 69: 'object class modifications prohibited', 80: 'other',
};

export const ResultCode = {
  referral: 10,
  noSuchAttribute: 16,
  typeOrValueExists: 20,
  noSuchObject: 32,
  invalidCredentials: 49,
  insufficientAccess: 50,
  unwillingToPerform: 53,
  notAllowedOnNonLeaf: 66,
  alreadyExists: 68,
} as const;

export function resultCodeName(code: number): string {
  return NAMES[code] ?? 'LDAP error';
}
