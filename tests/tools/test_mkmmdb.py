#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_mkmmdb.py - the databases tests/tools/mkmmdb.py writes, read back by an independent
reader: Debian's mmdblookup (package mmdb-bin, libmaxminddb's command-line tool).

Each record size (24, 28, 32 bits) and IP version (4, 6) is written and looked up: values,
types, the metadata mmdblookup prints, more specific networks, misses and bad specs.

    python3 tests/tools/test_mkmmdb.py [unittest options]

Without mmdblookup the reference checks are skipped and the script exits 77 (CTest: skipped,
tests/integration/harness.py); scripts/install-deps installs mmdb-bin, so `make check` has it.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402  (the exit status: 77 when a test was skipped)
import mkmmdb  # noqa: E402

MMDBLOOKUP = shutil.which("mmdblookup")

SPEC = """# a test database
@database_type vigie-selftest-ASN
@build_epoch 1767225600
@description a test database
192.0.2.0/24     asn=64496 org="Lab ISP" cc=XA
192.0.2.128/26   asn=64497 org="Inner ü"
198.51.100.0/24  json='{"autonomous_system_number": 4294967295, "n": [1, -2, 2.5, true, 5000000000]}'
"""
SPEC6 = "2001:db8::/32 asn=64501 org=\"Lab v6\"\n2001:db8:1::/48 cc=XB\n"


@unittest.skipIf(MMDBLOOKUP is None, "mmdblookup not installed (Debian package mmdb-bin)")
class TestWithMmdblookup(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vigie-mkmmdb-")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def make(self, text, **settings):
        head = "".join("@%s %s\n" % kv for kv in settings.items())
        spec = os.path.join(self.dir, "spec.txt")
        out = os.path.join(self.dir, "db.mmdb")
        with open(spec, "w", encoding="utf-8") as f:
            f.write(head + text)
        self.assertEqual(mkmmdb.main([spec, "-o", out]), 0)
        return out

    def lookup(self, db, ip, *path, verbose=False):
        cmd = [MMDBLOOKUP, "--file", db, "--ip", ip] + list(path)
        if verbose:
            cmd.append("--verbose")
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout + p.stderr

    def value(self, db, ip, *path):
        rc, out = self.lookup(db, ip, *path)
        self.assertEqual(rc, 0, out)
        return " ".join(out.split())

    def test_record_sizes_ipv6_tree(self):
        for size in (24, 28, 32):
            with self.subTest(record_size=size):
                db = self.make(SPEC + SPEC6, record_size=size, ip_version=6)
                self.assertEqual(self.value(db, "192.0.2.2", "autonomous_system_number"),
                                 "64496 <uint32>")
                self.assertEqual(self.value(db, "192.0.2.2", "autonomous_system_organization"),
                                 '"Lab ISP" <utf8_string>')
                self.assertEqual(self.value(db, "192.0.2.2", "country", "iso_code"),
                                 '"XA" <utf8_string>')
                # the more specific network overrides, whole
                self.assertEqual(self.value(db, "192.0.2.130", "autonomous_system_organization"),
                                 '"Inner ü" <utf8_string>')
                rc, out = self.lookup(db, "192.0.2.130", "country", "iso_code")
                self.assertNotIn("XA", out)
                self.assertEqual(self.value(db, "192.0.2.200", "autonomous_system_number"),
                                 "64496 <uint32>")
                self.assertEqual(self.value(db, "198.51.100.1", "autonomous_system_number"),
                                 "4294967295 <uint32>")
                self.assertEqual(self.value(db, "198.51.100.1", "n"),
                                 "[ 1 <uint32> -2 <int32> 2.500000 <double> true <boolean> "
                                 "5000000000 <uint64> ]")
                self.assertEqual(self.value(db, "2001:db8::1", "autonomous_system_number"),
                                 "64501 <uint32>")
                self.assertEqual(self.value(db, "2001:db8:1::1", "country", "iso_code"),
                                 '"XB" <utf8_string>')
                rc, out = self.lookup(db, "8.8.8.8")
                self.assertIn("Could not find an entry", out)
                rc, out = self.lookup(db, "198.51.100.1", verbose=True)
                self.assertEqual(rc, 0, out)
                text = " ".join(out.split())
                self.assertIn("Record size: %d bits" % size, text)
                self.assertIn("IP version: IPv6", text)
                self.assertIn("Binary format: 2.0", text)
                self.assertIn("Build epoch: 1767225600", text)
                self.assertIn("Type: vigie-selftest-ASN", text)
                self.assertIn("en: a test database", text)
                # IPv4 networks sit under ::/96: 96 + 24 bits
                self.assertIn("Record prefix length: 120", text)

    def test_ipv4_tree(self):
        for size in (24, 28, 32):
            with self.subTest(record_size=size):
                db = self.make(SPEC, record_size=size, ip_version=4)
                self.assertEqual(self.value(db, "192.0.2.2", "autonomous_system_number"),
                                 "64496 <uint32>")
                rc, out = self.lookup(db, "192.0.2.130", verbose=True)
                text = " ".join(out.split())
                self.assertIn("IP version: IPv4", text)
                self.assertIn("Record prefix length: 26", text)
                rc, out = self.lookup(db, "2001:db8::1")
                self.assertNotEqual(rc, 0)
                self.assertIn("IPv6 address in an IPv4-only database", out)

    def test_many_networks(self):
        # a larger tree: thousands of nodes and records
        lines = ["10.%d.%d.0/24 asn=%d org=\"net %d\"" % (i // 256, i % 256, 70000 + i, i)
                 for i in range(3000)]
        db = self.make("\n".join(lines) + "\n", record_size=28)
        for i in (0, 1, 255, 256, 1777, 2999):
            ip = "10.%d.%d.9" % (i // 256, i % 256)
            self.assertEqual(self.value(db, ip, "autonomous_system_number"),
                             "%d <uint32>" % (70000 + i))
            self.assertEqual(self.value(db, ip, "autonomous_system_organization"),
                             '"net %d" <utf8_string>' % i)


class TestSpecErrors(unittest.TestCase):
    def check_bad(self, text, message):
        with tempfile.TemporaryDirectory() as d:
            spec = os.path.join(d, "bad.txt")
            with open(spec, "w", encoding="utf-8") as f:
                f.write(text)
            with self.assertRaises(mkmmdb.SpecError) as cm:
                mkmmdb.write_db(spec, os.path.join(d, "out.mmdb"))
            self.assertIn(message, str(cm.exception))
            self.assertFalse(os.path.exists(os.path.join(d, "out.mmdb")))

    def test_bad_specs(self):
        self.check_bad("192.0.2.1/24 asn=1\n", "host bits set")
        self.check_bad("192.0.2.0/24 asn=x\n", "asn must be a uint32")
        self.check_bad("192.0.2.0/24 color=red\n", "unknown key")
        self.check_bad("192.0.2.0/24 json='[1]'\n", "json must be an object")
        self.check_bad("0.0.0.0/0 asn=1\n@ip_version 4\n", "/0 network")
        self.check_bad("@ip_version 4\n2001:db8::/32 asn=1\n", "IPv6 network in an ip_version 4")
        self.check_bad("@record_size 16\n", "record_size 24, 28 or 32")
        self.check_bad("@colour blue\n", "bad setting")

    def test_encoding(self):
        # control bytes of the data section (MaxMind DB spec): sizes past 28 take extra bytes
        self.assertEqual(mkmmdb.encode(""), b"\x40")
        self.assertEqual(mkmmdb.encode("a" * 29)[:2], b"\x5d\x00")
        self.assertEqual(mkmmdb.encode("a" * 300)[:3], b"\x5e\x00\x0f")
        self.assertEqual(mkmmdb.encode(0), b"\xc0")
        self.assertEqual(mkmmdb.encode(64496), b"\xc2\xfb\xf0")
        self.assertEqual(mkmmdb.encode(mkmmdb.U16(2)), b"\xa1\x02")
        self.assertEqual(mkmmdb.encode(True), b"\x01\x07")
        self.assertEqual(mkmmdb.encode({"a": 1}), b"\xe1\x41a\xc1\x01")
        self.assertEqual(mkmmdb.encode([1]), b"\x01\x04\xc1\x01")


if __name__ == "__main__":
    sys.exit(harness.run(sys.argv))
