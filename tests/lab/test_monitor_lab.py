#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Lab: `vigie monitor` re-tests an intermittent interception adaptively and finds its share and
start time. The censor intercepts about half of the connections to one iCloud address (scenario
tls-mitm-intermittent, the 2014 attack as Apple described it); the monitor runs in the client
namespace with the lab's control helper, short periods and a short re-test delay, then stops on
SIGTERM; its state file must show both verdicts in the history, an interference episode with a
start time, and re-tests sooner than the normal period.

Usage: test_monitor_lab.py --vigie PATH   (root; the lab must be up: ctest fixture lab)
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402  (--vigie, and the exit status: 77 when skipped)

LAB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab")
LAB_DIR = os.environ.get("VG_LAB_DIR", "/run/vigie-lab")
URL = "https://www.icloud.com/"
VIGIE = None


class MonitorIntermittent(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigie-monitor-lab-")
        cls.state = os.path.join(cls.tmp, "monitor.json")
        cls.out = os.path.join(cls.tmp, "out.jsonl")
        subprocess.run([os.path.join(LAB, "vigie-lab"), "scenario", "tls-mitm-intermittent"],
                       check=True, stdout=subprocess.DEVNULL, timeout=120)
        cls.log = open(os.path.join(cls.tmp, "monitor.log"), "wb")
        cls.proc = subprocess.Popen(
            ["ip", "netns", "exec", "vg-client", VIGIE, "monitor", "--lab", "--ca-file",
             os.path.join(LAB_DIR, "ca.pem"), "--helper", "https://192.0.2.10:8443/",
             "--every", "4s", "--retest-after", "1s", "--retest-max", "2s", "--jitter", "0%",
             "--recover-after", "50", "--state", cls.state, "--output", cls.out,
             "--spool", os.path.join(cls.tmp, "spool"), URL],
            stdout=subprocess.DEVNULL, stderr=cls.log)
        # Bounded wait: enough results for the history to show both faces of the attack.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            time.sleep(1)
            if cls.count_lines() >= 12:
                break
        cls.proc.send_signal(signal.SIGTERM)
        try:
            cls.rc = cls.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            cls.rc = cls.proc.wait()
        cls.log.close()
        with open(cls.state) as f:
            cls.st = json.load(f)
        with open(cls.out) as f:
            cls.results = [json.loads(line) for line in f if line.strip()]
        with open(os.path.join(cls.tmp, "monitor.log"), "rb") as f:
            cls.logtext = f.read().decode(errors="replace")

    @classmethod
    def count_lines(cls):
        try:
            with open(cls.out, "rb") as f:
                return sum(1 for line in f if line.strip())
        except FileNotFoundError:
            return 0

    @classmethod
    def tearDownClass(cls):
        subprocess.run([os.path.join(LAB, "vigie-lab"), "scenario", "none"],
                       stdout=subprocess.DEVNULL, timeout=120)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def url_state(self):
        urls = [u for u in self.st["urls"] if u["url"] == URL]
        self.assertEqual(len(urls), 1, self.st)
        return urls[0]

    def test_exit_on_sigterm(self):
        self.assertEqual(self.rc, 0, self.logtext)

    def test_both_verdicts_seen_and_share(self):
        verdicts = [m["test_keys"]["x_verdict"] for m in self.results]
        self.assertGreaterEqual(len(verdicts), 6, self.logtext)
        self.assertIn("intercepted", verdicts)
        self.assertIn("accessible", verdicts)
        hist = self.url_state()["history"]
        bad = sum(1 for c in hist if c != "a")
        # The share of interference: some of the results, not all of them.
        self.assertGreater(bad, 0, hist)
        self.assertLess(bad, len(hist), hist)

    def test_episode_start_time_found(self):
        eps = self.url_state()["episodes"]
        self.assertGreaterEqual(len(eps), 1, self.url_state())
        self.assertTrue(eps[0]["start"], eps[0])

    def test_adaptive_retest(self):
        # An interception is re-tested after --retest-after (1 s), sooner than the 4 s period.
        self.assertIn("-> intercepted", self.logtext)
        self.assertRegex(self.logtext, r"-> intercepted \(tls\.mitm\) since \S+; re-test in 1s")


if __name__ == "__main__":
    VIGIE, _, rest = harness.parse()
    if os.geteuid() != 0:
        sys.exit(harness.skip("test_monitor_lab", "needs root (lab namespaces)"))
    sys.exit(harness.run(rest))
