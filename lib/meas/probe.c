/* SPDX-License-Identifier: MIT */
/*
 * probe.c - the measurement engine: a libuv loop drives (URL, trial) measurements (one loop, or
 * several on their own threads: probe_loops.c).
 *
 * A measurement walks hops (the URL, then each redirect). A hop resolves the host (probe_dns.c:
 * system resolver off the loop thread, DNS over UDP on the loop), connects to every distinct
 * address as soon as it is known and runs the TLS handshake with SNI on each https endpoint
 * (probe_ep.c), fetches the page over the first usable endpoint (probe_http.c) and ends when every
 * started step has finished. The control comes from the test helper (probe_ctrl.c). The
 * OONI-shaped JSON is built as steps complete; a compact summary (struct vg_obs) feeds the
 * verdict. This file holds the scheduler, a measurement's hops and end, and the public API;
 * probe_serve.c the serving mode.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "meas/asn.h"
#include "meas/probe_impl.h"
#include "meas/record.h"
#include "meas/record_read.h"
#include "meas/upload.h"
#include "meas/verdict.h"
#include "net/tls.h"
#include "net/udpdns.h"
#include "proto/http1.h"
#include "proto/ipaddr.h"
#include "util/mem.h"
#include "util/str.h"

static void vg__probe_hop_start(struct vg_meas *m);
static void vg__probe_hop_end(struct vg_meas *m);

/* ------------------------------------------------------------------------------------------ */
/* helpers the steps share                                                                    */

double
vg__probe_now(const struct vg_meas *m)
{
    return (double)(uv_hrtime() - m->t0) / 1e9;
}

bool
vg__probe_is_bogon(const struct vg_probe *p, const char *ip, const char **cls)
{
    int c = vg_ip_classify(ip);

    if (c < 0 || c == VG_IP_PUBLIC) {
        return false;
    }
    if (c == VG_IP_DOC && p->o.doc_ranges_public) {
        return false;
    }
    *cls = vg_ip_class_name((enum vg_ip_class)c);
    return true;
}

/* What the databases say of ip into *info (zeroed when unknown or without a database). Bogons
 * are AS0 whatever a database says, as in OONI: an address that is not public names no network.
 * Returns the ASN. */
uint32_t
vg__probe_asn_of(const struct vg_probe *p, const char *ip, struct vg_asn_info *info)
{
    const char *cls;

    memset(info, 0, sizeof(*info));
    if (p->asn == NULL || vg__probe_is_bogon(p, ip, &cls) || vg_asn_lookup(p->asn, ip, info) < 0) {
        memset(info, 0, sizeof(*info));
    }
    return info->asn;
}

void
vg__probe_self_add(struct vg_probe *p, const char *ip)
{
    const char *cls;
    int rc = 0;

    if (vg_ip_classify(ip) < 0 || vg__probe_is_bogon(p, ip, &cls)) {
        return;
    }
    uv_rwlock_wrlock(&p->self_lock);
    rc = vg_ip_set_add(&p->self_addrs, ip, strlen(ip));
    uv_rwlock_wrunlock(&p->self_lock);
    if (rc == VG_ETOOBIG) {
        fprintf(stderr,
                "vigie: more than %d public addresses of this host: some are not "
                "scrubbed\n",
                VG_IP_SET_MAX);
    }
}

/* The public addresses of the local interfaces: a measurement that ends before any helper
 * answered is scrubbed of them too. */
static void
vg__probe_self_local(struct vg_probe *p)
{
    struct ifaddrs *ifs, *i;

    if (getifaddrs(&ifs) != 0) {
        return;
    }
    for (i = ifs; i != NULL; i = i->ifa_next) {
        char ip[INET6_ADDRSTRLEN];
        const struct sockaddr *sa = i->ifa_addr;

        if (sa == NULL || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
            inet_ntop(
                sa->sa_family,
                sa->sa_family == AF_INET
                    ? (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr
                    : (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                ip, sizeof(ip)) == NULL) {
            continue;
        }
        vg__probe_self_add(p, ip);
    }
    freeifaddrs(ifs);
}

void
vg__probe_pending_done(struct vg_meas *m)
{
    if (--m->pending == 0) {
        vg__probe_hop_end(m);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* measurement lifecycle: hops, end, scheduler                                                */

/* The measurement's last handle is closed: free it, then give its slot to the next job. Starting
 * the next job here rather than when the measurement finished keeps at most `parallel`
 * measurements allocated: those that finished in one turn of the loop would otherwise stay
 * allocated (about 16 KiB each) beside the ones started in their place. */
static void
vg__probe_meas_closed(uv_handle_t *h)
{
    struct vg_meas *m = h->data;
    struct vg__probe_loop *lp = m->lp;

    free(m);
    lp->in_flight--;
    vg__probe_schedule(lp);
}

/* With a database: the ASNs OONI's consistency rule compares, and the probe's network. */
static void
vg__probe_meas_networks(struct vg_meas *m)
{
    const struct vg_probe *p = m->p;
    const struct vg_ctrl *c = m->obs.ctrl;
    struct vg_asn_info info, self;
    bool have_self;

    if (p->asn == NULL) {
        return;
    }
    for (size_t i = 0; i < m->obs.n_dns_addrs && i < VG_DNS_MAX_ADDRS; i++) {
        m->obs.dns_asns[i] = vg__probe_asn_of(p, m->obs.dns_addrs[i], &info);
    }
    for (size_t i = 0; c != NULL && i < c->n_addrs && i < VG_DNS_MAX_ADDRS; i++) {
        m->obs.ctrl_asns[i] = vg__probe_asn_of(p, c->addrs[i], &info);
    }
    uv_rwlock_rdlock((uv_rwlock_t *)&p->self_lock);
    have_self = p->have_self;
    self = p->self;
    uv_rwlock_rdunlock((uv_rwlock_t *)&p->self_lock);
    if (!have_self) {
        return;
    }
    vg_rec_set_network(m->root, self.asn, self.cc, self.org);
}

static void
vg__probe_meas_finish(struct vg_meas *m)
{
    struct vg_probe *p = m->p;
    struct vg_decision v;
    struct vg_result r;
    char *line;
    double runtime = vg__probe_now(m);

    m->obs.https = strcmp(m->url.scheme, "https") == 0;
    m->obs.http_udp_only = m->http_obs != SIZE_MAX && m->obs.ep[m->http_obs].from_udp_only;
    m->obs.target = strcmp(m->url.scheme, "tls") == 0   ? VG_TARGET_TLS
                    : strcmp(m->url.scheme, "dns") == 0 ? VG_TARGET_DNS
                                                        : VG_TARGET_WEB;
    m->obs.host_is_ip = m->url.ip_family != 0;
    vg__probe_meas_networks(m);
    vg_verdict_mark_control(&m->obs);
    vg_verdict_decide(&m->obs, &v);
    vg_rec_set_runtime(m->root, runtime);
    vg_rec_set_ooni(m->tk, &v, m->obs.ctrl != NULL);
    vg_rec_set_endpoints(m->tk, &m->obs);
    vg_rec_set_verdict(m->tk, &v);
    vg_rec_set_experiment_failures(m->tk, m->obs.http_failure, m->sys_failure);
    /* The probe's own addresses out of everything written (a page or a header may echo them);
     * not in serving mode, where the measurement is the helper's. */
    if (m->job == NULL) {
        uv_rwlock_rdlock(&p->self_lock);
        (void)vg_rec_scrub(m->root, &p->self_addrs);
        uv_rwlock_rdunlock(&p->self_lock);
    }
    line = json_dumps(m->root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    r.input = m->input;
    r.url_index = m->url_index;
    r.trial = m->trial;
    r.verdict = v.verdict;
    r.x_verdict = vg_verdict_name(r.verdict);
    r.x_cause = v.cause[0] != '\0' ? v.cause : NULL;
    /* The evidence as written: scrubbed too (a block page's title may name the address). */
    r.x_evidence = vg_rec_evidence(m->root) != NULL ? vg_rec_evidence(m->root) : v.evidence;
    r.runtime = runtime;
    r.json = line != NULL ? line : "{}";
    r.control_failure = m->obs.control_failure[0] != '\0' ? m->obs.control_failure : NULL;
    if (m->job == NULL && p->loops != NULL) {
        /* A loop of several: the calling thread uploads it and calls back. */
        vg__probe_hand_over(p, &r, m->id, line);
        line = NULL;
    } else {
        if (p->up != NULL && line != NULL) {
            vg_uploader_add(p->up, m->id, line);
        }
        if (m->cb != NULL) {
            m->cb(&r, m->cb_arg);
        }
    }
    json_decref(m->root);
    free(line);
    vg_obs_cleanup(&m->obs);
    if (p->slots != NULL && m->job == NULL && ++p->slots[m->url_index].finished == p->o.repeat) {
        /* Every trial of this URL is done: drop its control (tens of KiB), else a long URL list
         * keeps one per URL until the end of the run. */
        vg__probe_ctrl_release(&p->slots[m->url_index]);
    }
    if (m->job != NULL) {
        vg__probe_job_free(m->job);
        m->job = NULL;
    }
    uv_close((uv_handle_t *)&m->dns_timer, vg__probe_meas_closed);
}

static void
vg__probe_hop_end(struct vg_meas *m)
{
    struct vg__fetch *f = m->fetch;
    int failure = 0;
    struct vg_url next;

    for (size_t i = 0; i < m->n_eps; i++) {
        VG_FREE(m->eps[i]);
    }
    m->n_eps = 0;
    if (m->depth == 0) {
        m->sys_failure = m->obs.sys_failure;
    }
    if (f == NULL && strncmp(m->url.scheme, "http", 4) != 0) {
        /* tls:// and dns:// targets fetch nothing. */
        vg__probe_meas_finish(m);
        return;
    }
    if (f == NULL) {
        /* No endpoint could carry the request: record why, as OONI does. */
        int why = m->hop_failure != 0 ? m->hop_failure : VG_EDNS_NOANSWER;
        char url[VG_URL_MAX + 300];
        double now = vg__probe_now(m);
        struct vg_rec_event ev = {.t0 = now, .t = now, .depth = m->depth};

        if (vg_url_format(&m->url, url, sizeof(url)) < 0) {
            url[0] = '\0';
        }
        vg_rec_add_request_unsent(m->tk, &ev, url, why);
        m->obs.http_attempted = true;
        m->obs.http_failure = why;
        m->obs.final_depth = m->depth;
        vg__probe_meas_finish(m);
        return;
    }
    m->fetch = NULL;
    if (m->obs.http_failure == 0 && f->x.head != NULL &&
        (f->x.head->status == 301 || f->x.head->status == 302 || f->x.head->status == 303 ||
         f->x.head->status == 307 || f->x.head->status == 308)) {
        const struct vg_http_field *loc = vg_http_head_get(f->x.head, f->x.in.data, "location");

        if (loc != NULL) {
            char *ref = vg_xstrndup((const char *)f->x.in.data + loc->value.off, loc->value.len);

            if (m->depth + 1 > VG_HTTP_MAX_REDIRECTS) {
                failure = VG_EHTTP_REDIRECTS;
            } else if (vg__probe_job_expired(m)) {
                failure = VG_ETIMEDOUT; /* a serving-mode job's deadline: no further hop */
            } else if (vg_url_resolve(&m->url, ref, &next) < 0) {
                failure = VG_EHTTP_LOCATION;
            }
            free(ref);
            /* A control reports what the server answered: a redirect it cannot follow is the
             * server's final response, not a failure of the control's network (OONI QA 27/28). */
            if (failure == VG_EHTTP_LOCATION && m->job != NULL && m->job->control) {
                vg__probe_fetch_free(f);
                vg__probe_meas_finish(m);
                return;
            }
            if (failure == 0) {
                vg__probe_fetch_free(f);
                m->url = next;
                m->depth++;
                vg__probe_hop_start(m);
                return;
            }
            m->obs.http_failure = failure;
            vg_rec_set_request_failure(m->tk, failure);
        }
    }
    vg__probe_fetch_free(f);
    vg__probe_meas_finish(m);
}

static void
vg__probe_hop_start(struct vg_meas *m)
{
    snprintf(m->obs.host, sizeof(m->obs.host), "%s", m->url.host);
    m->pending = 1; /* held until the hop's steps are started */
    m->fetch = NULL;
    m->hop_failure = 0;
    vg__probe_dns_start(m);
    vg__probe_pending_done(m);
}

void
vg__probe_meas_start(struct vg__probe_loop *lp, size_t url_index, unsigned trial,
                     struct vg__job *job)
{
    struct vg_probe *p = lp->p;
    const char *input = job != NULL ? job->url : p->urls[url_index];
    int url_rc;
    struct vg_meas *m = vg_xcalloc(1, sizeof(*m));

    m->p = p;
    m->lp = lp;
    m->input = input;
    m->http_obs = SIZE_MAX;
    url_rc = vg_url_parse(input, &m->url);
    m->job = job;
    m->cb = job != NULL ? job->cb : p->cb;
    m->cb_arg = job != NULL ? job->arg : p->cb_arg;
    m->url_index = url_index;
    m->trial = trial;
    m->t0 = uv_hrtime();
    m->wall0 = time(NULL);
    uv_timer_init(lp->uv, &m->dns_timer);
    m->dns_timer.data = m;
    vg_obs_init(&m->obs);
    lp->in_flight++;
    m->tk = vg_rec_web_test_keys(trial);
    {
        struct vg_rec_env env = {
            .test_name = strcmp(m->url.scheme, "tls") == 0   ? VG_REC_TEST_TLS
                         : strcmp(m->url.scheme, "dns") == 0 ? VG_REC_TEST_DNS
                                                             : VG_REC_TEST_WEB,
            .test_version = VG_REC_TEST_WEB_VER,
            .input = input,
            .start = m->wall0,
            .resolver_ip = p->sys_resolver[0] != '\0' ? p->sys_resolver : NULL,
            .resolver_asn = p->resolver_asn,
            .resolver_org = p->resolver_org,
        };

        m->root = vg_rec_new(&env, m->tk, m->id);
    }
    if (url_rc < 0) {
        /* vg_probe_add validated it; a failure here is a bug, reported in the measurement. */
        m->hop_failure = VG_EINTERNAL;
        vg__probe_hop_end(m);
        return;
    }
    vg__probe_hop_start(m);
}

void
vg__probe_schedule(struct vg__probe_loop *lp)
{
    struct vg_probe *p = lp->p;
    size_t total = p->n_urls * p->o.repeat;

    while (!atomic_load(&p->interrupted) && lp->in_flight < lp->parallel && lp->next_job < total) {
        size_t j = lp->next_job++;

        /* Jobs go trial by trial over the URLs; this loop measures the URLs it owns. */
        if ((lp->n > 1 && p->owner[j % p->n_urls] != lp->index) ||
            (p->skip != NULL && p->skip[j])) {
            continue;
        }
        vg__probe_meas_start(lp, j % p->n_urls, (unsigned)(j / p->n_urls) + 1, NULL);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* public API                                                                                 */

void
vg_probe_opts_init(struct vg_probe_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->dns_timeout_ms = 4000;
    o->dns_wait_ms = 500;
    o->tcp_timeout_ms = 10000;
    o->tls_timeout_ms = 10000;
    o->http_timeout_ms = 10000;
    o->body_max = VG_HTTP_BODY_MAX;
    o->parallel = 64;
    o->repeat = 1;
    o->control_timeout_ms = 30000;
}

int
vg__probe_parse_resolver(const char *s, struct sockaddr_storage *ss, char *norm, size_t cap)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *port_s = NULL;
    uint64_t port = 53;
    size_t hl;

    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        if (end == NULL || (size_t)(end - s - 1) >= sizeof(host)) {
            return VG_EINVAL;
        }
        hl = (size_t)(end - s - 1);
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        if (end[1] == ':') {
            port_s = end + 2;
        } else if (end[1] != '\0') {
            return VG_EINVAL;
        }
    } else {
        const char *colon = strchr(s, ':');

        if (colon != NULL && strchr(colon + 1, ':') != NULL) {
            colon = NULL; /* bare IPv6 */
        }
        hl = colon != NULL ? (size_t)(colon - s) : strlen(s);
        if (hl >= sizeof(host)) {
            return VG_EINVAL;
        }
        memcpy(host, s, hl);
        host[hl] = '\0';
        if (colon != NULL) {
            port_s = colon + 1;
        }
    }
    if (port_s != NULL) {
        VG_TRY(vg_parse_u64(port_s, 1, 65535, &port));
    }
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)(void *)ss)->sin_addr) == 1) {
        struct sockaddr_in *s4 = (void *)ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        snprintf(norm, cap, "%s:%u", host, (unsigned)port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)(void *)ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *s6 = (void *)ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        snprintf(norm, cap, "[%s]:%u", host, (unsigned)port);
        return 0;
    }
    return VG_EINVAL;
}

int
vg_probe_new(const struct vg_probe_opts *opts, struct vg_probe **out, char *err, size_t errlen)
{
    struct vg_probe *p = vg_xcalloc(1, sizeof(*p));
    int rc;

    *out = NULL;
    p->o = *opts;
    if (p->o.parallel == 0 || p->o.parallel > VG_PARALLEL_MAX || p->o.repeat == 0 ||
        p->o.repeat > VG_REPEAT_MAX) {
        snprintf(err, errlen, "parallel must be 1..%d and repeat 1..%d", VG_PARALLEL_MAX,
                 VG_REPEAT_MAX);
        free(p);
        return VG_EINVAL;
    }
    if (opts->resolver != NULL) {
        if (vg__probe_parse_resolver(opts->resolver, &p->resolver, p->resolver_str,
                                     sizeof(p->resolver_str)) < 0) {
            snprintf(err, errlen, "invalid resolver address '%s' (expected IP[:PORT])",
                     opts->resolver);
            free(p);
            return VG_EINVAL;
        }
        p->have_resolver = true;
    }
    if (opts->collector != NULL || opts->collector_token != NULL) {
        struct vg_upload_opts uo = {
            .collector = opts->collector,
            .token = opts->collector_token,
            .allow_token_over_http = opts->allow_token_over_http,
        };

        /* Found now, not after the first batch was measured. */
        if (opts->collector == NULL) {
            snprintf(err, errlen, "an upload token without a collector URL to send it to");
            free(p);
            return VG_EINVAL;
        }
        if (vg_uploader_check(&uo, err, errlen) < 0) {
            free(p);
            return VG_EINVAL;
        }
    }
    if (opts->asn_db != NULL || opts->country_db != NULL) {
        rc = vg_asn_open(opts->asn_db, opts->country_db, &p->asn, err, errlen);
        if (rc < 0) {
            free(p);
            return rc;
        }
    }
    rc = vg_tls_ctx_new(opts->ca_file, &p->ctx, err, errlen);
    if (rc < 0) {
        vg_asn_free(p->asn);
        free(p);
        return rc;
    }
    /* getaddrinfo runs on libuv's thread pool: size it for many lookups in flight. */
    if (getenv("UV_THREADPOOL_SIZE") == NULL) {
        setenv("UV_THREADPOOL_SIZE", "32", 0);
    }
    vg_udpdns_system_resolver(p->sys_resolver, sizeof(p->sys_resolver));
    if (p->sys_resolver[0] != '\0') {
        struct vg_asn_info info;

        p->resolver_asn = vg__probe_asn_of(p, p->sys_resolver, &info);
        snprintf(p->resolver_org, sizeof(p->resolver_org), "%s",
                 p->resolver_asn != 0 ? info.org : "");
    }
    uv_loop_init(&p->loop);
    p->one = (struct vg__probe_loop){.p = p, .uv = &p->loop, .n = 1, .parallel = p->o.parallel};
    uv_mutex_init(&p->qlock);
    uv_rwlock_init(&p->self_lock);
    /* jansson seeds its hash function once, before any loop's thread builds an object. */
    json_object_seed(0);
    /* Serving mode wakes the loop with this handle; batch runs close it before they start. */
    uv_async_init(&p->loop, &p->async, vg__probe_on_async);
    p->async.data = p;
    p->accepting = true;
    *out = p;
    return 0;
}

int
vg_probe_add(struct vg_probe *p, const char *url, char *err, size_t errlen)
{
    struct vg_url u;
    int rc = vg_url_parse(url, &u);

    if (rc < 0) {
        char why[160];

        vg_url_explain(url, why, sizeof(why));
        snprintf(err, errlen, "invalid URL '%.200s': %s", url, why);
        return rc;
    }
    p->urls = vg_xreallocarray(p->urls, p->n_urls + 1, sizeof(*p->urls));
    p->urls[p->n_urls++] = vg_xstrdup(url);
    return 0;
}

const char *
vg_probe_url(const struct vg_probe *p, size_t i)
{
    return i < p->n_urls ? p->urls[i] : NULL;
}

struct vg__probe_urlpos {
    const char *url;
    size_t i;
};

static int
vg__probe_cmp_urlpos(const void *a, const void *b)
{
    const struct vg__probe_urlpos *x = a, *y = b;
    int c = strcmp(x->url, y->url);

    return c != 0 ? c : (x->i > y->i) - (x->i < y->i);
}

size_t
vg_probe_dedupe(struct vg_probe *p, void (*cb)(const char *url, size_t times, void *arg), void *arg)
{
    struct vg__probe_urlpos *pos = vg_xcalloc(p->n_urls + 1, sizeof(*pos));
    bool *dup = vg_xcalloc(p->n_urls + 1, sizeof(*dup));
    size_t removed = 0, kept = 0;

    for (size_t i = 0; i < p->n_urls; i++) {
        pos[i] = (struct vg__probe_urlpos){p->urls[i], i};
    }
    qsort(pos, p->n_urls, sizeof(*pos), vg__probe_cmp_urlpos);
    for (size_t i = 0, j; i < p->n_urls; i = j) {
        for (j = i + 1; j < p->n_urls && strcmp(pos[j].url, pos[i].url) == 0; j++) {
            dup[pos[j].i] = true;
        }
        if (j - i > 1 && cb != NULL) {
            cb(pos[i].url, j - i, arg);
        }
    }
    for (size_t i = 0; i < p->n_urls; i++) {
        if (dup[i]) {
            free(p->urls[i]);
            removed++;
        } else {
            p->urls[kept++] = p->urls[i];
        }
    }
    p->n_urls = kept;
    free(pos);
    free(dup);
    return removed;
}

int
vg_probe_skip(struct vg_probe *p, size_t url_index, unsigned trial)
{
    size_t total = p->n_urls * p->o.repeat;

    if (url_index >= p->n_urls || trial < 1 || trial > p->o.repeat) {
        return VG_EINVAL;
    }
    if (p->skip == NULL) {
        p->skip = vg_xcalloc(total, 1);
    }
    if (p->skip[(size_t)(trial - 1) * p->n_urls + url_index]) {
        return 0;
    }
    p->skip[(size_t)(trial - 1) * p->n_urls + url_index] = 1;
    return 1;
}

size_t
vg_probe_count(const struct vg_probe *p)
{
    return p->n_urls * p->o.repeat;
}

int
vg_probe_run(struct vg_probe *p, vg_result_cb cb, void *arg)
{
    unsigned n_loops = vg__probe_loops_count(p);

    p->cb = cb;
    p->cb_arg = arg;
    p->one.next_job = 0;
    vg__probe_self_local(p);
    if (p->o.n_helpers > 0 && p->slots == NULL && p->n_urls > 0) {
        p->slots = vg_xcalloc(p->n_urls, sizeof(*p->slots));
        for (size_t j = 0; p->skip != NULL && j < p->n_urls * p->o.repeat; j++) {
            /* A skipped trial counts as finished, so that the control goes after the last run. */
            p->slots[j % p->n_urls].finished += p->skip[j];
        }
    }
    if (p->o.collector != NULL) {
        struct vg_upload_opts uo = {
            .collector = p->o.collector,
            .spool_dir = p->o.spool_dir != NULL ? p->o.spool_dir : ".",
            .token = p->o.collector_token,
            .allow_token_over_http = p->o.allow_token_over_http,
        };
        char err[512];

        if (vg_uploader_new(&p->loop, p->ctx, &uo, &p->up, err, sizeof(err)) < 0) {
            fprintf(stderr, "vigie: %s\n", err);
            return VG_EINVAL;
        }
        /* What earlier runs could not send goes first. */
        vg_uploader_add_spool(p->up);
    }
    uv_mutex_lock(&p->qlock);
    p->accepting = false;
    uv_mutex_unlock(&p->qlock);
    if (!uv_is_closing((uv_handle_t *)&p->async)) {
        uv_close((uv_handle_t *)&p->async, NULL);
    }
    if (n_loops <= 1 || vg__probe_run_loops(p, n_loops) < 0) {
        vg__probe_schedule(&p->one);
        uv_run(&p->loop, UV_RUN_DEFAULT);
        vg__probe_ctrl_pool_end(&p->one);
    }
    if (p->up != NULL) {
        vg_uploader_stats(p->up, &p->up_stats);
        vg_uploader_free(p->up);
        p->up = NULL;
    }
    return atomic_load(&p->interrupted) ? VG_ECANCELED : 0;
}

void
vg_probe_interrupt(struct vg_probe *p)
{
    /* Async-signal-safe: a lock-free store. Every loop reads it before starting a measurement. */
    atomic_store(&p->interrupted, 1);
}

void
vg_probe_free(struct vg_probe *p)
{
    if (p == NULL) {
        return;
    }
    if (!uv_is_closing((uv_handle_t *)&p->async)) {
        uv_close((uv_handle_t *)&p->async, NULL);
    }
    uv_run(&p->loop, UV_RUN_DEFAULT);
    while (p->qhead != NULL) {
        struct vg__job *j = p->qhead;

        p->qhead = j->next;
        vg__probe_job_free(j);
    }
    uv_mutex_destroy(&p->qlock);
    uv_rwlock_destroy(&p->self_lock);
    for (size_t i = 0; p->slots != NULL && i < p->n_urls; i++) {
        vg__probe_ctrl_release(&p->slots[i]);
    }
    free(p->slots);
    (void)uv_loop_close(&p->loop);
    vg_tls_ctx_free(p->ctx);
    vg_asn_free(p->asn);
    for (size_t i = 0; i < p->n_urls; i++) {
        free(p->urls[i]);
    }
    free(p->urls);
    free(p->skip);
    free(p);
}

void
vg_probe_upload_stats(const struct vg_probe *p, struct vg_upload_stats *st)
{
    *st = p->up_stats;
}

int
vg_upload_spool(const struct vg_upload_opts *o, struct vg_upload_stats *st, char *err,
                size_t errlen)
{
    struct ssl_ctx_st *ctx;
    struct vg_uploader *up;
    uv_loop_t loop;
    int rc;

    memset(st, 0, sizeof(*st));
    rc = vg_uploader_check(o, err, errlen);
    if (rc < 0) {
        return rc;
    }
    rc = vg_tls_ctx_new(o->ca_file, &ctx, err, errlen);
    if (rc < 0) {
        return rc;
    }
    uv_loop_init(&loop);
    rc = vg_uploader_new(&loop, ctx, o, &up, err, errlen);
    if (rc == 0) {
        vg_uploader_add_spool(up);
        uv_run(&loop, UV_RUN_DEFAULT);
        vg_uploader_stats(up, st);
        vg_uploader_free(up);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&loop);
    vg_tls_ctx_free(ctx);
    return rc;
}

const char *
vg_probe_strerror(int code)
{
    return vg_strerror(code);
}
