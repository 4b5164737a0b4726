#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""On-path DNS injector, in the style of the Great Firewall.

It watches the client-facing interface of the censor with an AF_PACKET
socket (it sees a copy; the query itself is forwarded untouched), and for
every UDP query to port 53 whose name is on the list -- whatever address
the query was sent to -- it immediately sends a forged reply from a raw
socket:
  * source address and port = the query's destination, so the reply looks
    like it came from the resolver that was asked (even one that does not
    exist);
  * a random IP TTL per packet (real injectors do not keep the TTL of the
    path, Duan et al. 2012 "Hold-On");
  * the query's ID and question, one A record with the forged address.
The real server's answer arrives later, so a client that keeps listening
sees two replies.

  dnsinject.py --iface to-client --forge 203.0.113.66 www.facebook.com ...

Names match exactly or as a parent domain (facebook.com matches www.facebook.com).
"""

import argparse
import ipaddress
import random
import socket
import struct
import sys

import labcommon as lc
import labdns as d

ETH_P_IP = 0x0800
PACKET_OUTGOING = 4


def checksum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def udp_packet(src, dst, sport, dport, payload, ttl):
    """An IPv4 + UDP datagram with correct checksums."""
    src_b = ipaddress.IPv4Address(src).packed
    dst_b = ipaddress.IPv4Address(dst).packed
    ulen = 8 + len(payload)
    pseudo = src_b + dst_b + struct.pack("!BBH", 0, socket.IPPROTO_UDP, ulen)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip_id = random.randint(0, 0xFFFF)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, ip_id, 0, ttl, socket.IPPROTO_UDP,
                      0, src_b, dst_b)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + udp


def matches(qname, names):
    return any(qname == n or qname.endswith("." + n) for n in names)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--iface", required=True, help="interface to watch (client side)")
    ap.add_argument("--forge", required=True, help="IPv4 address put in forged A answers")
    ap.add_argument("--aaaa", help="IPv6 address for forged AAAA answers (default: none)")
    ap.add_argument("--count", type=int, default=1,
                    help="forged replies per query (1-3 like the GFW; up to 300 for a flood)")
    ap.add_argument("--ttl-dns", type=int, default=60, help="DNS TTL of the forged record")
    ap.add_argument("--ready")
    ap.add_argument("names", nargs="+")
    args = ap.parse_args()
    lc.set_prog("dnsinject")
    lc.exit_on_signals()
    names = [n.rstrip(".").lower() for n in args.names]
    ipaddress.IPv4Address(args.forge)

    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    sniff.bind((args.iface, ETH_P_IP))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    lc.log("watching %s; forging %s for %s", args.iface, args.forge, " ".join(names))
    lc.announce_ready(args.ready)

    while True:
        pkt, meta = sniff.recvfrom(65535)
        if meta[2] == PACKET_OUTGOING or len(pkt) < 28:
            continue
        ihl = (pkt[0] & 0x0F) * 4
        if pkt[0] >> 4 != 4 or pkt[9] != socket.IPPROTO_UDP or len(pkt) < ihl + 8:
            continue
        if struct.unpack_from("!H", pkt, 6)[0] & 0x3FFF:
            continue  # a fragment: not a whole query
        sport, dport = struct.unpack_from("!HH", pkt, ihl)
        if dport != 53:
            continue
        src = socket.inet_ntoa(pkt[12:16])
        dst = socket.inet_ntoa(pkt[16:20])
        try:
            q = d.Query(pkt[ihl + 8:])
        except d.DNSError:
            continue
        if not matches(q.qname, names):
            continue
        if q.qtype == d.TYPE_A:
            answers = [d.a_rr(q.qname, args.forge, args.ttl_dns)]
        elif q.qtype == d.TYPE_AAAA and args.aaaa:
            answers = [d.aaaa_rr(q.qname, args.aaaa, args.ttl_dns)]
        else:
            continue
        reply = d.build_reply(q, d.RCODE_NOERROR, answers, aa=False, ra=True)
        count = max(1, min(args.count, 300))
        for i in range(count):
            ttl = random.randint(1, 255)
            try:
                raw.sendto(udp_packet(dst, src, 53, sport, reply, ttl), (src, 0))
            except OSError as e:
                lc.log("send to %s failed: %s", src, e)
                continue
            if i < 3:
                lc.log("query %s:%d -> %s %s %s: forged %s (ip ttl %d)", src, sport, dst, q.qname,
                       q.type_name(), args.forge, ttl)
        if count > 3:
            lc.log("query %s:%d -> %s %s %s: %d forged replies in all", src, sport, dst, q.qname,
                   q.type_name(), count)


if __name__ == "__main__":
    sys.exit(main())
