/* SPDX-License-Identifier: MIT */
/*
 * probe_http.c - the page: one GET over a connected (and verified) endpoint, recorded with its
 * response as OONI's requests[] entry and summarised for the verdict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/probe_impl.h"
#include "meas/record.h"
#include "proto/html.h"
#include "proto/http1.h"
#include "util/mem.h"
#include "util/str.h"

void
vg__probe_fetch_free(struct vg__fetch *f)
{
    if (f == NULL) {
        return;
    }
    vg_buf_cleanup(&f->req);
    vg_httpx_cleanup(&f->x);
    free(f);
}

/* What the verdict keeps of the final response: status, title, body fingerprints, header names. */
static void
vg__probe_http_summary(struct vg_obs *o, const struct vg_rec_response *r)
{
    if (r->head == NULL) {
        o->body_length = -1;
        return;
    }
    o->status = r->head->status;
    if (r->title_len > 0) {
        size_t n;
        char *clean = vg_utf8_sanitize((const uint8_t *)r->title, r->title_len, &n);

        snprintf(o->title, sizeof(o->title), "%s", clean);
        free(clean);
    }
    o->blockpage = vg_blockpage_match(r->body, r->body_len);
    o->body_length = (long)r->body_len;
    o->body_truncated = r->truncated;
    snprintf(o->body_sha256, sizeof(o->body_sha256), "%s", r->body_sha256);
    o->n_headers = 0;
    vg_obs_headers_reserve(o, r->head->n_fields);
    for (size_t i = 0; i < r->head->n_fields && o->n_headers < VG_CTRL_MAX_HDR; i++) {
        const struct vg_http_field *fl = &r->head->fields[i];
        size_t n = fl->name.len < 63 ? fl->name.len : 63;

        memcpy(o->headers[o->n_headers], r->head_bytes + fl->name.off, n);
        o->headers[o->n_headers++][n] = '\0';
    }
}

/* Record the request (final first, as OONI orders them) and the summary; then release. */
static void
vg__probe_http_finish(struct vg_meas *m, int failure)
{
    struct vg__fetch *f = m->fetch;
    struct vg__ep *ep = f->ep;
    /* An empty body has no buffer: use a valid empty one for the byte functions below. */
    const uint8_t *body = f->x.body.data != NULL ? f->x.body.data : (const uint8_t *)"";
    char url[VG_URL_MAX + 300], title[4 * VG_HTML_TITLE_MAX + 1], sha[65];
    struct vg_rec_response resp = {.head = f->x.head};
    struct vg_rec_event ev;

    if (vg_url_format(&m->url, url, sizeof(url)) < 0) {
        url[0] = '\0';
    }
    if (f->x.head != NULL) {
        resp.head_bytes = f->x.in.data;
        resp.body = body;
        resp.body_len = f->x.body.len;
        resp.body_total = f->x.body_total;
        resp.truncated = f->x.truncated;
        vg_sha256_hex(body, f->x.body.len, sha);
        resp.body_sha256 = sha;
        resp.title_len = vg_html_title(body, f->x.body.len, title, sizeof(title));
        resp.title = title;
    }
    m->obs.http_attempted = true;
    m->obs.http_failure = failure;
    m->obs.final_depth = m->depth;
    snprintf(m->obs.http_addr, sizeof(m->obs.http_addr), "%s", ep->addr);
    m->http_obs = ep->obs; /* http_udp_only is read at the end: the system resolver may name
                            * this address after the page came */
    vg__probe_http_summary(&m->obs, &resp);
    ev = (struct vg_rec_event){
        .t0 = f->t0, .t = vg__probe_now(m), .depth = m->depth, .tid = ep->tid};
    vg_rec_add_request(m->tk, &ev, ep->addr, ep->alpn, url, failure, &resp);
    m->fetch_done = true;
    vg__probe_ep_release(ep);
}

static void
vg__probe_http_on_fetched(struct vg_httpx *x, int failure, void *arg)
{
    (void)x;
    vg__probe_http_finish(arg, failure);
}

void
vg__probe_fetch_start(struct vg_meas *m, struct vg__ep *ep)
{
    struct vg__fetch *f = vg_xcalloc(1, sizeof(*f));
    const struct vg__job *j = m->job;
    char host[VG_DNS_NAME_MAX + 16];
    int rc;

    m->fetch = f;
    f->ep = ep;
    ep->state = VG__EP_FETCHING;
    f->t0 = vg__probe_now(m);
    vg_buf_init(&f->req, VG_URL_MAX + 1024);
    vg_httpx_init(&f->x, m->lp->uv, m->p->o.body_max);
    if (m->url.ip_family == 6) {
        snprintf(host, sizeof(host), "[%s]", m->url.host);
    } else {
        snprintf(host, sizeof(host), "%s", m->url.host);
    }
    if (m->url.port_explicit && !vg_url_default_port(&m->url)) {
        snprintf(host + strlen(host), sizeof(host) - strlen(host), ":%u", m->url.port);
    }
    if (j != NULL && j->body_count_max > 0) {
        f->x.count_max = j->body_count_max;
    }
    /* A job's headers are the THRequest's (the helper forwards them, as oohelperd does). */
    rc = vg_buf_appendf(
        &f->req,
        "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: %s\r\n"
        "Accept-Language: %s\r\nConnection: close\r\n\r\n",
        m->url.path, host, j != NULL && j->user_agent != NULL ? j->user_agent : VG_REC_USER_AGENT,
        j != NULL && j->accept != NULL ? j->accept : VG_REC_ACCEPT,
        j != NULL && j->accept_language != NULL ? j->accept_language : VG_REC_ACCEPT_LANGUAGE);
    if (rc < 0 || vg_httpx_start(&f->x, ep->conn, f->req.data, f->req.len,
                                 vg__probe_step_ms(m, m->p->o.http_timeout_ms),
                                 vg__probe_http_on_fetched, m) < 0) {
        vg__probe_http_finish(m, VG_EINTERNAL);
    }
}
