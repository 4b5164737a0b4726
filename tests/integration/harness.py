# SPDX-License-Identifier: MIT
"""
harness.py - what every integration script shares: its command line and its unittest run.

    python3 tests/integration/test_X.py --vigie build/vigie [--flag ...] [unittest options]

--vigie PATH (or --vigie=PATH, or the VIGIE environment variable) names the binary under test;
a script may take more options of its own (`options`); everything else goes to unittest.
Server runs `vigie helper` or `vigie serve` for a test.

Exit status of a script (run()): 0 when every test ran and passed; 1 when one failed (or none
ran); SKIP_EXIT (77) when none failed but some did not run (a unittest skip, an expected
failure): their names and reasons are printed, and CTest reports the whole script as skipped
(every Python test is registered with SKIP_RETURN_CODE 77), never as passed.
"""
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest


def parse(options=(), usage_extra=""):
    """Split sys.argv. options: names of a script's own options, each taking a value, e.g.
    ("--mkmmdb",), or ending in "!" for a flag without one ("--pg!"). Returns (vigie, values,
    unittest argv): vigie is an absolute path, values maps each option given to its value (True
    for a flag). Exits 2 with a usage line when no executable vigie is named."""
    takes = {o.rstrip("!"): not o.endswith("!") for o in options}
    takes["--vigie"] = True
    values = {}
    rest = [sys.argv[0]]
    args = sys.argv[1:]
    while args:
        a = args.pop(0)
        name, eq, val = a.partition("=")
        if name in takes and (eq or not takes[name] or args):
            values[name] = (val if eq else args.pop(0)) if takes[name] else True
        else:
            rest.append(a)
    vigie = values.pop("--vigie", None) or os.environ.get("VIGIE")
    if not vigie:
        sys.stderr.write("usage: %s --vigie PATH (or VIGIE=PATH)%s [unittest options]\n"
                         % (sys.argv[0], usage_extra))
        sys.exit(2)
    vigie = os.path.abspath(vigie)
    if not os.access(vigie, os.X_OK):
        sys.stderr.write("%s: not an executable\n" % vigie)
        sys.exit(2)
    return vigie, values, rest


# A configuration file of the machine or the user running the tests (/etc/vigie/vigie.conf,
# ~/.config/vigie/vigie.conf) must not change what vigie does under test: every vigie the tests
# start reads none, unless a test sets VIGIE_CONFIG itself (test_config.py).
os.environ.setdefault("VIGIE_CONFIG", "none")

SKIP_EXIT = 77  # CTest's SKIP_RETURN_CODE of every Python test (tests/CMakeLists.txt)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import ooni_validate  # noqa: E402  (tests/tools: OONI's data formats, docs/HACKING.md)

# Measurements checked by ooni_validate in this process (what a script's summary may print).
OONI_CHECKED = [0]


def check_ooni(text):
    """Every measurement vigie wrote (text: JSON Lines, str or bytes) against OONI's data-format
    specs, strictly (tests/tools/ooni_validate.py): raises AssertionError with one line per
    problem. Returns the number of measurements checked."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    docs = ooni_validate.documents(text)
    problems = ooni_validate.validate_text(text)
    if problems:
        raise AssertionError("not OONI's data format (ooni_validate.py):\n" + "\n".join(
            "  line %d: %s: %s" % (n, p or "(measurement)", msg) for n, p, msg in problems[:40]))
    OONI_CHECKED[0] += len(docs)
    return len(docs)


# How many times the memory of an ASan build exceeds a normal build's (shadow memory, quarantine):
# a peak-RSS bound of a test is multiplied by this when the binary is sanitized.
SANITIZER_MEMORY_FACTOR = 5


def sanitized(binary):
    """binary (a path) is an ASan build."""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def memory_bound(binary, bound):
    """A peak-memory bound for binary: bound, or SANITIZER_MEMORY_FACTOR times it under ASan."""
    return bound * (SANITIZER_MEMORY_FACTOR if sanitized(binary) else 1)


def skip(name, reason):
    """For a script that cannot run at all (e.g. needs root): say why; the exit status."""
    print("SKIPPED %s: %s" % (name, reason), flush=True)
    return SKIP_EXIT


def status(result):
    """The exit status for a unittest result (see the module's docstring), with the tests that
    did not run named on standard output."""
    if not result.wasSuccessful():
        return 1
    missed = [(t, "skipped: " + reason) for t, reason in result.skipped]
    missed += [(t, "expected failure") for t, _ in result.expectedFailures]
    if not missed and result.testsRun == 0:
        print("FAILED: no test ran", flush=True)
        return 1
    if missed:
        print("SKIPPED %d of %d tests (the script exits %d: CTest reports it as skipped):"
              % (len(missed), result.testsRun, SKIP_EXIT))
        for test, why in missed:
            print("  %s: %s" % (test, why))
        sys.stdout.flush()
        return SKIP_EXIT
    return 0


def run(argv):
    """Run the tests of __main__ with unittest options argv; the process exit status."""
    prog = unittest.main(argv=argv, exit=False, verbosity=2)
    if OONI_CHECKED[0]:
        print("ooni_validate: %d measurements in OONI's data format" % OONI_CHECKED[0],
              flush=True)
    return status(prog.result)


def pg_option(opts):
    """The PostgreSQL server of a script run with --pg (opts: parse()'s values): (conn, spec),
    conn the libpq conninfo or URL of VG_TEST_PG (scripts/pg-test-server prints one) for psql,
    spec the same as a `vigie serve --db` store ("pg:CONNINFO", or the URL); (None, None)
    without --pg. Exits 2 when VG_TEST_PG is not set."""
    if not opts.get("--pg"):
        return None, None
    conn = os.environ.get("VG_TEST_PG")
    if not conn:
        sys.stderr.write("--pg: VG_TEST_PG (a libpq conninfo or URL) is not set\n")
        sys.exit(2)
    if conn.startswith("pg:"):
        conn = conn[3:]
    return conn, conn if re.match(r"postgres(ql)?://", conn) else "pg:" + conn


def ch_urls(name="VG_TEST_CH"):
    """The ClickHouse test servers (scripts/ch-test-server) of the environment variable name
    ("VG_TEST_CH": the ch fixture's one URL, "VG_TEST_CH2": the ch2 fixture's two shards): a list
    of clickhouse://vigie:PASSWORD@127.0.0.1:PORT/vigie_test URLs, from name itself (URLs
    separated by spaces) or, as CTest sets it, from the file that name + "_FILE" names (the
    fixture's url file, written at its start: one line per shard; VG_TEST_CH takes the first
    line only). [] when neither is set."""
    value = os.environ.get(name)
    if value:
        return value.split()
    path = os.environ.get(name + "_FILE")
    if not path:
        return []
    with open(path) as f:
        urls = f.read().split()
    return urls[:1] if name == "VG_TEST_CH" else urls


def ch_query(url, sql):
    """POST sql to the ClickHouse server of url (a clickhouse://USER:PASSWORD@HOST:PORT/DB URL
    of scripts/ch-test-server) over its HTTP interface, in database DB: the answer's text;
    AssertionError with the server's message on an error."""
    import base64
    import urllib.error
    import urllib.parse
    import urllib.request
    u = urllib.parse.urlsplit(url)
    target = "http://%s:%d/" % (u.hostname, u.port)
    if u.path.strip("/"):
        target += "?" + urllib.parse.urlencode({"database": u.path.strip("/")})
    req = urllib.request.Request(target, data=sql.encode(), method="POST")
    cred = "%s:%s" % (urllib.parse.unquote(u.username), urllib.parse.unquote(u.password))
    req.add_header("Authorization", "Basic " + base64.b64encode(cred.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.read().decode()
    except urllib.error.HTTPError as e:
        raise AssertionError("%s: HTTP %d: %s" % (sql, e.code, e.read().decode()))


def ch_own_database(url, prefix):
    """A database of our own on the ClickHouse server of url (test_store --ch empties the
    fixture's vigie_test): (its store spec, the function that drops it)."""
    import random
    import urllib.parse
    name = "%s_%d_%d" % (prefix, os.getpid(), random.randint(0, 1 << 30))
    ch_query(url, "CREATE DATABASE %s" % name)
    u = urllib.parse.urlsplit(url)
    spec = urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, ""))
    return spec, lambda: ch_query(url, "DROP DATABASE IF EXISTS %s" % name)


def main(scope):
    """The whole main() of a script that takes only --vigie: sets scope["VIGIE"] (the script's
    globals()), runs its tests, returns the exit status."""
    scope["VIGIE"], _, argv = parse()
    return run(argv)


class Server:
    """`vigie COMMAND --listen 127.0.0.1:0 ARGS...` (helper or serve) as a child process. Its
    standard error (the request log) is collected line by line; the constructor returns once
    the server printed the address it listens on (url, https, port), or raises."""

    START_TIMEOUT = 30  # seconds for the "listening on URL" line (sanitizer builds are slow)
    REQUEST_TIMEOUT = 30  # seconds, client side, of one request()

    def __init__(self, vigie, command, *args):
        self.args = [vigie, command, "--listen", "127.0.0.1:0"] + list(args)
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines = []
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self.url = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._listening.wait(self.START_TIMEOUT) or self.url is None:
            self.stop()
            raise RuntimeError("vigie %s did not start: %r" % (command, self.log()))
        m = re.match(r"(https?)://127\.0\.0\.1:(\d+)/", self.url)
        self.https = m.group(1) == "https"
        self.port = int(m.group(2))

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self.lines.append(line)
            m = re.search(r"listening on (\S+)", line)
            if m and self.url is None:
                self.url = m.group(1)
                self._listening.set()
        self._listening.set()  # exited before listening: do not wait for nothing

    def request(self, method, path, body=None, headers=None, timeout=None):
        """(status, body bytes) of one plain-HTTP request on a fresh connection (timeout:
        REQUEST_TIMEOUT unless given)."""
        if timeout is None:
            timeout = self.REQUEST_TIMEOUT
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def log(self):
        with self._lock:
            return list(self.lines)

    def wait_log(self, pattern, timeout=20):
        """The first log line matching pattern (bounded wait), or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log():
                if re.search(pattern, line):
                    return line
            time.sleep(0.02)
        return None

    def alive(self):
        return self.proc.poll() is None

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS for pid %d" % self.proc.pid)

    def wait(self, timeout=60):
        """Exit status once the server exits (bounded: killed past timeout)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        self.proc.stderr.close()
        return self.proc.returncode

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)


# Certificates for the tests' TLS servers, made with the openssl command (P-256 keys).
OPENSSL_CFG = """\
[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_self]
basicConstraints = critical, CA:FALSE
subjectKeyIdentifier = hash
"""

LEAF_EXT = """\
subjectAltName = IP:%s
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
"""


def openssl(cwd, *args):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], p.stderr.decode(errors="replace")))


def make_certs(d, ca_name, leaves, self_subject):
    """In directory d: a CA "CN=ca_name" (ca.pem, ca.key); per (name, ip) of leaves, NAME.pem
    and NAME.key for the IP address, issued by the CA (serials 4097, 4098, ...); self.pem and
    self.key, self-signed with the subject self_subject. Returns {file name: path}."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    with open(os.path.join(d, "openssl.cnf"), "w") as f:
        f.write(OPENSSL_CFG)
    openssl(d, "req", "-x509", "-config", "openssl.cnf", "-extensions", "v3_ca", *ec,
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=" + ca_name)
    files = ["ca.pem", "self.pem", "self.key"]
    for serial, (name, ip) in enumerate(leaves, start=4097):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(LEAF_EXT % ip)
        openssl(d, "req", "-new", "-config", "openssl.cnf", *ec, "-keyout", name + ".key",
                "-out", name + ".csr", "-subj", "/CN=" + ip)
        openssl(d, "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-set_serial", str(serial), "-days", "30", "-extfile", name + ".ext",
                "-out", name + ".pem")
        files += [name + ".pem", name + ".key"]
    openssl(d, "req", "-x509", "-config", "openssl.cnf", "-extensions", "v3_self", *ec,
            "-keyout", "self.key", "-out", "self.pem", "-days", "30", "-subj", self_subject)
    return {n: os.path.join(d, n) for n in files}
