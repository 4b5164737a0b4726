#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ooni_validate.py - check measurements against OONI's data-format specifications.

    ooni_validate.py [--lenient] [--quiet] FILE|- ...

Reads JSON Lines (one measurement per line; a file that holds one pretty-printed JSON document is
read as one measurement) and checks each field's presence, type and form, written from OONI's
specs (github.com/ooni/spec): data-formats/df-000-base (the envelope), df-001-httpt (requests),
df-002-dnst (queries), df-005-tcpconnect (tcp_connect), df-006-tlshandshake (tls_handshakes),
df-008-netevents (network_events) and nettests/ts-017-web-connectivity (its test keys, the
control, the "classic" tag). Keys starting with x_ are experimental and allowed anywhere (their
content is not checked); vigie's own tests (x_tls_endpoint, x_dns_lookup, x_locate) are checked
for the base format and for the data formats their test_keys carry.

Prints one line per problem, "FILE:LINE: JSON.PATH: what is wrong", and exits 1 when there is one
(0 when every measurement is valid, 2 on a usage error or an unreadable file).

--lenient accepts three things OONI's own probes write that the spec does not ask for, as
data-formats/README.md tells consumers to expect: null where the spec has a list (answers,
peer_certificates, network_events, ...: Go's encoding of an empty list), a missing t0 (Go's
omitempty of 0), and no "classic" tag at all (probes before 3.22 never wrote it). Without it (the
default, what vigie's own output is held to) each is a problem.

As a module: validate(measurement, lenient=False) returns [(path, message)];
validate_text(text, lenient=False) returns [(line, path, message)] for a JSON Lines text.
"""
import base64
import binascii
import datetime
import ipaddress
import json
import re
import sys

# df-000-base: the top-level keys (* only set by OONI's backend).
BASE_KEYS = {
    "annotations", "backend_version", "bucket_date", "data_format_version", "extensions", "id",
    "input", "input_hashes", "measurement_start_time", "measurement_uid", "options", "probe_asn",
    "probe_cc", "probe_city", "probe_id", "probe_ip", "probe_network_name", "report_filename",
    "report_id", "resolver_asn", "resolver_ip", "resolver_network_name", "software_name",
    "software_version", "test_helpers", "test_keys", "test_name", "test_runtime",
    "test_start_time", "test_version", "is_verified",
}
# df-000-base: the data-format extensions a measurement may name (file names without df-xxx-).
EXTENSIONS = {"httpt", "dnst", "scapy", "tcpt", "tcpconnect", "tlshandshake", "errors",
              "netevents", "tunnel"}
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
ASN_RE = re.compile(r"^AS(0|[1-9]\d{0,9})$")
CC_RE = re.compile(r"^[A-Z]{2}$")
TEST_NAME_RE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
# OONI's collector (ooni/backend ooniprobe routers/reports.py) splits a report_id into six
# "_"-separated fields: time, test name without "_" (1 < length < 30, alphanumeric), CC, ASN
# digits, "n" and the collector's number, and a random part.
REPORT_TIME_RE = re.compile(r"^\d{8}T\d{6}Z$")
ALNUM_RE = re.compile(r"^[A-Za-z0-9]+$")
# measurement_uid: <utc %Y%m%d%H%M%S.%f>_<cc>_<test name without "_">_<16 hex of a SHA-512>
UID_RE = re.compile(r"^\d{14}\.\d{6}_[A-Z]{2}_[a-z0-9]+_[0-9a-f]{16}$")
# df-002-dnst engines (legacy names included).
DNS_ENGINES = {"unknown", "system", "getaddrinfo", "golang_net_resolver", "go", "udp", "tcp",
               "dot", "doh"}
CLASSIC_ENGINES = {"system", "getaddrinfo", "golang_net_resolver", "go"}
BLOCKING = {"dns", "tcp_ip", "http-failure", "http-diff"}
DNS_CONSISTENCY = {"consistent", "inconsistent", "reverse_match"}
WEB_TESTS = {"web_connectivity", "x_tls_endpoint", "x_dns_lookup"}


class Checker:
    def __init__(self, lenient):
        self.lenient = lenient
        self.problems = []

    def bad(self, path, msg):
        self.problems.append((path, msg))

    # ---- types --------------------------------------------------------------------------------

    def typed(self, obj, key, path, kinds, required=True, nullable=False):
        """obj[key] of one of kinds (a tuple of "str", "int", "num", "bool", "list", "obj");
        returns the value, or None when absent, null or of the wrong type (reported)."""
        p = join(path, key)
        if key not in obj:
            if required:
                self.bad(p, "missing (%s)" % "|".join(kinds))
            return None
        v = obj[key]
        if v is None:
            if not nullable and not (self.lenient and kinds == ("list",)):
                self.bad(p, "null where the spec has %s" % "|".join(kinds))
            return None
        if not any(is_kind(v, k) for k in kinds):
            self.bad(p, "%s where the spec has %s" % (kind_of(v), "|".join(kinds)))
            return None
        return v

    def failure(self, obj, key, path, required=True):
        """A failure: null (success) or a non-empty string."""
        v = self.typed(obj, key, path, ("str",), required=required, nullable=True)
        if v == "":
            self.bad(join(path, key), "empty string: success is null")
        return v

    def times(self, obj, path, t0_required=True):
        t0 = self.typed(obj, "t0", path, ("num",), required=t0_required and not self.lenient)
        t = self.typed(obj, "t", path, ("num",))
        if isinstance(t0, (int, float)) and isinstance(t, (int, float)) and t < t0:
            self.bad(join(path, "t"), "t (%r) before t0 (%r)" % (t, t0))

    def tags(self, obj, path, required=False):
        tags = self.typed(obj, "tags", path, ("list",), required=required)
        for i, t in enumerate(tags or []):
            if not isinstance(t, str):
                self.bad("%s.tags[%d]" % (path, i), "%s where the spec has str" % kind_of(t))
        self.typed(obj, "transaction_id", path, ("int",), required=False)
        return [t for t in (tags or []) if isinstance(t, str)]

    def datetime(self, obj, key, path, required=True):
        v = self.typed(obj, key, path, ("str",), required=required)
        if v is None:
            return
        try:
            if not DATETIME_RE.match(v):
                raise ValueError
            datetime.datetime.strptime(v, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            self.bad(join(path, key), "%r is not \"YYYY-MM-DD hh:mm:ss\" (UTC)" % v)

    def maybe_binary(self, v, path):
        """df-001-httpt MaybeBinaryData: a string, or {"format": "base64", "data": ...}."""
        if isinstance(v, str):
            return
        if isinstance(v, dict):
            self.binary(v, path)
            return
        self.bad(path, "%s where the spec has a string or BinaryData" % kind_of(v))

    def binary(self, v, path, der=False):
        """df-001-httpt BinaryData: {"format": "base64", "data": BASE64}; der: a DER SEQUENCE."""
        if not isinstance(v, dict):
            self.bad(path, "%s where the spec has BinaryData" % kind_of(v))
            return
        if v.get("format") != "base64":
            self.bad(join(path, "format"), "must be \"base64\", not %r" % (v.get("format"),))
        data = self.typed(v, "data", path, ("str",))
        if data is None:
            return
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            self.bad(join(path, "data"), "not base64")
            return
        if der and (len(raw) < 2 or raw[0] != 0x30):
            self.bad(join(path, "data"), "not a DER certificate (no SEQUENCE)")

    # ---- df-000-base --------------------------------------------------------------------------

    def base(self, m):
        for k in m:
            if k not in BASE_KEYS and not k.startswith("x_"):
                self.bad(k, "unknown top-level key (not in df-000-base; extensions use x_)")
        ann = self.typed(m, "annotations", "", ("obj",), required=False)
        if ann is not None:
            for k in ("architecture", "engine_name", "engine_version", "platform"):
                v = ann.get(k)
                if k in ann and not isinstance(v, str):
                    self.bad("annotations." + k, "%s where the spec has str" % kind_of(v))
        dfv = self.typed(m, "data_format_version", "", ("str",))
        if dfv is not None and not re.match(r"^0\.\d+\.\d+$", dfv):
            self.bad("data_format_version", "%r is not a data format version" % dfv)
        ext = self.typed(m, "extensions", "", ("obj",), required=False)
        for k, v in (ext or {}).items():
            if k not in EXTENSIONS:
                self.bad("extensions." + k, "no data format of that name in data-formats/")
            if not is_kind(v, "int"):
                self.bad("extensions." + k, "%s where the spec has int" % kind_of(v))
        self.typed(m, "id", "", ("str",), required=False)
        self.typed(m, "input", "", ("str",), nullable=True)
        self.datetime(m, "measurement_start_time", "")
        self.datetime(m, "test_start_time", "")
        for k, rx, form in (("probe_asn", ASN_RE, "\"AS<number>\""),
                            ("probe_cc", CC_RE, "two capital letters (\"ZZ\" unknown)"),
                            ("resolver_asn", ASN_RE, "\"AS<number>\"")):
            v = self.typed(m, k, "", ("str",), required=k != "resolver_asn")
            if v is not None and not rx.match(v):
                self.bad(k, "%r is not %s" % (v, form))
        for k in ("probe_ip", "resolver_ip"):
            v = self.typed(m, k, "", ("str",), required=k == "probe_ip")
            if v is not None and not is_ip(v):
                self.bad(k, "%r is not an IP address" % v)
        for k in ("probe_network_name", "resolver_network_name", "backend_version",
                  "report_filename", "probe_city"):
            self.typed(m, k, "", ("str",), required=False)
        for k in ("software_name", "software_version", "test_version"):
            v = self.typed(m, k, "", ("str",))
            if v == "":
                self.bad(k, "empty")
        name = self.typed(m, "test_name", "", ("str",))
        if name is not None and not TEST_NAME_RE.match(name):
            self.bad("test_name", "%r is not snake case" % name)
        rt = self.typed(m, "test_runtime", "", ("num",))
        if rt is not None and rt < 0:
            self.bad("test_runtime", "negative")
        th = self.typed(m, "test_helpers", "", ("obj",), required=False)
        for k, v in (th or {}).items():
            if isinstance(v, dict):
                for f in ("address", "type"):
                    if not isinstance(v.get(f), str):
                        self.bad("test_helpers.%s.%s" % (k, f), "%s where the spec has str"
                                 % kind_of(v.get(f)))
            elif not isinstance(v, str):
                self.bad("test_helpers." + k, "%s where the spec has a string or "
                         "{address, type}" % kind_of(v))
        self.report_id(m)
        uid = self.typed(m, "measurement_uid", "", ("str",), required=False)
        if uid is not None and not UID_RE.match(uid):
            self.bad("measurement_uid", "%r is not <YYYYmmddHHMMSS.ffffff>_<CC>_<testname>_"
                     "<16 hex>" % uid)
        tk = self.typed(m, "test_keys", "", ("obj",))
        return name, tk

    def report_id(self, m):
        rid = self.typed(m, "report_id", "", ("str",), required=False)
        if not rid:  # "" or absent: a measurement no collector has taken yet
            return
        parts = rid.split("_")
        if len(parts) != 6:
            self.bad("report_id", "%r has %d \"_\"-separated fields, OONI's collector takes 6 "
                     "(TIME_TESTNAME_CC_ASN_nN_RANDOM)" % (rid, len(parts)))
            return
        when, tn, cc, asn, coll, rnd = parts
        if not REPORT_TIME_RE.match(when):
            self.bad("report_id", "%r: %r is not YYYYMMDDTHHMMSSZ" % (rid, when))
        if not (ALNUM_RE.match(tn) and 1 < len(tn) < 30 and tn == tn.lower()):
            self.bad("report_id", "%r: test name %r is not 2..29 lower-case letters and digits"
                     % (rid, tn))
        elif isinstance(m.get("test_name"), str) and m["test_name"].replace("_", "") != tn:
            self.bad("report_id", "%r: test name %r is not test_name %r without \"_\""
                     % (rid, tn, m["test_name"]))
        if not CC_RE.match(cc):
            self.bad("report_id", "%r: country %r is not two capital letters" % (rid, cc))
        elif isinstance(m.get("probe_cc"), str) and m["probe_cc"] != cc:
            self.bad("report_id", "%r: country %r is not probe_cc" % (rid, cc))
        if not asn.isdigit():
            self.bad("report_id", "%r: ASN %r is not a number" % (rid, asn))
        elif isinstance(m.get("probe_asn"), str) and m["probe_asn"] != "AS" + asn:
            self.bad("report_id", "%r: ASN %r is not probe_asn's" % (rid, asn))
        if not re.match(r"^n\d+$", coll):
            self.bad("report_id", "%r: %r is not n<collector number>" % (rid, coll))
        if not ALNUM_RE.match(rnd):
            self.bad("report_id", "%r: the random part %r is not letters and digits" % (rid, rnd))

    # ---- df-002-dnst --------------------------------------------------------------------------

    def query(self, q, path):
        if not isinstance(q, dict):
            self.bad(path, "%s where the spec has a Query object" % kind_of(q))
            return
        answers = self.typed(q, "answers", path, ("list",))
        engine = self.typed(q, "engine", path, ("str",), required=False)
        if engine is not None and engine not in DNS_ENGINES:
            self.bad(join(path, "engine"), "%r is not an engine of df-002-dnst" % engine)
        self.failure(q, "failure", path)
        self.typed(q, "getaddrinfo_error", path, ("int",), required=False)
        self.typed(q, "hostname", path, ("str",))
        self.typed(q, "query_type", path, ("str",))
        raw = self.typed(q, "raw_response", path, ("str",), required=False)
        if raw:
            try:
                base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                self.bad(join(path, "raw_response"), "not base64")
        self.typed(q, "rcode", path, ("int",), required=False)
        self.typed(q, "resolver_address", path, ("str",))
        for k in ("resolver_hostname", "resolver_port"):
            self.typed(q, k, path, ("str",), required=False, nullable=True)
        self.times(q, path)
        self.tags(q, path)
        for i, a in enumerate(answers or []):
            self.answer(a, "%s.answers[%d]" % (path, i))

    def answer(self, a, path):
        if not isinstance(a, dict):
            self.bad(path, "%s where the spec has an Answer object" % kind_of(a))
            return
        t = self.typed(a, "answer_type", path, ("str",))
        self.typed(a, "asn", path, ("int",), required=False)
        self.typed(a, "as_org_name", path, ("str",), required=False)
        self.typed(a, "ttl", path, ("int",), nullable=True)
        for k, family in (("ipv4", 4), ("ipv6", 6)):
            v = self.typed(a, k, path, ("str",), required=t == ("A" if family == 4 else "AAAA"))
            if v and not is_ip(v, family):
                self.bad(join(path, k), "%r is not an IPv%d address" % (v, family))
        self.typed(a, "hostname", path, ("str",), required=t in ("CNAME", "PTR"))

    # ---- df-005-tcpconnect --------------------------------------------------------------------

    def tcp_connect(self, c, path):
        if not isinstance(c, dict):
            self.bad(path, "%s where the spec has a TCPConnect object" % kind_of(c))
            return
        ip = self.typed(c, "ip", path, ("str",))
        if ip is not None and not is_ip(ip):
            self.bad(join(path, "ip"), "%r is not an IP address" % ip)
        port = self.typed(c, "port", path, ("int",))
        if port is not None and not 0 <= port <= 65535:
            self.bad(join(path, "port"), "%r is not a port" % port)
        st = self.typed(c, "status", path, ("obj",))
        if st is not None:
            sp = join(path, "status")
            ok = self.typed(st, "success", sp, ("bool",))
            f = self.failure(st, "failure", sp)
            self.typed(st, "blocked", sp, ("bool", "str"), required=False, nullable=True)
            if ok is not None and ok != (f is None and "failure" in st):
                self.bad(join(sp, "success"), "success is %r but failure is %r" % (ok, f))
        self.times(c, path, t0_required=False)
        self.tags(c, path)

    # ---- df-006-tlshandshake ------------------------------------------------------------------

    def tls_handshake(self, h, path):
        if not isinstance(h, dict):
            self.bad(path, "%s where the spec has a TLSHandshake object" % kind_of(h))
            return
        net = self.typed(h, "network", path, ("str",), required=False)
        if net is not None and net not in ("tcp", "udp"):
            self.bad(join(path, "network"), "%r is neither \"tcp\" nor \"udp\"" % net)
        addr = self.typed(h, "address", path, ("str",))
        if addr is not None and not is_endpoint(addr):
            self.bad(join(path, "address"), "%r is not IP:PORT" % addr)
        self.typed(h, "cipher_suite", path, ("str",))
        self.failure(h, "failure", path)
        self.typed(h, "so_error", path, ("str",), required=False)
        self.typed(h, "negotiated_protocol", path, ("str",))
        self.typed(h, "no_tls_verify", path, ("bool",))
        certs = self.typed(h, "peer_certificates", path, ("list",))
        for i, c in enumerate(certs or []):
            self.binary(c, "%s.peer_certificates[%d]" % (path, i), der=True)
        self.typed(h, "server_name", path, ("str",), required=False)
        self.typed(h, "tls_version", path, ("str",))
        self.times(h, path)
        self.tags(h, path)

    # ---- df-001-httpt -------------------------------------------------------------------------

    def headers(self, obj, path):
        hm = self.typed(obj, "headers", path, ("obj",))
        for k, v in (hm or {}).items():
            self.maybe_binary(v, "%s.headers[%s]" % (path, json.dumps(k)))
        hl = self.typed(obj, "headers_list", path, ("list",))
        for i, pair in enumerate(hl or []):
            p = "%s.headers_list[%d]" % (path, i)
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                self.bad(p, "not a [name, value] pair")
                continue
            self.maybe_binary(pair[1], p + "[1]")

    def transaction(self, r, path):
        if not isinstance(r, dict):
            self.bad(path, "%s where the spec has a Transaction object" % kind_of(r))
            return
        net = self.typed(r, "network", path, ("str",), required=False)
        if net is not None and net not in ("tcp", "udp"):
            self.bad(join(path, "network"), "%r is neither \"tcp\" nor \"udp\"" % net)
        addr = self.typed(r, "address", path, ("str",), required=False)
        if addr and not is_endpoint(addr):
            self.bad(join(path, "address"), "%r is not IP:PORT" % addr)
        self.typed(r, "alpn", path, ("str",), required=False)
        self.failure(r, "failure", path)
        req = self.typed(r, "request", path, ("obj",))
        if req is not None:
            rp = join(path, "request")
            self.typed(req, "url", rp, ("str",))
            self.typed(req, "method", rp, ("str",))
            if "body" in req:
                self.maybe_binary(req["body"], join(rp, "body"))
            else:
                self.bad(join(rp, "body"), "missing (string or BinaryData)")
            self.typed(req, "body_is_truncated", rp, ("bool",))
            self.headers(req, rp)
            tor = self.typed(req, "tor", rp, ("obj",))
            if tor is not None:
                tp = join(rp, "tor")
                self.typed(tor, "exit_ip", tp, ("str",), nullable=True)
                self.typed(tor, "exit_name", tp, ("str",), nullable=True)
                self.typed(tor, "is_tor", tp, ("bool",))
            self.typed(req, "x_transport", rp, ("str",), required=False)
        resp = self.typed(r, "response", path, ("obj",))
        if resp is not None:
            sp = join(path, "response")
            code = self.typed(resp, "code", sp, ("int",))
            if code is not None and not (code == 0 or 100 <= code <= 999):
                self.bad(join(sp, "code"), "%r is not an HTTP status (0: no response)" % code)
            if "body" in resp:
                self.maybe_binary(resp["body"], join(sp, "body"))
            else:
                self.bad(join(sp, "body"), "missing (string or BinaryData)")
            self.typed(resp, "body_is_truncated", sp, ("bool",))
            self.headers(resp, sp)
        self.typed(r, "response_length", path, ("int",), required=False, nullable=True)
        self.times(r, path)
        self.tags(r, path)

    # ---- df-008-netevents ---------------------------------------------------------------------

    def network_event(self, e, path):
        if not isinstance(e, dict):
            self.bad(path, "%s where the spec has an Event object" % kind_of(e))
            return
        self.typed(e, "address", path, ("str",), required=False)
        self.failure(e, "failure", path)
        n = self.typed(e, "num_bytes", path, ("int",), required=False)
        if n is not None and n < 0:
            self.bad(join(path, "num_bytes"), "negative")
        self.typed(e, "operation", path, ("str",))
        self.typed(e, "proto", path, ("str",), required=False)
        self.times(e, path)
        self.tags(e, path)

    # ---- test keys ----------------------------------------------------------------------------

    def lists(self, tk, required):
        """The data formats' lists in test_keys; required: those a web test always carries."""
        for key, check in (("queries", self.query), ("tcp_connect", self.tcp_connect),
                           ("tls_handshakes", self.tls_handshake),
                           ("requests", self.transaction),
                           ("network_events", self.network_event)):
            items = self.typed(tk, key, "test_keys", ("list",), required=key in required)
            for i, item in enumerate(items or []):
                check(item, "test_keys.%s[%d]" % (key, i))

    def web_connectivity(self, tk):
        self.typed(tk, "agent", "test_keys", ("str",))
        cr = self.typed(tk, "client_resolver", "test_keys", ("str",), required=False)
        if cr and not is_ip(cr):
            self.bad("test_keys.client_resolver", "%r is not an IP address" % cr)
        self.typed(tk, "retries", "test_keys", ("int",), required=False, nullable=True)
        self.typed(tk, "socksproxy", "test_keys", ("str",), required=False, nullable=True)
        self.lists(tk, ("queries", "tcp_connect", "requests"))
        if "control" in tk:
            self.control(tk["control"])
        for k in ("control_failure", "dns_experiment_failure", "http_experiment_failure"):
            self.failure(tk, k, "test_keys", required=False)
        dc = self.typed(tk, "dns_consistency", "test_keys", ("str",), required=False,
                        nullable=True)
        if dc is not None and dc not in DNS_CONSISTENCY:
            self.bad("test_keys.dns_consistency", "%r is not one of %s"
                     % (dc, sorted(DNS_CONSISTENCY)))
        for k in ("body_length_match", "headers_match", "status_code_match", "title_match",
                  "accessible"):
            self.typed(tk, k, "test_keys", ("bool",), required=False, nullable=True)
        bp = self.typed(tk, "body_proportion", "test_keys", ("num",), required=False,
                        nullable=True)
        if bp is not None and not 0 <= bp <= 1:
            self.bad("test_keys.body_proportion", "%r is not in [0, 1]" % bp)
        if "blocking" in tk:
            b = tk["blocking"]
            if not (b is None or b is False or b in BLOCKING):
                self.bad("test_keys.blocking", "%r is not null, false or one of %s"
                         % (b, sorted(BLOCKING)))
        else:
            self.bad("test_keys.blocking", "missing (null, false or a string)")
        if tk.get("accessible") is True and tk.get("blocking") not in (False, None):
            self.bad("test_keys.blocking", "accessible is true but blocking is %r (ts-017: "
                     "false whenever accessible)" % (tk.get("blocking"),))
        self.classic(tk)

    def control(self, c):
        """ts-017's control (the test helper's THResponse), or null."""
        if c is None:
            return
        if not isinstance(c, dict):
            self.bad("test_keys.control", "%s where the spec has the THResponse object"
                     % kind_of(c))
            return
        p = "test_keys.control"
        for ep, v in (self.typed(c, "tcp_connect", p, ("obj",), required=False) or {}).items():
            q = "%s.tcp_connect[%s]" % (p, json.dumps(ep))
            if not is_endpoint(ep):
                self.bad(q, "key is not IP:PORT")
            if not isinstance(v, dict):
                self.bad(q, "%s where the spec has {status, failure}" % kind_of(v))
                continue
            self.typed(v, "status", q, ("bool",))
            self.failure(v, "failure", q)
        for ep, v in (self.typed(c, "tls_handshake", p, ("obj",), required=False) or {}).items():
            q = "%s.tls_handshake[%s]" % (p, json.dumps(ep))
            if not isinstance(v, dict):
                self.bad(q, "%s where the spec has {server_name, status, failure}" % kind_of(v))
                continue
            self.typed(v, "server_name", q, ("str",), required=False)
            self.typed(v, "status", q, ("bool",))
            self.failure(v, "failure", q)
        hr = self.typed(c, "http_request", p, ("obj",), required=False, nullable=True)
        if hr is not None:
            q = p + ".http_request"
            self.typed(hr, "body_length", q, ("int",))
            self.failure(hr, "failure", q)
            self.typed(hr, "title", q, ("str",), required=False)
            hs = self.typed(hr, "headers", q, ("obj",))
            for k, v in (hs or {}).items():
                if not isinstance(v, str):
                    self.bad("%s.headers[%s]" % (q, json.dumps(k)), "%s where the spec has str"
                             % kind_of(v))
            self.typed(hr, "status_code", q, ("int",))
        dns = self.typed(c, "dns", p, ("obj",), required=False, nullable=True)
        if dns is not None:
            self.failure(dns, "failure", p + ".dns")
            addrs = self.typed(dns, "addrs", p + ".dns", ("list",))
            for i, a in enumerate(addrs or []):
                if not (isinstance(a, str) and is_ip(a)):
                    self.bad("%s.dns.addrs[%d]" % (p, i), "%r is not an IP address" % (a,))
        for ip, v in (self.typed(c, "ip_info", p, ("obj",), required=False) or {}).items():
            q = "%s.ip_info[%s]" % (p, json.dumps(ip))
            if not isinstance(v, dict):
                self.bad(q, "%s where the spec has {asn, flags}" % kind_of(v))
                continue
            self.typed(v, "asn", q, ("int",))
            self.typed(v, "flags", q, ("int",))

    def classic(self, tk):
        """ts-017: when extension data sit beside the classic algorithm's, the classic data MUST
        carry the "classic" tag and the extensions' MUST NOT: the system resolver's lookups, and
        the endpoints of the addresses they returned, at each depth."""
        queries = [q for q in tk.get("queries") or [] if isinstance(q, dict)]
        ext = [q for q in queries if q.get("engine") not in CLASSIC_ENGINES]
        if not ext:
            return
        if self.lenient and not any("classic" in (e.get("tags") or [])
                                    for k in ("queries", "tcp_connect", "tls_handshakes")
                                    for e in tk.get(k) or [] if isinstance(e, dict)):
            return  # a probe that never tags (OONI before 3.22)
        sys_addrs = set()  # what the system resolver returned, at any depth (OONI caches it)
        for i, q in enumerate(tk.get("queries") or []):
            if not isinstance(q, dict):
                continue
            tags = q.get("tags") if isinstance(q.get("tags"), list) else []
            classic = q.get("engine") in CLASSIC_ENGINES
            if classic != ("classic" in tags):
                self.bad("test_keys.queries[%d].tags" % i, "%s lookup %s the \"classic\" tag "
                         "(ts-017)" % (q.get("engine"), "without" if classic else "with"))
            if classic:
                for a in q.get("answers") or []:
                    if isinstance(a, dict):
                        for k in ("ipv4", "ipv6"):
                            if isinstance(a.get(k), str):
                                sys_addrs.add(norm_ip(a[k]))
        for key, ipf in (("tcp_connect", "ip"), ("tls_handshakes", "address"),
                         ("requests", "address"), ("network_events", "address")):
            for i, e in enumerate(tk.get(key) or []):
                if not isinstance(e, dict) or not isinstance(e.get(ipf), str) or not e[ipf]:
                    continue
                ip = norm_ip(e[ipf] if ipf == "ip" else host_of(e[ipf]))
                tags = e.get("tags") if isinstance(e.get("tags"), list) else []
                if ip is None:
                    continue
                want = ip in sys_addrs
                if want != ("classic" in tags):
                    self.bad("test_keys.%s[%d].tags" % (key, i), "%s %s of the system "
                             "resolver's addresses: it %s the \"classic\" tag (ts-017)"
                             % (e[ipf], "is one" if want else "is none",
                                "needs" if want else "must not carry"))

    def measurement(self, m):
        if not isinstance(m, dict):
            self.bad("", "%s where the spec has a measurement object" % kind_of(m))
            return
        name, tk = self.base(m)
        if tk is None:
            return
        if name in WEB_TESTS:
            self.web_connectivity(tk)
        elif name not in ("x_locate",):
            self.lists(tk, ())


# ---- helpers ------------------------------------------------------------------------------------

def join(path, key):
    return key if not path else path + "." + key


def is_kind(v, k):
    if k == "str":
        return isinstance(v, str)
    if k == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if k == "num":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if k == "bool":
        return isinstance(v, bool)
    if k == "list":
        return isinstance(v, list)
    if k == "obj":
        return isinstance(v, dict)
    raise ValueError(k)


def kind_of(v):
    for k in ("bool", "int", "num", "str", "list", "obj"):
        if is_kind(v, k):
            return {"num": "float"}.get(k, k)
    return "null" if v is None else type(v).__name__


# What a scrubber leaves of an address (OONI's and vigie's): "[scrubbed]", in an endpoint
# "[scrubbed]:443" or "[[scrubbed]]:443", and as an object key that met another " (2)".
SCRUBBED_RE = re.compile(r"^\[?\[scrubbed\]\]?(:\d+)?( \(\d+\))?$")


def is_ip(s, family=None):
    if SCRUBBED_RE.match(s):
        return True
    try:
        a = ipaddress.ip_address(s)
    except ValueError:
        return False
    return family is None or a.version == family


def host_of(endpoint):
    """The IP of "IP:PORT" / "[IPv6]:PORT", or None."""
    m = re.match(r"^\[([^\]]+)\]:(\d+)$", endpoint) or re.match(r"^([^:]+):(\d+)$", endpoint)
    return m.group(1) if m else None


def is_endpoint(s):
    if SCRUBBED_RE.match(s):
        return True
    h = host_of(s)
    return h is not None and is_ip(h) and 0 <= int(s.rsplit(":", 1)[1]) <= 65535


def norm_ip(s):
    try:
        return str(ipaddress.ip_address(s)) if s else None
    except ValueError:
        return None


def validate(m, lenient=False):
    c = Checker(lenient)
    c.measurement(m)
    return c.problems


def documents(text):
    """(line number, parsed object or ValueError) of each measurement in text: JSON Lines, or one
    pretty-printed JSON document."""
    lines = text.split("\n")
    nonblank = [ln for ln in lines if ln.strip()]
    if nonblank and not nonblank[0].rstrip().endswith("}"):
        try:
            return [(1, json.loads(text))]
        except ValueError:
            pass
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append((n, json.loads(line)))
        except ValueError as e:
            out.append((n, e))
    return out


def validate_text(text, lenient=False):
    problems = []
    for n, m in documents(text):
        if isinstance(m, ValueError):
            problems.append((n, "", "not JSON: %s" % m))
            continue
        problems += [(n, p, msg) for p, msg in validate(m, lenient)]
    return problems


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    opts = [a for a in argv if a.startswith("--")]
    unknown = [o for o in opts if o not in ("--lenient", "--quiet")]
    if unknown or not args:
        sys.stderr.write("usage: ooni_validate.py [--lenient] [--quiet] FILE|- ...\n")
        return 2
    lenient = "--lenient" in opts
    total = bad = 0
    for name in args:
        try:
            if name == "-":
                text = sys.stdin.read()
            else:
                with open(name, encoding="utf-8") as f:
                    text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            sys.stderr.write("ooni_validate.py: %s: %s\n" % (name, e))
            return 2
        docs = documents(text)
        total += len(docs)
        for n, path, msg in validate_text(text, lenient):
            bad += 1
            print("%s:%d: %s: %s" % (name, n, path or "(measurement)", msg))
    if "--quiet" not in opts:
        sys.stderr.write("ooni_validate.py: %d measurements, %d problems\n" % (total, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
