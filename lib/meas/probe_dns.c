/* SPDX-License-Identifier: MIT */
/*
 * probe_dns.c - a hop's addresses: the system resolver (getaddrinfo off the loop thread, with a
 * timeout), the --resolver server over UDP (every reply kept, duplicates included: an injector
 * answers first) and an IP literal.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "meas/probe_impl.h"
#include "meas/record.h"
#include "net/udpdns.h"
#include "util/mem.h"
#include "util/str.h"

static void
vg__probe_dns_note_bogon(struct vg_meas *m, const char *ip, const char *source)
{
    const char *cls;

    if (m->obs.bogon[0] != '\0' || !vg__probe_is_bogon(m->p, ip, &cls)) {
        return;
    }
    if (m->p->o.private_targets &&
        (vg_ip_classify(ip) == VG_IP_PRIVATE || vg_ip_classify(ip) == VG_IP_LOOPBACK ||
         vg_ip_classify(ip) == VG_IP_LINKLOCAL)) {
        return; /* --allow-private: a local test target */
    }
    snprintf(m->obs.bogon, sizeof(m->obs.bogon), "%s (%s) from %s", ip, cls, source);
}

/* An address answered for the name, with its autonomous system when there is a database. */
static void
vg__probe_dns_answer(const struct vg_meas *m, json_t *answers, const char *ip, int64_t ttl)
{
    struct vg_asn_info info;

    if (m->p->asn == NULL) {
        vg_rec_answer_addr(answers, ip, ttl, NULL);
        return;
    }
    vg__probe_asn_of(m->p, ip, &info);
    vg_rec_answer_addr(answers, ip, ttl, &info);
}

/* The address of a getaddrinfo result, NULL for another family. */
static const void *
vg__probe_dns_ai_addr(const struct addrinfo *ai)
{
    if (ai->ai_family == AF_INET) {
        return &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
    }
    if (ai->ai_family == AF_INET6) {
        return &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
    }
    return NULL;
}

/* ai's address came earlier in the results: one answer per address. */
static bool
vg__probe_dns_ai_repeated(const struct addrinfo *res, const struct addrinfo *ai)
{
    const void *a = vg__probe_dns_ai_addr(ai);
    size_t len = ai->ai_family == AF_INET ? 4 : 16;

    for (const struct addrinfo *b = res; b != ai; b = b->ai_next) {
        const void *other = vg__probe_dns_ai_addr(b);

        if (other != NULL && b->ai_family == ai->ai_family && memcmp(other, a, len) == 0) {
            return true;
        }
    }
    return false;
}

static int
vg__probe_dns_gai_err(int status)
{
    switch (status) {
    case UV_EAI_NONAME:
        return VG_EDNS_NXDOMAIN;
    case UV_EAI_NODATA:
    case UV_EAI_ADDRFAMILY:
        return VG_EDNS_NOANSWER;
    case UV_EAI_AGAIN:
        return VG_EDNS_TEMPORARY;
    case UV_EAI_FAIL:
        return VG_EDNS_NONRECOVERABLE;
    case UV_ECANCELED:
        return VG_ECANCELED;
    default:
        return VG_EDNS_MISBEHAVING;
    }
}

static void
vg__probe_dns_sys_record(struct vg_meas *m, int failure, const struct addrinfo *res, double t0)
{
    json_t *answers = json_array();
    struct vg_rec_query q = {.hostname = m->url.host, .failure = failure};
    struct vg_rec_event ev = {.t0 = t0, .depth = m->depth};
    size_t n = 0;

    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        char ip[INET6_ADDRSTRLEN];
        const void *raw = vg__probe_dns_ai_addr(ai);
        int fam = ai->ai_family;

        if (raw == NULL || vg__probe_dns_ai_repeated(res, ai)) {
            continue;
        }
        inet_ntop(fam, raw, ip, sizeof(ip));
        vg__probe_dns_answer(m, answers, ip, -1);
        n++;
        if (m->depth == 0 && m->obs.n_dns_addrs < VG_DNS_MAX_ADDRS) {
            snprintf(m->obs.dns_addrs[m->obs.n_dns_addrs++], sizeof(m->obs.dns_addrs[0]), "%s", ip);
        }
        vg__probe_dns_note_bogon(m, ip, "the system resolver");
        vg__probe_ep_add(m, fam, raw, true);
    }
    ev.t = vg__probe_now(m);
    ev.tid = ++m->next_tid;
    vg_rec_add_query(m->tk, &ev, &q, answers, false);
    if (m->depth == 0) {
        m->obs.sys_failure = failure;
        m->obs.n_sys_addrs = n;
        vg__probe_ctrl_need(m);
        vg__probe_add_job_eps(m);
    }
    if (failure != 0 && m->hop_failure == 0) {
        m->hop_failure = failure;
    }
}

static void
vg__probe_dns_on_gai(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct vg__gai *g = req->data;
    struct vg_meas *m = g->m;

    if (m != NULL) {
        uv_timer_stop(&m->dns_timer);
        m->gai = NULL;
        vg__probe_dns_sys_record(m, status == 0 ? 0 : vg__probe_dns_gai_err(status), res, g->t0);
    }
    if (res != NULL) {
        uv_freeaddrinfo(res);
    }
    free(g);
    if (m != NULL) {
        vg__probe_pending_done(m);
    }
}

static void
vg__probe_dns_on_timeout(uv_timer_t *t)
{
    struct vg_meas *m = t->data;
    struct vg__gai *g = m->gai;

    if (g == NULL) {
        return;
    }
    /* getaddrinfo cannot be interrupted: orphan the request; its callback frees it. */
    g->m = NULL;
    m->gai = NULL;
    uv_cancel((uv_req_t *)&g->req);
    vg__probe_dns_sys_record(m, VG_ETIMEDOUT, NULL, g->t0);
    vg__probe_pending_done(m);
}

/* A reply of the --resolver server: into queries when it is the first to its query, else into
 * x_dns_duplicate_responses. */
static void
vg__probe_dns_udp_record(struct vg_meas *m, const struct vg_udp_reply *r, bool duplicate)
{
    json_t *answers = json_array();
    struct vg_rec_query q = {
        .udp = true,
        .aaaa = r->qtype != VG_DNS_TYPE_A,
        .resolver = m->p->resolver_str,
        .hostname = m->url.host,
        .reply = true,
        .raw = r->raw,
        .raw_len = r->raw_len,
        .rcode = r->rcode,
        .ip_ttl = r->ip_ttl,
    };
    struct vg_rec_event ev = {.t0 = m->udp_t0, .t = m->udp_t0 + r->t, .depth = m->depth};

    for (size_t i = 0; i < r->n_addrs; i++) {
        char ip[INET6_ADDRSTRLEN];

        inet_ntop(r->addrs[i].family, r->addrs[i].a, ip, sizeof(ip));
        vg__probe_dns_answer(m, answers, ip, (int64_t)r->addrs[i].ttl);
    }
    if (r->cname[0] != '\0') {
        vg_rec_answer_cname(answers, r->cname);
    }
    if (r->parse_err != 0) {
        q.failure = VG_EDNS_MISBEHAVING;
    } else if (r->rcode != 0) {
        q.failure = vg_dns_rcode_err((uint8_t)r->rcode);
    } else if (r->n_addrs == 0) {
        q.failure = VG_EDNS_NOANSWER;
    }
    ev.tid = ++m->next_tid;
    vg_rec_add_query(m->tk, &ev, &q, answers, duplicate);
}

static void
vg__probe_dns_on_udp_reply(struct vg_udpdns *q, const struct vg_udp_reply *r, void *arg)
{
    struct vg_meas *m = arg;
    size_t n;
    const struct vg_udp_reply *all = vg_udpdns_replies(q, &n);
    bool first = true;

    for (size_t i = 0; i + 1 < n; i++) {
        first = first && all[i].qtype != r->qtype;
    }
    vg__probe_dns_udp_record(m, r, !first);
    for (size_t i = 0; i < r->n_addrs; i++) {
        char ip[INET6_ADDRSTRLEN];

        inet_ntop(r->addrs[i].family, r->addrs[i].a, ip, sizeof(ip));
        vg__probe_dns_note_bogon(m, ip, m->p->resolver_str);
        vg__probe_ep_add(m, r->addrs[i].family, r->addrs[i].a, false);
    }
}

/* The replies as obs.c reads them (their addresses as text, in txt[n]). */
_Static_assert(VG_OBS_UDP_ADDRS >= VG_UDP_ADDRS_MAX, "every address of a reply is compared");

struct vg__probe_dns_txt {
    char a[VG_OBS_UDP_ADDRS][INET6_ADDRSTRLEN];
};

static void
vg__probe_dns_udp_obs(const struct vg_udp_reply *r, struct vg__probe_dns_txt *txt,
                      struct vg_obs_udp *out)
{
    memset(out, 0, sizeof(*out));
    out->aaaa = r->qtype == VG_DNS_TYPE_AAAA;
    out->rcode = r->rcode;
    out->ip_ttl = r->ip_ttl;
    out->after = r->t;
    for (size_t k = 0; k < r->n_addrs && k < VG_OBS_UDP_ADDRS; k++) {
        inet_ntop(r->addrs[k].family, r->addrs[k].a, txt->a[k], sizeof(txt->a[k]));
        out->addrs[out->n_addrs++] = txt->a[k];
    }
}

static void
vg__probe_dns_on_udp_done(struct vg_udpdns *q, void *arg)
{
    struct vg_meas *m = arg;
    size_t n;
    const struct vg_udp_reply *all = vg_udpdns_replies(q, &n);
    size_t n_addrs = 0;

    for (size_t i = 0; i < n; i++) {
        n_addrs += all[i].n_addrs;
    }
    if (m->depth == 0) {
        m->obs.udp_failure = n == 0 ? VG_ETIMEDOUT : 0;
        m->obs.n_udp_addrs = n_addrs;
    }
    if (n > 0) {
        /* The first reply of each kind at the first hop, in arrival order (a control can tell the
         * forged from the genuine, and a flood of copies of the forged reply cannot crowd the
         * genuine one out), and disagreeing replies to one query at any hop: the earlier one
         * raced the genuine one. */
        struct vg_obs_udp *u = vg_xreallocarray(NULL, n, sizeof(*u));
        struct vg__probe_dns_txt *txt = vg_xreallocarray(NULL, n, sizeof(*txt));
        size_t same_q[2] = {0, 0};

        for (size_t i = 0; i < n; i++) {
            vg__probe_dns_udp_obs(&all[i], &txt[i], &u[i]);
            same_q[u[i].aaaa]++;
        }
        vg_obs_replies(&m->obs, u, n, same_q, m->url.host, m->p->resolver_str, m->depth == 0);
        free(u);
        free(txt);
    }
    if (n == 0) {
        /* The server never replied: one entry stands for it. */
        struct vg_rec_query none = {.udp = true,
                                    .resolver = m->p->resolver_str,
                                    .hostname = m->url.host,
                                    .failure = VG_ETIMEDOUT};
        struct vg_rec_event ev = {
            .t0 = m->udp_t0, .t = vg__probe_now(m), .depth = m->depth, .tid = ++m->next_tid};

        vg_rec_add_query(m->tk, &ev, &none, NULL, false);
    }
    m->udp = NULL;
    vg_udpdns_free(q);
    vg__probe_pending_done(m);
}

/* The hop's addresses: an IP literal is its own, a name goes to the system resolver and, with
 * --resolver, to that server over UDP. Each address starts an endpoint as soon as it is known. */
void
vg__probe_dns_start(struct vg_meas *m)
{
    struct vg_probe *p = m->p;

    if (m->url.ip_family != 0) {
        uint8_t raw[16];
        int fam = m->url.ip_family == 4 ? AF_INET : AF_INET6;

        if (inet_pton(fam, m->url.host, raw) == 1) {
            vg__probe_ep_add(m, fam, raw, true);
        }
        vg__probe_ctrl_need(m);
        vg__probe_add_job_eps(m);
    } else {
        struct vg__gai *g = vg_xcalloc(1, sizeof(*g));
        struct addrinfo hints;
        int rc;

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        g->m = m;
        g->req.data = g;
        g->t0 = vg__probe_now(m);
        rc = uv_getaddrinfo(m->lp->uv, &g->req, vg__probe_dns_on_gai, m->url.host, NULL, &hints);
        if (rc == 0) {
            m->gai = g;
            m->pending++;
            uv_timer_start(&m->dns_timer, vg__probe_dns_on_timeout,
                           vg__probe_step_ms(m, p->o.dns_timeout_ms), 0);
        } else {
            free(g);
            vg__probe_dns_sys_record(m, VG_EINTERNAL, NULL, vg__probe_now(m));
        }
        if (p->have_resolver) {
            struct vg_udpdns *q;

            m->udp_t0 = vg__probe_now(m);
            if (vg_udpdns_start(m->lp->uv, (struct sockaddr *)&p->resolver, m->url.host,
                                vg__probe_step_ms(m, p->o.dns_timeout_ms),
                                vg__probe_step_ms(m, p->o.dns_wait_ms), vg__probe_dns_on_udp_reply,
                                vg__probe_dns_on_udp_done, m, &q) == 0) {
                m->udp = q;
                m->pending++;
                if (m->depth == 0) {
                    m->obs.udp_used = true;
                    snprintf(m->obs.udp_resolver, sizeof(m->obs.udp_resolver), "%s",
                             p->resolver_str);
                }
            }
        }
    }
}
