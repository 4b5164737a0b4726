#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_serve_cluster.py - a sharded ClickHouse store (docs/storage.md, "Running a ClickHouse cluster
for vigie"): the two servers of CTest's fixture "ch2" (two shards of the cluster vigie_cluster,
VG_TEST_CH2) with a `vigie serve` on each (serve A: shard 1's URL ?cluster=vigie_cluster, serve
B: shard 2's), against a single-node ClickHouse store (fixture "ch", VG_TEST_CH) and a SQLite
store fed the same uploads.

  * the same measurements are uploaded split across A and B, then again to both (retries, bulk
    and OONI's report protocol, a report opened on one serve and written to through the other):
    every upload's answer (uid, duplicate) agrees across the two serves, each measurement is
    stored once (count() over the cluster, with and without FINAL), each shard holds a part,
    the count tables count each measurement once, and a measurement answered by one serve is
    read at once from the other (inserts are synchronous on the shards);
  * every GET of the query API (list with filters and paging, raw, analysis, aggregation,
    targets, certificates, incident, alerts) answers the same bytes from A and from B, the same
    as the single-node store (uids and report ids mapped to their upload's), and the same as
    SQLite;
  * the same measurement uploaded to A and B at the same moment is stored once as FINAL reads it
    (both answers name one uid or the race is visible only to the count tables, as documented);
  * every node makes its own tables: while the second node has none, an upload through the
    first answers 503 (retry later); once `vigie serve --db SPEC2 check` made them, it is stored;
  * a spec of the wrong form is refused: the sharded database without ?cluster=, a cluster the
    servers do not know.

Each run works in databases of its own (created on every server, dropped at the end), so that
other suites sharing the fixtures never see its rows. Skipped (77) without the fixtures.

    python3 tests/integration/test_serve_cluster.py --vigie build/vigie [unittest options]
"""
import base64
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import harness
import test_serve as ts

VIGIE = None
CLUSTER = "vigie_cluster"
FX = {}
N = 36  # measurements of the data set


def query(url, sql):
    """POST sql to the ClickHouse server of url (clickhouse://vigie:PW@HOST:PORT/DB): (status,
    body text)."""
    u = urllib.parse.urlsplit(url)
    params = {"database": u.path.lstrip("/")}
    req = urllib.request.Request("http://%s:%d/?%s" % (u.hostname, u.port,
                                                       urllib.parse.urlencode(params)),
                                 data=sql.encode(), method="POST")
    cred = "%s:%s" % (urllib.parse.unquote(u.username), urllib.parse.unquote(u.password))
    req.add_header("Authorization", "Basic " + base64.b64encode(cred.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def ok(url, sql):
    status, body = query(url, sql)
    if status != 200:
        raise AssertionError("%s: HTTP %d: %s" % (sql, status, body))
    return body


def scalar(url, sql):
    return int(ok(url, sql).strip())


def with_db(url, db):
    """url with its database replaced by db."""
    return re.sub(r"/[A-Za-z0-9_]+$", "/" + db, url)


# --------------------------------------------------------------------------------------------
# module fixtures


def setUpModule():
    try:
        set_up()
    except BaseException:
        tearDownModule()  # unittest does not call it when setUpModule fails: no serve left
        raise


def set_up():
    shards, single = FX["shards"], FX["single"]
    tag = "%d_%d" % (os.getpid(), random.randint(0, 1 << 30))
    FX["db"] = "vigie_cluster_test_" + tag
    FX["db1"] = "vigie_single_test_" + tag
    FX["extra_dbs"] = []
    for url in shards:
        ok(url, "CREATE DATABASE IF NOT EXISTS %s" % FX["db"])
    ok(single[0], "CREATE DATABASE IF NOT EXISTS %s" % FX["db1"])
    FX["urls"] = [with_db(u, FX["db"]) for u in shards]
    FX["single_url"] = with_db(single[0], FX["db1"])
    FX["tmp"] = tempfile.mkdtemp(prefix="vigie-cluster-test-")
    ts.VIGIE = VIGIE
    ts.FX["asn"] = random.randint(100000, 2000000000)
    srv = ts.http.server.ThreadingHTTPServer((ts.HOST, 0), ts.Pages)
    FX["pages"] = srv
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    ms = ts.probe(["http://%s:%d/template" % (ts.HOST, srv.server_address[1])])
    assert len(ms) == 1, ms
    ts.FX["template"] = ms[0]
    # serve A on shard 1, serve B on shard 2: each makes its own node's tables
    FX["a"] = ts.Collector(db=FX["urls"][0] + "?cluster=" + CLUSTER)
    FX["b"] = ts.Collector(db=FX["urls"][1] + "?cluster=" + CLUSTER)
    FX["one"] = ts.Collector(db=FX["single_url"])
    FX["sqlite"] = ts.Collector(db=os.path.join(FX["tmp"], "collector.db"))


def tearDownModule():
    for k in ("a", "b", "one", "sqlite"):
        if k in FX:
            FX.pop(k).stop()
    if "pages" in FX:
        FX.pop("pages").shutdown()
    for url in FX.get("shards", []) if "db" in FX else []:
        for db in [FX["db"]] + FX.get("extra_dbs", []):
            query(url, "DROP DATABASE IF EXISTS %s" % db)
    if "db1" in FX:
        query(FX["single"][0], "DROP DATABASE IF EXISTS %s" % FX["db1"])
    if "tmp" in FX:
        shutil.rmtree(FX["tmp"], ignore_errors=True)


# --------------------------------------------------------------------------------------------


class Uploads:
    """The uploads of one store (a list of collectors: the cluster's two serves, or one): the
    uid (and public report id) each measurement got, by its index in the data set."""

    def __init__(self, serves):
        self.serves = serves
        self.uids = {}
        self.reports = []

    def bulk(self, serve, rows, idx):
        status, _, j = serve.bulk([rows[i]["m"] for i in idx])
        assert status == 200 and j["accepted"] == len(idx), (status, j)
        dups = 0
        for i, uid in zip(idx, j["uids"]):
            if i in self.uids:
                assert self.uids[i] == uid, (i, self.uids[i], uid)
                dups += 1
            self.uids[i] = uid
        assert j["duplicates"] == dups, (j["duplicates"], dups)
        return j

    def submit(self, serve, rid, rows, k):
        status, _, j = serve.submit(rid, rows[k]["m"])
        i = "r%d" % k
        assert status == 200, (status, j)
        if i in self.uids:
            assert self.uids[i] == j["measurement_uid"] and j["duplicate"], (i, j)
        else:
            assert not j["duplicate"], j
        self.uids[i] = j["measurement_uid"]
        return j


class TestCluster(unittest.TestCase):
    """Two serves on two shards answer as one store, and as a single node would."""

    @classmethod
    def setUpClass(cls):
        a, b = FX["a"], FX["b"]
        cls.asns = [ts.next_asn(), ts.next_asn(), ts.next_asn()]
        cls.rep_asn = ts.next_asn()
        cls.tag = tag = "%08x" % random.randint(0, 1 << 32)
        cls.inputs = ["https://one-%s.example/" % tag, "https://two-%s.example/p?q=1" % tag,
                      "http://three-%s.example:8080/" % tag]
        verdicts = ["accessible", "blocked", "intercepted", "down", "unknown"]
        rows = []
        for n in range(N):
            asn = cls.asns[n % 3]
            cc = ("IT", "FR", "IT")[n % 3]
            inp = cls.inputs[(n // 3) % 3]
            v = verdicts[(n * 7) % 5]
            # distinct start times: the order of a list never rests on the uids
            start = ts.stamp(1 + n % 2, 8 + n % 12, n, n % 60)
            rows.append(dict(asn=asn, cc=cc, input=inp, verdict=v, start=start,
                             m=ts.variant(asn, cc, inp, v, start)))
        # and some of the last hours, for the targets' window= (whole hours from the count
        # tables, the first partial one from the measurements; all well inside the windows)
        now = int(time.time())
        for k, v in enumerate(("intercepted", "accessible", "intercepted", "blocked")):
            start = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now - 3600 * (2 + k) - k))
            rows.append(dict(asn=cls.asns[0], cc="IT", input=cls.inputs[k % 2], verdict=v,
                             start=start, m=ts.variant(cls.asns[0], "IT", cls.inputs[k % 2], v,
                                                       start)))
        # four measurements go through OONI's report protocol
        rep = [dict(asn=cls.rep_asn, cc="DE", input=cls.inputs[0], verdict=v,
                    start=ts.stamp(3, 10, k), m=ts.variant(cls.rep_asn, "DE", cls.inputs[0], v,
                                                           ts.stamp(3, 10, k)))
               for k, v in enumerate(("blocked", "accessible", "blocked", "down"))]
        cls.rows, cls.rep = rows, rep
        cls.cluster = Uploads([a, b])
        cls.one = Uploads([FX["one"]])
        cls.sqlite = Uploads([FX["sqlite"]])
        half, n = N // 2, len(rows)
        for up, first, second in ((cls.cluster, a, b), (cls.one, FX["one"], FX["one"]),
                                  (cls.sqlite, FX["sqlite"], FX["sqlite"])):
            # split: the first half to A, the second to B; then retries: all to B, all to A
            up.bulk(first, rows, list(range(half)))
            up.bulk(second, rows, list(range(half, n)))
            up.bulk(second, rows, list(range(n)))
            up.bulk(first, rows, list(reversed(range(n))))
            # a report opened on A, written through B and A, closed through B
            rid = first.open_report("DE", cls.rep_asn)
            up.reports.append(rid)
            up.submit(second, rid, rep, 0)
            up.submit(first, rid, rep, 1)
            up.submit(second, rid, rep, 0)  # a retry through the other serve
            up.submit(first, rid, rep, 2)
            status, _, j = second.post_json("/report/%s/close" % rid, {})
            assert (status, j) == (200, {}), (status, j)
            status, _, j = first.submit(rid, rep[3]["m"])
            assert status == 409, (status, j)

    # ----------------------------------------------------------------------------------------

    def test_stored_once(self):
        u1, u2 = FX["urls"]
        total = len(self.rows) + 3
        mine = "probe_asn IN (%s)" % ", ".join(str(a) for a in self.asns + [self.rep_asn])
        self.assertEqual(scalar(u1, "SELECT count() FROM measurements FINAL WHERE " + mine),
                         total)
        self.assertEqual(scalar(u2, "SELECT count() FROM measurements FINAL WHERE " + mine),
                         total)
        # no copy at all: the retries found the stored rows through the Distributed table
        self.assertEqual(scalar(u1, "SELECT count() FROM measurements WHERE " + mine), total)
        parts = [scalar(u, "SELECT count() FROM measurements_local WHERE " + mine)
                 for u in (u1, u2)]
        self.assertEqual(sum(parts), total)
        self.assertTrue(all(p > 0 for p in parts), parts)
        # the count tables: each measurement once, on the shard of its row
        where = {"agg_hourly": mine, "agg_daily_net": mine, "agg_target_hourly": mine,
                 "agg_daily_domain": "domain LIKE '%%%s%%'" % self.tag,
                 "agg_daily_cc_domain": "domain LIKE '%%%s%%'" % self.tag}
        for table, w in sorted(where.items()):
            self.assertEqual(scalar(u1, "SELECT sum(n) FROM %s WHERE %s" % (table, w)), total,
                             table)
            for u, p in zip((u1, u2), parts):
                self.assertEqual(scalar(u, "SELECT sum(n) FROM %s_local WHERE %s" % (table, w)),
                                 p, table)
        # one report, stored on one shard
        rep = "probe_asn = %d" % self.rep_asn
        self.assertEqual(scalar(u1, "SELECT count() FROM reports FINAL WHERE " + rep), 1)
        self.assertEqual(sum(scalar(u, "SELECT count() FROM reports_local FINAL WHERE " + rep)
                             for u in (u1, u2)), 1)
        # schema_version is each node's own
        for u in (u1, u2):
            self.assertGreaterEqual(scalar(u, "SELECT count() FROM schema_version"), 1)

    def test_read_at_once_from_the_other(self):
        # inserts through the Distributed table are synchronous: once A answered, B reads it
        a, b = FX["a"], FX["b"]
        asn = ts.next_asn()
        for k in range(6):
            src, dst = (a, b) if k % 2 == 0 else (b, a)
            m = ts.variant(asn, "IT", "https://later.example/%s" % self.tag, "blocked",
                           ts.stamp(4, 9, k))
            status, _, j = src.bulk([m])
            self.assertEqual(status, 200, j)
            uid = j["uids"][0]
            status, _, raw = dst.request("GET", "/api/v1/measurement/" + uid)
            self.assertEqual(status, 200, (k, raw))
            self.assertEqual(json.loads(raw)["measurement_start_time"], ts.stamp(4, 9, k))
            self.assertEqual(len(dst.list_all({"probe_asn": asn})), k + 1)

    def test_events_of_two_serves_all_kept(self):
        """Two serves of the cluster write alert events at the same moment: every event is
        kept (review: both read the same max(id), handed out the same ids, and
        ReplacingMergeTree ORDER BY id folded one event of each pair: 120-132 of 160 kept).
        Ids carry each writer's random tag in their low 16 bits (docs/storage.md)."""
        a, b = FX["a"], FX["b"]
        tag = "ev%d" % random.randint(0, 1 << 30)
        per, errors = 40, []

        def up(serve, k):
            for i in range(per):
                m = ts.variant(ts.next_asn(), "CN", "https://%s.example/%d/%d" % (tag, k, i),
                               "blocked", ts.stamp(7, 9, i % 60))
                status, _, j = serve.bulk([m])
                if status != 200 or j["accepted"] != 1:
                    errors.append((status, j))

        threads = [threading.Thread(target=up, args=(s, k))
                   for k, s in enumerate((a, b, a, b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.assertEqual(errors, [])
        seen, since = [], 0
        while True:
            status, _, j = a.get_json("/api/v1/alerts?limit=1000&since_id=%d" % since)
            self.assertEqual(status, 200, j)
            seen += [e for e in j["results"] if tag in e["input"]]
            if not j["results"]:
                break
            since = j["results"][-1]["id"]
        self.assertEqual(len(seen), 4 * per, "events lost")
        self.assertEqual(len({e["id"] for e in seen}), 4 * per)

    def test_race_across_serves(self):
        # the same measurements to A and B at once: their rows meet on one shard (sharding key
        # idem_key), where FINAL sees one; a list answers each once from both serves
        a, b = FX["a"], FX["b"]
        asn = ts.next_asn()
        ms = [ts.variant(asn, "FR", "https://race.example/%s" % self.tag, "down",
                         ts.stamp(5, 9, k)) for k in range(8)]
        answers = {}

        def up(name, serve):
            answers[name] = serve.bulk(ms)

        threads = [threading.Thread(target=up, args=(n, s)) for n, s in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for name in ("a", "b"):
            status, _, j = answers[name]
            self.assertEqual(status, 200, j)
            self.assertEqual(j["accepted"], len(ms))
        got_a = a.list_all({"probe_asn": asn})
        self.assertEqual(len(got_a), len(ms))
        self.assertEqual(got_a, b.list_all({"probe_asn": asn}))
        stored = {r["measurement_uid"] for r in got_a}
        # an answer's uid is the stored one, or (lost race) the uid of a copy FINAL hides
        for k in range(len(ms)):
            ua, ub = answers["a"][2]["uids"][k], answers["b"][2]["uids"][k]
            self.assertTrue(ua in stored or ub in stored, (ua, ub))
        u1 = FX["urls"][0]
        self.assertEqual(scalar(u1, "SELECT count() FROM measurements FINAL WHERE probe_asn = %d"
                                % asn), len(ms))

    # ----------------------------------------------------------------------------------------

    def paths(self, up):
        """The GETs compared, for the store whose uploads are up."""
        out = []
        for asn in self.asns + [self.rep_asn]:
            out.append("/api/v1/measurements?probe_asn=%d&limit=1000" % asn)
            out.append("/api/v1/aggregation?probe_asn=%d&axis_x=measurement_day"
                       "&axis_y=x_verdict" % asn)
            out.append("/api/v1/targets?probe_asn=%d" % asn)
            for w in ("24h", "7d"):
                out.append("/api/v1/targets?probe_asn=%d&window=%s" % (asn, w))
        q = [{"probe_cc": "IT"}, {"x_verdict": "blocked"}, {"input": self.inputs[1]},
             {"domain": self.inputs[2].split("/")[2].split(":")[0]},
             {"since": "2026-03-02", "until": "2026-03-02T15:00:00Z"}]
        for extra in q:
            for asn in self.asns:
                out.append("/api/v1/measurements?" + ts.qs(dict(extra, probe_asn=asn)))
        for i in sorted(up.uids, key=str):
            out.append("/api/v1/measurement/" + up.uids[i])
            out.append("/api/v1/measurement/%s/analysis" % up.uids[i])
        dom = self.inputs[0].split("/")[2]
        out.append("/api/v1/aggregation?probe_cc=DE&axis_x=domain&axis_y=measurement_hour")
        out.append("/api/v1/aggregation?domain=%s&axis_x=probe_asn&format=CSV" % dom)
        out.append("/api/v1/targets?probe_cc=DE&format=csv")
        out.append("/api/v1/measurements?probe_cc=DE&format=csv")
        inp = urllib.parse.quote(self.inputs[0], "")
        out.append("/api/v1/certificates?input=%s&probe_cc=IT&probe_asn=AS%d"
                   % (inp, self.asns[0]))
        out.append("/api/v1/incident?input=%s&probe_cc=IT&probe_asn=AS%d&since=2026-03-01"
                   "&until=2026-03-03&format=json" % (inp, self.asns[0]))
        out.append("/api/v1/alerts")
        return out

    def pages(self, serve, asn, limit):
        """The pages of a list followed through its cursors (bytes of each answer)."""
        out, cursor = [], None
        for _ in range(100):
            q = {"probe_asn": asn, "limit": limit}
            if cursor:
                q["cursor"] = cursor
            status, _, data = serve.request("GET", "/api/v1/measurements?" + ts.qs(q))
            self.assertEqual(status, 200, data)
            out.append(data)
            cursor = json.loads(data)["next_cursor"]
            if cursor is None:
                return out
        raise AssertionError("paging does not end")

    @staticmethod
    def normal(up, data):
        """data (bytes) with the uids and report ids of up replaced by their upload's index."""
        text = data.decode("utf-8", "replace")
        for i, uid in up.uids.items():
            text = text.replace(uid, "UID%s" % i)
        for k, rid in enumerate(up.reports):
            text = text.replace(rid, "RID%d" % k)
        # the public report id (stored in the rows): the one id of this shape in the answer
        text = re.sub(r"\d{8}T\d{6}Z_webconnectivity_DE_\d+_n1_[A-Za-z0-9]{43}", "PUBLIC", text)
        # the clock of the answer: when the report was made, where a window starts (now - its
        # length, to the second)
        text = re.sub(r'("window":\{"seconds":\d+,"since":")[^"]*"', r'\1S"', text)
        # (the incident report's JSON is indented: a space after the colon)
        return re.sub(r'"generated_at":\s*"[^"]*"', '"generated_at":"T"', text)

    def events(self, up, data):
        """The alert events of data about this class's uploads, without their ids and creation
        times (each store makes its own; the other tests of the class add events of their own)."""
        out = []
        for e in json.loads(self.normal(up, data))["results"]:
            if e["input"] in self.inputs:
                out.append({k: v for k, v in e.items() if k not in ("id", "created")})
        self.assertTrue(out)
        return out

    def test_same_answers(self):
        a, b = FX["a"], FX["b"]
        ca, co, cs = self.cluster, self.one, self.sqlite
        pa, po, psq = self.paths(ca), self.paths(co), self.paths(cs)
        self.assertEqual(len(pa), len(po))
        compared = 0
        for path_c, path_o, path_s in zip(pa, po, psq):
            sa, da = a.request("GET", path_c)[0::2]
            sb, db = b.request("GET", path_c)[0::2]
            # the two serves of the cluster: the same bytes (but a window's start, from the
            # clock: the two requests may fall in two seconds)
            self.assertEqual((sa, self.normal(ca, da)), (sb, self.normal(ca, db)), path_c)
            so, do = FX["one"].request("GET", path_o)[0::2]
            if path_c == "/api/v1/alerts":
                self.assertEqual((sa, so), (200, 200), (da, do))
                self.assertEqual(self.events(ca, da), self.events(co, do))
                ss, ds = FX["sqlite"].request("GET", path_s)[0::2]
                self.assertEqual(self.events(ca, da), self.events(cs, ds))
                compared += 1
                continue
            self.assertEqual((sa, self.normal(ca, da)), (so, self.normal(co, do)), path_c)
            ss, ds = FX["sqlite"].request("GET", path_s)[0::2]
            self.assertEqual((sa, self.normal(ca, da)), (ss, self.normal(cs, ds)), path_c)
            self.assertEqual(sa, 200, path_c)
            compared += 1
        self.assertGreater(compared, N)
        # pages through cursors: the same pages from A, B, and the single node
        for asn in self.asns:
            got_a = self.pages(a, asn, 5)
            self.assertEqual(got_a, self.pages(b, asn, 5))
            got_o = self.pages(FX["one"], asn, 5)
            strip = lambda up, ps: [re.sub(r'"next_cursor":"[^"]*"', '"next_cursor":"C"',
                                           self.normal(up, p)) for p in ps]
            self.assertEqual(strip(ca, got_a), strip(co, got_o))
            self.assertEqual(strip(ca, got_a), strip(cs, self.pages(FX["sqlite"], asn, 5)))


class TestNodes(unittest.TestCase):
    """Every node makes its own tables (no ON CLUSTER): until the other node has them, an upload
    through the first is refused as unavailable (503, retried), then accepted."""

    def test_each_node_made_by_its_own_serve(self):
        db = FX["db"] + "_nodes"
        FX["extra_dbs"].append(db)
        for url in FX["shards"]:
            ok(url, "CREATE DATABASE IF NOT EXISTS %s" % db)
        specs = [with_db(u, db) + "?cluster=" + CLUSTER for u in FX["shards"]]
        a = ts.Collector(db=specs[0])
        try:
            m = ts.variant(ts.next_asn(), "IT", "https://nodes.example/", "blocked",
                           ts.stamp(6, 9))
            for _ in range(2):
                status, _, j = a.bulk([m])
                self.assertEqual(status, 503, j)
                self.assertIn("retry later", j["error"])
            self.assertEqual(scalar(FX["shards"][1], "SELECT count() FROM system.tables WHERE"
                                    " database = '%s'" % db), 0)
            # the second node made without serving from it: check opens (and makes) it first
            subprocess.run([VIGIE, "serve", "--db", specs[1], "check"], capture_output=True,
                           timeout=120)
            self.assertGreater(scalar(FX["shards"][1], "SELECT count() FROM system.tables WHERE"
                                      " database = '%s' AND name = 'measurements_local'" % db),
                               0)
            status, _, j = a.bulk([m])
            self.assertEqual((status, j["accepted"], j["duplicates"]), (200, 1, 0), j)
            status, _, j = a.bulk([m])
            self.assertEqual((status, j["duplicates"]), (200, 1), j)
        finally:
            a.stop()


    def test_interrupted_upgrade_made_again(self):
        """A schema upgrade stopped after its steps and before its version is recorded (a kill,
        a timeout) is run again at the next open: each step made already, on the stored tables
        and on the Distributed ones, is not made twice (review: the Distributed table's ADD
        COLUMN ran again and the store could never open)."""
        db = FX["db"] + "_upgrade"
        FX["extra_dbs"].append(db)
        for url in FX["shards"]:
            ok(url, "CREATE DATABASE IF NOT EXISTS %s" % db)
        specs = [with_db(u, db) + "?cluster=" + CLUSTER for u in FX["shards"]]
        for spec in specs:  # each node made (the first one's check needs the second's tables)
            p = subprocess.run([VIGIE, "serve", "--db", spec, "check"], capture_output=True,
                               text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        node = with_db(FX["shards"][0], db)
        have = scalar(node, "SELECT max(version) FROM schema_version")
        self.assertGreater(have, 1)
        ok(node, "DROP TABLE schema_version")
        ok(node, "CREATE TABLE schema_version (version Int64, description String, applied"
                 " Int64) ENGINE = ReplacingMergeTree ORDER BY version")
        ok(node, "INSERT INTO schema_version VALUES (1, 'the tables of the SQL schema 8', 1)")
        p = subprocess.run([VIGIE, "serve", "--db", specs[0], "check"], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("sound", p.stderr)
        self.assertEqual(scalar(node, "SELECT max(version) FROM schema_version"), have)


class TestSpecs(unittest.TestCase):
    """A spec of the wrong form is refused at open, with the reason."""

    def check(self, spec, needle):
        p = subprocess.run([VIGIE, "serve", "--db", spec, "check"], capture_output=True,
                           text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0, p.stderr)
        self.assertIn(needle, p.stderr)
        self.assertNotIn(urllib.parse.urlsplit(spec).password or "\0", p.stderr)

    def test_wrong_form_refused(self):
        u1 = FX["urls"][0]
        self.check(u1, "is sharded: its spec wants its ?cluster=NAME")
        self.check(FX["single_url"] + "?cluster=" + CLUSTER, "is not sharded")
        self.check(u1 + "?cluster=no_such_cluster", "no cluster no_such_cluster")
        self.check(u1 + "?cluster=a'b", "cluster= wants")


def main():
    global VIGIE
    VIGIE, _, argv = harness.parse()
    FX["shards"] = harness.ch_urls("VG_TEST_CH2")
    FX["single"] = harness.ch_urls("VG_TEST_CH")
    if len(FX["shards"]) < 2 or not FX["single"]:
        return harness.skip("test_serve_cluster", "needs the two shards of VG_TEST_CH2 and the "
                            "server of VG_TEST_CH (scripts/ch-test-server start DIR --shards 2)")
    return harness.run(argv)


if __name__ == "__main__":
    sys.exit(main())
