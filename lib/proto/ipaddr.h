/* SPDX-License-Identifier: MIT */
/* ipaddr.h - classification of IP addresses (bogons), no I/O. */
#ifndef VG_PROTO_IPADDR_H
#define VG_PROTO_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vg_ip_class {
    VG_IP_PUBLIC = 0,
    VG_IP_LOOPBACK,  /* 127/8, ::1 */
    VG_IP_PRIVATE,   /* 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7 */
    VG_IP_LINKLOCAL, /* 169.254/16, fe80::/10 */
    VG_IP_UNSPEC,    /* 0/8, :: */
    VG_IP_MULTICAST, /* 224/4, ff00::/8 */
    VG_IP_RESERVED,  /* 240/4, 255.255.255.255, 192.0.0/24, 198.18/15, ::ffff:0:0/96, ... */
    VG_IP_DOC,       /* 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32 (documentation) */
};

/* Classify a textual IPv4 or IPv6 address; returns -1 when s is not an IP address. */
int vg_ip_classify(const char *s);
/* Same for raw bytes: family 4 (4 bytes) or 6 (16 bytes). */
enum vg_ip_class vg_ip_classify_raw(int family, const uint8_t *addr);
/* OONI's bogon notion (internal/netxlite/bogon.go): everything but VG_IP_PUBLIC. */
bool vg_ip_is_bogon(const char *s);
/* Short name of a class ("loopback", "private", ...). */
const char *vg_ip_class_name(enum vg_ip_class c);

/* The IP part of an endpoint "ip:port" / "[ip6]:port" into ip (cap bytes, brackets removed);
 * false when ep is NULL, has no port separator, or the IP part is empty or does not fit. The IP
 * part is not validated. */
bool vg_ip_from_endpoint(const char *ep, char *ip, size_t cap);
/* Two textual addresses name the same IP (IPv4-mapped IPv6 equals its IPv4 form); strings that
 * are not both addresses are compared as text. */
bool vg_ip_equal(const char *a, const char *b);

#endif
