#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_trust.py - a collector whose published data can be believed (issue 13), end to end.

Each test reproduces one attack of the issue against `vigie serve` and passes because the attack
fails:
  - poisoning: an upload dated 9999-12-31 that would hold a target's latest state (and its
    alerts) is refused; a date a little ahead counts from its arrival; trusted sources have
    latest states of their own;
  - credentials: --upload-tokens / --require-token (401 without a valid token; the tokens file
    must not be readable by others; SIGHUP reads it again); provenance recorded and filtered,
    never a token or an address;
  - report takeover: the report id the API publishes opens nothing; only the holder of the
    submit id (with the credential that opened it) submits or closes;
  - silent loss: a different measurement with a stored client id is stored; an identical one is
    answered as a duplicate.
Measurements are lab captures (tests/data/dashboard/lab-capture.jsonl) given new times, networks
and ids. SQLite on a temporary file, or (--pg) a database of its own on VG_TEST_PG's server.

    python3 tests/integration/test_trust.py --vigie build/vigie [--pg] [unittest options]
"""
import copy
import datetime
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid
import zlib
import harness

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURE = os.path.join(HERE, "..", "data", "dashboard", "lab-capture.jsonl")
VIGIE = None
PG = None        # store spec of the PostgreSQL database (--pg)
PG_CONN = None   # the same for psql and pg_dump
FX = {}
TOKEN_A = "tA-" + uuid.uuid4().hex  # a credential of "probe-a"
TOKEN_B = "tB-" + uuid.uuid4().hex  # a credential of "probe.b"
TIMEOUT = 60


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
OK = CAP["https://www.icloud.com/ accessible"]
MITM = CAP["https://www.icloud.com/ tls.mitm"]


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def ooni_time(t):
    return t.strftime("%Y-%m-%d %H:%M:%S")


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def next_asn():
    FX["asn"] += 1
    return FX["asn"]


def meas(base, when, asn, cc="IR", ident=None):
    """A copy of a capture measured at when (a datetime, or OONI's text) on AS<asn>."""
    m = copy.deepcopy(base)
    m["measurement_start_time"] = when if isinstance(when, str) else ooni_time(when)
    m["test_start_time"] = m["measurement_start_time"]
    m["probe_cc"] = cc
    m["probe_asn"] = "AS%d" % asn
    m["id"] = ident or str(uuid.uuid4())
    m["report_id"] = ""
    return m


def report_meta(asn, cc="IR"):
    return {"data_format_version": "0.2.0", "format": "json", "probe_asn": "AS%d" % asn,
            "probe_cc": cc, "software_name": "vigie", "software_version": "0.1.0",
            "test_name": "web_connectivity", "test_start_time": "2026-11-29 10:00:00",
            "test_version": "0.5.28"}


def qs(params):
    return urllib.parse.urlencode(params)


class Webhook:
    """An alert receiver on 127.0.0.1: every JSON event POSTed to it, in order."""

    def __init__(self):
        import http.server
        import threading
        got, lock = [], threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    got.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._got, self._lock = got, lock
        self._srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self._srv.server_address[1]
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)
        self._thread.start()

    def events(self):
        with self._lock:
            return list(self._got)

    def stop(self):
        self._srv.shutdown()
        self._srv.server_close()


class Collector(harness.Server):
    """`vigie serve` with a client for its API; token: sent with every upload of this client."""

    def __init__(self, *args, db=None):
        self.db = db or FX["db"]
        super().__init__(VIGIE, "serve", "--db", self.db, *args)

    ctx = None  # an SSL context (HTTPS), with the client certificate to present if any

    def request(self, method, path, body=None, headers=None, token=None):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if self.https:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=TIMEOUT,
                                               context=self.ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def post(self, path, obj, token=None, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        st, hdrs, data = self.request("POST", path, json.dumps(obj).encode(), h, token)
        return st, hdrs, json.loads(data)

    def get(self, path, **params):
        st, _, data = self.request("GET", path + ("?" + qs(params) if params else ""))
        assert st == 200, (st, data)
        return json.loads(data)

    def open_report(self, asn, token=None):
        st, _, j = self.post("/report", report_meta(asn), token)
        assert st == 200, (st, j)
        return j

    def submit(self, rid, m, token=None):
        return self.post("/report/" + rid, {"format": "json", "content": m}, token)

    def bulk(self, ms, token=None):
        body = "".join(json.dumps(m) + "\n" for m in ms).encode()
        st, _, data = self.request("POST", "/api/v1/bulk", body,
                                   {"Content-Type": "application/x-ndjson"}, token)
        return st, json.loads(data)

    def targets(self, **params):
        return self.get("/api/v1/targets", **params)["results"]

    def rows(self, **params):
        return self.get("/api/v1/measurements", limit=1000, **params)["results"]


def tokens_file(lines, mode=0o600):
    path = os.path.join(FX["tmp"], "tokens-%s" % uuid.uuid4().hex[:8])
    with open(path, "w") as f:
        f.write("# vigie serve --upload-tokens\n" + "".join("%s %s\n" % l for l in lines))
    os.chmod(path, mode)
    return path


def run(*args, timeout=60):
    return subprocess.run([VIGIE] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def database_contains(needle, db=None):
    """needle anywhere in the store (FX["db"] or the SQLite file db; the measurements
    decompressed)."""
    b = needle.encode()
    if PG:
        p = subprocess.run(["pg_dump", "--data-only", "--dbname", PG_CONN], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        if p.returncode != 0:
            raise AssertionError("pg_dump failed: %s" % p.stderr.decode())
        if b in p.stdout:
            return True
        for hexblob in re.findall(rb"\\\\x([0-9a-f]+)", p.stdout):
            try:
                if b in zlib.decompress(bytes.fromhex(hexblob.decode())):
                    return True
            except zlib.error:
                pass
        return False
    db = db or FX["db"]
    for path in (db, db + "-wal"):
        if os.path.exists(path):
            with open(path, "rb") as f:
                if b in f.read():
                    return True
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in con.execute('SELECT * FROM "%s"' % t):
                for v in row:
                    if isinstance(v, str) and needle in v:
                        return True
                    if isinstance(v, bytes):
                        try:
                            if b in v or b in zlib.decompress(v):
                                return True
                        except zlib.error:
                            pass
    finally:
        con.close()
    return False


def wait_for(pred, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


# --------------------------------------------------------------------------------------------
# module fixtures


def psql(conn, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", conn, "-c", sql],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)


def setUpModule():
    global PG, PG_CONN
    FX["tmp"] = tempfile.mkdtemp(prefix="vigie-trust-test-")
    FX["asn"] = random.randint(100000, 2000000000)
    if PG:
        # A database of our own: other suites on this server drop their schemas.
        name = "vigie_trust_test_%d_%d" % (os.getpid(), random.randint(0, 1 << 30))
        psql(PG_CONN, "CREATE DATABASE %s" % name)
        FX["pg_admin"], FX["pg_db"] = PG_CONN, name
        if re.match(r"postgres(ql)?://", PG_CONN):
            m = re.match(r"(postgres(?:ql)?://[^/?]*)(/[^?]*)?(\?.*)?$", PG_CONN)
            PG_CONN = m.group(1) + "/" + name + (m.group(3) or "")
            PG = PG_CONN
        else:
            PG_CONN = PG_CONN + " dbname=" + name
            PG = "pg:" + PG_CONN
    FX["db"] = PG if PG else os.path.join(FX["tmp"], "trust.db")
    FX["tokens"] = tokens_file([("probe-a", TOKEN_A), ("probe.b", TOKEN_B)])
    # Anonymous uploads taken (OONI probes), tokens recognised: the mixed mode.
    FX["mixed"] = Collector("--upload-tokens", FX["tokens"])


def tearDownModule():
    if "mixed" in FX:
        FX["mixed"].stop()
    if "pg_db" in FX:
        psql(FX["pg_admin"], "DROP DATABASE %s WITH (FORCE)" % FX["pg_db"])
    shutil.rmtree(FX["tmp"], ignore_errors=True)


def mixed():
    return FX["mixed"]


# --------------------------------------------------------------------------------------------


class TestPoisoning(unittest.TestCase):
    """Finding 2: an upload dated 9999-12-31 pinned /api/v1/targets (and its alerts)."""

    def test_future_date_refused(self):
        tmp = FX["tmp"]
        hook = Webhook()  # a webhook, not --alert-exec: serve refuses to run a command as root
        c = Collector("--alert-webhook", hook.url,
                      db=PG if PG else os.path.join(tmp, "poison.db"))
        try:
            asn, t0 = next_asn(), now()
            rid = c.open_report(asn)["report_id"]
            st, _, j = c.submit(rid, meas(OK, t0 - datetime.timedelta(hours=2), asn))
            self.assertEqual(st, 200, j)
            # The attack, by every route: refused with a message that says why.
            poison = meas(MITM, "9999-12-31 23:59:59", asn)
            st, j = c.bulk([poison])
            self.assertEqual(st, 200, j)
            self.assertEqual(j["accepted"], 0, j)
            self.assertEqual(j["rejected"][0]["line"], 1)
            self.assertIn("measurement_start_time", j["rejected"][0]["error"])
            st, _, j = c.submit(rid, meas(MITM, "9999-12-31 23:59:59", asn))
            self.assertEqual(st, 400, j)
            self.assertIn("clock", j["error"])
            path = os.path.join(tmp, "poison-%d.jsonl" % asn)
            with open(path, "w") as f:
                f.write(json.dumps(meas(MITM, "9999-12-31 23:59:59", asn)) + "\n")
            p = run("import", "--db", c.db, path)
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertIn(b"measurement_start_time", p.stderr)
            [tgt] = c.targets(probe_asn=asn)
            self.assertEqual(tgt["x_verdict"], "accessible")
            self.assertEqual(tgt["last_seen"], iso(t0 - datetime.timedelta(hours=2)))
            # Genuine later measurements move the state, and alerts follow them.
            st, _, j = c.submit(rid, meas(MITM, t0 - datetime.timedelta(hours=1), asn))
            self.assertEqual(st, 200, j)
            st, _, j = c.submit(rid, meas(OK, t0 - datetime.timedelta(minutes=30), asn))
            self.assertEqual(st, 200, j)
            [tgt] = c.targets(probe_asn=asn)
            self.assertEqual((tgt["x_verdict"], tgt["since"]),
                             ("accessible", iso(t0 - datetime.timedelta(minutes=30))))

            def mine():
                return [e for e in hook.events() if e["network"]["probe_asn"] == "AS%d" % asn]

            evs = wait_for(lambda: len(mine()) >= 2 and mine(), "two alerts")
            self.assertEqual([(e["old_verdict"], e["new_verdict"], e["measured_at"])
                              for e in evs],
                             [("accessible", "intercepted", iso(t0 - datetime.timedelta(hours=1))),
                              ("intercepted", "accessible",
                               iso(t0 - datetime.timedelta(minutes=30)))])
        finally:
            self.assertEqual(c.stop(), 0)
            hook.stop()

    def test_clock_ahead_counts_from_arrival(self):
        """A date a little ahead (a probe's clock) is taken, but counts from its arrival: it
        cannot outlast a later genuine measurement. --max-clock-skew sets how far."""
        c, asn = mixed(), next_asn()
        ahead = now() + datetime.timedelta(minutes=5)
        st, j = c.bulk([meas(MITM, ahead, asn)])
        self.assertEqual((st, j["accepted"]), (200, 1), j)
        [tgt] = c.targets(probe_asn=asn)
        self.assertLessEqual(tgt["last_seen"], iso(now()))
        [row] = c.rows(probe_asn=asn)
        self.assertEqual(row["measurement_start_time"], iso(ahead))  # the measurement's own
        # A genuine measurement a moment later (its clock right) takes the state over.
        time.sleep(1.1)
        st, j = c.bulk([meas(OK, now(), asn)])
        self.assertEqual(j["accepted"], 1, j)
        self.assertEqual(c.targets(probe_asn=asn)[0]["x_verdict"], "accessible")
        strict = Collector("--max-clock-skew", "0s",
                           db=PG if PG else os.path.join(FX["tmp"], "strict.db"))
        try:
            st, j = strict.bulk([meas(MITM, now() + datetime.timedelta(minutes=5), next_asn())])
            self.assertEqual(j["accepted"], 0, j)
            self.assertRegex(j["rejected"][0]["error"], r"is (299|300|301) s after")
        finally:
            self.assertEqual(strict.stop(), 0)
        for bad in ("-1s", "8d", "soon"):
            p = run("serve", "--listen", "127.0.0.1:0", "--db", FX["db"], "--max-clock-skew", bad)
            self.assertEqual(p.returncode, 2, (bad, p.stderr))

    def test_trusted_sources_only(self):
        """Anonymous uploads may say anything: the trusted sources have their own latest states
        and counts (provenance=NAME, trusted=true)."""
        c, asn, t0 = mixed(), next_asn(), now()
        st, j = c.bulk([meas(OK, t0 - datetime.timedelta(hours=3), asn),
                        meas(OK, t0 - datetime.timedelta(hours=2), asn)], token=TOKEN_A)
        self.assertEqual(j["accepted"], 2, j)
        st, j = c.bulk([meas(OK, t0 - datetime.timedelta(minutes=90), asn)], token=TOKEN_B)
        self.assertEqual(j["accepted"], 1, j)
        # the flood: newer, anonymous, all "intercepted"
        st, j = c.bulk([meas(MITM, t0 - datetime.timedelta(minutes=m), asn)
                        for m in range(10, 60, 5)])
        self.assertEqual(j["accepted"], 10, j)
        self.assertEqual(c.targets(probe_asn=asn)[0]["x_verdict"], "intercepted")
        [tgt] = c.targets(probe_asn=asn, trusted="true")
        self.assertEqual((tgt["x_verdict"], tgt["since"], tgt["last_seen"]),
                         ("accessible", iso(t0 - datetime.timedelta(hours=3)),
                          iso(t0 - datetime.timedelta(minutes=90))))
        [tgt] = c.targets(probe_asn=asn, provenance="probe-a")
        self.assertEqual(tgt["last_seen"], iso(t0 - datetime.timedelta(hours=2)))
        [tgt] = c.targets(probe_asn=asn, provenance="anonymous")
        self.assertEqual(tgt["x_verdict"], "intercepted")
        self.assertEqual(c.targets(probe_asn=asn, provenance="nobody"), [])
        agg = c.get("/api/v1/aggregation", probe_asn=asn, trusted="true")["result"]
        self.assertEqual((agg["total"], agg["accessible"], agg["intercepted"]), (3, 3, 0))
        agg = c.get("/api/v1/aggregation", probe_asn=asn, axis_x="measurement_hour",
                    provenance="anonymous")["result"]
        self.assertEqual(sum(r["intercepted"] for r in agg), 10)
        agg = c.get("/api/v1/aggregation", probe_asn=asn)["result"]
        self.assertEqual(agg["total"], 13)
        rows = c.rows(probe_asn=asn)
        self.assertEqual(sorted({r["provenance"] for r in rows}),
                         ["anonymous", "probe-a", "probe.b"])
        self.assertEqual(len(c.rows(probe_asn=asn, trusted="true")), 3)
        self.assertEqual(len(c.rows(probe_asn=asn, provenance="probe.b")), 1)
        for bad in ({"provenance": "a b"}, {"trusted": "yes"},
                    {"trusted": "true", "provenance": "anonymous"}):
            st, _, data = c.request("GET", "/api/v1/targets?" + qs(bad))
            self.assertEqual(st, 400, (bad, data))


class TestCredentials(unittest.TestCase):
    """Finding 3: there was no way to say who may upload."""

    def test_require_token(self):
        c = Collector("--upload-tokens", FX["tokens"], "--require-token",
                      db=PG if PG else os.path.join(FX["tmp"], "required.db"))
        try:
            asn = next_asn()
            self.assertTrue(c.wait_log(r"uploads: 2 upload tokens from .*anonymous uploads "
                                       r"refused"), c.log())
            # Anonymous, a wrong token, a malformed header: 401 on every upload route.
            for token, says in ((None, "credential"), ("x" * 32, "unknown upload token"),
                                ("", "Bearer TOKEN")):
                h = {} if token is None else {"Authorization": "Bearer " + token}
                st, hdrs, j = c.post("/report", report_meta(asn), headers=h)
                self.assertEqual(st, 401, j)
                self.assertEqual(hdrs["www-authenticate"], 'Bearer realm="vigie"')
                self.assertIn(says, j["error"])
                st, _, data = c.request("POST", "/api/v1/bulk",
                                        (json.dumps(meas(OK, now(), asn)) + "\n").encode(),
                                        dict(h, **{"Content-Type": "application/x-ndjson"}))
                self.assertEqual(st, 401, data)
            st, _, j = c.post("/report", report_meta(asn),
                              headers={"Authorization": "Basic " + TOKEN_A})
            self.assertEqual(st, 401, j)
            # A refused upload declaring a body larger than any is answered unread.
            s = socket.create_connection(("127.0.0.1", c.port), timeout=TIMEOUT)
            try:
                s.sendall(b"POST /api/v1/bulk HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          b"application/x-ndjson\r\nContent-Length: 1000000000\r\n\r\n")
                data = b""
                while b"\r\n\r\n" not in data:
                    part = s.recv(4096)
                    if not part:
                        break
                    data += part
                self.assertTrue(data.startswith(b"HTTP/1.1 401 "), data)
            finally:
                s.close()
            # The holder of a token: accepted, and recorded as its name, never the token.
            rid = c.open_report(asn, TOKEN_A)["report_id"]
            st, _, j = c.submit(rid, meas(OK, now(), asn))  # the submit id alone is not enough
            self.assertEqual(st, 401, j)
            st, _, j = c.submit(rid, meas(OK, now(), asn), TOKEN_A)
            self.assertEqual(st, 200, j)
            st, j = c.bulk([meas(MITM, now(), asn)], token=TOKEN_B)
            self.assertEqual(j["accepted"], 1, j)
            rows = c.rows(probe_asn=asn)  # reading needs no token
            self.assertEqual(sorted(r["provenance"] for r in rows), ["probe-a", "probe.b"])
            self.assertEqual(c.get("/api/v1/aggregation", probe_asn=asn)["result"]["total"], 2)
            st, _, data = c.request("GET", "/metrics")
            self.assertIn(b'route="/report",code="401"} 4', data)
        finally:
            self.assertEqual(c.stop(), 0)
        self.assertFalse(database_contains(TOKEN_A, c.db), "a token is in the database")
        self.assertFalse(database_contains(TOKEN_B, c.db), "a token is in the database")
        self.assertFalse([l for l in c.log() if TOKEN_A in l or TOKEN_B in l], c.log())

    def test_anonymous_default(self):
        """Without options, uploads are anonymous as before (OONI probes send no token); a
        token sent to a collector that has none is refused rather than ignored."""
        db = PG if PG else os.path.join(FX["tmp"], "anon.db")
        c = Collector(db=db)
        try:
            asn = next_asn()
            self.assertTrue(c.wait_log(r"uploads: anonymous"), c.log())
            rid = c.open_report(asn)["report_id"]
            st, _, j = c.submit(rid, meas(OK, now(), asn))
            self.assertEqual(st, 200, j)
            self.assertEqual([r["provenance"] for r in c.rows(probe_asn=asn)], ["anonymous"])
            st, j = c.bulk([meas(OK, now(), asn)], token=TOKEN_A)
            self.assertEqual(st, 401, j)
        finally:
            self.assertEqual(c.stop(), 0)

    def test_tokens_file_refused(self):
        loose = tokens_file([("probe-a", TOKEN_A)], mode=0o644)
        p = run("serve", "--listen", "127.0.0.1:0", "--db", FX["db"], "--upload-tokens", loose)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"read by every user", p.stderr)
        self.assertNotIn(TOKEN_A.encode(), p.stderr)
        for args, says in ((["--require-token"], b"--require-token needs --upload-tokens"),
                           (["--upload-tokens", os.path.join(FX["tmp"], "missing")],
                            b"cannot open"),
                           (["--upload-tokens", tokens_file([("anonymous", TOKEN_A)])],
                            b"line 2")):
            p = run("serve", "--listen", "127.0.0.1:0", "--db", FX["db"], *args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(says, p.stderr)

    def test_sighup_reload(self):
        path = tokens_file([("probe-a", TOKEN_A)])
        c = Collector("--upload-tokens", path, "--require-token",
                      db=PG if PG else os.path.join(FX["tmp"], "reload.db"))
        try:
            asn = next_asn()
            self.assertEqual(c.bulk([meas(OK, now(), asn)], token=TOKEN_A)[0], 200)
            # A new file: the old token goes, the new one comes, at once.
            new = "tN-" + uuid.uuid4().hex
            with open(path, "w") as f:
                f.write("probe-n %s\n" % new)
            c.proc.send_signal(signal.SIGHUP)
            self.assertTrue(c.wait_log(r"SIGHUP: 1 upload tokens read from"), c.log())
            self.assertEqual(c.bulk([meas(OK, now(), asn)], token=TOKEN_A)[0], 401)
            st, j = c.bulk([meas(OK, now(), asn)], token=new)
            self.assertEqual(st, 200, j)
            # A broken file, then one readable by all: refused, the tokens in use stay.
            with open(path, "w") as f:
                f.write("probe-n\n")
            c.proc.send_signal(signal.SIGHUP)
            self.assertTrue(c.wait_log(r"SIGHUP: the upload tokens in use stay: .*line 1"))
            os.chmod(path, 0o644)
            c.proc.send_signal(signal.SIGHUP)
            self.assertTrue(c.wait_log(r"SIGHUP: the upload tokens in use stay: .*every user"))
            self.assertEqual(c.bulk([meas(OK, now(), asn)], token=new)[0], 200)
            self.assertTrue(c.alive())
            self.assertEqual([r["provenance"] for r in c.rows(probe_asn=asn)],
                             ["probe-n", "probe-n", "probe-a"])
        finally:
            self.assertEqual(c.stop(), 0)


class TestClientCertificates(unittest.TestCase):
    """Finding 3, the other credential: a TLS client certificate from --client-ca's
    authorities, its common name recorded as the provenance."""

    def client_cert(self, d, name, subject, ca="ca"):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("basicConstraints = critical, CA:FALSE\nkeyUsage = critical, "
                    "digitalSignature\nextendedKeyUsage = clientAuth\n")
        harness.openssl(d, "req", "-new", "-config", "openssl.cnf", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + ".key",
                        "-out", name + ".csr", "-subj", subject)
        harness.openssl(d, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey",
                        ca + ".key", "-set_serial", str(random.randint(5000, 1 << 30)), "-days",
                        "30", "-extfile", name + ".ext", "-out", name + ".pem")
        return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")

    def test_client_certificate(self):
        d = tempfile.mkdtemp(dir=FX["tmp"])
        certs = harness.make_certs(d, "vigie trust test CA", [("server", "127.0.0.1")],
                                   "/CN=probe-self")
        good = self.client_cert(d, "probe-c", "/CN=probe-c")
        badname = self.client_cert(d, "badname", "/CN=not a name")
        c = Collector("--tls-cert", certs["server.pem"], "--tls-key", certs["server.key"],
                      "--client-ca", certs["ca.pem"], "--upload-tokens", FX["tokens"],
                      "--require-token", db=PG if PG else os.path.join(FX["tmp"], "certs.db"))
        try:
            asn = next_asn()
            self.assertTrue(c.wait_log(r"client certificates from .*anonymous uploads refused"))

            def with_cert(pair):
                ctx = ssl.create_default_context(cafile=certs["ca.pem"])
                if pair is not None:
                    ctx.load_cert_chain(*pair)
                c.ctx = ctx

            with_cert(None)
            st, j = c.bulk([meas(OK, now(), asn)])
            self.assertEqual(st, 401, j)
            self.assertIn("client certificate", j["error"])
            with_cert((certs["self.pem"], certs["self.key"]))  # not issued by the CA
            st, j = c.bulk([meas(OK, now(), asn)])
            self.assertEqual(st, 401, j)
            self.assertIn("not valid", j["error"])
            with_cert(badname)
            st, j = c.bulk([meas(OK, now(), asn)])
            self.assertEqual(st, 401, j)
            self.assertIn("common name", j["error"])
            with_cert(good)
            j = c.open_report(asn)
            st, _, s = c.submit(j["report_id"], meas(OK, now(), asn))
            self.assertEqual(st, 200, s)
            # a token sent with the certificate is the credential
            st, j = c.bulk([meas(MITM, now(), asn)], token=TOKEN_A)
            self.assertEqual(st, 200, j)
            self.assertEqual(sorted(r["provenance"] for r in c.rows(probe_asn=asn)),
                             ["probe-a", "probe-c"])
        finally:
            self.assertEqual(c.stop(), 0)
        p = run("serve", "--listen", "127.0.0.1:0", "--db", FX["db"], "--client-ca",
                certs["ca.pem"])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"--client-ca needs HTTPS", p.stderr)


class TestReports(unittest.TestCase):
    """Finding 4: report ids were published, and whoever read one could close the report or
    submit into it."""

    def test_published_id_opens_nothing(self):
        c, asn = mixed(), next_asn()
        j = c.open_report(asn)
        rid, public = j["report_id"], j["public_report_id"]
        st, _, s = c.submit(rid, meas(OK, now(), asn))
        self.assertEqual(st, 200, s)
        # What anyone sees: the public id, everywhere; never the submit id.
        [row] = c.rows(probe_asn=asn)
        self.assertEqual(row["report_id"], public)
        answers = [json.dumps(c.get("/api/v1/measurements", probe_asn=asn)),
                   json.dumps(c.get("/api/v1/targets", probe_asn=asn)),
                   json.dumps(c.get("/api/v1/aggregation", probe_asn=asn, axis_x="probe_cc")),
                   c.request("GET", "/api/v1/measurement/" + row["measurement_uid"])[2].decode()]
        for a in answers:
            self.assertNotIn(rid, a)
        self.assertFalse(database_contains(rid), "the submit id is in the database")
        # The attack: close it, and submit into it, with the published id.
        st, _, e = c.post("/report/%s/close" % public, {})
        self.assertEqual(st, 404, e)
        st, _, e = c.submit(public, meas(MITM, now(), asn))
        self.assertEqual(st, 404, e)
        # The probe goes on.
        st, _, s = c.submit(rid, meas(OK, now(), asn))
        self.assertEqual(st, 200, s)
        self.assertEqual(len(c.rows(probe_asn=asn)), 2)
        # Its holder closes it; then it takes nothing more (OONI's collector protocol).
        st, _, s = c.post("/report/%s/close" % rid, {})
        self.assertEqual((st, s), (200, {}))
        st, _, s = c.submit(rid, meas(OK, now(), asn))
        self.assertEqual(st, 409, s)

    def test_report_bound_to_its_credential(self):
        c, asn = mixed(), next_asn()
        rid = c.open_report(asn, TOKEN_A)["report_id"]
        # The submit id leaked: another credential, or none, still cannot use it.
        for token in (TOKEN_B, None):
            st, _, e = c.submit(rid, meas(MITM, now(), asn), token)
            self.assertEqual(st, 403, e)
            st, _, e = c.post("/report/%s/close" % rid, {}, token)
            self.assertEqual(st, 403, e)
        st, _, s = c.submit(rid, meas(OK, now(), asn), TOKEN_A)
        self.assertEqual(st, 200, s)
        [row] = c.rows(probe_asn=asn)
        self.assertEqual(row["provenance"], "probe-a")
        # And an anonymous report takes no token holder's uploads either.
        rid = c.open_report(asn)["report_id"]
        st, _, e = c.submit(rid, meas(OK, now(), asn), TOKEN_A)
        self.assertEqual(st, 403, e)

    def test_ooni_style_probe(self):
        """An OONI probe uses only what open answers: it keeps working."""
        c, asn = mixed(), next_asn()
        j = c.open_report(asn)
        self.assertEqual(sorted(j), ["backend_version", "public_report_id", "report_id",
                                     "supported_formats"])
        m = meas(OK, now(), asn)
        m["report_id"] = j["report_id"]  # what OONI's probes put in the measurement
        st, _, s = c.submit(j["report_id"], m)
        self.assertEqual(st, 200, s)
        raw = c.request("GET", "/api/v1/measurement/" + s["measurement_uid"])[2]
        self.assertEqual(json.loads(raw)["report_id"], j["public_report_id"])
        self.assertNotIn(j["report_id"].encode(), raw)


class TestDedup(unittest.TestCase):
    """Finding 5: a different measurement that carried a stored client id was answered
    "already stored" and lost."""

    def test_same_id_other_content_is_stored(self):
        c, asn = mixed(), next_asn()
        ident = str(uuid.uuid4())
        # Two distinct measurements sharing one id (as in OONI's own test data).
        first = meas(OK, now() - datetime.timedelta(minutes=2), asn, ident=ident)
        second = meas(MITM, now() - datetime.timedelta(minutes=1), asn, ident=ident)
        rid = c.open_report(asn)["report_id"]
        st, _, a = c.submit(rid, first)
        self.assertEqual((st, a["duplicate"]), (200, False), a)
        st, _, b = c.submit(rid, second)
        self.assertEqual((st, b["duplicate"]), (200, False), b)
        self.assertNotEqual(a["measurement_uid"], b["measurement_uid"])
        # The same measurement again: answered as a duplicate, with the uid stored first, by
        # submit and by bulk (where the collector's report_id does not make it another one).
        st, _, again = c.submit(rid, second)
        self.assertEqual((again["duplicate"], again["measurement_uid"]),
                         (True, b["measurement_uid"]))
        third = meas(OK, now(), asn, ident=ident)
        st, j = c.bulk([first, third, second])
        self.assertEqual(st, 200, j)
        self.assertEqual((j["accepted"], j["duplicates"], j["duplicate_lines"]), (3, 2, [1, 3]),
                         j)
        self.assertEqual(j["uids"][0], a["measurement_uid"])
        self.assertEqual(j["uids"][2], b["measurement_uid"])
        uids = {r["measurement_uid"] for r in c.rows(probe_asn=asn)}
        self.assertEqual(uids, {a["measurement_uid"], b["measurement_uid"], j["uids"][1]})
        self.assertEqual(c.get("/api/v1/aggregation", probe_asn=asn)["result"]["total"], 3)
        # import says which too
        path = os.path.join(FX["tmp"], "dedup-%d.jsonl" % asn)
        with open(path, "w") as f:
            f.write(json.dumps(first) + "\n" + json.dumps(meas(MITM, now(), asn, ident=ident)) +
                    "\n")
        p = run("import", "--db", c.db, "--provenance", "offline-1", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"2 accepted (1 new, 1 already stored)", p.stderr)
        self.assertEqual(len(c.rows(probe_asn=asn, provenance="offline-1")), 1)


def main():
    global VIGIE, PG, PG_CONN
    VIGIE, opts, argv = harness.parse(("--pg!",), " [--pg]")
    PG_CONN, PG = harness.pg_option(opts)
    return harness.run(argv)


if __name__ == "__main__":
    sys.exit(main())
