/* SPDX-License-Identifier: MIT */
/*
 * dns.h - DNS message encoding and decoding (RFC 1035), no I/O.
 *
 * vg_dns_parse() reads hostile bytes through the bounded reader: names with
 * compression pointers are followed at most VG_DNS_MAX_JUMPS times and only
 * backwards, labels and names are length-checked, counts are capped at
 * VG_DNS_MAX_RR, and every section is walked so that a truncated or
 * malformed reply is an error, never a crash.
 */
#ifndef VG_PROTO_DNS_H
#define VG_PROTO_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/limits.h"

#define VG_DNS_TYPE_A     1
#define VG_DNS_TYPE_CNAME 5
#define VG_DNS_TYPE_AAAA  28
#define VG_DNS_CLASS_IN   1

#define VG_DNS_RCODE_NOERROR  0
#define VG_DNS_RCODE_FORMERR  1
#define VG_DNS_RCODE_SERVFAIL 2
#define VG_DNS_RCODE_NXDOMAIN 3
#define VG_DNS_RCODE_NOTIMP   4
#define VG_DNS_RCODE_REFUSED  5

struct vg_dns_rr {
    uint16_t type;
    uint16_t cls;
    uint32_t ttl;
    char name[VG_DNS_NAME_MAX + 1]; /* presentation form, lower case, no final dot */
    union {
        uint8_t a[4];
        uint8_t aaaa[16];
        char cname[VG_DNS_NAME_MAX + 1];
    } u; /* filled for A, AAAA and CNAME; other types are counted but keep no data */
};

struct vg_dns_msg {
    uint16_t id;
    uint16_t flags; /* raw header flags word */
    uint8_t rcode;  /* low 4 bits of flags */
    bool qr;        /* response bit */
    bool tc;        /* truncated bit */
    uint16_t qdcount, ancount, nscount, arcount;
    char qname[VG_DNS_NAME_MAX + 1]; /* first question, lower case; "" if none */
    uint16_t qtype;
    uint16_t qclass;
    size_t n_rr; /* answers kept in rr[] (at most VG_DNS_MAX_RR) */
    struct vg_dns_rr rr[VG_DNS_MAX_RR];
};

/*
 * Encode a standard query (RD set, one question, no EDNS) for name (presentation form, an optional
 * final dot is accepted) into out[cap]. *outlen gets the length.
 * Errors: VG_EINVAL (empty name, empty label, label > 63, name > 255), VG_ETOOBIG (cap too small).
 */
VG_MUST_USE int vg_dns_build_query(uint16_t id, const char *name, uint16_t qtype, uint8_t *out,
                                   size_t cap, size_t *outlen);

/*
 * Decode a whole DNS message. On error *msg is left in an unspecified but safe state.
 * Errors: VG_ETRUNC (message shorter than its header or a section), VG_EPROTO (bad label type,
 * forward or looping compression pointer, more than VG_DNS_MAX_JUMPS jumps, RDATA length not
 * matching the type, trailing bytes after the last section), VG_ETOOBIG (name longer than 255).
 * Answers beyond VG_DNS_MAX_RR are validated and skipped.
 */
VG_MUST_USE int vg_dns_parse(const uint8_t *p, size_t len, struct vg_dns_msg *msg);

/* Case-insensitive comparison of two presentation names, ignoring one final dot on either. */
bool vg_dns_name_eq(const char *a, const char *b);

/* Map an rcode to a VG_EDNS_* error (0 for NOERROR). */
int vg_dns_rcode_err(uint8_t rcode);

#endif
