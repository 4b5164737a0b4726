#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Services of the multi-hop lab (lab/multihop/vigie-multihop), Python 3 standard library only.

One process per service, each started inside a network namespace by vigie-multihop, which
waits for the file given with --ready before going on:

  web        the server: HTTP on :80 and HTTPS on :443 of every address, page chosen by Host
  dns        the server's DNS (UDP): A records from --zone, NXDOMAIN otherwise, answers
             --delay-file milliseconds late (a far-away resolver the forged reply can race)
  mitm       the censor's transparent TLS proxy (nat REDIRECT): a forged certificate to the
             client, a genuine TLS connection to the real server, bytes relayed both ways
  blockpage  the censor's transparent HTTP proxy (nat REDIRECT): Iran's block page for the
             blocked Host names, everything else relayed to the real server
  inject     the censor's on-path DNS injector: it watches its interface toward the client
             (AF_PACKET) and answers queries for the blocked names with a forged A record,
             optionally copying the query's remaining TTL into the reply (--mirror)
"""

import argparse
import http.server
import os
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time

SO_ORIGINAL_DST = 80  # <linux/netfilter_ipv4.h>
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4

_log_lock = threading.Lock()
_name = "mhsvc"


def log(fmt, *args):
    line = fmt % args if args else fmt
    with _log_lock:
        sys.stderr.write("%s %s: %s\n" % (time.strftime("%H:%M:%S"), _name, line))
        sys.stderr.flush()


def ready(path):
    if path:
        with open(path + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(path + ".tmp", path)


def quit_on_signals():
    def bye(signum, _frame):
        os._exit(0)

    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)


def original_dst(sock):
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port = struct.unpack("!H", raw[2:4])[0]
    return socket.inet_ntoa(raw[4:8]), port


def relay(a, b):
    """Copy bytes both ways until either side closes."""

    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

    threading.Thread(target=pump, args=(b, a), daemon=True).start()
    pump(a, b)


def read_head(conn, limit=65536):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def host_of(head):
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(b"host:"):
            return line[5:].strip().decode("ascii", "replace").split(":")[0].lower()
    return ""


# ------------------------------------------------------------------------------------ web

def page(host):
    return ("<!DOCTYPE html>\n<html><head><title>%s</title></head>\n<body><h1>%s</h1>\n"
            "<p>The genuine site of %s in the vigie multi-hop lab.</p></body></html>\n"
            % (host, host, host)).encode()


class Site(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "multihop-web"

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        body = page(host or "unknown")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, fmt, *args):
        log("%s %s", self.client_address[0], fmt % args)


class ThreadedHTTP(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def cmd_web(a):
    plain = ThreadedHTTP(("0.0.0.0", 80), Site)
    tls = ThreadedHTTP(("0.0.0.0", 443), Site)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True, do_handshake_on_connect=False)
    for srv in (plain, tls):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    ready(a.ready)
    while True:
        time.sleep(3600)


# ------------------------------------------------------------------------------------ dns

def parse_query(data):
    """(id, flags, qname, qtype, end of question) of a DNS query, or None."""
    if len(data) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    if flags & 0x8000 or qd != 1:
        return None
    labels, off = [], 12
    while off < len(data):
        n = data[off]
        off += 1
        if n == 0:
            break
        if n > 63 or off + n > len(data):
            return None
        labels.append(data[off:off + n].decode("ascii", "replace").lower())
        off += n
    if off + 4 > len(data):
        return None
    qtype = struct.unpack("!H", data[off:off + 2])[0]
    return qid, flags, ".".join(labels), qtype, off + 4


def dns_reply(query, parsed, addr, rcode=0):
    qid, flags, _name_, qtype, qend = parsed
    question = query[12:qend]
    answers = b""
    if addr is not None and qtype == 1:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
    head = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100) | rcode, 1,
                       1 if answers else 0, 0, 0)
    return head + question + answers


def load_zone(path):
    zone = {}
    with open(path) as f:
        for line in f:
            parts = line.split("#")[0].split()
            if len(parts) == 2:
                zone[parts[0].lower().rstrip(".")] = parts[1]
    return zone


def cmd_dns(a):
    zone = load_zone(a.zone)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((a.listen, 53))

    def delay_ms():
        try:
            with open(a.delay_file) as f:
                return int(f.read().strip() or "0")
        except (OSError, ValueError):
            return 0

    def answer(data, peer):
        parsed = parse_query(data)
        if parsed is None:
            return
        name, qtype = parsed[2], parsed[3]
        ms = delay_ms()
        if ms > 0:
            time.sleep(ms / 1000.0)
        if name in zone:
            reply = dns_reply(data, parsed, zone[name] if qtype == 1 else None)
        else:
            reply = dns_reply(data, parsed, None, rcode=3)
        sock.sendto(reply, peer)
        log("%s asked %s type %d: %s", peer[0], name, qtype, zone.get(name, "NXDOMAIN"))

    ready(a.ready)
    while True:
        data, peer = sock.recvfrom(4096)
        threading.Thread(target=answer, args=(data, peer), daemon=True).start()


# ------------------------------------------------------------------------------------ mitm

def cmd_mitm(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    up_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    up_ctx.check_hostname = False
    up_ctx.verify_mode = ssl.CERT_NONE
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    host, port = a.listen.rsplit(":", 1)
    lsock.bind((host, int(port)))
    lsock.listen(64)

    def remember_sni(sock, name, _ctx):
        sock.vgm_sni = name

    ctx.sni_callback = remember_sni

    def serve(conn):
        try:
            dst = original_dst(conn)
            tconn = ctx.wrap_socket(conn, server_side=True)
            name = getattr(tconn, "vgm_sni", None)
            log("intercepted %s:%d (SNI %s)", dst[0], dst[1], name)
            up = socket.create_connection(dst, timeout=5)
            up.settimeout(None)
            tup = up_ctx.wrap_socket(up, server_hostname=name or dst[0])
            relay(tconn, tup)
        except (OSError, ssl.SSLError) as e:
            log("connection ended: %s", e)
            try:
                conn.close()
            except OSError:
                pass

    ready(a.ready)
    while True:
        conn, _peer = lsock.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


# ------------------------------------------------------------------------------- blockpage

IRAN_PAGE = (b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256">'
             b'<title>M5-8</title></head><body><iframe src="http://10.10.34.34?type=Invalid Site'
             b'&policy=MainPolicy " style="width: 100%; height: 100%" scrolling="no" '
             b'marginwidth="0" marginheight="0" frameborder="0" vspace="0" hspace="0">'
             b'</iframe></body></html>\r\n')


def cmd_blockpage(a):
    names = {n.lower() for n in a.names}
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    host, port = a.listen.rsplit(":", 1)
    lsock.bind((host, int(port)))
    lsock.listen(64)

    def serve(conn):
        try:
            dst = original_dst(conn)
            head = read_head(conn)
            host_ = host_of(head)
            if host_ in names:
                log("block page for %s (%s:%d)", host_, dst[0], dst[1])
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                             b"Connection: close\r\n\r\n" + IRAN_PAGE)
                conn.close()
                return
            log("relaying %s to %s:%d", host_, dst[0], dst[1])
            up = socket.create_connection(dst, timeout=5)
            up.settimeout(None)
            up.sendall(head)
            relay(conn, up)
        except OSError as e:
            log("connection ended: %s", e)
            try:
                conn.close()
            except OSError:
                pass

    ready(a.ready)
    while True:
        conn, _peer = lsock.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


# ---------------------------------------------------------------------------------- inject

def ip_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def forged_packet(src, dst, sport, dport, payload, ttl):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x4242, 0, ttl, 17, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", ip_checksum(hdr)) + hdr[12:]
    return hdr + udp


def blocked(name, names):
    return any(name == n or name.endswith("." + n) for n in names)


def cmd_inject(a):
    names = [n.lower().rstrip(".") for n in a.names]
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    sniff.bind((a.iface, ETH_P_IP))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    ready(a.ready)
    while True:
        pkt, meta = sniff.recvfrom(65535)
        if meta[2] == PACKET_OUTGOING or len(pkt) < 28 or pkt[0] >> 4 != 4 or pkt[9] != 17:
            continue
        ihl = (pkt[0] & 0x0F) * 4
        ttl = pkt[8]
        src, dst = socket.inet_ntoa(pkt[12:16]), socket.inet_ntoa(pkt[16:20])
        sport, dport = struct.unpack("!HH", pkt[ihl:ihl + 4])
        if dport != 53:
            continue
        query = pkt[ihl + 8:]
        parsed = parse_query(query)
        if parsed is None or not blocked(parsed[2], names):
            continue
        reply = dns_reply(query, parsed, a.forged)
        # The Triplet Censors' injector copies the TTL the query arrived with.
        out_ttl = ttl if a.mirror else 64
        raw.sendto(forged_packet(dst, src, dport, sport, reply, out_ttl), (src, 0))
        log("forged %s -> %s for %s (query TTL %d, reply TTL %d)", dst, src, parsed[2], ttl,
            out_ttl)


def main():
    global _name
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("web")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s = sub.add_parser("dns")
    s.add_argument("--listen", required=True)
    s.add_argument("--zone", required=True)
    s.add_argument("--delay-file", required=True)
    s = sub.add_parser("mitm")
    s.add_argument("--listen", required=True)
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s = sub.add_parser("blockpage")
    s.add_argument("--listen", required=True)
    s.add_argument("names", nargs="+")
    s = sub.add_parser("inject")
    s.add_argument("--iface", required=True)
    s.add_argument("--forged", required=True)
    s.add_argument("--mirror", action="store_true")
    s.add_argument("names", nargs="+")
    for name, sp in sub.choices.items():
        sp.add_argument("--ready", required=True)
    a = p.parse_args()
    _name = a.cmd
    quit_on_signals()
    {"web": cmd_web, "dns": cmd_dns, "mitm": cmd_mitm, "blockpage": cmd_blockpage,
     "inject": cmd_inject}[a.cmd](a)


if __name__ == "__main__":
    main()
