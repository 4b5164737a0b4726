# SPDX-License-Identifier: MIT
"""bench/targets.py - the targets table of `make bench` (issue 18; bench/README.md, "Targets"):
one row per target, judged on the figures of this run, vigie against each peer measured in the
same run. bench/run prints it at the end and writes it at the top of the results file.

A row is one of:
  held        the figure meets the target and every run behind it succeeded;
  NOT held    the figure misses the target, or a run behind it failed (a URL, an upload, a
              query): the reason column says which, by how much, and with --profile where
              the perf report of the process that limits it is;
  not run     its part was not run (--parts);
  not measured  its part ran but could not measure it (the reason says why).

Each part gives its rows as dicts: key (one of TARGETS), measured (text), ok (bool), failed
(count of failed runs, URLs, uploads or queries behind the figure), why (what falls short, for a
row not held), profile (names of perf reports that explain it), or missing (why not measured).
"""

# key, part (as --parts names it), target, goal
TARGETS = (
    ("probe.cpu.50", "probe", "probe CPU per URL vs the best peer, parallel 50", "<= 0.5x"),
    ("probe.cpu.200", "probe", "probe CPU per URL vs the best peer, parallel 200", "<= 0.5x"),
    ("probe.rate.50", "probe", "probe URLs/s vs the best peer, parallel 50", ">= 1.5x"),
    ("probe.rate.200", "probe", "probe URLs/s vs the best peer, parallel 200", ">= 1.5x"),
    ("probe.rss.200", "probe", "probe RSS per measurement in flight, parallel 200",
     "<= 64 KiB"),
    ("probe.rss.1000", "probe", "probe RSS per measurement in flight, parallel 1,000",
     "<= 64 KiB"),
    ("helper", "probe", "probe --helper URLs/s vs the probe alone", ">= 0.6x"),
    ("ingest.python", "ingest", "collector bulk ingest vs the Python script (SQLite)", ">= 5x"),
    ("ingest.sqlite", "ingest", "collector ingest into SQLite (best route)", ">= 20,000/s"),
    ("ingest.pg", "ingest", "collector ingest into PostgreSQL (best route)", ">= 10,000/s"),
    ("ingest.cpu.sqlite", "ingest", "vigie serve CPU per measurement, SQLite (best route)",
     "<= 50 us"),
    ("ingest.cpu.pg", "ingest", "vigie serve CPU per measurement, PostgreSQL (best route)",
     "<= 50 us"),
    ("query.sqlite", "query", "every query's p95 over the query store, SQLite", "<= 50 ms"),
    ("query.pg", "query", "every query's p95 over the query store, PostgreSQL", "<= 50 ms"),
    ("storage.sqlite", "query", "bytes per stored measurement vs its raw JSON, SQLite",
     "<= 0.25x"),
    ("storage.pg", "query", "bytes per stored measurement vs its raw JSON, PostgreSQL",
     "<= 0.25x"),
    ("analyze", "analyze", "vigie analyze (jsonl) vs Python json.loads, one core, CPU time",
     ">= 1x"),
)

HEADER = ["| target | goal | measured | status | reason (not held) |",
          "|---|---|---|---|---|"]


def part_ran(parts, part):
    """parts: the --parts list of bench/run; collector means ingest and query."""
    return part in parts or (part in ("ingest", "query") and "collector" in parts)


def status(row):
    if row.get("failed"):
        return "**NOT held**"
    return "held" if row["ok"] else "**NOT held**"


def reason(row, profiles):
    """For a row not held: what falls short, the failures, and the perf reports."""
    out = []
    if row.get("failed"):
        n = row["failed"]
        out.append("%d failure%s in the runs behind it" % (n, "" if n == 1 else "s"))
    if not row["ok"] and row.get("why"):
        out.append(row["why"])
    paths = [profiles[p] for p in row.get("profile", ()) if p in profiles]
    if paths:
        out.append("profile: " + ", ".join("`%s`" % p for p in paths))
    elif row.get("profile"):
        out.append("no profile (run with --profile)")
    return "; ".join(out)


def table(parts, rows, profiles):
    """The Markdown lines of the table. rows: {key: row dict} from every part that ran;
    profiles: {profile name: path of its perf report}."""
    L = list(HEADER)
    for key, part, target, goal in TARGETS:
        row = rows.get(key)
        if not part_ran(parts, part):
            L.append("| %s | %s | - | not run | `--parts` without %s |" % (target, goal, part))
        elif row is None or row.get("missing"):
            L.append("| %s | %s | - | not measured | %s |" % (
                target, goal, (row or {}).get("missing") or "no figure in this run"))
        else:
            st = status(row)
            L.append("| %s | %s | %s | %s | %s |" % (
                target, goal, row["measured"], st,
                "" if st == "held" else reason(row, profiles)))
    return L


def summary(parts, rows):
    """One line: how many targets were held, not held, not run."""
    held = bad = skipped = 0
    for key, part, _target, _goal in TARGETS:
        row = rows.get(key)
        if not part_ran(parts, part) or row is None or row.get("missing"):
            skipped += 1
        elif status(row) == "held":
            held += 1
        else:
            bad += 1
    return "%d of %d targets held, %d not held, %d not run or not measured." % (
        held, len(TARGETS), bad, skipped)
