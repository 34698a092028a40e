/**
 * A DN in one canonical form for comparing names that must not be told apart by spelling: the
 * attribute types of the naming attributes by name (`2.5.4.3` and `OID.2.5.4.3` are `cn`), values
 * with their RFC 4514 escapes undone (`\6c\6f\63\6b` is `lock`) and BER-encoded `#…` values of
 * string types decoded, lower case, no blanks around separators. Used where a DN decides what is
 * allowed (the tool's own records): `normalizeDn` is enough where DNs come from servers.
 */
export function canonicalDn(dn: string): string {
  return splitUnescaped(dn.trim(), ',')
    .map((rdn) => splitUnescaped(rdn, '+').map(canonicalAva).sort().join('+'))
    .join(',');
}

const TYPES: Record<string, string> = {
  '2.5.4.3': 'cn', '2.5.4.11': 'ou', '2.5.4.10': 'o', '2.5.4.6': 'c', '2.5.4.7': 'l', '2.5.4.8': 'st', '2.5.4.9': 'street',
  '0.9.2342.19200300.100.1.25': 'dc', '0.9.2342.19200300.100.1.1': 'uid', 'commonname': 'cn', 'domaincomponent': 'dc', 'userid': 'uid',
  'organizationalunitname': 'ou', 'organizationname': 'o',
};

function canonicalAva(ava: string): string {
  const eq = ava.indexOf('=');
  if (eq < 0) return ava.trim().toLowerCase();
  let type = ava.slice(0, eq).trim().toLowerCase().replace(/^oid\./, '');
  type = TYPES[type] ?? type;
  return `${type}=${canonicalValue(ava.slice(eq + 1).trim())}`;
}

function canonicalValue(raw: string): string {
  let bytes: Buffer;
  if (/^#([0-9a-f]{2})+$/i.test(raw)) {
    const ber = Buffer.from(raw.slice(1), 'hex');
    // A string type (OCTET STRING, UTF8String, PrintableString, IA5String) with a short length.
    bytes = [0x04, 0x0c, 0x13, 0x16].includes(ber[0]!) && ber[1]! < 0x80 && ber.length === ber[1]! + 2 ? ber.subarray(2) : ber;
  } else {
    const out: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      const ch = raw[i]!;
      if (ch === '\\' && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
        out.push(parseInt(raw.slice(i + 1, i + 3), 16));
        i += 2;
      } else if (ch === '\\' && i + 1 < raw.length) {
        out.push(...Buffer.from(raw[++i]!, 'utf8'));
      } else {
        out.push(...Buffer.from(ch, 'utf8'));
      }
    }
    bytes = Buffer.from(out);
  }
  // Re-escaped one way: the characters that separate, and nothing else.
  return bytes.toString('utf8').toLowerCase().replace(/[\\,+="<>;]/g, (c) => `\\${c}`);
}

/** Splits on `sep` where it is not escaped and not inside quotes. */
function splitUnescaped(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) { cur += ch + text[++i]; continue; }
    if (ch === '"') quoted = !quoted;
    if (ch === sep && !quoted) { out.push(cur.trim()); cur = ''; continue; }
    cur += ch;
  }
  out.push(cur.trim());
  return out.filter((p) => p !== '');
}
