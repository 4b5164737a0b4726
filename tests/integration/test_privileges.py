#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_privileges.py - least privilege (issue 13): what runs as root and what another local user
can reach. Needs root (it starts the servers as root and checks whom they become): without it
the script exits 77 (skipped).

  * `vigie helper --user nobody` and `vigie serve --user nobody` bind a port below 1024 as root,
    then run as nobody: /proc/PID/status shows nobody's uid and gid everywhere (real,
    effective, saved, file system), nobody's group alone, and no capability; serve creates its
    database as nobody, and its --alert-exec command runs as nobody; `vigie monitor --user`
    writes its state as that user;
  * as root without --user, serve refuses --alert-exec; --user root, an unknown user and
    --group without --user are refused;
  * the PostgreSQL test server (TestPgFixture, with the pg fixture's environment:
    integration.pg_fixture): its directory and socket are 0700, a connection without the
    password is refused, another local user cannot even reach the socket, no rule trusts.

    python3 tests/integration/test_privileges.py --vigie build/vigie [unittest options]
"""
import datetime
import grp
import http.client
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import harness
import test_alerts as ta

VIGIE = None
NOBODY = pwd.getpwnam("nobody")


def ids(pid):
    """{"Uid": [...], "Gid": [...], "Groups": [...], "CapEff": int} of a process."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                out[key] = [int(v) for v in value.split()]
            elif key == "CapEff":
                out[key] = int(value, 16)
    return out


def low_port():
    """A free port below 1024 on 127.0.0.1: only root may bind it."""
    for port in range(880, 1024):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise unittest.SkipTest("no free port below 1024")


def wait_for(pred, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


def read(path):
    """The text of path, or "" when it does not exist yet."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def nobody_dir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chown(d, NOBODY.pw_uid, NOBODY.pw_gid)
    return d


class Mixin:
    def assert_nobody(self, pid, gid=NOBODY.pw_gid):
        got = ids(pid)
        self.assertEqual(got["Uid"], [NOBODY.pw_uid] * 4, got)
        self.assertEqual(got["Gid"], [gid] * 4, got)
        self.assertEqual(got["Groups"], [gid], got)
        self.assertEqual(got["CapEff"], 0, got)

    def refused(self, command, *args):
        p = subprocess.run([VIGIE, command] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 2, (args, p.stderr))
        return p.stderr.decode()


class TestHelperUser(Mixin, unittest.TestCase):
    def test_binds_as_root_then_runs_as_nobody(self):
        port = low_port()
        h = harness.Server(VIGIE, "helper", "--listen", "127.0.0.1:%d" % port,
                           "--user", "nobody")
        try:
            self.assertEqual(h.port, port)
            self.assert_nobody(h.proc.pid)
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/")
            self.assertEqual(c.getresponse().status, 200)
            c.close()
            self.assertFalse([line for line in h.log() if "running as root" in line], h.log())
        finally:
            self.assertEqual(h.stop(), 0)

    def test_group(self):
        daemon = grp.getgrnam("daemon").gr_gid
        h = harness.Server(VIGIE, "helper", "--user", "nobody", "--group", "daemon")
        try:
            self.assert_nobody(h.proc.pid, gid=daemon)
        finally:
            self.assertEqual(h.stop(), 0)

    def test_root_is_said(self):
        h = harness.Server(VIGIE, "helper")
        try:
            self.assertTrue([line for line in h.log() if "warning: running as root" in line],
                            h.log())
        finally:
            self.assertEqual(h.stop(), 0)

    def test_bad_users_refused(self):
        listen = ["--listen", "127.0.0.1:0"]
        self.assertIn("no such user", self.refused("helper", *listen, "--user", "no-such-vg"))
        self.assertIn("unprivileged", self.refused("helper", *listen, "--user", "root"))
        self.assertIn("--group needs --user", self.refused("helper", *listen, "--group", "daemon"))
        self.assertIn("no such group", self.refused("helper", *listen, "--user", "nobody",
                                                    "--group", "no-such-vg"))


class TestServeUser(Mixin, unittest.TestCase):
    def setUp(self):
        self.tmp = nobody_dir("vigie-privileges-serve-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def upload(self, url, ms):
        body = "\n".join(json.dumps(m) for m in ms).encode()
        req = urllib.request.Request(url.rstrip("/") + "/api/v1/bulk", data=body,
                                     headers={"Content-Type": "application/x-ndjson"})
        with urllib.request.urlopen(req, timeout=30) as r:
            out = json.load(r)
        self.assertEqual(out["rejected"], [], out)

    def test_database_and_alert_command_as_nobody(self):
        port = low_port()
        db = os.path.join(self.tmp, "c.db")
        out = os.path.join(self.tmp, "who")
        s = harness.Server(VIGIE, "serve", "--listen", "127.0.0.1:%d" % port, "--db", db,
                           "--user", "nobody",
                           "--alert-exec", "cat >/dev/null; echo $(id -u) $(id -g) $(id -G) >> "
                           + out)
        try:
            self.assertEqual(s.port, port)
            self.assert_nobody(s.proc.pid)
            # Opened after the drop: the database belongs to nobody.
            self.assertEqual(os.stat(db).st_uid, NOBODY.pw_uid)
            asn = "AS64777"
            t0 = datetime.datetime(2026, 11, 20, 8, 0, 0, tzinfo=datetime.timezone.utc)
            self.upload(s.url, [ta.meas(ta.ICLOUD_OK, t0, "FR", asn)])
            self.upload(s.url, [ta.meas(ta.ICLOUD_MITM, t0 + datetime.timedelta(minutes=5),
                                        "FR", asn)])
            who = wait_for(lambda: read(out).strip())
            self.assertEqual(who.split(), [str(NOBODY.pw_uid), str(NOBODY.pw_gid),
                                           str(NOBODY.pw_gid)])
        finally:
            self.assertEqual(s.stop(), 0)

    def test_alert_exec_refused_as_root(self):
        err = self.refused("serve", "--listen", "127.0.0.1:0", "--db",
                           os.path.join(self.tmp, "r.db"), "--alert-exec", "true")
        self.assertIn("--alert-exec would run its command as root", err)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "r.db")))

    def test_bad_users_refused(self):
        args = ["--listen", "127.0.0.1:0", "--db", os.path.join(self.tmp, "u.db")]
        self.assertIn("no such user", self.refused("serve", *args, "--user", "no-such-vg"))
        self.assertIn("unprivileged", self.refused("serve", *args, "--user", "0"))


class TestMonitorUser(Mixin, unittest.TestCase):
    def test_state_written_as_nobody(self):
        tmp = nobody_dir("vigie-privileges-monitor-")
        state = os.path.join(tmp, "state.json")
        # A closed port: the measurement fails at once, nothing leaves the machine.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d/" % s.getsockname()[1]
        s.close()
        p = subprocess.Popen([VIGIE, "monitor", "--user", "nobody", "--state", state,
                              "--output", os.path.join(tmp, "out.jsonl"), "--every", "1h",
                              "--tcp-timeout", "1s", url],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            line = p.stderr.readline().decode()
            while line and "started (pid" not in line:
                line = p.stderr.readline().decode()
            self.assertIn("started (pid", line)
            self.assert_nobody(p.pid)
            self.assertEqual(os.stat(state).st_uid, NOBODY.pw_uid)
        finally:
            p.terminate()
            p.wait(60)
            p.stderr.close()
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(p.returncode, 0)


class TestPgFixture(unittest.TestCase):
    """The pg fixture's server (scripts/pg-test-server), found through its service file."""

    @classmethod
    def setUpClass(cls):
        path = os.environ.get("PGSERVICEFILE")
        if not path or os.environ.get("VG_TEST_PG") != "service=vigie_test":
            raise unittest.SkipTest("not run with the pg fixture's environment")
        cls.service = path
        with open(path) as f:
            cls.conf = dict(line.strip().split("=", 1) for line in f
                            if "=" in line and not line.startswith("#"))
        cls.host = cls.conf["host"]
        cls.socket = os.path.join(cls.host, ".s.PGSQL.%s" % cls.conf["port"])

    def psql(self, conninfo, env=None, user=None):
        argv = ["psql", "-X", "-w", "-tA", "--dbname", conninfo, "-c", "SELECT 1"]
        if user is not None:
            argv = ["runuser", "-u", user, "--"] + argv
        return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60, cwd="/")

    def bare_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGPASSFILE"] = "/nonexistent/pgpass"
        return env

    def test_private_directory(self):
        for path, mode in ((self.host, 0o700), (self.socket, 0o700),
                           (self.conf["passfile"], 0o600),
                           (os.path.dirname(self.service), 0o700)):
            st = os.stat(path)
            self.assertEqual(stat.S_IMODE(st.st_mode), mode, path)
        self.assertTrue(self.host.startswith("/tmp/vigie-pg."), self.host)
        self.assertRegex(self.host, r"^/tmp/vigie-pg\.[A-Za-z0-9]{8}$")

    def test_password_needed(self):
        # With the service (its passfile): in.
        p = self.psql("service=vigie_test")
        self.assertEqual(p.returncode, 0, p.stderr)
        # The same server without the password: refused.
        bare = "host=%s port=%s dbname=vigie_test user=postgres" % (self.host,
                                                                   self.conf["port"])
        p = self.psql(bare, env=self.bare_env())
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"password", p.stderr)
        # A wrong password: refused.
        p = self.psql(bare + " password=wrong", env=self.bare_env())
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"password authentication failed", p.stderr)

    def test_other_users_cannot_reach_it(self):
        p = self.psql("host=%s port=%s dbname=vigie_test user=postgres passfile=%s"
                      % (self.host, self.conf["port"], self.conf["passfile"]),
                      env=self.bare_env(), user="nobody")
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr.decode(), r"[Pp]ermission denied")

    def test_no_trust_rule(self):
        p = subprocess.run(["psql", "-X", "-w", "-tA", "--dbname", "service=vigie_test", "-c",
                            "SELECT DISTINCT auth_method FROM pg_hba_file_rules"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(p.stdout.decode().split()), ["reject", "scram-sha-256"])


def main():
    global VIGIE
    VIGIE, _, argv = harness.parse()
    ta.VIGIE = VIGIE
    if os.geteuid() != 0:
        return harness.skip("test_privileges", "needs root (servers started as root, "
                            "checked as the user they become)")
    return harness.run(argv)


if __name__ == "__main__":
    sys.exit(main())
