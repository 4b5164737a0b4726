/* SPDX-License-Identifier: MIT */
/*
 * ipaddr.c - bogon classification of IPv4 and IPv6 addresses (RFC 6890 special-purpose registries,
 * as used by OONI's netxlite bogon check). Table driven: the first matching prefix wins, so more
 * specific prefixes come before the ones that contain them.
 */
#include "proto/ipaddr.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "util/err.h"
#include "util/str.h"

_Static_assert(VG_IP_TEXT_MAX == INET6_ADDRSTRLEN, "VG_IP_TEXT_MAX is INET6_ADDRSTRLEN");

struct prefix {
    uint8_t addr[16];
    unsigned bits;
    enum vg_ip_class cls;
};

static const struct prefix v4_prefixes[] = {
    {{0}, 8, VG_IP_UNSPEC},            /* 0/8, RFC 1122 "this network" */
    {{10}, 8, VG_IP_PRIVATE},          /* RFC 1918 */
    {{100, 64}, 10, VG_IP_PRIVATE},    /* RFC 6598 shared (CGNAT) */
    {{127}, 8, VG_IP_LOOPBACK},        /* RFC 1122 */
    {{169, 254}, 16, VG_IP_LINKLOCAL}, /* RFC 3927 */
    {{172, 16}, 12, VG_IP_PRIVATE},    /* RFC 1918 */
    {{192, 0, 0}, 24, VG_IP_RESERVED}, /* RFC 6890 protocol assignments */
    {{192, 0, 2}, 24, VG_IP_DOC},      /* RFC 5737 TEST-NET-1 */
    {{192, 168}, 16, VG_IP_PRIVATE},   /* RFC 1918 */
    {{198, 18}, 15, VG_IP_RESERVED},   /* RFC 2544 benchmarking */
    {{198, 51, 100}, 24, VG_IP_DOC},   /* RFC 5737 TEST-NET-2 */
    {{203, 0, 113}, 24, VG_IP_DOC},    /* RFC 5737 TEST-NET-3 */
    {{224}, 4, VG_IP_MULTICAST},       /* RFC 5771 */
    {{240}, 4, VG_IP_RESERVED},        /* RFC 1112, with 255.255.255.255 */
};

static const struct prefix v6_prefixes[] = {
    {{0}, 128, VG_IP_UNSPEC},                                                /* :: */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, VG_IP_LOOPBACK}, /* ::1 */
    /* Every form that embeds an IPv4 address, which a host or a gateway may reach (NAT64, 6to4,
     * Teredo, SIIT: a way to an internal IPv4 address), is reserved, whatever the embedded
     * address's own class. */
    {{0}, 96, VG_IP_RESERVED},                                        /* RFC 4291 IPv4-compatible */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, VG_IP_RESERVED}, /* ::ffff:0:0/96 mapped */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, VG_IP_RESERVED}, /* ::ffff:0:0:0/96 RFC 2765 SIIT */
    {{0, 0x64, 0xff, 0x9b}, 96, VG_IP_RESERVED},                /* RFC 6052 NAT64 */
    {{0, 0x64, 0xff, 0x9b, 0, 0x01}, 48, VG_IP_RESERVED},       /* RFC 8215 local-use NAT64 */
    {{0x01, 0x00}, 64, VG_IP_RESERVED},                         /* RFC 6666 discard */
    {{0x20, 0x01, 0, 0}, 32, VG_IP_RESERVED},                   /* RFC 4380 Teredo */
    {{0x20, 0x02}, 16, VG_IP_RESERVED},                         /* RFC 3056 6to4 */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, VG_IP_DOC},                  /* RFC 3849 */
    {{0xfc}, 7, VG_IP_PRIVATE},                                 /* RFC 4193 ULA */
    {{0xfe, 0x80}, 10, VG_IP_LINKLOCAL},                        /* RFC 4291 */
    {{0xff}, 8, VG_IP_MULTICAST},                               /* RFC 4291 */
};

static bool
prefix_match(const struct prefix *pf, const uint8_t *addr)
{
    unsigned full = pf->bits / 8, rest = pf->bits % 8;
    uint8_t mask;

    if (memcmp(pf->addr, addr, full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    mask = (uint8_t)(0xff << (8 - rest));
    return (addr[full] & mask) == (pf->addr[full] & mask);
}

static enum vg_ip_class
classify_table(const struct prefix *tab, size_t n, const uint8_t *addr)
{
    for (size_t i = 0; i < n; i++) {
        if (prefix_match(&tab[i], addr)) {
            return tab[i].cls;
        }
    }
    return VG_IP_PUBLIC;
}

enum vg_ip_class
vg_ip_classify_raw(int family, const uint8_t *addr)
{
    if (family == 4) {
        return classify_table(v4_prefixes, sizeof(v4_prefixes) / sizeof(v4_prefixes[0]), addr);
    }
    if (family == 6) {
        return classify_table(v6_prefixes, sizeof(v6_prefixes) / sizeof(v6_prefixes[0]), addr);
    }
    /* A caller bug; never call an unknown address public. */
    return VG_IP_RESERVED;
}

int
vg_ip_classify(const char *s)
{
    uint8_t addr[16];

    if (inet_pton(AF_INET, s, addr) == 1) {
        return (int)vg_ip_classify_raw(4, addr);
    }
    if (inet_pton(AF_INET6, s, addr) == 1) {
        return (int)vg_ip_classify_raw(6, addr);
    }
    return -1;
}

bool
vg_ip_is_bogon(const char *s)
{
    int c = vg_ip_classify(s);

    return c > 0;
}

bool
vg_ip_is_bogon_lab(const char *s, bool doc_public)
{
    int c = vg_ip_classify(s);

    return c > 0 && !(c == VG_IP_DOC && doc_public);
}

const char *
vg_ip_class_name(enum vg_ip_class c)
{
    switch (c) {
    case VG_IP_PUBLIC:
        return "public";
    case VG_IP_LOOPBACK:
        return "loopback";
    case VG_IP_PRIVATE:
        return "private";
    case VG_IP_LINKLOCAL:
        return "linklocal";
    case VG_IP_UNSPEC:
        return "unspecified";
    case VG_IP_MULTICAST:
        return "multicast";
    case VG_IP_RESERVED:
        return "reserved";
    case VG_IP_DOC:
        return "documentation";
    }
    return "unknown";
}

bool
vg_ip_from_endpoint(const char *ep, char *ip, size_t cap)
{
    const char *start = ep, *end;
    size_t n;

    if (ep == NULL || cap == 0) {
        return false;
    }
    if (ep[0] == '[') {
        start = ep + 1;
        end = strchr(start, ']');
    } else {
        end = strrchr(ep, ':');
    }
    if (end == NULL) {
        return false;
    }
    n = (size_t)(end - start);
    if (n == 0 || n >= cap) {
        return false;
    }
    memcpy(ip, start, n);
    ip[n] = '\0';
    return true;
}

int
vg_ip_split_hostport(const char *s, size_t len, const char **host, size_t *hlen, uint16_t *port)
{
    const char *colon = NULL;
    uint64_t v;

    if (len > 0 && s[0] == '[') {
        const char *end = memchr(s, ']', len);

        if (end == NULL || (size_t)(end - s) + 1 >= len || end[1] != ':') {
            return VG_EINVAL;
        }
        *host = s + 1;
        *hlen = (size_t)(end - s - 1);
        colon = end + 1;
    } else {
        for (size_t i = 0; i < len; i++) {
            if (s[i] == ':') {
                if (colon != NULL) {
                    return VG_EINVAL; /* "too many colons" */
                }
                colon = s + i;
            }
        }
        if (colon == NULL) {
            return VG_EINVAL;
        }
        *host = s;
        *hlen = (size_t)(colon - s);
    }
    VG_TRY(vg_parse_u64n(colon + 1, len - (size_t)(colon + 1 - s), 0, 65535, &v));
    *port = (uint16_t)v;
    return 0;
}

int
vg_ip_canon(const char *s, size_t len, char out[VG_IP_TEXT_MAX])
{
    char tmp[VG_IP_TEXT_MAX];
    uint8_t a[16];

    if (len == 0 || len >= sizeof(tmp)) {
        return 0;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (inet_pton(AF_INET, tmp, a) == 1) {
        inet_ntop(AF_INET, a, out, VG_IP_TEXT_MAX);
        return 4;
    }
    if (inet_pton(AF_INET6, tmp, a) == 1) {
        inet_ntop(AF_INET6, a, out, VG_IP_TEXT_MAX);
        return 6;
    }
    return 0;
}

/* 16 bytes for any textual address: IPv4 as ::ffff:a.b.c.d, so that both spellings compare. */
static bool
ip16(const char *s, uint8_t out[16])
{
    uint8_t v4[4];

    if (inet_pton(AF_INET6, s, out) == 1) {
        return true;
    }
    if (inet_pton(AF_INET, s, v4) != 1) {
        return false;
    }
    memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    memcpy(out + 12, v4, 4);
    return true;
}

bool
vg_ip_equal(const char *a, const char *b)
{
    uint8_t x[16], y[16];

    if (ip16(a, x) && ip16(b, y)) {
        return memcmp(x, y, 16) == 0;
    }
    return strcmp(a, b) == 0;
}
