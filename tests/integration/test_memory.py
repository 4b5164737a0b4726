#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_memory.py - `vigie serve` keeps its memory bounded whatever clients upload (docs/api.md,
"Memory"): at the default limits its peak resident size (VmHWM in /proc/PID/status) stays under
the documented 256 MiB while it is sent

  * gzip bombs: 32 KiB bulk bodies whose two lines are {"a":[{},{},...]} of 16 MiB each once
    decompressed (a parse tree tens of times the text), 4 at once, then 40 at once;
  * plain bodies of the same (32 MiB), and bodies nested deeper than the limit;
  * POST /report/{id} and POST /report with such JSON as their content;
  * many large but valid bulk uploads at once (6 MiB of real measurements each);
  * bulk uploads of 99,999 bad lines, whose answers (a rejection per line) are read only once
    every upload was sent;
  * all that while 2,000 connections wait, each with 30 KB of its body sent;

each refused with 413 (too large), 400 or 503 (busy: retry) and a JSON message, or answered
normally; meanwhile a client uploads valid measurements one by one (POST /report/{id}), each
accepted at once or after a 503 and a retry. Every test runs its own server on a temporary
SQLite file.

    python3 tests/integration/test_memory.py --vigie build/vigie [unittest options]
"""
import gzip
import http.client
import json
import os
import re
import resource
import socket
import sys
import tempfile
import threading
import time
import unittest
import uuid
import harness

VIGIE = None                  # path of the binary under test (set in main)
HOST = "127.0.0.1"
REQ_TIMEOUT = 600             # one request, client side (a loaded machine parses slowly)
PEAK_MIB = 256                # the documented peak at the default limits (docs/api.md)
MAX_BODY = 32 * 1024 * 1024   # --max-body's default
RETRIES = 600                 # 503 answers a normal client accepts in a row before giving up
CONNS = 2000                  # connections held open with a partial body (test_many_connections)
HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURE = os.path.join(HERE, "..", "data", "dashboard", "lab-capture.jsonl")
JSONL = {"Content-Type": "application/x-ndjson"}
GZIP = {"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}
JS = {"Content-Type": "application/json"}


def need_fds(n):
    """Raise our open-file limit for n sockets, or skip the test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= n:
        return
    if hard != resource.RLIM_INFINITY and hard < n:
        raise unittest.SkipTest("RLIMIT_NOFILE hard limit %d is below %d" % (hard, n))
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))


def bound_kib():
    return harness.memory_bound(VIGIE, PEAK_MIB * 1024)


def empties(size):
    """{"a":[{},{},...]} of about size bytes: ~70 bytes of parse tree per 3 bytes of text."""
    n = max(1, (size - 7) // 3)
    text = b'{"a":[' + b"{}," * (n - 1) + b"{}]}"
    return text + b" " * (size - len(text))


BOMB_LINE = empties(16 * 1024 * 1024 - 2)
BOMB = gzip.compress(BOMB_LINE + b"\n" + BOMB_LINE + b"\n", 9)


def measurements():
    """The real measurements of the dashboard's capture (5 to 17 KB each)."""
    with open(CAPTURE, "rb") as f:
        return [json.loads(line) for line in f if line.strip()]


TEMPLATES = None


def fresh(i=0):
    """A real measurement with an id of its own (stored once each)."""
    m = dict(TEMPLATES[i % len(TEMPLATES)])
    m["id"] = str(uuid.uuid4())
    return m


def jsonl(ms):
    return b"".join(json.dumps(m, separators=(",", ":")).encode() + b"\n" for m in ms)


class Collector(harness.Server):
    """`vigie serve --listen 127.0.0.1:0 --db TMP/collector.db -q` at the default limits."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory()
        super().__init__(VIGIE, "serve", "--db", os.path.join(self.tmp.name, "collector.db"),
                         "-q")

    def close(self):
        try:
            return self.stop()
        finally:
            self.tmp.cleanup()

    def peak_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))

    def request(self, method, path, body=None, headers=None):
        """(status, headers, parsed JSON body) on a fresh connection."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=REQ_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.headers, json.loads(data)
        finally:
            conn.close()

    def wait_bulk_answers(self, n, timeout=REQ_TIMEOUT):
        """Wait (bounded) until n bulk uploads were answered, as /metrics counts them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection(HOST, self.port, timeout=REQ_TIMEOUT)
            try:
                conn.request("GET", "/metrics")
                text = conn.getresponse().read().decode()
            finally:
                conn.close()
            done = sum(int(v) for v in re.findall(
                r'^vigie_collector_requests_total\{route="/api/v1/bulk",code="\d+"\} (\d+)$',
                text, re.M))
            if done >= n:
                return
            time.sleep(0.1)
        raise AssertionError("%d bulk uploads not answered" % n)

    def open_report(self, m):
        meta = {"data_format_version": "0.2.0", "format": "json", "probe_asn": m["probe_asn"],
                "probe_cc": m["probe_cc"], "software_name": "vigie", "software_version": "0.1.0",
                "test_name": m["test_name"], "test_start_time": "2026-03-01 10:00:00",
                "test_version": "0.5.28"}
        status, _, j = self.request("POST", "/report", json.dumps(meta).encode(), JS)
        assert status == 200, (status, j)
        return j["report_id"]


class Normal(threading.Thread):
    """A well-behaved probe beside the attack: one valid measurement per POST /report/{id}, each
    accepted (200) at once or after 503s; how many, and the other answers, are recorded."""

    def __init__(self, col):
        super().__init__(daemon=True)
        self.col = col
        self.stop = threading.Event()
        self.accepted = 0
        self.busy = 0
        self.failures = []

    def run(self):
        rid = self.col.open_report(TEMPLATES[0])
        while not self.stop.is_set() or self.accepted == 0:
            m = fresh(0)
            body = json.dumps({"format": "json", "content": m}).encode()
            for _ in range(5 * RETRIES):
                status, _, j = self.col.request("POST", "/report/" + rid, body, JS)
                if status != 503:
                    break
                self.busy += 1
                time.sleep(0.05)
            if status == 200 and "measurement_uid" in j:
                self.accepted += 1
            else:
                self.failures.append((status, j))
                return
            time.sleep(0.02)

    def finish(self, test):
        self.stop.set()
        self.join(REQ_TIMEOUT)
        test.assertFalse(self.is_alive(), "the normal client never got its answer")
        test.assertEqual(self.failures, [])
        test.assertGreater(self.accepted, 0)


class MemoryTest(unittest.TestCase):

    def setUp(self):
        self.col = Collector()
        self.normal = Normal(self.col)
        self.normal.start()

    def tearDown(self):
        self.normal.stop.set()
        self.normal.join(REQ_TIMEOUT)
        alive = self.col.alive()
        code = self.col.close()
        if not alive:
            print("\n".join(self.col.log()[-20:]))
            print("exit", code)

    def refused(self, answer, statuses=(413, 503)):
        """answer (status, headers, json) is a refusal among statuses, with a JSON message."""
        status, headers, j = answer
        self.assertIn(status, statuses, j)
        self.assertEqual(headers.get("Content-Type"), "application/json")
        self.assertEqual(list(j), ["error"])
        self.assertTrue(j["error"])
        if status == 503:
            self.assertEqual(headers.get("Retry-After"), "5")
        return status

    def at_once(self, n, send):
        """send(i) in n threads at once; their results in order."""
        out = [None] * n
        start = threading.Barrier(n)

        def one(i):
            start.wait()
            try:
                out[i] = send(i)
            except Exception as e:  # reported below, with the index
                out[i] = e

        ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(REQ_TIMEOUT)
        for i, r in enumerate(out):
            self.assertNotIsInstance(r, BaseException, "request %d" % i)
            self.assertIsNotNone(r, "request %d got no answer" % i)
        return out

    def check_peak(self, what):
        self.normal.finish(self)
        self.assertTrue(self.col.alive(), "the collector died")
        status, _, j = self.col.request("GET", "/healthz")
        self.assertEqual(status, 200, j)
        peak = self.col.peak_kib()
        print("\n    %s: peak RSS %.1f MiB (bound %d MiB); normal uploads %d accepted, %d "
              "503s" % (what, peak / 1024, bound_kib() // 1024, self.normal.accepted,
                        self.normal.busy), flush=True)
        self.assertLess(peak, bound_kib(), "%s: peak RSS %d KiB" % (what, peak))

    # ---- the finding: a gzip bomb of nested empty objects ------------------------------------

    def test_gzip_bomb(self):
        self.assertLess(len(BOMB), 64 * 1024)
        for n in (1, 4, 40):
            out = self.at_once(n, lambda i: self.col.request("POST", "/api/v1/bulk", BOMB, GZIP))
            codes = [self.refused(r) for r in out]
            self.assertIn(413, codes)
            for r in out:
                if r[0] == 413:
                    self.assertIn("JSON values", r[2]["error"])
        self.check_peak("gzip bombs, 1 + 4 + 40 at once")

    def test_plain_bodies(self):
        # The bomb as sent: read (up to --max-body), refused before any parse.
        plain = BOMB_LINE + b"\n" + BOMB_LINE + b"\n"
        self.assertLessEqual(len(plain), MAX_BODY)
        out = self.at_once(6, lambda i: self.col.request("POST", "/api/v1/bulk", plain, JSONL))
        self.assertIn(413, [self.refused(r) for r in out])
        # Nested deeper than the limit: [[[[...]]]] in a bulk line, a submit, a report.
        deep = b"[" * 100000 + b"]" * 100000
        self.assertIn("deeper", self.col.request("POST", "/api/v1/bulk", deep, JSONL)[2]["error"])
        # One byte over --max-body, with no length declared (chunked): read, dropped, 413.
        over = plain + b"\n" * (MAX_BODY + 1 - len(plain))

        def chunks():
            for i in range(0, len(over), 1 << 20):
                yield over[i:i + (1 << 20)]

        conn = http.client.HTTPConnection(HOST, self.col.port, timeout=REQ_TIMEOUT)
        try:
            conn.request("POST", "/api/v1/bulk", body=chunks(), headers=JSONL,
                         encode_chunked=True)
            resp = conn.getresponse()
            self.refused((resp.status, resp.headers, json.loads(resp.read())), (413,))
        finally:
            conn.close()
        self.check_peak("plain bodies of 32 MiB")

    def test_submit_and_open(self):
        m = TEMPLATES[0]
        rid = self.col.open_report(m)
        hostile = b'{"format":"json","content":' + empties(16 * 1024 * 1024 - 30) + b"}"
        deep = b'{"format":"json","content":{"a":' + b"[" * 1000 + b"]" * 1000 + b"}}"
        out = self.at_once(8, lambda i: self.col.request("POST", "/report/" + rid,
                                                        hostile if i % 2 else deep, JS))
        self.assertIn(413, [self.refused(r) for r in out])
        # Within the limits but not a measurement: 400, its tree built and dropped.
        long_string = json.dumps({"format": "json", "content": {"a": "x" * (15 << 20)}})
        self.refused(self.col.request("POST", "/report/" + rid, long_string.encode(), JS),
                     (400,))
        out = self.at_once(8, lambda i: self.col.request("POST", "/report", hostile, JS))
        self.assertIn(413, [self.refused(r) for r in out])
        self.check_peak("POST /report/{id} and /report with hostile JSON")

    # ---- large but valid uploads, many at once -------------------------------------------------

    def test_many_large_uploads(self):
        n, per = 20, 420  # 20 bodies of ~6 MiB each (420 measurements of 5-17 KB)
        bodies = [jsonl(fresh(i * per + k) for k in range(per)) for i in range(n)]

        def upload(i):
            busy = 0
            for _ in range(RETRIES):
                status, headers, j = self.col.request("POST", "/api/v1/bulk", bodies[i], JSONL)
                if status != 503:
                    return status, j, busy
                self.refused((status, headers, j), (503,))
                busy += 1
                time.sleep(0.5)
            return status, j, busy

        out = self.at_once(n, upload)
        for status, j, _ in out:
            self.assertEqual(status, 200, j)
            self.assertEqual(j["rejected"], [])
            self.assertEqual(j["accepted"], per)
        print("\n    %d large uploads: %d 503s before they went through"
              % (n, sum(b for _, _, b in out)), flush=True)
        self.check_peak("%d bulk uploads of ~6 MiB at once" % n)

    def test_many_connections(self):
        # Near --max-connections (2048), 250 per address (--max-per-ip 256): each connection
        # has sent 30 KB of a declared 1 MB body and waits; then bombs and large answers.
        need_fds(CONNS + 256)
        socks = []
        try:
            for i in range(CONNS):
                s = socket.create_connection((HOST, self.col.port), timeout=REQ_TIMEOUT,
                                             source_address=("127.0.0.%d" % (2 + i // 250), 0))
                socks.append(s)
                s.sendall(b"POST /api/v1/bulk HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          b"application/x-ndjson\r\nContent-Length: 1000000\r\n\r\n"
                          + b"x" * 30000)
            bad = b"x\n" * 99999
            out = self.at_once(30, lambda i: self.col.request(
                "POST", "/api/v1/bulk", *((BOMB, GZIP) if i % 3 else (bad, JSONL))))
            for status, headers, j in out:
                if status != 200:
                    self.refused((status, headers, j))
        finally:
            for s in socks:
                s.close()
        self.check_peak("%d connections waiting with 30 KB each, bombs, large answers" % CONNS)

    def test_slow_readers(self):
        # Answers of 99,999 rejected lines (~9 MB each), read only once every upload is sent.
        bad = b"x\n" * 99999
        socks = []
        for _ in range(30):
            s = socket.create_connection((HOST, self.col.port), timeout=REQ_TIMEOUT)
            s.sendall(b"POST /api/v1/bulk HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/x-ndjson\r\nContent-Length: %d\r\n\r\n" % len(bad) + bad)
            socks.append(s)
        self.col.wait_bulk_answers(len(socks))  # queued, while nobody reads them
        codes = []
        for s in socks:
            resp = http.client.HTTPResponse(s)
            resp.begin()
            j = json.loads(resp.read())
            if resp.status == 200:
                self.assertEqual(len(j["rejected"]), 99999)
            else:
                self.refused((resp.status, resp.headers, j), (503,))
            codes.append(resp.status)
            resp.close()
            s.close()
        self.assertIn(200, codes)
        self.check_peak("30 answers of 99,999 rejections, read late")


def main():
    global VIGIE, TEMPLATES
    VIGIE, _, argv = harness.parse()
    TEMPLATES = measurements()
    return harness.run(argv)


if __name__ == "__main__":
    sys.exit(main())
