#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_report.py - `vigie report` and GET /api/v1/incident end to end (vigie(1), REPORT;
docs/dashboard.md, "Incident report"): the lab capture's forged iCloud chain and OONI's QA
fixtures as JSON Lines -> the report's HTML and JSON (shares, Wilson intervals, the forged
certificate with its SHA-256 against the control's, no external reference, hostile strings
escaped); the same files imported into a database then `report --db` (the same JSON apart from
generated_at, source and the stored uids); the serve route (html, json, 400, 404); the exit
statuses and --list. With --pg the database is PostgreSQL (VG_TEST_PG), with --ch ClickHouse
(VG_TEST_CH; a database of its own on that server).

    python3 tests/integration/test_report.py --vigie build/vigie [--pg | --ch] [unittest options]
"""
import http.client
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from html.parser import HTMLParser
from urllib.parse import urlencode

import harness
import test_certs as tc  # its PostgreSQL database of our own (own_pg_database, psql)

VIGIE = None
PG_CONN = None
CH = None  # clickhouse:// URL of the server (--ch)
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
LAB = os.path.join(DATA, "dashboard", "lab-capture.jsonl")
QA = os.path.join(DATA, "ooni", "probe-cli-qa.jsonl")
ICLOUD = "https://www.icloud.com/"
EXAMPLE = "https://www.example.com/"
FORGED = "c05c21b4759ec6309dd5bb428b67ac35b487f3c09be84337114977ba319e1354"
GENUINE = "280dbc757c71bd08d95ff32ab885bd629d544641dc9dde7e6c07b99d0e552b9b"
SINCE = "2000-01-01"  # every fixture; a database report defaults to the last 30 days
FX = {}


def wilson(k, n, z=1.959964):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


class Refs(HTMLParser):
    """Every tag and every attribute of an HTML document, and the embedded report JSON."""

    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.embedded, self._in = [], [], None, False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        self._in = tag == "script" and ("id", "vigie-report") in attrs

    def handle_endtag(self, tag):
        self._in = False

    def handle_data(self, data):
        if self._in:
            self.embedded = (self.embedded or "") + data


def parse_html(text):
    p = Refs()
    p.feed(text)
    p.close()
    return p


def setUpModule():
    FX["tmp"] = tempfile.mkdtemp(prefix="vigie-report-test-")
    tc.PG_CONN = PG_CONN
    if CH:
        db, FX["ch_drop"] = harness.ch_own_database(CH, "vigie_report_test")
    else:
        db = tc.own_pg_database() if PG_CONN else os.path.join(FX["tmp"], "report.db")
    p = subprocess.run([VIGIE, "import", "--no-config", "--db", db, LAB, QA],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    FX["db"] = db
    FX["srv"] = harness.Server(VIGIE, "serve", "--db", db)


def tearDownModule():
    if "srv" in FX:
        FX["srv"].stop()
    if "pg_db" in tc.FX:
        tc.psql(PG_CONN, "DROP DATABASE %s WITH (FORCE)" % tc.FX["pg_db"])
    if "ch_drop" in FX:
        FX["ch_drop"]()
    shutil.rmtree(FX["tmp"], ignore_errors=True)


def report(*args):
    return subprocess.run([VIGIE, "report", "--no-config"] + list(args), capture_output=True,
                          text=True, timeout=120)


def comparable(r):
    """The report without what differs by source: generation time, source, stored uids."""
    r = json.loads(json.dumps(r))
    for k in ("generated_at", "source", "samples"):
        r.pop(k)
    for side in ("probe", "control"):
        for ch in r["certificates"][side]:
            ch.pop("last_measurement_uid")
    return r


class TestReport(unittest.TestCase):

    def run_report(self, name, *args):
        out = os.path.join(FX["tmp"], name + ".html")
        p = report("-o", out, *args)
        with open(out) as f:
            html = f.read()
        with open(os.path.join(FX["tmp"], name + ".json")) as f:
            js = json.load(f)
        return p, html, js

    def check_offline(self, html, js):
        doc = parse_html(html)
        self.assertNotIn("link", doc.tags)
        self.assertNotIn("img", doc.tags)
        self.assertNotIn("iframe", doc.tags)
        for tag, k, v in doc.attrs:
            if k in ("src", "href", "action", "srcset", "poster", "data"):
                self.assertFalse(re.match(r"\s*(https?:)?//", v, re.I), (tag, k, v))
            if tag == "script":
                self.assertNotEqual(k, "src")
        self.assertNotRegex(html, r"@import|url\(\s*['\"]?(https?:)?//")
        self.assertEqual(doc.tags.count("script"), 1)
        self.assertEqual(json.loads(doc.embedded), js)  # the same report, embedded
        self.assertIn("@media print", html)

    def test_lab_icloud(self):
        p, html, js = self.run_report("icloud", "--input", ICLOUD, LAB)
        self.assertEqual(p.returncode, 1, p.stderr)  # interference in the period
        self.assertEqual(js["target"]["input"], ICLOUD)
        self.assertEqual((js["network"]["probe_cc"], js["network"]["probe_asn"]), ("ZZ", "AS0"))
        self.assertEqual(js["measurements"], 2)
        v = js["verdicts"]["intercepted"]
        self.assertEqual((v["n"], v["share"]), (1, 0.5))
        lo, hi = wilson(1, 2)
        self.assertAlmostEqual(v["ci_low"], lo, places=3)
        self.assertAlmostEqual(v["ci_high"], hi, places=3)
        self.assertEqual(js["interference"]["n"], 1)
        self.assertTrue(js["intermittent"])
        self.assertEqual(js["causes"], {"tls.mitm": 1})
        forged = js["certificates"]["probe"][0]
        self.assertEqual(forged["leaf_sha256"], FORGED)
        self.assertFalse(forged["valid"])
        self.assertIn(GENUINE, [c["leaf_sha256"] for c in js["certificates"]["control"]])
        self.assertNotIn(FORGED, [c["leaf_sha256"] for c in js["certificates"]["control"]])
        self.assertIn("198.51.100.30:443", [a["address"] for a in js["affected_addresses"]])
        self.assertEqual(sum(pt["total"] for pt in js["timeline"]["points"]), 2)
        self.assertEqual([s["x_verdict"] for s in js["samples"]], ["intercepted", "accessible"])
        self.assertTrue(js["method"].startswith("vigie measured"))
        self.assertIn(FORGED, html)
        self.assertIn("NOT VALID", html)
        self.assertIn("<svg", html)
        self.check_offline(html, js)

    def test_ooni_fixtures(self):
        p, html, js = self.run_report("example", "--input", EXAMPLE, QA)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        self.assertEqual((js["network"]["probe_cc"], js["network"]["probe_asn"]), ("IT", "AS137"))
        n = js["measurements"]
        self.assertEqual(n, 11)
        total = 0
        for name, v in js["verdicts"].items():
            total += v["n"]
            lo, hi = wilson(v["n"], n)
            self.assertAlmostEqual(v["share"], v["n"] / n, places=3)
            self.assertAlmostEqual(v["ci_low"], lo, places=3, msg=name)
            self.assertAlmostEqual(v["ci_high"], hi, places=3, msg=name)
        self.assertEqual(total, n)
        k = js["verdicts"]["blocked"]["n"] + js["verdicts"]["intercepted"]["n"]
        self.assertEqual(js["interference"]["n"], k)
        self.assertEqual(p.returncode, 1 if k else 0)
        self.check_offline(html, js)
        # every OONI fixture file: Facebook answered with a bogon in Iran (backend-fastpath)
        ooni = sorted(os.path.join(DATA, "ooni", f) for f in os.listdir(os.path.join(DATA, "ooni"))
                      if f.endswith(".jsonl"))
        p, html, js = self.run_report("facebook", "--input", "https://www.facebook.com/", *ooni)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual((js["network"]["probe_cc"], js["network"]["probe_asn"],
                          js["network"]["network_name"]),
                         ("IR", "AS197207", "Mobile Communication Company of Iran PLC"))
        self.assertEqual((js["verdicts"]["blocked"]["n"], js["causes"]), (1, {"dns.bogon": 1}))
        self.assertIn("Mobile Communication Company of Iran PLC", html)
        self.check_offline(html, js)

    def test_hostile_strings(self):
        with open(LAB) as f:
            lines = [json.loads(x) for x in f if ICLOUD in x]
        bad_input = 'https://x.example/?q="\'><script>alert(1)</script>'
        path = os.path.join(FX["tmp"], "hostile.jsonl")
        with open(path, "w") as f:
            for m in lines:
                m["input"] = bad_input
                m["probe_network_name"] = "<img src=x onerror=alert(2)>"
                for h in m["test_keys"].get("tls_handshakes") or []:
                    for c in h.get("x_certificates") or []:
                        c["subject"] = "<script>alert(3)</script>"
                        c["issuer"] = '"><b onclick=alert(4)>'
                f.write(json.dumps(m) + "\n")
        p, html, js = self.run_report("hostile", "--input", bad_input, path)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(js["target"]["input"], bad_input)
        self.assertEqual(js["certificates"]["probe"][0]["subject"], "<script>alert(3)</script>")
        for s in ("<script>alert", "<img", "<b onclick"):
            self.assertNotIn(s, html)
        self.assertIn("&lt;script&gt;alert(3)&lt;/script&gt;", html)
        self.assertIn("&lt;img src=x onerror=alert(2)&gt;", html)
        doc = parse_html(html)
        self.assertEqual(doc.tags.count("script"), 1)
        self.assertNotIn("b", doc.tags)
        self.check_offline(html, js)

    def test_database_same_report(self):
        _, _, files = self.run_report("f", "--input", ICLOUD, "--since", SINCE, LAB)
        p, html, db = self.run_report("d", "--input", ICLOUD, "--since", SINCE, "--db", FX["db"])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual((files["source"], db["source"]), ("files", "database"))
        self.assertEqual(comparable(files), comparable(db))
        self.assertTrue(all(s["measurement_uid"] for s in db["samples"]))
        _, _, files = self.run_report("f2", "--input", EXAMPLE, "--since", SINCE, QA)
        _, _, db = self.run_report("d2", "--input", EXAMPLE, "--since", SINCE, "--db", FX["db"])
        self.assertEqual(comparable(files), comparable(db))
        p = report("--input", ICLOUD, "--since", SINCE, "--db", FX["db"], "--base-url",
                   "http://collector.example", "-f", "json")
        links = [s["link"] for s in json.loads(p.stdout)["samples"]]
        self.assertTrue(all(x.startswith("http://collector.example/api/v1/measurement/")
                            for x in links), links)

    def test_database_pages(self):
        """More measurements than one page of the store's read (500), some at the same second:
        every one counted once, as from the file."""
        with open(LAB) as f:
            lines = [json.loads(x) for x in f if ICLOUD in x]
        url = "https://paging.example/"
        path = os.path.join(FX["tmp"], "paging.jsonl")
        with open(path, "w") as f:
            for i in range(1234):
                m = json.loads(json.dumps(lines[i % 2]))
                m["input"] = url
                m["id"] = "00000000-0000-4000-8000-%012d" % i
                m["measurement_start_time"] = "2026-11-%02d %02d:%02d:00" % (
                    1 + i // 600, (i // 60) % 10, (i // 2) % 60)  # pairs at the same second
                f.write(json.dumps(m) + "\n")
        p = subprocess.run([VIGIE, "import", "--no-config", "--db", FX["db"], path],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        _, _, files = self.run_report("pf", "--input", url, "--since", SINCE, path)
        _, _, db = self.run_report("pd", "--input", url, "--since", SINCE, "--db", FX["db"])
        self.assertEqual(db["measurements"], 1234)
        self.assertEqual(db["verdicts"]["intercepted"]["n"], 617)
        self.assertEqual(comparable(files), comparable(db))

    def test_outputs_and_exit_statuses(self):
        p = report("--input", ICLOUD, "-o", "-", LAB)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertTrue(p.stdout.startswith("<!DOCTYPE html>"))
        p = subprocess.run([VIGIE, "report", "--no-config", "--input", ICLOUD, "-f", "json", "-"],
                           input=open(LAB).read(), capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(json.loads(p.stdout)["measurements"], 2)
        p = report("--input", "https://www.example.org/", "-f", "json", LAB)
        self.assertEqual(p.returncode, 0, p.stderr)  # accessible: no interference
        p = report("--input", "https://nowhere.example/", LAB)
        self.assertEqual(p.returncode, 3)
        self.assertIn("no measurement", p.stderr)
        p = report("--input", ICLOUD, "--since", "2026-11-29T11:56:20Z", "-f", "json", LAB)
        self.assertEqual(json.loads(p.stdout)["measurements"], 1)
        self.assertEqual(p.returncode, 0)  # only the accessible one
        for bad in ([LAB], ["--input", ICLOUD], ["--input", ICLOUD, "--window", "2d", LAB],
                    ["--input", ICLOUD, "--since", "yesterday", LAB],
                    ["--input", ICLOUD, "--probe-asn", "ASX", LAB],
                    ["--input", ICLOUD, "-f", "pdf", LAB],
                    ["--input", ICLOUD, "--db", FX["db"], LAB]):
            p = report(*bad)
            self.assertEqual(p.returncode, 2, (bad, p.stderr))
        p = report("--input", ICLOUD, "--db", os.path.join(FX["tmp"], "missing.db"))
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertFalse(os.path.exists(os.path.join(FX["tmp"], "missing.db")))
        # a database server that does not answer: exit 4, and its password in no message (a
        # ClickHouse URL was taken for an SQLite path and printed whole)
        for spec in ("clickhouse://u:s3cret@127.0.0.1:1/db", "postgresql://u:s3cret@127.0.0.1:1/db"):
            p = report("--input", ICLOUD, "--db", spec)
            self.assertEqual(p.returncode, 4, p.stderr)
            self.assertNotIn("s3cret", p.stderr + p.stdout)
            self.assertIn("cannot open the database", p.stderr)

    def test_config_section(self):
        conf = os.path.join(FX["tmp"], "report.conf")
        with open(conf, "w") as f:
            f.write("[report]\ninput = %s\nformat = json\n" % ICLOUD)
        p = subprocess.run([VIGIE, "report", "--config", conf, LAB], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(json.loads(p.stdout)["target"]["input"], ICLOUD)

    def test_networks(self):
        with open(LAB) as f:
            lines = [json.loads(x) for x in f if ICLOUD in x]
        path = os.path.join(FX["tmp"], "nets.jsonl")
        with open(path, "w") as f:
            for m in lines:
                f.write(json.dumps(m) + "\n")
                if m["test_keys"]["x_verdict"] == "accessible":
                    m["probe_cc"], m["probe_asn"] = "DE", "AS3320"
                    f.write(json.dumps(m) + "\n")
        p = report("--input", ICLOUD, "-f", "json", path)
        self.assertEqual(json.loads(p.stdout)["network"]["probe_cc"], "ZZ")
        self.assertIn("2 networks", p.stderr)
        p = report("--input", ICLOUD, "-f", "json", "--probe-cc", "DE", path)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(json.loads(p.stdout)["network"]["chosen"], "given")
        p = report("--input", ICLOUD, "--list", path)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"ZZ\s+AS0\s+2\s+1")
        self.assertRegex(p.stdout, r"DE\s+AS3320\s+1\s+0")


def get(params):
    conn = http.client.HTTPConnection("127.0.0.1", FX["srv"].port, timeout=60)
    try:
        conn.request("GET", "/api/v1/incident?" + urlencode(params))
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode()
    finally:
        conn.close()


class TestServe(unittest.TestCase):

    def test_html_and_json(self):
        status, hdr, body = get({"input": ICLOUD, "since": SINCE})
        self.assertEqual(status, 200, body)
        self.assertTrue(hdr["Content-Type"].startswith("text/html"))
        self.assertRegex(hdr["Content-Disposition"], r'^inline; filename="incident-[^"/]+\.html"$')
        self.assertIn("default-src 'none'", hdr["Content-Security-Policy"])
        doc = parse_html(body)
        self.assertIn(FORGED, body)
        status, hdr, text = get({"input": ICLOUD, "since": SINCE, "format": "json"})
        self.assertEqual(status, 200, text)
        self.assertTrue(hdr["Content-Type"].startswith("application/json"))
        js = json.loads(text)
        self.assertEqual(js["source"], "database")
        self.assertEqual(js["verdicts"]["intercepted"]["n"], 1)
        self.assertEqual(comparable(json.loads(doc.embedded)), comparable(js))
        links = [s["link"] for s in js["samples"]]
        self.assertTrue(all(x.startswith("/api/v1/measurement/") for x in links), links)
        conn = http.client.HTTPConnection("127.0.0.1", FX["srv"].port, timeout=60)
        conn.request("GET", links[0])
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()

    def test_errors(self):
        for params, word in (({}, "input"), ({"input": ICLOUD, "format": "csv"}, "format"),
                             ({"input": ICLOUD, "window": "2d"}, "window"),
                             ({"input": ICLOUD, "window": "7d", "since": SINCE}, "window"),
                             ({"input": ICLOUD, "since": "2026-12-01", "until": "2026-11-01"},
                              "since"),
                             ({"input": ICLOUD, "probe_asn": "nope"}, "probe_asn"),
                             ({"input": ICLOUD, "x_verdict": "blocked"}, "x_verdict")):
            status, hdr, body = get(params)
            self.assertEqual(status, 400, (params, body))
            self.assertIn(word, json.loads(body)["error"], params)
        status, _, body = get({"input": "https://nowhere.example/", "since": SINCE})
        self.assertEqual(status, 404, body)
        self.assertIn("no measurement", json.loads(body)["error"])
        status, _, body = get({"input": ICLOUD, "since": SINCE, "probe_cc": "DE"})
        self.assertEqual(status, 404, body)


def main():
    global VIGIE, PG_CONN, CH
    VIGIE, opts, argv = harness.parse(("--pg!", "--ch!"), " [--pg | --ch]")
    PG_CONN, _ = harness.pg_option(opts)
    if opts.get("--ch"):
        urls = harness.ch_urls("VG_TEST_CH")
        if not urls:
            return harness.skip("test_report --ch", "no ClickHouse server: VG_TEST_CH and "
                                "VG_TEST_CH_FILE unset (scripts/ch-test-server start DIR)")
        CH = urls[0]
    return harness.run(argv)


if __name__ == "__main__":
    sys.exit(main())
