#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Lab round trip: `vigie probe` in the client namespace measures through the simulated censor
(scenario tls-mitm-selfsigned: the 2014 iCloud interception) with the lab's control helper, and
uploads to `vigie serve` running on the control host; the measurements are then read back
through the query API: the list, one raw measurement, the aggregation and the targets.

Usage: test_roundtrip.py --vigie PATH   (root; the lab must be up: ctest fixture lab)
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402  (--vigie, and the exit status: 77 when skipped)

LAB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab")
LAB_DIR = os.environ.get("VG_LAB_DIR", "/run/vigie-lab")
COLLECTOR = "192.0.2.10:8081"
VIGIE = None


def netns(ns, *cmd, **kw):
    return subprocess.run(["ip", "netns", "exec", ns] + list(cmd), **kw)


def api(path):
    """GET from the collector, from inside the control namespace (curl, no proxy)."""
    r = netns("vg-control", "curl", "-sS", "--max-time", "10", "http://%s%s" % (COLLECTOR, path),
              capture_output=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("GET %s failed: %s" % (path, r.stderr.decode(errors="replace")))
    return r.stdout


class RoundTrip(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigie-roundtrip-")
        cls.db = os.path.join(cls.tmp, "vigie.db")
        subprocess.run([os.path.join(LAB, "vigie-lab"), "scenario", "tls-mitm-selfsigned"],
                       check=True, stdout=subprocess.DEVNULL, timeout=120)
        cls.log_path = os.path.join(cls.tmp, "serve.log")
        cls.log = open(cls.log_path, "wb")
        cls.serve = subprocess.Popen(
            ["ip", "netns", "exec", "vg-control", VIGIE, "serve", "--listen", COLLECTOR,
             "--db", cls.db], stdout=subprocess.DEVNULL, stderr=cls.log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = netns("vg-control", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                      "http://%s/healthz" % COLLECTOR, capture_output=True, timeout=10)
            if r.stdout == b"200":
                break
            time.sleep(0.2)
        else:
            raise AssertionError("vigie serve did not come up")
        spool = os.path.join(cls.tmp, "spool")
        cls.probe = netns(
            "vg-client", VIGIE, "probe", "--lab", "--ca-file", os.path.join(LAB_DIR, "ca.pem"),
            "--helper", "https://192.0.2.10:8443/", "--collector", "http://%s/" % COLLECTOR,
            "--spool", spool, "--tcp-timeout", "2s", "--tls-timeout", "2s", "--format", "jsonl",
            "--output", os.path.join(cls.tmp, "out.jsonl"), "https://www.icloud.com/",
            "https://www.example.org/", capture_output=True, timeout=120)
        cls.spooled = os.listdir(spool) if os.path.isdir(spool) else []
        with open(os.path.join(cls.tmp, "out.jsonl")) as f:
            cls.local = [json.loads(line) for line in f if line.strip()]

    @classmethod
    def tearDownClass(cls):
        cls.serve.send_signal(signal.SIGTERM)
        try:
            cls.serve.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cls.serve.kill()
            cls.serve.wait()
        cls.log.close()
        subprocess.run([os.path.join(LAB, "vigie-lab"), "scenario", "none"],
                       stdout=subprocess.DEVNULL, timeout=120)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_uploaded_not_spooled(self):
        self.assertEqual(self.probe.returncode, 1, self.probe.stderr.decode(errors="replace"))
        self.assertIn(b"2 sent", self.probe.stderr)
        self.assertEqual(self.spooled, [], "nothing left in the spool")

    def test_list_and_raw(self):
        res = json.loads(api("/api/v1/measurements?domain=www.icloud.com"))["results"]
        self.assertEqual(len(res), 1, res)
        self.assertEqual(res[0]["x_verdict"], "intercepted")
        self.assertEqual(res[0]["x_cause"], "tls.mitm")
        raw = json.loads(api("/api/v1/measurement/%s" % res[0]["measurement_uid"]))
        local = [m for m in self.local if m["input"] == "https://www.icloud.com/"][0]
        self.assertEqual(raw["id"], local["id"])
        self.assertEqual(raw["probe_ip"], "127.0.0.1")
        self.assertEqual(raw["test_keys"]["x_evidence"], local["test_keys"]["x_evidence"])
        self.assertIn("C=cn/O=www.icloud.com/CN=www.icloud.com", raw["test_keys"]["x_evidence"])

    def test_aggregation_and_targets(self):
        agg = json.loads(api("/api/v1/aggregation?axis_x=domain"))
        text = json.dumps(agg)
        self.assertIn("www.icloud.com", text)
        self.assertIn("www.example.org", text)
        targets = json.loads(api("/api/v1/targets"))
        flat = json.dumps(targets)
        self.assertIn("intercepted", flat)
        self.assertIn("accessible", flat)

    def test_client_address_not_stored_or_logged(self):
        for path in (self.db, self.log_path):
            with open(path, "rb") as f:
                self.assertNotIn(b"192.0.2.2", f.read(), path)
        raw = api("/api/v1/measurements?domain=www.example.org")
        self.assertNotIn(b"192.0.2.2", raw)


if __name__ == "__main__":
    VIGIE, _, rest = harness.parse()
    if os.geteuid() != 0:
        sys.exit(harness.skip("test_roundtrip", "needs root (lab namespaces)"))
    sys.exit(harness.run(rest))
