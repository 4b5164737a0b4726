#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_asn.py - `vigie probe --asn-db/--country-db` end to end: answers' asn and as_org_name,
probe_asn / probe_cc / probe_network_name learned from a helper's x_client_addr, and the probe's
own address kept out of everything it writes.

Python 3 standard library only; everything listens on 127.0.0.1. A fake test helper answers
every THRequest with a canned THResponse that says the request came from 203.0.113.77; a fake
DNS server answers the probe's UDP queries (--resolver) with 198.51.100.7 (nothing is expected
to answer there: --tcp-timeout is short). The databases are written with tests/tools/mkmmdb.py.

    python3 tests/integration/test_asn.py --vigie build/vigie --mkmmdb tests/tools/mkmmdb.py
"""
import http.server
import json
import os
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.request
import harness

VIGIE = None
MKMMDB = None
CLIENT_ADDR = "203.0.113.77"   # what the fake helper says it saw: must never be written
UDP_ANSWER = "198.51.100.7"
CTRL_ADDR = "198.51.100.99"
RUN_TIMEOUT = 60

DB_SPEC = """@database_type vigie-test-ASN-Country
203.0.113.0/24   asn=64511 org="Probe Net" cc=XA
198.51.100.0/24  asn=64500 org="Lab CDN" cc=XB
# a database may list private or loopback space: vigie still reports bogons as AS0
127.0.0.0/8      asn=64999 org="Loopback in a database" cc=XC
"""
COUNTRY_SPEC = """@database_type GeoLite2-Country
203.0.113.0/24   cc=XD
"""


class Helper(http.server.BaseHTTPRequestHandler):
    """A test helper that answers every POST with the same THResponse."""
    requests = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        Helper.requests.append(json.loads(self.rfile.read(n)))
        body = json.dumps({
            "tcp_connect": {}, "tls_handshake": {}, "quic_handshake": {},
            "http_request": {"body_length": 5, "discovered_h3_endpoint": "", "failure": None,
                             "title": "", "headers": {}, "status_code": 200},
            "http3_request": None,
            "dns": {"failure": None, "addrs": [CTRL_ADDR]},
            "ip_info": {},
            "x_client_addr": CLIENT_ADDR}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def dns_server():
    """UDP DNS on 127.0.0.1: A -> UDP_ANSWER, anything else NODATA. Returns (socket, port)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                q, peer = s.recvfrom(512)
            except OSError:
                return
            if len(q) < 12:
                continue
            qid = q[:2]
            end = 12
            while end < len(q) and q[end] != 0:
                end += q[end] + 1
            question = q[12:end + 5]
            qtype = struct.unpack(">H", q[end + 1:end + 3])[0] if end + 3 <= len(q) else 0
            answers = b""
            if qtype == 1:
                answers = (b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) +
                           socket.inet_aton(UDP_ANSWER))
            head = qid + b"\x81\x80" + struct.pack(">HHHH", 1, 1 if answers else 0, 0, 0)
            s.sendto(head + question + answers, peer)

    threading.Thread(target=serve, daemon=True).start()
    return s, s.getsockname()[1]


FX = {}


def setUpModule():
    FX["dir"] = tempfile.mkdtemp(prefix="vigie-asn-")
    for name, spec in (("asn", DB_SPEC), ("country", COUNTRY_SPEC)):
        path = os.path.join(FX["dir"], name + ".txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(spec)
        subprocess.run([sys.executable, MKMMDB, path, "-o",
                        os.path.join(FX["dir"], name + ".mmdb")], check=True)
    FX["helper"] = Server(("127.0.0.1", 0), Helper)
    FX["page"] = Server(("127.0.0.1", 0), Page)
    for srv in (FX["helper"], FX["page"]):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    FX["dns"], FX["dns_port"] = dns_server()


def tearDownModule():
    for name in ("helper", "page"):
        FX[name].shutdown()
        FX[name].server_close()
    FX["dns"].close()
    for f in os.listdir(FX["dir"]):
        os.unlink(os.path.join(FX["dir"], f))
    os.rmdir(FX["dir"])


def probe(*extra):
    url = "http://localhost:%d/" % FX["page"].server_address[1]
    args = [VIGIE, "probe", "-q", "-f", "jsonl", "--lab", "--tcp-timeout", "1s",
            "--http-timeout", "5s", "--dns-wait", "100ms",
            "--resolver", "127.0.0.1:%d" % FX["dns_port"],
            "--helper", "http://127.0.0.1:%d/" % FX["helper"].server_address[1]]
    p = subprocess.run(args + list(extra) + [url], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=RUN_TIMEOUT)
    return p.returncode, p.stdout.decode(), p.stderr.decode("utf-8", "replace")


def answers(m, engine):
    return [a for q in m["test_keys"]["queries"] if q["engine"] == engine
            for a in q["answers"] if a["answer_type"] in ("A", "AAAA")]


class TestAsn(unittest.TestCase):
    maxDiff = 4000

    def run_one(self, *extra):
        rc, out, err = probe(*extra)
        self.assertIn(rc, (0, 1), err)
        lines = [json.loads(line) for line in out.splitlines() if line]
        self.assertEqual(len(lines), 1, out)
        harness.check_ooni(out)
        # the probe's own address is looked up, never written: not in the measurement (the
        # control's copy included), not on stderr
        self.assertNotIn(CLIENT_ADDR, out)
        self.assertNotIn(CLIENT_ADDR, err)
        m = lines[0]
        self.assertEqual(m["probe_ip"], "127.0.0.1")
        self.assertIsNotNone(m["test_keys"]["control"], m["test_keys"]["control_failure"])
        self.assertNotIn("x_client_addr", m["test_keys"]["control"])
        return m

    def test_without_database(self):
        m = self.run_one()
        self.assertEqual((m["probe_asn"], m["probe_cc"]), ("AS0", "ZZ"))
        # df-002-dnst / df-000-base: an int and strings, never null (OONI's 0 and "")
        self.assertEqual(m["probe_network_name"], "")
        for a in answers(m, "getaddrinfo") + answers(m, "udp"):
            self.assertEqual((a["asn"], a["as_org_name"]), (0, ""), a)

    def test_asn_database(self):
        m = self.run_one("--asn-db", os.path.join(FX["dir"], "asn.mmdb"))
        self.assertEqual((m["probe_asn"], m["probe_cc"], m["probe_network_name"]),
                         ("AS64511", "XA", "Probe Net"))
        sys_answers = answers(m, "getaddrinfo")
        self.assertTrue(sys_answers, m["test_keys"]["queries"])
        for a in sys_answers:
            # loopback is a bogon: AS0 whatever the database says
            self.assertEqual((a["asn"], a["as_org_name"]), (0, ""), a)
        udp = answers(m, "udp")
        self.assertEqual([(a["ipv4"], a["asn"], a["as_org_name"]) for a in udp],
                         [(UDP_ANSWER, 64500, "Lab CDN")])
        # the system resolver's loopback answer shares no network with the control's
        self.assertEqual(m["test_keys"]["dns_consistency"], "inconsistent")

    def test_classic_tags_beside_the_udp_resolver(self):
        """ts-017: with --resolver (extension E003) beside the system resolver, the classic
        algorithm's data carry "classic" (the system resolver's lookup and the endpoints of its
        addresses) and the extension's do not (the UDP lookups, the endpoint of the address
        only the UDP resolver gave)."""
        tk = self.run_one()["test_keys"]
        for q in tk["queries"]:
            self.assertEqual("classic" in q["tags"], q["engine"] == "getaddrinfo", q)
        eps = {(c["ip"], "classic" in c["tags"]) for c in tk["tcp_connect"]}
        self.assertIn((UDP_ANSWER, False), eps, tk["tcp_connect"])
        self.assertIn(("127.0.0.1", True), eps, tk["tcp_connect"])
        for key, addr in (("network_events", "address"), ("requests", "address")):
            for e in tk[key]:
                if e[addr].startswith(UDP_ANSWER + ":"):
                    self.assertNotIn("classic", e["tags"], e)

    def test_country_database_alone(self):
        m = self.run_one("--country-db", os.path.join(FX["dir"], "country.mmdb"))
        self.assertEqual((m["probe_asn"], m["probe_cc"]), ("AS0", "XD"))
        self.assertEqual(m["probe_network_name"], "")

    def test_both_databases(self):
        m = self.run_one("--asn-db", os.path.join(FX["dir"], "asn.mmdb"),
                         "--country-db", os.path.join(FX["dir"], "country.mmdb"))
        self.assertEqual((m["probe_asn"], m["probe_cc"]), ("AS64511", "XD"))

    def test_bad_database(self):
        rc, out, err = probe("--asn-db", os.path.join(FX["dir"], "missing.mmdb"))
        self.assertEqual(rc, 2)
        self.assertIn("cannot read ASN database", err)
        self.assertEqual(out, "")
        rc, out, err = probe("--country-db", os.path.join(FX["dir"], "asn.txt"))
        self.assertEqual(rc, 2)
        self.assertIn("is not a MaxMind DB file", err)

    def test_upload_opens_the_measurements_report(self):
        """OONI's collector (and vigie serve) refuses a measurement whose probe_asn, probe_cc or
        test_name differ from its report's: the probe opens its report with the measurement's
        own (here AS64511/XA from the helper), not AS0/ZZ, and the collector stores it."""
        db = os.path.join(FX["dir"], "collector.db")
        spool = os.path.join(FX["dir"], "spool")
        serve = harness.Server(VIGIE, "serve", "--db", db)
        try:
            rc, out, err = probe("--asn-db", os.path.join(FX["dir"], "asn.mmdb"),
                                 "--collector", serve.url, "--spool", spool)
            self.assertIn(rc, (0, 1), err)
            m = json.loads(out)
            self.assertEqual((m["probe_asn"], m["probe_cc"]), ("AS64511", "XA"))
            self.assertNotIn("refused", err)
            with urllib.request.urlopen(serve.url + "api/v1/measurements?probe_asn=AS64511",
                                        timeout=RUN_TIMEOUT) as resp:
                rows = json.loads(resp.read())["results"]
            self.assertEqual([r["measurement_uid"].split("_")[1:3] for r in rows],
                             [["XA", "webconnectivity"]], rows)
            self.assertRegex(rows[0]["report_id"],
                             r"^\d{8}T\d{6}Z_webconnectivity_XA_64511_n1_[A-Za-z0-9]{43}$")
        finally:
            serve.stop()
            for d in (os.path.join(spool, "rejected"), spool):
                if os.path.isdir(d):
                    for f in os.listdir(d):
                        if os.path.isfile(os.path.join(d, f)):
                            os.unlink(os.path.join(d, f))
                    os.rmdir(d)
            for f in os.listdir(FX["dir"]):
                if f.startswith("collector.db"):
                    os.unlink(os.path.join(FX["dir"], f))


def main():
    global VIGIE, MKMMDB
    VIGIE, opts, argv = harness.parse(("--mkmmdb",), " [--mkmmdb PATH]")
    MKMMDB = opts.get("--mkmmdb") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "tools", "mkmmdb.py")
    return harness.run(argv)


if __name__ == "__main__":
    sys.exit(main())
