#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_locate.py - `vigie locate` and `vigie probe --locate` against a censor in the middle of a
real multi-hop path (lab/multihop/vigie-multihop):

    vgm-client -- vgm-r1 -- vgm-censor -- vgm-r2 -- vgm-server
                    hop 1      hop 2         hop 3     hop 4

For each censor behaviour the reported interference hop must be the censor's (hop 2, and the
router named there one of vgm-censor's addresses), the server's hop 4; for the TLS MITM the TLS
endpoint must be nearer than port 80 of the same address (the iCloud 2014 tell).

Python 3 standard library only. Needs root (network namespaces); skipped otherwise. The lab is
built in setUpClass and torn down in a class cleanup, whatever happens.

    sudo python3 tests/integration/test_locate.py --vigie build/vigie [unittest options]
"""
import json
import os
import subprocess
import sys
import unittest
import harness

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.join(HERE, "..", "..", "lab", "multihop", "vigie-multihop")
VIGIE = None  # set in main
LAB_DIR = os.environ.get("VGM_LAB_DIR", "/run/vigie-multihop")
CA = os.path.join(LAB_DIR, "pki", "ca.pem")
HELPER = "https://203.0.113.200:8443/"
RESOLVER = "203.0.113.153"
CENSOR_HOP = 2
SERVER_HOP = 4
STEP_TIMEOUT = 120  # one lab command or one vigie run


def lab(*args):
    return subprocess.run([LAB, *args], capture_output=True, text=True, timeout=STEP_TIMEOUT)


def in_client(*args):
    return subprocess.run([LAB, "exec", "client", *args], capture_output=True, text=True,
                          timeout=STEP_TIMEOUT)


def lines_of(stdout, test_name):
    out = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            harness.check_ooni(line)  # every measurement in OONI's data format
            m = json.loads(line)
            if m.get("test_name") == test_name:
                out.append(m)
    return out


@unittest.skipUnless(hasattr(os, "geteuid") and os.geteuid() == 0,
                     "lab.locate needs root: it builds network namespaces (run it as root)")
class LocateLab(unittest.TestCase):
    censor_addrs = set()  # every address of vgm-censor

    @classmethod
    def setUpClass(cls):
        cls.addClassCleanup(lab, "down")
        r = lab("up", "--vigie", VIGIE)
        if r.returncode != 0:
            raise RuntimeError("vigie-multihop up failed:\n" + r.stdout + r.stderr)
        r = subprocess.run(["ip", "-n", "vgm-censor", "-o", "-4", "addr", "show"],
                           capture_output=True, text=True, check=True)
        for line in r.stdout.splitlines():
            words = line.split()
            if "inet" in words:
                cls.censor_addrs.add(words[words.index("inet") + 1].split("/")[0])

    def scenario(self, name):
        r = lab("scenario", name)
        self.assertEqual(r.returncode, 0, r.stderr)

    def locate(self, url, cause, *extra, expect_rc=0):
        r = in_client(VIGIE, "locate", "--cause", cause, "--ca-file", CA, "-f", "jsonl", *extra,
                      url)
        self.assertEqual(r.returncode, expect_rc, r.stdout + r.stderr)
        ms = lines_of(r.stdout, "x_locate")
        self.assertEqual(len(ms), 1, r.stdout)
        self.assertEqual(ms[0]["input"], url)
        return ms[0]["test_keys"]["x_locate"]

    def assert_at_censor(self, x, event):
        self.assertEqual(x["interference_hop"], CENSOR_HOP, x["summary"])
        self.assertEqual(x["server_hop"], SERVER_HOP, x["summary"])
        self.assertIn(x["interference_router"], self.censor_addrs, x)
        self.assertTrue(x["summary"].startswith("interference at hop %d of %d"
                                                % (CENSOR_HOP, SERVER_HOP)), x["summary"])
        hops = {h["ttl"]: h for h in x["hops"]}
        # Routers before the censor answer time exceeded; the censor answers the trigger.
        for ttl in range(1, CENSOR_HOP):
            self.assertEqual(hops[ttl]["event"], "time-exceeded", x["hops"])
            self.assertIsNotNone(hops[ttl]["router"])
            self.assertNotIn(hops[ttl]["router"], self.censor_addrs)
        self.assertEqual(hops[CENSOR_HOP]["event"], event, x["hops"])
        self.assertIsNone(x["failure"])

    def test_sni_reset(self):
        self.scenario("sni-rst")
        x = self.locate("https://www.facebook.com/", "tls.reset")
        self.assert_at_censor(x, "reset")
        self.assertEqual(x["method"], "tcp-ttl")
        self.assertEqual(x["target"], "198.51.100.120:443")
        # SNI filtering leaves both ports of the address at the server's distance.
        self.assertEqual(x["tls_port_hop"], SERVER_HOP)
        self.assertEqual(x["port80_hop"], SERVER_HOP)

    def test_http_host_reset(self):
        self.scenario("http-rst")
        x = self.locate("http://www.facebook.com/", "http.reset")
        self.assert_at_censor(x, "reset")
        self.assertEqual(x["target"], "198.51.100.120:80")

    def test_tls_mitm_icloud(self):
        self.scenario("mitm")
        x = self.locate("https://www.icloud.com/", "tls.mitm")
        self.assert_at_censor(x, "tls-invalid")
        hop = [h for h in x["hops"] if h["ttl"] == CENSOR_HOP][0]
        self.assertIn("C=cn/O=www.icloud.com/CN=www.icloud.com", hop["detail"])
        # The 2014 tell: the TLS endpoint is nearer than port 80 of the same address.
        self.assertEqual(x["tls_port_hop"], CENSOR_HOP)
        self.assertEqual(x["port80_hop"], SERVER_HOP)
        self.assertLess(x["tls_port_hop"], x["port80_hop"])
        self.assertIn("nearer TLS server", x["summary"])

    def test_blockpage(self):
        self.scenario("blockpage")
        x = self.locate("http://www.twitter.com/", "http.blockpage")
        self.assert_at_censor(x, "blockpage")
        self.assertIn("nearer HTTP server", x["summary"])

    def test_dns_injection(self):
        self.scenario("dns-inject")
        x = self.locate("https://www.youtube.com/", "dns.injected", "--resolver", RESOLVER)
        self.assert_at_censor(x, "dns-reply")
        self.assertEqual(x["method"], "udp-ttl")
        self.assertFalse(x["ttl_mirroring"])
        self.assertEqual(x["controls"][0]["endpoint_hop"], SERVER_HOP)

    def test_dns_injection_mirroring_ttl(self):
        # The injector copies the query's remaining TTL: its reply is first heard at TTL 3
        # (2C - 1); the reply TTLs put it back at hop 2.
        self.scenario("dns-inject-mirror")
        x = self.locate("https://www.youtube.com/", "dns.injected", "--resolver", RESOLVER)
        self.assertTrue(x["ttl_mirroring"], x["summary"])
        self.assertEqual(x["interference_first_ttl"], 2 * CENSOR_HOP - 1)
        self.assertEqual(x["interference_hop"], CENSOR_HOP, x["summary"])
        self.assertIn(x["interference_router"], self.censor_addrs)

    def test_nothing_to_locate(self):
        self.scenario("neutral")
        x = self.locate("https://www.facebook.com/", "tls.reset", expect_rc=1)
        self.assertIsNone(x["interference_hop"])
        self.assertEqual(x["server_hop"], SERVER_HOP)
        self.assertTrue(x["summary"].startswith("not located"), x["summary"])
        self.assertEqual(x["hops"][-1]["event"], "tls-valid")

    def test_probe_locate(self):
        cases = [
            ("sni-rst", "https://www.facebook.com/", "blocked", "tls.reset"),
            ("http-rst", "http://www.facebook.com/", "blocked", "http.reset"),
            ("mitm", "https://www.icloud.com/", "intercepted", "tls.mitm"),
            ("blockpage", "http://www.twitter.com/", "blocked", "http.blockpage"),
            ("dns-inject", "https://www.youtube.com/", "blocked", "dns.injected"),
        ]
        for name, url, verdict, cause in cases:
            with self.subTest(scenario=name):
                self.scenario(name)
                r = in_client(VIGIE, "probe", "--lab", "--ca-file", CA, "--helper", HELPER,
                              "--resolver", RESOLVER, "--tcp-timeout", "2s", "--tls-timeout",
                              "2s", "--http-timeout", "3s", "--locate", "-f", "jsonl", url,
                              "http://www.example.org/")
                self.assertEqual(r.returncode, 1, r.stderr)
                ms = {m["input"]: m for m in lines_of(r.stdout, "web_connectivity")}
                self.assertEqual(ms[url]["test_keys"]["x_verdict"], verdict, ms[url]["test_keys"])
                self.assertEqual(ms[url]["test_keys"]["x_cause"], cause)
                self.assertEqual(ms["http://www.example.org/"]["test_keys"]["x_verdict"],
                                 "accessible")
                # One x_locate, for the URL with interference only.
                locs = lines_of(r.stdout, "x_locate")
                self.assertEqual(len(locs), 1, r.stdout)
                self.assertEqual(locs[0]["input"], url)
                x = locs[0]["test_keys"]["x_locate"]
                self.assertEqual(x["cause"], cause)
                self.assertEqual(x["url"], url)
                self.assertEqual(x["interference_hop"], CENSOR_HOP, x["summary"])
                self.assertEqual(x["server_hop"], SERVER_HOP)
                self.assertIn(x["interference_router"], self.censor_addrs)

    def test_probe_locate_table(self):
        self.scenario("mitm")
        r = in_client(VIGIE, "probe", "--lab", "--ca-file", CA, "--tcp-timeout", "2s",
                      "--tls-timeout", "2s", "--locate", "-f", "table",
                      "https://www.icloud.com/", "http://www.example.org/")
        self.assertEqual(r.returncode, 1, r.stderr)
        rows = {}
        for line in r.stdout.splitlines():  # the table's rows (the summary after it repeats URLs)
            if line.strip():
                rows.setdefault(line.split()[0], line)
        self.assertIn("LOCATE", rows["URL"])
        self.assertIn("hop %d/%d (tls@%d, 80@%d)" % (CENSOR_HOP, SERVER_HOP, CENSOR_HOP,
                                                     SERVER_HOP),
                      rows["https://www.icloud.com/"])
        self.assertTrue(rows["http://www.example.org/"].rstrip().endswith("-"))


if __name__ == "__main__":
    sys.exit(harness.main(globals()))
