import type { AttributeValue } from '../ldap/entry.js';

/**
 * JSON for records that hold attribute values (the journal, a saved plan): a binary value is
 * written as `{ "$b64": "…" }` and read back as bytes; strings stay strings.
 */
export function encodeBuffers(this: unknown, _key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return { $b64: Buffer.from((value as { data: number[] }).data).toString('base64') };
  }
  return value;
}

export function decodeBuffers(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && typeof (value as { $b64?: unknown }).$b64 === 'string') {
    return Buffer.from((value as { $b64: string }).$b64, 'base64') as AttributeValue;
  }
  return value;
}
