/* SPDX-License-Identifier: MIT */
/*
 * http_guard.c - what vigie's HTTP servers check of a client before serving it (http_util.h):
 * who the client is for the per-client limits (an IPv4 address, an IPv6 prefix), how many
 * connections or requests each holds, and whether a request head frames its body in one way
 * only (the defence against request smuggling through a proxy in front).
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_util.h"
#include "util/crypto.h"
#include "util/mem.h"

#define VG__PEER_BUCKETS 1024 /* a power of two; the table holds at most one node per client */

struct vg__peer_node {
    struct vg__peer_node *next;
    struct vg_http_peer k;
    unsigned n;
};

bool
vg_http_peer_of(const struct sockaddr *sa, unsigned prefix6, struct vg_http_peer *out)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memset(out, 0, sizeof(*out));
    if (sa == NULL) {
        return false;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const void *)sa;

        /* IPv4 as its IPv4-mapped form: one key space for both families. */
        memcpy(out->b, mapped, sizeof(mapped));
        memcpy(out->b + 12, &s4->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const void *)sa;
        unsigned bits = prefix6 == 0 || prefix6 > 128 ? 128 : prefix6;

        memcpy(out->b, &s6->sin6_addr, 16);
        if (memcmp(out->b, mapped, sizeof(mapped)) == 0) {
            return true; /* an IPv4 client of a dual-stack socket: its whole address */
        }
        for (unsigned i = 0; i < 16; i++) {
            unsigned keep = bits > 8 * i ? bits - 8 * i : 0;

            if (keep < 8) {
                out->b[i] &= (uint8_t)(0xff00u >> keep);
            }
        }
        return true;
    }
    return false;
}

bool
vg_http_client_peer(struct MHD_Connection *c, unsigned prefix6, struct vg_http_peer *out)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    return vg_http_peer_of(ci != NULL ? ci->client_addr : NULL, prefix6, out);
}

void
vg_http_peers_init(struct vg_http_peers *t)
{
    t->b = vg_xcalloc(VG__PEER_BUCKETS, sizeof(*t->b));
    /* A secret seed: a client choosing its addresses cannot aim them at one bucket. */
    vg_random_bytes(&t->seed, sizeof(t->seed));
}

static struct vg__peer_node **
vg__http_peers_slot(const struct vg_http_peers *t, const struct vg_http_peer *k)
{
    uint64_t h = t->seed ^ UINT64_C(14695981039346656037);

    for (size_t i = 0; i < sizeof(k->b); i++) {
        h ^= k->b[i];
        h *= UINT64_C(1099511628211);
    }
    h ^= h >> 31;
    return &t->b[h & (VG__PEER_BUCKETS - 1)];
}

bool
vg_http_peers_take(struct vg_http_peers *t, const struct vg_http_peer *k, unsigned max)
{
    struct vg__peer_node **slot = vg__http_peers_slot(t, k), *p;

    for (p = *slot; p != NULL; p = p->next) {
        if (memcmp(&p->k, k, sizeof(*k)) == 0) {
            if (max > 0 && p->n >= max) {
                return false;
            }
            p->n++;
            return true;
        }
    }
    p = vg_xcalloc(1, sizeof(*p));
    p->k = *k;
    p->n = 1;
    p->next = *slot;
    *slot = p;
    return true;
}

void
vg_http_peers_give(struct vg_http_peers *t, const struct vg_http_peer *k)
{
    struct vg__peer_node **pp = vg__http_peers_slot(t, k);

    for (; *pp != NULL; pp = &(*pp)->next) {
        struct vg__peer_node *p = *pp;

        if (memcmp(&p->k, k, sizeof(*k)) == 0) {
            if (--p->n == 0) {
                *pp = p->next;
                free(p);
            }
            return;
        }
    }
}

unsigned
vg_http_peers_count(const struct vg_http_peers *t, const struct vg_http_peer *k)
{
    for (const struct vg__peer_node *p = *vg__http_peers_slot(t, k); p != NULL; p = p->next) {
        if (memcmp(&p->k, k, sizeof(*k)) == 0) {
            return p->n;
        }
    }
    return 0;
}

void
vg_http_peers_cleanup(struct vg_http_peers *t)
{
    for (size_t i = 0; t->b != NULL && i < VG__PEER_BUCKETS; i++) {
        while (t->b[i] != NULL) {
            struct vg__peer_node *p = t->b[i];

            t->b[i] = p->next;
            free(p);
        }
    }
    VG_FREE(t->b);
}

/* ---- the framing of a request head ------------------------------------------------------- */

struct vg__framing {
    unsigned n_cl, n_te;
    bool te_chunked; /* the Transfer-Encoding is exactly "chunked" */
    bool space;      /* a field name with whitespace (before its colon) */
};

static enum MHD_Result
vg__http_framing_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct vg__framing *f = cls;

    (void)kind;
    if (key == NULL) {
        return MHD_YES;
    }
    if (key[strcspn(key, " \t")] != '\0') {
        f->space = true;
        return MHD_YES;
    }
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->n_cl++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->n_te++;
        f->te_chunked = value != NULL && strcasecmp(value, "chunked") == 0;
    }
    return MHD_YES;
}

const char *
vg_http_framing_error(struct MHD_Connection *c)
{
    struct vg__framing f;

    memset(&f, 0, sizeof(f));
    (void)MHD_get_connection_values(c, MHD_HEADER_KIND, vg__http_framing_field, &f);
    /* RFC 9112: 5.1 (no whitespace between a field name and its colon), 6.1 and 6.3 (a
     * message with both Content-Length and Transfer-Encoding, several differing lengths, or a
     * transfer coding other than chunked may be read differently by a proxy in front). */
    if (f.space) {
        return "whitespace between a header field name and its colon";
    }
    if (f.n_cl > 0 && f.n_te > 0) {
        return "both Content-Length and Transfer-Encoding";
    }
    if (f.n_cl > 1) {
        return "more than one Content-Length";
    }
    if (f.n_te > 1 || (f.n_te == 1 && !f.te_chunked)) {
        return "a Transfer-Encoding other than one chunked";
    }
    return NULL;
}
