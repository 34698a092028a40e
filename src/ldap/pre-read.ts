import { Ber, BerWriter, Control, type BerReader } from 'ldapts';
import { BINARY_ATTRIBUTES, type AttributeValue, type LdapEntry } from './entry.js';

/** The LDAP Pre-Read control (RFC 4527). OpenLDAP 2.5 and 389 DS 2.3 both list it in supportedControl. */
export const PRE_READ_OID = '1.3.6.1.1.13.1';

const BINARY = new Set(BINARY_ATTRIBUTES.map((a) => a.toLowerCase()));

/**
 * Asks the server to return the entry as it was just before a modify, delete or rename — atomic
 * with the write, so it is what the write really replaced (a read made earlier may be older than
 * a client's change in between). Sent non-critical: a server without it still takes the write,
 * and `entry` stays undefined. ldapts hands the response control of the same OID back to this
 * request control's parseControl.
 */
export class PreReadControl extends Control {
  /** The pre-image the server returned, with the asked attributes (absent ones: no values). */
  entry?: LdapEntry;

  constructor(private readonly attributes: string[]) {
    super(PRE_READ_OID, { critical: false });
  }

  protected override writeControl(writer: BerWriter): void {
    // AttributeSelection ::= SEQUENCE OF selector LDAPString
    const value = new BerWriter();
    value.startSequence();
    for (const a of this.attributes) value.writeString(a);
    value.endSequence();
    writer.writeBuffer(value.buffer, Ber.OctetString);
  }

  protected override parseControl(reader: BerReader): void {
    // SearchResultEntry ::= [APPLICATION 4] SEQUENCE { objectName LDAPDN, attributes PartialAttributeList }
    if (reader.readSequence(0x64) === null) return;
    const dn = reader.readString() ?? '';
    const attributes: Record<string, AttributeValue[]> = {};
    if (reader.readSequence() !== null) {
      const end = reader.offset + reader.length;
      while (reader.offset < end) {
        reader.readSequence();
        const type = reader.readString() ?? '';
        const values: AttributeValue[] = [];
        if (reader.readSequence(0x31) !== null) {
          const setEnd = reader.offset + reader.length;
          while (reader.offset < setEnd) {
            const raw = reader.readString(Ber.OctetString, true) ?? Buffer.alloc(0);
            values.push(BINARY.has(type.toLowerCase()) ? raw : raw.toString('utf8'));
          }
        }
        if (values.length) attributes[type] = values;
      }
    }
    this.entry = { dn, attributes };
  }
}
