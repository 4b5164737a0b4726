/* SPDX-License-Identifier: MIT */
/* ipaddr.h - IP addresses as text: bogon classification, endpoints ("ip:port"), equality, and
 * finding every textual form of given addresses in text (the scrubbers'); no I/O. */
#ifndef VG_PROTO_IPADDR_H
#define VG_PROTO_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Bytes of the longest textual address and its NUL (INET6_ADDRSTRLEN). */
#define VG_IP_TEXT_MAX 46

enum vg_ip_class {
    VG_IP_PUBLIC = 0,
    VG_IP_LOOPBACK,  /* 127/8, ::1 */
    VG_IP_PRIVATE,   /* 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7 */
    VG_IP_LINKLOCAL, /* 169.254/16, fe80::/10 */
    VG_IP_UNSPEC,    /* 0/8, :: */
    VG_IP_MULTICAST, /* 224/4, ff00::/8 */
    /* 240/4 (with 255.255.255.255), 192.0.0/24, 198.18/15, 100::/64; the IPv6 forms that embed
     * an IPv4 address: ::/96, ::ffff:0:0/96, ::ffff:0:0:0/96, 64:ff9b::/96, 64:ff9b:1::/48,
     * 2001::/32 (Teredo), 2002::/16 (6to4) */
    VG_IP_RESERVED,
    VG_IP_DOC, /* 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32 (documentation) */
};

/* Classify a textual IPv4 or IPv6 address; returns -1 when s is not an IP address. */
int vg_ip_classify(const char *s);
/* Same for raw bytes: family 4 (4 bytes) or 6 (16 bytes). */
enum vg_ip_class vg_ip_classify_raw(int family, const uint8_t *addr);
/* OONI's bogon notion (internal/netxlite/bogon.go): everything but VG_IP_PUBLIC. */
bool vg_ip_is_bogon(const char *s);
/* vg_ip_is_bogon with vigie's lab exception: when doc_public, the documentation ranges
 * (VG_IP_DOC) count as public. The one bogon test of the helper ("not an open proxy"). */
bool vg_ip_is_bogon_lab(const char *s, bool doc_public);
/* Short name of a class ("loopback", "private", ...). */
const char *vg_ip_class_name(enum vg_ip_class c);

/* The IP part of an endpoint "ip:port" / "[ip6]:port" into ip (cap bytes, brackets removed);
 * false when ep is NULL, has no port separator, or the IP part is empty or does not fit. The IP
 * part is not validated. */
bool vg_ip_from_endpoint(const char *ep, char *ip, size_t cap);
/*
 * Split "HOST:PORT" / "[HOST]:PORT" as Go's net.SplitHostPort does: *host and *hlen get the host
 * without brackets (pointing into s), *port the port, decimal in 0..65535; an unbracketed host
 * with a colon (IPv6 needs brackets) is refused. len bytes of s, not NUL-terminated. 0, or a
 * negative VG_E* code.
 */
VG_MUST_USE int vg_ip_split_hostport(const char *s, size_t len, const char **host, size_t *hlen,
                                     uint16_t *port);
/* The canonical text (inet_ntop) of the IP address in s (len bytes, not NUL-terminated) into out;
 * returns its family, 4 or 6, or 0 (out untouched) when s is not an IP address. */
int vg_ip_canon(const char *s, size_t len, char out[VG_IP_TEXT_MAX]);
/* Two textual addresses name the same IP (IPv4-mapped IPv6 equals its IPv4 form); strings that
 * are not both addresses are compared as text. */
bool vg_ip_equal(const char *a, const char *b);

/* ---- a set of addresses to find in text ---------------------------------------------------- */

/* Addresses a set holds at most. */
#define VG_IP_SET_MAX 32

/* Addresses as 16 bytes each (IPv4 as its IPv4-mapped IPv6 form, ::ffff:a.b.c.d), so that every
 * spelling of one address compares equal. Zero it before use ({0} or memset). */
struct vg_ip_set {
    size_t n;
    uint8_t addr[VG_IP_SET_MAX][16];
};

/* Add the address written in s (len bytes, not NUL-terminated; IPv4, IPv6 in any spelling).
 * 0 (also when it is already there), VG_EINVAL when s is not an IP address, VG_ETOOBIG when the
 * set is full. */
VG_MUST_USE int vg_ip_set_add(struct vg_ip_set *set, const char *s, size_t len);
/* addr (16 bytes, IPv4 mapped) is in the set. */
bool vg_ip_set_has(const struct vg_ip_set *set, const uint8_t addr[16]);

/*
 * Finding the addresses of a set written in text (s: len bytes, not NUL-terminated, any bytes),
 * whole, in order, in one pass without allocation. Text is cut into runs of the characters of
 * addresses ([0-9A-Fa-f:.]); a run is one address's text when inet_pton reads it as one, without
 * the dots at its ends (a sentence's period) and one colon at either end ("ip:2001:db8::1");
 * else the dotted quads inside it that are delimited by anything but a digit or a dot are read
 * as IPv4 ("192.0.2.7:443", "::ffff:192.0.2.7:80"). So 2001:DB8:0:0::77, 2001:db8::77 and
 * 2001:0db8:0000:0000:0000:0000:0000:0077 name one address, and ::ffff:192.0.2.7 names
 * 192.0.2.7, while 192.0.2.71, 10.192.0.2.7 and 2001:db8::77:1 are other addresses, never a
 * part of them. Leading zeros in a dotted quad are not an IPv4 address (inet_pton).
 */
struct vg_ip_scan {
    const char *s;
    size_t len;
    size_t next;       /* where the current run ended: the next one starts after */
    size_t dot, colon; /* the next '.' and ':' past it (len: none) */
    size_t sub;        /* the current run's dotted quads still to read: [sub, run_end) */
    size_t run_end;
};

/* Start a scan of s (borrowed for the scan's life). */
void vg_ip_scan_init(struct vg_ip_scan *sc, const char *s, size_t len);
/* The next match: true with *off and *n the bytes of an address of set, false at the end. */
bool vg_ip_scan_next(struct vg_ip_scan *sc, const struct vg_ip_set *set, size_t *off, size_t *n);
/* The first match in s[from, len) (a scan of that part: s[from] starts a run). */
bool vg_ip_set_find(const struct vg_ip_set *set, const char *s, size_t len, size_t from,
                    size_t *off, size_t *n);

#endif
