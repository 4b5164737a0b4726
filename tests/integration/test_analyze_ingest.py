#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_analyze_ingest.py - `vigie serve` and `vigie import` give measurements from elsewhere
(OONI's probes) vigie's own verdict (vg_analyze), never a relabel of OONI's blocking/accessible,
and `vigie serve --db X reanalyze` recomputes stale verdicts: in batches, resumable after
SIGKILL, while the collector serves (issue 14, "Ingest uses it"; docs/storage.md "Verdicts" and
"Reanalysis"). On a temporary SQLite file (default) or a database of its own on the PostgreSQL
server named by VG_TEST_PG (--pg); with --ch, the reanalysis on a database of its own on the
ClickHouse server of VG_TEST_CH (TestReanalyzeClickHouse only).

    python3 tests/integration/test_analyze_ingest.py --vigie build/vigie [--pg | --ch]

The measurements are OONI's own (tests/data/ooni/*.jsonl, with their sources named there) when
present, else small OONI-shaped ones made here. The verdict expected of each is what
`vigie analyze` says of it; without that command (an engine without it) the comparisons are
reported as skipped, the other checks run.
"""
import copy
import glob
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

VIGIE = None
PG_CONN = None  # libpq conninfo of the server (--pg)
CH = None  # clickhouse://... URL of the server (--ch)
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
TIMEOUT = 120


def analyzer_version():
    with open(os.path.join(SRC, "include", "vigie", "vigie.h")) as f:
        return re.search(r'#define VG_ANALYZER_VERSION "([^"]+)"', f.read()).group(1)


VERSION = None


def own_measurements():
    """OONI-shaped web_connectivity measurements (and one of a test vigie has no rules for),
    for a tree without OONI's fixtures."""
    out = []
    for i in range(40):
        out.append({
            "annotations": {}, "data_format_version": "0.2.0",
            "input": "https://site%d.example/" % (i % 6),
            "measurement_start_time": "2024-02-%02d 10:%02d:00" % (1 + i % 20, i % 60),
            "probe_asn": "AS%d" % (64500 + i % 3), "probe_cc": "IT", "probe_ip": "127.0.0.1",
            "report_id": "", "software_name": "ooniprobe-cli", "software_version": "3.20.0",
            "test_keys": {"blocking": "dns" if i % 2 else False, "accessible": not i % 2,
                          "queries": [], "tcp_connect": [], "requests": [],
                          "control_failure": None},
            "test_name": "web_connectivity", "test_runtime": 1.5,
            "test_start_time": "2024-02-01 10:00:00", "test_version": "0.4.1",
            "id": str(uuid.uuid4())})
    m = copy.deepcopy(out[0])
    m["test_name"], m["id"], m["test_keys"] = "dnscheck", str(uuid.uuid4()), {"lookups": {}}
    out.append(m)
    return out


def fixtures():
    """(lines, locations): each line the bytes of one measurement, each location its
    "FILE:LINE" in tests/data/ooni (None for the measurements made here, without OONI's)."""
    files = sorted(glob.glob(os.path.join(SRC, "tests", "data", "ooni", "*.jsonl")))
    lines, where = [], []
    for f in files:
        with open(f, "rb") as fh:
            for n, l in enumerate(fh, 1):
                if l.strip():
                    lines.append(l.rstrip(b"\r\n"))
                    where.append("%s:%d" % (os.path.basename(f), n))
    if lines:
        return lines, where
    return [json.dumps(m).encode() for m in own_measurements()], None


def expected_tsv():
    """tests/data/ooni/expected.tsv (the engine's expectations of OONI's fixtures):
    {"FILE:LINE": (verdict, cause)}, verdict None where vigie gives none."""
    path = os.path.join(SRC, "tests", "data", "ooni", "expected.tsv")
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for l in f:
                if l.startswith("#") or not l.strip():
                    continue
                c = l.rstrip("\n").split("\t")
                out[c[0]] = (None if c[2] == "-" else c[2], None if c[3] == "-" else c[3])
    return out


def has_analyze():
    p = subprocess.run([VIGIE, "analyze", "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    return p.returncode == 0


def analyze(lines):
    """What `vigie analyze` says of each line: (verdict, cause, evidence, analyzer) or None for
    a measurement it gives no verdict (a test without rules)."""
    p = subprocess.run([VIGIE, "analyze", "-"], input=b"\n".join(lines) + b"\n",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    out = []
    for l in p.stdout.decode().splitlines():
        tk = json.loads(l).get("test_keys") or {}
        if "x_verdict" not in tk:
            out.append(None)
        else:
            out.append((tk["x_verdict"], tk.get("x_cause"), tk.get("x_evidence"),
                        tk.get("x_analyzer")))
    assert len(out) == len(lines), (p.returncode, p.stderr.decode()[-2000:])
    return out


# ---- databases -------------------------------------------------------------------------------


class Db:
    """A database of its own: a SQLite file, or a database on the --pg server."""

    def __init__(self, tmp):
        if PG_CONN is None:
            self.path = os.path.join(tmp, "c%d.db" % random.randint(0, 1 << 30))
            self.spec = self.path
        else:
            self.name = "vigie_ai_test_%d_%d" % (os.getpid(), random.randint(0, 1 << 30))
            self.psql(PG_CONN, "CREATE DATABASE %s" % self.name)
            if re.match(r"postgres(ql)?://", PG_CONN):
                m = re.match(r"(postgres(?:ql)?://[^/?]*)(/[^?]*)?(\?.*)?$", PG_CONN)
                self.conn = m.group(1) + "/" + self.name + (m.group(3) or "")
                self.spec = self.conn
            else:
                self.conn = PG_CONN + " dbname=" + self.name
                self.spec = "pg:" + self.conn

    @staticmethod
    def psql(conn, sql, out=False):
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "--dbname",
                            conn, "-c", sql], check=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        return p.stdout.decode()

    def exec(self, *stmts):
        if PG_CONN is None:
            c = sqlite3.connect(self.path, timeout=30)
            for s in stmts:
                c.execute(s)
            c.commit()
            c.close()
        else:
            self.psql(self.conn, "BEGIN; " + "; ".join(stmts) + "; COMMIT")

    def rows(self, sql):
        if PG_CONN is None:
            c = sqlite3.connect(self.path, timeout=30)
            r = [tuple("" if v is None else str(v) for v in row) for row in c.execute(sql)]
            c.close()
            return r
        return [tuple(l.split("|")) for l in self.psql(self.conn, sql).splitlines() if l]

    def drop(self):
        if PG_CONN is not None:
            self.psql(PG_CONN, "DROP DATABASE %s WITH (FORCE)" % self.name)


def vigie(*args, stdin=None):
    return subprocess.run([VIGIE] + list(args), input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=TIMEOUT)


class Collector(harness.Server):
    REQUEST_TIMEOUT = TIMEOUT

    def __init__(self, db):
        super().__init__(VIGIE, "serve", "--db", db.spec, "-q")

    def get(self, path):
        status, data = self.request("GET", path)
        assert status == 200, (path, status, data[:300])
        return data

    def bulk(self, lines):
        status, data = self.request("POST", "/api/v1/bulk", b"\n".join(lines) + b"\n",
                                    {"Content-Type": "application/x-ndjson"})
        return status, json.loads(data)

    def post(self, path, obj):
        status, data = self.request("POST", path, json.dumps(obj).encode(),
                                    {"Content-Type": "application/json"})
        return status, json.loads(data)

    def analysis(self, uid):
        return json.loads(self.get("/api/v1/measurement/%s/analysis" % uid))

    def aggregation(self):
        return json.loads(self.get("/api/v1/aggregation?axis_x=domain&axis_y=probe_asn"))

    def targets(self):
        out, cursor = [], None
        while True:
            q = "/api/v1/targets?limit=1000" + ("&cursor=" + cursor if cursor else "")
            j = json.loads(self.get(q))
            out += j["results"]
            cursor = j["next_cursor"]
            if not cursor:
                return out


def check(db):
    p = vigie("serve", "--db", db.spec, "check")
    assert p.returncode == 0, p.stderr.decode()


# What reanalyze finds stale: rows an older analyser decided, with a wrong verdict, and the
# derived tables made to agree with them (as that analyser's ingest would have left them).
TEFF = ("(CASE WHEN m.measurement_start_time < m.received / 1000000 THEN"
        " m.measurement_start_time ELSE m.received / 1000000 END)")


def make_stale(db, where, verdict="blocked"):
    db.exec(
        "UPDATE measurements SET x_verdict = '%s', x_cause = 'dns.nxdomain', x_evidence = 'old',"
        " x_analyzer = 'vigie-analyze/0' WHERE x_analyzer IS NOT NULL AND x_analyzer <> 'probe'"
        " AND (%s)" % (verdict, where),
        "DELETE FROM agg_hourly", "DELETE FROM agg_daily_net", "DELETE FROM agg_daily_domain",
        "DELETE FROM agg_daily_cc_domain",
        "INSERT INTO agg_hourly (hour_start, domain, probe_cc, probe_asn, x_verdict, provenance,"
        " n) SELECT measurement_start_time - measurement_start_time % 3600, domain, probe_cc,"
        " probe_asn, x_verdict, provenance, COUNT(*) FROM measurements GROUP BY 1, 2, 3, 4, 5, 6",
        "INSERT INTO agg_daily_net (day_start, probe_cc, probe_asn, x_verdict, provenance, n)"
        " SELECT hour_start - hour_start % 86400, probe_cc, probe_asn, x_verdict, provenance,"
        " SUM(n) FROM agg_hourly GROUP BY 1, 2, 3, 4, 5",
        "INSERT INTO agg_daily_domain (day_start, domain, x_verdict, provenance, n) SELECT"
        " hour_start - hour_start % 86400, domain, x_verdict, provenance, SUM(n) FROM agg_hourly"
        " GROUP BY 1, 2, 3, 4",
        "INSERT INTO agg_daily_cc_domain (day_start, domain, probe_cc, x_verdict, provenance, n)"
        " SELECT hour_start - hour_start % 86400, domain, probe_cc, x_verdict, provenance, SUM(n)"
        " FROM agg_hourly GROUP BY 1, 2, 3, 4, 5",
        "DELETE FROM agg_target_hourly",
        "INSERT INTO agg_target_hourly (input, probe_cc, probe_asn, hour_start, x_verdict,"
        " provenance, n) SELECT input, probe_cc, probe_asn,"
        " measurement_start_time - measurement_start_time % 3600, x_verdict, provenance, COUNT(*)"
        " FROM measurements WHERE input IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6",
        # every target's latest state again, from the measurements (exact, as migration 3)
        "UPDATE targets SET"
        " last_uid = (SELECT m.measurement_uid FROM measurements m WHERE m.input = targets.input"
        "  AND m.probe_cc = targets.probe_cc AND m.probe_asn = targets.probe_asn AND %s = "
        "  targets.last_time AND (targets.scope = '*' OR targets.scope = m.provenance)"
        "  ORDER BY m.measurement_uid DESC LIMIT 1)" % TEFF,
        "UPDATE targets SET x_verdict = (SELECT m.x_verdict FROM measurements m WHERE"
        " m.measurement_uid = targets.last_uid), x_cause = (SELECT m.x_cause FROM measurements m"
        " WHERE m.measurement_uid = targets.last_uid)",
        "UPDATE targets SET brk_time = (SELECT MAX(%s) FROM measurements m WHERE m.input ="
        " targets.input AND m.probe_cc = targets.probe_cc AND m.probe_asn = targets.probe_asn"
        " AND (targets.scope = '*' OR targets.scope = m.provenance) AND m.x_verdict <>"
        " targets.x_verdict)" % TEFF,
        "UPDATE targets SET since_time = (SELECT MIN(%s) FROM measurements m WHERE m.input ="
        " targets.input AND m.probe_cc = targets.probe_cc AND m.probe_asn = targets.probe_asn"
        " AND (targets.scope = '*' OR targets.scope = m.provenance) AND m.x_verdict ="
        " targets.x_verdict AND (targets.brk_time IS NULL OR %s > targets.brk_time))"
        % (TEFF, TEFF))
    check(db)


def fresh_ids(lines, tag):
    """The same measurements with other ids: other content, stored again."""
    out = []
    for l in lines:
        m = json.loads(l)
        m["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, tag + (m.get("id") or "") + l.decode()))
        out.append(json.dumps(m).encode())
    return out


# ---- tests -----------------------------------------------------------------------------------


class TestIngest(unittest.TestCase):
    """Submit, bulk and import analyse what carries no verdict of vigie's probe."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigie-ai-")
        cls.db = Db(cls.tmp)
        cls.col = Collector(cls.db)
        cls.lines, cls.where = fixtures()
        cls.real = cls.where is not None
        cls.expect = analyze(cls.lines) if has_analyze() else None
        # without `vigie analyze`: the verdict and cause the engine's tests expect
        cls.tsv = expected_tsv() if cls.real else {}
        status, j = cls.col.bulk(cls.lines)
        assert status == 200, j
        cls.uids = j["uids"]
        assert j["rejected"] == [], j["rejected"]

    @classmethod
    def tearDownClass(cls):
        cls.col.stop()
        cls.db.drop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def need_expect(self):
        if self.expect is None and not self.tsv:
            self.skipTest("neither `vigie analyze` nor tests/data/ooni/expected.tsv: vigie's"
                          " verdicts not compared")

    def expected(self, i):
        """vigie's (verdict, cause, evidence or None when unknown here, analyser) for line i,
        or None for no verdict."""
        if self.expect is not None:
            e = self.expect[i]
            return None if e is None else (e[0], e[1] or None, e[2] or None, e[3])
        v = self.tsv[self.where[i]]
        return None if v[0] is None else (v[0], v[1], None, VERSION)

    def test_stored_as_uploaded(self):
        """The raw measurement is what was uploaded (probe_ip as the collector sets it): no
        verdict of vigie's is written into it."""
        for line, uid in zip(self.lines, self.uids):
            raw = self.col.get("/api/v1/measurement/" + uid)
            sent, got = json.loads(line), json.loads(raw)
            sent["probe_ip"] = "127.0.0.1"
            got_tk, sent_tk = got.get("test_keys"), sent.get("test_keys")
            if isinstance(sent_tk, dict):
                for k in ("x_verdict", "x_cause", "x_evidence", "x_analyzer"):
                    self.assertEqual(k in got_tk, k in sent_tk, (uid, k))
            if json.loads(line).get("probe_ip") in ("127.0.0.1", None):  # nothing to scrub
                self.assertEqual(got, sent, uid)
            # byte for byte, every time it is read
            self.assertEqual(raw, self.col.get("/api/v1/measurement/" + uid))

    def test_ooni_fields_stay_ooni(self):
        """OONI's blocking/accessible are kept as OONI's fields; vigie's verdict is the
        analyser's (or unknown), never the relabel of before."""
        for line, uid in zip(self.lines, self.uids):
            m = json.loads(line)
            tk = m.get("test_keys") if isinstance(m.get("test_keys"), dict) else {}
            a = self.col.analysis(uid)
            b = tk.get("blocking")
            self.assertEqual(a["blocking"], {True: "true", False: False}.get(b, b), uid)
            acc = tk.get("accessible")
            self.assertEqual(a["accessible"], acc if isinstance(acc, bool) else None)
            if m.get("test_name") == "web_connectivity" and tk:
                self.assertEqual(a["x_analyzer"], VERSION, uid)
            elif m.get("test_name") != "web_connectivity":
                self.assertEqual((a["x_verdict"], a["x_analyzer"], a["x_cause"]),
                                 ("unknown", None, None), uid)

    def test_verdict_is_vigies(self):
        """Stored verdict, cause, evidence and analyser: what vg_analyze says (vigie analyze)."""
        self.need_expect()
        for i, uid in enumerate(self.uids):
            a = self.col.analysis(uid)
            got = [a["x_verdict"], a["x_cause"], a["x_evidence"], a["x_analyzer"]]
            e = self.expected(i)
            if e is None:
                self.assertEqual(got, ["unknown", None, None, None], uid)
                continue
            if e[2] is None:
                got[2] = None  # the evidence is compared with `vigie analyze` only
            self.assertEqual(tuple(got), e, (uid, self.where and self.where[i]))

    def test_issue_cases(self):
        """The issue's two cases: archive.org on Indonesia's national block page, which OONI
        labelled accessible; and an OONI false positive. vigie's verdict is not OONI's label."""
        if not self.real:
            self.skipTest("OONI's fixtures (tests/data/ooni) are not in this tree")
        self.need_expect()
        block = fp = 0
        for i, (line, uid) in enumerate(zip(self.lines, self.uids)):
            m = json.loads(line)
            tk = m.get("test_keys") if isinstance(m.get("test_keys"), dict) else {}
            e, a = self.expected(i), self.col.analysis(uid)
            if m.get("input") == "http://archive.org":
                block += 1
                self.assertTrue(tk["accessible"])       # OONI's label: accessible
                self.assertEqual(a["accessible"], True)  # kept as OONI's
                self.assertEqual((a["x_verdict"], a["x_cause"]), ("blocked", "http.blockpage"))
                [row] = [r for r in json.loads(self.col.get(
                    "/api/v1/measurements?input=http://archive.org&limit=10"))["results"]
                    if r["measurement_uid"] == uid]
                self.assertEqual(row["x_verdict"], "blocked")
            # OONI's label says blocked, vigie's analysis does not: never shown as vigie's
            if isinstance(tk.get("blocking"), str) and e is not None and e[0] != "blocked":
                fp += 1
                self.assertEqual(a["blocking"], tk["blocking"])
                self.assertEqual(a["x_verdict"], e[0], uid)
                self.assertNotEqual(a["x_verdict"], "blocked")
        self.assertGreater(block, 0)
        self.assertGreater(fp, 0)

    def test_list_rows_carry_the_analysis(self):
        rows = json.loads(self.col.get("/api/v1/measurements?limit=1000"))["results"]
        by = {r["measurement_uid"]: r for r in rows}
        for uid in self.uids:
            a = self.col.analysis(uid)
            self.assertEqual(by[uid], a)
            self.assertEqual(list(by[uid])[-3:], ["provenance", "x_analyzer", "x_evidence"])

    def test_submit(self):
        """OONI's collector protocol: one submitted measurement analysed like a bulk line."""
        line = next(l for l in self.lines if json.loads(l).get("test_name") == "web_connectivity")
        [line] = fresh_ids([line], "submit")
        m = json.loads(line)
        meta = {"data_format_version": "0.2.0", "format": "json", "probe_asn": m["probe_asn"],
                "probe_cc": m["probe_cc"], "software_name": "ooniprobe",
                "software_version": "3.20.0", "test_name": m["test_name"],
                "test_start_time": m["test_start_time"], "test_version": "0.4.1"}
        status, j = self.col.post("/report", meta)
        self.assertEqual(status, 200, j)
        status, j = self.col.post("/report/" + j["report_id"], {"format": "json", "content": m})
        self.assertEqual(status, 200, j)
        a = self.col.analysis(j["measurement_uid"])
        self.assertEqual(a["x_analyzer"], VERSION)
        if self.expect is not None:
            e = analyze([line])[0]
            self.assertEqual((a["x_verdict"], a["x_cause"], a["x_evidence"]),
                             (e[0], e[1] or None, e[2] or None))

    def test_import(self):
        """`vigie import` into a database of its own: the same rows as the upload."""
        db = Db(self.tmp)
        try:
            path = os.path.join(self.tmp, "import.jsonl")
            with open(path, "wb") as f:
                f.write(b"\n".join(self.lines) + b"\n")
            p = vigie("import", "--db", db.spec, "-q", path)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            got = sorted(db.rows("SELECT x_verdict, COALESCE(x_cause, ''),"
                                 " COALESCE(x_evidence, ''), COALESCE(x_analyzer, ''), raw_len"
                                 " FROM measurements"))
            want = sorted(self.db.rows("SELECT x_verdict, COALESCE(x_cause, ''),"
                                       " COALESCE(x_evidence, ''), COALESCE(x_analyzer, ''),"
                                       " raw_len FROM measurements WHERE measurement_uid IN (%s)"
                                       % ",".join("'%s'" % u for u in self.uids)))
            self.assertEqual(got, want)
            check(db)
        finally:
            db.drop()

    def test_vigie_keeps_its_probe_verdict(self):
        """A measurement of vigie's probe keeps its verdict ('probe'); one of vigie without
        x_verdict, or another software's with one, is analysed."""
        base = json.loads(next(l for l in self.lines
                               if json.loads(l).get("test_name") == "web_connectivity"))
        own = copy.deepcopy(base)
        own.update(software_name="vigie", id=str(uuid.uuid4()))
        own["test_keys"].update(x_verdict="intercepted", x_cause="tls.mitm",
                                x_evidence="the probe's own words")
        other = copy.deepcopy(own)
        other.update(software_name="ooniprobe", id=str(uuid.uuid4()))
        bare = copy.deepcopy(own)
        bare["id"] = str(uuid.uuid4())
        for k in ("x_verdict", "x_cause", "x_evidence"):
            bare["test_keys"].pop(k)
        status, j = self.col.bulk([json.dumps(x).encode() for x in (own, other, bare)])
        self.assertEqual(status, 200, j)
        a = [self.col.analysis(u) for u in j["uids"]]
        self.assertEqual((a[0]["x_verdict"], a[0]["x_cause"], a[0]["x_analyzer"],
                          a[0]["x_evidence"]), ("intercepted", "tls.mitm", "probe", None))
        for x in a[1:]:
            self.assertEqual(x["x_analyzer"], VERSION)
        self.assertEqual(a[1]["x_verdict"], a[2]["x_verdict"])


class TestReanalyze(unittest.TestCase):
    """vigie serve --db X reanalyze: stale verdicts recomputed, consistently, resumably."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigie-ra-")
        self.db = Db(self.tmp)
        self.col = Collector(self.db)
        lines = fixtures()[0]
        # many rows: the fixtures several times over, under other ids
        self.lines = [l for k in range(4) for l in fresh_ids(lines, "ra%d" % k)]
        status, j = self.col.bulk(self.lines)
        self.assertEqual(status, 200, j)
        self.uids = j["uids"]
        self.before = (self.col.aggregation(), self.col.targets(), self.analyses())

    def tearDown(self):
        self.col.stop()
        self.db.drop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def analyses(self):
        return {r[0]: r[1:] for r in self.db.rows(
            "SELECT measurement_uid, x_verdict, COALESCE(x_cause, ''), COALESCE(x_evidence, ''),"
            " COALESCE(x_analyzer, '') FROM measurements")}

    def reanalyze(self, *args):
        return vigie("serve", "--db", self.db.spec, "reanalyze", *args)

    def stale_count(self):
        return int(self.db.rows("SELECT COUNT(*) FROM measurements WHERE x_analyzer ="
                                " 'vigie-analyze/0'")[0][0])

    @staticmethod
    def states(targets):
        # the latest verdict of each target; the latest uid among measurements of the same
        # time, and the start of a run, are exact after a recomputation (the ingest's own may
        # name another of the same time, or a later start: docs/storage.md)
        return sorted((t["input"], t["probe_cc"], t["probe_asn"], t["x_verdict"], t["x_cause"],
                       t["last_seen"]) for t in targets)

    def assert_restored(self):
        check(self.db)
        self.assertEqual(self.analyses(), self.before[2])
        self.assertEqual(self.col.aggregation(), self.before[0])
        self.assertEqual(self.states(self.col.targets()), self.states(self.before[1]))

    def test_stale_rows_recomputed(self):
        make_stale(self.db, "1 = 1")
        n = self.stale_count()
        self.assertGreater(n, 20)
        self.assertNotEqual(self.col.aggregation(), self.before[0])
        p = self.reanalyze("--batch", "7")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        out = p.stdout.decode()
        self.assertIn("%d rows examined" % n, out)
        self.assertIn("pass complete", out)
        if any(v[0] != "blocked" for v in self.before[2].values() if v[3]):
            self.assertRegex(out, r"blocked -> \w+: \d+")
        self.assert_restored()
        # nothing left to do: a second pass examines nothing
        p = self.reanalyze()
        self.assertEqual(p.returncode, 0)
        self.assertIn(" 0 rows examined", p.stdout.decode())

    def test_since(self):
        make_stale(self.db, "1 = 1")
        times = sorted(int(t) for (t,) in self.db.rows(
            "SELECT measurement_start_time FROM measurements WHERE x_analyzer ="
            " 'vigie-analyze/0'"))
        mid = times[len(times) // 2]
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mid))
        p = self.reanalyze("--since", since)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(self.stale_count(), sum(1 for t in times if t < mid))
        check(self.db)
        self.assertEqual(self.reanalyze().returncode, 0)
        self.assert_restored()

    def test_resume_after_max_batches_and_kill(self):
        make_stale(self.db, "1 = 1")
        n = self.stale_count()
        p = self.reanalyze("--batch", "5", "--max-batches", "2")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertIn("pass not complete", p.stdout.decode())
        self.assertEqual(self.stale_count(), n - 10)
        check(self.db)
        # killed (SIGKILL) once its first batch is committed, mid-way through the next
        proc = subprocess.Popen([VIGIE, "serve", "--db", self.db.spec, "reanalyze", "--batch",
                                 "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = proc.stderr.readline()
        proc.send_signal(signal.SIGKILL)
        proc.wait(TIMEOUT)
        proc.stdout.close()
        proc.stderr.close()
        self.assertIn(b"batch 1", line)
        left = self.stale_count()
        self.assertLessEqual(left, n - 13)
        check(self.db)
        p = self.reanalyze("--batch", "5")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        out = p.stdout.decode()
        self.assertIn("pass complete", out)
        # the pass went on where it stood: every row examined once over the three runs
        self.assertIn("pass resumed: %d examined" % n, out)
        self.assertIn("%d rows examined" % left, out)
        self.assert_restored()

    def test_while_serving(self):
        """Reanalysis batches commit while the collector takes uploads and answers reads."""
        make_stale(self.db, "1 = 1")
        stop, errors, extra = threading.Event(), [], []

        def load():
            k = 0
            while not stop.is_set():
                k += 1
                status, j = self.col.bulk(fresh_ids(self.lines[:10], "load%d" % k))
                if status != 200:
                    errors.append((status, j))
                else:
                    extra.extend(j["uids"])
                status, _ = self.col.request("GET", "/api/v1/aggregation?axis_x=domain")
                if status != 200:
                    errors.append(status)

        t = threading.Thread(target=load)
        t.start()
        try:
            p = self.reanalyze("--batch", "4")
        finally:
            stop.set()
            t.join(TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(errors, [])
        self.assertGreater(len(extra), 0)
        check(self.db)
        self.assertEqual(self.stale_count(), 0)
        now = self.analyses()
        for uid, v in self.before[2].items():
            self.assertEqual(now[uid], v, uid)

    def test_probe_verdicts_untouched(self):
        """--all recomputes every verdict that is not the probe's, and no probe's."""
        m = json.loads(self.lines[0])
        m.update(software_name="vigie", id=str(uuid.uuid4()))
        m["test_keys"] = dict(m["test_keys"] or {}, x_verdict="down", x_cause="dns.timeout")
        status, j = self.col.bulk([json.dumps(m).encode()])
        self.assertEqual(status, 200, j)
        p = self.reanalyze("--all", "--batch", "50")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertIn("%d rows examined" % len(self.lines), p.stdout.decode())
        a = self.col.analysis(j["uids"][0])
        self.assertEqual((a["x_verdict"], a["x_analyzer"]), ("down", "probe"))
        check(self.db)

    def test_store_failure_exit(self):
        p = vigie("serve", "--db", "/nonexistent-dir/x/c.db", "reanalyze")
        self.assertEqual(p.returncode, 4, p.stderr.decode())
        p = self.reanalyze("--batch", "0")
        self.assertEqual(p.returncode, 2)


# --------------------------------------------------------------------------------------------
# ClickHouse (--ch): no UPDATE there, so a stale row is made as the reanalysis makes a changed
# one (store_ch_reanalyze.c): a new row of the same key with a higher ver and prev_verdict, whose
# counts the materialized views move.

class ChDb:
    """A database of its own on the --ch server."""

    def __init__(self):
        u = urllib.parse.urlsplit(CH)
        self.name = "vigie_ai_test_%d_%d" % (os.getpid(), random.randint(0, 1 << 30))
        self.http = "http://%s:%d/" % (u.hostname, u.port)
        self.auth = {"X-ClickHouse-User": urllib.parse.unquote(u.username or "default"),
                     "X-ClickHouse-Key": urllib.parse.unquote(u.password or "")}
        self.query("CREATE DATABASE %s" % self.name, db="default")
        self.spec = urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + self.name, u.query, ""))

    def query(self, sql, db=None):
        req = urllib.request.Request(
            # the test's own reads and writes (FINAL over every column of test_many_parts's
            # parts) with vigie's read buffer (server/store_ch.c) and no memory limit: vigie's
            # requests keep the server's (1 GB)
            self.http + "?" + urllib.parse.urlencode({"database": db or self.name,
                                                      "max_read_buffer_size": 65536,
                                                      "max_memory_usage": 0}),
            data=sql.encode(), headers=self.auth)
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.read().decode()

    def rows(self, sql):
        return [tuple(l.split("\t")) for l in self.query(sql).splitlines() if l]

    def drop(self):
        self.query("DROP DATABASE IF EXISTS %s" % self.name, db="default")


CH_COLS = ("measurement_uid, idem_key, report_id, measurement_start_time, input, domain,"
           " probe_cc, probe_asn, test_name, software_name, software_version, x_verdict, x_cause,"
           " blocking, accessible, received, raw_len, raw, provenance, x_analyzer, x_evidence, ver,"
           " prev_verdict")


def ch_make_stale(db):
    """Every row an analyser decided, as vigie-analyze/0 left it: 'blocked'."""
    cols = CH_COLS.replace("x_verdict, x_cause,", "'blocked', 'dns.nxdomain',").replace(
        "x_analyzer, x_evidence, ver, prev_verdict",
        "'vigie-analyze/0', 'old', ver + 4294967296, x_verdict")
    db.query("INSERT INTO measurements (%s) SELECT %s FROM measurements FINAL WHERE"
             " x_analyzer IS NOT NULL AND x_analyzer <> 'probe'" % (CH_COLS, cols))


class ClickHouseReanalyze:
    """--ch only (main makes it the TestCase TestReanalyzeClickHouse): vigie serve --db
    clickhouse://... reanalyze does what it does on SQL, and its counts stay exact."""

    COUNTS = ("agg_hourly", "agg_daily_domain", "agg_daily_net", "agg_daily_cc_domain",
              "agg_target_hourly")

    def setUp(self):
        self.db = ChDb()
        self.col = Collector(self.db)
        self.lines = [l for k in range(4) for l in fresh_ids(fixtures()[0], "ch%d" % k)]
        status, j = self.col.bulk(self.lines)
        self.assertEqual(status, 200, j)
        self.col.stop()
        self.before = (self.counts(), self.states(), self.analyses())

    def tearDown(self):
        self.col.stop()
        self.db.drop()

    def analyses(self):
        return {r[0]: r[1:] for r in self.db.rows(
            "SELECT measurement_uid, x_verdict, ifNull(x_cause, ''), ifNull(x_evidence, ''),"
            " ifNull(x_analyzer, '') FROM measurements FINAL")}

    def counts(self):
        """Each count table's sums per verdict, checked against the measurements (FINAL)."""
        out = {}
        for t in self.COUNTS:
            out[t] = sorted(self.db.rows("SELECT x_verdict, toInt64(sum(n)) AS c FROM %s GROUP BY"
                                         " x_verdict HAVING c <> 0" % t))
            self.assertEqual(out[t], sorted(self.db.rows(
                "SELECT x_verdict, count() FROM measurements FINAL%s GROUP BY x_verdict"
                % (" WHERE isNotNull(input)" if t == "agg_target_hourly" else ""))), t)
        return out

    def states(self):
        return sorted(self.db.rows("SELECT scope, input, probe_cc, probe_asn, x_verdict,"
                                   " ifNull(x_cause, ''), last_time FROM targets FINAL"))

    def stale_count(self):
        return int(self.db.rows("SELECT count() FROM measurements FINAL WHERE x_analyzer ="
                                " 'vigie-analyze/0'")[0][0])

    def reanalyze(self, *args):
        return vigie("serve", "--db", self.db.spec, "reanalyze", *args)

    def assert_restored(self):
        self.assertEqual(self.analyses(), self.before[2])
        self.assertEqual(self.counts(), self.before[0])
        self.assertEqual(self.states(), self.before[1])

    def test_stale_rows_recomputed(self):
        ch_make_stale(self.db)
        n = self.stale_count()
        self.assertGreater(n, 20)
        self.assertNotEqual(self.counts(), self.before[0])
        p = self.reanalyze("--batch", "7")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        out = p.stdout.decode()
        self.assertIn("%d rows examined" % n, out)
        self.assertIn("pass complete", out)
        self.assert_restored()
        p = self.reanalyze()
        self.assertEqual(p.returncode, 0)
        self.assertIn(" 0 rows examined", p.stdout.decode())

    def test_resume_after_max_batches_and_kill(self):
        ch_make_stale(self.db)
        n = self.stale_count()
        p = self.reanalyze("--batch", "5", "--max-batches", "2")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertIn("pass not complete", p.stdout.decode())
        self.assertEqual(self.stale_count(), n - 10)
        proc = subprocess.Popen([VIGIE, "serve", "--db", self.db.spec, "reanalyze", "--batch",
                                 "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = proc.stderr.readline()
        proc.send_signal(signal.SIGKILL)
        proc.wait(TIMEOUT)
        proc.stdout.close()
        proc.stderr.close()
        self.assertIn(b"batch 1", line)
        left = self.stale_count()
        self.assertLessEqual(left, n - 13)
        self.counts()  # exact after a kill too
        p = self.reanalyze("--batch", "5")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        out = p.stdout.decode()
        self.assertIn("pass complete", out)
        self.assertIn("pass resumed: %d examined" % n, out)
        self.assertIn("%d rows examined" % left, out)
        self.assert_restored()

    def test_many_parts(self):
        """A store of many unmerged parts (uploads faster than ClickHouse merges them, as the CI
        machine met while uploads and a reanalysis ran together): the reads with FINAL, which
        open every part's columns at once, stay within the server's memory limit (1 GB here;
        each column's read buffer was 1 MiB, ~16 MB a part of the measurements)."""
        self.db.query("SYSTEM STOP MERGES measurements")
        self.col = Collector(self.db)
        try:
            for k in range(12):
                status, j = self.col.bulk(fresh_ids(self.lines[:40], "parts%d" % k))
                self.assertEqual(status, 200, j)
            self.col.stop()
            parts = int(self.db.rows("SELECT count() FROM system.parts WHERE active AND database"
                                     " = currentDatabase() AND table = 'measurements'")[0][0])
            self.assertGreater(parts, 80)
            ch_make_stale(self.db)
            p = self.reanalyze("--batch", "64")
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            self.assertEqual(self.stale_count(), 0)
        finally:
            self.db.query("SYSTEM START MERGES measurements")

    def test_while_serving(self):
        """Reanalysis batches land while the collector takes uploads: every count stays exact."""
        ch_make_stale(self.db)
        self.col = Collector(self.db)
        stop, errors, extra = threading.Event(), [], []

        def load():
            k = 0
            while not stop.is_set():
                k += 1
                status, j = self.col.bulk(fresh_ids(self.lines[:10], "chload%d" % k))
                if status != 200:
                    errors.append((status, j))
                else:
                    extra.extend(j["uids"])

        t = threading.Thread(target=load)
        t.start()
        try:
            p = self.reanalyze("--batch", "16")
        finally:
            stop.set()
            t.join(TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(errors, [])
        self.assertGreater(len(extra), 0)
        self.assertEqual(self.stale_count(), 0)
        now = self.analyses()
        for uid, v in self.before[2].items():
            self.assertEqual(now[uid], v, uid)
        self.counts()


def main():
    global VIGIE, PG_CONN, VERSION, CH
    VIGIE, opts, argv = harness.parse(("--pg!", "--ch!"), " [--pg | --ch]")
    VERSION = analyzer_version()
    PG_CONN, _ = harness.pg_option(opts)
    if opts.get("--ch"):
        urls = harness.ch_urls("VG_TEST_CH")
        if not urls:
            return harness.skip("test_analyze_ingest --ch", "no ClickHouse server: VG_TEST_CH"
                                " and VG_TEST_CH_FILE unset (scripts/ch-test-server start DIR)")
        CH = urls[0]
        globals()["TestReanalyzeClickHouse"] = type("TestReanalyzeClickHouse",
                                                    (ClickHouseReanalyze, unittest.TestCase), {})
        if not [a for a in argv[1:] if not a.startswith("-")]:
            argv = argv + ["TestReanalyzeClickHouse"]
    return harness.run(argv)


if __name__ == "__main__":
    sys.exit(main())
