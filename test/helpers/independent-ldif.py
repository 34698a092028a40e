#!/usr/bin/python3
"""An independent reading of LDIF and schema files (python-ldap, Debian's python3-ldap), for the
corpus test: prints one JSON document per file given — its records (DN, attribute values as
base64) and the attribute types and object classes its values define (OID, names, superiors,
MUST/MAY, syntax)."""
import base64
import json
import re
import sys

import ldif
from ldap.schema.models import AttributeType, ObjectClass

KINDS = {'attributetypes': 'attributeType', 'olcattributetypes': 'attributeType',
         'objectclasses': 'objectClass', 'olcobjectclasses': 'objectClass'}


class Reader(ldif.LDIFParser):
    def __init__(self, f):
        super().__init__(f)
        self.records = []

    def handle(self, dn, entry):
        self.records.append({'dn': dn, 'attributes': entry})

    def handle_modify(self, dn, modops, controls=None):
        entry = {}
        for op, attr, values in modops:
            entry.setdefault(attr, []).extend(values or [])
        self.records.append({'dn': dn, 'attributes': entry})


def expand(token, macros):
    bound = re.search(r'\{\d+\}$', token)
    bare = token[:bound.start()] if bound else token
    m = re.match(r'^([A-Za-z][\w.-]*?)(?::([\d.]+))?$', bare)
    if not m or m.group(1).lower() not in macros:
        return token
    base = macros[m.group(1).lower()]
    return (base + '.' + m.group(2) if m.group(2) else base) + (bound.group(0) if bound else '')


def definitions(records):
    out = []
    macros = {}
    for r in records:
        for attr, values in r['attributes'].items():
            if attr.lower() == 'olcobjectidentifier':
                for v in values:
                    name, oid = re.sub(r'^\{\d+\}', '', v.decode()).split()
                    macros[name.lower()] = expand(oid, macros)
    for r in records:
        for attr, values in r['attributes'].items():
            kind = KINDS.get(attr.lower())
            if not kind:
                continue
            for v in values:
                text = re.sub(r'^\{\d+\}\s*', '', v.decode())
                m = re.match(r'^\(\s*(\S+)', text)
                oid = expand(m.group(1), macros) if m else ''
                if m:
                    text = text[:m.start(1)] + oid + text[m.end(1):]
                d = (AttributeType if kind == 'attributeType' else ObjectClass)(text)
                item = {'kind': kind, 'oid': d.oid, 'names': list(d.names), 'sup': list(d.sup) if d.sup else []}
                if kind == 'attributeType':
                    syntax = expand(d.syntax, macros) if d.syntax else None
                    item['syntax'] = syntax + ('{%d}' % d.syntax_len if syntax and d.syntax_len else '') if syntax else None
                    item['singleValue'] = bool(d.single_value)
                else:
                    item['must'] = list(d.must)
                    item['may'] = list(d.may)
                out.append(item)
    return out


for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        reader = Reader(f)
        reader.parse()
    records = [{'dn': r['dn'], 'attributes': {k: [base64.b64encode(v).decode() for v in vs] for k, vs in r['attributes'].items()}} for r in reader.records]
    print(json.dumps({'file': path, 'records': records, 'definitions': definitions(reader.records)}))
