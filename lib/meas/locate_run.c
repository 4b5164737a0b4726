/* SPDX-License-Identifier: MIT */
/*
 * locate_run.c - vg_locate and the rest of the locate API of vigie/vigie.h: the target (the
 * URL's addresses, the resolver), then the controls, the trigger and the decision
 * (locate_trace.c, locate_result.c); and vg_locate_hint, which aims a localisation from a
 * measurement (read by record_locate.c).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "meas/locate.h"
#include "meas/locate_impl.h"
#include "meas/record_locate.h"
#include "net/tls.h"
#include "net/udpdns.h"
#include "proto/url.h"
#include "util/mem.h"
#include "util/str.h"
#include "vigie/vigie.h"

/* ------------------------------------------------------------------------------------------ */
/* targets                                                                                     */

/* The addresses to try, in order: opts->addr, or the host's (system resolver). */
static int
vg__loc_addresses(struct vg__loc *l, struct sockaddr_storage *out, size_t *n)
{
    struct addrinfo hints, *res = NULL, *ai;
    int rc;

    *n = 0;
    if (l->o->addr != NULL || l->url.ip_family != 0) {
        const char *a = l->o->addr != NULL ? l->o->addr : l->url.host;

        if (vg__loc_parse_ip_port(a, l->port, &out[0]) < 0) {
            snprintf(l->failure, sizeof(l->failure), "not an IP address: '%s'", a);
            return VG_EINVAL;
        }
        vg__loc_set_port(&out[0], l->port);
        *n = 1;
        return 0;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(l->url.host, NULL, &hints, &res);
    if (rc != 0) {
        snprintf(l->failure, sizeof(l->failure), "cannot resolve %s: %s", l->url.host,
                 gai_strerror(rc));
        return VG_EDNS_NXDOMAIN;
    }
    for (ai = res; ai != NULL && *n < VG_LOCATE_ADDRS_MAX; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) {
            continue;
        }
        memset(&out[*n], 0, sizeof(out[*n]));
        memcpy(&out[*n], ai->ai_addr, ai->ai_addrlen);
        vg__loc_set_port(&out[*n], l->port);
        (*n)++;
    }
    freeaddrinfo(res);
    if (*n == 0) {
        snprintf(l->failure, sizeof(l->failure), "no address for %s", l->url.host);
        return VG_EDNS_NOANSWER;
    }
    return 0;
}
/* ------------------------------------------------------------------------------------------ */
/* the public API                                                                              */

void
vg_locate_opts_init(struct vg_locate_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->control_name = "example.org";
    o->max_ttl = VG_LOCATE_MAX_TTL;
    o->ttl_timeout_ms = 1000;
    o->budget_ms = 60000;
}

bool
vg_locate_supports(const char *cause)
{
    enum vg_loc_cause c;

    return vg_loc_cause_parse(cause, &c) == 0;
}

void
vg_locate_result_cleanup(struct vg_locate_result *r)
{
    if (r == NULL) {
        return;
    }
    VG_FREE(r->json);
}

/* Port probed for the cause: the URL's when its scheme matches the cause's protocol. */
static unsigned
vg__loc_cause_port(enum vg_loc_cause c, const struct vg_url *u)
{
    bool tls_url = strcmp(u->scheme, "https") == 0 || strcmp(u->scheme, "tls") == 0;

    if (vg_loc_cause_is_dns(c)) {
        return 53;
    }
    if (vg_loc_cause_is_tls(c)) {
        return tls_url ? u->port : 443;
    }
    return strcmp(u->scheme, "http") == 0 ? u->port : 80;
}

/* Controls, trigger and decision for the target l->sa. True when located. */
static bool
vg__loc_run_tcp(struct vg__loc *l)
{
    struct vg_loc_decision d;
    unsigned companion = l->port == 80 ? 443 : 80;

    vg__loc_syn_trace(l, &l->ctl[0], l->port);
    vg__loc_syn_trace(l, &l->ctl[1], companion);
    l->server_hop = l->ctl[0].endpoint_hop > l->ctl[1].endpoint_hop ? l->ctl[0].endpoint_hop
                                                                    : l->ctl[1].endpoint_hop;
    /* The trigger's routers come from these traces: an established connection gets no
     * offender address (net/ttlprobe.h). */
    vg__loc_tcp_trigger(l);
    vg_loc_decide(l->cause, l->trigger.hops, l->trigger.n, l->server_hop, &d);
    return d.hop > 0;
}

static int
vg__loc_run_dns(struct vg__loc *l)
{
    const struct vg_locate_opts *o = l->o;
    char sys[INET6_ADDRSTRLEN + 8];
    const char *res = o->resolver;

    if (res == NULL) {
        vg_udpdns_system_resolver(sys, sizeof(sys));
        res = sys[0] != '\0' ? sys : NULL;
    }
    if (res == NULL || vg__loc_parse_ip_port(res, 53, &l->sa) < 0) {
        snprintf(l->failure, sizeof(l->failure), "no usable resolver (%s)",
                 res != NULL ? res : "none in /etc/resolv.conf");
        return VG_EINVAL;
    }
    l->port = ntohs(l->sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&l->sa)->sin6_port
                                                : ((struct sockaddr_in *)&l->sa)->sin_port);
    vg__loc_dns_trace(l, &l->ctl[0], o->control_name, false);
    l->server_hop = l->ctl[0].endpoint_hop;
    vg__loc_dns_trace(l, &l->trigger, l->url.host, true);
    return 0;
}

int
vg_locate(const struct vg_locate_opts *opts, const char *url, const char *cause,
          struct vg_locate_result *r)
{
    struct vg_locate_opts defaults;
    struct vg__loc *l;
    char err[256];
    time_t wall0 = time(NULL);
    int rc = 0;

    memset(r, 0, sizeof(*r));
    r->interference_hop = r->server_hop = r->tls_port_hop = r->port80_hop = -1;
    snprintf(r->cause, sizeof(r->cause), "%s", cause != NULL ? cause : "");
    if (opts == NULL) {
        vg_locate_opts_init(&defaults);
        opts = &defaults;
    }
    if (opts->max_ttl < 1 || opts->max_ttl > VG_LOCATE_MAX_TTL || opts->ttl_timeout_ms == 0 ||
        opts->budget_ms == 0 || opts->control_name == NULL) {
        snprintf(r->failure, sizeof(r->failure), "invalid options (max TTL 1..%d)",
                 VG_LOCATE_MAX_TTL);
        return VG_EINVAL;
    }
    l = vg_xcalloc(1, sizeof(*l));
    l->o = opts;
    l->t0 = vg__loc_ms();
    l->deadline = l->t0 + opts->budget_ms;
    l->server_hop = -1;
    if (vg_loc_cause_parse(cause, &l->cause) < 0) {
        snprintf(r->failure, sizeof(r->failure),
                 "cannot locate cause '%s' (tls.reset, tls.eof, tls.mitm, http.reset, http.eof, "
                 "http.blockpage, http.diff, dns.injected)",
                 cause != NULL ? cause : "");
        rc = VG_EINVAL;
        goto out;
    }
    if (url == NULL || vg_url_parse(url, &l->url) < 0) {
        snprintf(r->failure, sizeof(r->failure), "invalid URL '%s'", url != NULL ? url : "");
        rc = VG_EINVAL;
        goto out;
    }
    vg_strlcpy(l->sni, l->url.host, sizeof(l->sni));
    l->port = vg__loc_cause_port(l->cause, &l->url);
    l->buf = vg_xmalloc(VG_LOCATE_READ_MAX);
    l->head = vg_xmalloc(sizeof(*l->head));
    l->msg = vg_xmalloc(sizeof(*l->msg));
    if (vg_loc_cause_is_dns(l->cause)) {
        rc = vg__loc_run_dns(l);
        if (rc < 0) {
            vg_strlcpy(r->failure, l->failure, sizeof(r->failure));
            goto out;
        }
    } else {
        struct sockaddr_storage addrs[VG_LOCATE_ADDRS_MAX];
        size_t n_addrs = 0;

        if (vg_loc_cause_is_tls(l->cause) &&
            vg_tls_ctx_new(opts->ca_file, &l->ctx, err, sizeof(err)) < 0) {
            snprintf(r->failure, sizeof(r->failure), "%s", err);
            rc = VG_EINVAL;
            goto out;
        }
        rc = vg__loc_addresses(l, addrs, &n_addrs);
        if (rc < 0) {
            vg_strlcpy(r->failure, l->failure, sizeof(r->failure));
            goto out;
        }
        /* One address after the other until one shows the interference (iCloud 2014: one
         * address of several was intercepted). */
        for (size_t i = 0; i < n_addrs; i++) {
            l->sa = addrs[i];
            l->failure[0] = '\0';
            if (vg__loc_run_tcp(l) || vg__loc_ms() >= l->deadline) {
                break;
            }
        }
    }
    vg__loc_fill_result(l, r);
    vg__loc_record(l, opts->input != NULL ? opts->input : url, url, r, wall0);
out:
    if (l->ctx != NULL) {
        vg_tls_ctx_free(l->ctx);
    }
    free(l->buf);
    free(l->head);
    free(l->msg);
    free(l);
    return rc;
}

/* The measurement's keys are read by the record module (vg_rec_locate_hint). */
int
vg_locate_hint(const char *measurement_json, const char *cause, struct vg_locate_hint *h)
{
    enum vg_loc_cause c;

    memset(h, 0, sizeof(*h));
    VG_TRY(vg_loc_cause_parse(cause, &c));
    return vg_rec_locate_hint(measurement_json, c, h);
}
