#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_ooni_validate.py - the validator of OONI's data formats (ooni_validate.py) against OONI's
own measurements, which must pass, and against broken copies of one, each of which must fail on
the rule it breaks (a rule that cannot fail checks nothing).

    python3 tests/tools/test_ooni_validate.py [unittest options]

Fixture: tests/data/ooni-validate/ooni-measurements.jsonl (its SOURCES names where each line
comes from); the last line is ts-017's example output, which passes even the strict checks.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ooni_validate  # noqa: E402

TOOL = os.path.join(HERE, "ooni_validate.py")
FIXTURE = os.path.join(HERE, "..", "data", "ooni-validate", "ooni-measurements.jsonl")


def load():
    with open(FIXTURE, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def q_of(m, engine):
    return next(q for q in m["test_keys"]["queries"] if q["engine"] == engine)


def setp(m, path, value):
    """m with the value at path (keys and list indices separated by "/") replaced; value DEL
    deletes the key."""
    cur = m
    keys = [int(k) if k.isdigit() else k for k in path.split("/")]
    for k in keys[:-1]:
        cur = cur[k]
    if value is DEL:
        del cur[keys[-1]]
    else:
        cur[keys[-1]] = value


DEL = object()
EP = "93.184.216.34:443"

# (what is broken, how, the JSON path a problem must name). Paths use "/" for setp.
BROKEN = [
    ("report_id random part with '-'", "report_id",
     "20240214T090617Z_webconnectivity_IT_30722_n1_1IvUiX-WHooB5rmD", "report_id"),
    ("report_id random part with '_' (7 fields)", "report_id",
     "20240214T090617Z_webconnectivity_IT_30722_n1_1IvUi_NWHooB5rmD", "report_id"),
    ("report_id test name with '_'", "report_id",
     "20240214T090617Z_web_connectivity_IT_30722_n1_1IvUiXNWHooB5rmD", "report_id"),
    ("report_id legacy three fields", "report_id",
     "20200110T172519Z_AS30722_5UdG13d6rEfOVCTHEdMjuXGah8vF6dpShA0jditnrHCmH10o1K", "report_id"),
    ("report_id country not probe_cc", "report_id",
     "20240214T090617Z_webconnectivity_DE_30722_n1_1IvUiXNWHooB5rmD", "report_id"),
    ("report_id bad time", "report_id",
     "2024-02-14_webconnectivity_IT_30722_n1_1IvUiXNWHooB5rmD", "report_id"),
    ("measurement_uid with web_connectivity", "measurement_uid",
     "20240214090617.123456_IT_web_connectivity_7888edc7748936bf", "measurement_uid"),
    ("measurement_start_time ISO form", "measurement_start_time", "2024-02-14T09:06:17Z",
     "measurement_start_time"),
    ("measurement_start_time impossible date", "measurement_start_time", "2024-02-30 09:06:17",
     "measurement_start_time"),
    ("test_start_time missing", "test_start_time", DEL, "test_start_time"),
    ("probe_asn without AS", "probe_asn", "30722", "probe_asn"),
    ("probe_asn a number", "probe_asn", 30722, "probe_asn"),
    ("probe_cc lower case", "probe_cc", "it", "probe_cc"),
    ("probe_ip not an address", "probe_ip", "localhost", "probe_ip"),
    ("probe_network_name null", "probe_network_name", None, "probe_network_name"),
    ("resolver_network_name null", "resolver_network_name", None, "resolver_network_name"),
    ("test_helpers null", "test_helpers", None, "test_helpers"),
    ("test_helpers backend without address", "test_helpers/backend", {"type": "https"},
     "test_helpers.backend.address"),
    ("data_format_version a number", "data_format_version", 2, "data_format_version"),
    ("extensions with a string version", "extensions/dnst", "0", "extensions.dnst"),
    ("extensions naming no data format", "extensions/foo", 0, "extensions.foo"),
    ("annotations.architecture not a string", "annotations/architecture", 64,
     "annotations.architecture"),
    ("unknown top-level key", "verdict", "ok", "verdict"),
    ("input missing", "input", DEL, "input"),
    ("test_name with a capital", "test_name", "Web_Connectivity", "test_name"),
    ("test_runtime a string", "test_runtime", "1.2", "test_runtime"),
    ("test_keys missing", "test_keys", DEL, "test_keys"),
    ("client_resolver null", "test_keys/client_resolver", None, "test_keys.client_resolver"),
    ("queries null", "test_keys/queries", None, "test_keys.queries"),
    ("query engine unknown", "test_keys/queries/2/engine", "magic",
     "test_keys.queries[2].engine"),
    ("query hostname missing", "test_keys/queries/2/hostname", DEL,
     "test_keys.queries[2].hostname"),
    ("answer asn null", "test_keys/queries/2/answers/0/asn", None,
     "test_keys.queries[2].answers[0].asn"),
    ("answer ipv4 not an address", "test_keys/queries/2/answers/0/ipv4", "999.1.1.1",
     "test_keys.queries[2].answers[0].ipv4"),
    ("answer ttl a string", "test_keys/queries/2/answers/0/ttl", "300",
     "test_keys.queries[2].answers[0].ttl"),
    ("raw_response not base64", "test_keys/queries/0/raw_response", "not base64!",
     "test_keys.queries[0].raw_response"),
    ("failure the empty string", "test_keys/queries/2/failure", "",
     "test_keys.queries[2].failure"),
    ("t before t0", "test_keys/queries/2/t", -1.0, "test_keys.queries[2].t"),
    ("classic tag missing on getaddrinfo", "test_keys/queries/2/tags", ["depth=0"],
     "test_keys.queries[2].tags"),
    ("classic tag on the UDP extension", "test_keys/queries/0/tags", ["classic", "depth=0"],
     "test_keys.queries[0].tags"),
    ("classic tag missing on a classic connect", "test_keys/tcp_connect/1/tags", ["depth=0"],
     "test_keys.tcp_connect[1].tags"),
    ("tcp_connect port a string", "test_keys/tcp_connect/1/port", "443",
     "test_keys.tcp_connect[1].port"),
    ("tcp_connect success with a failure", "test_keys/tcp_connect/0/status/success", True,
     "test_keys.tcp_connect[0].status.success"),
    ("tcp_connect ip not an address", "test_keys/tcp_connect/1/ip", "example.com",
     "test_keys.tcp_connect[1].ip"),
    ("peer certificate not base64", "test_keys/tls_handshakes/0/peer_certificates/0/data",
     "!!!", "test_keys.tls_handshakes[0].peer_certificates[0].data"),
    ("peer certificate not DER", "test_keys/tls_handshakes/0/peer_certificates/0/data",
     "aGVsbG8gd29ybGQ=", "test_keys.tls_handshakes[0].peer_certificates[0].data"),
    ("peer certificate format hex", "test_keys/tls_handshakes/0/peer_certificates/0/format",
     "hex", "test_keys.tls_handshakes[0].peer_certificates[0].format"),
    ("peer_certificates null", "test_keys/tls_handshakes/0/peer_certificates", None,
     "test_keys.tls_handshakes[0].peer_certificates"),
    ("tls address without port", "test_keys/tls_handshakes/0/address", "93.184.216.34",
     "test_keys.tls_handshakes[0].address"),
    ("no_tls_verify missing", "test_keys/tls_handshakes/0/no_tls_verify", DEL,
     "test_keys.tls_handshakes[0].no_tls_verify"),
    ("response null", "test_keys/requests/0/response", None, "test_keys.requests[0].response"),
    ("response code null", "test_keys/requests/0/response/code", None,
     "test_keys.requests[0].response.code"),
    ("response code a string", "test_keys/requests/0/response/code", "200",
     "test_keys.requests[0].response.code"),
    ("response body null", "test_keys/requests/0/response/body", None,
     "test_keys.requests[0].response.body"),
    ("response body bad BinaryData", "test_keys/requests/0/response/body",
     {"format": "base64", "data": "%%%"}, "test_keys.requests[0].response.body.data"),
    ("response body_is_truncated missing", "test_keys/requests/0/response/body_is_truncated",
     DEL, "test_keys.requests[0].response.body_is_truncated"),
    ("response headers_list not pairs", "test_keys/requests/0/response/headers_list",
     [["Server"]], "test_keys.requests[0].response.headers_list[0]"),
    ("response header value a number", "test_keys/requests/0/response/headers/Age", 7,
     "test_keys.requests[0].response.headers[\"Age\"]"),
    ("request tor missing", "test_keys/requests/0/request/tor", DEL,
     "test_keys.requests[0].request.tor"),
    ("request incomplete", "test_keys/requests/0/request", {"url": "https://x/",
                                                          "method": "GET"},
     "test_keys.requests[0].request.headers"),
    ("network event without operation", "test_keys/network_events/0/operation", DEL,
     "test_keys.network_events[0].operation"),
    ("network event negative bytes", "test_keys/network_events/3/num_bytes", -1,
     "test_keys.network_events[3].num_bytes"),
    ("network_events null", "test_keys/network_events", None, "test_keys.network_events"),
    ("control tcp_connect status a string", "test_keys/control/tcp_connect/" + EP + "/status",
     "true", "test_keys.control.tcp_connect[\"%s\"].status" % EP),
    ("control tcp_connect key not an endpoint", "test_keys/control/tcp_connect/example.com",
     {"status": True, "failure": None}, "test_keys.control.tcp_connect[\"example.com\"]"),
    ("control http_request status_code a string",
     "test_keys/control/http_request/status_code", "200",
     "test_keys.control.http_request.status_code"),
    ("control dns addrs not addresses", "test_keys/control/dns/addrs", ["www.example.com"],
     "test_keys.control.dns.addrs[0]"),
    ("control ip_info asn a string", "test_keys/control/ip_info/93.184.216.34/asn", "15133",
     "test_keys.control.ip_info[\"93.184.216.34\"].asn"),
    ("control a list", "test_keys/control", [], "test_keys.control"),
    ("blocking an unknown string", "test_keys/blocking", "blocked", "test_keys.blocking"),
    ("blocking true", "test_keys/blocking", True, "test_keys.blocking"),
    ("blocking missing", "test_keys/blocking", DEL, "test_keys.blocking"),
    ("accessible a string", "test_keys/accessible", "yes", "test_keys.accessible"),
    ("dns_consistency unknown", "test_keys/dns_consistency", "maybe",
     "test_keys.dns_consistency"),
    ("body_proportion over 1", "test_keys/body_proportion", 1.5, "test_keys.body_proportion"),
    ("control_failure not a string", "test_keys/control_failure", 5,
     "test_keys.control_failure"),
]


class TestOoniMeasurements(unittest.TestCase):
    def test_ooni_measurements_pass(self):
        ms = load()
        self.assertGreaterEqual(len(ms), 17)
        for i, m in enumerate(ms, 1):
            self.assertEqual(ooni_validate.validate(m, lenient=True), [], "line %d" % i)

    def test_spec_example_passes_strictly(self):
        self.assertEqual(ooni_validate.validate(load()[-1]), [])

    def test_strict_refuses_go_nulls(self):
        """What --lenient accepts of OONI's own probes is refused without it."""
        problems = ooni_validate.validate(load()[0])
        self.assertIn("null where the spec has list",
                      " ".join(msg for _, msg in problems))


class TestBrokenCopies(unittest.TestCase):
    def test_each_rule_fails_when_broken(self):
        base = load()[-1]
        self.assertEqual(ooni_validate.validate(base), [])
        for what, path, value, want in BROKEN:
            with self.subTest(what):
                m = copy.deepcopy(base)
                setp(m, path, value)
                problems = ooni_validate.validate(m)
                self.assertTrue(any(p == want or p.startswith(want + ".") for p, _ in problems),
                                "%s: no problem at %s, got %r" % (what, want, problems))

    def test_not_an_object(self):
        self.assertEqual(ooni_validate.validate([])[0][0], "")


class TestCommandLine(unittest.TestCase):
    def run_tool(self, *args, stdin=None):
        return subprocess.run([sys.executable, TOOL] + list(args), input=stdin,
                              capture_output=True, text=True, timeout=60)

    def test_good_file_exits_0(self):
        r = self.run_tool("--lenient", FIXTURE)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("17 measurements, 0 problems", r.stderr)

    def test_problems_exit_1_one_line_each(self):
        good = json.dumps(load()[-1])
        bad = copy.deepcopy(load()[-1])
        bad["test_runtime"] = "1.5"
        bad["test_keys"]["requests"][0]["response"]["code"] = None
        text = "\n".join([good, json.dumps(bad), "{not json"]) + "\n"
        r = self.run_tool("-", stdin=text)
        self.assertEqual(r.returncode, 1)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 3, r.stdout)
        self.assertTrue(lines[0].startswith("-:2: test_runtime: str where"), lines)
        self.assertTrue(lines[1].startswith("-:2: test_keys.requests[0].response.code: null"),
                        lines)
        self.assertTrue(lines[2].startswith("-:3: (measurement): not JSON"), lines)

    def test_pretty_printed_document(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(load()[-1], f, indent=2)
        try:
            r = self.run_tool(f.name)
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertIn("1 measurements, 0 problems", r.stderr)
        finally:
            os.unlink(f.name)

    def test_usage(self):
        self.assertEqual(self.run_tool().returncode, 2)
        self.assertEqual(self.run_tool("--strange", FIXTURE).returncode, 2)
        self.assertEqual(self.run_tool("/nonexistent/file").returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=1)
