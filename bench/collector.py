# SPDX-License-Identifier: MIT
"""bench/collector.py - the collector parts of `make bench` (bench/README.md, sections 4 and 5),
run by bench/run after the probe parts.

4. Ingest: measurements/s that `vigie serve` commits, on SQLite and on PostgreSQL, from
   concurrent uploaders (bench/upload.c): one measurement per request (OONI's POST
   /report/{id}) and POST /api/v1/bulk (JSON Lines, plain and gzip). Baseline: the same rows
   (dumped from vigie's database) inserted by the sqlite3 and psql command-line tools into a
   fresh database with the same schema, in one transaction.
5. Queries: p50/p95 latency of GET /api/v1/aggregation and /api/v1/targets over a store filled
   with 1,000,000 measurements through `vigie import`.

The measurements are variants of real `vigie probe` output (made at the start, against the
bench's nginx and helper): each gets its own id, input, network and start time.

Everything runs in a network namespace of its own (vgb2-coll: its loopback only); PostgreSQL
is a throwaway cluster from scripts/pg-test-server in the work directory (unix socket only);
ClickHouse a throwaway server from scripts/ch-test-server started inside the namespace (its
loopback), so vigie serve, vigie import and the queries to it all run there.
"""

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
NS = "vgb2-coll"
LISTEN = "127.0.0.1:8080"
PG_SCRIPT = os.path.join(REPO, "scripts", "pg-test-server")
CH_SCRIPT = os.path.join(REPO, "scripts", "ch-test-server")
NAME = {"sqlite": "SQLite", "pg": "PostgreSQL", "ch": "ClickHouse"}

# The 1M store spans the 30 days up to the start of the run's hour (UTC), in arrival order,
# so that the windows of /api/v1/targets (window=24h|30d, ending now) hold measurements.
Q_DAYS = 30
DAY = 86400
Q_START = int(time.time()) // 3600 * 3600 - Q_DAYS * DAY
PEER = os.path.join(HERE, "ingest_peer.py")


# Texts of the report (sections 4 and 5).
INGEST_INTRO = ("Uploader: bench/upload.c (C, one thread per connection, HTTP/1.1 keep-alive), "
                "for %d s per run, into a fresh database. Measurements: variants of real `vigie "
                "probe --helper` output (median %d bytes of JSON; %s), each with its own id, "
                "input (1,000 domains), network (20) and start time. A measurement counts when "
                "its 200 answer arrived, which `vigie serve` sends after COMMIT; the rows counted "
                "in the database afterwards are never fewer. submit = OONI's POST /report/{id}, "
                "one measurement per request, one report per connection; bulk = POST "
                "/api/v1/bulk, 1,000 lines per request (gzip: made and compressed before the "
                "clock starts). SQLite: the default `synchronous=FULL`; PostgreSQL 15: "
                "scripts/pg-test-server (fsync and synchronous_commit on, shared_buffers 32MB).")

BASELINE_TEXT = ("Baseline: the rows of the bulk run (the same `measurements` rows vigie stored: "
                 "columns and zlib-compressed raw JSON), dumped and loaded by the database's "
                 "command-line tool into a fresh database with vigie's schema and indexes, in one "
                 "transaction that commits before the tool exits. The baseline writes only the "
                 "measurements table; vigie also keeps the count tables and latest states in the "
                 "same transaction, checks and normalises each measurement (JSON parse, probe_ip "
                 "scrub, re-serialisation, SHA-512, deflate) and speaks HTTP.")

QUERY_INTRO = ("%s: %s measurements over %d days (%s to %s UTC, in arrival order), 1,000 domains "
               "(one input each), 20 networks; filled with `vigie import` of the generated JSON "
               "Lines (two importers at once) at %.0f measurements/s (database %.0f MiB; machine "
               "CPU %.0f%%, load %.1f). Then `vigie serve` on it; one client, one request at a "
               "time on a keep-alive connection, %d rounds over all queries after a warm-up round "
               "(machine CPU %.0f%%, load %.1f).")


def day(n):
    return time.strftime("%Y-%m-%d", time.gmtime(Q_START + n * DAY))


def hour(n):
    return time.strftime("%Y-%m-%d %H:00", time.gmtime(Q_START + n * DAY))


def machine_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


class Collector:
    """Sections 4 and 5. b is the Bench of bench/run (its work dir, vigie copy, helpers)."""

    def __init__(self, b):
        self.b = b
        self.quick = b.quick
        self.work = os.path.join(b.work, "collector")
        os.makedirs(self.work)
        os.chmod(self.work, 0o755)  # the postgres user needs to reach its directory
        self.pg = None          # conninfo prefix ("host=... port=... user=postgres")
        self.pgdir = None
        self.pgcluster = None   # the cluster's directory (pg-test-server: mktemp)
        self.ch = None          # the ClickHouse server's URL (its database replaced per run)
        self.chdir = None
        self.serve = None
        self.dbn = 0
        self.ingest = []        # result dicts of section 4
        self.base = []          # baselines
        self.queries = {}       # backend -> {"import": ..., "rows": [...]}
        self.notes = []
        self.duration = 5 if self.quick else 15
        self.q_count = b.a.scale or (100000 if self.quick else 1000000)
        self.q_reps = 15 if self.quick else 40
        self.base_rows = 20000 if self.quick else 100000
        self.peer_count = 5000 if self.quick else 10000
        self.peer = None        # the Python script's run (section 4)
        self.raw_mean = None    # mean bytes of one measurement's JSON, as uploaded
        self.profile = {}

    # ---------------------------------------------------------------- set-up

    def sh(self, *argv, check=True, **kw):
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, **kw)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), r.returncode,
                                                       r.stdout.strip()[-2000:]))
        return r

    def setup(self):
        b = self.b
        self.upload = os.path.join(self.work, "upload")
        self.sh("cc", "-O2", "-std=c11", "-o", self.upload, os.path.join(HERE, "upload.c"),
                "-lz", "-lpthread")
        if os.path.exists("/run/netns/" + NS):
            self.sh("ip", "netns", "del", NS)
        self.sh("ip", "netns", "add", NS)
        self.sh("ip", "-n", NS, "link", "set", "lo", "up")
        # thousands of short connections in the query part, many keep-alive ones in ingest
        self.sh("ip", "netns", "exec", NS, "sysctl", "-qw", "net.core.somaxconn=4096")
        for tool, pkg in (("sqlite3", "sqlite3"), ("psql", "postgresql-client"),
                          ("cc", "gcc")):
            if shutil.which(tool) is None:
                b.apt_install(pkg)
        self.pgdir = os.path.join(self.work, "pg")
        try:
            conn = self.sh(PG_SCRIPT, "start", self.pgdir).stdout.strip().splitlines()[-1]
            self.pg = conn.replace("dbname=vigie_test ", "")
            # the cluster's own directory (the socket, data/, the superuser's passfile): every
            # connection needs the password, psql and pg_dump take it from PGPASSFILE
            kv = dict(x.split("=", 1) for x in self.pg.split())
            self.pgcluster = kv["host"]
            if "passfile" in kv:
                os.environ["PGPASSFILE"] = kv["passfile"]
            with open(os.path.join(b.state_dir, "pgdir"), "w") as f:
                f.write(self.pgdir + "\n")
        except RuntimeError as e:
            b.say("PostgreSQL not available, SQLite only: %s" % e)
            self.notes.append("PostgreSQL could not be started (%s): SQLite only." % e)
            self.pg = None
        self.chdir = os.path.join(self.work, "ch")
        try:
            # inside the namespace: its loopback is the only one vigie serve there can reach
            self.sh("ip", "netns", "exec", NS, CH_SCRIPT, "start", self.chdir)
            with open(os.path.join(self.chdir, "url")) as f:
                self.ch = f.readline().strip()
            with open(os.path.join(b.state_dir, "chdir"), "w") as f:
                f.write(self.chdir + "\n")
        except (RuntimeError, OSError) as e:
            b.say("ClickHouse not available, without it: %s" % e)
            self.notes.append("ClickHouse could not be started (%s): without it." % e)
            self.ch = None
        self.templates()

    def backends(self):
        want = self.b.a.backends.split(",")
        have = ["sqlite"] + (["pg"] if self.pg else []) + (["ch"] if self.ch else [])
        return [x for x in have if x in want]

    def teardown(self):
        self.stop_serve()
        if self.pgdir and os.path.exists(self.pgdir):
            subprocess.run([PG_SCRIPT, "stop", self.pgdir], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        pgfile = os.path.join(self.b.state_dir, "pgdir")
        if os.path.exists(pgfile):
            os.unlink(pgfile)
        if self.chdir and os.path.exists(self.chdir):
            subprocess.run([CH_SCRIPT, "stop", self.chdir], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        chfile = os.path.join(self.b.state_dir, "chdir")
        if os.path.exists(chfile):
            os.unlink(chfile)
        if os.path.exists("/run/netns/" + NS):
            subprocess.run(["ip", "netns", "del", NS])

    @staticmethod
    def kill_leftovers(state_dir):
        """A crashed run's PostgreSQL (its directory was recorded) and namespace."""
        pgfile = os.path.join(state_dir, "pgdir")
        if os.path.exists(pgfile):
            with open(pgfile) as f:
                d = f.read().strip()
            if d and os.path.exists(d):
                subprocess.run([PG_SCRIPT, "stop", d], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            os.unlink(pgfile)
        chfile = os.path.join(state_dir, "chdir")
        if os.path.exists(chfile):
            with open(chfile) as f:
                d = f.read().strip()
            if d and os.path.exists(d):
                subprocess.run([CH_SCRIPT, "stop", d], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            os.unlink(chfile)
        if os.path.exists("/run/netns/" + NS):
            left = subprocess.run(["ip", "netns", "pids", NS], stdout=subprocess.PIPE,
                                  text=True).stdout.split()
            if left:
                raise RuntimeError("namespace %s still has processes %s: stop them, then "
                                   "`ip netns del %s`" % (NS, " ".join(left), NS))
            subprocess.run(["ip", "netns", "del", NS])

    def templates(self):
        """Real measurements from vigie probe (with the helper, so with a control) against the
        bench's servers: pages that load (accessible) and a closed port (down). A copy of each
        template relabels the verdict, for a mix of the five verdicts in the store."""
        b = self.b
        urls = os.path.join(self.work, "t-urls.txt")
        with open(urls, "w") as f:
            for i in range(16):
                f.write("https://t%03d.%s/\n" % (i, b.zone))
            for i in range(4):
                f.write("https://t%03d.%s:8444/\n" % (100 + i, b.zone))
        out = os.path.join(self.work, "t-probe.jsonl")
        b.nsx(b.ns_client, b.vigie, "probe", "-q", "-f", "jsonl", "-o", out, "-p", "20", "--lab",
              "--ca-file", b.ca, "--helper", b.helper_url, "--tcp-timeout", "3s",
              "-i", urls, check=False)
        by_verdict = {}
        sizes = []
        with open(out) as f:
            for line in f:
                m = json.loads(line)
                by_verdict.setdefault(m["test_keys"].get("x_verdict"), []).append(m)
                sizes.append(len(line))
        acc, down = by_verdict.get("accessible", []), by_verdict.get("down", [])
        if len(acc) < 15 or not down:
            raise RuntimeError("the template probe run gave %s" % {
                k: len(v) for k, v in by_verdict.items()})

        def template(m, verdict=None, cause=None):
            m = json.loads(json.dumps(m))
            host = re.match(r"https://([^/:]+)", m["input"]).group(1)
            if verdict is not None:
                m["test_keys"]["x_verdict"], m["test_keys"]["x_cause"] = verdict, cause
            for k in ("measurement_start_time", "test_start_time"):
                m[k] = "\x01T"
            m["id"], m["probe_cc"], m["probe_asn"] = "\x01I", "\x01C", "\x01A"
            s = json.dumps(m, separators=(",", ":"), ensure_ascii=False)
            return s.replace("\\u0001", "\x01").replace(host, "\x01H")
        # 20 templates, picked in turn: 13 accessible, 3 down, 2 blocked, 1 intercepted,
        # 1 unknown (the last three: real measurements with the verdict relabelled).
        tpl = [template(m) for m in acc[:13]] + [template(down[i % len(down)]) for i in range(3)]
        tpl += [template(down[0], "blocked", "tcp.reset"),
                template(acc[-1], "blocked", "http.blockpage"),
                template(acc[-2], "intercepted", "tls.untrusted_chain"),
                template(down[-1], "unknown", None)]
        self.tpl_file = os.path.join(self.work, "templates.jsonl")
        with open(self.tpl_file, "w") as f:
            for s in tpl:
                f.write(s + "\n")
        self.meas_bytes = statistics.median(sizes)
        self.tpl_mix = "13 accessible, 3 down, 2 blocked, 1 intercepted, 1 unknown per 20"

    # ---------------------------------------------------------------- databases and server

    def new_db(self, backend):
        self.dbn += 1
        if backend == "sqlite":
            path = os.path.join(self.work, "db%d.sqlite" % self.dbn)
            return "sqlite:" + path, path
        name = "vgb%d" % self.dbn
        if backend == "ch":
            self.ch_sql("CREATE DATABASE %s" % name)
            m = re.match(r"(clickhouse://[^/]+/)[^?]*(\?.*)?$", self.ch)
            return m.group(1) + name + (m.group(2) or ""), name
        self.psql("postgres", "CREATE DATABASE %s" % name)
        return "pg:%s dbname=%s" % (self.pg, name), name

    def ch_sql(self, sql, db=None):
        """One statement on the ClickHouse server, from inside the namespace (curl)."""
        m = re.match(r"clickhouse://([^:@/]*):([^@/]*)@([^/]+)/([^?]*)", self.ch)
        url = "http://%s/?database=%s" % (m.group(3), db or m.group(4))
        return self.sh("ip", "netns", "exec", NS, "curl", "-sS", "--fail-with-body", "-u",
                       "%s:%s" % (m.group(1), m.group(2)), "--data-binary", sql,
                       url).stdout.strip()

    def pg_args(self, db):
        kv = dict(x.split("=", 1) for x in self.pg.split())
        return ["-h", kv["host"], "-p", kv["port"], "-U", kv["user"], "-d", db]

    def psql(self, db, sql, *extra):
        return self.sh("psql", *self.pg_args(db), "-qAt", "-v", "ON_ERROR_STOP=1", *extra,
                       "-c", sql).stdout.strip()

    def drop_db(self, backend, db):
        if backend == "sqlite":
            for sfx in ("", "-wal", "-shm"):
                if os.path.exists(db + sfx):
                    os.unlink(db + sfx)
        elif backend == "ch":
            self.ch_sql("DROP DATABASE IF EXISTS %s" % db)
        else:
            self.psql("postgres", "DROP DATABASE IF EXISTS %s" % db)

    def count_rows(self, backend, db):
        if backend == "sqlite":
            return int(self.sh("sqlite3", db, "SELECT count(*) FROM measurements").stdout)
        if backend == "ch":
            return int(self.ch_sql("SELECT count() FROM measurements FINAL", db))
        return int(self.psql(db, "SELECT count(*) FROM measurements"))

    def db_pids(self, backend):
        """The database server's processes: PostgreSQL's, ClickHouse's, none for SQLite."""
        if backend == "pg":
            return self.pg_pids()
        if backend == "ch":
            try:
                with open(os.path.join(self.chdir, "shard1.pid")) as f:
                    return [int(x) for x in f.read().split()]
            except (OSError, ValueError):
                return []
        return []

    def pg_pids(self):
        """The throwaway cluster's processes (postmaster and its children)."""
        try:
            with open(os.path.join(self.pgcluster, "data", "postmaster.pid")) as f:
                pm = int(f.readline())
        except (OSError, ValueError):
            return []
        pids = [pm]
        try:
            with open("/proc/%d/task/%d/children" % (pm, pm)) as f:
                pids += [int(x) for x in f.read().split()]
        except OSError:
            pass
        return pids

    def start_serve(self, spec):
        log = os.path.join(self.work, "serve-%d.log" % self.dbn)
        self.serve_log = log
        lf = open(log, "wb")
        self.serve = subprocess.Popen(
            ["ip", "netns", "exec", NS, self.b.vigie, "serve", "--listen", LISTEN, "--db", spec],
            stdin=subprocess.DEVNULL, stdout=lf, stderr=lf)
        self.b.procs["serve"] = self.serve
        self.b.record_pids()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.serve.poll() is not None:
                raise RuntimeError("vigie serve exited at start-up (%s)" % log)
            with open(log, "rb") as f:
                if b"listening on" in f.read():
                    return
            time.sleep(0.05)
        raise RuntimeError("vigie serve not ready after 60 s (%s)" % log)

    def stop_serve(self):
        p, self.serve = self.serve, None
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.b.procs.pop("serve", None)
        self.b.record_pids()

    def serve_pid(self):
        """vigie serve itself (ip netns exec execs it, so the pid is the same)."""
        return self.serve.pid

    # ---------------------------------------------------------------- timing

    def timed(self, argv, backend, extra_pids=(), timeout=900):
        """Run a client to completion (killed after timeout s, and TimeoutExpired raised); CPU
        of it, of vigie serve, of PostgreSQL; machine busy."""
        busy0, total0 = machine_ticks()
        load0 = loadavg()
        spid = self.serve_pid() if self.serve else None
        s0 = cpu_ticks(spid) if spid else 0.0
        pgp = self.db_pids(backend)
        pg0 = {p: cpu_ticks(p) for p in pgp}
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise
        wall = time.monotonic() - t0
        busy1, total1 = machine_ticks()
        pgcpu = 0.0
        for pid in set(pgp) | set(self.db_pids(backend)):
            pgcpu += cpu_ticks(pid) - pg0.get(pid, 0.0)
        r = {
            "wall": wall,
            "rc": p.returncode,
            "out": out,
            "err": err,
            "serve_cpu": (cpu_ticks(spid) - s0) if spid else 0.0,
            "pg_cpu": pgcpu,
            "machine_busy": (busy1 - busy0) / max(1, total1 - total0) * os.cpu_count(),
            "load": (load0 + loadavg()) / 2,
        }
        return r

    # ---------------------------------------------------------------- 4. ingest

    def uploads(self):
        runs = [("submit", False, 64, 1), ("bulk", False, 4, 1000), ("bulk", True, 4, 1000)]
        for backend in self.backends():
            for route, gz, conns, batch in runs:
                self.one_upload(backend, route, gz, conns, batch)
            if backend == "ch":
                # no command-line tool loads vigie's rows there in one transaction
                self.drop_db(backend, self.last_bulk_db[1])
                continue
            self.baseline(backend)
            if backend == "sqlite":
                self.peer_run()

    def peer_input(self):
        """JSON Lines for the Python peer and for the raw size of a measurement: `upload gen`
        from the same templates, inputs, networks and span as the uploads and the query
        store. Its mean line is the raw JSON size the storage target compares with."""
        if getattr(self, "peer_file", None):
            return self.peer_file
        path = os.path.join(self.work, "peer.jsonl")
        with open(path, "wb") as f:
            subprocess.run([self.upload, "gen", self.tpl_file, "--count", str(self.peer_count),
                            "--inputs", "1000", "--networks", "20", "--start", str(Q_START),
                            "--span", str(Q_DAYS * DAY), "--tag", "0f0000ee"], stdout=f,
                           check=True)
        n = size = 0
        with open(path, "rb") as f:
            for line in f:
                n += 1
                size += len(line.rstrip(b"\n"))
        self.raw_mean = size / max(1, n)
        self.peer_file = path
        return path

    def peer_run(self):
        """The Python script of issue 18 (bench/ingest_peer.py) on peer_count measurements,
        into a fresh SQLite file: measurements/s over its wall time, CPU from wait4."""
        b = self.b
        path = self.peer_input()
        db = os.path.join(self.work, "peer.sqlite")
        out = os.path.join(self.work, "peer.out")
        busy0, total0 = machine_ticks()
        load0 = loadavg()
        with open(out, "wb") as f:
            t0 = time.monotonic()
            p = subprocess.Popen([sys.executable, "-B", PEER, path, db], stdin=subprocess.DEVNULL,
                                 stdout=f, stderr=subprocess.STDOUT)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.monotonic() - t0
        busy1, total1 = machine_ticks()
        with open(out, errors="replace") as f:
            text = f.read()
        rc = os.waitstatus_to_exitcode(status)
        stored = int(self.sh("sqlite3", db, "SELECT count(*) FROM measurements").stdout) \
            if rc == 0 else 0
        size = sum(os.path.getsize(db + x) for x in ("", "-wal") if os.path.exists(db + x))
        self.peer = dict(rc=rc, wall=wall, cpu=ru.ru_utime + ru.ru_stime, count=self.peer_count,
                         stored=stored, rate=stored / wall, size=size,
                         machine_busy=(busy1 - busy0) / max(1, total1 - total0) * os.cpu_count(),
                         load=(load0 + loadavg()) / 2)
        if rc != 0 or stored != self.peer_count:
            b.say("ERROR: the Python peer stored %d of %d (exit %d): %s" % (
                stored, self.peer_count, rc, text.strip()[-500:]))
        b.say("sqlite python peer  %8.0f measurements/s  (%d stored, CPU %.0f us/meas, machine "
              "%.0f%%)" % (self.peer["rate"], stored, 1e6 * self.peer["cpu"] / max(1, stored),
                          100 * self.peer["machine_busy"]))
        for sfx in ("", "-wal", "-shm"):
            if os.path.exists(db + sfx):
                os.unlink(db + sfx)

    def one_upload(self, backend, route, gz, conns, batch):
        b = self.b
        spec, db = self.new_db(backend)
        self.start_serve(spec)
        # gzip bodies are made before the clock starts: at most what 12,000/s would send (a
        # faster run ends early; its rate holds)
        cap = (12000 if gz else 200000) * self.duration
        tag = "%08x" % (0x10000000 + self.dbn)
        argv = ["ip", "netns", "exec", NS, self.upload, "post", self.tpl_file, "--addr", LISTEN,
                "--route", route, "--conns", str(conns), "--batch", str(batch),
                "--duration", str(self.duration), "--max", str(cap),
                "--start", str(Q_START), "--tag", tag] + (["--gzip"] if gz else [])
        prof = self.perf_start("%s-%s%s" % (backend, route, "-gzip" if gz else ""))
        r = self.timed(argv, backend)
        self.perf_stop(prof)
        self.stop_serve()
        kv = dict(x.split("=", 1) for x in r["out"].split())
        r["client_cpu"] = float(kv["cpu_s"])  # from the clock's start (not the gzip bodies)
        acked, elapsed = int(kv["acked"]), float(kv["elapsed"])
        stored = self.count_rows(backend, db)
        r.update(backend=backend, route=route + (" gzip" if gz else ""), conns=conns,
                 batch=batch, acked=acked, elapsed=elapsed, stored=stored,
                 rate=acked / elapsed if elapsed > 0 else 0.0, p50=float(kv["p50_ms"]),
                 p95=float(kv["p95_ms"]), errors=int(kv["errors"]))
        r["other"] = max(0.0, r["machine_busy"] - (r["serve_cpu"] + r["pg_cpu"] + r["client_cpu"])
                         / r["wall"])
        if r["errors"] or r["rc"] != 0:
            b.say("upload errors: %s" % r["err"].strip()[-500:])
        if stored < acked:
            b.say("ERROR: %d measurements acknowledged but %d stored" % (acked, stored))
        b.say("%-6s %-11s x%-3d %8.0f measurements/s  (%d acked, %d stored, p95 %.1f ms, serve "
              "CPU %.0f us/meas, machine %.0f%%, other %.0f%%, load %.1f)" % (
                  backend, r["route"], conns, r["rate"], acked, stored, r["p95"],
                  1e6 * r["serve_cpu"] / max(1, acked), 100 * r["machine_busy"],
                  100 * r["other"], r["load"]))
        del r["out"]
        self.ingest.append(r)
        if route == "bulk" and not gz:
            self.last_bulk_db = (backend, db)
        else:
            self.drop_db(backend, db)

    def perf_start(self, name):
        """With --profile: perf record of the running vigie serve, as serve-NAME."""
        if not (self.b.a.profile and shutil.which("perf")):
            return None
        pdata = os.path.join(self.work, "perf-%s.data" % name)
        p = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-o",
                              pdata, "-p", str(self.serve_pid())], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        return p, name, pdata

    def perf_stop(self, prof):
        if prof:
            prof[0].send_signal(signal.SIGINT)
            prof[0].wait(timeout=60)
            self.profile[prof[1]] = prof[2]

    def baseline(self, backend):
        """The same rows, with the database's command-line tool, into a fresh database with
        vigie's schema (made by `vigie serve --db SPEC check`, which creates and migrates)."""
        b = self.b
        _, src = self.last_bulk_db
        spec, dst = self.new_db(backend)
        b.sh(b.vigie, "serve", "--db", spec, "check")
        n = min(self.base_rows, self.count_rows(backend, src))
        data = os.path.join(self.work, "base-%s" % backend)
        results = []
        if backend == "sqlite":
            with open(data + ".sql", "w") as f:
                f.write("BEGIN;\n")
                f.flush()
                subprocess.run(["sqlite3", src, ".mode insert measurements",
                                "SELECT * FROM measurements LIMIT %d" % n], stdout=f, check=True)
                f.write("COMMIT;\n")
            r = self.timed(["sh", "-c", 'exec sqlite3 "$1" < "$2"', "sh", dst, data + ".sql"],
                           backend)
            results.append(("sqlite3 CLI: INSERT, one transaction", "INSERT", r))
        else:
            self.psql(src, "\\copy (SELECT * FROM measurements LIMIT %d) TO '%s'" % (n, data +
                                                                                      ".copy"))
            r = self.timed(["psql", *self.pg_args(dst), "-qAt", "-v", "ON_ERROR_STOP=1", "-c",
                            "\\copy measurements FROM '%s'" % (data + ".copy")], backend)
            results.append(("psql: COPY FROM (one statement)", "COPY", r))
            # INSERTs in one transaction: the same rows through a copy of the table
            self.psql(src, "CREATE TABLE base_rows AS SELECT * FROM measurements LIMIT %d" % n)
            with open(data + ".sql", "w") as f:
                subprocess.run(["pg_dump", *self.pg_args(src), "--data-only", "--inserts",
                                "--table=base_rows"], stdout=f, check=True)
            with open(data + ".sql") as f:
                text = f.read().replace("INSERT INTO public.base_rows ",
                                        "INSERT INTO public.measurements ")
            with open(data + ".sql", "w") as f:
                f.write(text)
            dst2 = self.new_db(backend)[1]
            b.sh(b.vigie, "serve", "--db", "pg:%s dbname=%s" % (self.pg, dst2), "check")
            r2 = self.timed(["psql", *self.pg_args(dst2), "-qAt", "-v", "ON_ERROR_STOP=1",
                             "--single-transaction", "-f", data + ".sql"], backend)
            results.append(("psql: INSERT, one transaction", "INSERT", r2))
            r2["dst"] = dst2
        for what, short, r in results:
            d = r.pop("dst", dst)
            got = self.count_rows(backend, d)
            if r["rc"] != 0 or got != n:
                raise RuntimeError("baseline %s: rc %d, %d of %d rows: %s" % (
                    what, r["rc"], got, n, (r["out"] + r["err"])[-500:]))
            r.update(backend=backend, what=what, short=short, rows=n, rate=n / r["wall"])
            del r["out"]
            b.say("%-6s baseline %-40s %8.0f rows/s (%d rows, machine %.0f%%, load %.1f)" % (
                backend, what, r["rate"], n, 100 * r["machine_busy"], r["load"]))
            self.base.append(r)
            self.drop_db(backend, d)
        for sfx in (".sql", ".copy"):
            if os.path.exists(data + sfx):
                os.unlink(data + sfx)
        self.drop_db(backend, src)

    # ---------------------------------------------------------------- 5. queries

    def query_paths(self):
        d0, w0 = day(Q_DAYS - 1), day(Q_DAYS - 7)
        end = day(Q_DAYS)
        dom = "d00042.bench.test"
        agg = "/api/v1/aggregation?"
        tg = "/api/v1/targets?"
        return [
            ("agg: totals, all time", agg),
            ("agg: x=measurement_day", agg + "axis_x=measurement_day"),
            ("agg: x=probe_cc", agg + "axis_x=probe_cc"),
            ("agg: x=probe_asn, y=measurement_day, 7 days",
             agg + "axis_x=probe_asn&axis_y=measurement_day&since=%s&until=%s" % (w0, end)),
            ("agg: x=measurement_day, y=x_verdict, probe_cc=IR",
             agg + "axis_x=measurement_day&axis_y=x_verdict&probe_cc=IR"),
            ("agg: x=domain (1000 groups), all time", agg + "axis_x=domain"),
            ("agg: x=domain, y=x_verdict, 7 days",
             agg + "axis_x=domain&axis_y=x_verdict&since=%s&until=%s" % (w0, end)),
            ("agg: x=domain, probe_cc=IT, 7 days",
             agg + "axis_x=domain&probe_cc=IT&since=%s&until=%s" % (w0, end)),
            ("agg: one domain, x=measurement_day", agg + "axis_x=measurement_day&domain=" + dom),
            ("agg: one domain, x=measurement_hour, 7 days",
             agg + "axis_x=measurement_hour&domain=%s&since=%s&until=%s" % (dom, w0, end)),
            ("agg: x=measurement_hour, last day, all domains",
             agg + "axis_x=measurement_hour&since=%s&until=%s" % (d0, end)),
            ("agg: x=measurement_hour, y=probe_cc, last day",
             agg + "axis_x=measurement_hour&axis_y=probe_cc&since=%s&until=%s" % (d0, end)),
            ("agg: x=domain, 12:00-18:00 of the last day (hourly table)",
             agg + "axis_x=domain&since=%sT12:00&until=%sT18:00" % (d0, d0)),
            ("agg: x=domain, format=CSV", agg + "axis_x=domain&format=CSV"),
            ("targets: first page (100)", tg),
            ("targets: limit=1000", tg + "limit=1000"),
            ("targets: x_verdict=blocked, limit=1000", tg + "x_verdict=blocked&limit=1000"),
            ("targets: one domain", tg + "domain=" + dom),
            ("targets: probe_cc=IR, probe_asn=AS64503", tg + "probe_cc=IR&probe_asn=AS64503"),
            ("targets: last seen in the last day, limit=1000",
             tg + "since=%s&until=%s&limit=1000" % (d0, end)),
            ("targets: window=24h, first page (100)", tg + "window=24h"),
            ("targets: window=24h, limit=1000", tg + "window=24h&limit=1000"),
            ("targets: window=30d, first page (100)", tg + "window=30d"),
            ("targets: window=30d, limit=1000", tg + "window=30d&limit=1000"),
            ("targets: window=30d, probe_cc=IR", tg + "window=30d&probe_cc=IR"),
        ]

    def fill(self, backend):
        """q_count measurements over 30 days, generated and piped into `vigie import`."""
        b = self.b
        spec, db = self.new_db(backend)
        # Two importers (each `vigie import` parses on one thread, then waits for its commit),
        # every other measurement each: the store is filled in about half the time. The database
        # is created first: two processes creating the same SQLite file at once can fail with
        # "database is locked" (switching a new file to WAL does not wait for the other).
        ns = ""
        if backend == "ch":
            ns = "ip netns exec %s " % NS  # the server is on the namespace's loopback
            # the schema first (`check` is not on ClickHouse yet): an import of nothing
            b.sh("ip", "netns", "exec", NS, b.vigie, "import", "-q", "--db", spec, "/dev/null")
        else:
            b.sh(b.vigie, "serve", "--db", spec, "check")
        cmds = []
        for part in range(2):
            gen = [self.upload, "gen", self.tpl_file, "--count", str(self.q_count), "--inputs",
                   "1000", "--networks", "20", "--start", str(Q_START), "--span",
                   str(Q_DAYS * DAY), "--tag", "0f000001", "--part", "%d/2" % part]
            # Each importer waits for the other's transactions and checkpoints: on a loaded
            # machine the default 5 s lock wait was once too short at 195,000 lines.
            cmds.append("(set -o pipefail; %s | %s%s import -q --db-timeout 120s --db '%s' -) &" % (
                " ".join(gen), ns, b.vigie, spec))
        cmd = " ".join(cmds) + " wait -n && wait -n"
        # 100 rows/s at least: a fill of 1,000,000 on ClickHouse took over the 15 min that every
        # other client gets, and the run stopped with nothing written
        r = self.timed(["bash", "-c", cmd], backend, timeout=max(900, self.q_count // 100))
        if r["rc"] != 0:
            raise RuntimeError("import failed: %s" % (r["out"] + r["err"])[-1000:])
        stored = self.count_rows(backend, db)
        r.update(rows=stored, rate=stored / r["wall"])
        del r["out"]
        b.say("%-6s import of %d measurements: %.0f/s (machine %.0f%%, load %.1f)" % (
            backend, stored, r["rate"], 100 * r["machine_busy"], r["load"]))
        r["size"], r["parts"] = self.storage(backend, db)
        return spec, db, r

    def storage(self, backend, db):
        """Bytes the store takes (SQLite: the file and its WAL; PostgreSQL: every table of the
        schema with its indexes and TOAST, pg_total_relation_size), and the largest parts as
        [(name, bytes)]."""
        if backend == "sqlite":
            size = sum(os.path.getsize(db + x) for x in ("", "-wal") if os.path.exists(db + x))
            out = self.sh("sqlite3", db, "SELECT name, sum(pgsize) FROM dbstat GROUP BY name "
                          "ORDER BY 2 DESC", check=False).stdout
        elif backend == "ch":
            # the active parts on disk (compressed columns, marks, primary keys)
            out = self.ch_sql("SELECT table, sum(bytes_on_disk) FROM system.parts WHERE database "
                              "= '%s' AND active GROUP BY table ORDER BY sum(bytes_on_disk) DESC"
                              % db).replace("\t", "|")
        else:
            out = self.psql(db, "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
                            "'public' AND c.relkind = 'r' ORDER BY 2 DESC")
        parts = []
        for line in out.splitlines():
            name, _, n = line.rpartition("|")
            if name and n.isdigit():
                parts.append((name, int(n)))
        if backend != "sqlite":
            size = sum(n for _, n in parts)
        return size, parts

    def queries_run(self):
        backends = self.backends()
        paths = os.path.join(self.work, "paths.tsv")
        qp = self.query_paths()
        with open(paths, "w") as f:
            for name, p in qp:
                f.write("%s\t%s\n" % (name.replace(" ", "_"), p))
        self.peer_input()   # the raw JSON size of the storage target
        for backend in backends:
            try:
                spec, db, imp = self.fill(backend)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                # the other backends' figures are still worth a report
                self.b.say("%-6s query part not measured: %s" % (backend, str(e)[-300:]))
                continue
            self.start_serve(spec)
            prof = self.perf_start("query-%s" % backend)
            r = self.timed(["ip", "netns", "exec", NS, self.upload, "get", paths, "--addr",
                            LISTEN, "--count", str(self.q_reps)], backend)
            self.perf_stop(prof)
            self.stop_serve()
            if r["rc"] != 0:
                self.b.say("query errors: %s" % (r["out"] + r["err"])[-800:])
            rows = []
            names = {n.replace(" ", "_"): n for n, _ in qp}
            for line in r["out"].splitlines():
                f = line.split()
                if len(f) == 6 and f[0] in names:
                    rows.append(dict(name=names[f[0]], p50=float(f[1]), p95=float(f[2]),
                                     max=float(f[3]), bytes=int(f[4]), status=int(f[5])))
            del r["out"]
            self.queries[backend] = dict(imp=imp, rows=rows, run=r)
            for q in rows:
                self.b.say("%-6s %-58s p50 %7.2f ms  p95 %7.2f ms  (%d B, %d)" % (
                    backend, q["name"], q["p50"], q["p95"], q["bytes"], q["status"]))
            self.drop_db(backend, db)

    # ---------------------------------------------------------------- all

    def run(self, parts):
        self.setup()
        if "ingest" in parts:
            self.uploads()
        if "query" in parts:
            self.queries_run()
        # read now: the perf data goes with the work directory
        self.prof_lines = self.read_profiles()

    def profile_lines(self):
        return getattr(self, "prof_lines", [])

    def read_profiles(self):
        out = []
        for name, data in sorted(self.profile.items()):
            for sort in ("dso", "symbol"):
                r = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio",
                                    "--sort", sort, "--percent-limit", "1", "-g", "none"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                lines = [x for x in r.stdout.splitlines() if x.strip() and not x.startswith("#")]
                out.append(("vigie serve, %s, by %s" % (name.replace("-", ", ", 1), sort),
                            lines, "serve-" + name))
        return out

    # ---------------------------------------------------------------- report

    def best_bulk(self, backend):
        """The bulk run (plain or gzip) with the most measurements/s, or None."""
        runs = [r for r in self.ingest if r["backend"] == backend and r["batch"] > 1]
        return max(runs, key=lambda r: r["rate"]) if runs else None

    def peer_report(self):
        """Section 4: the Python script of issue 18 next to vigie's best bulk run on SQLite."""
        p, v = self.peer, self.best_bulk("sqlite")
        if p is None:
            return []
        L = ["Peer: the issue's Python script (`bench/ingest_peer.py`: json.loads, probe_ip set, "
             "json.dumps, SHA-256, zlib, one INSERT per line into SQLite in WAL mode with "
             "synchronous=FULL and two indexes, a COMMIT every 1,000 lines) on %s "
             "measurements made by `upload gen` from the same templates (mean %.0f bytes of "
             "JSON), read from a file, one process. CPU from wait4." % (
                 format(p["count"], ","), self.raw_mean), "",
             "| ingest | measurements | measurements/s | CPU us/meas | bytes/meas stored "
             "| machine CPU % | load avg |", "|---|---:|---:|---:|---:|---:|---:|"]
        L.append("| Python script, SQLite | %d | **%.0f** | %.0f | %.0f | %.0f | %.1f |" % (
            p["stored"], p["rate"], 1e6 * p["cpu"] / max(1, p["stored"]),
            p["size"] / max(1, p["stored"]), 100 * p["machine_busy"], p["load"]))
        if v:
            vcpu = 1e6 * v["serve_cpu"] / max(1, v["acked"])
            pcpu = 1e6 * p["cpu"] / max(1, p["stored"])
            L.append("| vigie serve, SQLite, %s | %d | **%.0f** | %.0f | - | %.0f | %.1f |" % (
                v["route"], v["acked"], v["rate"], vcpu, 100 * v["machine_busy"], v["load"]))
            L.append("| **vigie/python** | | **%.2fx** | %.2fx | | | |" % (
                v["rate"] / max(p["rate"], 1e-9), vcpu / max(pcpu, 1e-9)))
        L.append("")
        return L

    def storage_report(self, name):
        """Section 5: bytes per stored measurement against its raw JSON."""
        if not self.queries or not self.raw_mean:
            return []
        L = ["Storage after the fill: SQLite = the database file and its WAL; PostgreSQL = "
             "pg_total_relation_size of every table (indexes and TOAST included); per "
             "measurement stored, against the mean raw JSON of the same measurements (%.0f "
             "bytes, `upload gen`). Largest parts: SQLite by table or index (dbstat), "
             "PostgreSQL by table with its indexes." % self.raw_mean, "",
             "| database | measurements | MiB stored | bytes/meas | vs raw JSON | largest parts, "
             "bytes/meas |", "|---|---:|---:|---:|---:|---|"]
        for backend, q in self.queries.items():
            imp = q["imp"]
            n = max(1, imp["rows"])
            L.append("| %s | %d | %.0f | %.0f | **%.2fx** | %s |" % (
                name[backend], imp["rows"], imp["size"] / 2**20, imp["size"] / n,
                imp["size"] / n / self.raw_mean,
                ", ".join("%s %.0f" % (k, v / n) for k, v in imp["parts"][:5])))
        L.append("")
        return L

    def target_rows(self):
        """The collector's rows of the targets table (bench/targets.py), by key."""
        rows = {}
        name = NAME
        goal = {"sqlite": 20000, "pg": 10000}

        def failed_runs(runs):
            # upload errors, and acknowledged measurements missing from the database
            return sum(r["errors"] + max(0, r["acked"] - r["stored"]) + (r["rc"] != 0)
                       for r in runs)

        def prof(r):
            return ["serve-%s-%s" % (r["backend"], r["route"].replace(" ", "-"))]
        for backend in ("sqlite", "pg"):
            runs = [r for r in self.ingest if r["backend"] == backend]
            if not runs:
                if self.ingest:
                    rows["ingest." + backend] = rows["ingest.cpu." + backend] = {
                        "missing": "PostgreSQL not available"}
                continue
            best = max(runs, key=lambda r: r["rate"])
            failed = failed_runs(runs)
            rows["ingest." + backend] = dict(
                measured="%.0f/s (%s)" % (best["rate"], best["route"]),
                ok=best["rate"] >= goal[backend], failed=failed, profile=prof(best),
                why="%.2fx the %s/s asked: %.1fx more needed" % (
                    best["rate"] / goal[backend], format(goal[backend], ","),
                    goal[backend] / max(best["rate"], 1e-9)))
            cpu = 1e6 * best["serve_cpu"] / max(1, best["acked"])
            db = (", PostgreSQL %.0f us" % (1e6 * best["pg_cpu"] / max(1, best["acked"]))
                  if backend == "pg" else "")
            rows["ingest.cpu." + backend] = dict(
                measured="%.0f us (%s%s)" % (cpu, best["route"], db), ok=cpu <= 50,
                failed=failed, profile=prof(best),
                why="%.1fx the 50 us asked" % (cpu / 50))
        v, p = self.best_bulk("sqlite"), self.peer
        if v and p:
            x = v["rate"] / max(p["rate"], 1e-9)
            vcpu = 1e6 * v["serve_cpu"] / max(1, v["acked"])
            pcpu = 1e6 * p["cpu"] / max(1, p["stored"])
            rows["ingest.python"] = dict(
                measured="%.2fx (%.0f vs %.0f/s, %s; CPU %.0f vs %.0f us/meas)" % (
                    x, v["rate"], p["rate"], v["route"], vcpu, pcpu),
                ok=x >= 5, profile=prof(v),
                failed=failed_runs([v]) + (p["rc"] != 0) + (p["stored"] != p["count"]),
                why="%.2fx the Python script: %.1fx more needed" % (x, 5 / x if x else 0))
        elif self.ingest:
            rows["ingest.python"] = {"missing": "no bulk run on SQLite or no Python run"}
        n_queries = len(self.query_paths())
        for backend in ("sqlite", "pg"):
            q = self.queries.get(backend)
            if q is None:
                if self.queries:
                    rows["query." + backend] = rows["storage." + backend] = {
                        "missing": "PostgreSQL not available"}
                continue
            if q["rows"]:
                worst = max(q["rows"], key=lambda r: r["p95"])
                over = sorted((r for r in q["rows"] if r["p95"] > 50), key=lambda r: -r["p95"])
                # queries answered other than 200, or missing from the client's output
                failed = (sum(r["status"] != 200 for r in q["rows"])
                          + max(0, n_queries - len(q["rows"])) + (q["run"]["rc"] != 0))
                rows["query." + backend] = dict(
                    measured="worst p95 %.1f ms (%s), %s measurements" % (
                        worst["p95"], worst["name"], format(q["imp"]["rows"], ",")),
                    ok=not over, failed=failed, profile=["serve-query-" + backend],
                    why="%d of %d queries over 50 ms, the slowest: %s" % (
                        len(over), len(q["rows"]), "; ".join(
                            "%s %.0f ms" % (r["name"], r["p95"]) for r in over[:4])))
            else:
                rows["query." + backend] = {"missing": "no query answered"}
            imp = q["imp"]
            if self.raw_mean and imp["rows"]:
                per = imp["size"] / imp["rows"]
                x = per / self.raw_mean
                rows["storage." + backend] = dict(
                    measured="%.2fx (%.0f of %.0f bytes per measurement)" % (
                        x, per, self.raw_mean),
                    ok=x <= 0.25, failed=0,
                    why="%.1fx the 0.25x asked; largest: %s" % (x / 0.25, ", ".join(
                        "%s %.0f B/meas" % (k, v / imp["rows"]) for k, v in imp["parts"][:3])))
        return rows

    def report(self):
        L = []

        def f(x, fmt):
            return "-" if x is None else fmt % x
        name = NAME
        if self.ingest:
            L.append("## 4. Collector ingest: measurements/s committed by `vigie serve`")
            L.append("")
            L.append(INGEST_INTRO % (self.duration, self.meas_bytes, self.tpl_mix))
            L.append("")
            L.append("| database | route | connections | measurements/s | vs CLI baseline "
                     "| request p50 / p95 ms | serve CPU us/meas | DB server CPU us/meas "
                     "| uploader CPU us/meas | machine CPU % | load avg | acked / stored |")
            L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for r in self.ingest:
                n = max(1, r["acked"])
                ratios = ", ".join("%.2fx %s" % (r["rate"] / x["rate"], x["short"])
                                   for x in self.base if x["backend"] == r["backend"])
                L.append("| %s | %s | %d | **%.0f** | %s | %.1f / %.1f | %.0f | %s | %.0f "
                         "| %.0f (%.0f) | %.1f | %d / %d |" % (
                             name[r["backend"]], r["route"], r["conns"], r["rate"],
                             ratios or "-", r["p50"], r["p95"],
                             1e6 * r["serve_cpu"] / n,
                             "%.0f" % (1e6 * r["pg_cpu"] / n) if r["backend"] != "sqlite" else "-",
                             1e6 * r["client_cpu"] / n, 100 * r["machine_busy"], 100 * r["other"],
                             r["load"], r["acked"], r["stored"]))
            L.append("")
            L.append(BASELINE_TEXT)
            L.append("")
            L.append("| database | baseline | rows | rows/s | machine CPU % | load avg |")
            L.append("|---|---|---:|---:|---:|---:|")
            for r in self.base:
                L.append("| %s | %s | %d | %.0f | %.0f | %.1f |" % (
                    name[r["backend"]], r["what"], r["rows"], r["rate"], 100 * r["machine_busy"],
                    r["load"]))
            L.append("")
            L.extend(self.peer_report())
            L.append("machine CPU % = CPU busy on both cores during the run (200% = both), in "
                     "brackets the part used by none of vigie serve, the database server and the "
                     "uploader (other work on the machine). The uploader, vigie serve and "
                     "PostgreSQL or ClickHouse share the 2 cores. ClickHouse (18.16, "
                     "scripts/ch-test-server) has no baseline: no command-line tool of it loads "
                     "vigie's rows in one transaction.")
            L.append("")
        if self.queries:
            L.append("## 5. Query latency over %s stored measurements" % format(self.q_count, ","))
            L.append("")
            for backend, q in self.queries.items():
                imp = q["imp"]
                L.append(QUERY_INTRO % (
                             name[backend], format(imp["rows"], ","), Q_DAYS, hour(0), hour(Q_DAYS),
                             imp["rate"], imp["size"] / 2**20, 100 * imp["machine_busy"],
                             imp["load"], self.q_reps, 100 * q["run"]["machine_busy"],
                             q["run"]["load"]))
                L.append("")
                L.append("| query (%s) | p50 ms | p95 ms | max ms | answer bytes | p95 <= 50 ms |"
                         % name[backend])
                L.append("|---|---:|---:|---:|---:|---|")
                for r in q["rows"]:
                    L.append("| %s | %.2f | %.2f | %.2f | %d | %s |" % (
                        r["name"], r["p50"], r["p95"], r["max"], r["bytes"],
                        "met" if r["p95"] <= 50 and r["status"] == 200 else
                        ("**missed**" if r["status"] == 200 else "**HTTP %d**" % r["status"])))
                L.append("")
            L.append("The last day is %s; the 7-day windows start on %s. The store ends at the "
                     "start of the run's hour, so that `window=24h|30d` (ending now) cover "
                     "measurements. Latency is measured by the client: request sent to the last "
                     "byte of the answer." % (day(Q_DAYS - 1), day(Q_DAYS - 7)))
            L.append("")
            L.extend(self.storage_report(name))
        if self.notes:
            L.extend(self.notes)
            L.append("")
        return L
