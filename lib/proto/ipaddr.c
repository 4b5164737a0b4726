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

/* ---- a set of addresses to find in text ---------------------------------------------------- */

int
vg_ip_set_add(struct vg_ip_set *set, const char *s, size_t len)
{
    char tmp[VG_IP_TEXT_MAX];
    uint8_t a[16];

    if (len == 0 || len >= sizeof(tmp) || memchr(s, '\0', len) != NULL) {
        return VG_EINVAL;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (!ip16(tmp, a)) {
        return VG_EINVAL;
    }
    if (vg_ip_set_has(set, a)) {
        return 0;
    }
    if (set->n >= VG_IP_SET_MAX) {
        return VG_ETOOBIG;
    }
    memcpy(set->addr[set->n++], a, 16);
    return 0;
}

bool
vg_ip_set_has(const struct vg_ip_set *set, const uint8_t addr[16])
{
    for (size_t i = 0; i < set->n; i++) {
        if (memcmp(set->addr[i], addr, 16) == 0) {
            return true;
        }
    }
    return false;
}

/* The characters of textual addresses, by class. */
enum { IPC_DIGIT = 1, IPC_HEX = 2, IPC_COLON = 4, IPC_DOT = 8 };

#define IPC_D(c) [c] = IPC_DIGIT
#define IPC_H(c) [c] = IPC_HEX
static const uint8_t ipc[256] = {
    IPC_D('0'), IPC_D('1'), IPC_D('2'), IPC_D('3'), IPC_D('4'),        IPC_D('5'),
    IPC_D('6'), IPC_D('7'), IPC_D('8'), IPC_D('9'), IPC_H('a'),        IPC_H('b'),
    IPC_H('c'), IPC_H('d'), IPC_H('e'), IPC_H('f'), IPC_H('A'),        IPC_H('B'),
    IPC_H('C'), IPC_H('D'), IPC_H('E'), IPC_H('F'), [':'] = IPC_COLON, ['.'] = IPC_DOT,
};
#undef IPC_D
#undef IPC_H

/* s[a, b) read as family (AF_INET, AF_INET6) names an address of set. */
static bool
set_has_text(const struct vg_ip_set *set, int family, const char *s, size_t a, size_t b)
{
    char tmp[VG_IP_TEXT_MAX];
    uint8_t x[16];

    if (b - a >= sizeof(tmp)) {
        return false;
    }
    memcpy(tmp, s + a, b - a);
    tmp[b - a] = '\0';
    if (family == AF_INET6) {
        if (inet_pton(AF_INET6, tmp, x) != 1) {
            return false;
        }
    } else {
        memset(x, 0, 10);
        x[10] = 0xff;
        x[11] = 0xff;
        if (inet_pton(AF_INET, tmp, x + 12) != 1) {
            return false;
        }
    }
    return vg_ip_set_has(set, x);
}

/* The run s[a, b) as one IPv6 text: without the dots at its ends and a single colon at either
 * end. */
static bool
run_v6(const struct vg_ip_set *set, const char *s, size_t a, size_t b, size_t *off, size_t *n)
{
    while (a < b && s[a] == '.') {
        a++;
    }
    while (b > a && s[b - 1] == '.') {
        b--;
    }
    if (b - a >= 3 && s[a] == ':' && s[a + 1] != ':') {
        a++;
    }
    if (b - a >= 3 && s[b - 1] == ':' && s[b - 2] != ':') {
        b--;
    }
    if (b - a < 2 || !set_has_text(set, AF_INET6, s, a, b)) {
        return false;
    }
    *off = a;
    *n = b - a;
    return true;
}

/* The dotted quads of the run s[*i, b): its pieces of digits and dots, without the dots at
 * their ends, with exactly three dots. *i moves past each piece read. */
static bool
run_v4(const struct vg_ip_set *set, const char *s, size_t *i, size_t b, size_t *off, size_t *n)
{
    while (*i < b) {
        size_t x, y, dots = 0;

        while (*i < b && (ipc[(uint8_t)s[*i]] & (IPC_DIGIT | IPC_DOT)) == 0) {
            (*i)++;
        }
        x = *i;
        while (*i < b && (ipc[(uint8_t)s[*i]] & (IPC_DIGIT | IPC_DOT)) != 0) {
            (*i)++;
        }
        y = *i;
        while (x < y && s[x] == '.') {
            x++;
        }
        while (y > x && s[y - 1] == '.') {
            y--;
        }
        if (y - x < 7 || y - x > 15) {
            continue;
        }
        for (size_t k = x; k < y; k++) {
            dots += s[k] == '.';
        }
        if (dots == 3 && set_has_text(set, AF_INET, s, x, y)) {
            *off = x;
            *n = y - x;
            return true;
        }
    }
    return false;
}

/* The first c in s[i, len), or len. */
static size_t
next_of(const char *s, size_t len, size_t i, char c)
{
    const char *p = i < len ? memchr(s + i, c, len - i) : NULL;

    return p != NULL ? (size_t)(p - s) : len;
}

void
vg_ip_scan_init(struct vg_ip_scan *sc, const char *s, size_t len)
{
    memset(sc, 0, sizeof(*sc));
    sc->s = s;
    sc->len = len;
    sc->dot = next_of(s, len, 0, '.');
    sc->colon = next_of(s, len, 0, ':');
}

bool
vg_ip_scan_next(struct vg_ip_scan *sc, const struct vg_ip_set *set, size_t *off, size_t *n)
{
    const char *s = sc->s;
    size_t len = sc->len;

    if (set->n == 0) {
        return false;
    }
    for (;;) {
        size_t a, b, dots = 0, colons = 0;

        /* The rest of the current run's dotted quads. */
        if (sc->sub < sc->run_end && run_v4(set, s, &sc->sub, sc->run_end, off, n)) {
            return true;
        }
        if (sc->dot >= len && sc->colon >= len) {
            return false;
        }
        /* Every address's text has a dot or a colon: memchr finds them, and the run around one
         * is read once (the next search starts past it). */
        a = sc->dot < sc->colon ? sc->dot : sc->colon;
        b = a + 1;
        while (a > sc->next && ipc[(uint8_t)s[a - 1]] != 0) {
            a--;
        }
        while (b < len && ipc[(uint8_t)s[b]] != 0) {
            b++;
        }
        for (size_t k = a; k < b; k++) {
            dots += s[k] == '.';
            colons += s[k] == ':';
        }
        sc->next = b;
        sc->dot = sc->dot < b ? next_of(s, len, b, '.') : sc->dot;
        sc->colon = sc->colon < b ? next_of(s, len, b, ':') : sc->colon;
        sc->sub = sc->run_end = b;
        if (colons >= 2 && run_v6(set, s, a, b, off, n)) {
            return true;
        }
        if (dots >= 3) {
            sc->sub = a;
        }
    }
}

bool
vg_ip_set_find(const struct vg_ip_set *set, const char *s, size_t len, size_t from, size_t *off,
               size_t *n)
{
    struct vg_ip_scan sc;

    if (from > len) {
        return false;
    }
    vg_ip_scan_init(&sc, s + from, len - from);
    if (!vg_ip_scan_next(&sc, set, off, n)) {
        return false;
    }
    *off += from;
    return true;
}
