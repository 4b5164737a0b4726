# SPDX-License-Identifier: MIT
"""bench/analyze.py - section 6 of `make bench` (bench/README.md), run by bench/run after the
collector parts: `vigie analyze` on real OONI web_connectivity measurements (JSON Lines,
about 200 MB) against Python's json.loads and jq on the same file, every tool pinned to one
core (taskset -c 0).

  - vigie analyze -f jsonl FILE -o /dev/null   parse, verdict, the line written back with it
  - vigie analyze -f csv FILE -o /dev/null     parse, verdict, one CSV row
  - json_parse FILE                            vigie's JSON reader alone (bench/json_parse.c)
  - python3 bench/json_loads.py FILE           json.loads on every line, nothing else
  - jq -c . FILE                               parse and write back compactly

The measurements are the OONI fixtures of tests/data/ooni/ (web_connectivity only), compacted
to one line each and repeated to the size asked; BENCH_OONI_PROBE_CLI=DIR takes them instead
from a checkout (or git directory) of ooni/probe-cli, and BENCH_ANALYZE_FILE=FILE measures a
JSON Lines file of your own as it is.
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CORE = "0"                     # every tool runs on this core alone (taskset -c)
RUN_LIMIT_S = 600
PROBE_CLI_DIR = "internal/minipipeline/testdata/webconnectivity/generated"

# A JSON string, or one byte of anything else: compacting keeps strings byte for byte.
TOKEN_RE = re.compile(rb'"(?:[^"\\]|\\.)*"|[ \t\r\n]+|[^" \t\r\n]+', re.S)

TOOLS = (
    # key, label, needs the file's measurements counted on stderr ("N measurements")
    ("jsonl", "`vigie analyze -f jsonl FILE -o /dev/null`"),
    ("csv", "`vigie analyze -f csv FILE -o /dev/null`"),
    ("parse", "vigie's JSON reader alone (`bench/json_parse.c`)"),
    ("python", "Python `json.loads` on every line (`bench/json_loads.py`)"),
    ("jq", "`jq -c . FILE > /dev/null`"),
)


def compact(text):
    """text (bytes, one JSON document) on one line, its strings untouched."""
    return b"".join(t for t in TOKEN_RE.findall(text) if t[:1] not in b" \t\r\n")


class Analyze:
    def __init__(self, b):
        self.b = b
        self.say, self.sh = b.say, b.sh
        self.mb = int(os.environ.get("BENCH_ANALYZE_MB", "50" if b.quick else "200"))
        self.reps = b.reps
        self.results = {}   # tool key -> list of run dicts
        self.work = None
        self.file = None
        self.lines = 0
        self.source = ""

    # ------------------------------------------------------------------ set-up

    def preflight(self):
        """Before any other part: the tools exist and `vigie analyze` works, so that a missing
        command fails the run at once, not after the other sections."""
        if shutil.which("jq") is None:
            self.b.apt_install("jq")
        for t in ("jq", "taskset", "cc", "python3"):
            if shutil.which(t) is None:
                self.b.die("missing tool for the analysis part: %s (run scripts/install-deps)" % t)
        sample = b'{"test_name":"web_connectivity","input":"https://example.org/",' \
                 b'"test_keys":{"queries":[],"tcp_connect":[],"requests":[]}}\n'
        r = subprocess.run([self.b.vigie, "analyze", "-f", "jsonl", "-"], input=sample,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if r.returncode not in (0, 1) or b'"test_name"' not in r.stdout:
            self.b.die("`vigie analyze` is missing or failed on one measurement (exit %d): %s" % (
                r.returncode, ((r.stderr or r.stdout).decode("utf-8", "replace").strip()
                               .splitlines() or [""])[0][:300]))

    def fixture_lines(self):
        """Real OONI web_connectivity measurements, one compact line each."""
        out = []
        probe_cli = os.environ.get("BENCH_OONI_PROBE_CLI")
        if probe_cli:
            names = self.sh("git", "-C", probe_cli, "ls-tree", "-r", "--name-only", "HEAD",
                            PROBE_CLI_DIR).stdout.split()
            for name in sorted(n for n in names if n.endswith("/measurement.json")):
                r = subprocess.run(["git", "-C", probe_cli, "show", "HEAD:" + name],
                                   stdout=subprocess.PIPE, check=True)
                out.append(compact(r.stdout))
            self.source = "ooni/probe-cli `%s/*/measurement.json` (%s)" % (
                PROBE_CLI_DIR, probe_cli)
        else:
            d = os.path.join(REPO, "tests", "data", "ooni")
            for root, _dirs, files in os.walk(d):
                for name in sorted(files):
                    if not name.endswith((".jsonl", ".json")):
                        continue
                    with open(os.path.join(root, name), "rb") as f:
                        text = f.read()
                    docs = text.split(b"\n") if name.endswith(".jsonl") else [text]
                    out.extend(compact(x) for x in docs if x.strip())
            self.source = "the OONI fixtures of `tests/data/ooni/` (tests/data/ooni/SOURCES.md)"
        lines = []
        for line in out:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            if isinstance(m, dict) and m.get("test_name") == "web_connectivity":
                lines.append(line)
        if not lines:
            self.b.die("no OONI web_connectivity measurement for the analysis part: none in "
                       "tests/data/ooni/ (set BENCH_OONI_PROBE_CLI=DIR, a probe-cli checkout, or "
                       "BENCH_ANALYZE_FILE=FILE)")
        return lines

    def make_input(self):
        own = os.environ.get("BENCH_ANALYZE_FILE")
        if own:
            self.file = os.path.abspath(own)
            self.source = "`%s` (BENCH_ANALYZE_FILE)" % own
            with open(self.file, "rb") as f:
                self.lines = sum(1 for _ in f)
            self.distinct = None
            return
        lines = self.fixture_lines()
        self.distinct = len(lines)
        self.file = os.path.join(self.work, "ooni.jsonl")
        want, size = self.mb * 1000 * 1000, 0
        with open(self.file, "wb") as f:
            while size < want:
                for line in lines:
                    f.write(line + b"\n")
                    size += len(line) + 1
                    self.lines += 1
                    if size >= want:
                        break

    def build_parser(self):
        self.parser = os.path.join(self.work, "json_parse")
        self.sh("cc", "-O2", "-I" + os.path.join(REPO, "lib"), "-o", self.parser,
                os.path.join(HERE, "json_parse.c"), os.path.join(REPO, "lib", "proto", "json.c"),
                os.path.join(REPO, "lib", "proto", "json_direct.c"), "-lyajl", "-lm")

    # ------------------------------------------------------------------ measuring

    def argv(self, key):
        v = self.b.vigie
        return {
            "jsonl": [v, "analyze", "-f", "jsonl", "-o", "/dev/null", self.file],
            "csv": [v, "analyze", "-f", "csv", "-o", "/dev/null", self.file],
            "parse": [self.parser, self.file],
            "python": ["python3", os.path.join(HERE, "json_loads.py"), self.file],
            "jq": ["jq", "-c", ".", self.file],
        }[key]

    def timed(self, key):
        tfile = os.path.join(self.work, "time.txt")
        argv = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tfile,
                "taskset", "-c", CORE] + self.argv(key)
        t0 = time.monotonic()
        # jq's output (the whole file again) goes to /dev/null; the others print a count
        r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL if key == "jq" else subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=RUN_LIMIT_S)
        wall = time.monotonic() - t0
        try:
            with open(tfile) as f:
                _e, user, sys_, rss = f.read().split()[-4:]
        except (OSError, ValueError):
            user = sys_ = rss = 0
        out, err = (r.stdout or b"").decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
        # every line must have gone through: vigie's summary line, the peers' own counts
        if key in ("jsonl", "csv"):
            m = re.search(r"(\d+) measurements", err)
            ok = r.returncode in (0, 1) and m is not None and int(m.group(1)) == self.lines
        elif key == "parse":
            ok = r.returncode == 0 and out.startswith("%d lines" % self.lines)
        elif key == "python":
            ok = r.returncode == 0 and out.strip() == str(self.lines)
        else:
            ok = r.returncode == 0
        if not ok:
            self.say("analyze: %s failed (exit %d): %s" % (key, r.returncode,
                                                           err.strip()[-300:]))
        return {"wall": wall, "cpu": float(user) + float(sys_), "rss_kib": int(rss), "ok": ok}

    def run(self):
        self.work = os.path.join(self.b.work, "analyze")
        os.makedirs(self.work, exist_ok=True)
        self.build_parser()
        self.make_input()
        size = os.path.getsize(self.file)
        self.bytes = size
        self.say("analyze: %d measurements, %.0f MB (%s)" % (self.lines, size / 1e6, self.source))
        with open(self.file, "rb") as f:   # into the page cache before the first timed run
            while f.read(1 << 20):
                pass
        for rep in range(self.reps):
            for key, _label in TOOLS:
                r = self.timed(key)
                self.results.setdefault(key, []).append(r)
                self.say("analyze %d/%d: %-6s %.2f s wall, %.2f s CPU, %d KiB%s" % (
                    rep + 1, self.reps, key, r["wall"], r["cpu"], r["rss_kib"],
                    "" if r["ok"] else " FAILED"))
        if self.b.a.profile:
            self.prof = self.profile_run()

    # ------------------------------------------------------------------ report

    def row(self, key):
        runs = self.results.get(key) or []
        if not runs:
            return None
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        return {"wall_mbs": self.bytes / 1e6 / wall, "cpu_mbs": self.bytes / 1e6 / max(cpu, 1e-9),
                "rss": max(r["rss_kib"] for r in runs) / 1024,
                "ok": all(r["ok"] for r in runs), "fail": sum(not r["ok"] for r in runs)}

    def report(self):
        L = ["## 6. vigie analyze vs Python json.loads and jq, same OONI file, one core", ""]
        L.append("File: %d OONI `web_connectivity` measurements, one per line, %.0f MB, from %s%s. "
                 "Every tool runs pinned to one core (`taskset -c %s`); median of %d run%s, "
                 "interleaved. MB/s = file bytes / time: wall time of the process, and its CPU "
                 "time (user + sys, what the machine's other work does not change much); peak "
                 "RSS by GNU time." % (
                     self.lines, self.bytes / 1e6, self.source,
                     "" if self.distinct is None else
                     " (%d distinct, repeated)" % self.distinct,
                     CORE, self.reps, "s" if self.reps > 1 else ""))
        L.append("")
        L.append("| tool | MB/s (wall) | MB/s (CPU) | peak RSS MiB | ok |")
        L.append("|---|---:|---:|---:|---|")
        rows = {}
        for key, label in TOOLS:
            r = rows[key] = self.row(key)
            if r is None:
                continue
            L.append("| %s | %.0f | %.0f | %.1f | %s |" % (
                label, r["wall_mbs"], r["cpu_mbs"], r["rss"],
                "yes" if r["ok"] else "**no** (%d failed)" % r["fail"]))
        for key in ("jsonl", "csv"):
            for peer in ("python", "jq"):
                v, p = rows.get(key), rows.get(peer)
                if v and p:
                    L.append("| **vigie %s / %s** | **%.2f** | **%.2f** | %.2f | |" % (
                        key, peer, v["wall_mbs"] / p["wall_mbs"], v["cpu_mbs"] / p["cpu_mbs"],
                        v["rss"] / max(p["rss"], 1e-9)))
        L.append("")
        L.append("vigie analyze parses each line (yajl into a reused tree), decides its verdict "
                 "with the probe's rules and writes it: the line's own bytes with x_verdict, "
                 "x_cause, x_evidence, x_endpoints and x_analyzer spliced in (jsonl), or a CSV "
                 "row; Python only parses; jq parses and writes each value back compactly.")
        L.append("")
        self.rows = rows
        return L

    def target_rows(self):
        """The analysis row of the targets table (bench/targets.py)."""
        rows = getattr(self, "rows", None) or {}
        v, p, j = rows.get("jsonl"), rows.get("python"), rows.get("jq")
        if not (v and p):
            return {"analyze": {"missing": "no run of vigie analyze or of Python"}}
        x = v["cpu_mbs"] / p["cpu_mbs"]
        return {"analyze": dict(
            measured="%.2fx (%.0f vs %.0f MB/s of CPU time; wall %.0f vs %.0f)" % (
                x, v["cpu_mbs"], p["cpu_mbs"], v["wall_mbs"], p["wall_mbs"]),
            ok=x >= 1, failed=v["fail"] + p["fail"] + (j["fail"] if j else 0),
            profile=["analyze-jsonl"],
            why="%.2fx Python's json.loads in MB/s of CPU time" % x)}

    def profile_lines(self):
        return getattr(self, "prof", [])

    def profile_run(self):
        """With --profile: perf of one more `vigie analyze -f jsonl` run, pinned as the others
        ([(title, lines, name)] as bench/run's profiles), read before the work directory goes."""
        if shutil.which("perf") is None or self.file is None:
            return []
        data = os.path.join(self.work, "perf-analyze.data")
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-o", data,
                        "--", "taskset", "-c", CORE] + self.argv("jsonl"),
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=RUN_LIMIT_S)
        out = []
        for sort in ("dso", "symbol"):
            r = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "--sort",
                                sort, "--percent-limit", "0.7", "-g", "none"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            lines = [x for x in r.stdout.splitlines() if x.strip() and not x.startswith("#")]
            out.append(("vigie analyze -f jsonl, by %s" % sort, lines, "analyze-jsonl"))
        return out
