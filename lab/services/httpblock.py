#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Transparent HTTP proxy that serves a block page, modelled on Iran's filter.

iptables in the censor REDIRECTs port-80 connections toward the sites here.
The proxy reads the request head; when the Host header names a blocked site
it answers "200 OK" with a page that, like Iran's national filter (peyvandha),
only holds an iframe pointing at the filter's internal address 10.10.34.34.
Any other request is relayed unchanged to the original destination
(SO_ORIGINAL_DST) and the reply is copied back.
"""

import argparse
import re
import socket
import sys

import labcommon as lc

MAX_HEAD = 16384

# Our own rendition of the well-known Iranian page (title M5-8, a frameset-
# like iframe to http://10.10.34.34 with type and policy parameters).
BLOCK_PAGE = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256">'
    "<title>M5-8</title></head><body>"
    '<iframe src="http://10.10.34.34?type=Invalid Site&policy=MainPolicy" '
    'style="width: 100%; height: 100%" scrolling="no" marginwidth="0" marginheight="0" '
    'frameborder="0" vspace="0" hspace="0"></iframe></body></html>\r\n\r\n'
).encode("ascii")


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


def blocked(host, names):
    return any(host == n or host.endswith("." + n) for n in names)


def handle(conn, peer, names):
    up = None
    try:
        conn.settimeout(10)
        dst = lc.original_dst(conn)
        head = read_head(conn)
        if not head:
            return
        host = host_of(head)
        if blocked(host, names):
            lc.log("%s -> %s:%d Host %s: block page", peer[0], dst[0], dst[1], host)
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                         b"Content-Type: text/html; charset=windows-1256\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(BLOCK_PAGE) + BLOCK_PAGE)
            return
        lc.log("%s -> %s:%d Host %s: relayed", peer[0], dst[0], dst[1], host or "-")
        up = socket.create_connection(dst, timeout=5)
        up.sendall(head)
        lc.pump(conn, up)
    except OSError as e:
        lc.log("%s: %s", peer[0], e)
    finally:
        lc.close_quietly(up, conn)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--listen", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ready")
    ap.add_argument("names", nargs="+", help="blocked host names (and their subdomains)")
    args = ap.parse_args()
    lc.set_prog("httpblock")
    lc.exit_on_signals()
    names = [n.rstrip(".").lower() for n in args.names]
    lsock = lc.listen_tcp(args.listen, args.port)
    lc.log("listening on %s:%d, blocking %s", args.listen, args.port, " ".join(names))
    lc.announce_ready(args.ready)
    while True:
        conn, peer = lsock.accept()
        lc.spawn(handle, conn, peer, names)


if __name__ == "__main__":
    sys.exit(main())
