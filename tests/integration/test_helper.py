#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_helper.py - end-to-end tests of `vigie helper` (OONI's test-helper protocol) against
servers on 127.0.0.1.

Python 3 standard library only. The helper and every target server listen on 127.0.0.1 on
ephemeral ports; certificates are made with the openssl CLI in a temporary directory. Targets are
IP literals or "localhost", so nothing leaves the loopback interface (clients on other 127/8
addresses stand for other clients). Waits are bounded; nothing asserts an upper bound on timing.

    python3 tests/integration/test_helper.py --vigie build/vigie [unittest options]
    VIGIE=build/vigie python3 tests/integration/test_helper.py
"""
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import harness

VIGIE = None            # path of the binary under test (set in main)
HOST = "127.0.0.1"
IO_TIMEOUT = 10.0       # server-side socket timeout
REQ_TIMEOUT = 90        # one THRequest, client side
HOLD_MAX = 30.0         # the slow route gives up after this at the latest

TITLE = "Vigie helper test page"
PAGE = ("<!DOCTYPE html><html><head><title>%s</title></head><body>control</body></html>"
        % TITLE).encode()

# --------------------------------------------------------------------------------------------
# target servers


class Server:
    """A TCP listener on 127.0.0.1:0; each connection runs handler(server, conn) in a thread."""

    def __init__(self, handler, name):
        self.handler = handler
        self.name = name
        self.stop = threading.Event()
        self.release = threading.Event()   # lets the slow route answer
        self.paths = []                    # request targets seen, in arrival order
        self._lock = threading.Lock()
        self._threads = []
        self._conns = set()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((HOST, 0))
        self.lsock.listen(128)
        self.lsock.settimeout(0.05)
        self.port = self.lsock.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    def _accept_loop(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            conn.settimeout(IO_TIMEOUT)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._conns.add(conn)
                self._threads.append(t)
            t.start()

    def _serve(self, conn):
        try:
            self.handler(self, conn)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            with self._lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def seen(self, path):
        with self._lock:
            return sum(1 for p in self.paths if p == path)

    def record(self, path):
        with self._lock:
            self.paths.append(path)

    def close(self):
        self.stop.set()
        self.release.set()
        self._acceptor.join(5)
        self.lsock.close()
        with self._lock:
            conns = list(self._conns)
            threads = list(self._threads)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in threads:
            t.join(5)


def read_head(conn, limit=65536):
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > limit:
            return None
        part = conn.recv(4096)
        if not part:
            return None
        data += part
    return data[:data.index(b"\r\n\r\n") + 4]


def send_response(conn, status, reason, headers, body=b""):
    out = b"HTTP/1.1 %d %s\r\n" % (status, reason.encode())
    for k, v in headers:
        out += k.encode() + b": " + v.encode() + b"\r\n"
    conn.sendall(out + b"\r\n" + body)


def page_response(conn):
    send_response(conn, 200, "OK", [("Content-Type", "text/html"), ("X-Vigie", "first"),
                                     ("Content-Length", str(len(PAGE))), ("Connection", "close")],
                  PAGE)


def http_handler(server, conn, stream=None):
    stream = stream or conn
    head = read_head(stream)
    if head is None:
        return
    target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
    server.record(target)
    if target == "/redirect":
        send_response(stream, 302, "Found", [("Location", "/title"), ("Content-Length", "0"),
                                             ("Connection", "close")])
    elif target == "/slow":
        # Hold the answer until the test releases it (bounded), then send the page.
        server.release.wait(HOLD_MAX)
        page_response(stream)
    else:
        page_response(stream)


CHAIN_HOPS = 10        # redirects of the slow chain
CHAIN_HOP_S = 1.0      # each hop of it answers this late (well under every per-step timeout)


def chain_handler(server, conn):
    """/chain/N answers CHAIN_HOP_S late with a redirect to /chain/N+1, up to CHAIN_HOPS, then
    the page: a site that holds a measurement for CHAIN_HOPS * CHAIN_HOP_S seconds."""
    head = read_head(conn)
    if head is None:
        return
    target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
    server.record(target)
    server.stop.wait(CHAIN_HOP_S)
    n = int(target.rsplit("/", 1)[1])
    if n < CHAIN_HOPS:
        send_response(conn, 302, "Found", [("Location", "/chain/%d" % (n + 1)),
                                           ("Content-Length", "0"), ("Connection", "close")])
    else:
        page_response(conn)


def https_handler(ctx):
    def handle(server, conn):
        tls = ctx.wrap_socket(conn, server_side=True)
        try:
            http_handler(server, conn, tls)
        finally:
            tls.close()
    return handle


# --------------------------------------------------------------------------------------------
# the helper under test


class Helper(harness.Server):
    """`vigie helper` on 127.0.0.1:0 (harness.Server) with a client for its protocol."""

    def __init__(self, *args):
        super().__init__(VIGIE, "helper", *args)

    def connection(self, ctx=None):
        if self.https:
            return http.client.HTTPSConnection(HOST, self.port, timeout=REQ_TIMEOUT, context=ctx)
        return http.client.HTTPConnection(HOST, self.port, timeout=REQ_TIMEOUT)

    def request(self, method, path, body=None, headers=None, ctx=None):
        """(status, headers dict (lower-case names), body bytes)."""
        conn = self.connection(ctx)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def measure(self, threquest, source=None):
        """POST a THRequest (a dict, or raw bytes), from the address source (default: the
        system's choice); (status, headers, parsed JSON body)."""
        body = threquest if isinstance(threquest, bytes) else json.dumps(threquest).encode()
        if source is None:
            status, headers, data = self.request("POST", "/", body,
                                                 {"Content-Type": "application/json"})
            return status, headers, json.loads(data.decode())
        conn = http.client.HTTPConnection(HOST, self.port, timeout=REQ_TIMEOUT,
                                          source_address=(source, 0))
        try:
            conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            return (resp.status, {k.lower(): v for k, v in resp.getheaders()},
                    json.loads(resp.read().decode()))
        finally:
            conn.close()

    def metric(self, name, **labels):
        status, _, data = self.request("GET", "/metrics")
        assert status == 200, status
        want = name
        if labels:
            want += "{" + ",".join('%s="%s"' % (k, labels[k]) for k in sorted(labels)) + "}"
        for line in data.decode().splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            if key == want or (labels and key.startswith(name + "{") and
                               sorted(key[len(name) + 1:-1].split(",")) ==
                               sorted('%s="%s"' % (k, v) for k, v in labels.items())):
                return float(value)
        raise AssertionError("metric %s not found in:\n%s" % (want, data.decode()))


# --------------------------------------------------------------------------------------------
# fixtures shared by the tests

FX = {}


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def setUpModule():
    tmp = tempfile.mkdtemp(prefix="vigie-helper-test-")
    FX["tmp"] = tmp
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
            "-days", "2", "-subj", "/CN=vigie-helper-test",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
    der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], check=True,
                         stdout=subprocess.PIPE).stdout
    FX["cert"], FX["key"] = cert, key
    FX["cert_sha256"] = hashlib.sha256(der).hexdigest()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    FX["http"] = Server(http_handler, "http")
    FX["https"] = Server(https_handler(ctx), "https")
    # A port with nothing listening: bind, read the port, close.
    s = socket.socket()
    s.bind((HOST, 0))
    FX["closed_port"] = s.getsockname()[1]
    s.close()
    FX["helper"] = Helper("--allow-private")


def tearDownModule():
    if "helper" in FX:
        FX["helper"].stop()
    for k in ("http", "https"):
        if k in FX:
            FX[k].close()
    shutil.rmtree(FX["tmp"], ignore_errors=True)


def http_url(path):
    return "http://%s:%d%s" % (HOST, FX["http"].port, path)


def ep(server):
    return "%s:%d" % (HOST, server.port)


OONI_HEADERS = {"Accept": ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
                "Accept-Language": ["en-US,en;q=0.9"],
                "User-Agent": ["Mozilla/5.0 (Windows NT 10.0; Win64; x64)"]}


def threquest(url, endpoints):
    return {"http_request": url, "http_request_headers": OONI_HEADERS,
            "tcp_connect": endpoints, "x_quic_enabled": False}


def vigie_threquest(url, endpoints):
    """The THRequest of vigie's probe: OONI's, plus the x_tls_any_port extension."""
    return dict(threquest(url, endpoints), x_tls_any_port=True)


# --------------------------------------------------------------------------------------------


class TestProtocol(unittest.TestCase):
    """THRequest -> THResponse, field by field."""

    def test_health(self):
        status, headers, body = FX["helper"].request("GET", "/")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"message": "Hello OONItarian!"})
        self.assertTrue(headers["server"].startswith("vigie-helper/"), headers)
        self.assertEqual(headers["content-type"], "application/json")

    def test_http_page(self):
        status, headers, r = FX["helper"].measure(
            threquest(http_url("/title"), [ep(FX["http"])]))
        self.assertEqual(status, 200, r)
        self.assertTrue(headers["server"].startswith("vigie-helper/"))
        self.assertEqual(list(r), ["tcp_connect", "tls_handshake", "quic_handshake",
                                   "http_request", "http3_request", "dns", "ip_info",
                                   "x_client_addr"])
        # vigie's extension: where the request came from, for the probe's network (probe_asn)
        self.assertEqual(r["x_client_addr"], HOST)
        # an explicit port: oohelperd measures that port only
        self.assertEqual(r["tcp_connect"], {ep(FX["http"]): {"status": True, "failure": None}})
        self.assertEqual(r["tls_handshake"], {})
        self.assertEqual(r["quic_handshake"], {})
        self.assertIsNone(r["http3_request"])
        h = r["http_request"]
        self.assertEqual(h["status_code"], 200)
        self.assertIsNone(h["failure"])
        self.assertEqual(h["title"], TITLE)
        self.assertEqual(h["body_length"], len(PAGE))
        self.assertEqual(h["discovered_h3_endpoint"], "")
        self.assertEqual(h["headers"]["Content-Type"], "text/html")
        self.assertEqual(h["headers"]["X-Vigie"], "first")
        self.assertEqual(h["x_body_sha256"], hashlib.sha256(PAGE).hexdigest())
        # an IP literal: no DNS, as oohelperd
        self.assertEqual(r["dns"], {"failure": None, "addrs": []})
        # 1 probe + 4 bogon (measured because of --allow-private)
        self.assertEqual(r["ip_info"], {HOST: {"asn": 0, "flags": 5}})

    def test_redirect(self):
        _, _, r = FX["helper"].measure(threquest(http_url("/redirect"), [ep(FX["http"])]))
        h = r["http_request"]
        self.assertEqual((h["status_code"], h["title"], h["failure"]), (200, TITLE, None))
        self.assertEqual(list(r["tcp_connect"]), [ep(FX["http"])])

    def test_connection_refused(self):
        target = "%s:%d" % (HOST, FX["closed_port"])
        _, _, r = FX["helper"].measure(
            threquest("http://%s/" % target, [target]))
        self.assertEqual(r["tcp_connect"],
                         {target: {"status": False, "failure": "connection_refused_error"}})
        h = r["http_request"]
        self.assertEqual(h["failure"], "connection_refused_error")
        self.assertEqual((h["status_code"], h["body_length"], h["title"], h["headers"]),
                         (-1, -1, "", {}))

    def test_tls_self_signed(self):
        target = ep(FX["https"])
        # vigie's probe asks for TLS on a port other than 443 (x_tls_any_port)
        _, _, r = FX["helper"].measure(vigie_threquest("https://%s/" % target, [target]))
        self.assertEqual(list(r["tls_handshake"]), [target])
        t = r["tls_handshake"][target]
        self.assertEqual(t["server_name"], HOST)
        self.assertFalse(t["status"])
        self.assertEqual(t["failure"], "ssl_unknown_authority")
        self.assertFalse(t["x_valid"])
        self.assertTrue(t["x_tls_version"].startswith("TLSv1."), t)
        self.assertNotEqual(t["x_cipher_suite"], "")
        self.assertEqual(len(t["x_chain"]), 1)
        leaf = t["x_chain"][0]
        self.assertEqual(leaf["sha256"], FX["cert_sha256"])
        self.assertIn("vigie-helper-test", leaf["subject"])
        self.assertEqual(leaf["subject"], leaf["issuer"])
        self.assertRegex(leaf["spki_sha256"], r"^[0-9a-f]{64}$")
        self.assertEqual(r["tcp_connect"][target], {"status": True, "failure": None})
        # the page is not fetched over an unvalidated handshake
        h = r["http_request"]
        self.assertEqual((h["status_code"], h["body_length"], h["failure"]),
                         (-1, -1, "unknown_error"))
        self.assertEqual(r["ip_info"][HOST]["flags"], 5)   # no 8: not valid for the name

    def test_tls_valid_with_ca_file(self):
        helper = Helper("--allow-private", "--ca-file", FX["cert"])
        try:
            target = ep(FX["https"])
            _, _, r = helper.measure(vigie_threquest("https://%s/" % target, [target]))
        finally:
            self.assertEqual(helper.stop(), 0)
        t = r["tls_handshake"][target]
        self.assertEqual((t["status"], t["failure"], t["x_valid"]), (True, None, True))
        self.assertEqual(t["x_chain"][0]["sha256"], FX["cert_sha256"])
        self.assertEqual(r["http_request"]["title"], TITLE)
        self.assertEqual(r["ip_info"][HOST]["flags"], 1 | 4 | 8)

    def test_errors(self):
        helper = FX["helper"]
        cases = [b"{not json", b"[]", b'{"tcp_connect":[]}', b'{"http_request":42}',
                 b'{"http_request":"ftp://x/"}', b'{"http_request":"http://a/","tcp_connect":"x"}']
        for body in cases:
            status, headers, r = helper.measure(body)
            self.assertEqual(status, 400, body)
            self.assertIsInstance(r.get("error"), str, body)
            self.assertEqual(headers["content-type"], "application/json")
        status, _, body = helper.request("GET", "/nope")
        self.assertEqual((status, "error" in json.loads(body)), (404, True))
        status, headers, body = helper.request("PUT", "/", b"{}")
        self.assertEqual(status, 405)
        self.assertIn("POST", headers["allow"])

    def test_body_too_large_declared(self):
        # Content-Length over --max-body (1 MiB): refused before the body is read.
        helper = FX["helper"]
        with socket.create_connection((HOST, helper.port), timeout=REQ_TIMEOUT) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % (2 * 1024 * 1024))
            resp = http.client.HTTPResponse(s)
            resp.begin()
            self.assertEqual(resp.status, 413)
            self.assertIn("error", json.loads(resp.read()))

    def test_body_too_large_chunked(self):
        helper = FX["helper"]
        conn = helper.connection()
        chunk = b" " * 65536
        try:
            conn.request("POST", "/", body=iter([chunk] * 20), encode_chunked=True,
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 413)
            self.assertIn("error", json.loads(resp.read()))
        finally:
            conn.close()

    def test_metrics_move(self):
        helper = FX["helper"]
        ok = helper.metric("vigie_helper_requests_total", code="200", reason="ok")
        bad = helper.metric("vigie_helper_requests_total", code="400",
                            reason="cannot_unmarshal_request_body")
        count = helper.metric("vigie_helper_measurement_duration_seconds_count")
        helper.measure(threquest(http_url("/title"), [ep(FX["http"])]))
        helper.measure(b"{")
        # the counters move when the request completes, just after the answer: bounded wait
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if (helper.metric("vigie_helper_requests_total", code="200", reason="ok") >= ok + 1
                    and helper.metric("vigie_helper_requests_total", code="400",
                                      reason="cannot_unmarshal_request_body") >= bad + 1):
                break
            time.sleep(0.05)
        self.assertGreaterEqual(
            helper.metric("vigie_helper_requests_total", code="200", reason="ok"), ok + 1)
        self.assertGreaterEqual(
            helper.metric("vigie_helper_requests_total", code="400",
                          reason="cannot_unmarshal_request_body"), bad + 1)
        self.assertGreaterEqual(
            helper.metric("vigie_helper_measurement_duration_seconds_count"), count + 1)
        self.assertEqual(helper.metric("vigie_helper_inflight"), 0)
        _, headers, _ = helper.request("GET", "/metrics")
        self.assertTrue(headers["content-type"].startswith("text/plain"))

    def test_request_log(self):
        helper = FX["helper"]
        url = http_url("/title?log=1")
        helper.measure(threquest(url, [ep(FX["http"])]))
        line = helper.wait_log(re.escape(url))
        self.assertIsNotNone(line, helper.log())
        self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z POST / 200 \d+\.\d{3}s ")
        # no client address unless asked for (x_client_addr is written in responses only)
        for line in helper.log():
            self.assertNotIn("client=", line)


class TestTargets(unittest.TestCase):
    """vigie's x_target extension: a tls:// or dns:// target measured instead of http_request
    (docs/helper.md "tls:// and dns:// targets")."""

    def test_tls_target(self):
        # A TLS server on a port that is not 443 (a mail server's 465, here ephemeral), whose
        # own certificate is self-signed: the handshake and the chain, no page.
        target = ep(FX["https"])
        req = threquest("https://%s/" % target, [target])
        req["x_target"] = "tls://%s/" % target
        before = len(FX["https"].paths)
        status, _, r = FX["helper"].measure(req)
        self.assertEqual(status, 200, r)
        self.assertEqual(list(r), ["tcp_connect", "tls_handshake", "quic_handshake",
                                   "http_request", "http3_request", "dns", "ip_info",
                                   "x_target", "x_client_addr"])
        self.assertEqual(r["x_target"], "tls://%s/" % target)
        self.assertIsNone(r["http_request"], "a tls:// target fetches nothing")
        self.assertEqual(r["tcp_connect"], {target: {"status": True, "failure": None}})
        t = r["tls_handshake"][target]
        self.assertEqual((t["status"], t["failure"], t["x_valid"]),
                         (False, "ssl_unknown_authority", False))
        self.assertEqual(t["x_chain"][0]["sha256"], FX["cert_sha256"])
        self.assertEqual(len(FX["https"].paths), before, "no HTTP request to a tls:// target")

    def test_dns_target(self):
        # A name to resolve: the helper's answers, no connection whatever tcp_connect says.
        req = threquest("http://localhost/", [ep(FX["http"])])
        req["x_target"] = "dns://localhost/"
        before = len(FX["http"].paths)
        status, _, r = FX["helper"].measure(req)
        self.assertEqual(status, 200, r)
        self.assertEqual(r["x_target"], "dns://localhost/")
        self.assertIsNone(r["http_request"])
        self.assertEqual((r["tcp_connect"], r["tls_handshake"]), ({}, {}))
        self.assertIsNone(r["dns"]["failure"])
        self.assertIn(HOST, r["dns"]["addrs"])
        self.assertEqual(len(FX["http"].paths), before)

    def test_web_page_has_no_x_target(self):
        _, _, r = FX["helper"].measure(threquest(http_url("/title"), [ep(FX["http"])]))
        self.assertNotIn("x_target", r)

    def test_bad_targets(self):
        helper = FX["helper"]
        for target, status in ((42, 400), ("https://127.0.0.1/", 400), ("tls://", 400),
                               ("tls://127.0.0.1:0", 400), ("smtp://127.0.0.1:25", 400)):
            req = threquest(http_url("/title"), [])
            req["x_target"] = target
            got, _, r = helper.measure(req)
            self.assertEqual(got, status, (target, r))
            self.assertIn("x_target", r["error"], target)


MIB = 1024 * 1024
KEPT = 512 * 1024           # the engine's --body-max: the prefix the helper keeps
TH_BODY_LIMIT = 16 * MIB    # oohelperd's maxAcceptableBody: body_length counts up to it


def big_handler(server, conn):
    """/bytes/N: N bytes of a repeating pattern (Content-Length), /chunked/N the same chunked;
    every request head is recorded whole (server.heads) for the header tests."""
    head = read_head(conn)
    if head is None:
        return
    with server._lock:
        server.heads.append(head.decode("latin-1"))
    target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
    server.record(target)
    parts = target.split("/")
    n = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else 0
    body = pattern(n)
    if parts[1] == "chunked":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        for i in range(0, n, 65536):
            piece = body[i:i + 65536]
            conn.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        conn.sendall(b"0\r\n\r\n")
    else:
        send_response(conn, 200, "OK", [("Content-Type", "text/plain"),
                                        ("Content-Length", str(n)), ("Connection", "close")], body)


def pattern(n):
    unit = b"vigie body length test\n"
    return (unit * (n // len(unit) + 1))[:n]


def peak_kib(proc):
    with open("/proc/%d/status" % proc.pid) as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))


class TestOoniFidelity(unittest.TestCase):
    """Issue 14: what an OONI probe gets from a vigie helper is what oohelperd would answer."""

    @classmethod
    def setUpClass(cls):
        cls.big = Server(big_handler, "big")
        cls.big.heads = []

    @classmethod
    def tearDownClass(cls):
        cls.big.close()

    def url(self, path):
        return "http://%s:%d%s" % (HOST, self.big.port, path)

    def last_head(self, path):
        with self.big._lock:
            heads = [h for h in self.big.heads if h.split(" ")[1] == path]
        self.assertTrue(heads, path)
        return heads[-1]

    def test_body_length_exact_past_the_kept_prefix(self):
        for path in ("/bytes/%d" % (2 * MIB), "/chunked/%d" % (2 * MIB)):
            _, _, r = FX["helper"].measure(threquest(self.url(path), [ep(self.big)]))
            h = r["http_request"]
            self.assertEqual((h["failure"], h["status_code"]), (None, 200), path)
            # the true length, as oohelperd reports it, not the 512 KiB kept
            self.assertEqual(h["body_length"], 2 * MIB, path)
            # the hash is of the prefix kept (docs/helper.md)
            self.assertEqual(h["x_body_sha256"], hashlib.sha256(pattern(KEPT)).hexdigest())

    def test_body_length_stops_at_oohelperd_limit_with_bounded_memory(self):
        helper = Helper("--allow-private")
        try:
            # warm up with a body past the kept prefix, then read the peak
            _, _, r = helper.measure(threquest(self.url("/bytes/%d" % (2 * MIB)), []))
            self.assertEqual(r["http_request"]["body_length"], 2 * MIB)
            before = peak_kib(helper.proc)
            for path in ("/bytes/%d" % (20 * MIB), "/chunked/%d" % (20 * MIB)):
                _, _, r = helper.measure(threquest(self.url(path), []))
                h = r["http_request"]
                self.assertEqual((h["failure"], h["status_code"]), (None, 200), path)
                self.assertEqual(h["body_length"], TH_BODY_LIMIT, path)
            after = peak_kib(helper.proc)
        finally:
            self.assertEqual(helper.stop(), 0)
        print("\n    helper peak RSS %.1f MiB before, %.1f MiB after two 20 MiB bodies"
              % (before / 1024, after / 1024))
        # 16 MiB counted, not stored: the peak moves by far less than one such body
        self.assertLess(after - before, harness.memory_bound(VIGIE, 8 * 1024), (before, after))

    def test_request_headers_forwarded(self):
        headers = {"User-Agent": ["OONI-probe-test/3.21 (a browser)"],
                   "accept": ["text/test,*/*;q=0.1", "second/value"],
                   "Accept-Language": ["xx-YY"],
                   "Cookie": ["not=forwarded"], "X-Other": ["not forwarded"]}
        req = {"http_request": self.url("/hdr1"), "http_request_headers": headers,
               "tcp_connect": [], "x_quic_enabled": False}
        status, _, r = FX["helper"].measure(req)
        self.assertEqual((status, r["http_request"]["status_code"]), (200, 200))
        head = self.last_head("/hdr1")
        lines = head.split("\r\n")
        self.assertIn("User-Agent: OONI-probe-test/3.21 (a browser)", lines)
        self.assertIn("Accept: text/test,*/*;q=0.1", lines)
        self.assertIn("Accept-Language: xx-YY", lines)
        self.assertNotIn("Cookie", head)
        self.assertNotIn("X-Other", head)
        self.assertNotIn("second/value", head)

    def test_request_headers_injection_refused(self):
        headers = {"User-Agent": ["evil\r\nX-Injected: 1"], "Accept": ["a" * 600],
                   "Accept-Language": ["fr\u0007"]}
        req = {"http_request": self.url("/hdr2"), "http_request_headers": headers,
               "tcp_connect": []}
        status, _, r = FX["helper"].measure(req)
        self.assertEqual((status, r["http_request"]["status_code"]), (200, 200))
        head = self.last_head("/hdr2")
        self.assertNotIn("X-Injected", head)
        self.assertNotIn("evil", head)
        self.assertNotIn("a" * 600, head)
        # the engine's own browser headers instead
        self.assertRegex(head, r"\r\nUser-Agent: Mozilla/5\.0 ")
        self.assertIn("\r\nAccept-Language: en-US,en;q=0.9\r\n", head)
        # a NUL in a string is not JSON the helper reads: 400, as any bad body
        status, _, r = FX["helper"].measure(
            b'{"http_request":"%s","http_request_headers":{"Accept":["a\\u0000b"]}}'
            % self.url("/hdr4").encode())
        self.assertEqual(status, 400, r)
        # and without any header: the engine's own too
        status, _, r = FX["helper"].measure({"http_request": self.url("/hdr3")})
        self.assertEqual(status, 200)
        self.assertRegex(self.last_head("/hdr3"), r"\r\nUser-Agent: Mozilla/5\.0 ")

    def test_ip_literal_endpoint_in_ip_info(self):
        # an OONI probe may list no address for an IP literal: the helper measures it anyway,
        # and every address measured is in ip_info (oohelperd measures only those)
        target = ep(self.big)
        _, _, r = FX["helper"].measure(threquest(self.url("/bytes/10"), []))
        self.assertEqual(list(r["tcp_connect"]), [target])
        self.assertEqual(r["ip_info"], {HOST: {"asn": 0, "flags": 4}})
        self.assertEqual(r["dns"], {"failure": None, "addrs": []})
        # listed by the probe: flag 1, as before
        _, _, r = FX["helper"].measure(threquest(self.url("/bytes/10"), [target]))
        self.assertEqual(r["ip_info"], {HOST: {"asn": 0, "flags": 1 | 4}})

    def test_tls_only_where_oohelperd_does_it(self):
        helper = Helper("--allow-private", "--ca-file", FX["cert"])
        target = ep(FX["https"])
        url = "https://%s/" % target
        try:
            # an OONI probe's THRequest: oohelperd handshakes on port 443 only
            _, _, ooni = helper.measure(threquest(url, [target]))
            # vigie's probe asks for the URL's port too
            _, _, vigie = helper.measure(vigie_threquest(url, [target]))
        finally:
            self.assertEqual(helper.stop(), 0)
        self.assertEqual(ooni["tls_handshake"], {})
        self.assertEqual(ooni["tcp_connect"][target], {"status": True, "failure": None})
        self.assertEqual(ooni["ip_info"][HOST]["flags"], 1 | 4)   # no 8 without a handshake
        self.assertEqual(ooni["http_request"]["title"], TITLE)    # the page is fetched all the same
        self.assertEqual(list(vigie["tls_handshake"]), [target])
        self.assertTrue(vigie["tls_handshake"][target]["x_valid"])
        self.assertEqual(vigie["ip_info"][HOST]["flags"], 1 | 4 | 8)


class TestSafety(unittest.TestCase):
    """Not an open proxy: without --allow-private, no private address is contacted."""

    @classmethod
    def setUpClass(cls):
        cls.helper = Helper()

    @classmethod
    def tearDownClass(cls):
        cls.helper.stop()

    def test_private_literal_refused(self):
        before = FX["http"].seen("/title?private")
        status, headers, r = self.helper.measure(
            threquest(http_url("/title?private"), [ep(FX["http"])]))
        self.assertEqual(status, 403)
        self.assertIn("refused", r["error"])
        self.assertEqual(FX["http"].seen("/title?private"), before)

    def test_ipv4_embedding_ipv6_forms_refused(self):
        # Ways to an internal IPv4 address through a gateway (issue 13): IPv4-compatible,
        # IPv4-mapped written in hex, SIIT, NAT64 (well-known and local-use), Teredo, 6to4.
        forms = ["::7f00:1", "::127.0.0.1", "::ffff:7f00:1", "::ffff:0:7f00:1",
                 "::ffff:0:10.0.0.1", "64:ff9b::a00:1", "64:ff9b:1::a00:1", "64:ff9b:1:ffff::1",
                 "2001:0:7f00:1::", "2001::a00:1", "2002:7f00:1::1", "2002:a00:1::"]
        before = self.helper.metric("vigie_helper_requests_total", code="403",
                                    reason="bogon_target")
        for ip in forms:
            status, _, r = self.helper.measure(threquest("http://[%s]:%d/title"
                                                         % (ip, FX["http"].port), []))
            self.assertEqual(status, 403, (ip, r))
            self.assertIn("not a public address", r["error"], ip)
        # counted when each request completes, just after its answer: bounded wait
        deadline = time.monotonic() + 10
        while (self.helper.metric("vigie_helper_requests_total", code="403",
                                  reason="bogon_target") < before + len(forms)
               and time.monotonic() < deadline):
            time.sleep(0.05)
        self.assertEqual(self.helper.metric("vigie_helper_requests_total", code="403",
                                            reason="bogon_target"), before + len(forms))
        # As probe addresses they are not measured either ("localhost" passes the literal
        # check, and resolves to loopback only: nothing leaves the machine).
        status, _, r = self.helper.measure(threquest("http://localhost:%d/title?forms"
                                                     % FX["http"].port,
                                                     ["[%s]:80" % ip for ip in forms[:8]]))
        self.assertEqual(status, 200, r)
        self.assertEqual(r["tcp_connect"], {})
        for ip in forms[:8]:
            canon = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, ip))
            self.assertEqual(r["ip_info"][canon]["flags"] & 4, 4, canon)

    def test_private_target_refused(self):
        # The bogon check applies to x_target's host, not to http_request's.
        req = threquest("https://www.example.org/", [])
        req["x_target"] = "tls://%s/" % ep(FX["https"])
        before = len(FX["https"].paths)
        status, _, r = self.helper.measure(req)
        self.assertEqual(status, 403, r)
        self.assertIn("not a public address", r["error"])
        self.assertEqual(len(FX["https"].paths), before)

    def test_private_endpoints_dropped(self):
        # "localhost" resolves to 127.0.0.1: the name is measured, no private address is.
        path = "/title?localhost"
        url = "http://localhost:%d%s" % (FX["http"].port, path)
        status, _, r = self.helper.measure(threquest(url, [ep(FX["http"]), "10.1.2.3:80"]))
        self.assertEqual(status, 200, r)
        self.assertEqual(r["tcp_connect"], {})
        self.assertEqual(r["tls_handshake"], {})
        h = r["http_request"]
        self.assertIsNotNone(h["failure"])
        self.assertEqual((h["status_code"], h["body_length"]), (-1, -1))
        self.assertIn(HOST, r["dns"]["addrs"])
        self.assertEqual(r["ip_info"][HOST]["flags"], 1 | 2 | 4)
        self.assertEqual(r["ip_info"]["10.1.2.3"]["flags"], 1 | 4)
        self.assertEqual(FX["http"].seen(path), 0, "the helper reached a private address")


class TestLoad(unittest.TestCase):
    def test_saturation(self):
        # --max-inflight 1: while a slow measurement is in flight, the next one gets 503.
        srv = Server(http_handler, "slow")
        helper = Helper("--allow-private", "--max-inflight", "1", "--log-client-address")
        result = {}

        def slow():
            result["r"] = helper.measure(threquest("http://%s/slow" % ep(srv), [ep(srv)]))

        t = threading.Thread(target=slow, daemon=True)
        try:
            t.start()
            deadline = time.monotonic() + 20
            while srv.seen("/slow") == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(srv.seen("/slow"), 1, "the slow measurement started")
            status, headers, r = helper.measure(threquest(http_url("/title"), [ep(FX["http"])]))
            self.assertEqual(status, 503)
            self.assertIn("retry-after", headers)
            self.assertIn("error", r)
            self.assertEqual(helper.metric("vigie_helper_inflight"), 1)
            srv.release.set()
            t.join(REQ_TIMEOUT)
            status, _, r = result["r"]
            self.assertEqual(status, 200)
            self.assertEqual(r["http_request"]["title"], TITLE)
            self.assertIsNotNone(helper.wait_log(r" POST / 503 .* client=127\.0\.0\.1$"),
                                 helper.log())
        finally:
            srv.release.set()
            self.assertEqual(helper.stop(), 0)
            srv.close()

    def test_keep_alive_idle_not_in_flight(self):
        # A probe keeps its connection to the helper open between THRequests (issue 18): an idle
        # kept-alive connection holds no slot of --max-inflight 1, and carries the next request.
        helper = Helper("--allow-private", "--max-inflight", "1")
        body = json.dumps(threquest(http_url("/title"), [ep(FX["http"])])).encode()
        conn = http.client.HTTPConnection(HOST, helper.port, timeout=REQ_TIMEOUT)
        try:
            for i in range(3):
                conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
                if i == 0:
                    sock = conn.sock
                resp = conn.getresponse()
                r = json.loads(resp.read().decode())
                self.assertEqual(resp.status, 200)
                self.assertNotEqual((resp.getheader("Connection") or "").lower(), "close")
                self.assertEqual(r["http_request"]["title"], TITLE)
                self.assertIs(conn.sock, sock, "the same connection")
                # while it idles, another client is measured and nothing is in flight
                status, _, r = helper.measure(threquest(http_url("/title"), [ep(FX["http"])]))
                self.assertEqual(status, 200, r)
                self.assertEqual(helper.metric("vigie_helper_inflight"), 0)
        finally:
            conn.close()
            self.assertEqual(helper.stop(), 0)

    def test_concurrent(self):
        helper = FX["helper"]
        results = []
        lock = threading.Lock()

        def one(i):
            r = helper.measure(threquest(http_url("/title?n=%d" % i), [ep(FX["http"])]))
            with lock:
                results.append(r)

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(REQ_TIMEOUT)
        self.assertEqual(len(results), 30)
        for status, _, r in results:
            self.assertEqual(status, 200)
            self.assertEqual(r["http_request"]["title"], TITLE)


class TestFairness(unittest.TestCase):
    """One client cannot hold every slot (issue 13): a deadline per THRequest, and a share of
    --max-inflight per client."""

    def test_deadline_cuts_a_chain_of_slow_redirects(self):
        # Ten redirects, each hop a second late: the measurement would hold its slot for ten
        # seconds (minutes with slower hops and the default per-step timeouts). With
        # --request-deadline 3s it is answered at the deadline, with a timeout, and the one
        # slot (--max-inflight 1) is free again.
        chain = Server(chain_handler, "chain")
        helper = Helper("--allow-private", "--max-inflight", "1", "--request-deadline", "3s")
        try:
            t0 = time.monotonic()
            status, _, r = helper.measure(threquest("http://%s/chain/0" % ep(chain), [ep(chain)]))
            took = time.monotonic() - t0
            self.assertEqual(status, 200, r)
            h = r["http_request"]
            self.assertEqual(h["failure"], "generic_timeout_error", h)
            # Cut short: the chain's end was never asked for. Each hop answers well within
            # every per-step timeout, so only the request's deadline can have fired...
            self.assertEqual(chain.seen("/chain/%d" % CHAIN_HOPS), 0, chain.paths)
            self.assertGreater(chain.seen("/chain/1"), 0, "the chain was not followed")
            # ...and not before it (a lower bound: the deadline's own value).
            self.assertGreaterEqual(took, 2.9)
            # The slot is free: the next request is measured, not refused with 503.
            deadline = time.monotonic() + 10
            while helper.metric("vigie_helper_inflight") != 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(helper.metric("vigie_helper_inflight"), 0)
            status, _, r = helper.measure(threquest(http_url("/title?after-chain"),
                                                    [ep(FX["http"])]))
            self.assertEqual(status, 200, r)
            self.assertEqual(r["http_request"]["title"], TITLE)
        finally:
            self.assertEqual(helper.stop(), 0)
            chain.close()

    def hold(self, helper, srv, source, n, results):
        """n slow measurements from source, held until srv.release; their results appended."""
        threads = []
        for _ in range(n):
            held = srv.seen("/slow") + 1

            def one():
                results.append(helper.measure(threquest("http://%s/slow" % ep(srv), [ep(srv)]),
                                              source=source))

            t = threading.Thread(target=one, daemon=True)
            t.start()
            threads.append(t)
            deadline = time.monotonic() + 20
            while srv.seen("/slow") < held and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(srv.seen("/slow"), held, "a slow measurement did not start")
        return threads

    def test_one_client_cannot_take_every_slot(self):
        # --max-inflight 4: one client (127.0.0.2) gets three quarters (3) by default; its
        # fourth request is refused while another client (127.0.0.3) is still answered.
        srv = Server(http_handler, "slow")
        helper = Helper("--allow-private", "--max-inflight", "4")
        results = []
        try:
            threads = self.hold(helper, srv, "127.0.0.2", 3, results)
            status, headers, r = helper.measure(threquest(http_url("/title?greedy"),
                                                          [ep(FX["http"])]), source="127.0.0.2")
            self.assertEqual(status, 503, r)
            self.assertIn("retry-after", headers)
            self.assertIn("from your network", r["error"])
            status, _, r = helper.measure(threquest(http_url("/title?other"), [ep(FX["http"])]),
                                          source="127.0.0.3")
            self.assertEqual(status, 200, r)
            self.assertEqual(r["http_request"]["title"], TITLE)
            # The other client's request leaves the count when it completes, just after its
            # answer: bounded wait.
            deadline = time.monotonic() + 10
            while helper.metric("vigie_helper_inflight") != 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(helper.metric("vigie_helper_inflight"), 3)
            self.assertGreaterEqual(helper.metric("vigie_helper_requests_total", code="503",
                                                  reason="client_saturated"), 1)
            srv.release.set()
            for t in threads:
                t.join(REQ_TIMEOUT)
            self.assertEqual(sorted(st for st, _, _ in results), [200, 200, 200])
        finally:
            srv.release.set()
            self.assertEqual(helper.stop(), 0)
            srv.close()

    def test_share_is_an_option(self):
        # --max-inflight-per-client 1 of 3: the second request of a client is refused, a
        # second client still gets a slot.
        srv = Server(http_handler, "slow")
        helper = Helper("--allow-private", "--max-inflight", "3", "--max-inflight-per-client",
                        "1")
        results = []
        try:
            threads = self.hold(helper, srv, "127.0.0.4", 1, results)
            status, _, r = helper.measure(threquest(http_url("/title?second"), [ep(FX["http"])]),
                                          source="127.0.0.4")
            self.assertEqual(status, 503, r)
            status, _, r = helper.measure(threquest(http_url("/title?another"), [ep(FX["http"])]),
                                          source="127.0.0.5")
            self.assertEqual(status, 200, r)
            srv.release.set()
            for t in threads:
                t.join(REQ_TIMEOUT)
            self.assertEqual([st for st, _, _ in results], [200])
        finally:
            srv.release.set()
            self.assertEqual(helper.stop(), 0)
            srv.close()


class TestLifecycle(unittest.TestCase):
    def test_sigterm_finishes_in_flight(self):
        srv = Server(http_handler, "slow")
        helper = Helper("--allow-private")
        result = {}

        def slow():
            result["r"] = helper.measure(threquest("http://%s/slow" % ep(srv), [ep(srv)]))

        t = threading.Thread(target=slow, daemon=True)
        try:
            t.start()
            deadline = time.monotonic() + 20
            while srv.seen("/slow") == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(srv.seen("/slow"), 1)
            helper.proc.send_signal(signal.SIGTERM)
            self.assertIsNotNone(helper.wait_log("finishing 1 in flight"), helper.log())
            srv.release.set()
            t.join(REQ_TIMEOUT)
            self.assertEqual(result["r"][0], 200)
            self.assertEqual(result["r"][2]["http_request"]["status_code"], 200)
            self.assertEqual(helper.wait(), 0)
            self.assertIn("vigie helper: stopped", helper.log())
        finally:
            srv.release.set()
            helper.stop()
            srv.close()

    def test_sigint_idle(self):
        helper = Helper()
        self.assertEqual(helper.stop(signal.SIGINT), 0)

    def test_https_listener(self):
        helper = Helper("--tls-cert", FX["cert"], "--tls-key", FX["key"], "--allow-private")
        try:
            self.assertTrue(helper.https)
            ctx = ssl.create_default_context(cafile=FX["cert"])
            status, headers, body = helper.request("GET", "/", ctx=ctx)
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["message"], "Hello OONItarian!")
        finally:
            self.assertEqual(helper.stop(), 0)

    def test_bad_options(self):
        for args in (["--listen", "nowhere"], ["--listen", "127.0.0.1:0", "--tls-cert", "x"],
                     ["--listen", "127.0.0.1:0", "--max-inflight", "0"], [],
                     ["--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent",
                      "--tls-key", "/nonexistent"],
                     ["--listen", "127.0.0.1:0", "--max-inflight-per-client", "-1"],
                     ["--listen", "127.0.0.1:0", "--request-deadline", "soon"],
                     ["--listen", "127.0.0.1:0", "--per-prefix6", "8"],
                     ["--listen", "127.0.0.1:0", "--per-prefix6", "129"],
                     ["--listen", "127.0.0.1:0", "--user", "no-such-user-vigie"],
                     ["--listen", "127.0.0.1:0", "--group", "nogroup"]):
            p = subprocess.run([VIGIE, "helper"] + args, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(b"vigie helper:", p.stderr)


# --------------------------------------------------------------------------------------------


if __name__ == "__main__":
    sys.exit(harness.main(globals()))
