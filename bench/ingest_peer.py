#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/ingest_peer.py - the collector's peer of issue 18 (bench/README.md, section 4): what a
40-line Python script does with the measurements `vigie serve` ingests. Standard library only.

    python3 bench/ingest_peer.py FILE.jsonl DB.sqlite

Every line: json.loads, probe_ip set to 127.0.0.1, json.dumps, SHA-256, zlib.compress, one
INSERT; a COMMIT every 1,000 lines. SQLite in WAL mode with synchronous=FULL, two indexes.
Prints the number of measurements stored.
"""
import hashlib
import json
import sqlite3
import sys
import zlib

SCHEMA = """
CREATE TABLE IF NOT EXISTS measurements (
    id INTEGER PRIMARY KEY, uid TEXT NOT NULL, sha256 BLOB NOT NULL, input TEXT,
    probe_cc TEXT, probe_asn TEXT, start_time TEXT, verdict TEXT, raw BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS m_input ON measurements (input, start_time);
CREATE INDEX IF NOT EXISTS m_network ON measurements (probe_cc, probe_asn, start_time);
"""
BATCH = 1000


def main():
    db = sqlite3.connect(sys.argv[2], isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(SCHEMA)
    n = 0
    db.execute("BEGIN")
    with open(sys.argv[1], "rb") as f:
        for line in f:
            m = json.loads(line)
            m["probe_ip"] = "127.0.0.1"
            raw = json.dumps(m, separators=(",", ":"), ensure_ascii=False).encode()
            tk = m.get("test_keys") or {}
            db.execute("INSERT INTO measurements (uid, sha256, input, probe_cc, probe_asn, "
                       "start_time, verdict, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (m["id"], hashlib.sha256(raw).digest(), m.get("input"),
                        m.get("probe_cc"), m.get("probe_asn"),
                        m.get("measurement_start_time"), tk.get("x_verdict"),
                        zlib.compress(raw)))
            n += 1
            if n % BATCH == 0:
                db.execute("COMMIT")
                db.execute("BEGIN")
    db.execute("COMMIT")
    db.close()
    print(n)


if __name__ == "__main__":
    main()
