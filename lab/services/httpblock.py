#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Transparent HTTP proxy that serves a block page, modelled on Iran's filter.

iptables in the censor REDIRECTs port-80 connections toward the sites here.
The proxy reads the request head; when the Host header names a blocked site
it answers "200 OK" with a page that, like Iran's national filter (peyvandha),
only holds an iframe pointing at the filter's internal address 10.10.34.34.
Any other request is relayed unchanged to the original destination
(SO_ORIGINAL_DST) and the reply is copied back.

--page generic serves instead a plain "access restricted" notice of the kind
many ISPs use, which matches no known block-page fingerprint: only a
comparison with a control tells it from the real site.

Like the real injected pages, the answer carries no Content-Length: the body
ends when the proxy closes the connection.
"""

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


# An ISP notice with no fingerprint anyone knows: title, text, a regulator's
# reference. Status 200, like most block pages.
GENERIC_PAGE = (
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
    "<title>Access Restricted</title></head>\n<body>"
    "<h2>This website is not available</h2>"
    "<p>Access to the requested resource has been restricted in accordance with a decision "
    "of the competent authority.</p>"
    "<p>Reference: 2024/117-B. If you believe this is an error, contact your Internet "
    "service provider.</p></body></html>\n"
).encode("ascii")

PAGES = {
    "iran": ("text/html; charset=windows-1256", BLOCK_PAGE),
    "generic": ("text/html; charset=utf-8", GENERIC_PAGE),
}


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


def handle(conn, peer, names, page):
    up = None
    try:
        conn.settimeout(10)
        dst = lc.original_dst(conn)
        head = read_head(conn)
        if not head:
            return
        host = host_of(head)
        if blocked(host, names):
            lc.log("%s -> %s:%d Host %s: block page (%s)", peer[0], dst[0], dst[1], host, page)
            ctype, body = PAGES[page]
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                         b"Content-Type: " + ctype.encode("ascii") + b"\r\n\r\n" + body)
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
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
    ap = lc.tcp_service_args(__doc__)
    ap.add_argument("--page", choices=sorted(PAGES), default="iran")
    ap.add_argument("--ready")
    ap.add_argument("names", nargs="+", help="blocked host names (and their subdomains)")
    args = ap.parse_args()
    lc.set_prog("httpblock")
    lc.exit_on_signals()
    names = [n.rstrip(".").lower() for n in args.names]
    lc.serve_tcp(args, ", blocking %s with the %s page" % (" ".join(names), args.page), handle,
                 names, args.page)


if __name__ == "__main__":
    sys.exit(main())
