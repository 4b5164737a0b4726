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
    snprintf(m->obs.bogon, sizeof(m->obs.bogon), "%s (%s) from %s", ip, cls, source);
}

/* OONI's answers[].asn and as_org_name, with a database (else asn stays null). */
static void
vg__probe_dns_answer_asn(const struct vg_probe *p, json_t *answer, const char *ip)
{
    struct vg_asn_info info;

    if (p->asn == NULL || answer == NULL) {
        return;
    }
    json_object_set_new(answer, "asn", json_integer(vg__probe_asn_of(p, ip, &info)));
    json_object_set_new(answer, "as_org_name", json_string(info.org));
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
    size_t n = 0;

    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        char ip[INET6_ADDRSTRLEN];
        const void *raw;
        int fam = ai->ai_family;
        bool dup = false;

        if (fam == AF_INET) {
            raw = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
        } else if (fam == AF_INET6) {
            raw = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
        } else {
            continue;
        }
        inet_ntop(fam, raw, ip, sizeof(ip));
        for (size_t i = 0; i < json_array_size(answers); i++) {
            json_t *a = json_array_get(answers, i);
            const char *have =
                json_string_value(json_object_get(a, fam == AF_INET ? "ipv4" : "ipv6"));

            dup = dup || (have != NULL && strcmp(have, ip) == 0);
        }
        if (dup) {
            continue;
        }
        json_array_append_new(
            answers, json_pack("{s:s, s:s, s:n, s:n}", "answer_type", fam == AF_INET ? "A" : "AAAA",
                               fam == AF_INET ? "ipv4" : "ipv6", ip, "asn", "ttl"));
        vg__probe_dns_answer_asn(m->p, json_array_get(answers, json_array_size(answers) - 1), ip);
        n++;
        if (m->depth == 0 && m->obs.n_dns_addrs < VG_DNS_MAX_ADDRS) {
            snprintf(m->obs.dns_addrs[m->obs.n_dns_addrs++], sizeof(m->obs.dns_addrs[0]), "%s", ip);
        }
        vg__probe_dns_note_bogon(m, ip, "the system resolver");
        vg__probe_ep_add(m, fam, raw, true);
    }
    json_array_append_new(
        m->queries, json_pack("{s:o, s:s, s:o, s:s, s:s, s:s, s:f, s:f, s:o, s:i}", "answers",
                              answers, "engine", "getaddrinfo", "failure",
                              vg__probe_jfailure(failure), "hostname", m->url.host, "query_type",
                              "ANY", "resolver_address", "", "t0", t0, "t", vg__probe_now(m),
                              "tags", vg__probe_tags(m->depth), "transaction_id", ++m->next_tid));
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

static json_t *
vg__probe_dns_udp_json(struct vg_meas *m, const struct vg_udp_reply *r)
{
    json_t *answers = json_array();
    char *raw = vg_base64(r->raw, r->raw_len);
    int failure = 0;
    json_t *j;

    for (size_t i = 0; i < r->n_addrs; i++) {
        char ip[INET6_ADDRSTRLEN];
        bool v4 = r->addrs[i].family == AF_INET;

        inet_ntop(r->addrs[i].family, r->addrs[i].a, ip, sizeof(ip));
        json_array_append_new(answers, json_pack("{s:s, s:s, s:n, s:I}", "answer_type",
                                                 v4 ? "A" : "AAAA", v4 ? "ipv4" : "ipv6", ip, "asn",
                                                 "ttl", (json_int_t)r->addrs[i].ttl));
        vg__probe_dns_answer_asn(m->p, json_array_get(answers, i), ip);
    }
    if (r->cname[0] != '\0') {
        json_array_append_new(answers, json_pack("{s:s, s:s, s:n}", "answer_type", "CNAME",
                                                 "hostname", r->cname, "ttl"));
    }
    if (r->parse_err != 0) {
        failure = VG_EDNS_MISBEHAVING;
    } else if (r->rcode != 0) {
        failure = vg_dns_rcode_err((uint8_t)r->rcode);
    } else if (r->n_addrs == 0) {
        failure = VG_EDNS_NOANSWER;
    }
    j = json_pack("{s:o, s:s, s:o, s:s, s:s, s:s, s:s, s:i, s:f, s:f, s:o, s:i, s:i}", "answers",
                  answers, "engine", "udp", "failure", vg__probe_jfailure(failure), "hostname",
                  m->url.host, "query_type", r->qtype == VG_DNS_TYPE_A ? "A" : "AAAA",
                  "resolver_address", m->p->resolver_str, "raw_response", raw, "rcode", r->rcode,
                  "t0", m->udp_t0, "t", m->udp_t0 + r->t, "tags", vg__probe_tags(m->depth),
                  "transaction_id", ++m->next_tid, "x_ip_ttl", r->ip_ttl);
    free(raw);
    return j;
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
    json_array_append_new(first ? m->queries : m->dups, vg__probe_dns_udp_json(m, r));
    for (size_t i = 0; i < r->n_addrs; i++) {
        char ip[INET6_ADDRSTRLEN];

        inet_ntop(r->addrs[i].family, r->addrs[i].a, ip, sizeof(ip));
        vg__probe_dns_note_bogon(m, ip, m->p->resolver_str);
        vg__probe_ep_add(m, r->addrs[i].family, r->addrs[i].a, false);
    }
}

static bool
vg__probe_dns_same_addrs(const struct vg_udp_reply *a, const struct vg_udp_reply *b)
{
    if (a->n_addrs != b->n_addrs || a->rcode != b->rcode) {
        return false;
    }
    for (size_t i = 0; i < a->n_addrs; i++) {
        bool found = false;

        for (size_t j = 0; j < b->n_addrs && !found; j++) {
            found = a->addrs[i].family == b->addrs[j].family &&
                    memcmp(a->addrs[i].a, b->addrs[j].a, 16) == 0;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

static void
vg__probe_dns_reply_brief(const struct vg_udp_reply *r, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "no address";

    if (r->n_addrs > 0) {
        inet_ntop(r->addrs[0].family, r->addrs[0].a, ip, sizeof(ip));
    } else if (r->rcode > 0) {
        snprintf(ip, sizeof(ip), "rcode %d", r->rcode);
    }
    snprintf(out, cap, "%s (IP TTL %d, after %.0f ms)", ip, r->ip_ttl, r->t * 1000.0);
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
        /* The first reply of each kind (query type, rcode, addresses), in arrival order: a
         * control can tell the forged from the genuine, and a flood of copies of the forged
         * reply cannot crowd the genuine one out of the VG_OBS_MAX_REPLIES kept. */
        for (size_t i = 0; i < n && m->obs.n_replies < VG_OBS_MAX_REPLIES; i++) {
            struct vg_obs_reply *o;
            bool seen = false;

            for (size_t k = 0; k < i && !seen; k++) {
                seen = all[k].qtype == all[i].qtype && vg__probe_dns_same_addrs(&all[k], &all[i]);
            }
            if (seen) {
                continue;
            }
            o = &m->obs.replies[m->obs.n_replies++];

            memset(o, 0, sizeof(*o));
            o->aaaa = all[i].qtype == VG_DNS_TYPE_AAAA;
            o->rcode = all[i].rcode;
            vg__probe_dns_reply_brief(&all[i], o->brief, sizeof(o->brief));
            for (size_t k = 0; k < all[i].n_addrs && o->n_addrs < VG_OBS_REPLY_ADDRS; k++) {
                inet_ntop(all[i].addrs[k].family, all[i].addrs[k].a, o->addrs[o->n_addrs++],
                          sizeof(o->addrs[0]));
            }
        }
    }
    /* Disagreeing replies to one query: the earlier one raced the genuine one. */
    for (size_t i = 0; i < n && m->obs.injected[0] == '\0'; i++) {
        for (size_t j = i + 1; j < n; j++) {
            char a[96], b[96];
            size_t same_q = 0;

            if (all[j].qtype != all[i].qtype || vg__probe_dns_same_addrs(&all[i], &all[j])) {
                continue;
            }
            for (size_t k = 0; k < n; k++) {
                same_q += all[k].qtype == all[i].qtype;
            }
            vg__probe_dns_reply_brief(&all[i], a, sizeof(a));
            vg__probe_dns_reply_brief(&all[j], b, sizeof(b));
            snprintf(m->obs.injected, sizeof(m->obs.injected),
                     "%zu replies to the %s query for %s from %s: %s, then %s", same_q,
                     all[i].qtype == VG_DNS_TYPE_A ? "A" : "AAAA", m->url.host, m->p->resolver_str,
                     a, b);
            break;
        }
    }
    if (n == 0) {
        json_array_append_new(m->queries,
                              json_pack("{s:[], s:s, s:o, s:s, s:s, s:s, s:f, s:f, s:o, s:i}",
                                        "answers", "engine", "udp", "failure",
                                        vg__probe_jfailure(VG_ETIMEDOUT), "hostname", m->url.host,
                                        "query_type", "A", "resolver_address", m->p->resolver_str,
                                        "t0", m->udp_t0, "t", vg__probe_now(m), "tags",
                                        vg__probe_tags(m->depth), "transaction_id", ++m->next_tid));
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
        rc = uv_getaddrinfo(&p->loop, &g->req, vg__probe_dns_on_gai, m->url.host, NULL, &hints);
        if (rc == 0) {
            m->gai = g;
            m->pending++;
            uv_timer_start(&m->dns_timer, vg__probe_dns_on_timeout, p->o.dns_timeout_ms, 0);
        } else {
            free(g);
            vg__probe_dns_sys_record(m, VG_EINTERNAL, NULL, vg__probe_now(m));
        }
        if (p->have_resolver) {
            struct vg_udpdns *q;

            m->udp_t0 = vg__probe_now(m);
            if (vg_udpdns_start(&p->loop, (struct sockaddr *)&p->resolver, m->url.host,
                                p->o.dns_timeout_ms, p->o.dns_wait_ms, vg__probe_dns_on_udp_reply,
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
