#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_diff.py - `vigie diff OLD NEW` end to end (vigie(1), DIFF): verdict changes per URL and
network with their counts, pairs only on one side, the unchanged ones with --all, the table,
jsonl and csv outputs, the exit status (1 on a change, 0 without, 2 on a usage error or an
unreadable input), invalid lines skipped, gzip input. The measurements are OONI-shaped (no
x_verdict), built by test_analyze.py's helpers: vigie diff gives them vigie's verdicts.

    python3 tests/integration/test_diff.py --vigie build/vigie [unittest options]
"""
import csv
import gzip
import io
import json
import os
import subprocess
import tempfile
import unittest
import harness
import test_analyze as ta

VIGIE = None


def blocked(url, cc="IT", asn="AS30722"):
    m = ta.dns_blocked(url)
    m["probe_cc"], m["probe_asn"] = cc, asn
    return m


A, B, C, D = ("https://a.example/", "https://b.example/", "https://c.example/",
              "https://d.example/")
OLD = ([blocked(A)] * 3 + [ta.accessible(A)] + [ta.accessible(B)] * 2 + [ta.accessible(C)] +
       [ta.accessible(A, cc="DE", asn="AS3320")])
NEW = ([ta.accessible(A)] * 4 + [ta.accessible(B)] * 2 + [blocked(D)] +
       [blocked(A, cc="DE", asn="AS3320")])


class DiffTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vg-diff-")
        self.old = self.write("old.jsonl", OLD)
        self.new = self.write("new.jsonl", NEW)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, ms, extra=""):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write("".join(ta.line(m) + "\n" for m in ms) + extra)
        return path

    def diff(self, *args):
        return subprocess.run([VIGIE, "diff", "--no-config"] + list(args), capture_output=True,
                              text=True, timeout=60)

    def test_jsonl(self):
        r = self.diff("-f", "jsonl", self.old, self.new)
        self.assertEqual(r.returncode, 1, r.stderr)
        rows = [json.loads(x) for x in r.stdout.splitlines()]
        by = {(x["input"], x["probe_cc"], x["probe_asn"]): x for x in rows}
        self.assertEqual(len(rows), 4, rows)  # B unchanged: not listed
        a = by[(A, "IT", "AS30722")]
        self.assertEqual(a["change"], "changed")
        self.assertEqual(a["old"], {"verdict": "blocked", "count": 3, "total": 4,
                                    "counts": {"blocked": 3, "accessible": 1}})
        self.assertEqual(a["new"], {"verdict": "accessible", "count": 4, "total": 4,
                                    "counts": {"accessible": 4}})
        de = by[(A, "DE", "AS3320")]
        self.assertEqual((de["change"], de["old"]["verdict"], de["new"]["verdict"]),
                         ("changed", "accessible", "blocked"))
        self.assertEqual(by[(C, "IT", "AS30722")]["change"], "removed")
        self.assertIsNone(by[(C, "IT", "AS30722")]["new"])
        self.assertEqual(by[(D, "IT", "AS30722")]["change"], "added")
        self.assertIsNone(by[(D, "IT", "AS30722")]["old"])
        self.assertIn("2 changed, 1 only in", r.stderr)
        self.assertIn("1 unchanged", r.stderr)
        r = self.diff("-f", "jsonl", "--all", "-q", self.old, self.new)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "")
        same = [json.loads(x) for x in r.stdout.splitlines() if '"same"' in x]
        self.assertEqual(len(same), 1)
        self.assertEqual(same[0]["input"], B)
        self.assertEqual(same[0]["old"]["total"], 2)

    def test_table_and_csv(self):
        r = self.diff("-f", "table", self.old, self.new)
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("CHANGE"))
        row = [x for x in lines if x.endswith(A) and "IT AS30722" in x][0]
        self.assertRegex(row, r"^changed +blocked 3/4 +accessible 4/4 +IT AS30722 +https://a")
        self.assertTrue(any(x.startswith("added") and x.endswith(D) for x in lines))
        out = os.path.join(self.tmp.name, "d.csv")
        r = self.diff("-f", "csv", "-o", out, self.old, self.new)
        self.assertEqual(r.returncode, 1, r.stderr)
        with open(out, newline="") as f:
            text = f.read()
        self.assertIn("\r\n", text)
        rows = list(csv.DictReader(io.StringIO(text)))
        self.assertEqual(list(rows[0].keys()),
                         ["change", "input", "probe_cc", "probe_asn", "old_verdict", "old_count",
                          "old_total", "new_verdict", "new_count", "new_total"])
        a = [x for x in rows if x["input"] == A and x["probe_cc"] == "IT"][0]
        self.assertEqual((a["old_verdict"], a["old_count"], a["old_total"], a["new_verdict"],
                          a["new_count"]), ("blocked", "3", "4", "accessible", "4"))
        d = [x for x in rows if x["input"] == D][0]
        self.assertEqual((d["change"], d["old_verdict"], d["old_total"]), ("added", "", "0"))

    def test_no_change_exits_0(self):
        r = self.diff("-f", "jsonl", self.old, self.old)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        # Pairs only on one side are listed, but only a verdict change exits 1.
        more = self.write("more.jsonl", OLD + [blocked(D)])
        r = self.diff("-f", "jsonl", self.old, more)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["change"], "added")

    def test_bad_input(self):
        bad = self.write("bad.jsonl", NEW, extra="{not json\n")
        gz = os.path.join(self.tmp.name, "old.jsonl.gz")
        with open(self.old, "rb") as f, gzip.open(gz, "wb") as g:
            g.write(f.read())
        r = self.diff("-f", "jsonl", gz, bad)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), 4)
        self.assertIn("bad.jsonl:9: skipped", r.stderr)
        self.assertIn("1 skipped as invalid", r.stderr)
        r = self.diff(self.old, os.path.join(self.tmp.name, "missing.jsonl"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("missing.jsonl", r.stderr)
        r = self.diff(self.old)
        self.assertEqual(r.returncode, 2)
        self.assertIn("expected two inputs", r.stderr)
        r = self.diff("-f", "xml", self.old, self.new)
        self.assertEqual(r.returncode, 2)
        r = self.diff("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("exit status: 0 no verdict changed, 1", r.stdout)


    def test_database_ranges(self):
        """--db with --old and --new: two time ranges of a collector's database, read through
        the store, nothing created when the file is missing."""
        def dated(ms, day):
            out = []
            for i, m in enumerate(ms):
                m = json.loads(ta.line(m))
                m["measurement_start_time"] = "2024-02-%02d 10:%02d:00" % (day, i)
                out.append(m)
            return out
        both = self.write("both.jsonl", dated(OLD, 10) + dated(NEW, 11))
        db = os.path.join(self.tmp.name, "v.db")
        r = subprocess.run([VIGIE, "import", "--no-config", "--db", db, both],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.diff("-f", "jsonl", "--db", db, "--old", "2024-02-10..2024-02-11",
                      "--new", "2024-02-11..")
        self.assertEqual(r.returncode, 1, r.stderr)
        rows = {(x["input"], x["probe_cc"]): x for x in map(json.loads, r.stdout.splitlines())}
        a = rows[(A, "IT")]
        self.assertEqual((a["change"], a["old"]["verdict"], a["old"]["count"], a["old"]["total"],
                          a["new"]["verdict"], a["new"]["total"]),
                         ("changed", "blocked", 3, 4, "accessible", 4))
        self.assertEqual(rows[(C, "IT")]["change"], "removed")
        self.assertEqual(rows[(D, "IT")]["change"], "added")
        self.assertEqual(rows[(A, "DE")]["change"], "changed")
        self.assertEqual(len(rows), 4)
        r = self.diff("--db", db, "--old", "2024-02-10..2024-02-11", "--new",
                      "2024-02-10T00:00Z..2024-02-11")
        self.assertEqual(r.returncode, 0, r.stderr)
        missing = os.path.join(self.tmp.name, "missing.db")
        r = self.diff("--db", missing, "--old", "..2024-02-11", "--new", "2024-02-11..")
        self.assertEqual(r.returncode, 4)
        self.assertFalse(os.path.exists(missing), "diff created the database")
        r = self.diff("--db", db, "--old", "2024-02-12..2024-02-11", "--new", "..")
        self.assertEqual(r.returncode, 2)
        self.assertIn("FROM before TO", r.stderr)
        r = self.diff("--db", db, "--old", "..")
        self.assertEqual(r.returncode, 2)
        r = self.diff("--old", "..", "--new", "..", self.old, self.new)
        self.assertEqual(r.returncode, 2)
        self.assertIn("need --db", r.stderr)


if __name__ == "__main__":
    raise SystemExit(harness.main(globals()))
