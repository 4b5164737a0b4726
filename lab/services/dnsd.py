#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""DNS servers of the vigie lab, UDP and TCP on port 53.

  dnsd.py auth    --listen 203.0.113.53 --zone lab/zone.txt --settings FILE
      The truthful "public" DNS server of the lab internet, authoritative for
      every name in the zone file: the records for the name, NODATA when the
      name exists without that type, NXDOMAIN otherwise (SOA in authority).
      FILE may hold "delay-ms N": every answer is then sent N ms late, so an
      on-path injector reliably wins the race (the real server is "far").

  dnsd.py forward --listen 192.0.2.1 --upstream 203.0.113.53 --rules FILE
      The censor's resolver (the client's system resolver).  It relays every
      query to the upstream unless a rule in FILE says to lie:
          nxdomain NAME        answer NXDOMAIN
          answer NAME ADDR     answer with this A record (AAAA: NODATA)
      FILE is re-read whenever vigie-lab replaces it.
"""

import argparse
import ipaddress
import socket
import sys
import threading
import time

import labcommon as lc
import labdns as d

DEFAULT_TTL = 300


# ---------------------------------------------------------------- zone data

class Zone:
    def __init__(self, path):
        self.records = {}   # name -> list of (type, ttl, rr bytes)
        self.soas = {}      # zone apex -> SOA rr bytes
        ttl = DEFAULT_TTL
        with open(path) as f:
            for lineno, line in enumerate(f, 1):
                words = line.split("#", 1)[0].split()
                if not words:
                    continue
                try:
                    if words[0] == "$TTL":
                        ttl = int(words[1])
                        continue
                    self._add(words, ttl)
                except (IndexError, ValueError) as e:
                    raise SystemExit("%s:%d: bad record: %s (%s)" % (path, lineno, line.strip(), e))

    def _add(self, words, ttl):
        name = words[0].rstrip(".").lower()
        rtype = words[1].upper()
        args = words[2:]
        if rtype == "A":
            rr = d.a_rr(name, args[0], ttl)
            code = d.TYPE_A
        elif rtype == "AAAA":
            rr = d.aaaa_rr(name, args[0], ttl)
            code = d.TYPE_AAAA
        elif rtype == "NS":
            rr = d.rr(name, d.TYPE_NS, ttl, d.encode_name(args[0]))
            code = d.TYPE_NS
        elif rtype == "SOA":
            nums = [int(x) for x in args[2:7]]
            if len(nums) != 5:
                raise ValueError("SOA needs mname rname serial refresh retry expire minimum")
            # Negative answers are cached for min(SOA TTL, minimum) (RFC 2308).
            rr = d.soa_rr(name, args[0], args[1], *nums, ttl=nums[4])
            code = d.TYPE_SOA
            self.soas[name] = rr
        else:
            raise ValueError("unsupported type %s" % rtype)
        self.records.setdefault(name, []).append((code, rr))

    def soa_for(self, name):
        labels = name.split(".")
        for i in range(len(labels) + 1):
            apex = ".".join(labels[i:])
            if apex in self.soas:
                return self.soas[apex]
        return None

    def answer(self, q):
        """(rcode, answers, authority) for a query."""
        recs = self.records.get(q.qname)
        soa = self.soa_for(q.qname)
        auth = [soa] if soa else []
        if recs is None:
            return d.RCODE_NXDOMAIN, [], auth
        ans = [rr for code, rr in recs if code == q.qtype]
        if not ans:
            return d.RCODE_NOERROR, [], auth
        return d.RCODE_NOERROR, ans, []


def parse_settings(lines):
    out = {"delay-ms": 0}
    for words in lines:
        if words[0] == "delay-ms" and len(words) == 2:
            out["delay-ms"] = int(words[1])
        else:
            raise ValueError("unknown setting %r" % " ".join(words))
    return out


def parse_rules(lines):
    rules = {}
    for words in lines:
        if words[0] == "nxdomain" and len(words) == 2:
            rules[words[1].rstrip(".").lower()] = ("nxdomain", None)
        elif words[0] == "answer" and len(words) == 3:
            ipaddress.IPv4Address(words[2])
            rules[words[1].rstrip(".").lower()] = ("answer", words[2])
        else:
            raise ValueError("unknown rule %r" % " ".join(words))
    return rules


# ---------------------------------------------------------------- handlers

class AuthHandler:
    def __init__(self, zone, settings):
        self.zone = zone
        self.settings = settings

    def delay(self):
        return self.settings.get()["delay-ms"] / 1000.0

    def handle(self, q, peer, transport):
        rcode, ans, auth = self.zone.answer(q)
        lc.log("%s %s %s %s -> %s (%d answers)", transport, peer[0], q.qname, q.type_name(),
               d.RCODE_NAMES.get(rcode, rcode), len(ans))
        return d.build_reply(q, rcode, ans, auth, aa=True, ra=True)


class ForwardHandler:
    def __init__(self, upstream, rules, timeout=2.0):
        self.upstream = upstream
        self.rules = rules
        self.timeout = timeout

    def delay(self):
        return 0.0

    def handle(self, q, peer, transport):
        rule = self.rules.get().get(q.qname)
        if rule is not None:
            kind, addr = rule
            lc.log("%s %s %s %s -> censored (%s %s)", transport, peer[0], q.qname, q.type_name(),
                   kind, addr or "")
            if kind == "nxdomain":
                return d.build_reply(q, d.RCODE_NXDOMAIN)
            answers = [d.a_rr(q.qname, addr, 300)] if q.qtype == d.TYPE_A else []
            return d.build_reply(q, d.RCODE_NOERROR, answers)
        try:
            if transport == "tcp":
                reply = self._forward_tcp(q.raw)
            else:
                reply = self._forward_udp(q.raw)
        except OSError as e:
            lc.log("%s %s %s %s -> upstream failed: %s", transport, peer[0], q.qname,
                   q.type_name(), e)
            return d.build_reply(q, d.RCODE_SERVFAIL)
        lc.log("%s %s %s %s -> forwarded (%d bytes)", transport, peer[0], q.qname,
               q.type_name(), len(reply))
        return reply

    def _forward_udp(self, raw):
        last = None
        for _attempt in range(2):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.settimeout(self.timeout)
                s.connect((self.upstream, 53))
                s.send(raw)
                deadline = time.monotonic() + self.timeout
                while True:
                    s.settimeout(max(0.01, deadline - time.monotonic()))
                    reply = s.recv(65535)
                    if reply[:2] == raw[:2]:
                        return reply
            except OSError as e:
                last = e
            finally:
                s.close()
        raise last

    def _forward_tcp(self, raw):
        with socket.create_connection((self.upstream, 53), timeout=self.timeout) as s:
            s.sendall(d.tcp_frame(raw))
            reply = d.tcp_read_message(s)
        if reply is None:
            raise OSError("upstream closed the TCP connection")
        return reply


# ---------------------------------------------------------------- servers

def serve_udp(sock, handler):
    while True:
        try:
            buf, peer = sock.recvfrom(65535)
        except OSError as e:
            lc.log("udp recv: %s", e)
            continue
        lc.spawn(udp_one, sock, handler, buf, peer)


def udp_one(sock, handler, buf, peer):
    try:
        q = d.Query(buf)
    except d.DNSError as e:
        lc.log("udp %s: malformed query: %s", peer[0], e)
        return
    delay = handler.delay()
    reply = handler.handle(q, peer, "udp")
    if q.edns_size is None and len(reply) > 512:
        # Too big for a plain UDP client: header + question with TC set.
        reply = reply[:2] + bytes([reply[2] | 0x02, reply[3]]) + b"\x00\x01" + bytes(6) + q.question
    if delay > 0:
        time.sleep(delay)
    try:
        sock.sendto(reply, peer)
    except OSError as e:
        lc.log("udp send to %s: %s", peer[0], e)


def serve_tcp(lsock, handler):
    while True:
        conn, peer = lsock.accept()
        lc.spawn(tcp_conn, conn, peer, handler)


def tcp_conn(conn, peer, handler):
    conn.settimeout(10)
    try:
        while True:
            buf = d.tcp_read_message(conn)
            if buf is None:
                return
            try:
                q = d.Query(buf)
            except d.DNSError as e:
                lc.log("tcp %s: malformed query: %s", peer[0], e)
                return
            delay = handler.delay()
            reply = handler.handle(q, peer, "tcp")
            if delay > 0:
                time.sleep(delay)
            conn.sendall(d.tcp_frame(reply))
    except OSError:
        pass
    finally:
        lc.close_quietly(conn)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("mode", choices=["auth", "forward"])
    ap.add_argument("--listen", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--zone", help="zone file (auth)")
    ap.add_argument("--settings", help="settings file, re-read on change (auth)")
    ap.add_argument("--upstream", help="upstream server address (forward)")
    ap.add_argument("--rules", help="censorship rules file, re-read on change (forward)")
    ap.add_argument("--ready", help="file to create once listening")
    args = ap.parse_args()
    lc.set_prog("dnsd-" + args.mode)
    lc.exit_on_signals()

    if args.mode == "auth":
        if not args.zone:
            ap.error("auth needs --zone")
        handler = AuthHandler(Zone(args.zone), lc.WatchedFile(args.settings or "", parse_settings))
    else:
        if not args.upstream:
            ap.error("forward needs --upstream")
        handler = ForwardHandler(args.upstream, lc.WatchedFile(args.rules or "", parse_rules))

    usock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    usock.bind((args.listen, args.port))
    tsock = lc.listen_tcp(args.listen, args.port)
    lc.spawn(serve_udp, usock, handler)
    lc.spawn(serve_tcp, tsock, handler)
    lc.log("%s server on %s:%d (udp+tcp)", args.mode, args.listen, args.port)
    lc.announce_ready(args.ready)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
