#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_serve.py - end-to-end tests of `vigie serve` (the collector) and `vigie import`.

Python 3 standard library only. The collector listens on 127.0.0.1 on an ephemeral port, with a
temporary SQLite file (default) or the PostgreSQL database named by VG_TEST_PG (--pg), or the
ClickHouse server of VG_TEST_CH (--ch: the part ClickHouse answers, CH_TESTS), or the same part
on a store sharded over the two servers of VG_TEST_CH2 (--ch-cluster: the first shard's URL
?cluster=vigie_cluster, the other shard's tables made by a `vigie serve ... check` of its own).
Measurements are real ones: `vigie probe` measures pages of a loopback server at set-up, and the
tests derive variants from them (network, input, verdict, time, id) so that every expected count
is known. Each test works under AS numbers of its own, so that tests (and runs sharing one
PostgreSQL database) never see each other's rows. Waits are bounded; nothing asserts on timing.

    python3 tests/integration/test_serve.py --vigie build/vigie [--pg | --ch | --ch-cluster]
        [unittest options]
"""
import calendar
import copy
import csv
import gzip
import http.client
import http.server
import io
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
import threading
import time
import unittest
import urllib.request
import uuid
import zlib
import harness

VIGIE = None            # path of the binary under test (set in main)
PG = None               # PostgreSQL store spec ("pg:CONNINFO" or a URL) when testing that backend
PG_CONN = None          # the same for libpq's tools (psql, pg_dump)
CH = None               # ClickHouse store URL (clickhouse://...) with --ch: a subset runs (CH_TESTS)
CH_NODES = []           # --ch-cluster: the other shards' URLs (CH is the first's, ?cluster=)
CH_CLUSTER = "vigie_cluster"  # the ch2 fixture's cluster (scripts/ch-test-server)
HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"
CLIENT_IP = "127.0.0.7"  # uploads come from this loopback address: it must never be kept
REQ_TIMEOUT = 60

REPORT_ID_RE = re.compile(r"^\d{8}T\d{6}Z_webconnectivity_([A-Z]{2})_(\d+)_n1_[A-Za-z0-9_-]{43}$")

FX = {}


def next_asn():
    """A fresh AS number: rows of one test are told apart by it."""
    FX["asn"] += 1
    return FX["asn"]


# --------------------------------------------------------------------------------------------
# the collector under test


class Collector(harness.Server):
    """`vigie serve` on 127.0.0.1:0 (harness.Server) with a client for its API."""

    def __init__(self, *args, db=None):
        self.db = db or FX["db"]
        super().__init__(VIGIE, "serve", "--db", self.db, *args)

    def connection(self, ctx=None, source=CLIENT_IP):
        src = (source, 0) if source else None
        if self.https:
            return http.client.HTTPSConnection(HOST, self.port, timeout=REQ_TIMEOUT, context=ctx,
                                               source_address=src)
        return http.client.HTTPConnection(HOST, self.port, timeout=REQ_TIMEOUT,
                                          source_address=src)

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

    def post_json(self, path, obj, headers=None):
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        status, hdrs, data = self.request("POST", path, body, h)
        return status, hdrs, json.loads(data.decode())

    def get_json(self, path):
        status, hdrs, data = self.request("GET", path)
        return status, hdrs, json.loads(data.decode())

    def open_report(self, cc="ZZ", asn=0, test_name="web_connectivity"):
        status, _, j = self.post_json("/report", report_meta(cc, asn, test_name))
        assert status == 200, (status, j)
        return j["report_id"]

    def submit(self, report_id, m):
        return self.post_json("/report/%s" % report_id, {"format": "json", "content": m})

    def bulk(self, lines, gz=False, ctype="application/x-ndjson"):
        body = "".join(l if isinstance(l, str) else json.dumps(l) + "\n" for l in lines).encode()
        headers = {"Content-Type": ctype}
        if gz:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        status, hdrs, data = self.request("POST", "/api/v1/bulk", body, headers)
        return status, hdrs, json.loads(data.decode())

    def list_all(self, query, limit=1000):
        """Every result of /api/v1/measurements for query (a dict), following the cursors."""
        out, cursor = [], None
        for _ in range(10000):
            q = dict(query, limit=limit)
            if cursor:
                q["cursor"] = cursor
            status, _, j = self.get_json("/api/v1/measurements?" + qs(q))
            assert status == 200, (status, j)
            out.extend(j["results"])
            cursor = j["next_cursor"]
            if cursor is None:
                return out
        raise AssertionError("paging does not end")

    def metrics(self):
        status, _, data = self.request("GET", "/metrics")
        assert status == 200, status
        values = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                values[key] = float(value)
        return values


class CountingProxy:
    """A TCP relay on 127.0.0.1 to the collector's port that counts the connections it
    accepted."""

    def __init__(self, port):
        self.port = port
        self.accepted = 0
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(64)
        self.url = "http://%s:%d" % (HOST, self.sock.getsockname()[1])
        self.done = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.done:
            try:
                a, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            b = socket.create_connection((HOST, self.port))
            for x, y in ((a, b), (b, a)):
                threading.Thread(target=self.pump, args=(x, y), daemon=True).start()

    @staticmethod
    def pump(src, dst):
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                dst.sendall(d)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def stop(self):
        self.done = True
        self.sock.close()


def qs(params):
    from urllib.parse import urlencode
    return urlencode(params)


def report_meta(cc="ZZ", asn=0, test_name="web_connectivity"):
    return {"data_format_version": "0.2.0", "format": "json", "probe_asn": "AS%d" % asn,
            "probe_cc": cc, "software_name": "vigie", "software_version": "0.1.0",
            "test_name": test_name, "test_start_time": "2026-03-01 10:00:00",
            "test_version": "0.5.28"}


def run(*args, stdin=None, timeout=120):
    return subprocess.run([VIGIE] + list(args), input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


# --------------------------------------------------------------------------------------------
# measurements: real ones from `vigie probe`, and variants of them


class Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html><head><title>vigie serve test</title></head><body>%s</body></html>" % (
            self.path.encode())
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def probe(urls, *extra):
    p = run("probe", "--format", "jsonl", "--quiet", *extra, *urls)
    assert p.returncode in (0, 1), p.stderr
    return [json.loads(l) for l in p.stdout.decode().splitlines()]


def variant(asn, cc="ZZ", input=None, verdict="accessible", start="2026-03-01 10:00:00",
            ident=True, template=None):
    """A copy of a real measurement with these fields; ident=False drops the client id."""
    m = copy.deepcopy(template or FX["template"])
    m["probe_asn"] = "AS%d" % asn
    m["probe_cc"] = cc
    if input is not None:
        m["input"] = input
    m["measurement_start_time"] = start
    m["test_start_time"] = start
    m["test_keys"]["x_verdict"] = verdict
    m["test_keys"]["x_cause"] = None if verdict == "accessible" else verdict + ".test"
    if ident:
        m["id"] = str(uuid.uuid4())
    else:
        m.pop("id", None)
    return m


def stamp(day, hour, minute=0, second=0):
    return "2026-03-%02d %02d:%02d:%02d" % (day, hour, minute, second)


# --------------------------------------------------------------------------------------------
# module fixtures


def psql(conn, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", conn, "-c", sql],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)


def ch_sql(url, sql):
    """Run sql on the ClickHouse server of url (clickhouse://USER:PASSWORD@HOST:PORT/DB) over its
    HTTP interface."""
    m = re.match(r"clickhouse://([^:@/]+):([^@/]*)@([^/]+)/", url)
    req = urllib.request.Request("http://%s/" % m.group(3), data=sql.encode(),
                                 headers={"X-ClickHouse-User": m.group(1),
                                          "X-ClickHouse-Key": m.group(2)})
    with urllib.request.urlopen(req, timeout=REQ_TIMEOUT) as r:
        return r.read()


def ch_spec(db):
    """The ClickHouse store spec CH with its database replaced by db (its ?options kept)."""
    base, sep, query = CH.partition("?")
    return re.sub(r"/[^/]*$", "/" + db, base) + sep + query


def ch_make_nodes(db):
    """--ch-cluster: database db made on every shard, and each other shard's tables made by a
    `vigie serve ... check` of its own (docs/storage.md, "Running a ClickHouse cluster for
    vigie": every node is made by a collector connected to it)."""
    for url in CH_NODES:
        ch_sql(url, "CREATE DATABASE IF NOT EXISTS %s" % db)
        spec = re.sub(r"/[^/]*$", "/" + db, url) + "?cluster=" + CH_CLUSTER
        run("serve", "--db", spec, "check")


def pg_own_database():
    """A database of our own on VG_TEST_PG's server, so that other suites (test_store drops the
    schema of its database) never run into ours."""
    global PG, PG_CONN
    name = "vigie_serve_test_%d_%d" % (os.getpid(), random.randint(0, 1 << 30))
    psql(PG_CONN, "CREATE DATABASE %s" % name)
    FX["pg_admin"] = PG_CONN
    FX["pg_db"] = name
    if re.match(r"postgres(ql)?://", PG_CONN):
        m = re.match(r"(postgres(?:ql)?://[^/?]*)(/[^?]*)?(\?.*)?$", PG_CONN)
        PG_CONN = m.group(1) + "/" + name + (m.group(3) or "")
        PG = PG_CONN
    else:
        PG_CONN = PG_CONN + " dbname=" + name  # libpq: the last value of a keyword wins
        PG = "pg:" + PG_CONN


def setUpModule():
    tmp = tempfile.mkdtemp(prefix="vigie-serve-test-")
    FX["tmp"] = tmp
    FX["asn"] = random.randint(100000, 2000000000)
    if PG:
        pg_own_database()
    FX["db"] = CH or PG or os.path.join(tmp, "collector.db")
    if CH_NODES:
        ch_make_nodes(re.sub(r"\?.*$", "", CH).rsplit("/", 1)[1])
    srv = http.server.ThreadingHTTPServer((HOST, 0), Pages)
    FX["pages"] = srv
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    FX["pages_url"] = "http://%s:%d" % (HOST, srv.server_address[1])
    ms = probe([FX["pages_url"] + "/template"])
    assert len(ms) == 1, ms
    FX["template"] = ms[0]
    FX["collector"] = Collector()


def tearDownModule():
    if "collector" in FX:
        FX["collector"].stop()
    if "pages" in FX:
        FX["pages"].shutdown()
    if "pg_db" in FX:
        psql(FX["pg_admin"], "DROP DATABASE %s WITH (FORCE)" % FX["pg_db"])
    shutil.rmtree(FX["tmp"], ignore_errors=True)


def col():
    return FX["collector"]


# --------------------------------------------------------------------------------------------


class TestCollectorAPI(unittest.TestCase):
    """OONI's collector protocol: open, submit, close."""

    def test_open_submit_close(self):
        c, asn = col(), next_asn()
        status, headers, j = c.post_json("/report", report_meta("IT", asn))
        self.assertEqual(status, 200, j)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(j["supported_formats"], ["json"])
        self.assertTrue(j["backend_version"])
        rid = j["report_id"]
        # The id to submit with is a secret (issue 13); the stored measurements and the query
        # API show the report's public id.
        public = j["public_report_id"]
        self.assertNotEqual(public, rid)
        m = REPORT_ID_RE.match(rid)
        self.assertIsNotNone(m, rid)
        self.assertEqual(m.group(1), "IT")
        self.assertEqual(int(m.group(2)), asn)
        self.assertIsNotNone(REPORT_ID_RE.match(public), public)
        # Both as OONI's collector splits them: six "_"-separated fields, the last one letters
        # and digits (ooni_validate.py checks the stored measurements' report_id the same way).
        for i in (rid, public):
            self.assertRegex(i, r"^\d{8}T\d{6}Z_webconnectivity_IT_\d+_n1_[A-Za-z0-9]{43}$")
        # A fresh id every time (256 random bits).
        self.assertNotEqual(rid, c.open_report("IT", asn))

        sent = variant(asn, "IT", verdict="blocked")
        status, _, j = c.submit(rid, sent)
        self.assertEqual(status, 200, j)
        uid = j["measurement_uid"]
        # OONI's spelling of the test in a uid: without "_" (as in its report_ids)
        self.assertRegex(uid, r"^\d{14}\.\d{6}_IT_webconnectivity_[0-9a-f]{16}$")
        status, headers, raw = c.request("GET", "/api/v1/measurement/" + uid)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        stored = json.loads(raw)
        self.assertEqual(stored["report_id"], public)
        harness.check_ooni(raw)  # as stored, with the collector's report_id: OONI's format
        self.assertEqual(stored["probe_ip"], "127.0.0.1")
        expect = dict(sent, report_id=public, probe_ip="127.0.0.1")
        self.assertEqual(stored, expect)
        self.assertNotIn(rid.encode(), raw)
        [row] = c.list_all({"probe_asn": asn})
        self.assertEqual(row["measurement_uid"], uid)
        self.assertEqual(row["report_id"], public)
        self.assertEqual(row["x_verdict"], "blocked")
        self.assertEqual(row["probe_asn"], "AS%d" % asn)

        status, _, j = c.post_json("/report/%s/close" % rid, {})
        self.assertEqual((status, j), (200, {}))
        # Closing is final: later submissions are refused, nothing is stored.
        status, _, j = c.submit(rid, variant(asn, "IT"))
        self.assertEqual(status, 409, j)
        self.assertEqual(len(c.list_all({"probe_asn": asn})), 1)
        status, _, j = c.post_json("/report/%s/close" % rid, b"")
        self.assertEqual(status, 200, j)

    def test_report_mismatch(self):
        c, asn = col(), next_asn()
        rid = c.open_report("IT", asn)
        for field, value in (("probe_cc", "FR"), ("probe_asn", "AS%d" % (asn + 1)),
                             ("test_name", "dnscheck")):
            m = variant(asn, "IT")
            m[field] = value
            status, _, j = c.submit(rid, m)
            self.assertEqual(status, 400, (field, j))
            self.assertIn(field, j["error"])
        self.assertEqual(c.list_all({"probe_asn": asn}), [])

    def test_probe_uploads_to_collector(self):
        """`vigie probe --collector` against `vigie serve`: the real client."""
        c = col()
        url = FX["pages_url"] + "/probe-" + uuid.uuid4().hex
        spool = os.path.join(FX["tmp"], "spool-" + uuid.uuid4().hex)
        p = run("probe", "--format", "jsonl", "--quiet", "--collector", c.url.rstrip("/"),
                "--spool", spool, url)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        [local] = [json.loads(l) for l in p.stdout.decode().splitlines()]
        rows = c.list_all({"input": url})
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0]["input"], url)
        self.assertEqual(rows[0]["domain"], "127.0.0.1")
        self.assertEqual(rows[0]["x_verdict"], local["test_keys"]["x_verdict"])
        self.assertTrue(REPORT_ID_RE.match(rows[0]["report_id"]), rows[0])
        status, _, raw = c.request("GET", "/api/v1/measurement/" + rows[0]["measurement_uid"])
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(raw)["id"], local["id"])
        self.assertEqual(os.listdir(spool) if os.path.isdir(spool) else [], [])

    def test_probe_uploads_from_several_loops(self):
        """`vigie probe --threads 2 --repeat 2`: the results of both loops reach the collector
        (one uploader, on the calling thread), each measurement once."""
        c = col()
        tag = uuid.uuid4().hex
        urls = [FX["pages_url"] + "/threads-%s-%d" % (tag, i) for i in range(8)]
        spool = os.path.join(FX["tmp"], "spool-" + tag)
        p = run("probe", "--format", "jsonl", "--quiet", "--threads", "2", "--parallel", "4",
                "--repeat", "2", "--collector", c.url.rstrip("/"), "--spool", spool, *urls)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        local = [json.loads(l) for l in p.stdout.decode().splitlines()]
        self.assertEqual(len(local), 16)
        stored = []
        for u in urls:
            stored += c.list_all({"input": u})
        self.assertEqual(len(stored), 16, stored)
        ids = set()
        for row in stored:
            status, _, raw = c.request("GET", "/api/v1/measurement/" + row["measurement_uid"])
            self.assertEqual(status, 200)
            ids.add(json.loads(raw)["id"])
        self.assertEqual(ids, {m["id"] for m in local}, "every measurement, each once")
        self.assertEqual(os.listdir(spool) if os.path.isdir(spool) else [], [])

    def test_upload_keeps_connections(self):
        """`vigie upload` of a spool of 40 through a proxy that counts connections: `vigie serve`
        keeps them alive and the uploader reuses them (at most its 8 in flight, not one per
        measurement); every measurement stored, the spool empty."""
        c, asn = col(), next_asn()
        spool = os.path.join(FX["tmp"], "spool-" + uuid.uuid4().hex)
        os.mkdir(spool)
        ms = [variant(asn, start=stamp(3, 0, i)) for i in range(40)]
        for m in ms:
            with open(os.path.join(spool, m["id"] + ".json"), "w") as f:
                f.write(json.dumps(m) + "\n")
        proxy = CountingProxy(c.port)
        try:
            p = run("upload", "--collector", proxy.url, "--spool", spool)
        finally:
            proxy.stop()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(c.list_all({"probe_asn": asn})), 40)
        self.assertEqual(os.listdir(spool), [])
        self.assertGreaterEqual(proxy.accepted, 1)
        self.assertLessEqual(proxy.accepted, 8, "%d connections" % proxy.accepted)

    def test_idempotent_uploads(self):
        c, asn = col(), next_asn()
        rid = c.open_report("DE", asn)
        m = variant(asn, "DE")
        uids = {c.submit(rid, m)[2]["measurement_uid"] for _ in range(3)}
        self.assertEqual(len(uids), 1)
        # The same measurement in a bulk upload (other report_id): the same id, the same uid.
        status, _, j = c.bulk([m])
        self.assertEqual(status, 200, j)
        self.assertEqual(j["uids"], list(uids))
        self.assertEqual(j["duplicates"], 1)
        # Without a client id the content decides.
        anon = variant(asn, "DE", ident=False, start=stamp(2, 3))
        first = c.submit(rid, anon)[2]["measurement_uid"]
        self.assertEqual(c.submit(rid, anon)[2]["measurement_uid"], first)
        self.assertEqual(len(c.list_all({"probe_asn": asn})), 2)
        status, _, agg = c.get_json("/api/v1/aggregation?" + qs({"probe_asn": asn}))
        self.assertEqual(agg["result"]["total"], 2)

    def test_probe_ip_scrubbed(self):
        """The client's address: not in the stored measurement, the database or the log."""
        c, asn = col(), next_asn()
        rid = c.open_report("ZZ", asn)
        m = variant(asn)
        m["probe_ip"] = CLIENT_IP
        m["test_keys"]["requests"][0]["response"]["headers"]["X-Seen-From"] = (
            "client %s here" % CLIENT_IP)
        status, _, j = c.submit(rid, m)
        self.assertEqual(status, 200, j)
        status, _, raw = c.request("GET", "/api/v1/measurement/" + j["measurement_uid"])
        stored = json.loads(raw)
        self.assertEqual(stored["probe_ip"], "127.0.0.1")
        self.assertEqual(stored["test_keys"]["requests"][0]["response"]["headers"]["X-Seen-From"],
                         "client [scrubbed] here")
        self.assertNotIn(CLIENT_IP.encode(), raw)
        # Bulk too.
        m2 = variant(asn, start=stamp(3, 4))
        m2["probe_ip"] = CLIENT_IP
        status, _, j = c.bulk([m2], gz=True)
        self.assertEqual(j["accepted"], 1, j)
        self.assertNotIn(CLIENT_IP, c.request("GET", "/api/v1/measurement/" + j["uids"][0])[2]
                         .decode())
        self.assertTrue(any("/report/" + rid in l for l in c.log()), c.log())
        self.assertFalse([l for l in c.log() if CLIENT_IP in l])
        self.assertFalse(database_contains(CLIENT_IP), "the client address is in the database")

    def test_probe_ip_scrubbed_exactly(self):
        """Issue 13, finding 6: the declared address in keys, in its other spellings, as plain
        IPv4 under an IPv4-mapped probe_ip; and never a longer address that contains it."""
        c, asn = col(), next_asn()
        rid = c.open_report("ZZ", asn)

        def stored(probe_ip, control, note):
            m = variant(asn, start=stamp(5, next_asn() % 24, next_asn() % 60))
            m["probe_ip"] = probe_ip
            m["test_keys"]["control"] = control
            m["test_keys"]["x_note"] = note
            status, _, j = c.submit(rid, m)
            self.assertEqual(status, 200, j)
            status, _, raw = c.request("GET", "/api/v1/measurement/" + j["measurement_uid"])
            self.assertEqual(status, 200)
            got = json.loads(raw)
            self.assertEqual(got["probe_ip"], "127.0.0.1")
            return got["test_keys"], raw.decode()

        # An object key ("A.B.C.D:443"); a longer address is another one.
        tk, raw = stored("198.51.100.23",
                         {"tcp_connect": {"198.51.100.23:443": {"status": True},
                                          "198.51.100.230:443": {"status": False}}},
                         "from 198.51.100.23, not 198.51.100.231 nor 10.198.51.100.23")
        self.assertEqual(list(tk["control"]["tcp_connect"]), ["[scrubbed]:443", "198.51.100.230:443"])
        self.assertEqual(tk["x_note"], "from [scrubbed], not 198.51.100.231 nor 10.198.51.100.23")
        self.assertNotIn("198.51.100.23:", raw)
        self.assertNotIn("[scrubbed]1", raw)
        # probe_ip ::ffff:A.B.C.D: the plain IPv4 goes too; keys that meet keep both values.
        tk, raw = stored("::ffff:198.51.100.24",
                         {"ip_info": {"198.51.100.24": {"asn": 1}, "::FFFF:198.51.100.24": {"asn": 2}}},
                         "plain 198.51.100.24, mapped ::ffff:198.51.100.24")
        self.assertEqual(tk["control"]["ip_info"], {"[scrubbed]": {"asn": 1},
                                                    "[scrubbed] (2)": {"asn": 2}})
        self.assertEqual(tk["x_note"], "plain [scrubbed], mapped [scrubbed]")
        self.assertNotIn("198.51.100.24", raw)
        # IPv6: every spelling of the declared one.
        tk, raw = stored("2001:DB8:0:0::77", {"tcp_connect": {"[2001:db8::77]:443": {}}},
                         "2001:db8::77 2001:0db8:0000:0000:0000:0000:0000:0077 2001:Db8::77")
        self.assertEqual(list(tk["control"]["tcp_connect"]), ["[[scrubbed]]:443"])
        self.assertEqual(tk["x_note"], "[scrubbed] [scrubbed] [scrubbed]")
        for spelling in ("2001:db8::77", "2001:0db8:0000", "2001:DB8:0:0::77", "2001:Db8::77"):
            self.assertNotIn(spelling, raw)
            self.assertFalse(database_contains(spelling), spelling + " is in the database")
        self.assertFalse(database_contains("198.51.100.23:443"))
        self.assertFalse(database_contains("198.51.100.24\""))

    def test_log_client_address_opt_in(self):
        db = os.path.join(FX["tmp"], "optin.db") if not PG else PG
        c = Collector("--log-client-address", db=db)
        try:
            status, _, _ = c.request("GET", "/healthz")
            self.assertEqual(status, 200)
            self.assertIsNotNone(c.wait_log(r"GET /healthz 200 .*client=" + re.escape(CLIENT_IP)))
        finally:
            self.assertEqual(c.stop(), 0)


def database_contains(needle):
    """Search every value of the database for needle, decompressing zlib blobs."""
    needle_b = needle.encode()
    if PG:
        p = subprocess.run(["pg_dump", "--data-only", "--dbname", PG_CONN], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        if p.returncode != 0:
            # The privacy check cannot be made: a failure, never a skip (like the pg fixture).
            raise AssertionError("pg_dump failed: %s" % p.stderr.decode())
        text = p.stdout
        if needle_b in text:
            return True
        for hexblob in re.findall(rb"\\\\x([0-9a-f]+)", text):
            try:
                if needle_b in zlib.decompress(bytes.fromhex(hexblob.decode())):
                    return True
            except zlib.error:
                pass
        return False
    for path in (FX["db"], FX["db"] + "-wal"):
        if os.path.exists(path):
            with open(path, "rb") as f:
                if needle_b in f.read():
                    return True
    con = sqlite3.connect("file:%s?mode=ro" % FX["db"], uri=True, timeout=30)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            for row in con.execute('SELECT * FROM "%s"' % t.replace('"', '""')):
                for v in row:
                    if isinstance(v, str) and needle in v:
                        return True
                    if isinstance(v, bytes):
                        if needle_b in v:
                            return True
                        try:
                            if needle_b in zlib.decompress(v):
                                return True
                        except zlib.error:
                            pass
    finally:
        con.close()
    return False


class TestQueries(unittest.TestCase):
    """The query API over a data set whose answers are known."""

    @classmethod
    def setUpClass(cls):
        c = col()
        cls.asn_a, cls.asn_b = next_asn(), next_asn()
        tag = uuid.uuid4().hex[:8]
        cls.inputs = ["https://one-%s.example/" % tag, "https://two-%s.example/page?q=1" % tag,
                      "http://three-%s.example:8080/" % tag]
        verdicts = ["accessible", "blocked", "intercepted", "down", "unknown"]
        cls.rows = []
        n = 0
        for day in (1, 2):
            for hour in (9, 10, 23):
                for i, inp in enumerate(cls.inputs):
                    asn, cc = (cls.asn_a, "IT") if (n % 3) else (cls.asn_b, "FR")
                    v = verdicts[(n * 7 + i) % 5]
                    start = stamp(day, hour, n % 60, i)
                    cls.rows.append(dict(asn=asn, cc=cc, input=inp, verdict=v, start=start,
                                         m=variant(asn, cc, inp, v, start)))
                    n += 1
        status, _, j = c.bulk([r["m"] for r in cls.rows])
        assert status == 200 and j["accepted"] == len(cls.rows), j
        for r, uid in zip(cls.rows, j["uids"]):
            r["uid"] = uid
        cls.asns = "%d" % cls.asn_a

    def expect(self, pred):
        got = [r for r in self.rows if pred(r)]
        return sorted(got, key=lambda r: (r["start"], r["uid"]), reverse=True)

    def mine(self, r):
        return r["asn"] in (self.asn_a, self.asn_b)

    def check_list(self, query, pred):
        c = col()
        for asn in (self.asn_a, self.asn_b):
            got = c.list_all(dict(query, probe_asn=asn))
            want = self.expect(lambda r: r["asn"] == asn and pred(r))
            self.assertEqual([g["measurement_uid"] for g in got], [w["uid"] for w in want],
                             query)

    def test_list_fields(self):
        c = col()
        got = c.list_all({"probe_asn": self.asn_a})
        r = [x for x in self.rows if x["uid"] == got[0]["measurement_uid"]][0]
        g = got[0]
        self.assertEqual(g["input"], r["input"])
        self.assertEqual(g["probe_cc"], r["cc"])
        self.assertEqual(g["probe_asn"], "AS%d" % r["asn"])
        self.assertEqual(g["x_verdict"], r["verdict"])
        self.assertEqual(g["measurement_start_time"], r["start"].replace(" ", "T") + "Z")
        self.assertEqual(g["test_name"], "web_connectivity")

    def test_filters(self):
        inp = self.inputs[1]
        self.check_list({}, lambda r: True)
        self.check_list({"input": inp}, lambda r: r["input"] == inp)
        dom = inp.split("/")[2]
        self.check_list({"domain": dom}, lambda r: r["input"].split("/")[2] == dom)
        self.check_list({"domain": dom.upper()}, lambda r: r["input"].split("/")[2] == dom)
        self.check_list({"domain": "three-%s.example" % self.inputs[2].split("-")[1][:8]},
                        lambda r: r["input"] == self.inputs[2])
        self.check_list({"probe_cc": "IT"}, lambda r: r["cc"] == "IT")
        self.check_list({"probe_cc": "fr"}, lambda r: r["cc"] == "FR")
        for v in ("accessible", "blocked", "intercepted", "down", "unknown"):
            self.check_list({"x_verdict": v}, lambda r, v=v: r["verdict"] == v)
        self.check_list({"since": "2026-03-02"}, lambda r: r["start"] >= "2026-03-02")
        self.check_list({"until": "2026-03-01T23:00:00Z"},
                        lambda r: r["start"] < "2026-03-01 23:00:00")
        self.check_list({"since": "2026-03-01 10:00:00", "until": "2026-03-02T10:00"},
                        lambda r: "2026-03-01 10:00:00" <= r["start"] < "2026-03-02 10:00:00")
        self.check_list({"x_verdict": "blocked", "input": inp, "since": "2026-03-01"},
                        lambda r: r["verdict"] == "blocked" and r["input"] == inp)
        # "AS" prefix or not.
        got = col().list_all({"probe_asn": "AS%d" % self.asn_a})
        self.assertEqual(len(got), len(self.expect(lambda r: r["asn"] == self.asn_a)))

    def test_paging_stable(self):
        c = col()
        want = [r["uid"] for r in self.expect(lambda r: r["asn"] == self.asn_a)]
        seen, cursor, pages = [], None, 0
        extra_asn = self.asn_a
        while True:
            q = {"probe_asn": extra_asn, "limit": 4}
            if cursor:
                q["cursor"] = cursor
            status, _, j = c.get_json("/api/v1/measurements?" + qs(q))
            self.assertEqual(status, 200, j)
            self.assertLessEqual(len(j["results"]), 4)
            seen.extend(x["measurement_uid"] for x in j["results"])
            pages += 1
            if pages == 1:
                # Rows arriving while paging: a newer one lies behind the cursor, an older one
                # ahead of it. Neither may disturb the pages of the others.
                newer = variant(self.asn_a, "IT", self.inputs[0], "blocked", stamp(28, 12))
                older = variant(self.asn_a, "IT", self.inputs[0], "blocked", "2026-02-01 00:00:00")
                status, _, jb = c.bulk([newer, older])
                self.assertEqual(jb["accepted"], 2, jb)
                newer_uid, older_uid = jb["uids"]
            cursor = j["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(len(seen), len(set(seen)), "a row came twice")
        self.assertNotIn(newer_uid, seen)
        self.assertEqual(seen, want + [older_uid])
        self.assertGreater(pages, 3)
        # Clean up: the class's expectations hold for the other tests.
        type(self).rows.append(dict(asn=self.asn_a, cc="IT", input=self.inputs[0],
                                    verdict="blocked", start=stamp(28, 12), uid=newer_uid))
        type(self).rows.append(dict(asn=self.asn_a, cc="IT", input=self.inputs[0],
                                    verdict="blocked", start="2026-02-01 00:00:00",
                                    uid=older_uid))

    def test_aggregation(self):
        c = col()

        def counts(rows):
            out = {v: 0 for v in ("accessible", "blocked", "intercepted", "down", "unknown")}
            for r in rows:
                out[r["verdict"]] += 1
            out["total"] = len(rows)
            return out

        mine = [r for r in self.rows if r["asn"] == self.asn_b]
        status, _, j = c.get_json("/api/v1/aggregation?" + qs({"probe_asn": self.asn_b}))
        self.assertEqual(status, 200, j)
        self.assertEqual(j["dimension_count"], 0)
        self.assertEqual({k: j["result"][k] for k in counts([])}, counts(mine))

        status, _, j = c.get_json("/api/v1/aggregation?" + qs(
            {"probe_asn": self.asn_b, "axis_x": "measurement_day"}))
        self.assertEqual(j["dimension_count"], 1)
        days = {}
        for r in mine:
            days.setdefault(r["start"][:10], []).append(r)
        self.assertEqual([x["measurement_day"] for x in j["result"]], sorted(days))
        for x in j["result"]:
            self.assertEqual({k: x[k] for k in counts([])}, counts(days[x["measurement_day"]]))

        q = {"probe_cc": "IT", "probe_asn": self.asn_a, "axis_x": "domain",
             "axis_y": "x_verdict", "since": "2026-03-01T10:00:00Z", "until": "2026-03-02"}
        status, _, j = c.get_json("/api/v1/aggregation?" + qs(q))
        self.assertEqual(status, 200, j)
        self.assertEqual(j["dimension_count"], 2)
        want = {}
        for r in self.rows:
            if r["asn"] == self.asn_a and "2026-03-01 10" <= r["start"] < "2026-03-02":
                want.setdefault((r["input"].split("/")[2].split(":")[0], r["verdict"]), []).append(r)
        got = {(x["domain"], x["x_verdict"]): x for x in j["result"]}
        self.assertEqual(set(got), set(want))
        for k, rows in want.items():
            self.assertEqual(got[k]["total"], len(rows))
            self.assertEqual(got[k][k[1]], len(rows))

        # CSV: the same numbers.
        status, headers, data = c.request("GET", "/api/v1/aggregation?" + qs(dict(q, format="CSV")))
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/csv"))
        lines = data.decode().split("\r\n")
        self.assertEqual(lines[0], "domain,x_verdict,accessible,blocked,intercepted,down,"
                                   "unknown,total")
        self.assertEqual(lines[-1], "")
        csv_rows = [l.split(",") for l in lines[1:-1]]
        self.assertEqual(len(csv_rows), len(j["result"]))
        for cr, x in zip(csv_rows, j["result"]):
            self.assertEqual(cr, [x["domain"], x["x_verdict"]] +
                             [str(x[k]) for k in ("accessible", "blocked", "intercepted", "down",
                                                  "unknown", "total")])

        status, _, j = c.get_json("/api/v1/aggregation?" + qs(
            {"probe_asn": self.asn_a, "axis_x": "measurement_hour", "axis_y": "probe_cc"}))
        self.assertEqual(status, 200, j)
        hours = {}
        for r in self.rows:
            if r["asn"] == self.asn_a:
                key = (r["start"][:10] + "T" + r["start"][11:13] + ":00:00Z", r["cc"])
                hours[key] = hours.get(key, 0) + 1
        self.assertEqual({(x["measurement_hour"], x["probe_cc"]): x["total"] for x in j["result"]},
                         hours)

    def test_targets(self):
        c, asn = col(), next_asn()
        target = "https://target-%s.example/" % uuid.uuid4().hex[:8]
        seq = [("accessible", stamp(5, 1)), ("blocked", stamp(5, 2)), ("blocked", stamp(5, 3))]
        ms = [variant(asn, "IR", target, v, t) for v, t in seq]
        ms.append(variant(asn, "TR", target, "accessible", stamp(5, 4)))
        status, _, j = c.bulk(ms)
        self.assertEqual(j["accepted"], 4, j)
        status, _, j = c.get_json("/api/v1/targets?" + qs({"probe_asn": asn}))
        self.assertEqual(status, 200, j)
        got = {(x["input"], x["probe_cc"]): x for x in j["results"]}
        self.assertEqual(set(got), {(target, "IR"), (target, "TR")})
        ir = got[(target, "IR")]
        self.assertEqual(ir["x_verdict"], "blocked")
        self.assertEqual(ir["since"], "2026-03-05T02:00:00Z")
        self.assertEqual(ir["last_seen"], "2026-03-05T03:00:00Z")
        self.assertEqual(ir["measurement_uid"], j["results"][0]["measurement_uid"]
                         if j["results"][0]["probe_cc"] == "IR" else
                         j["results"][1]["measurement_uid"])
        self.assertEqual(ir["probe_asn"], "AS%d" % asn)
        self.assertEqual(ir["domain"], target.split("/")[2])
        self.assertEqual(got[(target, "TR")]["x_verdict"], "accessible")
        status, _, j = c.get_json("/api/v1/targets?" + qs({"probe_asn": asn,
                                                           "x_verdict": "blocked"}))
        self.assertEqual([x["probe_cc"] for x in j["results"]], ["IR"])
        status, _, j = c.get_json("/api/v1/targets?" + qs({"probe_asn": asn, "limit": 1}))
        self.assertEqual(len(j["results"]), 1)
        self.assertIsNotNone(j["next_cursor"])
        status, _, j2 = c.get_json("/api/v1/targets?" + qs({"probe_asn": asn, "limit": 1,
                                                            "cursor": j["next_cursor"]}))
        self.assertEqual(status, 200, j2)
        self.assertEqual(len(j2["results"]), 1)
        self.assertNotEqual(j2["results"][0]["probe_cc"], j["results"][0]["probe_cc"])

    def test_measurements_and_targets_csv(self):
        """format=CSV or Accept: text/csv on /measurements and /targets: a header, RFC 4180
        quoting, the JSON's values, formulas defused, the next page's cursor in X-Next-Cursor."""
        c, asn = col(), next_asn()
        target = 'https://csv-%s.example/a,b?q="x"' % uuid.uuid4().hex[:8]
        formula = "=HYPERLINK(1)"
        ms = [variant(asn, "IR", target, "blocked", stamp(6, 1)),
              variant(asn, "TR", target, "accessible", stamp(6, 2))]
        ms[0]["test_keys"]["x_cause"] = formula
        status, _, j = c.bulk(ms)
        self.assertEqual(j["accepted"], 2, j)
        for route in ("measurements", "targets"):
            q = {"probe_asn": asn}
            status, _, want = c.get_json("/api/v1/%s?%s" % (route, qs(q)))
            self.assertEqual(status, 200, want)
            for how in ({"format": "CSV"}, {"format": "csv"}, None):
                path = "/api/v1/%s?%s" % (route, qs(dict(q, **(how or {}))))
                status, headers, data = c.request(
                    "GET", path, headers=None if how else {"Accept": "text/html, text/csv;q=0.9"})
                self.assertEqual(status, 200, data)
                self.assertTrue(headers["content-type"].startswith("text/csv"), headers)
                text = data.decode()
                self.assertTrue(text.endswith("\r\n"))
                rows = list(csv.reader(io.StringIO(text, newline="")))
                header, body = rows[0], rows[1:]
                self.assertEqual(header, list(want["results"][0].keys()))
                self.assertEqual(len(body), len(want["results"]))
                for got, w in zip(body, want["results"]):
                    for k, v in zip(header, got):
                        if k == "x_cause" and w[k] == formula:
                            self.assertEqual(v, "'" + formula)
                        elif isinstance(w[k], bool):
                            self.assertEqual(v, "true" if w[k] else "false")
                        else:
                            self.assertEqual(v, "" if w[k] is None else str(w[k]))
                self.assertIn('"%s"' % target.replace('"', '""'), text)
            # Paging: the cursor of the JSON page, in a header.
            status, headers, data = c.request("GET", "/api/v1/%s?%s" % (
                route, qs(dict(q, limit=1, format="CSV"))))
            self.assertEqual(status, 200)
            status2, _, j1 = c.get_json("/api/v1/%s?%s" % (route, qs(dict(q, limit=1))))
            self.assertEqual(headers.get("x-next-cursor"), j1["next_cursor"])
            self.assertEqual(len(data.decode().split("\r\n")), 3)  # header, row, ""
            status, headers, data = c.request("GET", "/api/v1/%s?%s" % (
                route, qs(dict(q, cursor=j1["next_cursor"], format="CSV"))))
            self.assertEqual(status, 200)
            self.assertNotIn("x-next-cursor", headers)
            # format=JSON wins over Accept; q=0 refuses CSV; an empty page still has its header.
            status, headers, _ = c.request("GET", "/api/v1/%s?%s" % (
                route, qs(dict(q, format="JSON"))), headers={"Accept": "text/csv"})
            self.assertTrue(headers["content-type"].startswith("application/json"))
            status, headers, _ = c.request("GET", "/api/v1/%s?%s" % (route, qs(q)),
                                           headers={"Accept": "text/csv;q=0, */*"})
            self.assertTrue(headers["content-type"].startswith("application/json"))
            status, _, data = c.request("GET", "/api/v1/%s?%s" % (
                route, qs({"probe_asn": next_asn(), "format": "CSV"})))
            self.assertEqual(status, 200)
            self.assertEqual(data.decode(), ",".join(header) + "\r\n")
            status, _, j = c.get_json("/api/v1/%s?%s" % (route, qs(dict(q, format="xml"))))
            self.assertEqual(status, 400, j)


    def test_targets_window(self):
        """window=: the verdicts of each target x network over the last hour / day / week /
        month, with shares, Wilson intervals, first and last interference, intermittency."""
        c, asn = col(), next_asn()
        tag = uuid.uuid4().hex[:8]
        https, http = "https://win-%s.example/" % tag, "http://win-%s.example/" % tag
        now = int(time.time())

        def at(ago):
            return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now - ago))

        def near_hour(got, ago, window):
            """first/last interference are to the hour: the start of the hour of now - ago, or
            the window's start (now - window, by the server's clock: a few seconds apart)."""
            t = calendar.timegm(time.strptime(got, "%Y-%m-%dT%H:%M:%SZ"))
            want = max(now - ago - (now - ago) % 3600, now - window)
            self.assertLessEqual(abs(t - want), 5, (got, ago, window))
        # https: intercepted in 4 of the last 8 trials (the latest accessible), blocked twice
        # two days ago; http: accessible throughout.
        ms = [variant(asn, "CN", https, "accessible" if i % 2 else "intercepted",
                      at(60 * (8 - i) - 30)) for i in range(8)]
        ms += [variant(asn, "CN", https, "blocked", at(2 * 86400 + k)) for k in range(2)]
        ms += [variant(asn, "CN", http, "accessible", at(60 * k + 5)) for k in range(3)]
        status, _, j = c.bulk(ms)
        self.assertEqual(j["accepted"], len(ms), j)
        status, _, j = c.get_json("/api/v1/targets?" + qs({"probe_asn": asn}))
        self.assertNotIn("window", j["results"][0])
        status, _, j = c.get_json("/api/v1/targets?" + qs({"probe_asn": asn, "window": "1h"}))
        self.assertEqual(status, 200, j)
        got = {x["input"]: x for x in j["results"]}
        self.assertEqual(set(got), {https, http})
        w = got[https]["window"]
        self.assertEqual(got[https]["x_verdict"], "accessible")
        self.assertEqual(w["seconds"], 3600)
        self.assertEqual(w["total"], 8)
        self.assertEqual(w["verdicts"]["intercepted"]["n"], 4)
        self.assertEqual(w["verdicts"]["intercepted"]["share"], 0.5)
        # Wilson 95%: 4/8 -> 21.5%-78.5%
        self.assertEqual((w["verdicts"]["intercepted"]["ci_low"],
                          w["verdicts"]["intercepted"]["ci_high"]), (0.2152, 0.7848))
        self.assertEqual(w["verdicts"]["blocked"]["n"], 0)
        self.assertEqual(w["interference"]["n"], 4)
        self.assertTrue(w["intermittent"])
        near_hour(w["first_interference"], 60 * 8 - 30, 3600)
        near_hour(w["last_interference"], 60 * 2 - 30, 3600)
        h = got[http]["window"]
        self.assertEqual((h["total"], h["interference"]["n"], h["intermittent"]), (3, 0, False))
        self.assertIsNone(h["first_interference"])
        self.assertEqual(h["verdicts"]["accessible"]["share"], 1)
        status, _, j = c.get_json("/api/v1/targets?" + qs({"probe_asn": asn, "window": "7d",
                                                           "input": https}))
        w = j["results"][0]["window"]
        self.assertEqual((w["total"], w["verdicts"]["blocked"]["n"], w["interference"]["n"]),
                         (10, 2, 6))
        near_hour(w["first_interference"], 2 * 86400 + 1, 7 * 86400)
        near_hour(w["last_interference"], 60 * 2 - 30, 7 * 86400)
        # a domain's page: its http:// and https:// inputs sort apart (two ranges are read)
        status, _, j = c.get_json("/api/v1/targets?" + qs({"domain": "win-%s.example" % tag,
                                                           "window": "1h"}))
        self.assertEqual({x["input"]: x["window"]["total"] for x in j["results"]},
                         {https: 8, http: 3})
        # in the targets' order (bytewise), which a domain's page keeps with or without window=
        self.assertEqual([x["input"] for x in j["results"]], [http, https])
        status, _, j = c.get_json("/api/v1/targets?" + qs({"domain": "win-%s.example" % tag}))
        self.assertEqual([x["input"] for x in j["results"]], [http, https])
        # one provenance's latest states (their scope) have their windows too
        status, _, j = c.get_json("/api/v1/targets?" + qs({"probe_asn": asn, "window": "7d",
                                                           "input": https,
                                                           "provenance": "anonymous"}))
        self.assertEqual(status, 200, j)
        self.assertEqual([x["window"]["total"] for x in j["results"]], [10])
        # paging: each page has its own rows' windows
        status, _, j = c.get_json("/api/v1/targets?" + qs({"probe_asn": asn, "window": "24h",
                                                           "limit": 1}))
        status, _, j2 = c.get_json("/api/v1/targets?" + qs({"probe_asn": asn, "window": "24h",
                                                            "limit": 1,
                                                            "cursor": j["next_cursor"]}))
        self.assertEqual([j["results"][0]["window"]["total"], j2["results"][0]["window"]["total"]],
                         [3, 8])
        for bad in ("2h", "24H", "0", "1d"):
            status, _, j = c.get_json("/api/v1/targets?" + qs({"window": bad}))
            self.assertEqual(status, 400, j)
            self.assertIn("window must be", j["error"])
        status, _, j = c.get_json("/api/v1/measurements?window=24h")
        self.assertEqual(status, 400, j)

    def test_targets_window_origins(self):
        """A window page of 1 to 6 origins (each a range of inputs read), with every filter the
        window keeps: a page of exactly four once made the query outgrow its parameters and
        abort the server."""
        c = col()
        for k in range(1, 7):
            asn, tag = next_asn(), uuid.uuid4().hex[:8]
            inputs = ["https://o%d-%s.example/" % (i, tag) for i in range(k)]
            start = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 60))
            status, _, j = c.bulk([variant(asn, "CN", u, "intercepted", start) for u in inputs])
            self.assertEqual(j["accepted"], k, j)
            for extra in ({}, {"probe_cc": "CN", "provenance": "anonymous"}):
                q = dict(extra, probe_asn=asn, window="24h")
                status, _, j = c.get_json("/api/v1/targets?" + qs(q))
                self.assertEqual(status, 200, (k, j))
                self.assertEqual(sorted(x["input"] for x in j["results"]), sorted(inputs))
                self.assertTrue(all(x["window"]["total"] == 1 for x in j["results"]), j)
        status, _, j = c.get_json("/api/v1/targets")
        self.assertEqual(status, 200, j)


class TestBulk(unittest.TestCase):

    def test_bulk_plain_and_gzip(self):
        c, asn = col(), next_asn()
        good = [variant(asn, "BR", start=stamp(7, h)) for h in range(5)]
        lines = [json.dumps(good[0]) + "\n", "\n",
                 json.dumps(good[1]) + "\r\n",
                 "{not json\n",
                 json.dumps({k: v for k, v in good[2].items() if k != "probe_cc"}) + "\n",
                 json.dumps(dict(good[2], data_format_version="9.9.9")) + "\n",
                 "[1,2,3]\n",
                 json.dumps(good[2]) + "\n",
                 json.dumps(good[3])]  # no final newline
        status, _, j = c.bulk(lines)
        self.assertEqual(status, 200, j)
        self.assertEqual(j["accepted"], 4)
        self.assertEqual(len(j["uids"]), 4)
        self.assertEqual([r["line"] for r in j["rejected"]], [4, 5, 6, 7])
        self.assertIn("probe_cc", j["rejected"][1]["error"])
        self.assertIn("data_format_version", j["rejected"][2]["error"])
        for r in j["rejected"]:
            self.assertTrue(r["error"])
        status, _, j = c.bulk([good[4], good[0]], gz=True)
        self.assertEqual(status, 200, j)
        self.assertEqual((j["accepted"], j["duplicates"], j["rejected"]), (2, 1, []))
        self.assertEqual(len(c.list_all({"probe_asn": asn})), 5)
        # Concatenated gzip members are one body.
        body = (gzip.compress((json.dumps(variant(asn, "BR", start=stamp(8, 1))) + "\n").encode())
                + gzip.compress(json.dumps(variant(asn, "BR", start=stamp(8, 2))).encode()))
        status, _, data = c.request("POST", "/api/v1/bulk", body,
                                    {"Content-Type": "application/x-ndjson",
                                     "Content-Encoding": "gzip"})
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["accepted"], 2)


class TestErrors(unittest.TestCase):
    """Every refusal is a 4xx with {"error": ...}, and leaves nothing behind."""

    @classmethod
    def setUpClass(cls):
        cls.small = Collector("--max-body", "65536")

    @classmethod
    def tearDownClass(cls):
        cls.small.stop()

    def assertError(self, resp, status):
        st, headers, data = resp
        self.assertEqual(st, status, data)
        self.assertEqual(headers.get("content-type"), "application/json")
        j = json.loads(data)
        self.assertEqual(list(j), ["error"])
        self.assertTrue(j["error"])
        return j["error"]

    def test_upload_errors(self):
        c, asn = self.small, next_asn()
        rid = c.open_report("NL", asn)
        ok = variant(asn, "NL")
        js = {"Content-Type": "application/json"}
        path = "/report/" + rid

        def post(body, headers=js, p=path):
            return c.request("POST", p, body if isinstance(body, bytes) else
                             json.dumps(body).encode(), headers)

        self.assertError(post(b"{\"format\": \"json\", \"content\": "), 400)
        self.assertError(post(b""), 400)
        self.assertError(post([1]), 400)
        self.assertError(post({"format": "yaml", "content": ok}), 400)
        self.assertError(post({"format": "json"}), 400)
        self.assertError(post({"format": "json", "content": "x"}), 400)
        for field in ("probe_cc", "test_name", "measurement_start_time", "data_format_version"):
            m = dict(ok)
            del m[field]
            self.assertIn(field, self.assertError(post({"format": "json", "content": m}), 400))
        self.assertIn("data_format_version", self.assertError(
            post({"format": "json", "content": dict(ok, data_format_version="0.1.0")}), 400))
        self.assertError(post({"format": "json", "content": dict(ok, measurement_start_time="x")}),
                         400)
        self.assertError(post(b"{\"format\":\"json\",\"format\":\"json\",\"content\":{}}"), 400)
        # Content types and encodings.
        self.assertError(post({"format": "json", "content": ok}, {"Content-Type": "text/plain"}),
                         415)
        self.assertError(post({"format": "json", "content": ok}, {}), 415)
        self.assertError(post({"format": "json", "content": ok},
                              {"Content-Type": "application/json", "Content-Encoding": "br"}),
                         415)
        self.assertError(post(b"\x1f\x8b garbage", {"Content-Type": "application/json",
                                                  "Content-Encoding": "gzip"}), 400)
        self.assertError(post(b"{}\n", {"Content-Type": "application/json-patch+json"},
                              "/api/v1/bulk"), 415)
        self.assertError(post(b"\n\n", {"Content-Type": "application/x-ndjson"}, "/api/v1/bulk"),
                         400)
        # Unknown reports.
        self.assertError(post({"format": "json", "content": ok}, js,
                              "/report/20260301T000000Z_webconnectivity_NL_1_n1_nope"), 404)
        self.assertError(post({"format": "json", "content": ok}, js, "/report/x%00y"), 404)
        self.assertError(post({}, js, "/report/nope/close"), 404)
        self.assertError(post({}, js, "/report/" + "a" * 300), 404)
        # Opening reports.
        meta = report_meta("NL", asn)
        for field in meta:
            m = dict(meta)
            del m[field]
            self.assertIn(field, self.assertError(post(m, js, "/report"), 400))
        for field, bad in (("data_format_version", "0.3.0"), ("format", "yaml"),
                           ("probe_asn", "1234"), ("probe_cc", "nl"), ("test_name", "Web"),
                           ("test_start_time", "2026-02-30 00:00:00"), ("software_name", "a b")):
            self.assertError(post(dict(meta, **{field: bad}), js, "/report"), 400)
        # Nothing was stored by any of these.
        self.assertEqual(c.list_all({"probe_asn": asn}), [])
        status, _, j = c.submit(rid, ok)
        self.assertEqual(status, 200, j)

    def test_too_large(self):
        c, asn = self.small, next_asn()
        rid = c.open_report("NL", asn)
        big = variant(asn, "NL")
        big["test_keys"]["padding"] = "x" * 70000
        # A declared length over the limit is refused before the body is read.
        s = socket.create_connection((HOST, c.port), timeout=REQ_TIMEOUT,
                                     source_address=(CLIENT_IP, 0))
        try:
            s.sendall(("POST /report/%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 70000\r\n\r\n" % rid).encode())
            data = b""
            while b"\r\n\r\n" not in data:
                part = s.recv(4096)
                if not part:
                    break
                data += part
            self.assertTrue(data.startswith(b"HTTP/1.1 413 "), data)
        finally:
            s.close()
        # Chunked, with no declared length: read, dropped, refused.
        body = json.dumps({"format": "json", "content": big}).encode()

        def chunks():
            for i in range(0, len(body), 8192):
                yield body[i:i + 8192]

        conn = c.connection()
        try:
            conn.request("POST", "/report/" + rid, body=chunks(),
                         headers={"Content-Type": "application/json"}, encode_chunked=True)
            resp = conn.getresponse()
            self.assertEqual(resp.status, 413)
            self.assertIn("error", json.loads(resp.read()))
        finally:
            conn.close()
        # A small gzip body that inflates past the limit.
        bomb = gzip.compress(b"\n" * (10 * 1024 * 1024))
        self.assertError(c.request("POST", "/api/v1/bulk", bomb,
                                   {"Content-Type": "application/x-ndjson",
                                    "Content-Encoding": "gzip"}), 413)
        self.assertEqual(c.list_all({"probe_asn": asn}), [])

    def test_query_errors(self):
        c = self.small
        for path in ("/api/v1/measurements?limit=0", "/api/v1/measurements?limit=1001",
                     "/api/v1/measurements?limit=ten", "/api/v1/measurements?probe_cc=ITA",
                     "/api/v1/measurements?probe_asn=ASx", "/api/v1/measurements?x_verdict=bad",
                     "/api/v1/measurements?since=yesterday",
                     "/api/v1/measurements?until=2026-13-01",
                     "/api/v1/measurements?since=2026-03-02&until=2026-03-01",
                     "/api/v1/measurements?cursor=garbage",
                     "/api/v1/measurements?colour=blue",
                     "/api/v1/measurements?limit=1&limit=2",
                     "/api/v1/measurements?domain=a%20b",
                     "/api/v1/aggregation?axis_x=colour",
                     "/api/v1/aggregation?axis_x=domain&axis_y=domain",
                     "/api/v1/aggregation?axis_y=domain",
                     "/api/v1/aggregation?input=https://x/",
                     "/api/v1/aggregation?format=xml",
                     "/api/v1/aggregation?limit=3",
                     "/api/v1/targets?axis_x=domain",
                     "/api/v1/targets?cursor=%00"):
            self.assertError(c.request("GET", path), 400)
        self.assertError(c.request("GET", "/api/v1/measurement/nope"), 404)
        self.assertError(c.request("GET", "/api/v1/measurement/a..b%2F"), 404)
        self.assertError(c.request("GET", "/nowhere"), 404)
        self.assertError(c.request("GET", "/api/v1/measurements/extra"), 404)
        st, headers, _ = c.request("POST", "/api/v1/measurements", b"{}",
                                   {"Content-Type": "application/json"})
        self.assertEqual(st, 405)
        self.assertEqual(headers["allow"], "GET, HEAD")
        st, headers, _ = c.request("GET", "/report")
        self.assertEqual(st, 405)
        self.assertEqual(headers["allow"], "POST")
        self.assertError(c.request("DELETE", "/api/v1/bulk"), 405)

    def test_database_unavailable(self):
        """A locked database: uploads get 503 with Retry-After, then succeed once it is free."""
        db = PG if PG else os.path.join(FX["tmp"], "locked.db")
        c = Collector("--db-timeout", "300ms", db=db)
        try:
            asn = next_asn()
            rid = c.open_report("CH", asn)
            before = c.metrics()
            with DatabaseLock(db):
                st, headers, data = c.request(
                    "POST", "/report/" + rid,
                    json.dumps({"format": "json", "content": variant(asn, "CH")}).encode(),
                    {"Content-Type": "application/json"})
                self.assertEqual(st, 503, data)
                self.assertEqual(headers.get("retry-after"), "5")
                self.assertIn("error", json.loads(data))
                status, _, j = c.bulk([variant(asn, "CH", start=stamp(4, 4))])
                self.assertEqual(status, 503, j)
            m = variant(asn, "CH")
            status, _, j = c.submit(rid, m)
            self.assertEqual(status, 200, j)
            self.assertEqual(len(c.list_all({"probe_asn": asn})), 1)
            after = c.metrics()
            self.assertEqual(after["vigie_collector_database_errors_total"] -
                             before["vigie_collector_database_errors_total"], 2)
            self.assertEqual(after['vigie_collector_requests_total{route="/report/{id}",'
                                   'code="503"}'], 1)
        finally:
            self.assertEqual(c.stop(), 0)


class DatabaseLock:
    """Hold the store's measurements locked against writers (SQLite: the whole file)."""

    def __init__(self, db):
        self.db = db

    def __enter__(self):
        if PG:
            self.psql = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", PG_CONN],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE)
            self.psql.stdin.write(b"BEGIN;\nLOCK TABLE measurements IN ACCESS EXCLUSIVE MODE;\n"
                                  b"\\echo locked\n")
            self.psql.stdin.flush()
            assert self.psql.stdout.readline() == b"locked\n"
        else:
            self.con = sqlite3.connect(self.db, timeout=30, isolation_level=None)
            self.con.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *exc):
        if PG:
            self.psql.communicate(b"ROLLBACK;\n", timeout=60)
        else:
            self.con.execute("ROLLBACK")
            self.con.close()


class TestOperations(unittest.TestCase):

    def test_health_and_metrics(self):
        c, asn = col(), next_asn()
        st, _, j = c.get_json("/healthz")
        self.assertEqual(st, 200)
        self.assertEqual(j["status"], "ok")
        self.assertEqual(j["database"], "postgresql" if PG else "sqlite")
        before = c.metrics()
        rid = c.open_report("SE", asn)
        c.submit(rid, variant(asn, "SE"))
        c.submit(rid, {"nope": 1})
        c.bulk([variant(asn, "SE", start=stamp(9, 1)), "{\n"])
        c.request("GET", "/nowhere")
        after = c.metrics()

        def delta(key):
            return after.get(key, 0) - before.get(key, 0)

        self.assertEqual(delta('vigie_collector_requests_total{route="/report",code="200"}'), 1)
        self.assertEqual(delta('vigie_collector_requests_total{route="/report/{id}",code="200"}'),
                         1)
        self.assertEqual(delta('vigie_collector_requests_total{route="/report/{id}",code="400"}'),
                         1)
        self.assertEqual(delta('vigie_collector_requests_total{route="other",code="404"}'), 1)
        self.assertEqual(delta("vigie_collector_measurements_ingested_total"), 2)
        self.assertEqual(delta("vigie_collector_measurements_rejected_total"), 2)
        self.assertEqual(delta("vigie_collector_ingest_latency_seconds_count"), 2)
        self.assertIn('vigie_collector_ingest_latency_seconds_bucket{le="+Inf"}', after)

    def test_https(self):
        tmp = FX["tmp"]
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "2", "-subj", "/CN=vigie-serve-test",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        c = Collector("--tls-cert", cert, "--tls-key", key)
        try:
            self.assertTrue(c.https)
            ctx = ssl.create_default_context(cafile=cert)
            st, _, data = c.request("GET", "/healthz", ctx=ctx)
            self.assertEqual(st, 200, data)
        finally:
            self.assertEqual(c.stop(), 0)

    def test_bad_options(self):
        for args in (["--listen", "nowhere", "--db", FX["db"]], ["--listen", "127.0.0.1:0"],
                     ["--db", FX["db"]], ["--listen", "127.0.0.1:0", "--db", FX["db"],
                                          "--max-body", "12"],
                     ["--listen", "127.0.0.1:0", "--db", FX["db"], "--tls-cert", "/nonexistent"],
                     ["--db", FX["db"], "frobnicate"]):
            p = run("serve", *args, timeout=30)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(b"vigie serve:", p.stderr)
        if not PG:
            p = run("serve", "--listen", "127.0.0.1:0", "--db",
                    os.path.join(FX["tmp"], "no", "such", "dir", "x.db"), timeout=30)
            self.assertEqual(p.returncode, 4, p.stderr)

    def test_import(self):
        c, asn = col(), next_asn()
        ms = [variant(asn, "PT", start=stamp(10, h)) for h in range(4)]
        path = os.path.join(FX["tmp"], "offline-%d.jsonl" % asn)
        with open(path, "w") as f:
            f.write(json.dumps(ms[0]) + "\n\n" + json.dumps(ms[1]) + "\n{broken\n" +
                    json.dumps(dict(ms[2], probe_asn="bad")) + "\n" + json.dumps(ms[3]) + "\n")
        p = run("import", "--db", FX["db"], path)
        self.assertEqual(p.returncode, 3, p.stderr)
        err = p.stderr.decode()
        self.assertIn("%s:4:" % path, err)
        self.assertIn("%s:5:" % path, err)
        self.assertIn("3 accepted (3 new, 0 already stored), 2 rejected", err)
        uids = {r["measurement_uid"] for r in c.list_all({"probe_asn": asn})}
        self.assertEqual(len(uids), 3)
        # Again, gzip-compressed, through `vigie serve ... import`: nothing new.
        gz = path + ".gz"
        with open(path, "rb") as f, gzip.open(gz, "wb") as g:
            g.write(f.read())
        p = run("serve", "--db", FX["db"], "import", gz)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("3 accepted (0 new, 3 already stored), 2 rejected", p.stderr.decode())
        good = os.path.join(FX["tmp"], "good-%d.jsonl" % asn)
        with open(good, "w") as f:
            f.write(json.dumps(variant(asn, "PT", start=stamp(11, 1))) + "\n")
        p = run("import", "--db", FX["db"], good, stdin=b"")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run("import", "--db", FX["db"], "-", stdin=(json.dumps(
            variant(asn, "PT", start=stamp(11, 2))) + "\n").encode())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(c.list_all({"probe_asn": asn})), 5)
        p = run("import", "--db", FX["db"], os.path.join(FX["tmp"], "missing.jsonl"))
        self.assertEqual(p.returncode, 2, p.stderr)
        p = run("import", path)
        self.assertEqual(p.returncode, 2, p.stderr)

    def test_crash_during_uploads(self):
        """kill -9 during a burst: every upload answered 200 is there after a restart."""
        db = FX["db"] if PG or CH else os.path.join(FX["tmp"], "crash.db")
        c = Collector(db=db)
        asn = next_asn()
        acked, lock, stop = [], threading.Lock(), threading.Event()

        def submitter(k):
            try:
                rid = c.open_report("JP", asn)
            except Exception:
                return
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    st, _, j = c.submit(rid, variant(asn, "JP", start=stamp(12, k, i % 60,
                                                                            (i // 60) % 60)))
                except Exception:
                    continue
                if st == 200:
                    with lock:
                        acked.append(j["measurement_uid"])

        def bulker(k):
            i = 0
            while not stop.is_set():
                i += 1
                batch = [variant(asn, "JP", start=stamp(13, k, i % 60, n)) for n in range(20)]
                try:
                    st, _, j = c.bulk(batch)
                except Exception:
                    continue
                if st == 200:
                    with lock:
                        acked.extend(j["uids"])

        threads = [threading.Thread(target=submitter, args=(k,), daemon=True) for k in range(6)]
        threads += [threading.Thread(target=bulker, args=(k,), daemon=True) for k in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= 300:
                    break
            time.sleep(0.01)
        c.proc.send_signal(signal.SIGKILL)
        c.wait()
        stop.set()
        for t in threads:
            t.join(REQ_TIMEOUT)
        with lock:
            acked = list(acked)
        self.assertGreater(len(acked), 0)
        if not PG and not CH:
            con = sqlite3.connect(db, timeout=30)
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            con.close()
        c2 = Collector(db=db)
        try:
            stored = {r["measurement_uid"] for r in c2.list_all({"probe_asn": asn})}
            missing = set(acked) - stored
            self.assertFalse(missing, "%d acknowledged uploads lost" % len(missing))
            # ClickHouse: the restarted serve waited for the killed one's INSERT the server was
            # still finishing (docs/storage.md, "Check")
            st, _, agg = c2.get_json("/api/v1/aggregation?" + qs({"probe_asn": asn}))
            self.assertEqual(agg["result"]["total"], len(stored))
            for uid in acked[:: max(1, len(acked) // 20)]:
                self.assertEqual(c2.request("GET", "/api/v1/measurement/" + uid)[0], 200)
        finally:
            self.assertEqual(c2.stop(), 0)
        # ClickHouse: a kill between the rows' INSERT and the latest states' left rows no state
        # reflects; the restarted serve derived them again (store_ch_recover.c)
        p = run("serve", "--db", db, "check")
        self.assertEqual(p.returncode, 0, p.stderr)


class TestStartErrors(unittest.TestCase):
    """issue 15: a failed start says why, and leaves no database behind."""

    def test_busy_port_says_address_in_use(self):
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        addr = "127.0.0.1:%d" % busy.getsockname()[1]
        db = os.path.join(FX["tmp"], "busy-%d.db" % next_asn())
        try:
            for cmd in (["serve", "--listen", addr, "--db", db], ["helper", "--listen", addr]):
                with self.subTest(cmd=cmd[0]):
                    p = run(*cmd, timeout=30)
                    self.assertEqual(p.returncode, 2, p.stderr)
                    self.assertIn("cannot serve on %s: Address already in use" % addr,
                                  p.stderr.decode())
        finally:
            busy.close()
        self.assertFalse(os.path.exists(db), "no database for a serve that did not start")

    def test_certificate_key_mismatch(self):
        tmp = FX["tmp"]
        pems = []
        for name in ("one", "two"):
            cert, key = os.path.join(tmp, name + ".pem"), os.path.join(tmp, name + ".key")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                            key, "-out", cert, "-days", "2", "-subj", "/CN=" + name],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            pems.append((cert, key))
        tls = ["--tls-cert", pems[0][0], "--tls-key", pems[1][1]]
        db = os.path.join(tmp, "mismatch-%d.db" % next_asn())
        for cmd in (["serve", "--listen", "127.0.0.1:0", "--db", db] + tls,
                    ["helper", "--listen", "127.0.0.1:0"] + tls):
            with self.subTest(cmd=cmd[0]):
                p = run(*cmd, timeout=30)
                err = p.stderr.decode()
                self.assertEqual(p.returncode, 2, err)
                last = err.strip().splitlines()[-1]
                self.assertRegex(last, r"cannot serve on 127\.0\.0\.1:0: .*do not match", err)
                self.assertNotIn("refused its options", err)
        self.assertEqual([f for f in os.listdir(tmp) if f.startswith(os.path.basename(db))], [],
                         "serve created its database although it could not start")

    def test_import_missing_file_says_why(self):
        missing = os.path.join(FX["tmp"], "nope.jsonl")
        p = run("import", "--db", FX["db"], missing)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("cannot read %s: No such file or directory" % missing, p.stderr.decode())


class TestShutdown(unittest.TestCase):

    def test_sigint_idle(self):
        db = os.path.join(FX["tmp"], "idle.db") if not PG else PG
        c = Collector(db=db)
        self.assertEqual(c.stop(signal.SIGINT), 0)
        self.assertIn("vigie serve: stopped", c.log())


# --------------------------------------------------------------------------------------------


class ClickHouseOnly:
    """--ch only (main makes it the TestCase TestClickHouse): what only the ClickHouse store has
    (docs/storage.md, "ClickHouse: schema and ingest")."""

    def test_answer_over_answer_max(self):
        """An answer of ClickHouse over the spec's answer_max is refused as a limit (400 with a
        JSON message, the collector goes on), not a 500 (review)."""
        asn = next_asn()
        c = col()
        status, _, j = c.bulk([variant(asn, "IT", "https://big%d.example/" % i, "blocked",
                                       stamp(3, 10, i)) for i in range(20)])
        self.assertEqual(status, 200, j)
        small = Collector(db=CH + ("&" if "?" in CH else "?") + "answer_max=1024")
        self.addCleanup(small.stop)
        status, headers, j = small.get_json("/api/v1/measurements?limit=100&probe_asn=%d" % asn)
        self.assertEqual(status, 400, j)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertIn("error", j)
        status, _, j = small.get_json("/api/v1/measurements?limit=1&probe_asn=%d" % asn)
        self.assertEqual(status, 200, j)

    def test_import_ooni_twice(self):
        """`vigie import` of OONI's fixtures and the lab capture into a ClickHouse store (a
        database of its own), then again: every measurement stored once, the second import
        stores nothing, counts nothing twice, and `vigie serve check` finds the store sound."""
        data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
        files = [os.path.join(data, "dashboard", "lab-capture.jsonl")]
        files += sorted(os.path.join(data, "ooni", f) for f in os.listdir(os.path.join(data, "ooni"))
                        if f.endswith(".jsonl"))
        n = 0
        for path in files:
            with open(path) as f:
                n += sum(1 for line in f if line.strip())
        name = "vigie_import_test_%d_%d" % (os.getpid(), random.randint(0, 1 << 30))
        for url in [CH] + CH_NODES:
            ch_sql(url, "CREATE DATABASE IF NOT EXISTS %s" % name)
        db = ch_spec(name)

        def drop():
            for url in [CH] + CH_NODES:
                ch_sql(url, "DROP DATABASE IF EXISTS %s" % name)
        try:
            ch_make_nodes(name)
            p = run("import", "--no-config", "--db", db, *files, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            err = p.stderr.decode()
            self.assertNotIn("already stored), 1", err)
            self.assertEqual(sum(int(x) for x in re.findall(r"\((\d+) new", err)), n, err)
            p = run("import", "--no-config", "--db", db, *files, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            err = p.stderr.decode()
            self.assertEqual(re.findall(r"\((\d+) new", err), ["0"] * len(files), err)
            self.assertEqual(sum(int(x) for x in re.findall(r"(\d+) already stored", err)), n)

            def q(sql):
                return int(harness.ch_query(db, sql).strip())

            self.assertEqual(q("SELECT count() FROM measurements"), n)  # no copy, even unmerged
            self.assertEqual(q("SELECT toInt64(sum(n)) FROM agg_hourly"), n)
            p = run("serve", "--no-config", "--db", db, "check")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(b"sound", p.stderr)
        finally:
            drop()

    def test_same_answers_as_sqlite(self):
        """The same measurements (the lab capture, OONI's fixtures, and lab measurements re-dated
        into the last hours for the windows) uploaded to a SQLite store and to a ClickHouse store
        of their own: the aggregation (every axis pair under several filters), the targets
        (every page of several filters, cursors included) and their windows answer the same
        JSON, byte for byte but for the measurement uids (each store makes its own: mapped)."""
        db = "vigie_cmp_%d_%d" % (os.getpid(), random.randint(0, 1 << 30))
        for url in [CH] + CH_NODES:
            ch_sql(url, "CREATE DATABASE %s" % db)
            self.addCleanup(ch_sql, url, "DROP DATABASE IF EXISTS %s" % db)
        ch_make_nodes(db)
        lite = Collector(db=os.path.join(FX["tmp"], "cmp-%s.db" % db))
        self.addCleanup(lite.stop)
        ch = Collector(db=ch_spec(db))
        self.addCleanup(ch.stop)
        ms = []
        for name in (("dashboard", "lab-capture.jsonl"), ("ooni", "backend-fastpath.jsonl"),
                     ("ooni", "probe-cli-qa.jsonl"), ("ooni", "probe-cli-manual.jsonl")):
            with open(os.path.join(HERE, "..", "data", *name)) as f:
                ms.extend(json.loads(l) for l in f if l.strip())
        now = int(time.time())
        lab = ms[:8]
        for k, hours_ago in enumerate((0.2, 0.7, 2.5, 5, 30, 100)):
            for i, m in enumerate(lab):
                m = copy.deepcopy(m)
                t = now - int(hours_ago * 3600) - 37 * i
                m["measurement_start_time"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
                m["probe_cc"] = ("IR", "RU", "IT")[(k + i) % 3]
                m.pop("id", None)
                ms.append(m)
        uids = {}
        for i in range(0, len(ms), 40):
            a, b = ch.bulk(ms[i:i + 40]), lite.bulk(ms[i:i + 40])
            self.assertEqual(a[0], 200, a[2])
            self.assertEqual(b[0], 200, b[2])
            self.assertEqual(a[2]["accepted"], b[2]["accepted"], (a[2], b[2]))
            uids.update(zip(a[2]["uids"], b[2]["uids"]))
        self.assertGreater(len(uids), 100)
        uid_re = re.compile("|".join(re.escape(u) for u in uids if u))

        def same(path):
            """path's answers of both stores, equal (windows count from the clock: asked again
            when a second passed between the two)."""
            for _ in range(5):
                sa, _, a = ch.request("GET", path)
                sb, _, b = lite.request("GET", path)
                self.assertEqual((sa, sb), (200, 200), (path, a, b))
                a = uid_re.sub(lambda m: uids[m.group(0)], a.decode())
                if a == b.decode():
                    return json.loads(a)
            self.assertEqual(a, b.decode(), path)

        axes = ["", "measurement_day", "measurement_hour", "domain", "probe_asn", "probe_cc",
                "x_verdict"]
        filters = [{}, {"probe_cc": "IR"}, {"domain": "www.facebook.com"},
                   {"probe_asn": "AS0"}, {"x_verdict": "blocked"},
                   {"since": "2024-01-01", "until": "2026-12-01T10:00:00Z"},
                   {"probe_cc": "IT", "domain": "www.facebook.com", "since": "2020-01-01"}]
        nonzero = 0
        for f in filters:
            for x in axes:
                for y in axes:
                    if (not x and y) or (x and x == y):
                        continue
                    q = dict(f, **({"axis_x": x} if x else {}), **({"axis_y": y} if y else {}))
                    j = same("/api/v1/aggregation?" + qs(q))
                    nonzero += bool(j["result"])
        self.assertGreater(nonzero, 37 * 4)
        seen = 0
        for f in [{}, {"probe_cc": "IR"}, {"domain": "www.facebook.com"}, {"x_verdict": "blocked"},
                  {"probe_asn": "AS0", "since": "2026-01-01"}, {"window": "1h"},
                  {"window": "24h", "probe_cc": "RU"}, {"window": "7d", "limit": 3}]:
            cursor, pages = None, 0
            while True:
                q = dict({"limit": 7}, **f, **({"cursor": cursor} if cursor else {}))
                j = same("/api/v1/targets?" + qs(q))
                seen += len(j["results"])
                cursor, pages = j["next_cursor"], pages + 1
                if cursor is None or pages > 100:
                    break
            self.assertIsNone(cursor, f)
        self.assertGreater(seen, 50)
        j = same("/api/v1/targets?" + qs({"window": "24h", "limit": 100}))
        self.assertTrue(any(x["window"]["total"] > 0 for x in j["results"]), j)


# The part of the suite that runs on a ClickHouse store (the rest reads SQLite or PostgreSQL
# tables directly): uploads, duplicates, raw measurements, the list with filters and cursor, the
# aggregation, the targets with their windows, import, kill -9, answer_max.
CH_TESTS = [
    "TestCollectorAPI.test_open_submit_close",
    "TestCollectorAPI.test_report_mismatch",
    "TestQueries.test_list_fields",
    "TestQueries.test_filters",
    "TestQueries.test_paging_stable",
    "TestQueries.test_aggregation",
    "TestQueries.test_targets",
    "TestQueries.test_measurements_and_targets_csv",
    "TestQueries.test_targets_window",
    "TestQueries.test_targets_window_origins",
    "TestBulk.test_bulk_plain_and_gzip",
    "TestOperations.test_import",
    "TestOperations.test_crash_during_uploads",
    "TestClickHouse.test_import_ooni_twice",
    "TestClickHouse.test_answer_over_answer_max",
    "TestClickHouse.test_same_answers_as_sqlite",
]


def main():
    global VIGIE, PG, PG_CONN, CH, CH_NODES
    VIGIE, opts, argv = harness.parse(("--pg!", "--ch!", "--ch-cluster!"),
                                      " [--pg | --ch | --ch-cluster]")
    PG_CONN, PG = harness.pg_option(opts)
    if opts.get("--ch-cluster"):
        # the same part on a sharded store: the first shard's collector, the others made
        urls = harness.ch_urls("VG_TEST_CH2")
        if len(urls) < 2:
            return harness.skip("test_serve --ch-cluster", "no ClickHouse cluster: VG_TEST_CH2 "
                                "and VG_TEST_CH2_FILE unset (ch-test-server start DIR --shards 2)")
        CH, CH_NODES = urls[0] + "?cluster=" + CH_CLUSTER, urls[1:]
    elif opts.get("--ch"):
        urls = harness.ch_urls("VG_TEST_CH")
        if not urls:
            return harness.skip("test_serve --ch", "no ClickHouse server: VG_TEST_CH and "
                                "VG_TEST_CH_FILE unset (scripts/ch-test-server start DIR)")
        CH = urls[0]
    if CH:
        globals()["TestClickHouse"] = type("TestClickHouse", (ClickHouseOnly, unittest.TestCase),
                                           {})
        if not [a for a in argv[1:] if not a.startswith("-")]:
            argv = argv + CH_TESTS
    return harness.run(argv)


if __name__ == "__main__":
    sys.exit(main())
