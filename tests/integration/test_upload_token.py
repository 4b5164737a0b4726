#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_upload_token.py - the probe's upload credentials: `vigie probe`, `monitor` and `upload`
with --collector-token FILE against a stand-in collector on 127.0.0.1 (OONI's collector API:
report open, submit, close) that can require "Authorization: Bearer TOKEN".

What is checked: the header goes with every request to the collector and with nothing else (the
measured site never sees it); without the option no request carries one; a collector that
answers 401 or 403 leaves the measurements in the spool (not in rejected/) with one message, and
`vigie upload --collector-token` sends them later; bad token files (missing, readable or
writable by other users, empty, a space or control byte in the token, too long) exit 2 with a
message; a token is never sent over plain http to a host that is not loopback unless
--allow-token-over-http; the token is never printed, written into a measurement or spooled.

    python3 tests/integration/test_upload_token.py --vigie build/vigie [unittest options]
"""
import http.server
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import harness

VIGIE = None
HOST = "127.0.0.1"
RUN_TIMEOUT = 60
TOKEN = "vg-" + uuid.uuid4().hex + "_.~+/="  # unique: searched for in every output
REPORT_ID = "20260101T000000Z_webconnectivity_ZZ_0_n1_standin"
PAGE = b"<html><head><title>stand-in</title></head><body>hello</body></html>"


class Collector:
    """A stand-in `vigie serve`: POST /report, /report/ID, /report/ID/close, and GET /target
    (a page for the probe to measure). token: the one it requires (None: anonymous welcome);
    submit_status: answer submissions with this status instead (e.g. 403). Every request is
    recorded as (method, path, Authorization header or None)."""

    def __init__(self, token=None, submit_status=None, tls=None, echo=False):
        self.token = token
        self.submit_status = submit_status
        self.echo = echo  # a 401 quotes the Authorization header it got
        self.seen = []
        self.stored = []  # the measurements accepted
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def answer(self, status, obj, extra=()):
                body = json.dumps(obj).encode() if obj is not None else PAGE
                self.send_response(status)
                self.send_header("Content-Type",
                                 "application/json" if obj is not None else "text/html")
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra:
                    self.send_header(k, v)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                outer.note("GET", self.path, self.headers.get("Authorization"))
                if self.path == "/target":
                    self.answer(200, None)
                else:
                    self.answer(404, {"error": "no such page"})

            def do_POST(self):
                auth = self.headers.get("Authorization")
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                outer.note("POST", self.path, auth)
                if outer.token is not None and auth != "Bearer " + outer.token:
                    why = "an upload token is required" if auth is None else "unknown upload token"
                    if outer.echo:
                        why += " (%s)" % auth
                    self.answer(401, {"error": why},
                                [("WWW-Authenticate", 'Bearer realm="vigie"')])
                    return
                if self.path == "/report":
                    self.answer(200, {"backend_version": "stand-in", "report_id": REPORT_ID,
                                      "supported_formats": ["json"]})
                elif self.path == "/report/" + REPORT_ID:
                    if outer.submit_status is not None:
                        self.answer(outer.submit_status, {"error": "not for you"})
                        return
                    content = json.loads(body)["content"]
                    with outer.lock:
                        outer.stored.append(content)
                    self.answer(200, {"measurement_uid": uuid.uuid4().hex})
                elif self.path == "/report/%s/close" % REPORT_ID:
                    self.answer(200, {})
                else:
                    self.answer(404, {"error": "no such route"})

        self.httpd = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def note(self, method, path, auth):
        with self.lock:
            self.seen.append((method, path, auth))

    def url(self, path="/"):
        return "%s://%s:%d%s" % (self.scheme, HOST, self.port, path)

    def posts(self):
        with self.lock:
            return [s for s in self.seen if s[0] == "POST"]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


FX = {}


def setUpModule():
    FX["tmp"] = tempfile.mkdtemp(prefix="vigie-token-")
    FX["certs"] = harness.make_certs(FX["tmp"], "Vigie Token Test CA",
                                     (("leaf", "127.0.0.1"),), "/CN=unused")


def tearDownModule():
    shutil.rmtree(FX["tmp"], ignore_errors=True)


def run(*args, timeout=RUN_TIMEOUT):
    p = subprocess.run([VIGIE] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    if p.returncode < 0:
        raise AssertionError("vigie killed by signal %d: %r" % (-p.returncode, p.stderr))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def files_under(d):
    out = []
    for root, _, names in os.walk(d):
        out += [os.path.relpath(os.path.join(root, n), d) for n in names]
    return sorted(out)


class TokenCase(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=FX["tmp"])
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.close()

    def collector(self, **kw):
        c = Collector(**kw)
        self.servers.append(c)
        return c

    def path(self, name):
        return os.path.join(self.dir, name)

    def token_file(self, text=TOKEN + "\n", mode=0o600, name="token"):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def assertNoToken(self, *texts, token=TOKEN):
        for t in texts:
            self.assertNotIn(token, t if isinstance(t, str) else t.decode("utf-8", "replace"))

    def assertSpoolClean(self, spool):
        """The token is in no file of the spool."""
        for name in files_under(spool):
            with open(os.path.join(spool, name), "rb") as f:
                self.assertNotIn(TOKEN.encode(), f.read(), name)

    def probe(self, c, *extra, target=None):
        spool = self.path("spool")
        rc, out, err = run("probe", "-f", "jsonl", "--collector", c.url(), "--spool", spool,
                           *extra, target or c.url("/target"))
        return rc, out, err, spool


class TestPresented(TokenCase):
    def test_header_on_every_collector_request(self):
        c = self.collector(token=TOKEN)
        rc, out, err, spool = self.probe(c, "--collector-token", self.token_file())
        self.assertEqual(rc, 0, err)
        self.assertIn("1 sent", err)
        posts = c.posts()
        self.assertEqual([p[1] for p in posts][:1], ["/report"], posts)
        self.assertIn(("POST", "/report/" + REPORT_ID, "Bearer " + TOKEN), posts)
        # Report open, submit and (if the client closes its report) close: all with the token.
        for method, path, auth in posts:
            self.assertEqual(auth, "Bearer " + TOKEN, path)
        # The measured site is not the collector: it never sees the token.
        gets = [s for s in c.seen if s[0] == "GET"]
        self.assertTrue(gets, c.seen)
        self.assertEqual({a for _, _, a in gets}, {None})
        self.assertEqual(len(c.stored), 1)
        self.assertNoToken(out, err, json.dumps(c.stored))
        self.assertEqual(files_under(spool), [])

    def test_no_option_no_header(self):
        c = self.collector()
        rc, out, err, spool = self.probe(c)
        self.assertEqual(rc, 0, err)
        self.assertIn("1 sent", err)
        self.assertTrue(c.posts())
        self.assertEqual({a for _, _, a in c.seen}, {None}, c.seen)

    def test_whitespace_trimmed(self):
        c = self.collector(token=TOKEN)
        f = self.token_file(" \t%s \r\n# a second line is not read\n" % TOKEN)
        rc, out, err, spool = self.probe(c, "--collector-token", f)
        self.assertEqual(rc, 0, err)
        self.assertIn("1 sent", err)
        self.assertEqual({a for _, _, a in c.posts()}, {"Bearer " + TOKEN})

    def test_group_readable_is_fine(self):
        c = self.collector(token=TOKEN)
        rc, out, err, spool = self.probe(c, "--collector-token", self.token_file(mode=0o640))
        self.assertEqual(rc, 0, err)
        self.assertIn("1 sent", err)

    def test_https_collector(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(FX["certs"]["leaf.pem"], FX["certs"]["leaf.key"])
        c = self.collector(token=TOKEN, tls=ctx)
        rc, out, err, spool = self.probe(c, "--collector-token", self.token_file(),
                                         "--ca-file", FX["certs"]["ca.pem"],
                                         target=None)
        self.assertEqual(rc, 0, err)
        self.assertIn("1 sent", err)
        self.assertEqual({a for _, _, a in c.posts()}, {"Bearer " + TOKEN})
        self.assertNoToken(out, err)

    def test_monitor_presents_the_token(self):
        c = self.collector(token=TOKEN)
        lst = self.path("list.txt")
        with open(lst, "w") as f:
            f.write(c.url("/target") + "\n")
        spool = self.path("spool")
        m = subprocess.Popen([VIGIE, "monitor", "-i", lst, "--state", self.path("state.json"),
                              "--collector", c.url(), "--spool", spool,
                              "--collector-token", self.token_file(), "--every", "1h"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + RUN_TIMEOUT
            while not c.stored and time.monotonic() < deadline and m.poll() is None:
                time.sleep(0.05)
        finally:
            if m.poll() is None:
                m.send_signal(signal.SIGTERM)
            try:
                _, err = m.communicate(timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                m.kill()
                _, err = m.communicate()
        err = err.decode("utf-8", "replace")
        self.assertEqual(len(c.stored), 1, err)
        self.assertEqual({a for _, _, a in c.posts()}, {"Bearer " + TOKEN})
        self.assertNoToken(err, json.dumps(c.stored))


class TestRefused(TokenCase):
    def assertKeptInSpool(self, spool, n=1):
        names = files_under(spool)
        self.assertEqual(len([x for x in names if re.fullmatch(r"[0-9a-f-]+\.json", x)]), n,
                         names)
        self.assertFalse([x for x in names if x.startswith("rejected")], names)
        self.assertSpoolClean(spool)

    def test_anonymous_refused_401_then_upload_with_token(self):
        c = self.collector(token=TOKEN)
        rc, out, err, spool = self.probe(c)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err.count("refused the upload (HTTP 401: an upload token is required)"),
                         1, err)
        self.assertIn("it wants an upload token", err)
        self.assertIn("0 sent, 1 spooled", err)
        self.assertKeptInSpool(spool)
        self.assertEqual(c.stored, [])
        # The spool, later, with the token.
        rc, out, err = run("upload", "--collector", c.url(), "--spool", spool,
                           "--collector-token", self.token_file())
        self.assertEqual(rc, 0, err)
        self.assertIn("1 sent, 0 still spooled", err)
        self.assertEqual(len(c.stored), 1)
        self.assertEqual(files_under(spool), [])
        self.assertEqual(c.posts()[-1][2], "Bearer " + TOKEN)
        self.assertNoToken(out, err)

    def test_upload_without_token_keeps_spool(self):
        c = self.collector(token=TOKEN)
        rc, out, err, spool = self.probe(c, target=c.url("/target"))
        rc, out, err = run("upload", "--collector", c.url(), "--spool", spool)
        self.assertEqual(rc, 1, err)
        self.assertIn("HTTP 401", err)
        self.assertIn("0 sent, 1 still spooled, 0 refused", err)
        self.assertKeptInSpool(spool)

    def test_wrong_token_401(self):
        c = self.collector(token=TOKEN)
        wrong = "not-" + TOKEN
        rc, out, err, spool = self.probe(c, "--collector-token",
                                         self.token_file(wrong + "\n"))
        self.assertEqual(rc, 0, err)
        self.assertIn("HTTP 401: unknown upload token", err)
        self.assertIn("it did not accept the upload token", err)
        self.assertKeptInSpool(spool)
        self.assertNoToken(out, err, token=wrong)

    def test_echoed_token_not_printed(self):
        c = self.collector(token="another-" + TOKEN, echo=True)
        rc, out, err, spool = self.probe(c, "--collector-token", self.token_file())
        self.assertIn("HTTP 401: its answer quoted the token", err)
        self.assertNoToken(out, err)
        self.assertKeptInSpool(spool)

    def test_submit_403_keeps_spool_says_once(self):
        c = self.collector(token=TOKEN, submit_status=403)
        targets = [c.url("/target?%d" % i) for i in range(3)]
        spool = self.path("spool")
        rc, out, err = run("probe", "-f", "jsonl", "--collector", c.url(), "--spool", spool,
                           "--collector-token", self.token_file(), *targets)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err.count("refused the upload (HTTP 403"), 1, err)
        self.assertIn("0 sent, 3 spooled to %s, 0 refused" % spool, err)
        self.assertKeptInSpool(spool, 3)
        self.assertNoToken(out, err)

    def test_other_4xx_still_rejected(self):
        # Only 401 and 403 mean "credentials": a 400 on a submission is the measurement's fault.
        c = self.collector(submit_status=400)
        rc, out, err, spool = self.probe(c)
        self.assertIn("refused measurement", err)
        self.assertEqual(len(files_under(os.path.join(spool, "rejected"))), 1)


class TestBadTokenFile(TokenCase):
    def cases(self):
        long_token = "x" * 1025
        return [
            ("missing", self.path("no-such-file"), "cannot read"),
            ("directory", self.dir, "not a regular file"),
            ("world-readable", self.token_file(mode=0o644, name="wr"),
             "readable by every user of this machine (mode 0644)"),
            ("world-writable", self.token_file(mode=0o602, name="ww"),
             "writable by every user of this machine (mode 0602)"),
            ("empty", self.token_file("", name="empty"), "no token on its first line"),
            ("blank first line", self.token_file("\n" + TOKEN + "\n", name="blank"),
             "no token on its first line"),
            ("space inside", self.token_file("ab " + TOKEN + "\n", name="space"),
             "cannot go in an HTTP header"),
            ("control byte", self.token_file(TOKEN + "\x01x\n", name="ctl"),
             "cannot go in an HTTP header"),
            ("too long", self.token_file(long_token + "\n", name="long"),
             "longer than 1024 bytes"),
            ("first line too long", self.token_file("y" * 5000 + "\n", name="huge"),
             "longer than a token may be"),
        ]

    def test_every_command_exits_2(self):
        c = self.collector(token=TOKEN)
        lst = self.path("list.txt")
        with open(lst, "w") as f:
            f.write(c.url("/target") + "\n")
        spool = self.path("spool")
        for what, f, msg in self.cases():
            for cmd, args in (
                    ("probe", ["--collector", c.url(), "--spool", spool, c.url("/target")]),
                    ("monitor", ["-i", lst, "--state", self.path("s.json"), "--collector",
                                 c.url(), "--spool", spool]),
                    ("upload", ["--collector", c.url(), "--spool", spool])):
                with self.subTest(what=what, cmd=cmd):
                    rc, out, err = run(cmd, "--collector-token", f, *args)
                    self.assertEqual(rc, 2, err)
                    self.assertIn("vigie %s: --collector-token: " % cmd, err)
                    self.assertIn(msg, err)
                    self.assertNoToken(out, err)
                    self.assertNotIn("x" * 64, err)
        self.assertEqual(c.seen, [], "nothing was measured or sent")

    def test_token_without_collector(self):
        rc, out, err = run("probe", "--collector-token", self.token_file(), "http://127.0.0.1:9/")
        self.assertEqual(rc, 2, err)
        self.assertIn("vigie probe: an upload token without a collector URL", err)


class TestPlainHttp(TokenCase):
    REMOTE = "http://192.0.2.1:8081/"  # documentation range: never contacted by these tests

    def test_refused_to_a_host_not_on_loopback(self):
        f = self.token_file()
        lst = self.path("list.txt")
        with open(lst, "w") as fl:
            fl.write("http://127.0.0.1:9/\n")
        empty = self.path("empty-spool")
        for cmd, args in (
                ("probe", ["--spool", empty, "http://127.0.0.1:9/"]),
                ("monitor", ["-i", lst, "--state", self.path("s.json"), "--spool", empty]),
                ("upload", ["--spool", empty])):
            with self.subTest(cmd=cmd):
                rc, out, err = run(cmd, "--collector", self.REMOTE, "--collector-token", f,
                                   *args)
                self.assertEqual(rc, 2, err)
                self.assertIn("vigie %s: refusing to send the upload token to '%s' over plain "
                              "http" % (cmd, self.REMOTE), err)
                self.assertIn("--allow-token-over-http", err)
                self.assertNoToken(out, err)

    def test_https_localhost_and_the_override_pass_the_check(self):
        # An empty spool: the check passes and nothing is sent anywhere.
        f = self.token_file()
        empty = self.path("empty-spool")
        os.mkdir(empty)  # issue 15: a missing --spool is an error, not an empty spool
        for args in (["--collector", "https://192.0.2.1/"],
                     ["--collector", "http://localhost:9/"],
                     ["--collector", "http://[::1]:9/"],
                     ["--collector", "http://127.1.2.3:9/"],
                     ["--collector", self.REMOTE, "--allow-token-over-http"]):
            with self.subTest(args=args):
                rc, out, err = run("upload", "--collector-token", f, "--spool", empty, *args)
                self.assertEqual(rc, 0, err)
                self.assertIn("0 sent, 0 still spooled", err)

    def test_missing_spool_is_an_error_not_created(self):
        # issue 15: `vigie upload --spool /typo` created the directory and said "0 sent"
        typo = self.path("typo")
        rc, out, err = run("upload", "--collector", "http://127.0.0.1:9/", "--spool", typo)
        self.assertEqual(rc, 2, err)
        self.assertIn("vigie upload: spool directory %s: No such file or directory" % typo, err)
        self.assertFalse(os.path.exists(typo), "the spool directory was created")
        f = self.token_file(name="not-a-dir")
        rc, out, err = run("upload", "--collector", "http://127.0.0.1:9/", "--spool", f)
        self.assertEqual(rc, 2, err)
        self.assertIn("not a directory", err)

    def test_help_names_the_options(self):
        for cmd in ("probe", "monitor", "upload"):
            rc, out, err = run(cmd, "--help")
            self.assertEqual(rc, 0, err)
            self.assertIn("--collector-token FILE", out)
            self.assertIn("--allow-token-over-http", out)


if __name__ == "__main__":
    sys.exit(harness.main(globals()))
