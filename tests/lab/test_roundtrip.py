#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Lab round trip: `vigie probe` in the client namespace measures through the simulated censor
(scenario tls-mitm-selfsigned: the 2014 iCloud interception) with the lab's control helper, and
uploads to `vigie serve` running on the control host; the measurements are then read back
through the query API: the list, one raw measurement, the aggregation and the targets.

RoundTripToken (issue 13): the same round trip to a `vigie serve --upload-tokens FILE
--require-token` over https that requires upload credentials; the probe presents one (--collector-token FILE), an anonymous probe
is refused with 401 and keeps its measurement in the spool, which `vigie upload --collector-token`
sends later; the API names the credential (provenance) and filters by it (trusted=true).

RoundTripClickHouse (issue 16): the same round trip with `vigie serve --db clickhouse://...`,
the ClickHouse server (scripts/ch-test-server) running inside the control namespace, on its own
loopback; stopped in tearDownClass, and when the setup fails.

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
CH_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                         "ch-test-server")
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
    def store(cls):
        """The store's spec for vigie serve --db (SQLite: a file in cls.tmp)."""
        return os.path.join(cls.tmp, "vigie.db")

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigie-roundtrip-")
        cls.db = cls.store()
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


@unittest.skipUnless(os.path.exists("/usr/sbin/clickhouse-server"),
                     "no clickhouse-server (Debian's package) for scripts/ch-test-server")
class RoundTripClickHouse(RoundTrip):
    """RoundTrip's tests with the measurements in ClickHouse (issue 16): the server runs in
    vg-control (scripts/ch-test-server under ip netns exec: 127.0.0.1 is that namespace's
    loopback, which the lab brings up), vigie serve --db its URL there."""

    @classmethod
    def store(cls):
        cls.ch_dir = os.path.join(cls.tmp, "ch")
        r = netns("vg-control", CH_SERVER, "start", cls.ch_dir, capture_output=True, timeout=180)
        if r.returncode != 0:
            raise AssertionError("ch-test-server start in vg-control failed: %s" %
                                 (r.stdout + r.stderr).decode(errors="replace"))
        with open(os.path.join(cls.ch_dir, "url")) as f:
            return f.readline().strip()

    @classmethod
    def stop_ch(cls):
        if getattr(cls, "ch_dir", None) and os.path.isdir(cls.ch_dir):
            subprocess.run([CH_SERVER, "stop", cls.ch_dir], stdout=subprocess.DEVNULL,
                           timeout=120)

    @classmethod
    def setUpClass(cls):
        try:
            super().setUpClass()
        except BaseException:
            # tearDownClass does not run after a failed setUpClass
            if getattr(cls, "serve", None) is not None:
                cls.serve.kill()
                cls.serve.wait()
            cls.stop_ch()
            subprocess.run([os.path.join(LAB, "vigie-lab"), "scenario", "none"],
                           stdout=subprocess.DEVNULL, timeout=120)
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.serve.send_signal(signal.SIGTERM)
            try:
                cls.serve.wait(timeout=20)
            except subprocess.TimeoutExpired:
                cls.serve.kill()
                cls.serve.wait()
            cls.log.close()
        finally:
            cls.stop_ch()
            subprocess.run([os.path.join(LAB, "vigie-lab"), "scenario", "none"],
                           stdout=subprocess.DEVNULL, timeout=120)
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_client_address_not_stored_or_logged(self):
        # the serve log, every answer of the API, and the ClickHouse server's own files (its
        # logs hold the queries)
        with open(self.log_path, "rb") as f:
            self.assertNotIn(b"192.0.2.2", f.read())
        res = json.loads(api("/api/v1/measurements"))["results"]
        self.assertEqual(len(res), 2, res)
        for r in res:
            self.assertNotIn(b"192.0.2.2", api("/api/v1/measurement/%s" % r["measurement_uid"]))
        with open(os.path.join(self.ch_dir, "cluster")) as f:
            cluster = f.read().strip()
        for root, _, files in os.walk(cluster):
            for name in files:
                path = os.path.join(root, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    with open(path, "rb") as f:
                        self.assertNotIn(b"192.0.2.2", f.read(), path)

    def test_store_is_clickhouse_and_sound(self):
        health = json.loads(api("/healthz"))
        self.assertEqual(health["database"], "clickhouse", health)
        r = netns("vg-control", VIGIE, "serve", "--no-config", "--db", self.db, "check",
                  capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))


# ---- upload credentials (issue 13): vigie serve --upload-tokens --require-token ---------------
# https with the helper's certificate (SAN IP:192.0.2.10, the lab CA): the token never goes over
# plain http.
TOKEN_COLLECTOR = "192.0.2.10:8082"
TOKEN_NAME = "lab-probe"
TOKEN = "lab-roundtrip-token-4f0c9a6e1b7d"


def token_api(path):
    """GET from the token collector over https, from inside the control namespace."""
    r = netns("vg-control", "curl", "-sS", "--max-time", "10", "--cacert",
              os.path.join(LAB_DIR, "ca.pem"), "https://%s%s" % (TOKEN_COLLECTOR, path),
              capture_output=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("GET %s failed: %s" % (path, r.stderr.decode(errors="replace")))
    return r.stdout


def private_file(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


class RoundTripToken(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigie-roundtrip-token-")
        cls.db = os.path.join(cls.tmp, "vigie.db")
        tokens = private_file(os.path.join(cls.tmp, "tokens"), "%s %s\n" % (TOKEN_NAME, TOKEN))
        cls.token_file = private_file(os.path.join(cls.tmp, "token"), TOKEN + "\n")
        ca = os.path.join(LAB_DIR, "ca.pem")
        collector = "https://%s/" % TOKEN_COLLECTOR
        subprocess.run([os.path.join(LAB, "vigie-lab"), "scenario", "tls-mitm-selfsigned"],
                       check=True, stdout=subprocess.DEVNULL, timeout=120)
        cls.log_path = os.path.join(cls.tmp, "serve.log")
        cls.log = open(cls.log_path, "wb")
        cls.serve = subprocess.Popen(
            ["ip", "netns", "exec", "vg-control", VIGIE, "serve", "--listen", TOKEN_COLLECTOR,
             "--db", cls.db, "--tls-cert", os.path.join(LAB_DIR, "certs", "helper.pem"),
             "--tls-key", os.path.join(LAB_DIR, "certs", "helper.key"),
             "--upload-tokens", tokens, "--require-token"], stdout=subprocess.DEVNULL,
            stderr=cls.log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = netns("vg-control", "curl", "-s", "--cacert", ca, "-o", "/dev/null", "-w",
                      "%{http_code}", "https://%s/healthz" % TOKEN_COLLECTOR,
                      capture_output=True, timeout=10)
            if r.stdout == b"200":
                break
            time.sleep(0.2)
        else:
            raise AssertionError("vigie serve --upload-tokens did not come up")
        base = ["--lab", "--ca-file", ca, "--collector", collector, "--tcp-timeout", "2s",
                "--tls-timeout", "2s", "--format", "jsonl"]
        # With the token: both measurements go up, named lab-probe.
        cls.spool = os.path.join(cls.tmp, "spool")
        cls.probe = netns(
            "vg-client", VIGIE, "probe", *base, "--helper", "https://192.0.2.10:8443/",
            "--spool", cls.spool, "--collector-token", cls.token_file,
            "--output", os.path.join(cls.tmp, "out.jsonl"), "https://www.icloud.com/",
            "https://www.example.org/", capture_output=True, timeout=120)
        cls.spooled = os.listdir(cls.spool) if os.path.isdir(cls.spool) else []
        # Without: refused (401), the measurement stays in the spool, not in rejected/.
        cls.anon_spool = os.path.join(cls.tmp, "anon-spool")
        cls.anon = netns("vg-client", VIGIE, "probe", *base, "--spool", cls.anon_spool,
                         "--output", os.path.join(cls.tmp, "anon.jsonl"),
                         "https://www.example.org/", capture_output=True, timeout=120)
        cls.anon_spooled = sorted(os.listdir(cls.anon_spool)) if os.path.isdir(
            cls.anon_spool) else []
        cls.anon_open = netns("vg-control", "curl", "-s", "--cacert", ca, "-o", "/dev/null",
                              "-w", "%{http_code}", "-H", "Content-Type: application/json",
                              "--data", "{}", "https://%s/report" % TOKEN_COLLECTOR,
                              capture_output=True, timeout=30)
        # Later, with the token: the spool goes up.
        cls.upload = netns("vg-client", VIGIE, "upload", "--collector", collector, "--ca-file", ca,
                           "--spool", cls.anon_spool, "--collector-token", cls.token_file,
                           capture_output=True, timeout=120)
        cls.left = [f for _, _, fs in os.walk(cls.anon_spool) for f in fs]

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

    def test_uploaded_with_the_token(self):
        self.assertEqual(self.probe.returncode, 1, self.probe.stderr.decode(errors="replace"))
        self.assertIn(b"2 sent", self.probe.stderr)
        self.assertEqual(self.spooled, [], "nothing left in the spool")

    def test_anonymous_refused_and_kept(self):
        err = self.anon.stderr.decode(errors="replace")
        self.assertEqual(self.anon_open.stdout, b"401", "an anonymous report open is refused")
        self.assertEqual(err.count("refused the upload (HTTP 401"), 1, err)
        self.assertIn("0 sent, 1 spooled", err)
        self.assertEqual(len(self.anon_spooled), 1, self.anon_spooled)
        self.assertRegex(self.anon_spooled[0], r"^[0-9a-f-]+\.json$")
        # ...and sent later by vigie upload with the token.
        self.assertEqual(self.upload.returncode, 0, self.upload.stderr)
        self.assertIn(b"1 sent, 0 still spooled", self.upload.stderr)
        self.assertEqual(self.left, [])

    def test_provenance_in_the_api(self):
        res = json.loads(token_api("/api/v1/measurements?domain=www.icloud.com"))["results"]
        self.assertEqual(len(res), 1, res)
        self.assertEqual(res[0]["provenance"], TOKEN_NAME)
        self.assertEqual(res[0]["x_verdict"], "intercepted")
        trusted = json.loads(token_api("/api/v1/measurements?trusted=true"))["results"]
        self.assertEqual(len(trusted), 3, trusted)
        self.assertEqual({r["provenance"] for r in trusted}, {TOKEN_NAME})
        named = json.loads(token_api("/api/v1/measurements?provenance=" + TOKEN_NAME))
        self.assertEqual(len(named["results"]), 3)
        anon = json.loads(token_api("/api/v1/measurements?provenance=anonymous"))
        self.assertEqual(anon["results"], [])
        agg = json.dumps(json.loads(token_api("/api/v1/aggregation?axis_x=domain&trusted=true")))
        self.assertIn("www.icloud.com", agg)
        targets = json.dumps(json.loads(token_api("/api/v1/targets?trusted=true")))
        self.assertIn("intercepted", targets)

    def test_token_never_written(self):
        for path in (self.db, self.log_path, os.path.join(self.tmp, "out.jsonl"),
                     os.path.join(self.tmp, "anon.jsonl")):
            with open(path, "rb") as f:
                self.assertNotIn(TOKEN.encode(), f.read(), path)
        for p in (self.probe, self.anon, self.upload):
            self.assertNotIn(TOKEN.encode(), p.stdout + p.stderr)


if __name__ == "__main__":
    VIGIE, _, rest = harness.parse()
    if os.geteuid() != 0:
        sys.exit(harness.skip("test_roundtrip", "needs root (lab namespaces)"))
    sys.exit(harness.run(rest))
