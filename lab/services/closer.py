#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Transparent proxy that closes (FIN) connections whose first bytes name a
blocked site: the TLS ClientHello's SNI, or the Host header of an HTTP
request.  Every other connection is relayed to its original destination
(SO_ORIGINAL_DST).

iptables in the censor REDIRECTs port 80 and 443 toward the sites here.  The
client sees its request answered by an orderly close, an "EOF" (OONI's
eof_error; OONI's netem knob DPICloseConnectionForString/ForTLSSNI), rather
than a reset or a timeout.
"""

import socket
import sys

import labcommon as lc
import tproxy as tp


def blocked(name, names):
    return any(name == n or name.endswith("." + n) for n in names)


def handle(conn, peer, names):
    up = None
    try:
        conn.settimeout(10)
        dst = lc.original_dst(conn)
        first = conn.recv(1, socket.MSG_PEEK)
        if not first:
            return
        if first[0] == 0x16:
            data = tp.read_client_hello(conn)
            name, what = tp.sni_of(data), "SNI"
        else:
            data = tp.read_head(conn)
            name, what = tp.host_of(data), "Host"
        if name and blocked(name, names):
            lc.log("%s -> %s:%d %s %s: closed", peer[0], dst[0], dst[1], what, name)
            conn.shutdown(socket.SHUT_RDWR)
            return
        up = socket.create_connection(dst, timeout=5)
        up.sendall(data)
        lc.log("%s -> %s:%d %s %s: relayed", peer[0], dst[0], dst[1], what, name or "-")
        lc.pump(conn, up)
    except OSError as e:
        lc.log("%s: %s", peer[0], e)
    finally:
        lc.close_quietly(up, conn)


def main():
    ap = lc.tcp_service_args(__doc__)
    ap.add_argument("--ready")
    ap.add_argument("names", nargs="+", help="blocked names (and their subdomains)")
    args = ap.parse_args()
    lc.set_prog("closer")
    lc.exit_on_signals()
    names = [n.rstrip(".").lower() for n in args.names]
    lc.serve_tcp(args, ", closing connections for " + " ".join(names), handle, names)


if __name__ == "__main__":
    sys.exit(main())
