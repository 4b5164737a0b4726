#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_certs.py - certificates seen (GET /api/v1/certificates, docs/api.md): the lab capture
(tests/data/dashboard/lab-capture.jsonl: vigie's measurements of www.icloud.com, one with a
forged self-signed certificate, with the helper's chains) and OONI's fixtures (tests/data/ooni:
peer_certificates as DER only) imported with `vigie import`, then read through `vigie serve`.
On a temporary SQLite file, with --pg on a database of its own on VG_TEST_PG's server, or with
--ch on a database of its own on VG_TEST_CH's ClickHouse server.

    python3 tests/integration/test_certs.py --vigie build/vigie [--pg | --ch]
"""
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from urllib.parse import urlencode

import harness

VIGIE = None
PG_CONN = None  # libpq conninfo or URL of the server (--pg)
CH = None  # clickhouse:// URL of the server (--ch)
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
FX = {}

ICLOUD = "https://www.icloud.com/"
FORGED = "c05c21b4759ec6309dd5bb428b67ac35b487f3c09be84337114977ba319e1354"
GENUINE = "280dbc757c71bd08d95ff32ab885bd629d544641dc9dde7e6c07b99d0e552b9b"


def psql(conn, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", conn, "-c", sql],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)


def own_pg_database():
    """A database of our own on the server (other suites drop their schema); its store spec."""
    name = "vigie_certs_test_%d_%d" % (os.getpid(), random.randint(0, 1 << 30))
    psql(PG_CONN, "CREATE DATABASE %s" % name)
    FX["pg_db"] = name
    if re.match(r"postgres(ql)?://", PG_CONN):
        m = re.match(r"(postgres(?:ql)?://[^/?]*)(/[^?]*)?(\?.*)?$", PG_CONN)
        return m.group(1) + "/" + name + (m.group(3) or "")
    return "pg:" + PG_CONN + " dbname=" + name


def setUpModule():
    FX["tmp"] = tempfile.mkdtemp(prefix="vigie-certs-test-")
    if CH:
        db, FX["ch_drop"] = harness.ch_own_database(CH, "vigie_certs_test")
    else:
        db = own_pg_database() if PG_CONN else os.path.join(FX["tmp"], "certs.db")
    files = [os.path.join(DATA, "dashboard", "lab-capture.jsonl")]
    files += [os.path.join(DATA, "ooni", f) for f in sorted(os.listdir(os.path.join(DATA, "ooni")))
              if f.endswith(".jsonl")]
    p = subprocess.run([VIGIE, "import", "--db", db] + files, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    FX["db"] = db
    FX["srv"] = harness.Server(VIGIE, "serve", "--db", db)


def tearDownModule():
    if "srv" in FX:
        FX["srv"].stop()
    if "pg_db" in FX:
        psql(PG_CONN, "DROP DATABASE %s WITH (FORCE)" % FX["pg_db"])
    if "ch_drop" in FX:
        FX["ch_drop"]()
    shutil.rmtree(FX["tmp"], ignore_errors=True)


def get(params):
    """(status, JSON) of GET /api/v1/certificates?params."""
    conn = http.client.HTTPConnection("127.0.0.1", FX["srv"].port, timeout=60)
    try:
        conn.request("GET", "/api/v1/certificates?" + urlencode(params))
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read().decode())
    finally:
        conn.close()


class TestCertificates(unittest.TestCase):

    def test_forged_icloud_against_control(self):
        status, j = get({"input": ICLOUD, "probe_cc": "ZZ", "probe_asn": "AS0"})
        self.assertEqual(status, 200, j)
        self.assertEqual(j["input"], ICLOUD)
        self.assertEqual(j["measurements"], 2)
        self.assertFalse(j["truncated"])
        probe = {c["leaf_sha256"]: c for c in j["probe"]}
        self.assertEqual(set(probe), {FORGED, GENUINE})
        # what did not validate comes first
        self.assertEqual(j["probe"][0]["leaf_sha256"], FORGED)
        forged = probe[FORGED]
        self.assertFalse(forged["valid"])
        self.assertTrue(forged["self_signed"])
        self.assertEqual(forged["subject"], "C=cn/O=www.icloud.com/CN=www.icloud.com")
        self.assertEqual(forged["issuer"], forged["subject"])
        self.assertEqual(forged["reasons"],
                         ["self-signed certificate C=cn/O=www.icloud.com/CN=www.icloud.com"])
        self.assertEqual(forged["addresses"], ["198.51.100.30:443"])
        self.assertEqual((forged["count"], forged["measurements"]), (1, 1))
        self.assertEqual(forged["first_seen"], forged["last_seen"])
        self.assertEqual(len(forged["chain"]), 1)
        self.assertRegex(forged["leaf_spki_sha256"], r"^[0-9a-f]{64}$")
        self.assertRegex(forged["not_before"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        genuine = probe[GENUINE]
        self.assertTrue(genuine["valid"])
        self.assertEqual(genuine["reasons"], [])
        self.assertEqual(genuine["measurements"], 2)
        self.assertLess(genuine["first_seen"], genuine["last_seen"])
        self.assertEqual(genuine["issuer"], "O=vigie lab/CN=vigie lab TLS CA 1")
        self.assertEqual([c["sha256"] for c in genuine["chain"]][0], GENUINE)
        # the control saw the genuine chain only, on both addresses, without dates
        self.assertEqual([c["leaf_sha256"] for c in j["control"]], [GENUINE])
        ctrl = j["control"][0]
        self.assertTrue(ctrl["valid"])
        self.assertEqual(sorted(ctrl["addresses"]), ["198.51.100.30:443", "198.51.100.31:443"])
        self.assertIsNone(ctrl["not_after"])
        self.assertEqual([c["spki_sha256"] for c in ctrl["chain"]],
                         [c["spki_sha256"] for c in genuine["chain"]])
        # the measurement that last showed the forged chain is one of the stored ones
        conn = http.client.HTTPConnection("127.0.0.1", FX["srv"].port, timeout=60)
        conn.request("GET", "/api/v1/measurement/" + forged["last_measurement_uid"])
        raw = json.loads(conn.getresponse().read().decode())
        conn.close()
        self.assertEqual(raw["test_keys"]["x_verdict"], "intercepted")

    def test_limit_and_network(self):
        status, j = get({"input": ICLOUD, "limit": 1})
        self.assertEqual(status, 200, j)
        self.assertEqual((j["measurements"], j["truncated"]), (1, True))
        # the newest measurement (accessible) shows only the genuine chain
        self.assertEqual([c["leaf_sha256"] for c in j["probe"]], [GENUINE])
        status, j = get({"input": ICLOUD, "probe_cc": "IT"})
        self.assertEqual((status, j["measurements"], j["probe"], j["control"]), (200, 0, [], []))
        status, j = get({"input": "https://nowhere.example/"})
        self.assertEqual((status, j["probe"]), (200, []))

    def test_ooni_der(self):
        # OONI's measurement: no x_certificates, the DER decoded at query time
        status, j = get({"input": "https://yooz.ir/", "probe_cc": "IR", "probe_asn": "AS197207"})
        self.assertEqual(status, 200, j)
        self.assertEqual(len(j["probe"]), 1)
        c = j["probe"][0]
        self.assertEqual(c["subject"], "CN=*.yooz.ir")
        self.assertIn("Certum Domain Validation CA SHA2", c["issuer"])
        self.assertFalse(c["valid"])
        self.assertEqual(c["reasons"], ["ssl_invalid_certificate"])
        self.assertEqual(c["addresses"], ["195.146.37.25:443"])
        self.assertRegex(c["not_after"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(j["control"], [])  # OONI's control records no chain
        status, j = get({"input": "http://firefox.com/", "probe_cc": "IT", "probe_asn": "AS30722"})
        self.assertEqual(status, 200, j)
        subjects = sorted(c["subject"] for c in j["probe"])
        self.assertEqual(subjects, ["CN=firefox.com", "CN=www.mozorg.moz.works"])
        self.assertTrue(all(c["valid"] for c in j["probe"]))
        first = [c for c in j["probe"] if c["subject"] == "CN=firefox.com"][0]
        self.assertEqual(len(first["chain"]), 3)
        self.assertEqual(len(first["addresses"]), 3)

    def test_malformed_chains(self):
        # A measurement whose certificate fields are of every wrong shape: stored, and the route
        # answers with what can be read (never a crash, never a 5xx).
        with open(os.path.join(DATA, "dashboard", "lab-capture.jsonl")) as f:
            base = [json.loads(l) for l in f if '"intercepted"' in l][0]
        m = json.loads(json.dumps(base))
        m["input"] = "https://malformed.example/"
        m["probe_cc"], m["probe_asn"] = "ZZ", "AS65001"
        del m["id"]
        hs = m["test_keys"]["tls_handshakes"]
        good = dict(hs[0], address="192.0.2.1:443")
        long_subject = "CN=" + "<script>x</script>" * 400
        m["test_keys"]["tls_handshakes"] = [
            good,
            "not an object", 7, None,
            {"address": 12, "failure": 5, "x_certificates": "nope"},
            {"address": "192.0.2.2:443", "failure": None,
             "x_certificates": [1, None, {"sha256": 7}, {"sha256": "", "subject": "x"},
                                dict(good["x_certificates"][0], subject=long_subject,
                                     sha256="ab" * 32, spki_sha256=None, self_signed="yes")]},
            {"address": "192.0.2.3:443", "failure": "ssl_invalid_certificate",
             "peer_certificates": [{"data": "!!not base64!!", "format": "base64"},
                                   {"data": "AAAA", "format": "base64"}, {"data": 3}, "x"]},
            {"address": "192.0.2.4:443", "failure": None,
             "x_certificates": [dict(good["x_certificates"][0], sha256="%064x" % i)
                                for i in range(40)]},
        ]
        m["test_keys"]["control"]["tls_handshake"] = {
            "192.0.2.1:443": "x", "192.0.2.2:443": {"x_chain": {"a": 1}},
            "192.0.2.3:443": {"x_valid": "yes", "x_chain": [{"sha256": "cd" * 32}]}}
        path = os.path.join(FX["tmp"], "malformed.jsonl")
        with open(path, "w") as f:
            f.write(json.dumps(m) + "\n")
        p = subprocess.run([VIGIE, "import", "--db", FX["db"], path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        status, j = get({"input": "https://malformed.example/"})
        self.assertEqual(status, 200, j)
        leaves = {c["leaf_sha256"]: c for c in j["probe"]}
        self.assertEqual(set(leaves), {FORGED, "ab" * 32, "%064x" % 0})
        odd = leaves["ab" * 32]
        self.assertTrue(odd["valid"])
        self.assertFalse(odd["self_signed"])
        self.assertIsNone(odd["leaf_spki_sha256"])
        self.assertLessEqual(len(odd["subject"].encode()), 255)
        self.assertEqual(len(leaves["%064x" % 0]["chain"]), 8)  # at most 8 kept
        self.assertEqual([c["leaf_sha256"] for c in j["control"]], ["cd" * 32])
        self.assertFalse(j["control"][0]["valid"])

    def test_errors(self):
        for params, word in (({}, "input is required"),
                             ({"probe_cc": "ZZ"}, "input is required"),
                             ({"input": ICLOUD, "x_verdict": "blocked"}, "x_verdict"),
                             ({"input": ICLOUD, "cursor": "x"}, "cursor"),
                             ({"input": ICLOUD, "limit": 0}, "limit"),
                             ({"input": ICLOUD, "limit": 1001}, "limit"),
                             ({"input": ICLOUD, "probe_asn": "nope"}, "probe_asn")):
            status, j = get(params)
            self.assertEqual(status, 400, (params, j))
            self.assertIn(word, j["error"], params)


def main():
    global VIGIE, PG_CONN, CH
    VIGIE, opts, argv = harness.parse(("--pg!", "--ch!"), " [--pg | --ch]")
    PG_CONN, _ = harness.pg_option(opts)
    if opts.get("--ch"):
        urls = harness.ch_urls("VG_TEST_CH")
        if not urls:
            return harness.skip("test_certs --ch", "no ClickHouse server: VG_TEST_CH and "
                                "VG_TEST_CH_FILE unset (scripts/ch-test-server start DIR)")
        CH = urls[0]
    return harness.run(argv)


if __name__ == "__main__":
    sys.exit(main())
