#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_analyze.py - end-to-end tests of `vigie analyze` (docs/analyze.md): every input form
(JSON Lines, pretty-printed documents, gzip, OONI's postcans .tar.gz of .post submissions,
autoclaved .tar.lz4, standard input), every output form (jsonl, table, csv, --compare-ooni),
bad and over-long lines, tests other than web_connectivity, and each exit status.

Python 3 standard library only (the lz4 case needs the `lz4` command and is skipped without
it). The measurements are OONI-shaped web_connectivity measurements written here.

    python3 tests/integration/test_analyze.py --vigie build/vigie [unittest options]
"""
import array
import copy
import csv
import fcntl
import gzip
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import termios
import time
import unittest
import harness

VIGIE = None
RUN_TIMEOUT = 120
LINE_MAX = 64 * 1024 * 1024  # VG_ANALYZE_LINE_MAX (lib/util/limits.h)
VERDICTS = {"intercepted", "blocked", "down", "unknown", "accessible"}
ADDED = {"x_verdict", "x_cause", "x_evidence", "x_endpoints", "x_affected_addresses",
         "x_analyzer"}

# --------------------------------------------------------------------------------------------
# measurements

PAGE = ("<html><head><title>Example Domain</title></head><body><p>This domain is for use in "
        "illustrative examples.</p></body></html>")


def base(url, cc="IT", asn="AS30722", when="2024-02-12 20:33:47"):
    """The envelope of an OONI web_connectivity 0.4 measurement (df-000-base)."""
    return {
        "annotations": {"architecture": "amd64", "engine_name": "ooniprobe-engine",
                        "platform": "linux"},
        "data_format_version": "0.2.0",
        "extensions": {"dnst": 0, "httpt": 0, "netevents": 0, "tcpconnect": 0,
                       "tlshandshake": 0},
        "input": url,
        "measurement_start_time": when,
        "probe_asn": asn,
        "probe_cc": cc,
        "probe_ip": "127.0.0.1",
        "probe_network_name": "Test Network",
        "report_id": "20240212T203347Z_webconnectivity_%s_%s_n1_AbCdEfGhIjKlMnOp" % (cc, asn[2:]),
        "resolver_asn": asn,
        "resolver_ip": "192.0.2.53",
        "resolver_network_name": "Test Network",
        "software_name": "ooniprobe-cli",
        "software_version": "3.20.0",
        "test_helpers": {"backend": {"address": "https://0.th.ooni.org/", "type": "https"}},
        "test_name": "web_connectivity",
        "test_runtime": 1.25,
        "test_start_time": "2024-02-12 20:33:40",
        "test_version": "0.4.3",
    }


def control(addr):
    return {
        "tcp_connect": {"%s:443" % addr: {"status": True, "failure": None}},
        "http_request": {"body_length": len(PAGE), "failure": None, "title": "Example Domain",
                         "headers": {"Content-Type": "text/html"}, "status_code": 200},
        "dns": {"failure": None, "addrs": [addr]},
    }


def accessible(url="https://example.org/", addr="93.184.216.34", **kw):
    """Reached, and the same as the control: accessible for vigie and for OONI."""
    host = url.split("/")[2]
    m = base(url, **kw)
    m["test_keys"] = {
        "agent": "redirect", "client_resolver": "192.0.2.53", "retries": None,
        "socksproxy": None,
        "queries": [{"answers": [{"answer_type": "A", "ipv4": addr, "ttl": None, "asn": 15133,
                                  "as_org_name": "Edgecast"}],
                     "engine": "system", "failure": None, "hostname": host, "query_type": "A",
                     "resolver_hostname": None, "resolver_port": None, "resolver_address": "",
                     "t": 0.05}],
        "tcp_connect": [{"ip": addr, "port": 443,
                         "status": {"blocked": False, "failure": None, "success": True},
                         "t": 0.1}],
        "tls_handshakes": [],
        "requests": [{"failure": None,
                      "request": {"body": "", "body_is_truncated": False, "headers": {},
                                  "method": "GET", "tor": {"exit_ip": None, "exit_name": None,
                                                           "is_tor": False}, "url": url},
                      "response": {"body": PAGE, "body_is_truncated": False, "code": 200,
                                   "headers": {"Content-Type": "text/html"}},
                      "t": 0.3}],
        "control": control(addr),
        "control_failure": None, "dns_experiment_failure": None, "dns_consistency": "consistent",
        "http_experiment_failure": None, "body_length_match": True, "body_proportion": 1,
        "status_code_match": True, "headers_match": True, "title_match": True,
        "accessible": True, "blocking": False,
    }
    return m


def dns_blocked(url="https://blocked.example/", **kw):
    """NXDOMAIN from the probe's resolver where the control resolves the name: blocked (DNS)."""
    host = url.split("/")[2]
    m = base(url, cc="IR", asn="AS58224", **kw)
    m["test_keys"] = {
        "agent": "redirect", "client_resolver": "192.0.2.53", "retries": None,
        "socksproxy": None,
        "queries": [{"answers": None, "engine": "system", "failure": "dns_nxdomain_error",
                     "hostname": host, "query_type": "A", "resolver_hostname": None,
                     "resolver_port": None, "resolver_address": "", "t": 0.05}],
        "tcp_connect": [], "tls_handshakes": [], "requests": [],
        "control": control("198.51.100.7"),
        "control_failure": None, "dns_experiment_failure": "dns_nxdomain_error",
        "dns_consistency": "inconsistent", "http_experiment_failure": None,
        "body_length_match": None, "body_proportion": 0, "status_code_match": None,
        "headers_match": None, "title_match": None,
        "accessible": False, "blocking": "dns",
    }
    return m


def other_test(url="dot://1.1.1.1:853/"):
    """A test vigie has no rules for: passed through."""
    m = base(url)
    m["test_name"] = "dnscheck"
    m["test_version"] = "0.9.2"
    m["test_keys"] = {"bootstrap": None, "lookups": {}}
    return m


def line(m):
    return json.dumps(m, separators=(",", ":"))


def test_keys_end(text, m):
    """Offset of the closing brace of test_keys in text (compact JSON of m)."""
    tk = '"test_keys":' + json.dumps(m["test_keys"], separators=(",", ":"))
    return text.index(tk) + len(tk) - 1


def assert_inserted(test, src, out):
    """out is src with one insertion of vigie's keys (every other byte kept, in place)."""
    p = 0
    while p < min(len(src), len(out)) and src[p] == out[p]:
        p += 1
    q = 0
    while q < len(src) - p and src[len(src) - 1 - q] == out[len(out) - 1 - q]:
        q += 1
    test.assertEqual(p + q, len(src), "the input's bytes, in place")
    piece = out[p:len(out) - q]
    added = json.loads("{" + piece.strip().strip(",") + "}")
    test.assertTrue(added and set(added) <= ADDED, added)


def strip_added(obj):
    """obj without vigie's analysis keys (x_* added to test_keys)."""
    o = copy.deepcopy(obj)
    tk = o.get("test_keys")
    if isinstance(tk, dict):
        for k in [k for k in tk if k in ADDED]:
            del tk[k]
    return o


# --------------------------------------------------------------------------------------------
# running vigie


class Run:
    def __init__(self, proc_result):
        self.code = proc_result.returncode
        self.out = proc_result.stdout
        self.err = proc_result.stderr.decode("utf-8", "replace")

    def lines(self):
        return [json.loads(x) for x in self.out.decode().splitlines() if x.strip()]


def analyze(*args, stdin=None):
    r = subprocess.run([VIGIE, "analyze"] + [str(a) for a in args], input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
    return Run(r)


class AnalyzeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="vg-analyze-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return p

    def jsonl(self, name, ms):
        return self.write(name, "".join(line(m) + "\n" for m in ms))

    def assertVerdicts(self, objs):
        for o in objs:
            if o["test_name"] == "web_connectivity":
                self.assertIn(o["test_keys"]["x_verdict"], VERDICTS, o["input"])
                self.assertTrue(o["test_keys"]["x_analyzer"].startswith("vigie-analyze/"))

    # ---- JSON Lines and the fields it must not touch ----------------------------------------

    def test_jsonl_keeps_ooni_fields(self):
        ms = [accessible(), dns_blocked(), other_test()]
        # test_keys in the middle of the object too: x_ keys go at its end, the rest untouched.
        mid = accessible(url="https://middle.example/")
        reordered = {k: mid[k] for k in ["test_keys"] + [k for k in mid if k != "test_keys"]}
        ms.append(reordered)
        src = [line(m) for m in ms]
        p = self.write("keep.jsonl", "\n".join(src) + "\n")
        r = analyze("-f", "jsonl", p)
        self.assertIn(r.code, (0, 1), r.err)
        out = r.out.decode().splitlines()
        self.assertEqual(len(out), len(ms))
        for m, s, o in zip(ms, src, out):
            obj = json.loads(o)
            self.assertEqual(strip_added(obj), m)
            if m["test_name"] != "web_connectivity":
                self.assertEqual(o, s, "a test without rules is passed through byte for byte")
                continue
            assert_inserted(self, s, o)
            k = test_keys_end(s, m)
            self.assertTrue(o.startswith(s[:k]), "bytes before the end of test_keys kept")
            self.assertTrue(o.endswith(s[k:]), "bytes after test_keys kept")
            added = json.loads("{" + o[k:len(o) - (len(s) - k)].lstrip(",") + "}")
            self.assertTrue(set(added) <= ADDED and {"x_verdict", "x_analyzer"} <= set(added),
                            added)
        self.assertVerdicts(json.loads(o) for o in out)

    def test_ooni_fixtures(self):
        """OONI's own measurements (tests/data/ooni, sources named there): a verdict for each
        web_connectivity one, every OONI field untouched, the same in every output form."""
        data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "ooni")
        files = sorted(os.path.join(data, f) for f in os.listdir(data)
                       if f.endswith(".jsonl")) if os.path.isdir(data) else []
        if not files:
            self.skipTest("no OONI fixtures in tests/data/ooni")
        for path in files:
            src = [l for l in open(path, encoding="utf-8").read().splitlines() if l.strip()]
            r = analyze("-f", "jsonl", path)
            self.assertIn(r.code, (0, 1), path + ": " + r.err)
            out = r.out.decode().splitlines()
            self.assertEqual(len(out), len(src), path)
            for n, (s, o) in enumerate(zip(src, out), 1):
                si, oi = json.loads(s), json.loads(o)
                where = "%s:%d" % (path, n)
                self.assertEqual(strip_added(oi), strip_added(si), where)
                if si.get("test_name") != "web_connectivity" or si.get("test_keys") is None:
                    self.assertEqual(o, s, where)  # not analysed: stored as is
                    continue
                self.assertIn(oi["test_keys"]["x_verdict"], VERDICTS, where)
                if not any(k in ADDED for k in (si.get("test_keys") or {})):
                    assert_inserted(self, s, o)
            rows = list(csv.reader(io.StringIO(analyze("-f", "csv", path).out.decode(),
                                               newline="")))
            self.assertEqual(len(rows), 1 + len(src), path)
            r2 = analyze("--compare-ooni", path)
            self.assertEqual(r2.code, r.code, path)
            self.assertIn("agree: ", r2.out.decode())
            # the same measurements as OONI publishes them: .jsonl.gz, and a postcan whose
            # submissions carry each one's own bytes
            gz = self.path("fixture.jsonl.gz")
            with gzip.open(gz, "wb") as f:
                f.write(("\n".join(src) + "\n").encode())
            self.assertEqual(analyze(gz).out, r.out, path)
            can = self.path("fixture-can.tar.gz")
            with tarfile.open(can, "w:gz") as t:
                for n, text in enumerate(src):
                    body = ('{"format":"json","content":%s}' % text).encode()
                    ti = tarfile.TarInfo("h/%04d.post" % n)
                    ti.size = len(body)
                    t.addfile(ti, io.BytesIO(body))
            r3 = analyze(can)
            self.assertEqual((r3.code, r3.out), (r.code, r.out), path)

    def test_verdicts_and_exit_interference(self):
        r = analyze(self.jsonl("blocked.jsonl", [dns_blocked()]))
        self.assertEqual(r.code, 1, r.err)
        tk = r.lines()[0]["test_keys"]
        self.assertEqual(tk["x_verdict"], "blocked")
        self.assertTrue(tk["x_cause"], "a cause")
        self.assertEqual(tk["blocking"], "dns", "OONI's own label untouched")

    def test_lab_addresses(self):
        """--lab: the documentation ranges are the lab's public addresses, not bogons."""
        m = accessible(url="https://www.lab.example/", addr="198.51.100.20")
        m["test_keys"]["control"]["dns"]["addrs"] = ["93.184.216.34"]
        p = self.jsonl("lab.jsonl", [m])
        r = analyze(p)
        self.assertEqual(r.code, 1, r.err)
        self.assertEqual(r.lines()[0]["test_keys"]["x_cause"], "dns.bogon")
        r = analyze("--lab", p)
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.lines()[0]["test_keys"]["x_verdict"], "accessible")

    def test_exit_ok_and_passed_through(self):
        p = self.jsonl("other.jsonl", [other_test(), other_test("dot://8.8.8.8:853/")])
        r = analyze(p)
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, open(p, "rb").read())
        self.assertIn("2 measurements", r.err)

    def test_blank_lines_and_crlf(self):
        ms = [other_test(), other_test("dot://9.9.9.9:853/")]
        p = self.write("crlf.jsonl", "\r\n\n" + line(ms[0]) + "\r\n   \n" + line(ms[1]) + "\r\n")
        r = analyze(p)
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.lines(), ms)
        self.assertNotIn("skipped", r.err)

    # ---- bad lines ---------------------------------------------------------------------------

    def test_bad_lines_reported_with_numbers(self):
        good = other_test()
        bad_type = other_test()
        bad_type["test_keys"] = "not an object"
        wc_bad = accessible()
        wc_bad["test_keys"] = ["a", "list"]
        rows = [line(good), "not json at all", '{"test_name": "web_connectivity", "input": ',
                "", line(good), "[1, 2, 3]", line(wc_bad), "\x00\x01binary", line(good)]
        p = self.write("bad.jsonl", "\n".join(rows) + "\n")
        r = analyze(p)
        self.assertEqual(r.code, 3, r.err)
        for n in (2, 3, 6, 7, 8):
            self.assertRegex(r.err, r"bad\.jsonl:%d: .+ \(skipped\)" % n)
        for n in (1, 4, 5, 9):
            self.assertNotRegex(r.err, r"bad\.jsonl:%d:" % n)
        self.assertRegex(r.err, r"bad\.jsonl:2: invalid JSON at byte \d+")
        self.assertEqual(len(r.lines()), 3)
        self.assertRegex(r.err, r"5 invalid lines skipped")

    def test_overlong_line_bounded(self):
        """A line over VG_ANALYZE_LINE_MAX is reported and skipped without being kept whole:
        the line after it is read, and the peak memory stays well under the line's size."""
        big = 3 * LINE_MAX
        p = self.path("long.jsonl.gz")
        first = line(other_test()).encode()
        with gzip.open(p, "wb", compresslevel=1) as f:
            f.write(first + b"\n")
            f.write(b'{"test_name":"web_connectivity","input":"')
            chunk = b"a" * (1024 * 1024)
            for _ in range(big // len(chunk)):
                f.write(chunk)
            f.write(b'"}\n')
            f.write(first + b"\n")
        with open(self.path("long.out"), "w+b") as out, open(self.path("long.err"), "w+b") as err:
            proc = subprocess.Popen([VIGIE, "analyze", p], stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(), err.read().decode()
        self.assertEqual(proc.returncode, 3, stderr)
        self.assertRegex(stderr, r"long\.jsonl\.gz:2: line longer than %d bytes" % LINE_MAX)
        self.assertEqual(stdout.splitlines(), [first.decode()] * 2)
        peak = usage.ru_maxrss * 1024
        self.assertLess(peak, harness.memory_bound(VIGIE, 2 * LINE_MAX),
                        "peak RSS %d for a %d-byte line" % (peak, big))

    # ---- input forms -------------------------------------------------------------------------

    def test_pretty_document(self):
        m = dns_blocked()
        p = self.write("one.json", json.dumps(m, indent=2) + "\n")
        r = analyze(p)
        self.assertEqual(r.code, 1, r.err)
        out = r.out.decode().splitlines()
        self.assertEqual(len(out), 1, "one line of JSON")
        self.assertEqual(strip_added(json.loads(out[0])), m)
        # the same verdict as the same measurement on one line
        r2 = analyze(self.jsonl("one.jsonl", [m]))
        self.assertEqual(json.loads(out[0])["test_keys"]["x_verdict"],
                         r2.lines()[0]["test_keys"]["x_verdict"])
        self.assertEqual(json.loads(out[0])["test_keys"].get("x_evidence"),
                         r2.lines()[0]["test_keys"].get("x_evidence"))

    def test_pretty_documents_in_a_row(self):
        ms = [other_test(), other_test("dot://8.8.4.4:853/"), other_test("dot://1.0.0.1:853/")]
        text = "".join(json.dumps(m, indent=4) + "\n" for m in ms)
        r = analyze(self.write("several.json", text))
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.lines(), ms)

    def test_pretty_document_error_line(self):
        m = other_test()
        text = json.dumps(m, indent=2).splitlines()
        text[5] = text[5] + " oops"
        text = ["", ""] + text  # the document starts on line 3
        r = analyze(self.write("broken.json", "\n".join(text) + "\n"))
        self.assertEqual(r.code, 3, r.err)
        self.assertRegex(r.err, r"broken\.json:(6|7|8): .*\(skipped\)")

    def test_jsonl_with_broken_first_line(self):
        """A truncated first line does not make the file one document: the rest is read."""
        ms = [other_test(), other_test("dot://8.8.8.8:853/")]
        p = self.write("broken-first.jsonl",
                       line(ms[0])[:40] + "\n" + line(ms[0]) + "\n" + line(ms[1]) + "\n")
        r = analyze(p)
        self.assertEqual(r.code, 3, r.err)
        self.assertRegex(r.err, r"broken-first\.jsonl:1: ")
        self.assertEqual(r.lines(), ms)

    def test_gzip_by_content(self):
        ms = [accessible(), dns_blocked(), other_test()]
        plain = self.jsonl("plain.jsonl", ms)
        data = open(plain, "rb").read()
        expect = analyze(plain)
        for name in ("x.jsonl.gz", "misnamed.json"):
            p = self.path(name)
            with gzip.open(p, "wb") as f:
                f.write(data)
            r = analyze(p)
            self.assertEqual(r.code, expect.code, r.err)
            self.assertEqual(r.out, expect.out)

    def postcan(self, name, ms, extra=()):
        p = self.path(name)
        with tarfile.open(p, "w:gz") as t:
            d = tarfile.TarInfo("2024021220_IT_webconnectivity")
            d.type = tarfile.DIRTYPE
            t.addfile(d)
            for i, m in enumerate(ms):
                body = json.dumps({"format": "json", "content": m}).encode()
                ti = tarfile.TarInfo("2024021220_IT_webconnectivity/%02d.post" % i)
                ti.size = len(body)
                t.addfile(ti, io.BytesIO(body))
            for member, body in extra:
                ti = tarfile.TarInfo(member)
                ti.size = len(body)
                t.addfile(ti, io.BytesIO(body))
        return p

    def test_postcan(self):
        ms = [dns_blocked(), other_test()]
        yaml_post = json.dumps({"format": "yaml",
                                "content": "---\ntest_name: web_connectivity\n"}).encode()
        p = self.postcan("can.n1.0.tar.gz", ms,
                         extra=[("2024021220_IT_webconnectivity/zz.post", yaml_post)])
        r = analyze(p)
        self.assertEqual(r.code, 1, r.err)
        objs = r.lines()
        self.assertEqual([strip_added(o) for o in objs], ms)
        self.assertEqual(objs[1], ms[1])
        self.assertRegex(r.err, r"can\.n1\.0\.tar\.gz:2024021220_IT_webconnectivity/zz\.post:1: "
                                r".*YAML.*\(skipped\)")
        self.assertIn("1 YAML measurements skipped", r.err)
        # without interference, the skipped YAML entry makes the status 3
        r = analyze(self.postcan("can2.tar.gz", [other_test()],
                                 extra=[("h/y.post", yaml_post)]))
        self.assertEqual(r.code, 3, r.err)

    def test_postcan_bad_entry(self):
        p = self.postcan("can3.tar.gz", [other_test()],
                         extra=[("h/bad.post", b'{"format":"json","content":'),
                                ("h/nocontent.post", b'{"format":"json"}')])
        r = analyze(p)
        self.assertEqual(r.code, 3, r.err)
        self.assertRegex(r.err, r"can3\.tar\.gz:h/bad\.post:1: ")
        self.assertRegex(r.err, r"can3\.tar\.gz:h/nocontent\.post:1: ")
        self.assertEqual(r.lines(), [other_test()])

    def test_member_name_escapes(self):
        """A member's name comes from the archive: no terminal escape reaches standard error."""
        p = self.postcan("esc.tar.gz", [], extra=[("h/\x1b[2Jbad.post", b"not json")])
        r = analyze(p)
        self.assertEqual(r.code, 3, r.err)
        self.assertIn("esc.tar.gz:h/?[2Jbad.post:1:", r.err)
        self.assertNotIn("\x1b", r.err)

    def test_autoclaved_tar_lz4(self):
        lz4 = shutil.which("lz4")
        if lz4 is None:
            self.skipTest("no lz4 command to write a .tar.lz4 (Debian package lz4)")
        ms1 = [other_test(), accessible()]
        ms2 = [dns_blocked()]
        tarp = self.path("2017-06-01.tar")
        with tarfile.open(tarp, "w") as t:
            for name, ms in (("2017-06-01/20170601T000000Z-IT-AS30722-web_connectivity-"
                              "r-0.2.0-probe.json", ms1), ("2017-06-01/other.json", ms2)):
                body = "".join(line(m) + "\n" for m in ms).encode()
                ti = tarfile.TarInfo(name)
                ti.size = len(body)
                t.addfile(ti, io.BytesIO(body))
        out = self.path("2017-06-01.tar.lz4")
        subprocess.run([lz4, "-q", "-f", tarp, out], check=True)
        r = analyze(out)
        self.assertEqual(r.code, 1, r.err)
        self.assertEqual([strip_added(o) for o in r.lines()], ms1 + ms2)
        # the uncompressed tar too
        r = analyze(tarp)
        self.assertEqual([strip_added(o) for o in r.lines()], ms1 + ms2)

    def test_stdin(self):
        ms = [other_test(), other_test("dot://8.8.8.8:853/")]
        data = "".join(line(m) + "\n" for m in ms).encode()
        for args in ((), ("-",)):
            r = analyze(*args, stdin=data)
            self.assertEqual(r.code, 0, r.err)
            self.assertEqual(r.out, data)
        gz = gzip.compress(data + b"garbage\n")
        r = analyze("-", stdin=gz)
        self.assertEqual(r.code, 3, r.err)
        self.assertIn("stdin:3:", r.err)
        self.assertEqual(r.out, data)

    def test_several_files(self):
        a = self.jsonl("a.jsonl", [other_test()])
        b = self.jsonl("b.jsonl", [other_test("dot://8.8.8.8:853/")])
        r = analyze(a, b)
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, open(a, "rb").read() + open(b, "rb").read())

    # ---- output forms ------------------------------------------------------------------------

    def test_table(self):
        esc = other_test("dot://9.9.9.9:853/")
        esc["test_name"] = "evil\x1b[2J"
        ms = [accessible(), dns_blocked(), other_test(), esc]
        r = analyze("-f", "table", self.jsonl("t.jsonl", ms))
        self.assertEqual(r.code, 1, r.err)
        text = r.out.decode()
        rows = text.splitlines()
        self.assertEqual(len(rows), 1 + len(ms))
        for word in ("VERDICT", "CAUSE", "PROBE", "TIME", "OONI", "INPUT"):
            self.assertIn(word, rows[0])
        self.assertRegex(rows[2], r"^blocked\s+\S+\s+IR AS58224\s+2024-02-12 20:33:47\s+dns\s+"
                                  r"https://blocked\.example/$")
        self.assertRegex(rows[3], r"^not analysed \(test dnscheck\)\s+IT AS30722\s+.*"
                                  r"dot://1\.1\.1\.1:853/$")
        self.assertIn("not analysed (test evil?[2J)", rows[4])
        self.assertNotIn("\x1b", text, "no terminal escape from the data")

    def test_csv(self):
        tricky = accessible(url='https://example.org/a,b"c')
        ms = [accessible(), dns_blocked(), other_test(), tricky]
        out = self.path("out.csv")
        r = analyze("-f", "csv", "-o", out, self.jsonl("c.jsonl", ms))
        self.assertEqual(r.code, 1, r.err)
        self.assertEqual(r.out, b"")
        raw = open(out, "rb").read()
        self.assertIn(b"\r\n", raw)
        rows = list(csv.reader(io.StringIO(raw.decode(), newline="")))
        self.assertEqual(rows[0], ["measurement_start_time", "probe_cc", "probe_asn", "input",
                                   "test_name", "verdict", "cause", "evidence", "ooni_blocking",
                                   "ooni_accessible", "analysed"])
        self.assertEqual(len(rows), 1 + len(ms))
        byinput = {row[3]: dict(zip(rows[0], row)) for row in rows[1:]}
        b = byinput["https://blocked.example/"]
        self.assertEqual((b["verdict"], b["ooni_blocking"], b["ooni_accessible"], b["analysed"],
                          b["probe_cc"], b["probe_asn"]),
                         ("blocked", "dns", "false", "true", "IR", "AS58224"))
        self.assertTrue(b["cause"])
        o = byinput["dot://1.1.1.1:853/"]
        self.assertEqual((o["verdict"], o["analysed"], o["evidence"]),
                         ("", "false", "not analysed (test dnscheck)"))
        self.assertIn('https://example.org/a,b"c', byinput)
        a = byinput["https://example.org/"]
        self.assertEqual((a["ooni_blocking"], a["ooni_accessible"]), ("false", "true"))
        self.assertIn(a["verdict"], VERDICTS)

    def test_compare_ooni(self):
        # OONI's false positive: the page matches the control, but OONI said http-diff.
        fp = accessible(url="https://captcha.example/")
        fp["test_keys"]["blocking"] = "http-diff"
        fp["test_keys"]["accessible"] = False
        nolabel = accessible(url="https://nolabel.example/")
        nolabel["test_keys"]["blocking"] = None
        nolabel["test_keys"]["accessible"] = None
        ms = [accessible(), dns_blocked(), fp, nolabel, other_test()]
        p = self.jsonl("cmp.jsonl", ms)
        verdicts = {o["input"]: o["test_keys"]["x_verdict"] for o in analyze(p).lines()
                    if o["test_name"] == "web_connectivity"}

        def agree(m):
            b, v = m["test_keys"]["blocking"], verdicts[m["input"]]
            if b is None:
                return v == "unknown"
            if b is False:
                return v == ("accessible" if m["test_keys"]["accessible"] else "down")
            return v in ("blocked", "intercepted")
        differ = [m["input"] for m in ms[:4] if not agree(m)]

        r = analyze("--compare-ooni", p)
        self.assertEqual(r.code, 1, r.err)
        text = r.out.decode()
        self.assertIn("vigie \\ OONI", text)
        self.assertNotIn('"test_keys"', text, "no measurements without -o")
        rows = {l.split()[0]: l.split()[1:] for l in text.splitlines()[1:7] if l.strip()}
        self.assertEqual(set(rows), VERDICTS | {"total"})
        self.assertEqual(rows["total"][-1], "4")
        self.assertIn("agree: %d of 4" % (4 - len(differ)), text)
        self.assertIn("not compared: 1 measurements of other tests", text)
        for url in differ:
            self.assertIn(url, text.split("where they differ")[1])
        # with -o, the measurements go to the file as well
        out = self.path("cmp-out.jsonl")
        r = analyze("--compare-ooni", "-o", out, p)
        self.assertIn("vigie \\ OONI", r.out.decode())
        self.assertEqual(len(open(out).read().splitlines()), len(ms))

    def test_quiet_and_output_file(self):
        p = self.jsonl("q.jsonl", [other_test()])
        out = self.path("q-out.jsonl")
        r = analyze("-q", "-o", out, p)
        self.assertEqual((r.code, r.out, r.err), (0, b"", ""))
        self.assertEqual(open(out, "rb").read(), open(p, "rb").read())

    # ---- exit statuses -----------------------------------------------------------------------

    def test_usage_and_unreadable(self):
        for args in (["--no-such-option"], ["-f", "xml", "x"]):
            r = analyze(*args)
            self.assertEqual(r.code, 2, args)
            self.assertIn("vigie analyze --help", r.err)
        r = analyze(self.path("does-not-exist.jsonl"))
        self.assertEqual(r.code, 2)
        self.assertIn("does-not-exist.jsonl", r.err)
        r = analyze(self.dir)
        self.assertEqual(r.code, 2)
        # an unreadable input among readable ones: the others are read, the status is 2
        good = self.jsonl("g.jsonl", [dns_blocked()])
        r = analyze(self.path("missing.jsonl"), good)
        self.assertEqual(r.code, 2, r.err)
        self.assertEqual(len(r.lines()), 1)
        # a corrupt gzip stream
        data = gzip.compress(("".join(line(other_test()) + "\n" for _ in range(200))).encode())
        r = analyze(self.write("trunc.jsonl.gz", data[:len(data) // 2]))
        self.assertEqual(r.code, 2, r.err)
        self.assertIn("trunc.jsonl.gz", r.err)
        r = analyze("-o", os.path.join(self.dir, "no", "such", "dir"), good)
        self.assertEqual(r.code, 2)

    def test_help(self):
        r = analyze("--help")
        self.assertEqual(r.code, 0)
        text = r.out.decode()
        for word in ("usage: vigie analyze", "--format", "--compare-ooni", "--output",
                     "exit status"):
            self.assertIn(word, text)

    def test_interrupted(self):
        """SIGINT while waiting for input: what was read is written, the status is 130."""
        proc = subprocess.Popen([VIGIE, "analyze"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdin.write((line(other_test()) + "\n").encode())
        proc.stdin.flush()
        # Once the pipe is drained vigie has its signal handler and reads (a condition, with a
        # generous deadline, not a timing assertion).
        deadline = time.monotonic() + RUN_TIMEOUT
        buf = array.array("i", [0])
        while time.monotonic() < deadline:
            fcntl.ioctl(proc.stdin.fileno(), termios.FIONREAD, buf)
            if buf[0] == 0:
                break
            time.sleep(0.01)
        self.assertEqual(buf[0], 0, "vigie did not read its input")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
        self.assertEqual(proc.returncode, 130, err)
        self.assertEqual(out.decode().splitlines(), [line(other_test())],
                         "what was read is written")
        self.assertIn("interrupted", err.decode())


def main():
    global VIGIE
    VIGIE, _, argv = harness.parse()
    return harness.run(argv)


if __name__ == "__main__":
    sys.exit(main())
