#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_ch_fixture.py - the ClickHouse test servers (scripts/ch-test-server, issue 16) that the
store's ClickHouse tests run against: CTest's fixtures "ch" (one server) and "ch2" (two servers,
two shards of the cluster vigie_cluster), found through VG_TEST_CH_FILE and VG_TEST_CH2_FILE
(harness.ch_urls). Without them the fixture tests are skipped (exit 77).

  * TestChFixture: each server runs as an unprivileged user (as root: the clickhouse system user)
    without capabilities, its private directory is 0700 and the url file 0600, it listens on
    127.0.0.1 only (no 0.0.0.0, no IPv6), a query without the password or with a wrong one is
    refused (as is the user "default"), the database vigie_test exists; on the two shards, a
    Distributed table over a MergeTree table on each returns from both servers every row
    inserted through either, and each shard's local table holds a part;
  * TestChScript (a server of its own in a temporary directory): a second start in a directory
    in use fails clearly and leaves the server running, stop twice is fine and leaves nothing
    behind, a start whose ports are all taken fails and cleans up, stop never signals a process
    it did not start, bad usage exits 2.

    python3 tests/integration/test_ch_fixture.py --vigie build/vigie [unittest options]
"""
import base64
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

import harness

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                      "ch-test-server")
SERVER = "/usr/sbin/clickhouse-server"


def query(url, sql, password=None, user="vigie", params=None):
    """POST sql to the server of url (a clickhouse:// URL of ch-test-server) as user with
    password (None: the URL's; False: none at all): (HTTP status, body text)."""
    u = urllib.parse.urlsplit(url)
    if password is None:
        password = urllib.parse.unquote(u.password)
    target = "http://%s:%d/" % (u.hostname, u.port)
    if params:
        target += "?" + urllib.parse.urlencode(params)
    req = urllib.request.Request(target, data=sql.encode(), method="POST")
    if password is not False:
        cred = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        req.add_header("Authorization", "Basic " + cred)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def ok(url, sql, **kw):
    status, body = query(url, sql, **kw)
    if status != 200:
        raise AssertionError("%s: HTTP %d: %s" % (sql, status, body))
    return body


def listening(pid):
    """The (address, port) pairs of the TCP sockets process pid listens on, IPv4 and IPv6."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    out = []
    for table in ("tcp", "tcp6"):
        with open("/proc/%d/net/%s" % (pid, table)) as f:
            next(f)
            for line in f:
                w = line.split()
                if w[3] != "0A" or w[9] not in inodes:
                    continue
                addr, port = w[1].split(":")
                raw = bytes.fromhex(addr)
                if table == "tcp":
                    host = socket.inet_ntop(socket.AF_INET, raw[::-1])
                else:
                    host = socket.inet_ntop(socket.AF_INET6, b"".join(
                        raw[i:i + 4][::-1] for i in range(0, 16, 4)))
                out.append((host, int(port, 16)))
    return out


def status_of(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.split()
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def run_script(*args, env=None):
    return subprocess.run([SCRIPT] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
                          env=env, text=True)


class TestChFixture(unittest.TestCase):
    """The ch and ch2 fixtures' servers."""

    @classmethod
    def setUpClass(cls):
        if not os.environ.get("VG_TEST_CH_FILE") or not os.environ.get("VG_TEST_CH2_FILE"):
            raise unittest.SkipTest("not run with the ch and ch2 fixtures' environment "
                                    "(VG_TEST_CH_FILE, VG_TEST_CH2_FILE)")
        cls.one = harness.ch_urls("VG_TEST_CH")
        cls.two = harness.ch_urls("VG_TEST_CH2")
        cls.dirs = [os.path.dirname(os.environ["VG_TEST_CH_FILE"]),
                    os.path.dirname(os.environ["VG_TEST_CH2_FILE"])]

    def servers(self):
        """(state dir, shard number, pid, url) of every server of both fixtures."""
        out = []
        for d, urls in zip(self.dirs, (self.one, self.two)):
            for i, url in enumerate(urls, 1):
                with open(os.path.join(d, "shard%d.pid" % i)) as f:
                    out.append((d, i, int(f.read()), url))
        return out

    def test_urls(self):
        self.assertEqual(len(self.one), 1)
        self.assertEqual(len(self.two), 2)
        for url in self.one + self.two:
            u = urllib.parse.urlsplit(url)
            self.assertEqual((u.scheme, u.username, u.hostname, u.path),
                             ("clickhouse", "vigie", "127.0.0.1", "/vigie_test"), url)
            self.assertRegex(u.password, r"^[0-9a-f]{48}$")
        ports = [urllib.parse.urlsplit(url).port for url in self.one + self.two]
        self.assertEqual(len(set(ports)), 3, ports)

    def test_unprivileged(self):
        for _, _, pid, _ in self.servers():
            st = status_of(pid)
            self.assertEqual(os.path.realpath("/proc/%d/exe" % pid), SERVER)
            uids = {int(x) for x in st["Uid"]}
            self.assertEqual(len(uids), 1, st["Uid"])
            uid = uids.pop()
            self.assertNotEqual(uid, 0)
            if os.geteuid() == 0:
                self.assertIn(pwd.getpwuid(uid).pw_name, ("clickhouse", "nobody"))
                self.assertEqual(st["Groups"], [])
            self.assertNotIn("0", st["Gid"])
            self.assertEqual(int(st["CapEff"][0], 16), 0)
            self.assertEqual(int(st["CapPrm"][0], 16), 0)

    def test_private_directory(self):
        for d, i, pid, _ in self.servers():
            self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700, d)
            url = os.path.join(d, "url")
            self.assertEqual(stat.S_IMODE(os.stat(url).st_mode), 0o600, url)
            with open(os.path.join(d, "cluster")) as f:
                cluster = f.read().strip()
            self.assertRegex(cluster, r"^/tmp/vigie-ch\.[A-Za-z0-9]{8}$")
            uid = int(status_of(pid)["Uid"][0])
            for path in (cluster, os.path.join(cluster, "shard%d" % i)):
                st = os.stat(path)
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o700, path)
                self.assertEqual(st.st_uid, uid, path)
            with open("/proc/%d/cmdline" % pid) as f:
                cmdline = f.read().split("\0")
            self.assertIn("--config-file=%s/shard%d/config.xml" % (cluster, i), cmdline)

    def test_loopback_only(self):
        for _, _, pid, url in self.servers():
            socks = listening(pid)
            self.assertEqual(len(socks), 2, socks)  # HTTP and native TCP
            self.assertEqual({h for h, _ in socks}, {"127.0.0.1"}, socks)
            self.assertIn(urllib.parse.urlsplit(url).port, [p for _, p in socks])
            self.assertFalse({p for _, p in socks} & {8123, 9000, 9009}, socks)

    def test_password_needed(self):
        for _, _, _, url in self.servers():
            self.assertEqual(ok(url, "SELECT 1"), "1\n")
            status, body = query(url, "SELECT 1", password=False)
            self.assertNotEqual(status, 200)
            self.assertIn("Unknown user default", body)
            status, body = query(url, "SELECT 1", password="wrong")
            self.assertNotEqual(status, 200)
            self.assertIn("Wrong password", body)
            status, body = query(url, "SELECT 1", user="default", password="")
            self.assertNotEqual(status, 200)
            self.assertIn("Unknown user default", body)

    def test_database(self):
        for _, _, _, url in self.servers():
            dbs = ok(url, "SHOW DATABASES").split()
            self.assertIn("vigie_test", dbs)
            self.assertEqual(ok(url, "SELECT timezone()"), "Etc/UTC\n")

    def test_distributed(self):
        a, b = self.two
        for url in self.two:
            ok(url, "DROP TABLE IF EXISTS vigie_test.fixture_all")
            ok(url, "DROP TABLE IF EXISTS vigie_test.fixture_local")
            ok(url, "CREATE TABLE vigie_test.fixture_local (id UInt64, s String) "
                    "ENGINE = MergeTree() ORDER BY id")
            ok(url, "CREATE TABLE vigie_test.fixture_all (id UInt64, s String) "
                    "ENGINE = Distributed(vigie_cluster, vigie_test, fixture_local, id)")
        sync = {"insert_distributed_sync": "1"}
        ok(a, "INSERT INTO vigie_test.fixture_all SELECT number, toString(number) "
              "FROM system.numbers LIMIT 100", params=sync)
        ok(b, "INSERT INTO vigie_test.fixture_all SELECT number + 100, toString(number) "
              "FROM system.numbers LIMIT 60", params=sync)
        for url in self.two:
            self.assertEqual(ok(url, "SELECT count(), sum(id) FROM vigie_test.fixture_all"),
                             "160\t%d\n" % sum(range(160)))
        parts = [int(ok(url, "SELECT count() FROM vigie_test.fixture_local")) for url in self.two]
        self.assertEqual(sum(parts), 160)
        self.assertTrue(all(0 < n < 160 for n in parts), parts)
        for url in self.two:
            ok(url, "DROP TABLE vigie_test.fixture_all")
            ok(url, "DROP TABLE vigie_test.fixture_local")


class TestChScript(unittest.TestCase):
    """scripts/ch-test-server itself, on servers of its own."""

    def setUp(self):
        if not os.access(SERVER, os.X_OK):
            self.skipTest("%s not installed (scripts/install-deps)" % SERVER)
        self.tmp = tempfile.mkdtemp(prefix="vg-chscript.")
        self.dir = os.path.join(self.tmp, "state")

    def tearDown(self):
        run_script("stop", self.dir)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def pid(self, i=1):
        with open(os.path.join(self.dir, "shard%d.pid" % i)) as f:
            return int(f.read())

    def test_in_use_then_stop_twice(self):
        p = run_script("start", self.dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^clickhouse://vigie@127\.0\.0\.1:\d+/vigie_test\n$")
        with open(os.path.join(self.dir, "url")) as f:
            url = f.read().strip()
        with open(os.path.join(self.dir, "cluster")) as f:
            cluster = f.read().strip()
        pid = self.pid()
        # A second start in the same directory: refused, the running server untouched.
        p = run_script("start", self.dir)
        self.assertEqual(p.returncode, 1)
        self.assertIn("is in use", p.stderr)
        self.assertTrue(alive(pid))
        self.assertEqual(ok(url, "SELECT 1"), "1\n")
        # Stop, and stop again.
        for _ in range(2):
            p = run_script("stop", self.dir)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertFalse(alive(pid))
            self.assertFalse(os.path.exists(self.dir))
            self.assertFalse(os.path.exists(cluster))

    def test_failed_start_cleans_up(self):
        # Every port the script is given is taken: the servers cannot bind; the script tries
        # three times, then fails and leaves no process and no file behind.
        held = []
        for _ in range(2):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            held.append(s)
        ports = " ".join(str(s.getsockname()[1]) for s in held)
        fake = os.path.join(self.tmp, "bin")
        os.mkdir(fake)
        with open(os.path.join(fake, "python3"), "w") as f:
            f.write("#!/bin/sh\ncat >/dev/null\necho %s\n" % ports)
        os.chmod(os.path.join(fake, "python3"), 0o755)
        # the private directories in a parent of this test's own: other tests' servers may
        # start in /tmp meanwhile (ctest -j)
        parent = os.path.join(self.tmp, "parent")
        os.mkdir(parent)
        os.chmod(self.tmp, 0o711)
        os.chmod(parent, 0o711)
        env = dict(os.environ, PATH=fake + ":" + os.environ["PATH"], VG_CH_TMPDIR=parent)
        before = set(d for d in os.listdir(parent) if d.startswith("vigie-ch."))
        p = run_script("start", self.dir, env=env)
        for s in held:
            s.close()
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("did not start", p.stderr)
        self.assertIn("Address already in use", p.stderr)
        self.assertEqual(p.stderr.count("a port was taken"), 2, p.stderr)
        self.assertFalse(os.path.exists(self.dir))
        after = set(d for d in os.listdir(parent) if d.startswith("vigie-ch."))
        self.assertFalse(after - before)
        cmd = "--config-file=%s/vigie-ch." % parent
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open("/proc/%s/cmdline" % pid) as f:
                        line = f.read()
                except OSError:
                    continue
                for d in after - before:
                    self.assertNotIn(cmd + d[len("vigie-ch."):], line)

    def test_stop_signals_only_its_servers(self):
        # A state directory whose pid file names a process the script did not start.
        other = subprocess.Popen(["sleep", "300"])
        try:
            os.makedirs(self.dir, mode=0o700)
            cluster = tempfile.mkdtemp(prefix="vigie-ch.", dir="/tmp")
            self.assertRegex(cluster, r"^/tmp/vigie-ch\.[A-Za-z0-9_]{8}$")
            with open(os.path.join(self.dir, "cluster"), "w") as f:
                f.write(cluster + "\n")
            with open(os.path.join(self.dir, "shard1.pid"), "w") as f:
                f.write("%d\n" % other.pid)
            p = run_script("stop", self.dir)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIsNone(other.poll())
            self.assertFalse(os.path.exists(self.dir))
            self.assertFalse(os.path.exists(cluster))
        finally:
            other.kill()
            other.wait()

    def test_usage(self):
        for args in ((), ("start",), ("start", self.dir, "--shards", "0"),
                     ("start", self.dir, "--shards", "x"), ("start", self.dir, "--shards"),
                     ("stop", self.dir, "more"), ("frob", self.dir), ("exec", self.dir)):
            p = run_script(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("usage:", p.stderr)
        self.assertFalse(os.path.exists(self.dir))
        p = run_script("url", self.dir)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no server started", p.stderr)

    def test_exec(self):
        p = run_script("start", self.dir, "--shards", "2")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.dir, "url")) as f:
            urls = f.read().split()
        self.assertEqual(len(urls), 2)
        p = run_script("exec", self.dir, "sh", "-c", 'echo "$VG_TEST_CH|$VG_TEST_CH2|$PWD"')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "%s|%s|%s\n" % (urls[0], " ".join(urls), os.getcwd()))
        env = dict(os.environ, VG_TEST_CH_FILE=os.path.join(self.dir, "url"),
                   VG_TEST_CH2_FILE=os.path.join(self.dir, "url"))
        env.pop("VG_TEST_CH", None)
        env.pop("VG_TEST_CH2", None)
        p = subprocess.run([sys.executable, "-c",
                            "import harness; print(harness.ch_urls('VG_TEST_CH'), "
                            "harness.ch_urls('VG_TEST_CH2'))"],
                           cwd=os.path.dirname(os.path.abspath(__file__)), env=env,
                           stdout=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.stdout, "%r %r\n" % (urls[:1], urls))


def main():
    _, _, argv = harness.parse()
    return harness.run(argv)


if __name__ == "__main__":
    sys.exit(main())
