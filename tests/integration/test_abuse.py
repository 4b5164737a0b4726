#!/usr/bin/env python3
"""
test_abuse.py - vigie's servers under abuse: `vigie helper` (and `vigie serve` when the binary
has it) facing 1,000 idle or trickling connections (slowloris), malformed and oversized requests.

Python 3 standard library only; everything on 127.0.0.1. What is checked:
  * normal requests keep succeeding (each within REQ_TIMEOUT; nothing asserts latency) while
    1,000 connections from one client sit idle or send one header byte every TRICKLE_S seconds;
  * every malformed or oversized request gets a 4xx (505 for an unknown HTTP version) or an
    orderly close, the server never crashes and keeps serving;
  * the server's memory stays bounded: VmRSS from /proc before and after each test.
Known gaps, reported rather than fixed here (server/ and cli/ have their owners), are written
as expected failures, so that the fix shows up as an unexpected success to flip:
  * one client holding ~1,020 trickling connections (libmicrohttpd's default connection limit,
    the helper sets none) starves everyone else: there is no per-address limit, and the
    connection timeout (60 s) counts inactivity only, so a trickle is never timed out;
  * `vigie serve` with its default --max-connections (256) is starved by 300 such connections;
  * neither server has an option for its connection timeout (fixed 60 s), nor for a deadline
    on receiving a request head; the helper has none for its connection limit either.

    python3 tests/integration/test_abuse.py --vigie build/vigie [unittest options]
"""
import http.client
import http.server
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

VIGIE = None                # path of the binary under test (set in main)
HOST = "127.0.0.1"
REQ_TIMEOUT = 30            # one normal request, client side
START_TIMEOUT = 20          # the server prints its address within this
SLOW_CONNS = 1000           # connections held by the abusive client
TRICKLE_S = 2.0             # seconds between two bytes of a trickling connection
ABUSE_S = 10.0              # how long normal requests are made during the abuse
STARVE_TIMEOUT = 5          # a normal request of the expected-failure tests waits this long


def sanitized():
    """The binary is an ASan build (its memory use is several times larger)."""
    with open(VIGIE, "rb") as f:
        return b"__asan_init" in f.read()


def rss_slack_kb():
    """How much a server's RSS may grow over one test: 128 KiB per abusive connection."""
    return SLOW_CONNS * 128 * (4 if sanitized() else 1)


def need_fds(n):
    """Raise our open-file limit for n sockets, or skip the test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 256
    if soft >= want:
        return
    if hard != resource.RLIM_INFINITY and hard < want:
        raise unittest.SkipTest("RLIMIT_NOFILE hard limit %d is below %d" % (hard, want))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Vigie:
    """`vigie helper|serve --listen 127.0.0.1:0 ...`; its log (stderr) kept line by line."""

    def __init__(self, *args):
        self.args = [VIGIE] + list(args)
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines = []
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self.port = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._listening.wait(START_TIMEOUT):
            self.stop()
            raise RuntimeError("%s did not start: %r" % (" ".join(self.args), self.log()))

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self.lines.append(line)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
                self._listening.set()

    def log(self):
        with self._lock:
            return list(self.lines)

    def alive(self):
        return self.proc.poll() is None

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS for pid %d" % self.proc.pid)

    def request(self, method, path, body=None, headers=None, timeout=REQ_TIMEOUT):
        """(status, body bytes) of one request on a fresh connection."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._reader.join(5)
        self.proc.stderr.close()
        return rc


class Slowloris:
    """n_idle connections that send nothing and n_trickle that send one byte of a request head
    that never ends every TRICKLE_S seconds, from one client address."""

    HEAD = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "

    def __init__(self, port, n_idle, n_trickle):
        need_fds(n_idle + n_trickle)
        self.idle = [self._connect(port) for _ in range(n_idle)]
        self.trickle = [self._connect(port) for _ in range(n_trickle)]
        self.sent = 0
        self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _connect(port):
        s = socket.create_connection((HOST, port), timeout=REQ_TIMEOUT)
        s.setblocking(False)
        return s

    def _run(self):
        i = 0
        while not self._stop.is_set():
            byte = self.HEAD[i:i + 1] if i < len(self.HEAD) else b"a"
            for s in list(self.trickle):
                try:
                    s.send(byte)
                    self.sent += 1
                except BlockingIOError:
                    pass
                except OSError:
                    self.trickle.remove(s)
                    self.dropped += 1
            i += 1
            self._stop.wait(TRICKLE_S)

    def close(self):
        self._stop.set()
        self._thread.join(10)
        for s in self.idle + self.trickle:
            s.close()


def raw_exchange(port, data, wait=3.0):
    """Send data; the status code answered, "closed" (closed without an answer) or "held" (no
    answer within wait seconds: the connection is then closed by us)."""
    s = socket.create_connection((HOST, port), timeout=REQ_TIMEOUT)
    try:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may close before reading everything: an answer may be waiting
        s.settimeout(wait)
        resp = b""
        try:
            while b"\r\n" not in resp and len(resp) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                resp += chunk
        except socket.timeout:
            return "held" if not resp else resp
        except ConnectionResetError:
            if not resp:
                return "closed"
        if not resp:
            return "closed"
        m = re.match(rb"HTTP/1\.[01] (\d{3}) ", resp)
        return int(m.group(1)) if m else resp[:60]
    finally:
        s.close()


def malformed_cases(post_path):
    """(name, raw request, the outcomes accepted) for the server route post_path."""
    bad = {400, 404, 405, 411, 413, 414, 415, 431, "closed"}

    def post(extra, body=b""):
        return (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                % post_path.encode()) + extra + b"\r\n" + body

    return [
        ("request line without a version", b"GET /\r\n\r\n", bad),
        ("request line of one word", b"GET\r\n\r\n", bad),
        ("unknown HTTP version", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", bad | {505}),
        ("unknown method", b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", bad | {501}),
        ("field without a colon", b"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", bad),
        ("binary method", b"\xff\xfe\xfd garbage\r\n\r\n", bad),
        ("64 KiB URI", b"GET /" + b"a" * 65536 + b" HTTP/1.1\r\nHost: x\r\n\r\n", bad),
        ("64 KiB header field", b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"b" * 65536
         + b"\r\n\r\n", bad),
        ("10,000 header fields", b"GET / HTTP/1.1\r\nHost: x\r\n"
         + b"".join(b"X-H%d: v\r\n" % i for i in range(10000)) + b"\r\n", bad),
        ("negative Content-Length", post(b"Content-Length: -1\r\n"), bad),
        ("Content-Length not a number", post(b"Content-Length: 12abc\r\n"), bad),
        ("Content-Length of 23 digits", post(b"Content-Length: " + b"9" * 23 + b"\r\n"), bad),
        ("Content-Length and chunked", post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                                            b"0\r\n\r\n"), bad),
        ("chunk size of 21 hex digits", post(b"Transfer-Encoding: chunked\r\n",
                                             b"f" * 21 + b"\r\nxx\r\n"), bad),
        ("chunk size not hex", post(b"Transfer-Encoding: chunked\r\n", b"zz\r\nxx\r\n"), bad),
        ("64 MiB declared", post(b"Content-Length: %d\r\n" % (64 << 20)), bad),
        ("JSON nested 500,000 deep", post(b"Content-Length: 500000\r\n", b"[" * 500000), bad),
        ("JSON that is not an object", post(b"Content-Length: 4\r\n", b"null"), bad),
    ]


# Requests libmicrohttpd (0.9.75) neither answers nor closes: it waits for more bytes until its
# inactivity timeout (60 s). Reported; checked only for not crashing and not blocking others.
HELD_CASES = [
    ("NUL-led garbage", b"\x00\xff\r\n\r\n"),
    ("a TLS ClientHello on plain HTTP", b"\x16\x03\x01\x00\x05hello"),
    ("empty lines only", b"\r\n\r\n\r\n"),
]


class AbuseMixin:
    """Tests shared by both servers; subclasses set up cls.server, cls.normal() and POST_PATH."""

    POST_PATH = "/"

    def check_normal_requests_during(self, slow):
        """Normal requests for ABUSE_S seconds while slow holds its connections: all succeed."""
        deadline = time.monotonic() + ABUSE_S
        done = 0
        while time.monotonic() < deadline:
            self.normal()
            done += 1
            time.sleep(0.5)
        self.assertGreater(done, 0)
        self.assertTrue(self.server.alive())
        # The abusive connections were held, not shed to make room.
        self.assertEqual(slow.dropped, 0)

    def test_1000_idle_and_trickling_connections(self):
        rss0 = self.server.rss_kb()
        slow = Slowloris(self.server.port, SLOW_CONNS // 2, SLOW_CONNS // 2)
        try:
            self.check_normal_requests_during(slow)
            self.assertLess(self.server.rss_kb() - rss0, rss_slack_kb())
        finally:
            slow.close()
        self.normal()
        self.assertLess(self.server.rss_kb() - rss0, rss_slack_kb())

    def test_malformed_and_oversized_requests(self):
        rss0 = self.server.rss_kb()
        for _round in range(3):
            for name, data, accepted in malformed_cases(self.POST_PATH):
                got = raw_exchange(self.server.port, data)
                self.assertIn(got, accepted, name)
                self.assertTrue(self.server.alive(), name)
        held = []
        for name, data in HELD_CASES:
            s = socket.create_connection((HOST, self.server.port), timeout=REQ_TIMEOUT)
            s.sendall(data)
            held.append(s)
        try:
            # Whatever those connections wait for, the others are served.
            self.normal()
        finally:
            for s in held:
                s.close()
        self.assertTrue(self.server.alive())
        self.normal()
        self.assertLess(self.server.rss_kb() - rss0, rss_slack_kb())

    def check_options(self, command, wanted):
        """Skip (with the reason, for the record) unless --help lists every wanted option."""
        out = subprocess.run([VIGIE, command, "--help"], capture_output=True, text=True,
                             timeout=30).stdout
        missing = [o for o in wanted if not re.search(o, out)]
        if missing:
            self.skipTest("vigie %s has no option for: %s (reported)"
                          % (command, ", ".join(missing)))


def target_handler_factory():
    page = b"<html><head><title>abuse target</title></head><body>ok</body></html>"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass
    return Handler


class TestHelperAbuse(AbuseMixin, unittest.TestCase):
    """`vigie helper` (plain HTTP, measuring a target on 127.0.0.1)."""

    @classmethod
    def setUpClass(cls):
        cls.target = http.server.ThreadingHTTPServer((HOST, 0), target_handler_factory())
        threading.Thread(target=cls.target.serve_forever, daemon=True).start()
        cls.server = Vigie("helper", "--listen", "%s:0" % HOST, "--allow-private")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.target.shutdown()
        cls.target.server_close()

    def normal(self):
        status, body = self.server.request("GET", "/")
        self.assertEqual(status, 200)
        port = self.target.server_address[1]
        th = {"http_request": "http://%s:%d/" % (HOST, port), "http_request_headers": {},
              "tcp_connect": ["%s:%d" % (HOST, port)], "x_quic_enabled": False}
        status, body = self.server.request("POST", "/", json.dumps(th).encode(),
                                           {"Content-Type": "application/json"})
        self.assertEqual(status, 200, body[:200])
        self.assertEqual(json.loads(body)["http_request"]["status_code"], 200)

    @unittest.expectedFailure
    def test_one_client_cannot_starve_the_helper(self):
        # 1,100 trickling connections from one address: libmicrohttpd's default limit (about
        # 1,020) is reached, and no per-address limit or head deadline frees a slot.
        try:
            slow = Slowloris(self.server.port, 0, 1100)
        except OSError as e:
            self.skipTest("could not open the connections: %s" % e)
        try:
            status, _ = self.server.request("GET", "/", timeout=STARVE_TIMEOUT)
            self.assertEqual(status, 200)
        finally:
            slow.close()
            self.assertTrue(self.server.alive())

    def test_connection_limits_and_timeouts_are_options(self):
        self.check_options("helper", [r"--max-connections", r"--\S*(idle|connection)\S*-timeout",
                                      r"--\S*(header|request)\S*-timeout"])


class TestServeAbuse(AbuseMixin, unittest.TestCase):
    """`vigie serve` on a temporary SQLite file, with room for the abusive connections."""

    POST_PATH = "/report"

    @classmethod
    def setUpClass(cls):
        r = subprocess.run([VIGIE, "serve", "--help"], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise unittest.SkipTest("this vigie has no serve command")
        cls.tmp = tempfile.mkdtemp(prefix="vigie-abuse-")
        cls.server = Vigie("serve", "--listen", "%s:0" % HOST, "--db",
                           os.path.join(cls.tmp, "c.sqlite"), "--max-connections",
                           str(SLOW_CONNS + 200))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        subprocess.run(["rm", "-rf", cls.tmp])

    def normal(self):
        status, _ = self.server.request("GET", "/healthz")
        self.assertEqual(status, 200)
        status, body = self.server.request("GET", "/api/v1/measurements?limit=1")
        self.assertEqual(status, 200, body[:200])
        self.assertIn("results", json.loads(body))

    @unittest.expectedFailure
    def test_default_limit_cannot_be_starved(self):
        # The default --max-connections is 256: 300 trickling connections from one address
        # take every slot, and nothing frees one (inactivity timeout only).
        server = Vigie("serve", "--listen", "%s:0" % HOST, "--db",
                       os.path.join(self.tmp, "d.sqlite"))
        slow = None
        try:
            try:
                slow = Slowloris(server.port, 0, 300)
            except OSError as e:
                self.skipTest("could not open the connections: %s" % e)
            status, _ = server.request("GET", "/healthz", timeout=STARVE_TIMEOUT)
            self.assertEqual(status, 200)
        finally:
            if slow is not None:
                slow.close()
            self.assertTrue(server.alive())
            server.stop()

    def test_connection_limits_and_timeouts_are_options(self):
        self.check_options("serve", [r"--max-connections", r"--\S*(idle|connection)\S*-timeout",
                                     r"--\S*(header|request)\S*-timeout"])


def main():
    global VIGIE
    argv = [sys.argv[0]]
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        if args[i] == "--vigie" and i + 1 < len(args):
            VIGIE = args[i + 1]
            i += 2
        elif args[i].startswith("--vigie="):
            VIGIE = args[i].split("=", 1)[1]
            i += 1
        else:
            argv.append(args[i])
            i += 1
    VIGIE = VIGIE or os.environ.get("VIGIE")
    if not VIGIE:
        sys.stderr.write("usage: %s --vigie PATH (or VIGIE=PATH) [unittest options]\n"
                         % sys.argv[0])
        return 2
    VIGIE = os.path.abspath(VIGIE)
    if not os.access(VIGIE, os.X_OK):
        sys.stderr.write("%s: not an executable\n" % VIGIE)
        return 2
    prog = unittest.main(argv=argv, exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
