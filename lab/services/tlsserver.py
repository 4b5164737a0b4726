#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A TLS-only service with its own self-signed certificate: the IMAPS or SMTPS port of a small
mail server, which many operators run without a certificate from a public CA.

Each connection gets the TLS handshake with --cert (whatever SNI the client sent), then one
greeting line (--banner), and is closed when the client leaves or after 10 seconds. Started by
the scenario directive `inet tls-selfsigned NAME PORT` (vigie-lab), which makes the certificate.
"""

import ssl
import sys

import labcommon as lc


def handle(conn, peer, ctx, banner):
    tls = None
    try:
        conn.settimeout(10)
        tls = ctx.wrap_socket(conn, server_side=True)
        lc.log("%s:%d handshake done (%s)", peer[0], peer[1], tls.version())
        tls.sendall(banner.encode() + b"\r\n")
        while tls.recv(4096):
            pass
    except (ssl.SSLError, OSError) as e:
        lc.log("%s:%d: %s", peer[0], peer[1], e)
    finally:
        lc.close_quietly(tls, conn)


def main():
    ap = lc.tcp_service_args(__doc__)
    ap.add_argument("--cert", required=True, help="PEM certificate (self-signed)")
    ap.add_argument("--key", required=True)
    ap.add_argument("--banner", default="* OK vigie lab IMAP4rev1 service ready")
    ap.add_argument("--ready")
    args = ap.parse_args()
    lc.set_prog("tlsserver:%d" % args.port)
    lc.exit_on_signals()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    lc.serve_tcp(args, "", handle, ctx, args.banner)


if __name__ == "__main__":
    sys.exit(main())
