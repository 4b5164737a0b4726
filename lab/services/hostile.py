#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Lying servers of the lab: DNS, HTTP and TLS peers that break every rule a
client may rely on, to prove that vigie's probe stays bounded (time, memory)
and records a failure instead of crashing or hanging.

  hostile.py dns  --listen 192.0.2.1 --port 10053 --upstream 203.0.113.53 \\
                  --mode MODE NAME...
      The censor REDIRECTs the client's UDP/53 here.  Queries for NAME (or a
      subdomain) get the hostile reply; any other query is relayed to the
      upstream server and its reply returned untouched.  MODE:
        ptr-loop   the answer's owner name is a compression pointer to itself
        truncated  a correct reply cut in the middle of its last record
        oversized  a correct answer followed by > 4096 bytes of additional
                   records (the query had no EDNS0: 512 bytes allowed)
        wrong-id   three correct replies, none with the query's ID

  hostile.py http --listen ADDR --port 80 --mode MODE
      After reading the request head, answers with MODE:
        garbage         64 KiB of binary bytes without a single LF
        endless-header  "HTTP/1.1 200 OK", then one header line that never ends
        many-headers    100,000 header fields
        huge-body       Content-Length: 1 GiB, streamed at ~32 MiB/s from one
                        buffer (a client that reads it all needs ~30 s)
        chunk-overflow  chunked body whose second chunk size is 21 hex digits
        trickle         a valid response, one byte per second

  hostile.py tls  --listen ADDR --port 443 --mode MODE [--cert PEM --key PEM]
        long-chain          a real handshake with --cert (leaf + 99 CAs)
        huge-cert           a real handshake with --cert (a ~1 MiB leaf)
        garbage-after-hello a TLS 1.2 ServerHello, then garbage records
        endless-handshake   reads the ClientHello, then one byte per second

Every connection ends after --max-seconds (default 120) whatever the client
does, and its end is logged with the bytes sent (how far the client read).
"""

import argparse
import os
import random
import select
import socket
import ssl
import struct
import sys
import threading
import time

import labcommon as lc
import labdns as d

MAX_HEAD = 16384
FILLER = (b"vigie-lab hostile filler " * 2622)[:65536]


# ---------------------------------------------------------------- DNS

def matches(qname, names):
    return any(qname == n or qname.endswith("." + n) for n in names)


def txt_rr(name, text):
    rdata = b""
    while text:
        part, text = text[:255], text[255:]
        rdata += bytes([len(part)]) + part
    return d.rr(name, 16, 300, rdata)


def dns_replies(q, mode, truth):
    """The datagrams sent back for a query of a hostile name."""
    real = truth if truth is not None else d.build_reply(q, d.RCODE_SERVFAIL)
    if mode == "ptr-loop":
        # RFC 1035 4.1.4: a pointer refers to a prior occurrence of a name.  This one refers
        # to itself: a decoder that follows it blindly never ends.
        off = 12 + len(q.question)
        loop = bytes([0xC0 | (off >> 8), off & 0xFF])
        answer = loop + struct.pack("!HHIH", d.TYPE_A, 1, 300, 4) + bytes([198, 51, 100, 20])
        head = struct.pack("!6H", q.id, 0x8180 | (q.flags & 0x0100), 1, 1, 0, 0)
        return [head + q.question + answer]
    if mode == "truncated":
        # ANCOUNT promises records that end in the middle: not a TC reply, a cut one.
        return [real[:max(12 + len(q.question) + 5, len(real) - 3)]]
    if mode == "oversized":
        # The true answer, then 24 TXT records of 250 bytes (> 6000 bytes in all).
        pad = [txt_rr(q.qname, (b"%03d" % i) * 83 + b"x") for i in range(24)]
        flags, qd, an, ns, ar = struct.unpack_from("!5H", real, 2)
        head = struct.pack("!6H", q.id, flags, qd, an, ns, ar + len(pad))
        return [head + real[12:] + b"".join(pad)]
    if mode == "wrong-id":
        return [struct.pack("!H", (q.id + k * 0x1111) & 0xFFFF) + real[2:] for k in (1, 2, 3)]
    raise ValueError(mode)


def dns_upstream(raw, upstream, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.connect((upstream, 53))
        s.send(raw)
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            reply = s.recv(65535)
            if reply[:2] == raw[:2]:
                return reply
    except OSError:
        return None
    finally:
        s.close()


def dns_one(sock, buf, peer, args, names):
    try:
        q = d.Query(buf)
    except d.DNSError as e:
        lc.log("udp %s: malformed query: %s", peer[0], e)
        return
    truth = dns_upstream(buf, args.upstream)
    if not matches(q.qname, names):
        if truth is not None:
            sock.sendto(truth, peer)
        lc.log("%s %s %s: relayed", peer[0], q.qname, q.type_name())
        return
    sizes = []
    for reply in dns_replies(q, args.mode, truth):
        try:
            sock.sendto(reply, peer)
            sizes.append(len(reply))
        except OSError as e:
            lc.log("send to %s: %s", peer[0], e)
    lc.log("%s %s %s: %s, sent %s bytes", peer[0], q.qname, q.type_name(), args.mode,
           "+".join(str(n) for n in sizes))


def serve_dns(args):
    names = [n.rstrip(".").lower() for n in args.names]
    if not names:
        raise SystemExit("dns: give at least one NAME")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.listen, args.port))
    lc.log("dns on %s:%d, %s for %s", args.listen, args.port, args.mode, " ".join(names))
    lc.announce_ready(args.ready)
    while True:
        buf, peer = sock.recvfrom(65535)
        lc.spawn(dns_one, sock, buf, peer, args, names)


# ---------------------------------------------------------------- TCP helpers

class Conn:
    """One client connection: bounded life, byte count, quiet ends."""

    def __init__(self, sock, peer, max_seconds):
        self.sock = sock
        self.peer = peer
        self.sent = 0
        self.deadline = time.monotonic() + max_seconds

    def alive(self):
        return time.monotonic() < self.deadline

    def send(self, data):
        """False once the client is gone or the connection's time is up."""
        if not self.alive():
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        self.sent += len(data)
        return True

    def closed_by_peer(self, wait=0.0):
        """True when the client has closed (EOF or reset) within wait seconds."""
        try:
            r, _w, _x = select.select([self.sock], [], [], wait)
            if not r:
                return False
            return self.sock.recv(4096) == b""
        except (OSError, ValueError):
            return True

    def linger(self):
        """Keep the connection open until the client leaves or time is up."""
        while self.alive() and not self.closed_by_peer(0.5):
            pass

    def trickle(self, data, interval=1.0):
        for i in range(len(data)):
            if not self.send(data[i:i + 1]):
                return False
            if self.closed_by_peer(interval):
                return False
        return True


def read_head(sock, timeout=5.0):
    sock.settimeout(timeout)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf and len(buf) < MAX_HEAD:
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
    except OSError:
        pass
    sock.settimeout(None)
    return buf


def serve_tcp(args, handler):
    lsock = lc.listen_tcp(args.listen, args.port, backlog=128)
    lc.log("%s on %s:%d, mode %s", args.kind, args.listen, args.port, args.mode)
    lc.announce_ready(args.ready)
    while True:
        sock, peer = lsock.accept()
        lc.spawn(run_conn, handler, sock, peer, args)


def run_conn(handler, sock, peer, args):
    c = Conn(sock, peer, args.max_seconds)
    t0 = time.monotonic()
    why = "done"
    try:
        why = handler(c, args) or "done"
    except OSError as e:
        why = "error: %s" % e
    finally:
        lc.close_quietly(sock)
    lc.log("%s:%d %s: %s after %.1f s, %d bytes sent", peer[0], peer[1], args.mode, why,
           time.monotonic() - t0, c.sent)


# ---------------------------------------------------------------- HTTP

def http_garbage(c, _args):
    rnd = random.Random(7)
    junk = bytes(rnd.randrange(256) for _ in range(65536)).replace(b"\n", b"\x00")
    c.send(junk)
    c.linger()
    return "garbage sent"


def http_endless_header(c, _args):
    if not c.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Endless: "):
        return "client left"
    line = b"a" * 65536
    while c.sent < 64 * 1024 * 1024:
        if not c.send(line):
            return "client left"
    c.linger()
    return "64 MiB header sent"


def http_many_headers(c, _args):
    if not c.send(b"HTTP/1.1 200 OK\r\n"):
        return "client left"
    for start in range(0, 100000, 1000):
        block = b"".join(b"X-Header-%d: %d\r\n" % (i, i) for i in range(start, start + 1000))
        if not c.send(block):
            return "client left after %d headers" % start
    c.send(b"Content-Length: 0\r\n\r\n")
    c.linger()
    return "100000 headers sent"


def http_huge_body(c, _args):
    total = 1 << 30
    if not c.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                  b"Content-Length: %d\r\n\r\n" % total):
        return "client left"
    head = c.sent
    rate = 32 * 1024 * 1024  # bytes per second
    t0 = time.monotonic()
    while c.sent - head < total:
        if not c.send(FILLER[:min(len(FILLER), total - (c.sent - head))]):
            return "client closed after %d body bytes" % (c.sent - head)
        ahead = (c.sent - head) / rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
    return "whole 1 GiB body sent"


def http_chunk_overflow(c, _args):
    c.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n" + b"f" * 21 + b"\r\n" + FILLER[:8192])
    c.linger()
    return "overflowing chunk size sent"


def http_trickle(c, _args):
    body = b"<html><head><title>slow</title></head><body>" + b"." * 200 + b"</body></html>\n"
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
            % len(body)) + body
    if c.trickle(resp):
        return "whole response trickled"
    return "client left"


HTTP_MODES = {
    "garbage": http_garbage,
    "endless-header": http_endless_header,
    "many-headers": http_many_headers,
    "huge-body": http_huge_body,
    "chunk-overflow": http_chunk_overflow,
    "trickle": http_trickle,
}


def http_handler(c, args):
    head = read_head(c.sock)
    if not head:
        return "no request"
    return HTTP_MODES[args.mode](c, args)


# ---------------------------------------------------------------- TLS

def read_record(sock, timeout=5.0):
    """One TLS record (header + body) or b"" on EOF/timeout."""
    sock.settimeout(timeout)
    buf = b""
    try:
        while len(buf) < 5:
            chunk = sock.recv(5 - len(buf))
            if not chunk:
                return b""
            buf += chunk
        (n,) = struct.unpack("!H", buf[3:5])
        while len(buf) < 5 + n:
            chunk = sock.recv(5 + n - len(buf))
            if not chunk:
                return b""
            buf += chunk
    except OSError:
        return b""
    finally:
        sock.settimeout(None)
    return buf


def client_hello_fields(rec):
    """(session id, [cipher suites]) of a ClientHello record; ValueError if it is not one."""
    if len(rec) < 5 + 4 + 2 + 32 + 1 or rec[0] != 0x16 or rec[5] != 1:
        raise ValueError("not a ClientHello")
    p = 5 + 4 + 2 + 32
    sid_len = rec[p]
    sid = rec[p + 1:p + 1 + sid_len]
    p += 1 + sid_len
    (cs_len,) = struct.unpack_from("!H", rec, p)
    suites = [struct.unpack_from("!H", rec, p + 2 + i)[0] for i in range(0, cs_len, 2)]
    return sid, suites


def server_hello(sid, suite):
    """A TLS 1.2 ServerHello record with renegotiation_info (RFC 5746), which OpenSSL's
    client requires, and nothing else."""
    ext = struct.pack("!HHB", 0xFF01, 1, 0)
    body = (struct.pack("!H", 0x0303) + os.urandom(32) + bytes([len(sid)]) + sid
            + struct.pack("!HB", suite, 0) + struct.pack("!H", len(ext)) + ext)
    hs = bytes([2]) + struct.pack("!I", len(body))[1:] + body
    return bytes([0x16, 0x03, 0x03]) + struct.pack("!H", len(hs)) + hs


def tls_garbage_after_hello(c, _args):
    rec = read_record(c.sock)
    try:
        sid, suites = client_hello_fields(rec)
    except (ValueError, struct.error):
        return "no ClientHello"
    tls12 = [s for s in (0xC02F, 0xC02B, 0xC030, 0xC02C, 0x009C) if s in suites]
    if not tls12:
        return "no TLS 1.2 suite offered"
    rnd = random.Random(11)
    junk = bytes(rnd.randrange(256) for _ in range(4096))
    # A handshake record full of noise, then bytes that are no record at all.
    c.send(server_hello(sid, tls12[0]) + bytes([0x16, 0x03, 0x03, 0x10, 0x00]) + junk + junk)
    c.linger()
    return "ServerHello + garbage sent"


def tls_endless_handshake(c, _args):
    if not read_record(c.sock):
        return "no ClientHello"
    # The head of a ServerHello record promising 16 KiB, then filler, one byte a second.
    data = bytes([0x16, 0x03, 0x03, 0x40, 0x00, 0x02, 0x00, 0x3F, 0xFB]) + FILLER
    if c.trickle(data):
        return "whole record trickled"
    return "client left"


def tls_real(c, args):
    ctx = args.tls_ctx
    try:
        c.sock.settimeout(10)
        tls = ctx.wrap_socket(c.sock, server_side=True)
    except (OSError, ssl.SSLError) as e:
        return "handshake failed: %s" % e
    c.sock = tls
    head = read_head(tls)
    if head:
        body = b"<html><head><title>hostile</title></head><body>hostile</body></html>\n"
        c.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
               b"Connection: close\r\n\r\n" % len(body) + body)
    return "handshake done"


TLS_MODES = {
    "long-chain": tls_real,
    "huge-cert": tls_real,
    "garbage-after-hello": tls_garbage_after_hello,
    "endless-handshake": tls_endless_handshake,
}


def tls_handler(c, args):
    return TLS_MODES[args.mode](c, args)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("kind", choices=["dns", "http", "tls"])
    ap.add_argument("--listen", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--upstream", default="203.0.113.53", help="dns: where other names go")
    ap.add_argument("--cert", help="tls: certificate chain (PEM)")
    ap.add_argument("--key", help="tls: private key (PEM)")
    ap.add_argument("--max-seconds", type=float, default=120.0,
                    help="life of one connection, whatever the client does")
    ap.add_argument("--ready")
    ap.add_argument("names", nargs="*", help="dns: the names that get hostile replies")
    args = ap.parse_intermixed_args()
    lc.set_prog("hostile-" + args.kind)
    lc.exit_on_signals()
    modes = {"dns": ("ptr-loop", "truncated", "oversized", "wrong-id"),
             "http": tuple(HTTP_MODES), "tls": tuple(TLS_MODES)}[args.kind]
    if args.mode not in modes:
        ap.error("%s modes: %s" % (args.kind, ", ".join(modes)))
    if args.kind == "dns":
        serve_dns(args)
    elif args.kind == "http":
        serve_tcp(args, http_handler)
    else:
        if args.mode in ("long-chain", "huge-cert"):
            if not (args.cert and args.key):
                ap.error("%s needs --cert and --key" % args.mode)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(args.cert, args.key)
            args.tls_ctx = ctx
        serve_tcp(args, tls_handler)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
