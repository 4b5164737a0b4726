#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Transparent pass-through proxy on an address of its own, the target of a DNS
hijack (OONI's "dnsHijackingToProxy" QA cases; ISP caches and "clean pipe"
front ends that resolvers send every client to).

It listens on ADDR:80 and ADDR:443 and forwards each connection, untouched, to
the real server of the name the client asked for:
  * :443 - the server name (SNI) of the TLS ClientHello; the handshake is not
    terminated, so the client talks TLS end to end with the real site and
    sees its real certificate;
  * :80  - the Host header of the request.
The name is resolved with the public DNS server (--resolver), as a proxy on
the Internet would.  Connections without a name, or for a name that resolves
to no address (or to this proxy), are closed.
"""

import argparse
import random
import re
import socket
import struct
import sys
import threading

import labcommon as lc
import labdns as d

MAX_HEAD = 16384


def resolve(name, resolver):
    """First A address of name at resolver (UDP, 2 s), or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(2)
        qid = random.randrange(65536)
        s.sendto(d.build_query(name, d.TYPE_A, qid), (resolver, 53))
        while True:
            buf, _peer = s.recvfrom(4096)
            rid, rcode, answers = d.parse_reply(buf)
            if rid != qid:
                continue
            if rcode != 0:
                return None
            for _n, rtype, _ttl, value in answers:
                if rtype == "A":
                    return value
            return None
    except (OSError, d.DNSError):
        return None
    finally:
        s.close()


def read_client_hello(conn):
    """Bytes of the first TLS record (a ClientHello, up to 16 KiB), or what came."""
    buf = b""
    while len(buf) < 5:
        chunk = conn.recv(5 - len(buf))
        if not chunk:
            return buf
        buf += chunk
    if buf[0] != 0x16:
        return buf
    (n,) = struct.unpack("!H", buf[3:5])
    while len(buf) < 5 + n:
        chunk = conn.recv(5 + n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def sni_of(record):
    """The host_name of the ClientHello's server_name extension, or ""."""
    try:
        p = record[5:]
        if not p or p[0] != 1:  # handshake type client_hello
            return ""
        off = 4 + 2 + 32  # handshake header, version, random
        off += 1 + p[off]  # session id
        (n,) = struct.unpack_from("!H", p, off)
        off += 2 + n  # cipher suites
        off += 1 + p[off]  # compression methods
        (ext_len,) = struct.unpack_from("!H", p, off)
        off += 2
        end = off + ext_len
        while off + 4 <= end:
            etype, elen = struct.unpack_from("!HH", p, off)
            off += 4
            if etype == 0:  # server_name
                q = off + 2
                while q + 3 <= off + elen:
                    ntype, nlen = p[q], struct.unpack_from("!H", p, q + 1)[0]
                    if ntype == 0:
                        return p[q + 3:q + 3 + nlen].decode("ascii", "replace").lower()
                    q += 3 + nlen
                return ""
            off += elen
    except (IndexError, struct.error):
        pass
    return ""


def read_head(conn):
    buf = b""
    while b"\r\n\r\n" not in buf and len(buf) < MAX_HEAD:
        chunk = conn.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf


def host_of(head):
    m = re.search(rb"\r\nhost:[ \t]*([^\r\n]*)", head, re.IGNORECASE)
    if not m:
        return ""
    host = m.group(1).strip().decode("latin-1").lower()
    return re.sub(r":\d+$", "", host).rstrip(".")


def handle(conn, peer, port, args):
    up = None
    try:
        conn.settimeout(10)
        if port == 443:
            first = read_client_hello(conn)
            name = sni_of(first)
        else:
            first = read_head(conn)
            name = host_of(first)
        if not first:
            return
        addr = resolve(name, args.resolver) if name else None
        if addr is None or addr == args.listen:
            lc.log("%s -> :%d name %r: no upstream, closing", peer[0], port, name)
            return
        up = socket.create_connection((addr, port), timeout=5)
        up.sendall(first)
        lc.log("%s -> :%d %s: relayed to %s:%d", peer[0], port, name, addr, port)
        why = lc.pump(conn, up)
        lc.log("%s -> :%d %s: done (%s)", peer[0], port, name, why)
    except OSError as e:
        lc.log("%s -> :%d: %s", peer[0], port, e)
    finally:
        lc.close_quietly(up, conn)


def serve(lsock, port, args):
    while True:
        conn, peer = lsock.accept()
        lc.spawn(handle, conn, peer, port, args)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--listen", required=True, help="the proxy's address (ports 80 and 443)")
    ap.add_argument("--resolver", required=True, help="DNS server that resolves the targets")
    ap.add_argument("--ready")
    args = ap.parse_args()
    lc.set_prog("tproxy")
    lc.exit_on_signals()
    socks = [(lc.listen_tcp(args.listen, p), p) for p in (80, 443)]
    lc.log("pass-through proxy on %s:80 (Host) and :443 (SNI), resolving with %s", args.listen,
           args.resolver)
    for s, p in socks:
        lc.spawn(serve, s, p, args)
    lc.announce_ready(args.ready)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
