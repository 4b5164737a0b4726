#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_alerts.py - `vigie serve --alert-webhook URL --alert-exec CMD` end to end.

A webhook receiver (Python standard library) on 127.0.0.1 records what vigie POSTs, over http or
over https with a certificate from a test CA (harness.make_certs) that vigie trusts through
--alert-ca-file; the command appends what it reads on standard input to a file. Measurements are
real lab captures (tests/data/dashboard/lab-capture.jsonl) given new times, networks and ids,
uploaded with POST /api/v1/bulk.

    python3 tests/integration/test_alerts.py --vigie build/vigie [--pg | --ch] [unittest options]

With --pg, only the tests of the store's events run, each on a database of its own on
VG_TEST_PG's server (integration.alerts_pg). With --ch, the alerts (webhook and command, late
rows, flapping, restart) and the events of `vigie import`, each class on a database of its own on
the ClickHouse server of VG_TEST_CH (harness.ch_urls; integration.alerts_ch).
"""

import copy
import datetime
import http.server
import json
import os
import pwd
import re
import shlex
import shutil
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
import harness

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURE = os.path.join(HERE, "..", "data", "dashboard", "lab-capture.jsonl")
VIGIE = None
PG_CONN = None  # libpq conninfo or URL of the server (--pg)
PG_DBS = []
CH = None  # the ClickHouse server's URL (--ch)
CH_DBS = []
PUBLIC = "https://vigie.example/"
T0 = datetime.datetime(2026, 11, 20, 8, 0, 0, tzinfo=datetime.timezone.utc)


def captures():
    out = {}
    with open(CAPTURE, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                m = json.loads(line)
                tk = m["test_keys"]
                out["%s %s" % (m["input"], tk["x_cause"] or tk["x_verdict"])] = m
    return out


CAP = captures()
ICLOUD_OK = CAP["https://www.icloud.com/ accessible"]
ICLOUD_MITM = CAP["https://www.icloud.com/ tls.mitm"]


def meas(base, t, cc, asn):
    m = copy.deepcopy(base)
    m["measurement_start_time"] = t.strftime("%Y-%m-%d %H:%M:%S")
    m["test_start_time"] = m["measurement_start_time"]
    m["probe_cc"] = cc
    m["probe_asn"] = asn
    m["id"] = str(uuid.uuid4())
    return m


class Receiver:
    """An HTTP server on 127.0.0.1 that records POSTed JSON; fail_first answers 500 that often.
    tls=(cert, key): HTTPS with that certificate; handshakes counts the completed ones."""

    def __init__(self, tls=None):
        self.events = []
        self.attempts = 0
        self.handshakes = 0
        self.fail_first = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.attempts += 1
                    fail = outer.fail_first > 0
                    if fail:
                        outer.fail_first -= 1
                    else:
                        outer.events.append({"path": self.path,
                                             "type": self.headers.get("Content-Type"),
                                             "event": json.loads(body)})
                self.send_response(500 if fail else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            def verify_request(self, request, client_address):
                with outer.lock:
                    outer.handshakes += 1  # over TLS, accept() returned after the handshake
                return True

        self.srv = Server(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
            scheme = "https"
        self.url = "%s://127.0.0.1:%d/hook?token=t" % (scheme, self.srv.server_address[1])
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()

    def for_network(self, asn):
        with self.lock:
            return [e["event"] for e in self.events if e["event"]["network"]["probe_asn"] == asn]


class Serve(harness.Server):
    """`vigie serve --db DB ARGS...` on 127.0.0.1:0 (harness.Server)."""

    def __init__(self, db, *args):
        super().__init__(VIGIE, "serve", "--db", db, *args)

    def upload(self, ms):
        body = "\n".join(json.dumps(m) for m in ms).encode()
        req = urllib.request.Request(self.url.rstrip("/") + "/api/v1/bulk", data=body,
                                     headers={"Content-Type": "application/x-ndjson"})
        with urllib.request.urlopen(req, timeout=30) as r:
            out = json.load(r)
        assert out["rejected"] == [], out
        return out["uids"]


def wait_for(pred, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


MARKS = iter(range(65400, 65500))  # networks of settle()'s marker changes, used by no test


def settle(serve, rx):
    """Return once every event of the uploads made so far has reached rx, so that a test can
    check that no further event came. Events are decided before the upload is answered and one
    thread delivers them in order: once a new change, on a network of its own, has arrived,
    nothing queued before it is still to come (a bounded wait for that event, no fixed sleep)."""
    asn = "AS%d" % next(MARKS)
    serve.upload([meas(ICLOUD_OK, T0, "IT", asn),
                  meas(ICLOUD_MITM, T0 + datetime.timedelta(minutes=1), "IT", asn)])
    if not wait_for(lambda: rx.for_network(asn), timeout=60):
        raise AssertionError("the marker event of %s never came" % asn)


class AlertTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigie-alerts-test-")
        cls.rx = Receiver()
        cls.exec_out = os.path.join(cls.tmp, "exec.jsonl")
        cls.db, _ = new_db(cls.tmp, "alerts")
        # vigie serve never runs an --alert-exec command as root: as root, it runs as nobody,
        # who then owns the directory of its database and of the command's output.
        user = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(cls.tmp, nobody.pw_uid, nobody.pw_gid)
            user = ["--user", "nobody"]
        cls.serve = Serve(cls.db, "--alert-webhook", cls.rx.url,
                          "--alert-exec", "cat >> %s" % shlex.quote(cls.exec_out),
                          "--alert-flap", "3", "--alert-flap-window", "1h",
                          "--public-url", PUBLIC, *user)

    @classmethod
    def tearDownClass(cls):
        cls.serve.stop()
        cls.rx.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def exec_events(self, asn):
        if not os.path.exists(self.exec_out):
            return []
        with open(self.exec_out, encoding="utf-8") as f:
            evs = [json.loads(line) for line in f if line.strip()]
        return [e for e in evs if e["network"]["probe_asn"] == asn]

    def test_change_is_posted_and_run(self):
        asn = "AS64501"
        ok = meas(ICLOUD_OK, T0, "CN", asn)
        mitm = meas(ICLOUD_MITM, T0 + datetime.timedelta(minutes=10), "CN", asn)
        self.serve.upload([ok])
        uids = self.serve.upload([mitm])
        evs = wait_for(lambda: self.rx.for_network(asn))
        self.assertEqual(len(evs), 1, evs)
        e = evs[0]
        self.assertEqual(e["event"], "verdict_change")
        self.assertEqual(e["target"], "https://www.icloud.com/")
        self.assertEqual(e["network"], {"probe_cc": "CN", "probe_asn": asn})
        self.assertEqual((e["old_verdict"], e["new_verdict"]), ("accessible", "intercepted"))
        self.assertEqual(e["first_seen"], "2026-11-20T08:10:00Z")
        self.assertIn("self-signed certificate C=cn/O=www.icloud.com/CN=www.icloud.com",
                      e["evidence"])
        self.assertEqual(e["cause"], "tls.mitm")
        self.assertEqual(e["measurement_uid"], uids[0])
        self.assertEqual(e["measurement_url"], PUBLIC + "#/measurement/" + uids[0])
        with self.rx.lock:
            first = [x for x in self.rx.events if x["event"]["network"]["probe_asn"] == asn][0]
        self.assertEqual(first["path"], "/hook?token=t")
        self.assertEqual(first["type"], "application/json")
        # The command got the same event on its standard input, one JSON line.
        got = wait_for(lambda: self.exec_events(asn))
        self.assertEqual(got, [e])

    def test_same_verdict_and_copies_say_nothing_late_measurements_are_placed(self):
        # issue 15: a measurement older than the latest seen is placed in the stored history:
        # the transitions it makes there are told, flagged late (it said nothing before).
        asn = "AS64502"
        a = meas(ICLOUD_OK, T0, "IR", asn)
        b = meas(ICLOUD_OK, T0 + datetime.timedelta(minutes=20), "IR", asn)
        self.serve.upload([a, b])
        self.serve.upload([b])  # the same measurement again: a copy
        late = meas(ICLOUD_MITM, T0 + datetime.timedelta(minutes=5), "IR", asn)
        self.serve.upload([late])  # older than the latest seen
        later = meas(ICLOUD_MITM, T0 + datetime.timedelta(minutes=30), "IR", asn)
        self.serve.upload([later])
        settle(self.serve, self.rx)
        evs = self.rx.for_network(asn)
        self.assertEqual([(e["old_verdict"], e["new_verdict"], e["late"]) for e in evs],
                         [("accessible", "intercepted", True), ("intercepted", "accessible", True),
                          ("accessible", "intercepted", False)])

    def test_shares_are_written_rounded(self):
        # issue 15: the shares of an intermittent event read 0.33000000000000002
        asn = "AS64509"
        seq = "ommoom"  # o: accessible, m: intercepted; 3 changes, shares 0.6 and 0.4
        ms = [meas(ICLOUD_MITM if c == "m" else ICLOUD_OK,
                   T0 + datetime.timedelta(minutes=3 * i), "CN", asn) for i, c in enumerate(seq)]
        self.serve.upload(ms)
        settle(self.serve, self.rx)
        flap = [e for e in self.rx.for_network(asn) if e["event"] == "intermittent"]
        self.assertEqual(len(flap), 1, self.rx.for_network(asn))
        self.assertTrue(any(v not in (0.25, 0.5, 0.75, 1.0) for v in flap[0]["share"].values()),
                        "a share that is no short binary fraction: %r" % flap[0]["share"])
        got = wait_for(lambda: [l for l in self.exec_lines()
                                if asn in l and '"intermittent"' in l])
        share = re.search(r'"share":(\{[^}]*\})', got[0]).group(1)
        for num in re.findall(r"[0-9.eE+-]+(?=[,}])", share):
            self.assertRegex(num, r"^[01](\.[0-9]{1,2})?$", share)

    def exec_lines(self):
        if not os.path.exists(self.exec_out):
            return []
        with open(self.exec_out, encoding="utf-8") as f:
            return [line for line in f if line.strip()]

    def test_flapping_is_reported_once_as_intermittent(self):
        # stable again is read from the latest states (vg_store_targets)
        st, _ = get_json(self.serve.url.rstrip("/") + "/api/v1/targets?probe_cc=CN")
        if st == 501:
            self.skipTest("the latest states (GET /api/v1/targets) are not read on this store yet")
        asn = "AS64503"
        ms = []
        for i in range(20):
            base = ICLOUD_MITM if i % 2 else ICLOUD_OK
            ms.append(meas(base, T0 + datetime.timedelta(minutes=3 * i), "CN", asn))
        self.serve.upload(ms)
        settle(self.serve, self.rx)
        evs = self.rx.for_network(asn)
        self.assertEqual([e["event"] for e in evs],
                         ["verdict_change", "verdict_change", "intermittent"], evs)
        flap = evs[2]
        self.assertEqual(flap["new_verdict"], "intermittent")
        self.assertEqual(flap["old_verdict"], "accessible")
        self.assertEqual(flap["latest_verdict"], "intercepted")
        self.assertEqual(flap["changes"], 3)
        self.assertEqual(flap["window_seconds"], 3600)
        self.assertEqual(flap["first_seen"], "2026-11-20T08:03:00Z")
        self.assertEqual(set(flap["share"]), {"accessible", "intercepted"})
        self.assertAlmostEqual(sum(flap["share"].values()), 1.0, places=1)
        # An hour and more of one verdict: stable again, said once.
        calm = [meas(ICLOUD_MITM, T0 + datetime.timedelta(minutes=60 + 10 * i), "CN", asn)
                for i in range(10)]
        self.serve.upload(calm)
        settle(self.serve, self.rx)
        evs = self.rx.for_network(asn)
        self.assertEqual(len(evs), 4, evs)
        self.assertEqual(evs[3]["event"], "stable")
        self.assertEqual((evs[3]["old_verdict"], evs[3]["new_verdict"]),
                         ("intermittent", "intercepted"))

    def test_interference_from_the_first_measurement(self):
        # Intercepted from its first measurement: announced (old_verdict null); a first
        # measurement that is accessible is not.
        asn = "AS64505"
        uids = self.serve.upload([meas(ICLOUD_MITM, T0, "CN", asn)])
        self.serve.upload([meas(ICLOUD_OK, T0, "IT", "AS64506")])
        settle(self.serve, self.rx)
        evs = self.rx.for_network(asn)
        self.assertEqual(len(evs), 1, evs)
        e = evs[0]
        self.assertEqual(e["event"], "verdict_change")
        self.assertIsNone(e["old_verdict"])
        self.assertEqual(e["new_verdict"], "intercepted")
        self.assertEqual(e["first_seen"], "2026-11-20T08:00:00Z")
        self.assertEqual(e["measurement_uid"], uids[0])
        self.assertEqual(self.rx.for_network("AS64506"), [])

    def test_webhook_failures_are_retried(self):
        asn = "AS64504"
        with self.rx.lock:
            self.rx.fail_first = 1
            before = self.rx.attempts
        self.serve.upload([meas(ICLOUD_OK, T0, "IT", asn)])
        self.serve.upload([meas(ICLOUD_MITM, T0 + datetime.timedelta(hours=1), "IT", asn)])
        evs = wait_for(lambda: self.rx.for_network(asn), timeout=20)
        self.assertEqual(len(evs), 1)
        with self.rx.lock:
            self.assertEqual(self.rx.attempts - before, 2)
        self.assertTrue(any("webhook attempt 1 of 3 failed" in line
                            for line in self.serve.lines), self.serve.lines[-10:])
        # The URL (it may hold a secret) is never logged.
        self.assertFalse(any("token=t" in line for line in self.serve.lines))


class RestartTest(unittest.TestCase):
    """The state survives a restart: it is seeded from the store, nothing is announced twice."""

    def test_restart(self):
        tmp = tempfile.mkdtemp(prefix="vigie-alerts-restart-")
        rx = Receiver()
        db, _ = new_db(tmp, "r")
        try:
            s = Serve(db, "--alert-webhook", rx.url)
            s.upload([meas(ICLOUD_OK, T0, "CN", "AS64510"),
                      meas(ICLOUD_MITM, T0 + datetime.timedelta(minutes=1), "CN", "AS64510")])
            self.assertEqual(len(wait_for(lambda: rx.for_network("AS64510"))), 1)
            s.stop()
            s = Serve(db, "--alert-webhook", rx.url)
            s.upload([meas(ICLOUD_MITM, T0 + datetime.timedelta(minutes=2), "CN", "AS64510")])
            s.upload([meas(ICLOUD_OK, T0 + datetime.timedelta(minutes=3), "CN", "AS64510")])
            settle(s, rx)
            evs = rx.for_network("AS64510")
            self.assertEqual([(e["old_verdict"], e["new_verdict"]) for e in evs],
                             [("accessible", "intercepted"), ("intercepted", "accessible")])
            s.stop()
        finally:
            rx.stop()
            shutil.rmtree(tmp, ignore_errors=True)


def verdict(base, v):
    """base with vigie's verdict v (the collector keeps a vigie probe's verdict as it is)."""
    m = copy.deepcopy(base)
    m["test_keys"]["x_verdict"] = v
    if v not in ("blocked", "intercepted"):
        m["test_keys"]["x_cause"] = None
    return m


ICLOUD_DOWN = verdict(ICLOUD_OK, "down")


def psql(conn, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", conn, "-c", sql],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)


def ch_sql(sql):
    """One statement on the --ch server (its HTTP interface, basic authentication)."""
    m = re.match(r"clickhouse://(?:([^:@/]*)(?::([^@/]*))?@)?([^/]+)/", CH)
    req = urllib.request.Request("http://%s/" % m.group(3), data=sql.encode(), method="POST")
    if m.group(1):
        req.add_header("X-ClickHouse-User", urllib.parse.unquote(m.group(1)))
        req.add_header("X-ClickHouse-Key", urllib.parse.unquote(m.group(2) or ""))
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read().decode()


def new_db(tmp, name):
    """(store spec, SQL runner) of a new database: a SQLite file in tmp, or with --pg a database
    of its own on the server (dropped at the end), or with --ch one on the ClickHouse server (no
    SQL runner there: None)."""
    if CH:
        db = "vigie_alerts_test_%d_%d" % (os.getpid(), len(CH_DBS))
        ch_sql("CREATE DATABASE %s" % db)
        CH_DBS.append(db)
        m = re.match(r"(clickhouses?://[^/]+/)[^?]*(\?.*)?$", CH)
        return m.group(1) + db + (m.group(2) or ""), None
    if not PG_CONN:
        path = os.path.join(tmp, name + ".db")

        def run_sql(*stmts):
            c = sqlite3.connect(path, timeout=30)
            with c:
                for st in stmts:
                    c.execute(st)
            c.close()
        return path, run_sql
    db = "vigie_alerts_test_%d_%d" % (os.getpid(), len(PG_DBS))
    psql(PG_CONN, "CREATE DATABASE %s" % db)
    PG_DBS.append(db)
    if re.match(r"postgres(ql)?://", PG_CONN):
        m = re.match(r"(postgres(?:ql)?://[^/?]*)(/[^?]*)?(\?.*)?$", PG_CONN)
        conn = m.group(1) + "/" + db + (m.group(3) or "")
        spec = conn
    else:
        conn = PG_CONN + " dbname=" + db
        spec = "pg:" + conn
    return spec, lambda *stmts: psql(conn, "; ".join(stmts))


def import_file(db, path, ms):
    """`vigie import --db DB FILE` (a process of its own) of measurements ms."""
    with open(path, "w", encoding="utf-8") as f:
        for m in ms:
            f.write(json.dumps(m) + "\n")
    p = subprocess.run([VIGIE, "import", "--db", db, path], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr.decode()


def transitions(evs):
    return [(e["old_verdict"], e["new_verdict"], e["late"]) for e in evs]


def get_json(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


class StoreEventsTest(unittest.TestCase):
    """issue 15: the events are the store's, whatever path the data came by: `vigie import` (a
    process of its own), files imported out of order, reanalysis, while vigie serve runs or not;
    re-uploads say nothing; GET /api/v1/alerts lists them."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigie-alerts-store-")
        cls.rx = Receiver()
        cls.db, _ = new_db(cls.tmp, "store")
        cls.serve = Serve(cls.db, "--alert-webhook", cls.rx.url, "--alert-poll", "100ms")

    @classmethod
    def tearDownClass(cls):
        cls.serve.stop()
        cls.rx.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def history(self, cc, asn):
        return [meas(ICLOUD_MITM, T0, cc, asn),
                meas(ICLOUD_DOWN, T0 + datetime.timedelta(minutes=10), cc, asn),
                meas(ICLOUD_MITM, T0 + datetime.timedelta(minutes=20), cc, asn)]

    def test_import_while_serving(self):
        asn = "AS64530"
        import_file(self.db, os.path.join(self.tmp, "in-order.jsonl"), self.history("CN", asn))
        self.assertEqual(len(wait_for(lambda: len(self.rx.for_network(asn)) >= 3 and
                                      self.rx.for_network(asn))), 3)
        settle(self.serve, self.rx)
        evs = self.rx.for_network(asn)
        self.assertEqual(transitions(evs), [(None, "intercepted", False),
                                            ("intercepted", "down", False),
                                            ("down", "intercepted", False)])
        self.assertEqual([e["source"] for e in evs], ["ingest"] * 3)
        self.assertEqual(evs[1]["measured_at"], "2026-11-20T08:10:00Z")
        # the same file again: copies, nothing
        import_file(self.db, os.path.join(self.tmp, "in-order.jsonl"), self.history("CN", asn))
        settle(self.serve, self.rx)
        self.assertEqual(len(self.rx.for_network(asn)), 3)

    def test_import_out_of_order(self):
        # One file in reverse order: one transaction, its rows chained in time order.
        asn = "AS64531"
        import_file(self.db, os.path.join(self.tmp, "reverse.jsonl"),
                    list(reversed(self.history("CN", asn))))
        self.assertTrue(wait_for(lambda: len(self.rx.for_network(asn)) >= 3))
        settle(self.serve, self.rx)
        self.assertEqual(transitions(self.rx.for_network(asn)),
                         [(None, "intercepted", False), ("intercepted", "down", False),
                          ("down", "intercepted", False)])
        # Newest first, a file each: the older ones are placed in the past, flagged late.
        asn = "AS64532"
        for i, m in enumerate(reversed(self.history("CN", asn))):
            import_file(self.db, os.path.join(self.tmp, "one-%d.jsonl" % i), [m])
        self.assertTrue(wait_for(lambda: len(self.rx.for_network(asn)) >= 4))
        settle(self.serve, self.rx)
        self.assertEqual(transitions(self.rx.for_network(asn)),
                         [(None, "intercepted", False), ("down", "intercepted", True),
                          (None, "intercepted", True), ("intercepted", "down", True)])

    def test_reupload_says_nothing(self):
        asn = "AS64533"
        ms = [meas(ICLOUD_OK, T0, "IT", asn),
              meas(ICLOUD_MITM, T0 + datetime.timedelta(minutes=5), "IT", asn)]
        self.serve.upload(ms)
        self.serve.upload(ms)
        self.serve.upload(ms[1:])
        settle(self.serve, self.rx)
        self.assertEqual(transitions(self.rx.for_network(asn)),
                         [("accessible", "intercepted", False)])

    def test_api_lists_events(self):
        asn = "AS64534"
        self.serve.upload(self.history("DE", asn))
        base = self.serve.url.rstrip("/") + "/api/v1/alerts"
        q = "?input=https://www.icloud.com/&probe_cc=DE&probe_asn=" + asn
        st, page = get_json(base + q)
        self.assertEqual(st, 200, page)
        evs = page["results"]
        self.assertEqual([(e["old_verdict"], e["new_verdict"]) for e in evs],
                         [(None, "intercepted"), ("intercepted", "down"), ("down", "intercepted")])
        self.assertEqual(evs[0]["probe_asn"], asn)
        self.assertEqual(evs[0]["domain"], "www.icloud.com")
        self.assertEqual(evs[0]["source"], "ingest")
        self.assertEqual(evs[0]["provenance"], "anonymous")
        self.assertFalse(evs[0]["late"])
        self.assertTrue(evs[0]["id"] < evs[1]["id"] < evs[2]["id"])
        self.assertIsNone(page["next_since_id"])
        # keyset by id
        st, page = get_json(base + q + "&limit=2")
        self.assertEqual([e["id"] for e in page["results"]], [e["id"] for e in evs[:2]])
        st, page = get_json(base + q + "&since_id=%d" % page["next_since_id"])
        self.assertEqual([e["id"] for e in page["results"]], [evs[2]["id"]])
        for bad in ("since_id=-1", "since_id=x", "limit=0", "limit=1001", "probe_asn=ASx",
                    "probe_cc=DEU", "x_verdict=blocked", "cursor=abc", "nonsense=1"):
            st, body = get_json(base + "?" + bad)
            self.assertEqual(st, 400, bad)
            self.assertIn("error", body, bad)


class StoreEventsOfflineTest(unittest.TestCase):
    """Events committed while vigie serve was stopped are delivered when it starts, once; a
    reanalysis that changes a latest verdict is one 'reanalyze' event."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigie-alerts-offline-")
        self.rx = Receiver()
        self.db, self.sql = new_db(self.tmp, "o")

    def tearDown(self):
        self.rx.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def serve(self):
        return Serve(self.db, "--alert-webhook", self.rx.url, "--alert-poll", "100ms")

    def test_import_while_stopped_is_delivered_once(self):
        asn = "AS64540"
        s = self.serve()  # the consumer "default" starts here (an empty database)
        settle(s, self.rx)
        s.stop()
        import_file(self.db, os.path.join(self.tmp, "h.jsonl"),
                    [meas(ICLOUD_MITM, T0, "CN", asn),
                     meas(ICLOUD_DOWN, T0 + datetime.timedelta(minutes=10), "CN", asn),
                     meas(ICLOUD_MITM, T0 + datetime.timedelta(minutes=20), "CN", asn)])
        s = self.serve()
        try:
            self.assertTrue(wait_for(lambda: len(self.rx.for_network(asn)) >= 3))
            settle(s, self.rx)
        finally:
            s.stop()
        s = self.serve()
        try:
            settle(s, self.rx)
        finally:
            s.stop()
        self.assertEqual(transitions(self.rx.for_network(asn)),
                         [(None, "intercepted", False), ("intercepted", "down", False),
                          ("down", "intercepted", False)])

    def test_reanalysis_event(self):
        asn = "AS64541"
        m = copy.deepcopy(meas(ICLOUD_MITM, T0, "CN", asn))
        del m["test_keys"]["x_verdict"]  # not vigie's verdict: the collector analyses it
        s = self.serve()
        try:
            s.upload([m])
            st, page = get_json(s.url.rstrip("/") + "/api/v1/targets?probe_asn=" + asn)
            now = page["results"][0]["x_verdict"]
            stale = "down" if now != "down" else "accessible"
            # as an older analyser would have left it (tests/integration/test_analyze_ingest.py)
            self.sql("UPDATE measurements SET x_verdict = '%s', x_analyzer = 'vigie-analyze/0'"
                     % stale, *["UPDATE %s SET x_verdict = '%s'" % (t, stale)
                                for t in ("agg_hourly", "agg_daily_net", "agg_daily_domain",
                                          "agg_daily_cc_domain", "agg_target_hourly",
                                          "targets")])
            p = subprocess.run([VIGIE, "serve", "--db", self.db, "reanalyze"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            self.assertTrue(wait_for(lambda: [e for e in self.rx.for_network(asn)
                                              if e["source"] == "reanalyze"]))
            settle(s, self.rx)
        finally:
            s.stop()
        evs = [e for e in self.rx.for_network(asn) if e["source"] == "reanalyze"]
        self.assertEqual([(e["old_verdict"], e["new_verdict"]) for e in evs], [(stale, now)])
        p = subprocess.run([VIGIE, "serve", "--db", self.db, "check"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode())


class HttpsWebhookTest(unittest.TestCase):
    """An https webhook: delivered when its certificate validates in --alert-ca-file; refused,
    logged and retried (never sent) when it does not."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigie-alerts-tls-")
        cls.certs = harness.make_certs(cls.tmp, "vigie alerts test CA", (("hook", "127.0.0.1"),),
                                       "/CN=127.0.0.1")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def change(self, serve, asn):
        serve.upload([meas(ICLOUD_OK, T0, "CN", asn)])
        return serve.upload([meas(ICLOUD_MITM, T0 + datetime.timedelta(minutes=10), "CN", asn)])

    def test_trusted_receiver_gets_the_event(self):
        rx = Receiver(tls=(self.certs["hook.pem"], self.certs["hook.key"]))
        s = Serve(os.path.join(self.tmp, "ok.db"), "--alert-webhook", rx.url,
                  "--alert-ca-file", self.certs["ca.pem"], "--public-url", PUBLIC)
        try:
            uids = self.change(s, "AS64520")
            self.assertTrue(wait_for(lambda: rx.for_network("AS64520")))
            settle(s, rx)  # a second event for AS64520 would have come before the marker's
            evs = rx.for_network("AS64520")
            self.assertEqual(len(evs), 1, evs)
            e = evs[0]
            self.assertEqual(e["event"], "verdict_change")
            self.assertEqual((e["old_verdict"], e["new_verdict"]), ("accessible", "intercepted"))
            self.assertEqual(e["measurement_uid"], uids[0])
            self.assertEqual(e["measurement_url"], PUBLIC + "#/measurement/" + uids[0])
            with rx.lock:
                self.assertEqual(rx.events[0]["path"], "/hook?token=t")
                self.assertEqual(rx.events[0]["type"], "application/json")
                self.assertEqual(rx.attempts, 2)  # the event and the marker's: no retry
            self.assertFalse(any("failed" in line for line in s.log()), s.log())
        finally:
            self.assertEqual(s.stop(), 0)
            rx.stop()

    def untrusted(self, rx, *args):
        """Serve with a webhook to rx that must not validate: no request ever reaches rx."""
        s = Serve(os.path.join(self.tmp, "bad-%d.db" % rx.srv.server_address[1]),
                  "--alert-webhook", rx.url, *args)
        try:
            self.change(s, "AS64521")
            line = s.wait_log(r"webhook attempt 3 of 3 failed", timeout=30)
            self.assertIsNotNone(line, s.log())
            self.assertIn("ssl_", line)
            with rx.lock:
                self.assertEqual((rx.events, rx.attempts), ([], 0))
                self.assertGreaterEqual(rx.handshakes, 1)  # it tried, stopped after the handshake
            self.assertFalse(any("token=t" in line for line in s.log()))
        finally:
            self.assertEqual(s.stop(), 0)
            rx.stop()

    def test_self_signed_receiver_gets_nothing(self):
        self.untrusted(Receiver(tls=(self.certs["self.pem"], self.certs["self.key"])),
                       "--alert-ca-file", self.certs["ca.pem"])

    def test_system_store_does_not_know_the_test_ca(self):
        self.untrusted(Receiver(tls=(self.certs["hook.pem"], self.certs["hook.key"])))


class OptionsTest(unittest.TestCase):
    def run_serve(self, *args):
        return subprocess.run([VIGIE, "serve", "--listen", "127.0.0.1:0", "--db",
                               os.path.join(tempfile.gettempdir(), "vigie-alerts-never.db")] +
                              list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=30)

    def test_bad_options_are_refused(self):
        for args in (["--alert-webhook", "ftp://x/"],
                     ["--alert-webhook", "https://127.0.0.1/", "--alert-ca-file",
                      "/nonexistent/ca.pem"],
                     ["--alert-ca-file", "/nonexistent/ca.pem"],
                     ["--alert-webhook", "http://127.0.0.1:99999/"],
                     ["--alert-exec", ""],
                     ["--alert-webhook", "http://127.0.0.1/", "--alert-flap", "1"],
                     ["--alert-webhook", "http://127.0.0.1/", "--alert-flap-window", "soon"],
                     ["--alert-webhook", "http://127.0.0.1/", "--alert-poll", "soon"],
                     ["--alert-webhook", "http://127.0.0.1/", "--alert-poll", "2h"],
                     ["--alert-webhook", "http://127.0.0.1/", "--alert-consumer", "a b"]):
            p = self.run_serve(*args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(b"vigie serve:", p.stderr)
        p = self.run_serve("--alert-webhook", "https://127.0.0.1/", "--alert-ca-file",
                           "/nonexistent/ca.pem")
        self.assertIn(b"--alert-ca-file", p.stderr)


# --ch: what the ClickHouse store answers (test_reanalysis_event makes stale rows with SQL
# UPDATEs; the reanalysis's events on ClickHouse are compared with SQLite's in test_store --ch,
# test_ch_reanalyze_as_sqlite, and integration.analyze_ingest_ch).
CH_TESTS = ["AlertTest", "RestartTest", "StoreEventsTest",
            "StoreEventsOfflineTest.test_import_while_stopped_is_delivered_once"]


def main():
    global VIGIE, PG_CONN, CH
    VIGIE, opts, argv = harness.parse(("--pg!", "--ch!"), " [--pg | --ch]")
    PG_CONN, _ = harness.pg_option(opts)
    if opts.get("--ch"):
        urls = harness.ch_urls("VG_TEST_CH")
        if not urls:
            return harness.skip("test_alerts --ch", "no ClickHouse server: VG_TEST_CH and "
                                "VG_TEST_CH_FILE unset (scripts/ch-test-server start DIR)")
        CH = urls[0]
        if not [a for a in argv[1:] if not a.startswith("-")]:
            argv += CH_TESTS
    if PG_CONN and not [a for a in argv[1:] if not a.startswith("-")]:
        argv += ["StoreEventsTest", "StoreEventsOfflineTest"]
    try:
        return harness.run(argv)
    finally:
        for db in PG_DBS:
            psql(PG_CONN, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
        for db in CH_DBS:
            ch_sql("DROP DATABASE IF EXISTS %s" % db)


if __name__ == "__main__":
    sys.exit(main())
