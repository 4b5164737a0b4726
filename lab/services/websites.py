#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The lab's web sites: HTTP on :80 and HTTPS on :443 of every site address.

Sites are name-based, like a hosting front end: the page is chosen by the
Host header (HTTP) and the certificate by the SNI (TLS), among the names that
resolve to the address (lab/zone.txt).  A request for an IP literal, or
without Host/SNI, gets the site the address belongs to, and so does a TLS
client with an SNI the address does not host; an unknown Host gets a 404.

  GET /          the site's page (lab/sites/NAME.html), with the extra response
                 headers of lab/sites/NAME.headers ("Name: value" lines), if any
  GET /bytes/N   N bytes of filler (N <= 8 MiB), for throughput timing
  GET /redirect/N  302 to /redirect/N-1, ..., /redirect/0 is the page (httpbin-style chains)
  GET PATH       a redirect listed in lab/redirects.txt (HOST PATH STATUS LOCATION)

Certificates: NAME.pem (leaf + intermediate) from --cert-dir.  The settings file
(--settings, re-read when vigie-lab replaces it) may hold
  alt-cert NAME SRC-PREFIX
and then clients whose address is in SRC-PREFIX get the second certificate of
NAME from --alt-cert-dir instead (same CA, another key): like a CDN whose edge
servers each have their own certificate.  It may also hold
  leaf-only NAME
and then every client gets NAME's certificate from --leaf-only-dir, a leaf the
lab root issued itself, sent alone (no intermediate): a server whose chain is
its leaf, which validates only against a store that has its issuer.
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


def load_headers(path):
    """[(name, value)] from a NAME.headers file ("Name: value" per line), or []."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, sep, value = line.partition(":")
            if not sep or not re.fullmatch(r"[A-Za-z0-9-]+", name):
                raise SystemExit("%s:%d: expected 'Name: value'" % (path, lineno))
            out.append((name, value.strip()))
    return out


def load_redirects(path):
    """{(host, path): (status, location)} from lab/redirects.txt."""
    out = {}
    if not path:
        return out
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            w = line.split("#", 1)[0].split()
            if not w:
                continue
            if len(w) != 4 or not w[2].isdigit() or not 300 <= int(w[2]) <= 399:
                raise SystemExit("%s:%d: expected HOST PATH STATUS LOCATION" % (path, lineno))
            out[(w[0].lower(), w[1])] = (int(w[2]), w[3])
    return out


# A CDN's bot check, served instead of the page to the clients it distrusts
# (OONI's cloudflareCAPTCHA QA cases): status 403, same server headers.
CAPTCHA_PAGE = b"""<!DOCTYPE html>
<html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="robots" content="noindex,nofollow"></head>
<body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">Checking if the site connection is secure</h1>
<p>The site needs to review the security of your connection before proceeding.</p>
<noscript><div class="h2">Enable JavaScript and cookies to continue</div></noscript>
</div></div><div class="footer" role="contentinfo">Performance &amp; security by the lab CDN</div>
</body></html>
"""


def parse_settings(lines):
    """{"alt-cert": [(name, ip_network)], "alt-page": [(name, ip_network)],
    "leaf-only": {name}}."""
    rules = {"alt-cert": [], "alt-page": [], "leaf-only": set()}
    for w in lines:
        if w[0] in ("alt-cert", "alt-page") and len(w) == 3:
            rules[w[0]].append((w[1].lower(), ipaddress.ip_network(w[2], strict=False)))
        elif w[0] == "leaf-only" and len(w) == 2:
            rules["leaf-only"].add(w[1].lower())
        else:
            raise ValueError("unknown setting %r" % " ".join(w))
    return rules


def load_sites(zone_path, sites_dir):
    """{name: {"page": bytes, "headers": [..], "addrs": [..]}} for each page that has A records."""
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
            sites[name] = {"page": f.read(), "addrs": addrs[name],
                           "headers": load_headers(os.path.join(sites_dir, name + ".headers"))}
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
        if host in self.server.sites and self.server.addr in self.server.sites[host]["addrs"]:
            return host
        try:
            ipaddress.ip_address(host)
            is_ip = True
        except ValueError:
            is_ip = False
        if not host or is_ip:
            return self.server.default_site
        return None

    def _send(self, code, ctype, body, head_only, extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
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
        client = ipaddress.ip_address(self.client_address[0])
        if path in ("/", "/index.html") and any(
                n == site and client in net for n, net in self.server.settings.get()["alt-page"]):
            lc.log("%s gets the bot check instead of %s", self.client_address[0], site)
            return self._send(403, "text/html; charset=UTF-8", CAPTCHA_PAGE, head_only,
                              self.server.sites[site]["headers"])
        if path in ("/", "/index.html", "/redirect/0"):
            return self._send(200, "text/html; charset=utf-8", self.server.sites[site]["page"],
                              head_only, self.server.sites[site]["headers"])
        redir = self.server.redirects.get((site, path))
        m = re.fullmatch(r"/redirect/(\d{1,2})", path)
        if redir is None and m:
            redir = (302, "/redirect/%d" % (int(m.group(1)) - 1))
        if redir is not None:
            body = b"<!doctype html><title>Moved</title><a href=\"%s\">moved</a>\n" % (
                redir[1].encode("ascii", "replace"))
            return self._send(redir[0], "text/html; charset=utf-8", body, head_only,
                              [("Location", redir[1])])
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

    def __init__(self, addr, port, sites, default_site, tls, redirects, settings):
        self.addr = addr
        self.port = port
        self.sites = sites
        self.default_site = default_site
        self.tls = tls  # None (plain HTTP) or a Certs
        self.redirects = redirects
        self.settings = settings
        super().__init__((addr, port), Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so a
        # client that stalls mid-handshake never blocks accept().
        if self.tls is None:
            return super().finish_request(request, client_address)
        request.settimeout(15)
        client = ipaddress.ip_address(client_address[0])
        settings = self.settings.get()
        alt = {name for name, net in settings["alt-cert"] if client in net}
        leaf = settings["leaf-only"]
        ctx = self.tls.context_for(self.default_site, alt, self.addr, leaf)
        if alt:
            lc.log("%s %s:%d gets the alternate certificate of %s", client_address[0], self.addr,
                   self.port, " ".join(sorted(alt)))
        try:
            tls = ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            lc.log("%s %s:%d TLS handshake failed: %s", client_address[0], self.addr, self.port, e)
            return None
        try:
            return super().finish_request(tls, client_address)
        finally:
            lc.close_quietly(tls)


class Certs:
    """TLS contexts per site: the normal certificates and the alternate ones."""

    def __init__(self, sites, cert_dir, alt_dir, leaf_dir=None):
        # variant: False (the usual chain), True (alt-cert), "leaf" (leaf-only)
        self.dirs = {False: cert_dir, True: alt_dir, "leaf": leaf_dir}
        self.names = set(sites)
        self.hosted = {}  # address -> names it serves
        for name, site in sites.items():
            for a in site["addrs"]:
                self.hosted.setdefault(a, set()).add(name)
        self.leaf = {}  # (name, variant) -> context holding only that certificate
        for name in sites:
            self.leaf[(name, False)] = self._ctx(cert_dir, name)
            if alt_dir:
                self.leaf[(name, True)] = self._ctx(alt_dir, name)
            if leaf_dir and os.path.exists(os.path.join(leaf_dir, name + ".pem")):
                self.leaf[(name, "leaf")] = self._ctx(leaf_dir, name)  # sites.txt's only
        self.accept = {}  # (default site, frozenset(alt names)) -> context to accept with
        self.lock = threading.Lock()

    @staticmethod
    def _ctx(d, name):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, name + ".pem"), os.path.join(d, name + ".key"))
        return ctx

    def context_for(self, default_site, alt, addr, leaf_only=frozenset()):
        """The context to accept a connection with: the default site's certificate when the
        client sends no SNI, and an SNI callback that switches to the named site's (its
        leaf alone when the name is in leaf_only, else its alternate certificate when the name
        is in alt)."""
        alt = frozenset(n for n in alt if (n, True) in self.leaf)
        leaf_only = frozenset(n for n in leaf_only if (n, "leaf") in self.leaf)
        key = (default_site, alt, addr, leaf_only)

        def variant(name):
            return "leaf" if name in leaf_only else name in alt

        with self.lock:
            ctx = self.accept.get(key)
            if ctx is None:
                ctx = self._ctx(self.dirs[variant(default_site)], default_site)

                hosted = self.hosted.get(addr, set())

                def pick(sslobj, server_name, _ctx, hosted=hosted):
                    name = (server_name or "").lower()
                    if name in hosted:
                        sslobj.context = self.leaf[(name, variant(name))]
                    return None

                ctx.sni_callback = pick
                self.accept[key] = ctx
            return ctx


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--sites-dir", required=True)
    ap.add_argument("--cert-dir", required=True, help="NAME.pem (leaf + chain) and NAME.key")
    ap.add_argument("--alt-cert-dir", help="the alternate NAME.pem and NAME.key (alt-cert)")
    ap.add_argument("--leaf-only-dir", help="NAME.pem (a leaf alone) and NAME.key (leaf-only)")
    ap.add_argument("--settings", help="alt-cert, alt-page and leaf-only rules, re-read when "
                    "replaced")
    ap.add_argument("--redirects", help="HOST PATH STATUS LOCATION lines")
    ap.add_argument("--ready")
    args = ap.parse_args()
    lc.set_prog("websites")
    lc.exit_on_signals()

    sites = load_sites(args.zone, args.sites_dir)
    certs = Certs(sites, args.cert_dir, args.alt_cert_dir, args.leaf_only_dir)
    redirects = load_redirects(args.redirects)
    for (host, _path) in redirects:
        if host not in sites:
            raise SystemExit("%s: redirect for unknown site %s" % (args.redirects, host))
    settings = lc.WatchedFile(args.settings or "/nonexistent", parse_settings)
    servers = []
    for name, site in sites.items():
        for addr in site["addrs"]:
            servers.append(SiteServer(addr, 80, sites, name, None, redirects, settings))
            servers.append(SiteServer(addr, 443, sites, name, certs, redirects, settings))
            lc.log("%s on %s:80 and :443", name, addr)
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    lc.announce_ready(args.ready)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
