#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Wildcard DNS server of the vigie benchmark (UDP, port 53; standard library only).

  dnsd.py --listen 203.0.113.153 --zone bench.test --address 198.51.100.200 [--ready FILE]

Every name under the zone gets one A record with ADDRESS; AAAA and other types of such a
name get NOERROR with no answer (NODATA); names outside the zone get REFUSED. No logging
per query: the server must cost as little CPU as possible, since it shares the machine's
cores with the client being measured. SIGTERM stops it.
"""

import argparse
import signal
import socket
import struct
import sys

TYPE_A = 1
CLASS_IN = 1
RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_REFUSED = 5
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)


def question(msg):
    """(qname in lower case, qtype, qclass, offset after the question) or None."""
    if len(msg) < 12 or msg[2] & 0x80 or struct.unpack_from("!H", msg, 4)[0] != 1:
        return None
    off, labels, total = 12, [], 0
    while True:
        if off >= len(msg):
            return None
        n = msg[off]
        off += 1
        if n == 0:
            break
        if n & 0xC0 or off + n > len(msg):
            return None  # a question is never compressed
        total += n + 1
        if total > 255:
            return None
        labels.append(msg[off:off + n].decode("ascii", "replace").lower())
        off += n
    if off + 4 > len(msg):
        return None
    qtype, qclass = struct.unpack_from("!HH", msg, off)
    return ".".join(labels), qtype, qclass, off + 4


def reply(msg, zone, addr, ttl):
    q = question(msg)
    flags_in = struct.unpack_from("!H", msg, 2)[0] if len(msg) >= 4 else 0
    # QR, the query's opcode and RD, AA, RA.
    flags = 0x8000 | (flags_in & 0x7900) | 0x0400 | 0x0080
    if q is None:
        if len(msg) < 2:
            return None
        return msg[:2] + struct.pack("!HHHHH", flags | RCODE_FORMERR, 0, 0, 0, 0)
    name, qtype, qclass, qend = q
    qsec = msg[12:qend]
    if not (name == zone or name.endswith("." + zone)):
        return msg[:2] + struct.pack("!HHHHH", flags | RCODE_REFUSED, 1, 0, 0, 0) + qsec
    if qtype == TYPE_A and qclass == CLASS_IN:
        rr = struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, ttl, 4) + addr
        return msg[:2] + struct.pack("!HHHHH", flags, 1, 1, 0, 0) + qsec + rr
    return msg[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + qsec


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--address", required=True)
    ap.add_argument("--ttl", type=int, default=1)
    ap.add_argument("--ready", help="file written once the socket is bound")
    ap.add_argument("--tag", help="ignored: marks the process as the bench's")
    a = ap.parse_args()
    zone = a.zone.rstrip(".").lower()
    addr = socket.inet_aton(a.address)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # Thousands of lookups can start at once (--parallel 2000, two queries each): a default
    # receive buffer would drop some, and the client would wait for its retry timeout.
    for opt in (SO_RCVBUFFORCE, SO_SNDBUFFORCE):
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, 16 << 20)
        except OSError:
            pass
    s.bind((a.listen, a.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("ready\n")
    recv, send = s.recvfrom, s.sendto
    while True:
        msg, peer = recv(4096)
        out = reply(msg, zone, addr, a.ttl)
        if out is not None:
            try:
                send(out, peer)
            except OSError:
                pass


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
