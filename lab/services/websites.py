#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The lab's web sites: HTTP on :80 and HTTPS on :443 of every site address.

Sites are name-based, like a shared hosting front end: the page is chosen by
the Host header (HTTP) and the certificate by the SNI (TLS).  A request for
an IP literal, or without Host/SNI, gets the site the address belongs to; an
unknown Host gets a 404.

  GET /          the site's page (lab/sites/NAME.html)
  GET /bytes/N   N bytes of filler (N <= 8 MiB), for throughput timing
"""

import argparse
import http.server
import ipaddress
import os
import re
import socket
import ssl
import sys
import threading

import labcommon as lc

MAX_BYTES = 8 * 1024 * 1024


def load_sites(zone_path, sites_dir):
    """{name: {"page": bytes, "addrs": [..]}} for each page that has A records."""
    addrs = {}
    with open(zone_path) as f:
        for line in f:
            w = line.split("#", 1)[0].split()
            if len(w) >= 3 and w[1].upper() == "A":
                addrs.setdefault(w[0].rstrip(".").lower(), []).append(w[2])
    sites = {}
    for fn in sorted(os.listdir(sites_dir)):
        if not fn.endswith(".html"):
            continue
        name = fn[:-5].lower()
        if name not in addrs:
            raise SystemExit("%s: no A record for %s in %s" % (fn, name, zone_path))
        with open(os.path.join(sites_dir, fn), "rb") as f:
            sites[name] = {"page": f.read(), "addrs": addrs[name]}
    return sites


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vigie-lab"
    sys_version = ""
    timeout = 15

    def log_message(self, fmt, *args):
        lc.log("%s %s:%d %s", self.client_address[0], self.server.addr, self.server.port,
               fmt % args)

    def _site(self):
        host = (self.headers.get("Host") or "").strip().lower()
        host = re.sub(r":\d+$", "", host).strip("[]").rstrip(".")
        if host in self.server.sites:
            return host
        try:
            ipaddress.ip_address(host)
            is_ip = True
        except ValueError:
            is_ip = False
        if not host or is_ip:
            return self.server.default_site
        return None

    def _send(self, code, ctype, body, head_only):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _get(self, head_only):
        site = self._site()
        if site is None:
            body = b"<!doctype html><title>404 Not Found</title><h1>Unknown site</h1>\n"
            return self._send(404, "text/html; charset=utf-8", body, head_only)
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            return self._send(200, "text/html; charset=utf-8", self.server.sites[site]["page"],
                              head_only)
        m = re.fullmatch(r"/bytes/(\d{1,8})", path)
        if m and int(m.group(1)) <= MAX_BYTES:
            n = int(m.group(1))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            if not head_only:
                chunk = b"v" * 16384
                while n > 0:
                    self.wfile.write(chunk[:n])
                    n -= min(n, len(chunk))
            return None
        body = b"<!doctype html><title>404 Not Found</title><h1>Not found</h1>\n"
        return self._send(404, "text/html; charset=utf-8", body, head_only)

    def do_GET(self):
        self._get(False)

    def do_HEAD(self):
        self._get(True)


class SiteServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, port, sites, default_site, tls_ctx):
        self.addr = addr
        self.port = port
        self.sites = sites
        self.default_site = default_site
        self.tls_ctx = tls_ctx
        super().__init__((addr, port), Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so a
        # client that stalls mid-handshake never blocks accept().
        if self.tls_ctx is None:
            return super().finish_request(request, client_address)
        request.settimeout(15)
        try:
            tls = self.tls_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            lc.log("%s %s:%d TLS handshake failed: %s", client_address[0], self.addr, self.port, e)
            return None
        try:
            return super().finish_request(tls, client_address)
        finally:
            lc.close_quietly(tls)


def tls_contexts(sites, cert_dir):
    ctxs = {}
    for name in sites:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(cert_dir, name + ".pem"),
                            os.path.join(cert_dir, name + ".key"))
        ctxs[name] = ctx

    def pick(sslobj, server_name, _ctx):
        if server_name and server_name.lower() in ctxs:
            sslobj.context = ctxs[server_name.lower()]
        return None

    for ctx in ctxs.values():
        ctx.sni_callback = pick
    return ctxs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--sites-dir", required=True)
    ap.add_argument("--cert-dir", required=True, help="NAME.pem (leaf + chain) and NAME.key")
    ap.add_argument("--ready")
    args = ap.parse_args()
    lc.set_prog("websites")
    lc.exit_on_signals()

    sites = load_sites(args.zone, args.sites_dir)
    ctxs = tls_contexts(sites, args.cert_dir)
    servers = []
    for name, site in sites.items():
        for addr in site["addrs"]:
            servers.append(SiteServer(addr, 80, sites, name, None))
            servers.append(SiteServer(addr, 443, sites, name, ctxs[name]))
            lc.log("%s on %s:80 and :443", name, addr)
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    lc.announce_ready(args.ready)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
