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

static json_t *
vg__probe_http_headers_json(const struct vg_http_head *h, const uint8_t *p, json_t **list_out)
{
    json_t *obj = json_object(), *list = json_array();

    for (size_t i = 0; i < h->n_fields; i++) {
        const struct vg_http_field *fl = &h->fields[i];
        json_t *name = vg__probe_jpeer(p + fl->name.off, fl->name.len);
        json_t *val = vg__probe_jpeer(p + fl->value.off, fl->value.len);

        if (json_object_get(obj, json_string_value(name)) == NULL) {
            json_object_set(obj, json_string_value(name), val);
        }
        json_array_append_new(list, json_pack("[oo]", name, val));
    }
    *list_out = list;
    return obj;
}

/* Record the request (final first, as OONI orders them) and the summary; then release. */
static void
vg__probe_http_finish(struct vg_meas *m, int failure)
{
    struct vg__fetch *f = m->fetch;
    struct vg__ep *ep = f->ep;
    json_t *req, *resp, *hdrs = json_object(), *hlist = json_array(), *entry;
    char url[VG_URL_MAX + 300];
    const char *ua = VG_REC_USER_AGENT;

    if (vg_url_format(&m->url, url, sizeof(url)) < 0) {
        url[0] = '\0';
    }
    json_object_set_new(hdrs, "Accept",
                        json_string("text/html,application/xhtml+xml,"
                                    "application/xml;q=0.9,*/*;q=0.8"));
    json_object_set_new(hdrs, "Accept-Language", json_string("en-US,en;q=0.9"));
    json_object_set_new(hdrs, "User-Agent", json_string(ua));
    json_array_append_new(hlist, json_pack("[ss]", "Accept",
                                           "text/html,application/xhtml+xml,application/xml;"
                                           "q=0.9,*/*;q=0.8"));
    json_array_append_new(hlist, json_pack("[ss]", "Accept-Language", "en-US,en;q=0.9"));
    json_array_append_new(hlist, json_pack("[ss]", "User-Agent", ua));
    req = json_pack("{s:s, s:s, s:o, s:o, s:s, s:b, s:{s:n, s:n, s:b}, s:s}", "url", url, "method",
                    "GET", "headers", hdrs, "headers_list", hlist, "body", "", "body_is_truncated",
                    0, "tor", "exit_ip", "exit_name", "is_tor", 0, "x_transport", "tcp");
    m->obs.http_attempted = true;
    m->obs.http_failure = failure;
    m->obs.final_depth = m->depth;
    snprintf(m->obs.http_addr, sizeof(m->obs.http_addr), "%s", ep->addr);
    m->http_obs = ep->obs; /* http_udp_only is read at the end: the system resolver may name
                            * this address after the page came */
    if (f->x.head != NULL) {
        /* An empty body has no buffer: use a valid empty one for the byte functions below. */
        const uint8_t *bd = f->x.body.data != NULL ? f->x.body.data : (const uint8_t *)"";
        json_t *rlist, *rh = vg__probe_http_headers_json(f->x.head, f->x.in.data, &rlist), *body;
        char title[4 * VG_HTML_TITLE_MAX + 1];
        size_t tlen = vg_html_title(bd, f->x.body.len, title, sizeof(title));

        if (vg_utf8_valid(bd, f->x.body.len) && memchr(bd, 0, f->x.body.len) == NULL) {
            body = json_stringn((const char *)bd, f->x.body.len);
        } else {
            char *b64 = vg_base64(bd, f->x.body.len);

            body = json_pack("{s:s, s:s}", "format", "base64", "data", b64);
            free(b64);
        }
        if (body == NULL) {
            body = json_string("");
        }
        resp = json_pack("{s:i, s:o, s:o, s:o, s:b, s:I}", "code", f->x.head->status, "headers", rh,
                         "headers_list", rlist, "body", body, "body_is_truncated", f->x.truncated,
                         "x_body_length", (json_int_t)f->x.body.len);
        {
            char sha[65];

            vg_sha256_hex(bd, f->x.body.len, sha);
            json_object_set_new(resp, "x_body_sha256", json_string(sha));
        }
        json_object_set_new(resp, "x_title",
                            tlen > 0 ? vg__probe_jpeer((const uint8_t *)title, tlen) : json_null());
        m->obs.status = f->x.head->status;
        if (tlen > 0) {
            size_t n;
            char *clean = vg_utf8_sanitize((const uint8_t *)title, tlen, &n);

            snprintf(m->obs.title, sizeof(m->obs.title), "%s", clean);
            free(clean);
        }
        m->obs.blockpage = vg_blockpage_match(bd, f->x.body.len);
        m->obs.body_length = (long)f->x.body.len;
        m->obs.body_truncated = f->x.truncated;
        vg_sha256_hex(bd, f->x.body.len, m->obs.body_sha256);
        m->obs.n_headers = 0;
        for (size_t i = 0; i < f->x.head->n_fields && m->obs.n_headers < VG_CTRL_MAX_HDR; i++) {
            const struct vg_http_field *fl = &f->x.head->fields[i];
            size_t n = fl->name.len < 63 ? fl->name.len : 63;

            memcpy(m->obs.headers[m->obs.n_headers], f->x.in.data + fl->name.off, n);
            m->obs.headers[m->obs.n_headers++][n] = '\0';
        }
    } else {
        m->obs.body_length = -1;
        resp = json_pack("{s:n}", "code");
        json_object_set_new(resp, "body", json_null());
        json_object_set_new(resp, "headers", json_object());
        json_object_set_new(resp, "headers_list", json_array());
    }
    entry = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:f, s:f, s:o, s:i}", "network", "tcp",
                      "address", ep->addr, "alpn", ep->alpn, "failure", vg__probe_jfailure(failure),
                      "request", req, "response", resp, "t0", f->t0, "t", vg__probe_now(m), "tags",
                      vg__probe_tags(m->depth), "transaction_id", ep->tid);
    json_array_insert_new(m->requests, 0, entry);
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
    char host[VG_DNS_NAME_MAX + 16];
    int rc;

    m->fetch = f;
    f->ep = ep;
    ep->state = VG__EP_FETCHING;
    f->t0 = vg__probe_now(m);
    vg_buf_init(&f->req, VG_URL_MAX + 1024);
    vg_httpx_init(&f->x, &m->p->loop, m->p->o.body_max);
    if (m->url.ip_family == 6) {
        snprintf(host, sizeof(host), "[%s]", m->url.host);
    } else {
        snprintf(host, sizeof(host), "%s", m->url.host);
    }
    if (m->url.port_explicit && !vg_url_default_port(&m->url)) {
        snprintf(host + strlen(host), sizeof(host) - strlen(host), ":%u", m->url.port);
    }
    rc = vg_buf_appendf(&f->req,
                        "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
                        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;"
                        "q=0.8\r\nAccept-Language: en-US,en;q=0.9\r\nConnection: close\r\n\r\n",
                        m->url.path, host, VG_REC_USER_AGENT);
    if (rc < 0 || vg_httpx_start(&f->x, ep->conn, f->req.data, f->req.len, m->p->o.http_timeout_ms,
                                 vg__probe_http_on_fetched, m) < 0) {
        vg__probe_http_finish(m, VG_EINTERNAL);
    }
}
