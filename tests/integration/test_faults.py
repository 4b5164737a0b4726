#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_faults.py - `vigie serve` when its database fails under load (issue 7, docs/storage.md
"Faults"): the disk of the SQLite file fills up, and the PostgreSQL server restarts.

Python 3 standard library only; the collector, the measurements and the client helpers are
test_serve.py's. While client threads upload without pause (single submissions and bulk
uploads), the fault is made and then repaired, and the tests check what clients saw and what is
left in the database:
  - an upload is answered 200 or 503 (JSON error body, Retry-After), never another status, and
    never hangs past the client timeout; the server keeps answering reads and does not crash;
  - once the fault is gone, uploads succeed again without restarting the server;
  - every measurement answered 200 is in the database afterwards, the database passes its
    integrity checks (SQLite's PRAGMA integrity_check, `vigie serve check`), and the server
    exits 0 on SIGTERM.

The disk-full test needs root (it mounts a small tmpfs) and is skipped without it. The restart
test runs a private PostgreSQL server (scripts/pg-test-server in a directory of its own, own
socket), so that restarting it disturbs no other test.

    python3 tests/integration/test_faults.py --vigie build/vigie [unittest options]
"""
import collections
import ctypes
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import harness

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_serve as ts  # noqa: E402  (the collector and measurement helpers)

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG_SERVER = os.path.join(SRC, "scripts", "pg-test-server")
PG_PORT = "54341"  # names the private server's socket file only (no TCP)
# The SQLite file's file system. Not much smaller: each write transaction adds about 50 KiB to
# the WAL, which is checkpointed (and reused) only at 64 MiB, and the uploads before the fault
# and after the recovery must fit.
TMPFS_MB = 32
FX = {}


def setUpModule():
    srv = ts.http.server.ThreadingHTTPServer((ts.HOST, 0), ts.Pages)
    FX["pages"] = srv
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    ms = ts.probe(["http://%s:%d/template" % (ts.HOST, srv.server_address[1])])
    assert len(ms) == 1, ms
    ts.FX["template"] = ms[0]
    ts.FX["asn"] = ts.random.randint(100000, 2000000000)


def tearDownModule():
    if "pages" in FX:
        FX["pages"].shutdown()


class Load:
    """Client threads uploading without pause: `submitters` threads POST /report/{id} one
    measurement at a time, `bulkers` threads POST /api/v1/bulk 20 at a time. Every answer is
    recorded: the uids answered 200, the count per status, and every answer that breaks the
    rules (a status other than 200 and 503, a 503 without a JSON error or Retry-After, an
    exception such as a timeout)."""

    def __init__(self, c, asn, submitters=4, bulkers=2):
        self.c, self.asn = c, asn
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.acked = []
        self.status = collections.Counter()
        self.bad = []
        self.last = {}  # status -> monotonic time of the latest such answer
        self.slowest = {}  # status -> longest time to answer (s)
        self.events = []  # (monotonic time, status) of every answer
        self.reports = [c.open_report("FR", asn) for _ in range(submitters)]
        self.threads = [threading.Thread(target=self._submitter, args=(k,), daemon=True)
                        for k in range(submitters)]
        self.threads += [threading.Thread(target=self._bulker, args=(k,), daemon=True)
                         for k in range(bulkers)]
        for t in self.threads:
            t.start()

    def _record(self, what, t0, st, hdrs, j, uids):
        with self.lock:
            self.status[st] += 1
            self.last[st] = time.monotonic()
            self.slowest[st] = max(self.slowest.get(st, 0), self.last[st] - t0)
            self.events.append((self.last[st], st))
            if st == 200:
                self.acked.extend(uids)
            elif st != 503:
                self.bad.append("%s: HTTP %d %r" % (what, st, j))
            elif not isinstance(j, dict) or not isinstance(j.get("error"), str):
                self.bad.append("%s: 503 without a JSON error: %r" % (what, j))
            elif hdrs.get("retry-after") is None:
                self.bad.append("%s: 503 without Retry-After" % what)

    def _exception(self, what, e):
        with self.lock:
            self.status["exception"] += 1
            self.bad.append("%s: %s: %s" % (what, type(e).__name__, e))

    def _stamp(self, k, i):
        return "2026-04-%02d %02d:%02d:%02d" % (1 + k, (i // 3600) % 24, (i // 60) % 60, i % 60)

    def _submitter(self, k):
        rid, i = self.reports[k], 0
        while not self.stop_ev.is_set():
            i += 1
            m = ts.variant(self.asn, "FR", start=self._stamp(k, i))
            t0 = time.monotonic()
            try:
                st, hdrs, j = self.c.submit(rid, m)
            except Exception as e:  # noqa: BLE001 (every failure is recorded)
                self._exception("submit", e)
                continue
            self._record("submit", t0, st, hdrs, j, [j.get("measurement_uid")] if st == 200 else [])

    def _bulker(self, k):
        i = 0
        while not self.stop_ev.is_set():
            i += 1
            batch = [ts.variant(self.asn, "FR", start=self._stamp(10 + k, i * 20 + n))
                     for n in range(20)]
            t0 = time.monotonic()
            try:
                st, hdrs, j = self.c.bulk(batch)
            except Exception as e:  # noqa: BLE001
                self._exception("bulk", e)
                continue
            if st == 200 and (j.get("accepted") != 20 or len(j.get("uids", [])) != 20):
                with self.lock:
                    self.bad.append("bulk: 200 but %r" % j)
            self._record("bulk", t0, st, hdrs, j, j.get("uids", []) if st == 200 else [])

    def count(self, status):
        with self.lock:
            return self.status[status]

    def wait_for(self, status, n, timeout):
        """Wait until n more answers with this status have come; True if they did."""
        start = self.count(status)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(status) >= start + n:
                return True
            time.sleep(0.01)
        return False

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(ts.REQ_TIMEOUT + 10)
        with self.lock:
            return list(self.acked), dict(self.status), list(self.bad)

    def first(self, status, after):
        """Seconds from after to the first answer with this status, or None."""
        with self.lock:
            ts_ = [t for t, st in self.events if st == status and t >= after]
        return round(min(ts_) - after, 3) if ts_ else None

    def span(self, status):
        """Seconds from the first to the last answer with this status."""
        with self.lock:
            ts_ = [t for t, st in self.events if st == status]
        return round(max(ts_) - min(ts_), 2) if ts_ else 0

    def figures(self):
        with self.lock:
            return {"status": dict(self.status),
                    "slowest_s": {k: round(v, 2) for k, v in self.slowest.items()}}


def private_mounts():
    """Move this process (and the collector it starts) into a mount namespace of its own, where
    the tmpfs is invisible to others and vanishes with the process, even if it is killed before
    tearDown (a CTest timeout). Before any thread starts; without it, tearDown unmounts."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
        return False
    return subprocess.run(["mount", "--make-rprivate", "/"]).returncode == 0


def stop_quietly(c, load):
    """After a failed step: stop the load (if started) and the collector, whatever they do."""
    if load is not None:
        load.stop()
    c.stop()


def end_of_fault(test, c, load, reason):
    """Stop the load, then the collector, and check what every fault must leave: the collector
    lived through it and exits 0, every answer was 200 or a 503 with a JSON error, and the
    database errors were counted and named in the request log (regex reason, as logged).
    Returns (the uids acknowledged, the stopped load)."""
    try:
        acked, _status, bad = load.stop()
        metrics = c.metrics()
        test.assertEqual(c.proc.poll(), None, "the collector died")
    finally:
        rc = c.stop()
    test.assertEqual(rc, 0, c.log()[-20:])
    test.assertFalse(bad, bad[:10])
    test.assertGreater(metrics["vigie_collector_database_errors_total"], 0)
    failed = [line for line in c.log() if " 503 " in line]
    test.assertTrue(any(re.search(r" 503 .*db=(%s)" % reason, line) for line in failed),
                    failed[-10:])
    return acked, load


def report(name, figures):
    sys.stderr.write("%s: %s\n" % (name, ", ".join("%s=%s" % kv for kv in figures.items())))


# --------------------------------------------------------------------------------------------


class TestDiskFull(unittest.TestCase):
    """The SQLite file on a small tmpfs: filled up under load, then given space back."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a tmpfs")
        private_mounts()
        self.tmp = tempfile.mkdtemp(prefix="vigie-faults-")
        self.mnt = os.path.join(self.tmp, "mnt")
        os.mkdir(self.mnt)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % TMPFS_MB, "tmpfs",
                            self.mnt], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            os.rmdir(self.mnt)
            os.rmdir(self.tmp)
            self.skipTest("cannot mount a tmpfs: %s" % p.stdout.decode().strip())

    def tearDown(self):
        if subprocess.run(["umount", self.mnt]).returncode != 0:
            subprocess.run(["umount", "--lazy", self.mnt])
        shutil.rmtree(self.tmp, ignore_errors=True)

    def fill(self, path, room):
        """Write zeros into path until the file system is full, then give back room bytes (a
        few more uploads fit, so that the disk fills up in the middle of the load); the size
        of the filler."""
        n = 0
        with open(path, "wb", buffering=0) as f:
            for size in (1 << 16, 4096, 512, 1):
                chunk = b"\0" * size
                try:
                    while True:
                        n += f.write(chunk)
                except OSError:
                    pass
            n = max(0, n - room)
            f.truncate(n)
        return n

    def test_disk_full(self):
        db = os.path.join(self.mnt, "c.sqlite")
        filler = os.path.join(self.mnt, "filler")
        c = ts.Collector(db=db)
        load = None
        try:
            asn = ts.next_asn()
            load = Load(c, asn)
            self.assertTrue(load.wait_for(200, 50, 60), "no uploads succeed before the fault")
            # Disk full: everything the uploads have not taken goes to the filler.
            filled = self.fill(filler, 128 * 1024)
            t_full, ok_at_full = time.monotonic(), load.count(200)
            self.assertTrue(load.wait_for(503, 20, 60), "no 503 while the disk is full")
            # Reads still work while writes fail.
            st, _, j = c.get_json("/healthz")
            self.assertEqual((st, j["status"]), (200, "ok"), j)
            st, _, j = c.get_json("/api/v1/measurements?" + ts.qs({"probe_asn": asn,
                                                                   "limit": 5}))
            self.assertEqual(st, 200, j)
            self.assertEqual(len(j["results"]), 5)
            # The disk stays full while more uploads are refused (an event, not a fixed time).
            self.assertTrue(load.wait_for(503, 20, 60), "the 503s stopped while the disk is full")
            # Space comes back: uploads succeed again, without a restart.
            ok_while_full = load.count(200) - ok_at_full
            os.unlink(filler)
            t_free = time.monotonic()
            self.assertTrue(load.wait_for(200, 50, 60), "uploads do not recover")
        except BaseException:
            stop_quietly(c, load)
            raise
        # Stop now: the WAL grows by about 50 KiB per transaction and would fill the file
        # system again (it is checkpointed at 64 MiB).
        acked, finished = end_of_fault(self, c, load, "database%20or%20disk%20is%20full")
        # A clean stop checkpoints the WAL into the database and deletes it.
        self.assertFalse(os.path.exists(db + "-wal"))
        con = sqlite3.connect(db, timeout=30)
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            stored = {r[0] for r in con.execute("SELECT measurement_uid FROM measurements")}
        finally:
            con.close()
        report("disk full", dict(finished.figures(), filler_bytes=filled, acked=len(acked),
                                 answers_200_while_full=ok_while_full, stored=len(stored),
                                 full_for_s="%.1f" % (t_free - t_full),
                                 first_503_after_fill_s=finished.first(503, t_full),
                                 first_200_after_free_s=finished.first(200, t_free)))
        missing = set(acked) - stored
        self.assertFalse(missing, "%d acknowledged uploads lost" % len(missing))
        p = ts.run("serve", "--db", db, "check")
        self.assertEqual(p.returncode, 0, p.stderr)


class TestPgRestart(unittest.TestCase):
    """A private PostgreSQL server restarted (fast shutdown: sessions cut) under load, down for
    a few seconds."""

    DOWN_S = 3

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vigie-faults-pg-", dir="/tmp")
        self.env = dict(os.environ, VG_PG_PORT=PG_PORT)
        p = subprocess.run([PG_SERVER, "start", self.dir], env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=180)
        if p.returncode != 0:
            subprocess.run([PG_SERVER, "stop", self.dir], env=self.env, timeout=180)
            shutil.rmtree(self.dir, ignore_errors=True)
            # Like the pg fixture: a missing server fails the test, it is not skipped.
            self.fail("cannot start PostgreSQL: %s" % p.stderr.decode())
        self.conninfo = p.stdout.decode().strip()

    def tearDown(self):
        subprocess.run([PG_SERVER, "stop", self.dir], env=self.env, timeout=180)
        shutil.rmtree(self.dir, ignore_errors=True)

    def psql(self, sql):
        p = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "--dbname",
                            self.conninfo, "-c", sql], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120, check=True)
        return p.stdout.decode().split()

    def test_restart(self):
        c = ts.Collector(db="pg:" + self.conninfo)
        load = None
        health = collections.Counter()
        try:
            asn = ts.next_asn()
            load = Load(c, asn, submitters=6, bulkers=2)
            self.assertTrue(load.wait_for(200, 100, 60), "no uploads succeed before the fault")
            ok_before = load.count(200)
            done = threading.Event()
            out = {}

            def restart():
                out["t0"] = time.monotonic()
                try:
                    out["p"] = subprocess.run([PG_SERVER, "restart", self.dir, str(self.DOWN_S)],
                                              env=self.env, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, timeout=180)
                finally:
                    out["t1"] = time.monotonic()
                    done.set()

            threading.Thread(target=restart, daemon=True).start()
            # Reads while the server is away: /healthz says so, the collector keeps answering.
            while not done.wait(0.2):
                st, hdrs, j = c.get_json("/healthz")
                health[st] += 1
                self.assertIn(st, (200, 503), j)
            self.assertIn("p", out, "scripts/pg-test-server restart did not finish")
            self.assertEqual(out["p"].returncode, 0, out["p"].stderr)
            self.assertGreater(load.count(503), 0, "no 503 while PostgreSQL was down")
            self.assertGreater(health[503], 0, "/healthz did not report the outage")
            # The collector reconnects by itself.
            self.assertTrue(load.wait_for(200, 50, 60), "uploads do not recover")
            # /healthz says so too (a bounded wait: it may lag the uploads).
            deadline = time.monotonic() + 60
            while True:
                st, _, j = c.get_json("/healthz")
                if (st, j.get("status")) == (200, "ok") or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            self.assertEqual((st, j.get("status")), (200, "ok"), j)
        except BaseException:
            stop_quietly(c, load)
            raise
        acked, finished = end_of_fault(self, c, load, r"\S")
        stored = set(self.psql("SELECT measurement_uid FROM measurements WHERE probe_asn = %d"
                               % asn))
        report("postgresql restart", dict(finished.figures(), acked=len(acked),
                                          answers_200_before=ok_before, stored=len(stored),
                                          healthz=dict(health),
                                          restart_script_s="%.1f" % (out["t1"] - out["t0"]),
                                          first_to_last_503_s=finished.span(503),
                                          first_200_after_script_s=finished.first(200, out["t1"])))
        missing = set(acked) - stored
        self.assertFalse(missing, "%d acknowledged uploads lost" % len(missing))
        p = ts.run("serve", "--db", "pg:" + self.conninfo, "check")
        self.assertEqual(p.returncode, 0, p.stderr)


def main():
    ts.VIGIE, _, argv = harness.parse()
    return harness.run(argv)


if __name__ == "__main__":
    sys.exit(main())
