#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_probe_cli.py - end-to-end tests of `vigie probe` against servers on 127.0.0.1.

Python 3 standard library only. Every server listens on 127.0.0.1 on an ephemeral port, runs in
threads of this process and is torn down at the end; certificates are made with the openssl CLI
in a temporary directory. URLs use the IP literal 127.0.0.1, so vigie does no DNS and nothing
leaves the loopback interface.

    python3 tests/integration/test_probe_cli.py --vigie build/vigie [unittest options]
    VIGIE=build/vigie python3 tests/integration/test_probe_cli.py
"""
import base64
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import harness

VIGIE = None            # path of the binary under test (set in main)
HOST = "127.0.0.1"
IO_TIMEOUT = 10.0       # server-side socket timeout: no handler blocks longer than this
RUN_TIMEOUT = 60        # seconds one vigie run may take before the test fails
HOLD_MAX = 30.0         # hanging/trickling handlers give up after this long at the latest
BODY_MAX = 512 * 1024   # vigie's default --body-max
DEFAULT_TIMEOUT_S = 10  # vigie's default --tls-timeout and --http-timeout

# --------------------------------------------------------------------------------------------
# servers


class Server:
    """A TCP listener on 127.0.0.1:0; each connection runs handler(server, conn) in a thread."""

    def __init__(self, handler, name):
        self.handler = handler
        self.name = name
        self.stop = threading.Event()
        self.requests = []          # request heads seen (HTTP servers), in arrival order
        self.accepted = 0           # connections accepted
        self._lock = threading.Lock()
        self._conns = set()
        self._threads = []
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((HOST, 0))
        self.lsock.listen(1024)
        self.lsock.settimeout(0.05)
        self.port = self.lsock.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, name=name + "-accept",
                                          daemon=True)
        self._acceptor.start()

    def url(self, path="/", scheme="http"):
        return "%s://%s:%d%s" % (scheme, HOST, self.port, path)

    def _accept_loop(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            conn.settimeout(IO_TIMEOUT)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = threading.Thread(target=self._serve, args=(conn,), name=self.name + "-conn",
                                 daemon=True)
            with self._lock:
                self._conns.add(conn)
                self._threads.append(t)
                self.accepted += 1
            t.start()

    def _serve(self, conn):
        try:
            self.handler(self, conn)
        except (OSError, ssl.SSLError, ValueError):
            pass  # the peer went away; vigie's side is what the tests check
        finally:
            with self._lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def record(self, head):
        with self._lock:
            self.requests.append(head)

    def close(self):
        self.stop.set()
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


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        part = conn.recv(n - len(data))
        if not part:
            raise ConnectionError("short read")
        data += part
    return data


def read_head(conn, limit=65536):
    """The request head up to and including the blank line, or None."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > limit:
            return None
        part = conn.recv(4096)
        if not part:
            return None
        data += part
    return data[:data.index(b"\r\n\r\n") + 4]


def read_client_hello(conn):
    """Consume one TLS record (the ClientHello) entirely so that closing sends no RST."""
    hdr = recv_exact(conn, 5)
    if hdr[0] != 0x16:
        raise ValueError("not a TLS handshake record")
    recv_exact(conn, struct.unpack("!H", hdr[3:5])[0])


def hold_until_peer_closes(server, conn):
    """Keep the connection open, sending nothing, until the peer closes or teardown."""
    conn.settimeout(0.05)
    deadline = time.monotonic() + HOLD_MAX
    while not server.stop.is_set() and time.monotonic() < deadline:
        try:
            if not conn.recv(4096):
                return
        except socket.timeout:
            continue


def head_bytes(status, reason, headers):
    out = b"HTTP/1.1 %d %s\r\n" % (status, reason.encode())
    for k, v in headers:
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out += k + b": " + v + b"\r\n"
    return out + b"\r\n"


def send_response(conn, status, reason, headers, body=b""):
    conn.sendall(head_bytes(status, reason, headers) + body)


# --------------------------------------------------------------------------------------------
# fixed content

TITLE = "Vigie test page"
PAGE = ("<!DOCTYPE html><html><head><title>%s</title></head><body>hello</body></html>"
        % TITLE).encode()
# Bodies longer than one 16 KiB read of vigie, ASCII so that they are kept as JSON strings.
LENGTH_BODY = b"".join(b"length line %06d\n" % i for i in range(6000))         # ~108 KB
CLOSE_BODY = b"".join(b"close-delimited %06d\n" % i for i in range(4000))      # ~92 KB
BIG_BODY = (b"0123456789abcdef" * 65536 * 2)                                   # 2 MiB
CHUNKS = [b"<html><head><title>Chunked</title></head>", b"<body>",
          b"x" * 40000, b"", b"middle", b"y" * 17, b"</body></html>"]
CHUNKED_BODY = b"".join(CHUNKS)
# Chunk-size lines with extensions, hex in both cases, then trailers; sent in fragments that
# split size lines, CRLFs and data.
CHUNKED_WIRE_PARTS = [
    b"%x;name=value\r\n" % len(CHUNKS[0]) + CHUNKS[0] + b"\r\n",
    b"6;ext", b"=\"quoted value\"\r\n<bo", b"dy>\r", b"\n",
    b"%X; a=1; b=2\r\n" % len(CHUNKS[2]) + CHUNKS[2][:10000], CHUNKS[2][10000:] + b"\r\n",
    b"0006\r\nmiddle\r\n",
    b"11;x\r\n" + CHUNKS[5] + b"\r\n",
    b"e\r\n" + CHUNKS[6] + b"\r\n",
    b"0;last=yes\r\nX-Trailer: one\r\nX-Other: two\r\n\r\n",
]
BAD_UTF8_BODY = (b"<html><head><title>Caf\xe9 \xff\xfe title</title></head>"
                 b"<body>\xc3\x28 \xed\xa0\x80 ok\x00end</body></html>")
N_MANY = 300


def many_body(n):
    return b"many page %d" % n


# --------------------------------------------------------------------------------------------
# HTTP routes (plain server)


def route_title(server, conn, path):
    send_response(conn, 200, "OK", [("Content-Type", "text/html"),
                                     ("Content-Length", str(len(PAGE)))], PAGE)


def route_length(server, conn, path):
    send_response(conn, 200, "OK", [("Content-Type", "text/plain"),
                                     ("Content-Length", str(len(LENGTH_BODY)))], LENGTH_BODY)


def route_close(server, conn, path):
    conn.sendall(head_bytes(200, "OK", [("Content-Type", "text/plain"),
                                        ("Connection", "close")]))
    for i in range(0, len(CLOSE_BODY), 7000):
        conn.sendall(CLOSE_BODY[i:i + 7000])
    conn.shutdown(socket.SHUT_WR)


def route_chunked(server, conn, path):
    conn.sendall(head_bytes(200, "OK", [("Content-Type", "text/html"),
                                        ("Transfer-Encoding", "chunked")]))
    for part in CHUNKED_WIRE_PARTS:
        conn.sendall(part)
        time.sleep(0.01)


def route_big(server, conn, path):
    send_response(conn, 200, "OK", [("Content-Type", "text/plain"),
                                     ("Content-Length", str(len(BIG_BODY)))], BIG_BODY)


def redirect(conn, status, location):
    reason = {301: "Moved Permanently", 302: "Found", 303: "See Other",
              307: "Temporary Redirect", 308: "Permanent Redirect"}[status]
    send_response(conn, status, reason, [("Location", location), ("Content-Length", "0")])


def route_chain(server, conn, path):
    # three redirects: absolute path, relative path, absolute URL
    if path == "/chain/a":
        redirect(conn, 301, "/chain/b")
    elif path == "/chain/b":
        redirect(conn, 302, "c")
    elif path == "/chain/c":
        redirect(conn, 307, server.url("/chain/final"))
    else:
        route_title(server, conn, path)


def route_loop(server, conn, path):
    n = int(path.rsplit("/", 1)[1])
    redirect(conn, 302, "/loop/%d" % (n + 1))


def route_ten(server, conn, path):
    n = int(path.rsplit("/", 1)[1])
    if n < 10:
        redirect(conn, 302, server.url("/ten/%d" % (n + 1)))
    else:
        route_title(server, conn, path)


def route_badloc(server, conn, path):
    redirect(conn, 302, "http://")


def trickle(server, conn, head_first):
    """1 byte every 200 ms, without end (bounded by HOLD_MAX and teardown)."""
    head = head_bytes(200, "OK", [("Content-Type", "text/html"), ("Connection", "close")])
    if head_first:
        conn.sendall(head)
        data = b""
    else:
        data = head
    deadline = time.monotonic() + HOLD_MAX
    i = 0
    while not server.stop.is_set() and time.monotonic() < deadline:
        conn.sendall(data[i:i + 1] if i < len(data) else b"a")
        i += 1
        server.stop.wait(0.2)


def route_trickle_head(server, conn, path):
    trickle(server, conn, head_first=False)


def route_trickle_body(server, conn, path):
    trickle(server, conn, head_first=True)


def route_hugehead(server, conn, path):
    data = b"HTTP/1.1 200 OK\r\n"
    i = 0
    while len(data) < 60 * 1024:
        data += b"X-Filler-%05d: %s\r\n" % (i, b"a" * 100)
        i += 1
    conn.sendall(data)                  # and never the blank line
    hold_until_peer_closes(server, conn)


def route_badutf8(server, conn, path):
    send_response(conn, 200, "OK", [("Content-Type", "text/html"),
                                     ("X-Bad", b"\xff\xfe\x80"),
                                     ("Content-Length", str(len(BAD_UTF8_BODY)))], BAD_UTF8_BODY)


def route_many(server, conn, path):
    body = many_body(int(path.rsplit("/", 1)[1]))
    send_response(conn, 200, "OK", [("Content-Type", "text/plain"),
                                     ("Content-Length", str(len(body)))], body)


def route_continue(server, conn, path):
    # An interim 1xx response before the final one (RFC 9110 15.2: clients MUST parse them).
    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    time.sleep(0.05)
    route_title(server, conn, path)


EXACT_SMALL = b"e" * 1000
EXACT_DEFAULT = b"E" * BODY_MAX


def route_exact(server, conn, path):
    """Bodies of exactly --body-max bytes (not longer), the end arriving in a later read."""
    kind = path.rsplit("/", 1)[1]
    if kind == "close-default":
        conn.sendall(head_bytes(200, "OK", [("Connection", "close")]) + EXACT_DEFAULT)
        time.sleep(0.1)
        conn.shutdown(socket.SHUT_WR)
    elif kind == "close":
        conn.sendall(head_bytes(200, "OK", [("Connection", "close")]) + EXACT_SMALL)
        time.sleep(0.1)
        conn.shutdown(socket.SHUT_WR)
    elif kind == "chunked":
        conn.sendall(head_bytes(200, "OK", [("Transfer-Encoding", "chunked")])
                     + b"%x\r\n" % len(EXACT_SMALL) + EXACT_SMALL + b"\r\n")
        time.sleep(0.1)
        conn.sendall(b"0\r\n\r\n")
    else:  # length
        conn.sendall(head_bytes(200, "OK", [("Content-Length", str(len(EXACT_SMALL)))])
                     + EXACT_SMALL[:500])
        time.sleep(0.1)
        conn.sendall(EXACT_SMALL[500:])


# The probe's own address as a helper stand-in reports it (x_client_addr), and block pages that
# echo it in every spelling, next to addresses that merely contain it (kept).
SELF_V4 = "203.0.113.77"
SELF_V6 = "2001:DB8:0:0::77"   # reported in a spelling the page does not use
ECHO = {
    "/echo/v4": (SELF_V4, "text/html",
                 ("<html><head><title>Blocked for 203.0.113.77</title></head><body>Your IP is "
                  "203.0.113.77. Also ::ffff:203.0.113.77 and [::FFFF:203.0.113.77]:443; not "
                  "203.0.113.7, 203.0.113.770 or 10.203.0.113.77</body></html>").encode(),
                 [("X-Your-IP", "203.0.113.77"), ("X-Forwarded-For", "203.0.113.77, 198.51.100.1"),
                  ("Set-Cookie", "seen=203.0.113.77:5555")]),
    "/echo/v6": (SELF_V6, "text/plain",
                 b"from 2001:db8::77 = 2001:0db8:0000:0000:0000:0000:0000:0077; not 2001:db8::770",
                 [("X-Your-IP", "[2001:db8::77]:5555")]),
    "/echo/latin1": (SELF_V4, "text/plain; charset=iso-8859-1",
                     b"Votre adresse : 203.0.113.77 \xe9t\xe9 bloqu\xe9e",
                     [("X-Your-IP", "203.0.113.77")]),
}
# Spellings that must not survive, and those that must (other addresses).
GONE = {"/echo/v4": [r"203\.0\.113\.77"], "/echo/latin1": [r"203\.0\.113\.77"],
        "/echo/v6": [r"2001:db8::77", r"2001:0db8:0000:0000:0000:0000:0000:0077",
                     r"2001:db8:0:0::77"]}
KEPT = {"/echo/v4": ["203.0.113.7,", "203.0.113.770", "10.203.0.113.77", "198.51.100.1"],
        "/echo/latin1": [], "/echo/v6": ["2001:db8::770"]}


def route_echo(server, conn, path):
    if path.startswith("/echo/local/"):
        _, ctype, body, headers = ("", "text/plain",
                                   ("your address is %s" % path[len("/echo/local/"):]).encode(),
                                   [])
    else:
        _, ctype, body, headers = ECHO[path]
    send_response(conn, 200, "OK", [("Content-Type", ctype),
                                     ("Content-Length", str(len(body)))] + headers, body)


def read_post(conn):
    """Read one HTTP request with its Content-Length body from conn: the body (bytes), or None
    if the peer left before the end of the head."""
    data = b""
    while b"\r\n\r\n" not in data:
        part = conn.recv(4096)
        if not part:
            return None
        data += part
    head, rest = data.split(b"\r\n\r\n", 1)
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":", 1)[1])
    return rest + recv_exact(conn, n - len(rest))


def helper_standin(server, conn):
    """A test helper that says the request came from the address its URL's page echoes, and
    whose own answer names that address in a key and a header (the probe stores the control)."""
    body = read_post(conn)
    if body is None:
        return
    req = json.loads(body)
    path = "/" + req["http_request"].split("/", 3)[3]
    addr = ECHO[path][0]
    ep = ("[%s]:443" if ":" in addr else "%s:443") % addr
    body = json.dumps({
        "tcp_connect": {ep: {"status": True, "failure": None}},
        "tls_handshake": {}, "quic_handshake": {},
        "http_request": {"body_length": 5, "discovered_h3_endpoint": "", "failure": None,
                         "title": "", "headers": {"X-Seen-From": addr}, "status_code": 200},
        "http3_request": None,
        "dns": {"failure": None, "addrs": [HOST]},
        "ip_info": {},
        "x_client_addr": addr}).encode()
    send_response(conn, 200, "OK", [("Content-Type", "application/json"),
                                     ("Content-Length", str(len(body)))], body)


ROUTES = {
    "/title": route_title, "/length": route_length, "/close": route_close,
    "/chunked": route_chunked, "/big": route_big, "/chain/": route_chain,
    "/loop/": route_loop, "/ten/": route_ten, "/badloc": route_badloc,
    "/trickle-head": route_trickle_head, "/trickle-body": route_trickle_body,
    "/hugehead": route_hugehead, "/badutf8": route_badutf8, "/many/": route_many,
    "/input/": route_title, "/csv/": route_title, "/repeat/": route_title,
    "/continue": route_continue, "/exact/": route_exact, "/echo/": route_echo,
}


def http_handler(server, conn, stream=None):
    stream = stream or conn
    head = read_head(stream)
    if head is None:
        return
    server.record(head)
    target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
    best = None
    for prefix in ROUTES:
        if target == prefix or (prefix.endswith("/") and target.startswith(prefix)):
            if best is None or len(prefix) > len(best):
                best = prefix
    if best is None:
        send_response(stream, 404, "Not Found", [("Content-Length", "0")])
        return
    ROUTES[best](server, stream, target)


# --------------------------------------------------------------------------------------------
# TLS servers


def tls_server_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def https_handler(ctx):
    def handle(server, conn):
        tls = ctx.wrap_socket(conn, server_side=True)
        try:
            head = read_head(tls)
            if head is None:
                return
            server.record(head)
            send_response(tls, 200, "OK", [("Content-Type", "text/html"),
                                           ("Content-Length", str(len(PAGE)))], PAGE)
        finally:
            tls.close()
    return handle


def tls_then_close_handler(ctx):
    """Complete the handshake (vigie judges the certificate), then wait for the peer to go."""
    def handle(server, conn):
        tls = ctx.wrap_socket(conn, server_side=True)
        try:
            hold_until_peer_closes(server, tls)
        finally:
            tls.close()
    return handle


def reset_after_hello(server, conn):
    read_client_hello(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def eof_after_hello(server, conn):
    read_client_hello(conn)
    conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def silent_after_hello(server, conn):
    read_client_hello(conn)
    hold_until_peer_closes(server, conn)


# --------------------------------------------------------------------------------------------
# certificates

SELF_SIGNED_SUBJECT = "/C=cn/O=www.icloud.com/CN=www.icloud.com"


def make_certs(tmp):
    return harness.make_certs(tmp, "Vigie Test CA", (("leaf", "127.0.0.1"), ("other", "127.0.0.2")),
                              SELF_SIGNED_SUBJECT)


# --------------------------------------------------------------------------------------------
# fixture (module-wide)

FX = {}


def setUpModule():
    tmp = tempfile.mkdtemp(prefix="vigie-it-")
    FX["tmp"] = tmp
    FX["servers"] = []
    try:
        certs = make_certs(tmp)
        FX["certs"] = certs

        def start(handler, name):
            s = Server(handler, name)
            FX["servers"].append(s)
            return s

        FX["http"] = start(http_handler, "http")
        FX["https"] = start(https_handler(tls_server_context(certs["leaf.pem"],
                                                             certs["leaf.key"])), "https")
        FX["selfsigned"] = start(tls_then_close_handler(
            tls_server_context(certs["self.pem"], certs["self.key"])), "selfsigned")
        FX["wronghost"] = start(tls_then_close_handler(
            tls_server_context(certs["other.pem"], certs["other.key"])), "wronghost")
        FX["helper"] = start(helper_standin, "helper")
        FX["reset"] = start(reset_after_hello, "reset")
        FX["eof"] = start(eof_after_hello, "eof")
        FX["silent"] = start(silent_after_hello, "silent")
        # A bound socket that never listens: connecting to its port is refused, and nobody else
        # can take the port while the tests run.
        closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        closed.bind((HOST, 0))
        FX["closed_sock"] = closed
        FX["closed_port"] = closed.getsockname()[1]
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    for s in FX.get("servers", []):
        s.close()
    if "closed_sock" in FX:
        FX["closed_sock"].close()
    if "tmp" in FX:
        shutil.rmtree(FX["tmp"], ignore_errors=True)
    FX.clear()


# --------------------------------------------------------------------------------------------
# running vigie


class Run:
    def __init__(self, rc, records, stdout, stderr, elapsed):
        self.rc, self.records, self.stdout, self.stderr, self.elapsed = (
            rc, records, stdout, stderr, elapsed)


def run_vigie(args, stdin=None, timeout=RUN_TIMEOUT):
    t0 = time.monotonic()
    p = subprocess.run([VIGIE] + list(args), input=stdin,
                       stdin=None if stdin is not None else subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"), time.monotonic() - t0


def parse_jsonl(data):
    """Every line must be UTF-8 JSON object; returns the list of objects."""
    text = data.decode("utf-8")  # strict: invalid UTF-8 in the output is a failure
    records = []
    for line in text.split("\n"):
        if line == "":
            continue
        obj = json.loads(line)
        if not isinstance(obj, dict):
            raise ValueError("JSON line is not an object: %r" % line[:200])
        records.append(obj)
    if text and not text.endswith("\n"):
        raise ValueError("output does not end with a newline")
    return records


def probe(*args, timeout=RUN_TIMEOUT, stdin=None):
    rc, out, err, elapsed = run_vigie(["probe", "-q", "-f", "jsonl"] + list(args),
                                      timeout=timeout, stdin=stdin)
    if rc < 0:
        raise AssertionError("vigie killed by signal %d; stderr:\n%s" % (-rc, err))
    records = parse_jsonl(out)
    harness.check_ooni(out)  # every measurement in OONI's data format
    return Run(rc, records, out, err, elapsed)


def brief(obj):
    """A record for failure messages, long strings shortened."""
    def cut(o):
        if isinstance(o, dict):
            return {k: cut(v) for k, v in o.items()}
        if isinstance(o, list):
            return [cut(v) for v in o[:12]]
        if isinstance(o, str) and len(o) > 160:
            return o[:160] + "...(%d chars)" % len(o)
        return o
    return json.dumps(cut(obj))[:3000]


class ProbeCase(unittest.TestCase):
    maxDiff = 4000

    def one(self, *args, rc=None, timeout=RUN_TIMEOUT):
        r = probe(*args, timeout=timeout)
        self.assertEqual(len(r.records), 1, "expected one measurement; stderr:\n" + r.stderr)
        rec = r.records[0]
        if rc is not None:
            self.assertEqual(r.rc, rc, "exit status; stderr:\n%s\n%s" % (r.stderr, brief(rec)))
        return r, rec, rec["test_keys"]

    def assertCutBy(self, entry, option_s, what):
        """entry (a tls_handshakes or requests element) was ended by a deadline of option_s
        seconds, not by the 10 s default: its own duration (t - t0, vigie's clock) is at least
        the option's (not cut early) and short of the default. The default is the bound so that
        only the question "which deadline fired" is asserted, not how fast the machine is."""
        took = entry["t"] - entry["t0"]
        self.assertGreaterEqual(took, option_s * 0.9, "%s: cut after %.3f s" % (what, took))
        self.assertLess(took, DEFAULT_TIMEOUT_S, "%s: cut after %.3f s, by the default?"
                        % (what, took))

    def check(self, rec, path, expected):
        cur = rec
        for k in path.split("."):
            cur = cur[int(k)] if isinstance(cur, list) else cur[k]
        self.assertEqual(cur, expected, "field %s in\n%s" % (path, brief(rec)))

    def verdict(self, rec, verdict, cause):
        self.check(rec, "test_keys.x_verdict", verdict)
        self.check(rec, "test_keys.x_cause", cause)

    def interrupted(self, *args):
        """`vigie probe ARGS...` whose first target hangs in FX["silent"]'s TLS handshake: sent
        SIGINT once it connected there. (exit status, stdout bytes, stderr bytes)."""
        silent = FX["silent"]
        before = silent.accepted
        p = subprocess.Popen([VIGIE, "probe"] + list(args), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 10
            while silent.accepted == before and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertGreater(silent.accepted, before, "vigie connected")
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=RUN_TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        return p.returncode, out, err


def http_url(path):
    return FX["http"].url(path)


# --------------------------------------------------------------------------------------------
# TLS cases


class TestTLS(ProbeCase):
    def test_valid_https(self):
        s = FX["https"]
        url = s.url("/", "https")
        out = os.path.join(FX["tmp"], "valid.jsonl")
        rc, stdout, err, _ = run_vigie(["probe", "-q", "-f", "jsonl", "--ca-file",
                                        FX["certs"]["ca.pem"], "-o", out, url])
        self.assertEqual(rc, 0, err)
        self.assertEqual(stdout, b"", "--output FILE: nothing on stdout")
        with open(out, "rb") as f:
            recs = parse_jsonl(f.read())
        self.assertEqual(len(recs), 1)
        rec = recs[0]
        tk = rec["test_keys"]
        self.check(rec, "input", url)
        self.verdict(rec, "accessible", None)
        self.check(rec, "test_keys.accessible", True)
        self.check(rec, "test_keys.blocking", False)
        self.check(rec, "test_keys.http_experiment_failure", None)
        self.check(rec, "test_keys.x_trial", 1)
        self.assertEqual(tk["queries"], [], "an IP literal needs no DNS")
        self.assertEqual(len(tk["tcp_connect"]), 1)
        self.check(rec, "test_keys.tcp_connect.0.ip", HOST)
        self.check(rec, "test_keys.tcp_connect.0.port", s.port)
        self.check(rec, "test_keys.tcp_connect.0.status.success", True)
        self.check(rec, "test_keys.tcp_connect.0.status.failure", None)
        self.assertEqual(len(tk["tls_handshakes"]), 1)
        hs = tk["tls_handshakes"][0]
        self.check(rec, "test_keys.tls_handshakes.0.failure", None)
        self.check(rec, "test_keys.tls_handshakes.0.address", "%s:%d" % (HOST, s.port))
        self.check(rec, "test_keys.tls_handshakes.0.server_name", HOST)
        self.check(rec, "test_keys.tls_handshakes.0.negotiated_protocol", "http/1.1")
        self.assertIn(hs["tls_version"], ("TLSv1.2", "TLSv1.3"), brief(rec))
        self.assertNotEqual(hs["cipher_suite"], "")
        certs = hs["peer_certificates"]
        self.assertGreaterEqual(len(certs), 1, brief(rec))
        for c in certs:
            self.assertEqual(c["format"], "base64")
            der = base64.b64decode(c["data"], validate=True)
            self.assertEqual(der[0], 0x30, "DER SEQUENCE")
        with open(FX["certs"]["leaf.pem"]) as f:
            leaf_der = ssl.PEM_cert_to_DER_cert(f.read())
        self.assertEqual(base64.b64decode(certs[0]["data"]), leaf_der, "leaf certificate first")
        self.assertEqual(hs["x_certificates"][0]["sha256"], hashlib.sha256(leaf_der).hexdigest())
        self.assertEqual(len(tk["requests"]), 1)
        self.check(rec, "test_keys.requests.0.failure", None)
        self.check(rec, "test_keys.requests.0.request.url", url)
        self.check(rec, "test_keys.requests.0.response.code", 200)
        self.check(rec, "test_keys.requests.0.response.x_title", TITLE)
        self.check(rec, "test_keys.requests.0.response.body", PAGE.decode())
        self.check(rec, "test_keys.requests.0.response.body_is_truncated", False)
        self.assertIn('title "%s"' % TITLE, tk["x_evidence"])

    def test_self_signed_is_intercepted(self):
        s = FX["selfsigned"]
        r, rec, tk = self.one("--ca-file", FX["certs"]["ca.pem"], s.url("/", "https"), rc=1)
        self.verdict(rec, "intercepted", "tls.mitm")
        self.assertIn("self-signed certificate C=cn/O=www.icloud.com/CN=www.icloud.com",
                      tk["x_evidence"])
        self.check(rec, "test_keys.x_evidence",
                   "self-signed certificate C=cn/O=www.icloud.com/CN=www.icloud.com on %s:%d"
                   % (HOST, s.port))
        self.check(rec, "test_keys.tls_handshakes.0.failure", "ssl_unknown_authority")
        self.check(rec, "test_keys.tls_handshakes.0.x_handshake_failure", None)
        self.check(rec, "test_keys.tls_handshakes.0.x_certificates.0.self_signed", True)
        self.check(rec, "test_keys.tls_handshakes.0.x_certificates.0.subject",
                   "C=cn/O=www.icloud.com/CN=www.icloud.com")
        self.assertGreaterEqual(len(tk["tls_handshakes"][0]["peer_certificates"]), 1)
        self.assertNotEqual(tk["accessible"], True)
        self.assertEqual(s.requests, [], "no HTTP request over an invalid certificate")

    def test_tls_target_handshake_only(self):
        s = FX["https"]
        target = "tls://%s:%d" % (HOST, s.port)
        r, rec, tk = self.one("--ca-file", FX["certs"]["ca.pem"], target, rc=0)
        self.verdict(rec, "accessible", None)
        self.check(rec, "test_name", "x_tls_endpoint")
        self.assertEqual(len(tk["tls_handshakes"]), 1)
        self.check(rec, "test_keys.tls_handshakes.0.failure", None)
        self.assertEqual(tk["requests"], [], "a tls:// target fetches nothing")
        self.assertIn("valid certificate", tk["x_evidence"])
        ss = FX["selfsigned"]
        r, rec, tk = self.one("--ca-file", FX["certs"]["ca.pem"],
                              "tls://%s:%d" % (HOST, ss.port), rc=1)
        self.verdict(rec, "intercepted", "tls.mitm")
        self.assertEqual(ss.requests, [], "no HTTP request for a tls:// target")

    def test_dns_target_resolution_only(self):
        r, rec, tk = self.one("dns://localhost", rc=1)
        self.check(rec, "test_name", "x_dns_lookup")
        # localhost resolves to loopback: a bogon answer, whatever resolves it.
        self.verdict(rec, "blocked", "dns.bogon")
        self.assertEqual(tk["tcp_connect"], [], "a dns:// target connects to nothing")
        self.assertEqual(tk["requests"], [])

    def test_allow_private(self):
        """--allow-private: a name that resolves to loopback is a local test target, measured,
        not a DNS bogon; off by default."""
        url = "http://localhost:%d/" % FX["http"].port
        for target in ("dns://localhost", url):
            r, rec, tk = self.one(target, rc=1)
            self.verdict(rec, "blocked", "dns.bogon")
            r, rec, tk = self.one("--allow-private", target, rc=0)
            self.assertNotEqual(tk["x_cause"], "dns.bogon", brief(rec))
            self.assertIn(tk["x_verdict"], ("accessible", "unknown"), brief(rec))
        self.assertTrue(tk["tcp_connect"][0]["status"]["success"], brief(rec))
        self.assertIsNone(tk["requests"][0]["failure"], brief(rec))

    def test_untrusted_ca_is_intercepted(self):
        # The valid server without --ca-file: the test CA is not in the system store.
        s = FX["https"]
        before = len(s.requests)
        r, rec, tk = self.one(s.url("/", "https"), rc=1)
        self.verdict(rec, "intercepted", "tls.mitm")
        self.check(rec, "test_keys.tls_handshakes.0.failure", "ssl_unknown_authority")
        self.check(rec, "test_keys.x_evidence",
                   "certificate CN=127.0.0.1 issued by untrusted CN=Vigie Test CA on %s:%d"
                   % (HOST, s.port))
        self.assertEqual(len(s.requests), before, "no HTTP request over an invalid certificate")

    def test_wrong_host_is_intercepted(self):
        s = FX["wronghost"]
        r, rec, tk = self.one("--ca-file", FX["certs"]["ca.pem"], s.url("/", "https"), rc=1)
        self.verdict(rec, "intercepted", "tls.mitm")
        self.check(rec, "test_keys.tls_handshakes.0.failure", "ssl_invalid_hostname")

    def test_reset_after_client_hello(self):
        s = FX["reset"]
        r, rec, tk = self.one(s.url("/", "https"), rc=1)
        self.verdict(rec, "blocked", "tls.reset")
        self.check(rec, "test_keys.tcp_connect.0.status.success", True)
        self.check(rec, "test_keys.tls_handshakes.0.failure", "connection_reset")
        self.check(rec, "test_keys.tls_handshakes.0.peer_certificates", [])
        self.check(rec, "test_keys.requests.0.failure", "connection_reset")

    def test_timeout_after_client_hello(self):
        s = FX["silent"]
        r, rec, tk = self.one("--tls-timeout", "1s", s.url("/", "https"), rc=1)
        self.verdict(rec, "blocked", "tls.timeout")
        self.check(rec, "test_keys.tls_handshakes.0.failure", "generic_timeout_error")
        self.assertCutBy(tk["tls_handshakes"][0], 1.0, "--tls-timeout 1s")

    def test_eof_after_client_hello(self):
        s = FX["eof"]
        r, rec, tk = self.one(s.url("/", "https"), rc=1)
        self.verdict(rec, "blocked", "tls.eof")
        self.check(rec, "test_keys.tls_handshakes.0.failure", "eof_error")

    def test_closed_port(self):
        port = FX["closed_port"]
        r, rec, tk = self.one("https://%s:%d/" % (HOST, port), rc=0)
        self.verdict(rec, "unknown", "tcp.refused")
        self.check(rec, "test_keys.tcp_connect.0.port", port)
        self.check(rec, "test_keys.tcp_connect.0.status.success", False)
        self.check(rec, "test_keys.tcp_connect.0.status.failure", "connection_refused")
        self.check(rec, "test_keys.tls_handshakes", [])
        self.check(rec, "test_keys.requests.0.failure", "connection_refused")


# --------------------------------------------------------------------------------------------
# plain HTTP cases


class TestHTTP(ProbeCase):
    def body_ok(self, rec, expected):
        self.check(rec, "test_keys.requests.0.failure", None)
        self.check(rec, "test_keys.requests.0.response.code", 200)
        self.check(rec, "test_keys.requests.0.response.body_is_truncated", False)
        self.check(rec, "test_keys.requests.0.response.x_body_length", len(expected))
        self.check(rec, "test_keys.requests.0.response.x_body_sha256",
                   hashlib.sha256(expected).hexdigest())
        body = rec["test_keys"]["requests"][0]["response"]["body"]
        self.assertIsInstance(body, str)
        self.assertTrue(body == expected.decode(), "response body differs from the one sent "
                        "(%d vs %d chars)" % (len(body), len(expected)))

    def test_page_and_request(self):
        s = FX["http"]
        url = http_url("/title")
        r, rec, tk = self.one(url, rc=0)
        self.verdict(rec, "unknown", None)  # plain HTTP without a control
        self.check(rec, "test_keys.accessible", None)
        self.check(rec, "test_keys.requests.0.response.x_title", TITLE)
        self.check(rec, "test_keys.requests.0.request.url", url)
        self.check(rec, "test_keys.requests.0.address", "%s:%d" % (HOST, s.port))
        self.check(rec, "test_keys.tls_handshakes", [])
        self.body_ok(rec, PAGE)
        heads = [h for h in s.requests if h.startswith(b"GET /title ")]
        self.assertTrue(heads, "the server saw the request")
        lines = heads[-1].split(b"\r\n")
        self.assertEqual(lines[0], b"GET /title HTTP/1.1")
        self.assertIn(b"Host: %s:%d" % (HOST.encode(), s.port), lines)

    def test_chunked(self):
        r, rec, tk = self.one(http_url("/chunked"), rc=0)
        self.check(rec, "test_keys.requests.0.response.headers.Transfer-Encoding", "chunked")
        self.check(rec, "test_keys.requests.0.response.x_title", "Chunked")
        self.body_ok(rec, CHUNKED_BODY)

    def test_content_length(self):
        r, rec, tk = self.one(http_url("/length"), rc=0)
        self.body_ok(rec, LENGTH_BODY)

    def test_close_delimited(self):
        r, rec, tk = self.one(http_url("/close"), rc=0)
        self.body_ok(rec, CLOSE_BODY)

    def test_redirect_chain(self):
        chain = ["/chain/a", "/chain/b", "/chain/c", "/chain/final"]
        r, rec, tk = self.one(http_url(chain[0]), rc=0)
        self.verdict(rec, "unknown", None)
        reqs = tk["requests"]
        self.assertEqual(len(reqs), 4, brief(rec))
        self.assertEqual([q["request"]["url"] for q in reqs],
                         [http_url(p) for p in reversed(chain)], "final first")
        self.assertEqual([q["response"]["code"] for q in reqs], [200, 307, 302, 301])
        self.assertEqual([q["failure"] for q in reqs], [None] * 4)
        self.check(rec, "test_keys.requests.0.response.x_title", TITLE)
        self.check(rec, "test_keys.http_experiment_failure", None)

    def test_ten_redirects_are_followed(self):
        r, rec, tk = self.one(http_url("/ten/0"), rc=0)
        reqs = tk["requests"]
        self.assertEqual(len(reqs), 11, brief(rec))
        self.verdict(rec, "unknown", None)
        self.check(rec, "test_keys.requests.0.request.url", http_url("/ten/10"))
        self.check(rec, "test_keys.requests.0.response.code", 200)

    def test_too_many_redirects(self):
        r, rec, tk = self.one(http_url("/loop/0"), rc=0)
        self.verdict(rec, "unknown", "http.too_many_redirects")
        reqs = tk["requests"]
        self.assertEqual(len(reqs), 11, "10 redirects followed, the 11th refused\n" + brief(rec))
        self.check(rec, "test_keys.requests.0.failure",
                   "unknown_failure: stopped after too many redirects")
        self.check(rec, "test_keys.requests.0.request.url", http_url("/loop/10"))
        self.check(rec, "test_keys.requests.0.response.code", 302)
        self.check(rec, "test_keys.http_experiment_failure",
                   "unknown_failure: stopped after too many redirects")

    def test_bad_redirect_location(self):
        r, rec, tk = self.one(http_url("/badloc"), rc=0)
        self.verdict(rec, "unknown", "http.bad_redirect")
        self.assertEqual(len(tk["requests"]), 1)
        self.check(rec, "test_keys.requests.0.failure", "http_invalid_redirect_location_host")
        self.check(rec, "test_keys.requests.0.response.code", 302)

    def test_big_body_truncated(self):
        r, rec, tk = self.one(http_url("/big"), rc=0)
        self.check(rec, "test_keys.requests.0.failure", None)
        self.check(rec, "test_keys.requests.0.response.body_is_truncated", True)
        self.check(rec, "test_keys.requests.0.response.x_body_length", BODY_MAX)
        body = tk["requests"][0]["response"]["body"]
        self.assertEqual(len(body), BODY_MAX)
        self.assertTrue(body == BIG_BODY[:BODY_MAX].decode(), "kept body is the prefix")

    def test_body_of_exactly_body_max_is_not_truncated(self):
        # docs/output.md: body_is_truncated is true when the body was LONGER than --body-max.
        for kind, args, body in (("length", ["--body-max", "1000"], EXACT_SMALL),
                                 ("close", ["--body-max", "1000"], EXACT_SMALL),
                                 ("chunked", ["--body-max", "1000"], EXACT_SMALL),
                                 ("close-default", [], EXACT_DEFAULT)):
            with self.subTest(kind=kind):
                r, rec, tk = self.one(*(args + [http_url("/exact/" + kind)]), rc=0)
                self.body_ok(rec, body)

    def test_interim_1xx_response_is_skipped(self):
        r, rec, tk = self.one(http_url("/continue"), rc=0)
        self.check(rec, "test_keys.requests.0.response.code", 200)
        self.check(rec, "test_keys.requests.0.response.x_title", TITLE)
        self.body_ok(rec, PAGE)

    def test_body_max_option(self):
        r, rec, tk = self.one("--body-max", "1000", http_url("/chunked"), rc=0)
        self.check(rec, "test_keys.requests.0.response.body_is_truncated", True)
        self.check(rec, "test_keys.requests.0.response.x_body_length", 1000)
        self.check(rec, "test_keys.requests.0.response.body", CHUNKED_BODY[:1000].decode())

    def trickle_case(self, path):
        r, rec, tk = self.one("--http-timeout", "1s", http_url(path), rc=0)
        self.verdict(rec, "unknown", "http.timeout")
        self.check(rec, "test_keys.requests.0.failure", "generic_timeout_error")
        self.check(rec, "test_keys.http_experiment_failure", "generic_timeout_error")
        # The server never stops trickling (HOLD_MAX): only a deadline on the whole response
        # ends it, and it is the option's, not the default's.
        self.assertCutBy(tk["requests"][0], 1.0, "--http-timeout 1s")

    def test_trickle_head(self):
        self.trickle_case("/trickle-head")

    def test_trickle_body(self):
        self.trickle_case("/trickle-body")

    def test_head_without_end(self):
        r, rec, tk = self.one("--http-timeout", "5s", http_url("/hugehead"), rc=0)
        failure = tk["requests"][0]["failure"]
        self.assertIsInstance(failure, str, brief(rec))
        self.assertNotEqual(failure, "", brief(rec))
        self.check(rec, "test_keys.x_verdict", "unknown")
        self.assertTrue((tk["x_cause"] or "").startswith("http."), brief(rec))
        self.assertNotEqual(failure, "generic_timeout_error",
                            "the head limit, not the timeout, ends it: " + brief(rec))

    def test_invalid_utf8(self):
        r, rec, tk = self.one(http_url("/badutf8"), rc=0)
        resp = tk["requests"][0]["response"]
        self.assertEqual(resp["body"], {"format": "base64",
                                        "data": base64.b64encode(BAD_UTF8_BODY).decode()},
                         brief(rec))
        self.assertIsInstance(resp["x_title"], str)
        self.assertTrue(resp["x_title"].startswith("Caf") and resp["x_title"].endswith(" title"),
                        resp["x_title"])
        self.assertIsInstance(resp["headers"]["X-Bad"], str)
        self.check(rec, "test_keys.requests.0.response.x_body_length", len(BAD_UTF8_BODY))


# --------------------------------------------------------------------------------------------
# the probe's own address, scrubbed


def whole(pattern):
    """pattern as a whole address: not continued by an address character (a dot only when a
    digit follows it)."""
    return re.compile(r"(?<![0-9A-Za-z:.])" + pattern + r"(?![0-9A-Fa-f:]|\.[0-9])", re.I)


def vigie_public(ip):
    """vigie's notion with --lab: public, or a documentation range."""
    a = ipaddress.ip_address(ip)
    doc = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
    return a.is_global or any(a in ipaddress.ip_network(n) for n in doc if
                              ipaddress.ip_network(n).version == a.version)


def local_addresses():
    """The addresses of this host's interfaces (IPv4: one per interface, SIOCGIFADDR)."""
    out = []
    for _, name in socket.if_nameindex():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            r = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))
            out.append(socket.inet_ntoa(r[20:24]))
        except OSError:
            pass
        finally:
            s.close()
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                out.append(str(ipaddress.IPv6Address(int(line.split()[0], 16))))
    except OSError:
        pass
    return out


class TestScrub(ProbeCase):
    """Issue 13, finding 6: the probe learns its public address from the helper (x_client_addr)
    and stores page bodies and headers; a block page that echoes "your IP is ..." must be
    published with the address only as "[scrubbed]", in every spelling, keys included."""

    def test_echoed_address_is_scrubbed(self):
        paths = sorted(ECHO)
        r = probe("--lab", "--helper", "http://%s:%d/" % (HOST, FX["helper"].port),
                  *[http_url(p) for p in paths])
        self.assertEqual(len(r.records), len(paths), r.stderr)
        self.assertNotIn("203.0.113.77", r.stderr)
        for rec in r.records:
            path = "/" + rec["input"].split("/", 3)[3]
            line = json.dumps(rec)
            tk = rec["test_keys"]
            resp = tk["requests"][0]["response"]
            self.assertEqual(rec["probe_ip"], "127.0.0.1")
            self.assertIsNotNone(tk["control"], tk["control_failure"])
            body = resp["body"]
            if isinstance(body, dict):
                self.assertEqual(body["format"], "base64", brief(rec))
                body = base64.b64decode(body["data"]).decode("latin-1")
                raw = body.encode("latin-1")
            else:
                raw = body.encode()
            for pat in GONE[path]:
                self.assertIsNone(whole(pat).search(line), "%s in %s" % (pat, brief(rec)))
                self.assertIsNone(whole(pat).search(body), "%s in the body %r" % (pat, body))
            for kept in KEPT[path]:
                self.assertIn(kept, line, "another address, not the probe's: " + brief(rec))
            self.assertIn("[scrubbed]", body)
            # The body's length and digest are the stored body's (a digest of the original
            # would give the address away to anyone who tries them all).
            self.assertEqual(resp["x_body_length"], len(raw))
            self.assertEqual(resp["x_body_sha256"], hashlib.sha256(raw).hexdigest())
            # Headers, both lists; the control's key and header.
            self.assertIn("[scrubbed]", resp["headers"]["X-Your-IP"])
            self.assertIn(["X-Your-IP", resp["headers"]["X-Your-IP"]], resp["headers_list"])
            self.assertEqual(tk["control"]["http_request"]["headers"]["X-Seen-From"],
                             "[scrubbed]")
            self.assertEqual(list(tk["control"]["tcp_connect"]),
                             ["[[scrubbed]]:443" if path == "/echo/v6" else "[scrubbed]:443"])
            if path == "/echo/v4":
                self.assertEqual(resp["headers"]["X-Forwarded-For"], "[scrubbed], 198.51.100.1")
                self.assertEqual(resp["headers"]["Set-Cookie"], "seen=[scrubbed]:5555")
                self.assertEqual(resp["x_title"], "Blocked for [scrubbed]")
                self.assertIn("Also [scrubbed] and [[scrubbed]]:443; not 203.0.113.7,", body)

    def local_echo(self, ip):
        r = probe("--lab", http_url("/echo/local/" + ip))
        self.assertEqual(len(r.records), 1, r.stderr)
        rec = r.records[0]
        return rec, rec["test_keys"]["requests"][0]["response"]["body"]

    def test_local_public_address_is_scrubbed(self):
        """Without any helper: the public addresses of the local interfaces (with --lab,
        documentation ranges count as public)."""
        public = [a for a in local_addresses() if vigie_public(a)]
        added = None
        if not public and os.geteuid() == 0 and shutil.which("ip"):
            # A host without one (CI): a documentation address on lo for the test's length
            # (no packet leaves the host; removed even when the test fails).
            added = "203.0.113.77"
            subprocess.run(["ip", "addr", "add", added + "/32", "dev", "lo"], check=True)
            public = [added]
        if not public:
            self.skipTest("no interface of this host has a public or documentation address, "
                          "and adding one needs root")
        try:
            rec, body = self.local_echo(public[0])
        finally:
            if added is not None:
                subprocess.run(["ip", "addr", "del", added + "/32", "dev", "lo"], check=False)
        self.assertEqual(body, "your address is [scrubbed]", brief(rec))
        self.assertIsNone(whole(re.escape(public[0])).search(json.dumps(rec["test_keys"])))

    def test_local_other_address_is_kept(self):
        """Addresses that are not public (private, loopback) name no probe: kept."""
        other = [a for a in local_addresses() if not vigie_public(a) and
                 not ipaddress.ip_address(a).is_loopback] or ["::1"]
        rec, body = self.local_echo(other[0])
        self.assertEqual(body, "your address is " + other[0], brief(rec))


# --------------------------------------------------------------------------------------------
# input handling and exit status


class TestInput(ProbeCase):
    def write(self, name, data):
        path = os.path.join(FX["tmp"], name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_input_file_comments_and_blank_lines(self):
        u1, u2 = http_url("/input/1"), http_url("/input/2")
        path = self.write("list.txt", (
            "# a comment\n\n   \n%s\r\n  # indented comment\n\t\n  %s  \n# end" % (u1, u2)
        ).encode())
        r = probe("--input-file", path)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(x["input"] for x in r.records), sorted([u1, u2]))

    def test_input_from_stdin(self):
        u1, u2 = http_url("/input/stdin1"), http_url("/input/stdin2")
        r = probe("-i", "-", stdin=("# list\n%s\n\n%s\n" % (u1, u2)).encode())
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(x["input"] for x in r.records), sorted([u1, u2]))

    def test_invalid_url_argument_is_skipped(self):
        u = http_url("/input/arg")
        r = probe("ftp://example.invalid/", u)
        self.assertEqual(r.rc, 3, r.stderr)
        self.assertIn("argument 1", r.stderr)
        self.assertEqual([x["input"] for x in r.records], [u])

    def test_citizenlab_csv_with_bad_row(self):
        u1, bad, u2 = http_url("/csv/1"), http_url("/csv/bad"), http_url("/csv/2")
        path = self.write("list.csv", (
            "url,category_code,category_description,date_added,source,notes\n"
            "%s,NEWS,News Media,2014-04-15,citizenlab,\n"
            "\"%s,NEWS,News Media,2014-04-15,citizenlab,\n"
            "%s,HUMR,\"Human Rights, Issues\",2017-10-05,citizenlab,\"a \"\"quoted\"\" note\"\n"
            % (u1, bad, u2)).encode())
        r = probe("--input-file", path)
        self.assertEqual(r.rc, 3, r.stderr)
        self.assertIn("%s:3:" % path, r.stderr)
        self.assertEqual(sorted(x["input"] for x in r.records), sorted([u1, u2]), r.stderr)

    def test_csv_header_any_case_and_unknown_columns(self):
        # issue 15: "URL,category" was not a header, and rows were measured as "http://...,NEWS"
        u1, u2 = http_url("/csv/case1"), http_url("/csv/case2")
        path = self.write("case.csv", ("URL,category\n%s,NEWS\n%s,HUMR\n" % (u1, u2)).encode())
        r = probe("--input-file", path)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(x["input"] for x in r.records), sorted([u1, u2]))
        self.assertIn("%s:1: warning: CSV column(s) 'category' not read" % path, r.stderr)
        path = self.write("known.csv", ("url,category_code,category_description,date_added,"
                                        "source,notes\n%s,NEWS,News,2014-04-15,x,\n" % u1).encode())
        r = probe("--input-file", path)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertNotIn("warning", r.stderr)

    def test_csv_errors_say_line_and_column(self):
        u = http_url("/csv/ok")
        path = self.write("errors.csv", (
            "url,category_code\n"
            "\"%s,NEWS\n"           # line 2: unterminated quote, opened at column 1
            "%s,\"NE\"WS\n"          # line 3: a byte after a closing quote
            ",NEWS\n"               # line 4: empty url
            "%s,NEWS\n" % (u, u, u)).encode())
        r = probe("--input-file", path)
        self.assertEqual(r.rc, 3, r.stderr)
        self.assertIn("%s:2: column 1: unterminated quoted field" % path, r.stderr)
        self.assertIn("%s:3: column %d: a byte after a quoted field's closing" % (path, len(u) + 6),
                      r.stderr)
        self.assertIn("%s:4: column 1: empty url column" % path, r.stderr)
        self.assertNotIn("protocol violation", r.stderr)
        self.assertEqual([x["input"] for x in r.records], [u])

    def test_invalid_url_reasons(self):
        u = http_url("/input/reasons")
        cases = (("ftp://example.org/", "unsupported scheme 'ftp'"),
                 ("example.org", "no scheme"),
                 ("http://example.org:99999/", "invalid port '99999' (1 to 65535)"),
                 ("http://exa mple.org/", "space at byte 11"),
                 ("http://a..b/", "invalid host name 'a..b'"),
                 ("http://u@example.org/", "user information"),
                 ("http://" + "a" * 2100, "longer than 2047 bytes"))
        r = probe(*([c[0] for c in cases] + [u]))
        self.assertEqual(r.rc, 3, r.stderr)
        for i, (_, why) in enumerate(cases):
            self.assertIn("argument %d: invalid URL" % (i + 1), r.stderr)
            self.assertIn(why, r.stderr)
        self.assertNotIn("invalid argument", r.stderr)
        path = self.write("reasons.txt", ("%s\nhttp://example.org:0/\n" % u).encode())
        r = probe("-i", path)
        self.assertEqual(r.rc, 3, r.stderr)
        self.assertIn("%s:2: invalid URL 'http://example.org:0/': invalid port '0'" % path,
                      r.stderr)

    def test_duplicates_measured_once(self):
        u1, u2 = http_url("/input/dup1"), http_url("/input/dup2")
        path = self.write("dups.txt", ("%s\n%s\n%s\n" % (u1, u2, u1)).encode())
        r = probe("-i", path, u1)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(x["input"] for x in r.records), sorted([u1, u2]))
        self.assertIn("warning: %s listed 3 times: measured once" % u1, r.stderr)
        self.assertIn("2 duplicates not measured (--keep-duplicates measures them)", r.stderr)
        r = probe("--keep-duplicates", "-i", path, u1)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(x["input"] for x in r.records), sorted([u1, u1, u1, u2]))
        self.assertNotIn("duplicate", r.stderr)

    def test_missing_ca_file_says_why(self):
        # issue 15: "cannot load CA file /nonexistent: (null)"
        missing = os.path.join(FX["tmp"], "nonexistent.pem")
        r = probe("--ca-file", missing, http_url("/title"))
        self.assertEqual(r.rc, 2, r.stderr)
        self.assertIn("cannot load CA file %s: No such file or directory" % missing, r.stderr)
        r = probe("--ca-file", self.write("empty.pem", b"no PEM here\n"), http_url("/title"))
        self.assertEqual(r.rc, 2, r.stderr)
        self.assertNotIn("(null)", r.stderr)
        self.assertIn("cannot load CA file", r.stderr)

    def test_unreadable_input_file(self):
        r = probe("--input-file", os.path.join(FX["tmp"], "does-not-exist.txt"))
        self.assertEqual(r.rc, 2)
        self.assertEqual(r.records, [])
        self.assertIn("does-not-exist.txt", r.stderr)
        r = probe("--input-file", FX["tmp"])  # a directory
        self.assertEqual(r.rc, 2, r.stderr)
        self.assertEqual(r.records, [])

    def test_usage_errors(self):
        for args in ([], ["not a url"], ["--parallel", "0", http_url("/title")],
                     ["--tcp-timeout", "abc", http_url("/title")],
                     ["--tcp-timeout", "0", http_url("/title")],
                     ["--repeat", "0", http_url("/title")],
                     ["--format", "xml", http_url("/title")]):
            with self.subTest(args=args):
                r = probe(*args)
                self.assertEqual(r.rc, 2, r.stderr)
                self.assertEqual(r.records, [])
                self.assertNotEqual(r.stderr, "")

    def test_engine_option_bounds(self):
        # cli/engine_opts.c: every number and duration is range-checked; vigie monitor gives the
        # same messages (tests/integration/test_monitor.py).
        url = http_url("/title")
        for args, msg in (
                (["--parallel", "10001"], "vigie probe: --parallel must be a number in 1..10000"),
                (["--repeat", "1001"], "vigie probe: --repeat must be a number in 1..1000"),
                (["--body-max", "67108865"],
                 "vigie probe: --body-max must be a number in 0..67108864, not '67108865'"),
                (["--dns-timeout", "0"], "vigie probe: invalid duration for --dns-timeout: '0'"),
                (["--dns-wait", "1h1s"], "vigie probe: invalid duration for --dns-wait"),
                (["--control-timeout", "2h"],
                 "vigie probe: invalid duration for --control-timeout: '2h' (1ms to 1h"),
                (["--collector", "ftp://x/"],
                 "vigie probe: --collector must be an http:// or https:// URL")):
            with self.subTest(args=args):
                r = probe(*(args + [url]))
                self.assertEqual(r.rc, 2, r.stderr)
                self.assertEqual(r.records, [])
                self.assertIn(msg, r.stderr)
        for args in (["--parallel", "10000"], ["--body-max", "0"], ["--dns-timeout", "1h"],
                     ["--control-timeout", "1ms"]):
            with self.subTest(args=args):
                r = probe(*(args + [url]))
                self.assertEqual(r.rc, 0, r.stderr)
                self.assertEqual(len(r.records), 1)

    def test_verdicts_command(self):
        # `vigie verdicts` (maintenance, what generates the dashboard's list): the verdicts most
        # serious first, with their meanings (the order of the probe's table).
        rc, out, err, _ = run_vigie(["verdicts", "--json"])
        self.assertEqual(rc, 0, err)
        rows = json.loads(out)
        self.assertEqual([r["name"] for r in rows],
                         ["intercepted", "blocked", "down", "unknown", "accessible"])
        self.assertTrue(all(r["meaning"] for r in rows), rows)
        rc, out, err, _ = run_vigie(["verdicts", "--js"])
        self.assertEqual(rc, 0, err)
        self.assertIn(b"export const VERDICT_NAMES = Object.freeze([", out)
        rc, out, err, _ = run_vigie(["--help"])
        self.assertNotRegex(out, rb"\n +verdicts ", "a maintenance command stays out of --help")

    def test_version_and_help(self):
        rc, out, err, _ = run_vigie(["--version"])
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith(b"vigie "), out)
        rc, out, err, _ = run_vigie(["probe", "--help"])
        self.assertEqual(rc, 0, err)
        self.assertIn(b"usage: vigie probe", out)

    def test_exit_status(self):
        plain, refused = http_url("/title"), "https://%s:%d/" % (HOST, FX["closed_port"])
        r = probe(plain, refused)
        self.assertEqual(r.rc, 0, "unknown verdicts only: " + r.stderr)
        self.assertEqual(len(r.records), 2)
        blocked = FX["reset"].url("/", "https")
        r = probe(plain, blocked, refused)
        self.assertEqual(r.rc, 1, "one blocked measurement: " + r.stderr)
        self.assertEqual(sorted(x["test_keys"]["x_verdict"] for x in r.records),
                         ["blocked", "unknown", "unknown"])


    def test_stdout_write_error(self):
        # Measurements that cannot be written must not end with "no interference" (exit 0).
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        with open("/dev/full", "wb") as full:
            p = subprocess.run([VIGIE, "probe", "-q", "-f", "jsonl", http_url("/title")],
                               stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE,
                               timeout=RUN_TIMEOUT)
        self.assertEqual(p.returncode, 2, "stdout is /dev/full: %r" % p.stderr)
        self.assertIn(b"writing measurements failed", p.stderr)
        p = subprocess.run([VIGIE, "probe", "-q", "-o", "/dev/full", http_url("/title")],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
        self.assertEqual(p.returncode, 2, "--output /dev/full: %r" % p.stderr)
        self.assertIn(b"writing measurements failed", p.stderr)

    def test_sigint(self):
        # --parallel 1: the first URL hangs in the TLS handshake; SIGINT then stops the run
        # (exit 130) without starting the queued URLs.
        queued = [http_url("/input/queued1"), http_url("/input/queued2")]
        rc, out, err = self.interrupted("-q", "-f", "jsonl", "--parallel", "1", "--tls-timeout",
                                        "3s", FX["silent"].url("/", "https"), *queued)
        self.assertEqual(rc, 130, err)
        inputs = [x["input"] for x in parse_jsonl(out)]
        for u in queued:
            self.assertNotIn(u, inputs, "queued URL measured after SIGINT")


class TestScale(ProbeCase):
    def test_concurrency(self):
        urls = [http_url("/many/%d" % i) for i in range(N_MANY)]
        path = os.path.join(FX["tmp"], "many.txt")
        with open(path, "w") as f:
            f.write("\n".join(urls) + "\n")
        r = probe("--parallel", "100", "--input-file", path)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(r.records), N_MANY)
        inputs = [x["input"] for x in r.records]
        self.assertEqual(sorted(inputs), sorted(urls), "every input exactly once")
        for rec in r.records:
            n = int(rec["input"].rsplit("/", 1)[1])
            self.check(rec, "test_keys.requests.0.failure", None)
            self.check(rec, "test_keys.requests.0.response.body", many_body(n).decode())

    def test_repeat(self):
        urls = [http_url("/repeat/1"), http_url("/repeat/2")]
        r = probe("--repeat", "3", *urls)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(r.records), 6)
        for u in urls:
            trials = sorted(x["test_keys"]["x_trial"] for x in r.records if x["input"] == u)
            self.assertEqual(trials, [1, 2, 3], u)


# --------------------------------------------------------------------------------------------
# the end of a run (issue 15): summary, filters, evidence, Ctrl-C and --resume


def table(*args, stdin=None):
    """vigie probe -f table: (rc, stdout text, stderr)."""
    rc, out, err, _ = run_vigie(["probe", "-f", "table"] + list(args), stdin=stdin)
    return rc, out.decode("utf-8"), err


class TestRunEnd(ProbeCase):
    def urls(self):
        return (http_url("/end/plain"), FX["reset"].url("/", "https"),
                "https://%s:%d/" % (HOST, FX["closed_port"]))

    def test_summary_counts_and_interference(self):
        plain, blocked, refused = self.urls()
        rc, out, err = table(plain, blocked, refused)
        self.assertEqual(rc, 1, err)
        self.assertIn("\nsummary: 3 URLs, 3 measurements: 1 blocked, 2 unknown\n", out)
        tail = out.split("\ninterference:\n", 1)
        self.assertEqual(len(tail), 2, out)
        self.assertEqual(tail[1], "  %s  blocked 1/1  tls.reset\n" % blocked, out)
        rc, out, err = table(plain)
        self.assertEqual(rc, 0, err)
        self.assertIn("summary: 1 URL, 1 measurement: 1 unknown\ninterference: none\n", out)

    def test_only_interference(self):
        plain, blocked, refused = self.urls()
        rc, out, err = table("--only-interference", plain, blocked, refused)
        self.assertEqual(rc, 1, err)
        rows = out.split("\n\nsummary:")[0].split("\n")
        self.assertEqual(len(rows), 2, out)
        self.assertTrue(rows[0].startswith("URL "), out)
        self.assertTrue(rows[1].startswith(blocked + " "), out)
        self.assertIn("blocked", rows[1])
        self.assertIn("summary: 3 URLs", out, "the summary still counts every URL")
        # the measurements stay whole
        r = probe("--only-interference", plain, blocked, refused)
        self.assertEqual(len(r.records), 3)

    def test_evidence_column(self):
        plain, blocked, refused = self.urls()
        rc, out, err = table("--evidence", blocked, refused)
        self.assertEqual(rc, 1, err)
        head, row1, row2 = out.split("\n")[:3]
        self.assertTrue(head.endswith("  EVIDENCE"), head)
        r = probe(blocked)
        self.assertTrue(row1.endswith("  " + r.records[0]["test_keys"]["x_evidence"]), row1)
        self.assertIn("connection_refused", row2)
        rc, out, err = table(blocked)
        self.assertNotIn("EVIDENCE", out)

    def test_long_url_cut_with_ellipsis(self):
        long_url = http_url("/end/" + "x" * 100)
        rc, out, err = table(long_url)
        self.assertEqual(rc, 0, err)
        row = out.split("\n")[1]
        self.assertTrue(row.startswith(long_url[:59] + "\u2026  "), row)
        rc, out, err = table(http_url("/end/" + "x" * 20))
        self.assertNotIn("\u2026", out, "a URL that fits is not cut")

    def test_sigint_says_measured_and_left(self):
        silent = FX["silent"]
        out_path = os.path.join(FX["tmp"], "interrupted.jsonl")
        queued = [http_url("/end/queued1"), http_url("/end/queued2")]
        rc, _, err = self.interrupted("-q", "-o", out_path, "--parallel", "1", "--tls-timeout",
                                      "2s", silent.url("/", "https"), *queued)
        err = err.decode()
        self.assertEqual(rc, 130, err)
        self.assertIn("vigie probe: interrupted: 1 of 3 measurements done, 2 left; continue with "
                      "--resume %s\n" % out_path, err)
        # ... and --resume measures the two left, appending
        r = probe("--resume", out_path, "--parallel", "1", "--tls-timeout", "2s",
                  silent.url("/", "https"), *queued)
        self.assertEqual(r.records, [], "--resume writes to its FILE, not to stdout")
        with open(out_path, "rb") as f:
            recs = parse_jsonl(f.read())
        self.assertEqual([x["input"] for x in recs], [silent.url("/", "https")] + queued)

    def test_resume_skips_pairs_and_appends(self):
        u1, u2 = http_url("/end/resume1"), http_url("/end/resume2")
        path = os.path.join(FX["tmp"], "resume.jsonl")
        r = probe("-o", path, "--repeat", "2", u1)
        self.assertEqual(r.rc, 0, r.stderr)
        with open(path, "rb") as f:
            first = f.read()
        with open(path, "ab") as f:  # killed while writing a line: removed, measured again
            f.write(b'{"input":"%s","test_keys":{"x_tri' % u2.encode())
        rc, out, err = table("--resume", path, "--repeat", "2", u1, u2)
        self.assertEqual(rc, 0, err)
        self.assertIn("%s:3: last line cut short" % path, err)
        self.assertIn("resuming %s: 2 of 4 measurements done, 2 left" % path, err)
        self.assertIn("summary: 2 URLs, 4 measurements: 2 unknown", out, "FILE's count too")
        with open(path, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(first), "appended, not rewritten")
        recs = parse_jsonl(data)
        harness.check_ooni(data)
        self.assertEqual(sorted((x["input"], x["test_keys"]["x_trial"]) for x in recs),
                         [(u1, 1), (u1, 2), (u2, 1), (u2, 2)])
        # nothing left: nothing measured
        rc, out, err = table("-q", "--resume", path, "--repeat", "2", u1, u2)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("warning", err)
        # another list: what FILE has of other URLs (or trials) is said, and kept
        rc, out, err = table("-q", "--resume", path, "--repeat", "2", u1)
        self.assertEqual(rc, 0, err)
        self.assertIn("warning: 2 measurements of %s are of no URL and trial of this run" % path,
                      err)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), data)
        for args, msg in ((["--resume", os.path.join(FX["tmp"], "nope.jsonl")],
                           "cannot resume from"),
                          (["--resume", path, "-o", path + ".other"], "--output must be FILE")):
            with self.subTest(args=args):
                r = probe(*(args + [u1]))
                self.assertEqual(r.rc, 2, r.stderr)
                self.assertIn(msg, r.stderr)


# --------------------------------------------------------------------------------------------
# a lost control (issue 14): loud, and a malformed --helper refused


WEB_THRESPONSE = {"tcp_connect": {}, "tls_handshake": {}, "quic_handshake": {},
                  "http_request": {"body_length": -1, "discovered_h3_endpoint": "",
                                   "failure": "unknown_error", "title": "", "headers": {},
                                   "status_code": -1},
                  "http3_request": None, "dns": {"failure": None, "addrs": []}, "ip_info": {}}


def garbage_helper(server, conn):
    if read_post(conn) is not None:
        conn.sendall(b"\x00\x01\x02 this is not HTTP at all\r\n\r\n")


def status500_helper(server, conn):
    if read_post(conn) is not None:
        send_response(conn, 500, "Internal Server Error",
                      [("Content-Type", "text/plain"), ("Content-Length", "5")], b"oops\n")


def nonjson_helper(server, conn):
    if read_post(conn) is not None:
        body = b"<html><title>not a helper</title></html>"
        send_response(conn, 200, "OK", [("Content-Type", "text/html"),
                                         ("Content-Length", str(len(body)))], body)


def web_only_helper(server, conn):
    """A valid THResponse without x_target: oohelperd (or an older vigie) answering the
    http_request of a tls:// target's THRequest."""
    if read_post(conn) is not None:
        body = json.dumps(WEB_THRESPONSE).encode()
        send_response(conn, 200, "OK", [("Content-Type", "application/json"),
                                         ("Content-Length", str(len(body)))], body)


BUSY_SEEN = {}
BUSY_FIRST = {}
BUSY_LOCK = threading.Lock()


def busy_helper(server, conn):
    """A helper with no slot free for a client's first two THRequests of each URL (503, as
    `vigie helper` answers past --max-inflight or a client's share), then a valid THResponse; the
    URL /title?busy-forever gets 503 every time, /title?busy-long for 3.5 s after its first
    request (a slot held by a slow measurement), /title?closing a 503 saying it shuts down."""
    body = read_post(conn)
    if body is None:
        return
    url = json.loads(body)["http_request"]
    with BUSY_LOCK:
        BUSY_SEEN[url] = BUSY_SEEN.get(url, 0) + 1
        n = BUSY_SEEN[url]
        first = BUSY_FIRST.setdefault(url, time.monotonic())
    if "closing" in url:
        err = b'{"error":"the helper is shutting down"}'
        send_response(conn, 503, "Service Unavailable",
                      [("Content-Type", "application/json"), ("Content-Length", str(len(err)))],
                      err)
        return
    if n <= 2 or "busy-forever" in url or ("busy-long" in url and
                                             time.monotonic() - first < 3.5):
        err = b'{"error":"too many measurements in flight from your network, retry later"}'
        send_response(conn, 503, "Service Unavailable",
                      [("Content-Type", "application/json"), ("Content-Length", str(len(err)))],
                      err)
        return
    out = json.dumps(WEB_THRESPONSE).encode()
    send_response(conn, 200, "OK", [("Content-Type", "application/json"),
                                     ("Content-Length", str(len(out)))], out)


class TestHelperBusy(ProbeCase):
    """A helper that answers 503 (busy) is asked again after a short pause within the control
    timeout: a default `vigie helper` gives one client 38 of its 50 slots, and a probe at its
    default --parallel 64 had its controls refused and lost."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(busy_helper, "busy")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_busy_then_answers(self):
        urls = [http_url("/title?busy=%d" % i) for i in range(5)]
        r = probe("--helper", "http://%s:%d/" % (HOST, self.server.port), "--parallel", "5",
                  "--control-timeout", "10s", *urls)
        self.assertEqual(len(r.records), 5, r.stderr)
        self.assertNotEqual(r.rc, 5, r.stderr)
        self.assertNotIn("control lost", r.stderr)
        for rec in r.records:
            self.assertIsNone(rec["test_keys"]["control_failure"], brief(rec))
            self.assertIsNotNone(rec["test_keys"]["control"], brief(rec))
            self.assertEqual(BUSY_SEEN[rec["input"]], 3, "two 503s, then the answer")

    def test_busy_for_seconds_then_answers(self):
        # a slot held longer than the first pauses add up to: asked until the time runs out
        url = http_url("/title?busy-long")
        r = probe("--helper", "http://%s:%d/" % (HOST, self.server.port),
                  "--control-timeout", "10s", url)
        self.assertEqual(len(r.records), 1, r.stderr)
        self.assertNotEqual(r.rc, 5, r.stderr)
        self.assertIsNotNone(r.records[0]["test_keys"]["control"], brief(r.records[0]))
        self.assertGreater(BUSY_SEEN[url], 5)

    def test_busy_forever_gives_up(self):
        url = http_url("/title?busy-forever")
        r = probe("--helper", "http://%s:%d/" % (HOST, self.server.port),
                  "--control-timeout", "3s", url)
        self.assertEqual(r.rc, 5, r.stderr)
        self.assertIn("HTTP status 503 (busy; asked %d times" % BUSY_SEEN[url], r.stderr)
        self.assertGreaterEqual(BUSY_SEEN[url], 3)

    def test_shutting_down_not_asked_again(self):
        url = http_url("/title?closing")
        r = probe("--helper", "http://%s:%d/" % (HOST, self.server.port),
                  "--control-timeout", "10s", url)
        self.assertEqual(r.rc, 5, r.stderr)
        self.assertEqual(BUSY_SEEN[url], 1)


class TestControlLost(ProbeCase):
    """A lost control is loud: one warning per helper and reason (not one per URL), a summary
    line, exit status 5; a malformed --helper is refused; a working helper prints nothing."""

    WARN = "vigie probe: warning: control lost ("

    @classmethod
    def setUpClass(cls):
        cls.servers = {name: Server(handler, name) for name, handler in (
            ("garbage", garbage_helper), ("500", status500_helper),
            ("nonjson", nonjson_helper), ("webonly", web_only_helper))}

    @classmethod
    def tearDownClass(cls):
        for srv in cls.servers.values():
            srv.close()

    def helper(self, name):
        return "http://%s:%d/" % (HOST, self.servers[name].port)

    def lost(self, helpers, n, *extra):
        urls = [http_url("/title?lost=%d" % i) for i in range(n)]
        args = ["--control-timeout", "10s", "--parallel", "4"]
        for h in helpers:
            args += ["--helper", h]
        r = probe(*(args + list(extra) + urls))
        self.assertEqual(len(r.records), n, r.stderr)
        for rec in r.records:
            tk = rec["test_keys"]
            self.assertIsNotNone(tk["control_failure"], brief(rec))
            self.assertIsNone(tk["control"])
            # the probe-only verdict of a cleartext page: unknown (the control would compare)
            self.verdict(rec, "unknown", None)
            self.assertIn("the control could not be obtained", tk["x_evidence"])
        return r

    def warnings(self, r):
        return [line for line in r.stderr.splitlines() if line.startswith(self.WARN)]

    def test_closed_port(self):
        closed = "http://%s:%d/" % (HOST, FX["closed_port"])
        r = self.lost([closed], 12)
        self.assertEqual(r.rc, 5, r.stderr)
        self.assertEqual(self.warnings(r),
                         [self.WARN + closed + ": connection_refused): measurements without a "
                          "control get the probe-only verdicts, with control_failure set"],
                         r.stderr)
        self.assertIn("vigie probe: control lost for 12 of 12 measurements: %s: "
                      "connection_refused\n" % closed, r.stderr)

    def test_garbage_500_and_not_json(self):
        for name, reason in (("garbage", None), ("500", "HTTP status 500"),
                             ("nonjson", "invalid THResponse")):
            r = self.lost([self.helper(name)], 5)
            self.assertEqual(r.rc, 5, (name, r.stderr))
            warned = self.warnings(r)
            self.assertEqual(len(warned), 1, (name, r.stderr))
            self.assertIn(self.helper(name), warned[0])
            if reason is not None:
                self.assertIn(reason, warned[0])
            self.assertIn("control lost for 5 of 5 measurements: " + self.helper(name),
                          r.stderr)

    def test_two_helpers_two_reasons(self):
        closed = "http://%s:%d/" % (HOST, FX["closed_port"])
        r = self.lost([closed, self.helper("500")], 6)
        self.assertEqual(r.rc, 5, r.stderr)
        warned = self.warnings(r)
        self.assertEqual(len(warned), 2, r.stderr)
        self.assertIn(closed + ": connection_refused", warned[0])
        self.assertIn(self.helper("500") + ": HTTP status 500", warned[1])
        self.assertIn("control lost for 6 of 6 measurements: %s: connection_refused (and other "
                      "reasons, warned above)" % closed, r.stderr)

    def test_exit_status_order(self):
        # 5 wins over 3 (an invalid input skipped) ...
        r = probe("--helper", self.helper("500"), "not a url", http_url("/title?order"))
        self.assertEqual(r.rc, 5, r.stderr)
        self.assertIn("(skipped)", r.stderr)
        # ... and 1 (interference, decided without a control) wins over 5: a tls:// target
        # whose helper does not know x_target gets the probe-only rules, loudly.
        target = "tls://%s:%d" % (HOST, FX["selfsigned"].port)
        r = probe("--ca-file", FX["certs"]["ca.pem"], "--helper", self.helper("webonly"), target)
        self.assertEqual(r.rc, 1, r.stderr)
        self.verdict(r.records[0], "intercepted", "tls.mitm")
        self.assertIn("does not measure tls:// and dns:// targets", self.warnings(r)[0])
        self.assertIn("control lost for 1 of 1 measurements", r.stderr)

    def test_bad_helper_urls(self):
        for bad in ("notaurl", "ftp://x", "http://", "https:///path", "127.0.0.1:8080",
                    "http://user@th.example/"):
            for cmd in (["probe"], ["monitor"]):
                rc, out, err, _ = run_vigie(cmd + ["--helper", bad, http_url("/title")])
                self.assertEqual(rc, 2, (cmd, bad, err))
                self.assertEqual(out, b"")
                self.assertIn("--helper must be an http:// or https:// URL with a host", err)
                self.assertIn("'%s'" % bad, err)

    def test_working_helper_is_quiet(self):
        helper = harness.Server(VIGIE, "helper", "--allow-private")
        try:
            r = probe("--helper", helper.url, http_url("/title?quiet"))
            self.assertEqual(r.rc, 0, r.stderr)
            self.assertNotIn("warning", r.stderr)
            self.assertNotIn("control lost", r.stderr)
            self.assertIsNone(r.records[0]["test_keys"]["control_failure"])
            self.assertIsNotNone(r.records[0]["test_keys"]["control"])
            # failover: a dead first helper, a working second one: a control, no warning
            closed = "http://%s:%d/" % (HOST, FX["closed_port"])
            r = probe("--helper", closed, "--helper", helper.url, http_url("/title?failover"))
            self.assertEqual(r.rc, 0, r.stderr)
            self.assertNotIn("control lost", r.stderr)
            # the mail server: its own self-signed certificate, which the control gets
            # too, is not an interception
            target = "tls://%s:%d" % (HOST, FX["selfsigned"].port)
            r = probe("--ca-file", FX["certs"]["ca.pem"], "--helper", helper.url, target)
            self.assertEqual(r.rc, 0, r.stderr)
            rec = r.records[0]
            self.verdict(rec, "accessible", None)
            self.assertIn("the control got the same one", rec["test_keys"]["x_evidence"])
            self.check(rec, "test_keys.control.x_target", target + "/")
            self.check(rec, "test_keys.x_endpoints.0.verdict", "accessible")
            self.check(rec, "test_keys.x_affected_addresses", [])
        finally:
            helper.stop()


# --------------------------------------------------------------------------------------------
# a batch run on several event loops (issue 18): --threads


def outcomes(records):
    """(input, trial, verdict, cause) of every record, sorted: what must not depend on the
    number of loops."""
    return sorted((x["input"], x["test_keys"]["x_trial"], x["test_keys"]["x_verdict"],
                   x["test_keys"]["x_cause"]) for x in records)


class TestThreads(ProbeCase):
    def mixed(self, tag):
        """URLs of every kind of outcome: pages, a TLS reset, a refused port, a certificate from
        an unknown CA."""
        return ([http_url("/many/%d" % i) for i in range(40)] +
                [FX["reset"].url("/%s" % tag, "https"),
                 "https://%s:%d/%s" % (HOST, FX["closed_port"], tag),
                 "tls://%s:%d" % (HOST, FX["selfsigned"].port), http_url("/title?" + tag)])

    def test_same_measurements_on_one_and_several_loops(self):
        urls = self.mixed("threads")
        runs = {}
        for threads in ("1", "2", "3"):
            r = probe("--threads", threads, "--parallel", "8", "--repeat", "2", *urls)
            self.assertEqual(r.rc, 1, r.stderr)  # the reset is interference
            pairs = [(x["input"], x["test_keys"]["x_trial"]) for x in r.records]
            self.assertEqual(len(pairs), len(set(pairs)), "a result twice (--threads %s)" % threads)
            self.assertEqual(sorted(pairs), sorted((u, t) for u in urls for t in (1, 2)),
                             "every (URL, trial) once (--threads %s)" % threads)
            for rec in r.records:
                if "/many/" in rec["input"]:
                    n = int(rec["input"].rsplit("/", 1)[1])
                    self.check(rec, "test_keys.requests.0.response.body", many_body(n).decode())
            runs[threads] = outcomes(r.records)
        self.assertEqual(runs["1"], runs["2"])
        self.assertEqual(runs["1"], runs["3"])

    def test_threads_zero_and_bounds(self):
        urls = [http_url("/many/%d" % i) for i in range(20)]
        r = probe("--threads", "0", "--parallel", "4", *urls)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(x["input"] for x in r.records), sorted(urls))
        # more loops than URLs or than --parallel: capped, not refused
        r = probe("--threads", "64", "--parallel", "2", *urls[:3])
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(x["input"] for x in r.records), sorted(urls[:3]))
        rc, out, err, _ = run_vigie(["probe", "--threads", "65", urls[0]])
        self.assertEqual(rc, 2, err)
        self.assertIn("--threads", err)
        self.assertEqual(out, b"")

    def test_table_on_several_loops(self):
        plain = http_url("/end/plain?threads")
        blocked = FX["reset"].url("/threads", "https")
        refused = "https://%s:%d/threads" % (HOST, FX["closed_port"])
        rc, out, err = table("--threads", "2", plain, blocked, refused)
        self.assertEqual(rc, 1, err)
        self.assertIn("\nsummary: 3 URLs, 3 measurements: 1 blocked, 2 unknown\n", out)
        self.assertTrue(out.endswith("\ninterference:\n  %s  blocked 1/1  tls.reset\n" % blocked),
                        out)

    def test_sigint_and_resume_on_several_loops(self):
        # Each loop starts on a URL that hangs in the TLS handshake (--parallel 2: one per loop);
        # SIGINT then starts nothing more on either, and --resume measures what is left once.
        silent = FX["silent"]
        out_path = os.path.join(FX["tmp"], "interrupted-threads.jsonl")
        hang = [silent.url("/a", "https"), silent.url("/b", "https")]
        queued = [http_url("/end/tq%d" % i) for i in range(4)]
        urls = hang + queued
        rc, _, err = self.interrupted("-q", "-o", out_path, "--threads", "2", "--parallel", "2",
                                      "--tls-timeout", "2s", *urls)
        err = err.decode()
        self.assertEqual(rc, 130, err)
        with open(out_path, "rb") as f:
            recs = parse_jsonl(f.read())
        done = [x["input"] for x in recs]
        for u in queued:
            self.assertNotIn(u, done, "queued URL measured after SIGINT")
        self.assertIn("vigie probe: interrupted: %d of 6 measurements done, %d left; continue "
                      "with --resume %s\n" % (len(done), 6 - len(done), out_path), err)
        r = probe("--resume", out_path, "--threads", "2", "--parallel", "2", "--tls-timeout",
                  "2s", *urls)
        self.assertEqual(r.records, [], "--resume writes to its FILE, not to stdout")
        with open(out_path, "rb") as f:
            recs = parse_jsonl(f.read())
        self.assertEqual(sorted(x["input"] for x in recs), sorted(urls), "each URL once")

    def test_helper_control_per_url_on_several_loops(self):
        # The control of a URL is asked once and shared by its trials, whichever loop runs it.
        helper = harness.Server(VIGIE, "helper", "--allow-private")
        try:
            urls = [http_url("/many/%d" % i) for i in range(6)]
            r = probe("--helper", helper.url, "--threads", "2", "--repeat", "2", *urls)
            self.assertEqual(r.rc, 0, r.stderr)
            self.assertEqual(len(r.records), 12)
            for u in urls:
                ctl = [json.dumps(x["test_keys"]["control"], sort_keys=True)
                       for x in r.records if x["input"] == u]
                self.assertEqual(len(ctl), 2, u)
                self.assertEqual(ctl[0], ctl[1], "the trials of %s share one control" % u)
                self.assertNotEqual(ctl[0], "null", u)
        finally:
            helper.stop()


# --------------------------------------------------------------------------------------------


if __name__ == "__main__":
    sys.exit(harness.main(globals()))
