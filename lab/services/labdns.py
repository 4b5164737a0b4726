# SPDX-License-Identifier: MIT
"""Minimal DNS message handling for the lab (RFC 1035, RFC 6891 OPT).

Only what the lab servers need: read the question of a query, and build a
reply carrying A/AAAA/SOA records.  Inputs come from the lab's own clients
but are still parsed defensively (bounded name length, no pointer loops).
"""

import ipaddress
import struct

TYPE_A = 1
TYPE_NS = 2
TYPE_SOA = 6
TYPE_AAAA = 28
TYPE_OPT = 41
TYPE_NAMES = {TYPE_A: "A", TYPE_NS: "NS", TYPE_SOA: "SOA", TYPE_AAAA: "AAAA", TYPE_OPT: "OPT"}
TYPE_CODES = {v: k for k, v in TYPE_NAMES.items()}

RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}

MAX_NAME = 255
MAX_POINTERS = 32


class DNSError(ValueError):
    pass


def read_name(buf, off):
    """Decode a possibly compressed name at off; return (name, offset after it)."""
    labels = []
    end = None
    jumps = 0
    total = 0
    while True:
        if off >= len(buf):
            raise DNSError("name runs past the message")
        n = buf[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(buf):
                raise DNSError("truncated pointer")
            jumps += 1
            if jumps > MAX_POINTERS:
                raise DNSError("compression loop")
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | buf[off + 1]
            continue
        if n & 0xC0:
            raise DNSError("bad label type")
        off += 1
        if n == 0:
            break
        if off + n > len(buf):
            raise DNSError("truncated label")
        total += n + 1
        if total > MAX_NAME:
            raise DNSError("name too long")
        labels.append(buf[off:off + n].decode("ascii", "replace"))
        off += n
    return ".".join(labels).lower(), (end if end is not None else off)


def encode_name(name):
    out = bytearray()
    for label in name.strip(".").split("."):
        if not label:
            continue
        raw = label.encode("ascii")
        if len(raw) > 63:
            raise DNSError("label too long")
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


class Query:
    """The parts of a query a server answers from."""

    def __init__(self, buf):
        if len(buf) < 12:
            raise DNSError("short header")
        self.raw = bytes(buf)
        self.id, self.flags, qd, an, ns, ar = struct.unpack_from("!6H", buf, 0)
        if self.flags & 0x8000:
            raise DNSError("not a query")
        if qd != 1:
            raise DNSError("expected exactly one question")
        self.qname, off = read_name(buf, 12)
        if off + 4 > len(buf):
            raise DNSError("truncated question")
        self.qtype, self.qclass = struct.unpack_from("!HH", buf, off)
        self.question = buf[12:off + 4]
        self.edns_size = None
        # Look for an OPT record in the additional section (after an empty
        # answer/authority, which is what every real query has).
        off += 4
        if an == 0 and ns == 0:
            for _ in range(ar):
                try:
                    _name, off2 = read_name(buf, off)
                except DNSError:
                    break
                if off2 + 10 > len(buf):
                    break
                rtype, rclass, _ttl, rdlen = struct.unpack_from("!HHIH", buf, off2)
                if rtype == TYPE_OPT:
                    self.edns_size = rclass
                off = off2 + 10 + rdlen

    @property
    def rd(self):
        return bool(self.flags & 0x0100)

    def type_name(self):
        return TYPE_NAMES.get(self.qtype, str(self.qtype))


def rr(name, rtype, ttl, rdata):
    return encode_name(name) + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def a_rr(name, addr, ttl=300):
    return rr(name, TYPE_A, ttl, ipaddress.IPv4Address(addr).packed)


def aaaa_rr(name, addr, ttl=300):
    return rr(name, TYPE_AAAA, ttl, ipaddress.IPv6Address(addr).packed)


def soa_rr(zone, mname, rname, serial, refresh, retry, expire, minimum, ttl=60):
    rdata = encode_name(mname) + encode_name(rname) + struct.pack(
        "!5I", serial, refresh, retry, expire, minimum)
    return rr(zone, TYPE_SOA, ttl, rdata)


def build_reply(q, rcode=RCODE_NOERROR, answers=(), authority=(), aa=False, ra=True):
    """A reply to q: same ID and question, RD copied, optional OPT echoed."""
    flags = 0x8000 | (q.flags & 0x7910)  # QR; opcode, RD and CD copied from the query
    if aa:
        flags |= 0x0400
    if ra:
        flags |= 0x0080
    flags |= rcode & 0xF
    additional = []
    if q.edns_size is not None:
        additional.append(b"\x00" + struct.pack("!HHIH", TYPE_OPT, 1232, 0, 0))
    head = struct.pack("!6H", q.id, flags, 1, len(answers), len(authority), len(additional))
    return head + q.question + b"".join(answers) + b"".join(authority) + b"".join(additional)


def build_query(name, qtype=TYPE_A, qid=0x1234, rd=True):
    flags = 0x0100 if rd else 0
    return struct.pack("!6H", qid, flags, 1, 0, 0, 0) + encode_name(name) + struct.pack(
        "!HH", qtype, 1)


def parse_reply(buf):
    """(id, rcode, [(name, type, ttl, value-text)]) of a reply's answer section."""
    if len(buf) < 12:
        raise DNSError("short header")
    rid, flags, qd, an, _ns, _ar = struct.unpack_from("!6H", buf, 0)
    off = 12
    for _ in range(qd):
        _n, off = read_name(buf, off)
        off += 4
    answers = []
    for _ in range(an):
        name, off = read_name(buf, off)
        if off + 10 > len(buf):
            raise DNSError("truncated record")
        rtype, _rclass, ttl, rdlen = struct.unpack_from("!HHIH", buf, off)
        off += 10
        rdata = buf[off:off + rdlen]
        off += rdlen
        if rtype == TYPE_A and rdlen == 4:
            value = str(ipaddress.IPv4Address(rdata))
        elif rtype == TYPE_AAAA and rdlen == 16:
            value = str(ipaddress.IPv6Address(rdata))
        else:
            value = rdata.hex()
        answers.append((name, TYPE_NAMES.get(rtype, str(rtype)), ttl, value))
    return rid, flags & 0xF, answers


def tcp_read_message(sock):
    """One length-prefixed DNS message from a TCP stream, or None at EOF."""
    head = _read_exact(sock, 2)
    if head is None:
        return None
    (n,) = struct.unpack("!H", head)
    return _read_exact(sock, n)


def tcp_frame(msg):
    return struct.pack("!H", len(msg)) + msg


def _read_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)
