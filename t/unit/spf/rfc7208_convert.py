#!/usr/bin/env python3
"""Converts the openspf/pyspf RFC 7208 test suite (rfc7208-tests.yml) into
rfc7208-tests.txt, the line format test_rfc7208.c reads, so the tests need
no YAML parser. Run once when the suite changes (needs python3-yaml, which
the tests themselves do not):

    python3 t/unit/spf/rfc7208_convert.py t/unit/spf/rfc7208-tests.yml \
        > t/unit/spf/rfc7208-tests.txt

Output, one item a line, fields separated by a TAB, bytes outside
printable ASCII (and a backslash) written as \\xHH (\\\\):
    scenario  DESCRIPTION
    zone      NAME TYPE DATA       (a line of the [spf] dns_zone format)
    test      NAME IP HELO MAILFROM RESULT[,RESULT...]
The suite's driver conventions are applied here, as pyspf's test driver
does: a name with SPF records and no TXT record gets the SPF records as
TXT records too, after its other entries; "TXT: NONE" only stops that.
"""
import sys

import yaml


def raw(value):
    """YAML's "\\xEF" escapes are code points; the suite means bytes."""
    if isinstance(value, bytes):
        return value
    value = str(value)
    try:
        return value.encode('latin-1')
    except UnicodeEncodeError:
        return value.encode('utf-8')


def esc(data, space_ok=True, edge_space_ok=False):
    out = []
    for i, b in enumerate(data):
        edge = i == 0 or i == len(data) - 1
        if b == 0x5c:
            out.append('\\\\')
        elif b == 0x20 and space_ok and (not edge or edge_space_ok):
            out.append(' ')
        elif 0x21 <= b <= 0x7e:
            out.append(chr(b))
        else:
            out.append('\\x%02x' % b)
    return ''.join(out)


def rdata(kind, value):
    if kind == 'MX':
        return raw('%s %s' % (value[0], value[1]))
    if kind in ('TXT', 'SPF') and isinstance(value, list):
        return b''.join(raw(v) for v in value)
    return raw(value)


def zone_lines(name, entries):
    lines, generated, gen = [], [], True
    for entry in entries:
        if not isinstance(entry, dict):
            lines.append((entry, None))       # TIMEOUT
            continue
        for kind, value in entry.items():
            if kind == 'TXT':
                gen = False
            elif kind == 'SPF' and gen:
                generated.append(('TXT', value))
            if value != 'NONE':
                lines.append((kind, value))
    if gen:
        lines.extend(generated)
    out = []
    for kind, value in lines:
        head = '%s %s' % (esc(raw(name), space_ok=False), kind)
        if value is None:
            out.append(head)
        else:
            out.append(head + ' ' + esc(rdata(kind, value)))
    return out


def main():
    with open(sys.argv[1], 'rb') as f:
        docs = list(yaml.safe_load_all(f))
    seen = set()
    for doc in docs:
        print('scenario\t' + esc(raw(doc.get('description', ''))))
        for name, entries in (doc.get('zonedata') or {}).items():
            for line in zone_lines(name, entries):
                print('zone\t' + line)
        for name, t in doc['tests'].items():
            assert name not in seen, name
            seen.add(name)
            result = t['result']
            if isinstance(result, list):
                result = ','.join(result)
            fields = [name, t['host'], t.get('helo', ''),
                      t.get('mailfrom', ''), result]
            print('test\t' + '\t'.join(
                esc(raw(x), edge_space_ok=True) for x in fields))


if __name__ == '__main__':
    main()
