#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mkmmdb.py - write a small MaxMind DB (format 2.0) from a list of networks, for tests and the lab.

Python 3 standard library only. The file is what libmaxminddb, mmdblookup and vigie's
--asn-db/--country-db read: a binary search tree over the address bits, 16 zero bytes, a data
section of MaxMind-typed values, then the metadata marker "\\xab\\xcd\\xefMaxMind.com" and the
metadata map (https://maxmind.github.io/MaxMind-DB/).

    mkmmdb.py SPEC -o OUT.mmdb
    mkmmdb.py --out-dir DIR SPEC...          (DIR/<spec name without extension>.mmdb each)

A SPEC is a text file, one network per line, '#' starts a comment:

    @database_type  vigie-test-ASN           (metadata; also @record_size 24|28|32,
    @record_size    28                        @ip_version 4|6, @description TEXT,
    @ip_version     6                         @languages en,fr, @build_epoch N)
    192.0.2.0/30    asn=64496 org="Lab ISP" cc=XA
    198.51.100.0/24 asn=64500 org="Lab CDN"
    2001:db8::/32   cc=XB
    203.0.113.9/32  json='{"autonomous_system_number": "not a number"}'

asn= becomes autonomous_system_number (uint32), org= autonomous_system_organization (utf8_string),
cc= country.iso_code as in GeoLite2-Country, json= any JSON object (ints become uint32, or int32
when negative, uint64 past 32 bits; floats double; lists arrays), merged with the others. Words
are shell-quoted. A more specific network overrides a less specific one that contains it. In an
ip_version 6 database IPv4 networks live under ::/96, where libmaxminddb looks IPv4 addresses up.
"""

import argparse
import ipaddress
import json
import os
import shlex
import struct
import sys
import time

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"
DATA_SEPARATOR = b"\x00" * 16

# Data section types (MaxMind DB spec, "Output Data Section").
T_UTF8, T_DOUBLE, T_BYTES, T_UINT16, T_UINT32, T_MAP = 2, 3, 4, 5, 6, 7
T_INT32, T_UINT64, T_ARRAY, T_BOOLEAN = 8, 9, 11, 14


class SpecError(Exception):
    pass


class U16(int):
    """An integer stored as uint16 (libmaxminddb insists on it for some metadata keys)."""


class U64(int):
    """An integer stored as uint64."""


def _ctrl(kind, size):
    """Control byte(s) for a value of type kind whose size field is size."""
    if size < 29:
        bits, ext = size, b""
    elif size < 29 + 256:
        bits, ext = 29, bytes([size - 29])
    elif size < 285 + 65536:
        bits, ext = 30, struct.pack(">H", size - 285)
    elif size < 65821 + (1 << 24):
        bits, ext = 31, struct.pack(">I", size - 65821)[1:]
    else:
        raise SpecError("value too large for the MaxMind DB format")
    if kind < 8:
        return bytes([(kind << 5) | bits]) + ext
    return bytes([bits, kind - 7]) + ext


def _uint(kind, v, width):
    if v < 0 or v >= 1 << (8 * width):
        raise SpecError("%d does not fit %d bytes" % (v, width))
    raw = v.to_bytes(width, "big").lstrip(b"\x00")
    return _ctrl(kind, len(raw)) + raw


def encode(v):
    """One value in the data section's encoding (no pointers: records are deduplicated whole)."""
    if isinstance(v, bool):
        return _ctrl(T_BOOLEAN, 1 if v else 0)
    if isinstance(v, U16):
        return _uint(T_UINT16, int(v), 2)
    if isinstance(v, U64):
        return _uint(T_UINT64, int(v), 8)
    if isinstance(v, int):
        if v < 0:
            if v < -(1 << 31):
                raise SpecError("%d does not fit int32" % v)
            return _ctrl(T_INT32, 4) + struct.pack(">i", v)
        if v < 1 << 32:
            return _uint(T_UINT32, v, 4)
        return _uint(T_UINT64, v, 8)
    if isinstance(v, float):
        return _ctrl(T_DOUBLE, 8) + struct.pack(">d", v)
    if isinstance(v, str):
        # surrogateescape: a JSON "\udcXX" escape stands for the raw byte XX (invalid UTF-8 tests).
        raw = v.encode("utf-8", "surrogateescape")
        return _ctrl(T_UTF8, len(raw)) + raw
    if isinstance(v, (bytes, bytearray)):
        return _ctrl(T_BYTES, len(v)) + bytes(v)
    if isinstance(v, dict):
        out = [_ctrl(T_MAP, len(v))]
        for k, val in v.items():
            out.append(encode(str(k)))
            out.append(encode(val))
        return b"".join(out)
    if isinstance(v, (list, tuple)):
        return _ctrl(T_ARRAY, len(v)) + b"".join(encode(x) for x in v)
    raise SpecError("cannot encode %r" % (v,))


class Node:
    __slots__ = ("kids", "num")

    def __init__(self, left=None, right=None):
        self.kids = [left, right]
        self.num = -1


class Leaf:
    """A data record: its offset in the data section."""
    __slots__ = ("offset",)

    def __init__(self, offset):
        self.offset = offset


def _bits(net, ip_version):
    """(address as an int, prefix length) of net in the tree's address space."""
    if ip_version == 4:
        if net.version != 4:
            raise SpecError("%s: IPv6 network in an ip_version 4 database" % net)
        return int(net.network_address), net.prefixlen
    if net.version == 4:
        return int(net.network_address), 96 + net.prefixlen
    return int(net.network_address), net.prefixlen


def build_tree(networks, ip_version):
    """networks: [(ipaddress network, Leaf)]. Returns the nodes, root first (breadth-first)."""
    width = 32 if ip_version == 4 else 128
    root = Node()
    # Shorter prefixes first, so that a more specific network overrides the one containing it.
    for net, leaf in sorted(networks, key=lambda n: n[0].prefixlen):
        addr, plen = _bits(net, ip_version)
        if plen == 0:
            raise SpecError("%s: a /0 network cannot be stored (the root is a node)" % net)
        node = root
        for depth in range(plen):
            bit = (addr >> (width - 1 - depth)) & 1
            if depth == plen - 1:
                node.kids[bit] = leaf
                break
            child = node.kids[bit]
            if isinstance(child, Leaf) or child is None:
                # Split an enclosing network's record (or an empty one) into a node.
                child = Node(child, child)
                node.kids[bit] = child
            node = child
    nodes, queue = [], [root]
    while queue:
        n = queue.pop(0)
        n.num = len(nodes)
        nodes.append(n)
        queue.extend(k for k in n.kids if isinstance(k, Node))
    return nodes


def _record_value(kid, node_count):
    if kid is None:
        return node_count
    if isinstance(kid, Node):
        return kid.num
    return node_count + 16 + kid.offset


def write_tree(nodes, record_size):
    n = len(nodes)
    limit = 1 << record_size
    out = bytearray()
    for node in nodes:
        left, right = (_record_value(k, n) for k in node.kids)
        if left >= limit or right >= limit:
            raise SpecError("record value does not fit %d bits" % record_size)
        if record_size == 24:
            out += left.to_bytes(3, "big") + right.to_bytes(3, "big")
        elif record_size == 28:
            middle = ((left >> 24) & 0x0F) << 4 | ((right >> 24) & 0x0F)
            out += (left & 0xFFFFFF).to_bytes(3, "big") + bytes([middle])
            out += (right & 0xFFFFFF).to_bytes(3, "big")
        else:
            out += left.to_bytes(4, "big") + right.to_bytes(4, "big")
    return bytes(out)


def build(entries, meta):
    """entries: [(network text, record dict)]; meta: the @ settings. Returns the file's bytes."""
    ip_version = meta["ip_version"]
    record_size = meta["record_size"]
    data = bytearray()
    seen = {}
    networks = []
    for text, record in entries:
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError as e:
            raise SpecError("%s: %s" % (text, e)) from None
        blob = encode(record)
        if blob not in seen:
            seen[blob] = Leaf(len(data))
            data += blob
        networks.append((net, seen[blob]))
    nodes = build_tree(networks, ip_version)
    metadata = {
        "binary_format_major_version": U16(2),
        "binary_format_minor_version": U16(0),
        "build_epoch": U64(meta["build_epoch"]),
        "database_type": meta["database_type"],
        "description": {"en": meta["description"]},
        "ip_version": U16(ip_version),
        "languages": meta["languages"],
        "node_count": len(nodes),
        "record_size": U16(record_size),
    }
    return (write_tree(nodes, record_size) + DATA_SEPARATOR + bytes(data) + METADATA_MARKER +
            encode(metadata))


def parse_spec(path):
    meta = {"ip_version": 6, "record_size": 24, "database_type": "vigie-test",
            "description": "vigie test database", "languages": ["en"],
            "build_epoch": int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))}
    entries = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            where = "%s:%d" % (path, lineno)
            try:
                words = shlex.split(line, comments=True)
            except ValueError as e:
                raise SpecError("%s: %s" % (where, e)) from None
            if not words:
                continue
            if words[0].startswith("@"):
                key, args = words[0][1:], words[1:]
                if key in ("ip_version", "record_size", "build_epoch") and len(args) == 1 \
                        and args[0].isdigit():
                    meta[key] = int(args[0])
                elif key in ("database_type", "description") and args:
                    meta[key] = " ".join(args)
                elif key == "languages" and len(args) == 1:
                    meta[key] = args[0].split(",")
                else:
                    raise SpecError("%s: bad setting %r" % (where, line.strip()))
                continue
            record = {}
            for w in words[1:]:
                k, sep, v = w.partition("=")
                if not sep:
                    raise SpecError("%s: expected KEY=VALUE, got %r" % (where, w))
                if k == "asn":
                    if not v.isdigit() or int(v) >= 1 << 32:
                        raise SpecError("%s: asn must be a uint32" % where)
                    record["autonomous_system_number"] = int(v)
                elif k == "org":
                    record["autonomous_system_organization"] = v
                elif k == "cc":
                    record["country"] = {"iso_code": v}
                elif k == "json":
                    try:
                        extra = json.loads(v)
                    except ValueError as e:
                        raise SpecError("%s: json: %s" % (where, e)) from None
                    if not isinstance(extra, dict):
                        raise SpecError("%s: json must be an object" % where)
                    record.update(extra)
                else:
                    raise SpecError("%s: unknown key %r" % (where, k))
            entries.append((words[0], record))
    if meta["ip_version"] not in (4, 6) or meta["record_size"] not in (24, 28, 32):
        raise SpecError("%s: ip_version must be 4 or 6, record_size 24, 28 or 32" % path)
    return entries, meta


def write_db(spec, out):
    entries, meta = parse_spec(spec)
    try:
        blob = build(entries, meta)
    except SpecError as e:
        raise SpecError("%s: %s" % (spec, e)) from None
    tmp = "%s.tmp.%d" % (out, os.getpid())
    with open(tmp, "wb") as f:
        f.write(blob)
    os.replace(tmp, out)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write a MaxMind DB (v2) from a network list.")
    ap.add_argument("specs", nargs="+", metavar="SPEC")
    ap.add_argument("-o", "--output", help="the database to write (one SPEC)")
    ap.add_argument("--out-dir", help="write DIR/NAME.mmdb for each SPEC NAME.txt")
    a = ap.parse_args(argv)
    if (a.output is None) == (a.out_dir is None) or (a.output and len(a.specs) != 1):
        ap.error("give -o OUT with one SPEC, or --out-dir DIR")
    try:
        if a.output:
            write_db(a.specs[0], a.output)
        else:
            os.makedirs(a.out_dir, exist_ok=True)
            for spec in a.specs:
                name = os.path.splitext(os.path.basename(spec))[0]
                write_db(spec, os.path.join(a.out_dir, name + ".mmdb"))
    except (OSError, SpecError) as e:
        print("mkmmdb: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
