#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_monitor.py - end-to-end tests of `vigie monitor` against servers on 127.0.0.1.

Python 3 standard library only. A "flip" HTTPS server changes behaviour on request: the genuine
page over a certificate from the test CA (accessible), a self-signed certificate (intercepted,
tls.mitm), a reset right after the ClientHello (blocked, tls.reset), or silence after it. The
monitor runs with periods of a few seconds; every wait is bounded and nothing asserts on how long
something took.

    python3 tests/integration/test_monitor.py --vigie build/vigie [unittest options]
"""
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
import urllib.parse
import harness

VIGIE = None
MKMMDB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "mkmmdb.py")
HOST = "127.0.0.1"
WAIT = 60.0          # longest bounded wait for one expected event
EXIT_WAIT = 40.0     # for the monitor to exit after SIGTERM (a TLS timeout is 10 s)
PAGE = (b"<!DOCTYPE html><html><head><title>Monitored</title></head>"
        b"<body>the genuine page</body></html>")
TIME_RE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"

# --------------------------------------------------------------------------------------------
# certificates (openssl CLI)

def make_certs(d):
    return harness.make_certs(d, "Monitor CA", (("leaf", "127.0.0.1"),),
                              "/C=cn/O=127.0.0.1/CN=127.0.0.1")


# --------------------------------------------------------------------------------------------
# the flip server


class FlipServer:
    """HTTPS on 127.0.0.1:PORT whose behaviour (mode) is read at each new connection."""

    def __init__(self, certs, mode="ok"):
        self.mode = mode
        self.accepted = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok_ctx = self._ctx(certs["leaf.pem"], certs["leaf.key"])
        self.mitm_ctx = self._ctx(certs["self.pem"], certs["self.key"])
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((HOST, 0))
        self.lsock.listen(128)
        self.lsock.settimeout(0.05)
        self.port = self.lsock.getsockname()[1]
        self.url = "https://%s:%d/" % (HOST, self.port)
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    @staticmethod
    def _ctx(cert, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        return ctx

    def set(self, mode):
        with self.lock:
            self.mode = mode

    def _accept(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                mode = self.mode
            conn.settimeout(10)
            t = threading.Thread(target=self._serve, args=(conn, mode), daemon=True)
            self.threads.append(t)
            t.start()

    def _hold(self, sock):
        """Keep the connection open until the peer closes it or the test ends."""
        sock.settimeout(0.05)
        deadline = time.monotonic() + 30
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                if not sock.recv(4096):
                    return
            except socket.timeout:
                continue

    def _client_hello(self, conn):
        hdr = b""
        while len(hdr) < 5:
            part = conn.recv(5 - len(hdr))
            if not part:
                raise ConnectionError("closed")
            hdr += part
        left = struct.unpack("!H", hdr[3:5])[0]
        while left > 0:
            part = conn.recv(left)
            if not part:
                raise ConnectionError("closed")
            left -= len(part)

    def _serve(self, conn, mode):
        try:
            if mode == "ok":
                tls = self.ok_ctx.wrap_socket(conn, server_side=True)
                data = b""
                while b"\r\n\r\n" not in data:
                    part = tls.recv(4096)
                    if not part:
                        return
                    data += part
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                            + str(len(PAGE)).encode() + b"\r\n\r\n" + PAGE)
                tls.close()
            elif mode == "mitm":
                tls = self.mitm_ctx.wrap_socket(conn, server_side=True)
                self._hold(tls)
                tls.close()
            elif mode == "reset":
                self._client_hello(conn)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif mode == "silent":
                self._client_hello(conn)
                self._hold(conn)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.acceptor.join(5)
        self.lsock.close()
        for t in self.threads:
            t.join(5)


# --------------------------------------------------------------------------------------------
# running the monitor


def wait_for(pred, what, timeout=WAIT, interval=0.05):
    """Poll pred() until it returns a true value (returned); fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting for " + what)
        time.sleep(interval)


class Monitor:
    """`vigie monitor ARGS` in the background; its log lines are collected as they come."""

    def __init__(self, args):
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)  # plain stderr lines, whatever runs the tests
        self.args = args
        self.proc = subprocess.Popen([VIGIE, "monitor"] + args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self.lines = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            with self.lock:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def log(self):
        with self.lock:
            return list(self.lines)

    def messages(self):
        """The monitor's log lines without the time and program prefix (the engine's own lines,
        "vigie: ...", are left out)."""
        out = []
        for line in self.log():
            m = re.match(r"^" + TIME_RE + r" vigie monitor: (.*)$", line)
            if m is not None:
                out.append(m.group(1))
            elif not line.startswith("vigie: "):
                raise AssertionError("unexpected line on standard error: %r" % line)
        return out

    def wait_message(self, pattern, what=None, start=0):
        """Wait for a message matching the regular expression (full match); returns the match."""
        rx = re.compile(pattern)

        def seen():
            for msg in self.messages()[start:]:
                m = rx.fullmatch(msg)
                if m:
                    return m
            if self.proc.poll() is not None:
                raise AssertionError("vigie monitor exited (%s) while waiting for %s; log:\n%s"
                                     % (self.proc.returncode, what or pattern,
                                        "\n".join(self.log())))
            return None
        try:
            return wait_for(seen, what or pattern)
        except AssertionError as e:
            raise AssertionError("%s; log:\n%s" % (e, "\n".join(self.log()))) from None

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(EXIT_WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError("vigie monitor did not exit after %s; log:\n%s"
                                 % (sig, "\n".join(self.log())))
        self.reader.join(10)
        self.proc.stderr.close()
        return rc

    def wait_exit(self):
        """Wait (bounded) for an exit already asked for; returns the status."""
        try:
            rc = self.proc.wait(EXIT_WAIT)
        except subprocess.TimeoutExpired:
            raise AssertionError("vigie monitor did not exit; log:\n" + "\n".join(self.log()))
        self.reader.join(10)
        self.proc.stderr.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.reader.join(10)
        if not self.proc.stderr.closed:
            self.proc.stderr.close()


def read_state(path):
    """The state file, which must always be complete JSON (it is replaced atomically)."""
    with open(path, "rb") as f:
        data = f.read()
    return json.loads(data.decode("utf-8"))


def entry(state, url):
    for e in state["urls"]:
        if e["url"] == url:
            return e
    return None


def jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read().decode("utf-8")
    # the monitor writes whole lines; a read can only miss the tail still being written
    lines = data.split("\n")
    whole = "\n".join(lines[:-1])
    if whole.strip():
        harness.check_ooni(whole)  # every measurement in OONI's data format
    return [json.loads(line) for line in lines[:-1] if line]


def vigie(*args, timeout=60):
    p = subprocess.run([VIGIE] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------

FX = {}


def setUpModule():
    FX["tmp"] = tempfile.mkdtemp(prefix="vigie-monitor-it-")
    FX["servers"] = []
    try:
        FX["certs"] = make_certs(FX["tmp"])
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    for s in FX.get("servers", []):
        s.close()
    if "tmp" in FX:
        shutil.rmtree(FX["tmp"], ignore_errors=True)
    FX.clear()


class MonitorCase(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=FX["tmp"])
        self.monitors = []

    def tearDown(self):
        for m in self.monitors:
            m.kill()

    def server(self, mode="ok"):
        s = FlipServer(FX["certs"], mode)
        FX["servers"].append(s)
        return s

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_list(self, urls):
        p = self.path("list.txt")
        with open(p + ".new", "w") as f:
            f.write("# monitored\n" + "".join(u + "\n" for u in urls))
        os.replace(p + ".new", p)
        return p

    def start(self, *extra, fast=True):
        args = ["--input-file", self.path("list.txt"), "--state", self.path("state.json"),
                "--output", self.path("out.jsonl"), "--ca-file", FX["certs"]["ca.pem"],
                "--log", "stderr"]
        if fast:
            args += ["--every", "2s", "--retest-after", "1s", "--retest-max", "4s",
                     "--recover-after", "2", "--jitter", "0"]
        m = Monitor(args + list(extra))
        self.monitors.append(m)
        return m

    def state(self):
        return read_state(self.path("state.json"))

    def wait_state(self, pred, what):
        def check():
            st = self.state()
            return st if pred(st) else None
        return wait_for(check, what + " in the state file")


class TestMonitor(MonitorCase):
    def test_transitions_state_reload_restart(self):
        a, b, c = self.server(), self.server(), self.server()
        self.write_list([a.url, b.url])
        m = self.start()
        esc = re.escape
        for s in (a, b):
            m.wait_message(esc(s.url) + r": \(none\) -> accessible since " + TIME_RE
                           + r"; next run in 2s", "first result of " + s.url)

        # accessible -> intercepted: one line, re-tested after --retest-after, then doubling
        a.set("mitm")
        mt = m.wait_message(esc(a.url) + r": accessible -> intercepted \(tls\.mitm\) since ("
                            + TIME_RE + r"); re-test in 1s")
        st = self.wait_state(lambda st: entry(st, a.url)["retest_ms"] >= 2000
                             and entry(st, a.url)["verdict"] == "intercepted",
                             "a re-test interval that doubled")
        ea = entry(st, a.url)
        self.assertEqual(ea["cause"], "tls.mitm")
        self.assertTrue(ea["since"].startswith(mt.group(1)[:-1]), (ea["since"], mt.group(1)))
        self.assertEqual(ea["episodes"][-1]["end"], None)

        # a new cause within the interference is a transition too
        a.set("reset")
        m.wait_message(esc(a.url) + r": intercepted \(tls\.mitm\) -> blocked \(tls\.reset\) since "
                       + TIME_RE + r"; re-test in 1s")
        # back to accessible: re-tested, then after --recover-after 2 the normal period
        a.set("ok")
        m.wait_message(esc(a.url) + r": blocked \(tls\.reset\) -> accessible since " + TIME_RE
                       + r"; re-test in 1s")
        st = self.wait_state(lambda st: entry(st, a.url)["retest_ms"] == 0
                             and entry(st, a.url)["verdict"] == "accessible",
                             "the end of the re-tests")
        ea, eb = entry(st, a.url), entry(st, b.url)
        self.assertRegex(ea["history"], r"^a+i+b+a+$")
        self.assertEqual(len(ea["episodes"]), 1, ea)
        ep = ea["episodes"][0]
        self.assertIsNotNone(ep["end"])
        self.assertLessEqual(ep["start"], ep["end"])
        self.assertEqual(ea["ok_streak"], 0)
        self.assertGreaterEqual(ea["runs"], 6)
        self.assertRegex(eb["history"], r"^a+$")
        self.assertEqual(eb["episodes"], [])
        self.assertEqual(eb["retest_ms"], 0)
        self.assertIsNone(eb["cause"])
        self.assertEqual(st["format"], "vigie-monitor-state")
        self.assertEqual(st["version"], 1)
        # nothing but transitions is logged per URL: b never changed
        self.assertEqual(sum(1 for msg in m.messages() if msg.startswith(b.url + ":")), 1)

        # the measurements are appended as JSON Lines, and keep coming
        recs = jsonl(self.path("out.jsonl"))
        verdicts = {r["test_keys"]["x_verdict"] for r in recs if r["input"] == a.url}
        self.assertTrue({"accessible", "intercepted", "blocked"} <= verdicts, verdicts)
        self.assertTrue(all(r["input"] in (a.url, b.url) for r in recs))
        n = len(recs)
        wait_for(lambda: len(jsonl(self.path("out.jsonl"))) > n, "more measurements")

        # --status, from the state file, while the monitor runs
        rc, out, err = vigie("monitor", "--status", "--state", self.path("state.json"))
        self.assertEqual(rc, 0, err)
        head, *rows = out.strip("\n").split("\n")
        self.assertEqual(head.split(), ["URL", "CURRENT", "SINCE", "NOT", "ACCESSIBLE",
                                        "NEXT", "RUN"])
        row_a = [r for r in rows if r.startswith(a.url)]
        self.assertEqual(len(row_a), 1, out)
        self.assertRegex(row_a[0], esc(a.url) + r"\s+accessible\s+" + TIME_RE
                         + r"\s+[1-9]\d*/\d+ \(\d+%\)\s+(due|in \S+)$")
        row_b = [r for r in rows if r.startswith(b.url)][0]
        self.assertRegex(row_b, r"\s0/\d+ \(0%\)\s")

        # SIGHUP: b leaves the list, c joins and is measured at once
        self.write_list([a.url, c.url])
        mark = len(m.messages())
        m.send(signal.SIGHUP)
        m.wait_message(r"list reloaded: 2 URLs \(1 new, due now; 1 removed\)", start=mark)
        m.wait_message(esc(c.url) + r": \(none\) -> accessible since " + TIME_RE
                       + r"; next run in 2s", start=mark)
        st = self.wait_state(lambda st: entry(st, b.url) is None and entry(st, c.url) is not None
                             and entry(st, c.url)["runs"] > 0, "b dropped and c measured")
        self.assertEqual([e["url"] for e in st["urls"]], [a.url, c.url])

        # SIGTERM: exit 0 with the state written
        rc = m.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, "\n".join(m.log()))
        self.assertRegex(m.messages()[-1], r"^stopped; state written to ")
        st = self.state()
        runs_a = entry(st, a.url)["runs"]
        episode = entry(st, a.url)["episodes"][0]

        # a restart resumes: no first results, the counts and episodes go on
        m2 = self.start()
        m2.wait_message(r"monitoring 2 URLs \(0 new, 2 resumed from the state, 0 dropped from "
                        r"it\)")
        st = self.wait_state(lambda st: entry(st, a.url)["runs"] > runs_a,
                             "a measured again after the restart")
        self.assertEqual(entry(st, a.url)["episodes"][0], episode)
        m2.wait_message(r"measured \d+ of \d+ URLs in .*")
        self.assertFalse([msg for msg in m2.messages() if "(none) ->" in msg], m2.log())
        self.assertEqual(m2.stop(signal.SIGINT), 0)

    def test_corrupt_state_is_set_aside(self):
        a = self.server()
        self.write_list([a.url])
        with open(self.path("state.json"), "w") as f:
            f.write('{"format": "vigie-monitor-state", "version": 1, "urls": [{"url": ')
        m = self.start()
        m.wait_message(r"state file .*state\.json is not valid \(not JSON: .*\); kept as "
                       r".*state\.json\.corrupt; starting a fresh schedule")
        m.wait_message(re.escape(a.url) + r": \(none\) -> accessible since .*")
        with open(self.path("state.json.corrupt")) as f:
            self.assertIn('"urls": [{"url": ', f.read())
        self.assertEqual(m.stop(), 0)
        self.assertEqual([e["url"] for e in self.state()["urls"]], [a.url])
        # --status on a broken file: an error, not a crash
        with open(self.path("bad.json"), "w") as f:
            f.write('{"format": "vigie-monitor-state", "version": 1, "urls": [{"url": 7}]}')
        rc, out, err = vigie("monitor", "--status", "--state", self.path("bad.json"))
        self.assertEqual(rc, 2)
        self.assertIn('urls[0]: "url" must be a URL', err)

    def test_stop_finishes_measurements_in_flight(self):
        a, quiet = self.server(), self.server("silent")
        self.write_list([a.url, quiet.url])
        m = self.start()
        m.wait_message(re.escape(a.url) + r": \(none\) -> accessible since .*")
        # the silent server holds the handshake until vigie's 10 s TLS timeout
        wait_for(lambda: quiet.accepted > 0, "a connection to the silent server")
        m.send(signal.SIGTERM)
        rc = m.wait_exit()
        self.assertEqual(rc, 0, "\n".join(m.log()))
        msgs = m.messages()
        self.assertTrue(any(msg.startswith("SIGTERM: stopping once") for msg in msgs), msgs)
        self.assertTrue(any(re.fullmatch(r"1 measurements finished after the stop signal: "
                                         r"written, not counted", msg) for msg in msgs), msgs)
        # the cut-short measurement is in the output but taught the schedule nothing
        recs = [r for r in jsonl(self.path("out.jsonl")) if r["input"] == quiet.url]
        self.assertEqual(len(recs), 1)
        eq = entry(self.state(), quiet.url)
        self.assertIsNone(eq["verdict"])
        self.assertEqual(eq["runs"], 0)

    def test_second_signal_exits_at_once(self):
        quiet = self.server("silent")
        self.write_list([quiet.url])
        m = self.start()
        wait_for(lambda: quiet.accepted > 0, "a connection to the silent server")
        m.send(signal.SIGTERM)
        m.wait_message(r"SIGTERM: stopping once the measurements in flight finish .*")
        self.assertEqual(m.stop(signal.SIGTERM), 130)
        self.assertRegex(m.messages()[-1], r"^second signal: exiting now")
        self.assertEqual(entry(self.state(), quiet.url)["verdict"], None)

    def test_collector_unreachable_spools(self):
        a = self.server()
        self.write_list([a.url])
        closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        closed.bind((HOST, 0))  # bound, never listening: connections are refused
        try:
            spool = self.path("spool")
            m = self.start("--collector", "http://%s:%d/" % (HOST, closed.getsockname()[1]),
                           "--spool", spool)
            m.wait_message(r"collector: 0 sent, [1-9]\d* spooled to " + re.escape(spool)
                           + r", 0 refused, 0 failed")

            def spooled():
                return [f for _, _, fs in os.walk(spool) for f in fs]
            wait_for(spooled, "a measurement in the spool")
            self.assertEqual(m.stop(), 0)
        finally:
            closed.close()

    def helper(self, listen=HOST + ":0"):
        """A vigie helper on listen; returns (process, its URL)."""
        helper = subprocess.Popen([VIGIE, "helper", "--listen", listen, "--allow-private",
                                   "--ca-file", FX["certs"]["ca.pem"]], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = None
        for raw in helper.stderr:  # ends when the helper exits
            found = re.search(r"listening on (\S+)", raw.decode("utf-8", "replace"))
            if found:
                url = found.group(1)
                break
        if url is None:
            helper.kill()
            helper.wait(10)
            helper.stderr.close()
            self.fail("vigie helper did not start on " + listen)
        return helper, url

    @staticmethod
    def stop_helper(helper):
        helper.send_signal(signal.SIGTERM)
        try:
            helper.wait(EXIT_WAIT)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait(10)
        helper.stderr.close()

    def test_control_lost_and_back(self):
        """A monitor whose helper stops says so once, with the reason, and says when the
        control is back (the probe's warning, as a daemon's log lines)."""
        a = self.server()
        self.write_list([a.url])
        helper, url = self.helper()
        port = urllib.parse.urlsplit(url).port
        try:
            m = self.start("--helper", url)
            m.wait_message(re.escape(a.url) + r": \(none\) -> accessible since .*")
        finally:
            self.stop_helper(helper)
        m.wait_message(r"control lost \(.+\): measurements get the probe-only verdicts.*")
        # Still without a helper: a later measurement of the URL, and still one warning.
        n = sum(1 for _ in jsonl(self.path("out.jsonl")))
        wait_for(lambda: sum(1 for _ in jsonl(self.path("out.jsonl"))) >= n + 2,
                 "two more measurements")
        helper, url = self.helper("%s:%d" % (HOST, port))
        try:
            m.wait_message(r"control back after \d+ measurements without one")
            self.assertEqual(m.stop(), 0)
        finally:
            self.stop_helper(helper)
        self.assertEqual(len(re.findall(r"control lost", "\n".join(m.log()))), 1, m.log())
        recs = jsonl(self.path("out.jsonl"))
        self.assertTrue(any(r["test_keys"]["control_failure"] for r in recs))

    def test_helper_control(self):
        a = self.server()
        self.write_list([a.url])
        helper, url = self.helper()
        try:
            m = self.start("--helper", url)
            m.wait_message(re.escape(a.url) + r": \(none\) -> accessible since .*")
            self.assertEqual(m.stop(), 0)
            recs = jsonl(self.path("out.jsonl"))
            self.assertTrue(recs)
            for r in recs:
                self.assertIsNone(r["test_keys"]["control_failure"], r["test_keys"])
                self.assertIsInstance(r["test_keys"]["control"], dict)
        finally:
            self.stop_helper(helper)

    def test_engine_options(self):
        # The engine options are vigie probe's (cli/engine_opts.c): the MaxMind DBs, every
        # timeout and --body-max reach the engine (the page is cut after 10 bytes).
        a = self.server()
        self.write_list([a.url])
        spec = self.path("db.txt")
        with open(spec, "w") as f:
            f.write("@database_type vigie-test-ASN-Country\n"
                    "127.0.0.0/8 asn=64999 org=\"Loopback\" cc=XC\n")
        db = self.path("db.mmdb")
        subprocess.run([sys.executable, MKMMDB, spec, "-o", db], check=True, timeout=60)
        m = self.start("--asn-db", db, "--country-db", db, "--dns-timeout", "2s",
                       "--dns-wait", "100ms", "--tcp-timeout", "5s", "--tls-timeout", "5s",
                       "--http-timeout", "5s", "--control-timeout", "5s", "--body-max", "10",
                       "--parallel", "2")
        recs = wait_for(lambda: jsonl(self.path("out.jsonl")), "a measurement")
        resp = recs[0]["test_keys"]["requests"][0]["response"]
        self.assertTrue(resp["body_is_truncated"], resp)
        self.assertEqual(resp["body"], PAGE[:10].decode())
        self.assertEqual(recs[0]["probe_asn"], "AS0")  # a loopback address is a bogon
        self.assertEqual(m.stop(), 0)
        # a file that is not a MaxMind DB stops the monitor at start, as it stops the probe
        rc, out, err = vigie("monitor", "-i", self.path("list.txt"), "--state",
                             self.path("state2.json"), "--asn-db", spec)
        self.assertEqual(rc, 2, err)
        self.assertIn("not a MaxMind DB file", err)

    def test_threads(self):
        # A batch on two loops (--threads 2, issue 18): every URL measured, each once per run,
        # its state kept as on one loop.
        urls = [self.server().url for _ in range(4)]
        self.write_list(urls)
        m = self.start("--threads", "2", "--parallel", "4")
        for u in urls:
            m.wait_message(re.escape(u) + r": \(none\) -> accessible since .*")
        self.assertEqual(m.stop(), 0)
        recs = jsonl(self.path("out.jsonl"))
        self.assertEqual({r["input"] for r in recs}, set(urls))
        first = [r["input"] for r in recs][:4]
        self.assertEqual(sorted(first), sorted(urls), "the first run measures each URL once")

    def test_engine_option_errors_match_probe(self):
        # One parser: the same bad values give the same message (after "vigie COMMAND: ") and
        # exit status 2 from both commands.
        lst = self.write_list(["https://127.0.0.1:9/"])
        for args, msg in (
                (["--dns-timeout", "0"], "invalid duration for --dns-timeout: '0'"),
                (["--dns-wait", "2h"], "invalid duration for --dns-wait: '2h'"),
                (["--tcp-timeout", "abc"], "invalid duration for --tcp-timeout"),
                (["--tls-timeout", "-1s"], "invalid duration for --tls-timeout"),
                (["--http-timeout", "61m"], "invalid duration for --http-timeout"),
                (["--control-timeout", "0s"], "invalid duration for --control-timeout"),
                (["--body-max", "67108865"], "--body-max must be a number in 0..67108864"),
                (["--body-max", "-1"], "--body-max must be a number in 0..67108864"),
                (["--parallel", "0"], "--parallel must be a number in 1..10000"),
                (["--parallel", "10001"], "--parallel must be a number in 1..10000"),
                (["--threads", "65"], "--threads must be a number in 0..64"),
                (["--collector", "ftp://x/"], "--collector must be an http:// or https:// URL")):
            with self.subTest(args=args):
                lines = {}
                for cmd, extra in (("probe", ["https://127.0.0.1:9/"]),
                                   ("monitor", ["-i", lst, "--state", self.path("s.json")])):
                    rc, out, err = vigie(cmd, *(args + extra))
                    self.assertEqual(rc, 2, "%s %s: %s" % (cmd, args, err))
                    first = err.splitlines()[0] if err else ""
                    prefix = "vigie %s: " % cmd
                    self.assertTrue(first.startswith(prefix), (cmd, err))
                    self.assertIn(msg, first, (cmd, err))
                    lines[cmd] = first[len(prefix):]
                self.assertEqual(lines["probe"], lines["monitor"])
        # --repeat is the probe's only: the monitor measures each URL once per run
        rc, out, err = vigie("monitor", "-i", lst, "--repeat", "2")
        self.assertEqual(rc, 2, err)
        rc, out, err = vigie("monitor", "--help")
        self.assertEqual(rc, 0)
        for opt in ("--asn-db", "--country-db", "--dns-timeout", "--dns-wait", "--tcp-timeout",
                    "--tls-timeout", "--http-timeout", "--body-max", "--helper", "--lab",
                    "--collector", "--spool", "--threads"):
            self.assertIn(opt, out)
        self.assertNotIn("--repeat", out)

    def test_status_creates_nothing(self):
        # issue 15: --status (read-only) created the default state directory
        home = self.path("home")
        os.mkdir(home)
        env = dict(os.environ, HOME=home)
        env.pop("STATE_DIRECTORY", None)
        p = subprocess.run([VIGIE, "monitor", "--status"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"no state file at %s/.local/state/vigie/monitor.json" % home.encode(),
                      p.stderr)
        self.assertEqual(os.listdir(home), [], "--status created files")

    def test_usage_errors(self):
        lst = self.write_list(["https://127.0.0.1:9/"])
        st = self.path("state.json")
        for args, msg in (
                ([], "nothing to monitor"),
                (["-i", "-"], "not standard input"),
                (["-i", lst, "--every", "0"], "invalid duration for --every"),
                (["-i", lst, "--every", "31d"], "invalid duration for --every"),
                (["-i", lst, "--jitter", "80%"], "--jitter must be a percentage"),
                (["-i", lst, "--retest-after", "10m", "--retest-max", "5m"],
                 "--retest-max must not be shorter"),
                (["-i", lst, "--window", "101"], "--window must be a number in 1..100"),
                (["-i", lst, "--log", "file"], "--log must be stderr or syslog"),
                (["-i", lst, "--collector", "ftp://x/"], "--collector must be an http://"),
                (["-i", self.path("missing.txt"), "--state", st], "cannot read"),
                (["-i", lst, "--state", self.path("no/such/dir/state.json")], "cannot write"),
                (["-i", lst, "--state", st, "--ca-file", self.path("missing.pem")], ""),
                (["--status", "--state", self.path("none.json")], "no state file at"),
                (["--bogus"], "")):
            rc, out, err = vigie("monitor", *args)
            self.assertEqual(rc, 2, "%s: %s" % (args, err))
            self.assertIn(msg, err, args)
        rc, out, err = vigie("monitor", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("--retest-after", out)
        rc, out, err = vigie("--help")
        self.assertIn("monitor", out)


if __name__ == "__main__":
    sys.exit(harness.main(globals()))
