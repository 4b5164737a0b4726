/* SPDX-License-Identifier: MIT */
/*
 * fuzz_control.c - a hostile test helper: vg_rec_thresponse_parse on arbitrary bytes. Besides
 * crashes it checks the parser's promises (caps, NUL-terminated fixed buffers, hashes of 64
 * lower-case hex digits, IP addresses only, UTF-8 text, an empty record after an error, endpoint
 * lookup), then feeds every parsed control to the verdict and OONI's comparison against a set of
 * fixed probe observations, so that hostile control data reaches every rule.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/compare.h"
#include "meas/control.h"
#include "meas/record_th.h"
#include "meas/verdict.h"
#include "proto/ipaddr.h"
#include "util/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_OBS 6

static struct vg_ctrl ctrl;
static struct vg_obs obs[N_OBS];
static bool ready;

#define SPKI_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SPKI_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static struct vg_obs_endpoint *
ep(struct vg_obs *o, const char *addr, int depth, int tcp_err, bool tls, int tls_err, int verify)
{
    struct vg_obs_endpoint *e = vg_obs_add_ep(o);

    snprintf(e->addr, sizeof(e->addr), "%s", addr);
    e->depth = depth;
    e->tcp_err = tcp_err;
    e->tls_attempted = tls;
    e->tls_err = tls_err;
    e->verify_err = verify;
    return e;
}

static void
base(struct vg_obs *o, bool https, const char *answer)
{
    vg_obs_init(o);
    snprintf(o->host, sizeof(o->host), "www.example.com");
    o->https = https;
    o->body_length = -1;
    if (answer != NULL) {
        snprintf(o->dns_addrs[o->n_dns_addrs++], sizeof(o->dns_addrs[0]), "%s", answer);
        o->n_sys_addrs = 1;
    }
}

static void
page(struct vg_obs *o, const char *addr, long len, const char *title)
{
    o->http_attempted = true;
    snprintf(o->http_addr, sizeof(o->http_addr), "%s", addr);
    o->status = 200;
    o->body_length = len;
    snprintf(o->title, sizeof(o->title), "%s", title);
    static char names[N_OBS][1][64]; /* o->headers: room for this one name */

    o->headers = names[o - obs];
    snprintf(o->headers[o->n_headers++], sizeof(o->headers[0]), "X-Cache");
}

/* Probe observations that lead to every rule, given the right control. */
static void
setup(void)
{
    struct vg_obs_endpoint *e;
    static struct vg_obs_reply replies1[VG_OBS_MAX_REPLIES];
    struct vg_obs_reply *r;

    /* 0: https success over a validated chain (MITM by trusted CA, accessible) */
    base(&obs[0], true, "93.184.216.34");
    e = ep(&obs[0], "93.184.216.34:443", 0, 0, true, 0, 0);
    snprintf(e->leaf_spki, sizeof(e->leaf_spki), SPKI_A);
    snprintf(e->ca_spki[e->n_ca_spki++], sizeof(e->ca_spki[0]), SPKI_B);
    page(&obs[0], "93.184.216.34:443", 1256, "Example Domain");
    /* 1: a bogon answer and a refused connection, plus injected replies */
    base(&obs[1], false, "10.10.34.35");
    snprintf(obs[1].bogon, sizeof(obs[1].bogon), "10.10.34.35 (private) from the system resolver");
    ep(&obs[1], "10.10.34.35:80", 0, VG_ECONNREFUSED, false, 0, 0);
    obs[1].http_attempted = true;
    obs[1].http_failure = VG_ECONNREFUSED;
    obs[1].replies = replies1; /* room for the replies (obs.h) */
    r = &obs[1].replies[obs[1].n_replies++];
    snprintf(r->addrs[r->n_addrs++], sizeof(r->addrs[0]), "10.10.34.35");
    r = &obs[1].replies[obs[1].n_replies++];
    snprintf(r->addrs[r->n_addrs++], sizeof(r->addrs[0]), "93.184.216.34");
    /* 2: TLS reset on two addresses */
    base(&obs[2], true, "93.184.216.34");
    ep(&obs[2], "93.184.216.34:443", 0, 0, true, VG_ECONNRESET, 0);
    ep(&obs[2], "[2606:2800:220:1:248:1893:25c8:1946]:443", 0, 0, true, VG_ETIMEDOUT, 0);
    obs[2].http_attempted = true;
    obs[2].http_failure = VG_ECONNRESET;
    /* 3: NXDOMAIN */
    base(&obs[3], false, NULL);
    obs[3].sys_failure = VG_EDNS_NXDOMAIN;
    obs[3].http_attempted = true;
    obs[3].http_failure = VG_EDNS_NXDOMAIN;
    /* 4: a cleartext page, maybe another one, after a redirect */
    base(&obs[4], false, "198.51.100.7");
    ep(&obs[4], "198.51.100.7:80", 0, 0, false, 0, 0);
    ep(&obs[4], "198.51.100.8:80", 1, 0, false, 0, 0);
    obs[4].final_depth = 1;
    page(&obs[4], "198.51.100.8:80", 154, "Access denied by the operator of this network");
    /* 5: a certificate that does not validate, and a TCP timeout */
    base(&obs[5], true, "93.184.216.34");
    ep(&obs[5], "93.184.216.34:443", 0, 0, true, 0, VG_ETLS_UNKNOWN_CA);
    ep(&obs[5], "93.184.216.35:443", 0, VG_ETIMEDOUT, false, 0, 0);
    obs[5].http_attempted = true;
    obs[5].http_failure = VG_ETLS_UNKNOWN_CA;
}

static void
check_str(const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL || !vg_utf8_valid((const uint8_t *)s, strlen(s))) {
        abort();
    }
}

static void
check_hex(const char *s)
{
    size_t n = strnlen(s, 65);

    if (n != 0 && n != 64) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            abort();
        }
    }
}

static void
check_ctrl(const struct vg_ctrl *c)
{
    if (c->n_ep > VG_CTRL_MAX_EP || c->n_addrs > VG_DNS_MAX_ADDRS ||
        c->n_headers > VG_CTRL_MAX_HDR || c->status < -1 || c->status > 999 ||
        c->body_length < -1) {
        abort();
    }
    check_str(c->dns_failure, sizeof(c->dns_failure));
    check_str(c->http_failure, sizeof(c->http_failure));
    check_str(c->title, sizeof(c->title));
    check_hex(c->body_sha256);
    for (size_t i = 0; i < c->n_addrs; i++) {
        check_str(c->addrs[i], sizeof(c->addrs[i]));
        if (vg_ip_classify(c->addrs[i]) < 0) {
            abort();
        }
    }
    for (size_t i = 0; i < c->n_headers; i++) {
        check_str(c->headers[i], sizeof(c->headers[i]));
    }
    for (size_t i = 0; i < c->n_ep; i++) {
        const struct vg_ctrl_endpoint *e = &c->ep[i];

        check_str(e->addr, sizeof(e->addr));
        check_str(e->tcp_failure, sizeof(e->tcp_failure));
        check_str(e->tls_failure, sizeof(e->tls_failure));
        check_hex(e->leaf_sha256);
        check_hex(e->leaf_spki);
        if (e->addr[0] == '\0' || e->n_ca_spki > VG_CTRL_MAX_CA ||
            vg_ctrl_endpoint(c, e->addr) != e) {
            abort();
        }
        for (size_t j = 0; j < e->n_ca_spki; j++) {
            check_hex(e->ca_spki[j]);
            if (e->ca_spki[j][0] == '\0') {
                abort();
            }
        }
    }
}

static void
check_verdict(const struct vg_decision *v)
{
    if ((unsigned)v->verdict >= VG_VERDICT_COUNT || v->evidence[0] == '\0' ||
        memchr(v->evidence, '\0', sizeof(v->evidence)) == NULL ||
        memchr(v->cause, '\0', sizeof(v->cause)) == NULL || v->accessible < -1 ||
        v->accessible > 1 || v->blocking > VG_BLOCKING_HTTP_DIFF) {
        abort();
    }
    /* OONI's backward-compatibility rule */
    if (v->accessible == 1 && v->blocking != VG_BLOCKING_FALSE) {
        abort();
    }
    if (v->ooni.body_proportion > 1.0 || v->ooni.dns_consistency < -1 ||
        v->ooni.dns_consistency > 1 || v->ooni.x_dns_consistency < v->ooni.dns_consistency) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_decision v;
    int rc;

    if (!ready) {
        setup();
        ready = true;
    }
    rc = vg_rec_thresponse_parse((const char *)data, size, &ctrl);
    if (rc != 0) {
        if ((rc != VG_EPROTO && rc != VG_ETOOBIG) || ctrl.n_ep != 0 || ctrl.n_addrs != 0 ||
            ctrl.n_headers != 0 || ctrl.status != -1 || ctrl.body_length != -1 ||
            ctrl.title[0] != '\0') {
            abort();
        }
        return 0;
    }
    check_ctrl(&ctrl);
    for (size_t i = 0; i < N_OBS; i++) {
        obs[i].ctrl = &ctrl;
        vg_verdict_decide(&obs[i], &v);
        check_verdict(&v);
    }
    return 0;
}
