/* SPDX-License-Identifier: MIT */
/*
 * probe.c - the measurement engine: one libuv loop drives every (URL, trial) measurement.
 *
 * A measurement walks hops (the URL, then each redirect). A hop resolves the host (system
 * resolver off the loop thread, DNS over UDP on the loop), connects to every distinct address as
 * soon as it is known, runs the TLS handshake with SNI on each (https), fetches the page over the
 * first usable endpoint and ends when every started step has finished. The OONI-shaped JSON is
 * built as steps complete; a compact summary (struct vg_obs) feeds the verdict.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "meas/asn.h"
#include "meas/ctrlclient.h"
#include "meas/record.h"
#include "meas/upload.h"
#include "meas/verdict.h"
#include "net/conn.h"
#include "net/httpx.h"
#include "net/tls.h"
#include "net/udpdns.h"
#include "proto/dns.h"
#include "proto/html.h"
#include "proto/http1.h"
#include "proto/ipaddr.h"
#include "proto/url.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/str.h"
#include "vigie/vigie.h"

#define VG__READ_CHUNK (16 * 1024)

struct vg_probe {
    struct vg_probe_opts o;
    uv_loop_t loop;
    struct ssl_ctx_st *ctx;
    bool have_resolver;
    struct sockaddr_storage resolver;
    char resolver_str[64];
    char **urls;
    size_t n_urls;
    size_t next_job;
    size_t in_flight;
    volatile sig_atomic_t interrupted;
    vg_result_cb cb;
    void *cb_arg;
    /* serving mode: jobs submitted from other threads */
    uv_mutex_t qlock;
    uv_async_t async;
    bool accepting; /* under qlock: submissions allowed (not stopping, not a batch run) */
    struct vg__job *qhead, *qtail;
    struct vg__ctrl_slot *slots;      /* one per URL when helpers are configured */
    char sys_resolver[64];            /* first nameserver of /etc/resolv.conf (resolver_ip) */
    unsigned hs_active;               /* TLS handshakes running */
    struct vg__ep *hs_head, *hs_tail; /* connected endpoints waiting for a handshake slot */
    struct vg_uploader *up;           /* when a collector is configured */
    struct vg_upload_stats up_stats;
    struct vg_asn_db *asn;   /* --asn-db / --country-db, or NULL */
    uint32_t resolver_asn;   /* of sys_resolver (resolver_asn) */
    bool have_self;          /* a helper told the probe's address: self is its network */
    struct vg_asn_info self; /* probe_asn, probe_cc, probe_network_name */
};

/* The control for one URL, shared by its trials (batch mode). */
enum vg__ctrl_state { VG__CTRL_NONE, VG__CTRL_PENDING, VG__CTRL_DONE };

struct vg__ctrl_slot {
    enum vg__ctrl_state state;
    struct vg_ctrl *ctrl;     /* parsed THResponse, NULL when no helper answered */
    json_t *raw;              /* the THResponse as JSON (test_keys.control) */
    json_t *request;          /* the THRequest sent (test_keys.x_control_request) */
    char failure[512];        /* control_failure when ctrl is NULL */
    char helper[512];         /* URL of the helper that answered */
    double runtime;           /* seconds the exchange took */
    struct vg_meas **waiters; /* measurements waiting for it */
    size_t n_waiters;
    unsigned finished; /* trials of the URL that finished: at --repeat, the slot is cleared */
};

/* A measurement submitted to a serving probe (owned by the queue, then by its measurement). */
struct vg__job {
    struct vg__job *next;
    char *url;
    struct sockaddr_storage *eps;
    size_t n_eps;
    bool control;
    vg_result_cb cb;
    void *arg;
};

struct vg_meas;

enum vg__ep_state { VG__EP_CONNECTING, VG__EP_HANDSHAKE, VG__EP_FETCHING, VG__EP_DONE };

struct vg__ep {
    struct vg_meas *m;
    struct vg_conn *conn;
    struct sockaddr_storage sa;
    char ip[INET6_ADDRSTRLEN];
    char addr[64];
    uint16_t port;
    bool tls; /* handshake on this endpoint (https, or port 443 of a control measurement) */
    struct vg__ep *hs_next; /* in the probe's handshake queue */
    char alpn[32];          /* protocol negotiated by ALPN, "" if none */
    bool from_job; /* an address the job supplied (a probe's), not one this engine resolved */
    size_t obs;    /* index in m->obs.ep, or SIZE_MAX when the summary is full */
    int tid;       /* transaction id */
    double t0;
    enum vg__ep_state state;
};

struct vg__gai {
    uv_getaddrinfo_t req;
    struct vg_meas *m; /* NULL once the measurement stopped waiting */
    double t0;
};

struct vg__fetch {
    struct vg__ep *ep;
    struct vg_buf req;
    struct vg_httpx x;
    double t0;
};

struct vg_meas {
    struct vg_probe *p;
    struct vg__job *job; /* serving mode; NULL in batch mode */
    vg_result_cb cb;
    void *cb_arg;
    const char *input;
    size_t url_index;
    unsigned trial;
    uint64_t t0;
    time_t wall0;
    uv_timer_t dns_timer;
    int next_tid;
    json_t *root, *tk, *queries, *dups, *tcp, *tls, *requests;
    struct vg_obs obs;
    /* current hop */
    struct vg_url url;
    int depth;
    int pending;
    struct vg__gai *gai;
    struct vg_udpdns *udp;
    struct vg__ep *eps[VG_DNS_MAX_ADDRS];
    size_t n_eps;
    struct vg__fetch *fetch;
    bool fetch_done;
    int hop_failure; /* failure to report when no request could be made */
    double udp_t0;   /* when the UDP queries of this hop left */
    bool ctrl_asked; /* the control for this URL was requested or joined */
    char id[40];     /* UUIDv4 of the measurement */
    bool job_eps_added, adding_job_eps;
    size_t http_obs; /* summary index of the endpoint that carried the page, or SIZE_MAX */
    int sys_failure;
};

static void vg__hop_start(struct vg_meas *m);
static void vg__ep_release(struct vg__ep *ep);
static void vg__schedule(struct vg_probe *p);
static void vg__on_async(uv_async_t *a);
static void vg__job_free(struct vg__job *j);

/* ------------------------------------------------------------------------------------------ */
/* small helpers                                                                               */

static double
vg__now(const struct vg_meas *m)
{
    return (double)(uv_hrtime() - m->t0) / 1e9;
}

static json_t *
vg__jstr(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* A JSON string from peer bytes: invalid UTF-8 and NULs replaced, never NULL. */
static json_t *
vg__jpeer(const uint8_t *p, size_t len)
{
    size_t n;
    char *s = vg_utf8_sanitize(p, len, &n);
    json_t *j = json_stringn(s, n);

    free(s);
    return j != NULL ? j : json_string("");
}

static json_t *
vg__jfailure(int err)
{
    return vg__jstr(vg_err_failure(err));
}

static json_t *
vg__tags(int depth)
{
    char t[32];

    snprintf(t, sizeof(t), "depth=%d", depth);
    return json_pack("[s]", t);
}

static void
vg__fmt_addr(const struct sockaddr *sa, char *ip, size_t iplen, char *addr, size_t alen,
             uint16_t *port)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const void *)sa;

        inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)iplen);
        *port = ntohs(s4->sin_port);
        snprintf(addr, alen, "%s:%u", ip, *port);
    } else {
        const struct sockaddr_in6 *s6 = (const void *)sa;

        inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)iplen);
        *port = ntohs(s6->sin6_port);
        snprintf(addr, alen, "[%s]:%u", ip, *port);
    }
}

static bool
vg__is_bogon(const struct vg_probe *p, const char *ip, const char **cls)
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

static void
vg__note_bogon(struct vg_meas *m, const char *ip, const char *source)
{
    const char *cls;

    if (m->obs.bogon[0] != '\0' || !vg__is_bogon(m->p, ip, &cls)) {
        return;
    }
    snprintf(m->obs.bogon, sizeof(m->obs.bogon), "%s (%s) from %s", ip, cls, source);
}

/* What the databases say of ip into *info (zeroed when unknown or without a database). Bogons
 * are AS0 whatever a database says, as in OONI: an address that is not public names no network.
 * Returns the ASN. */
static uint32_t
vg__asn_of(const struct vg_probe *p, const char *ip, struct vg_asn_info *info)
{
    const char *cls;

    memset(info, 0, sizeof(*info));
    if (p->asn == NULL || vg__is_bogon(p, ip, &cls) || vg_asn_lookup(p->asn, ip, info) < 0) {
        memset(info, 0, sizeof(*info));
    }
    return info->asn;
}

/* OONI's answers[].asn and as_org_name, with a database (else asn stays null). */
static void
vg__answer_asn(const struct vg_probe *p, json_t *answer, const char *ip)
{
    struct vg_asn_info info;

    if (p->asn == NULL || answer == NULL) {
        return;
    }
    json_object_set_new(answer, "asn", json_integer(vg__asn_of(p, ip, &info)));
    json_object_set_new(answer, "as_org_name", json_string(info.org));
}

/* ------------------------------------------------------------------------------------------ */
/* hop bookkeeping                                                                             */

static void vg__hop_end(struct vg_meas *m);

static void
vg__pending_done(struct vg_meas *m)
{
    if (--m->pending == 0) {
        vg__hop_end(m);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* HTTP fetch                                                                                  */

static void
vg__fetch_free(struct vg__fetch *f)
{
    if (f == NULL) {
        return;
    }
    vg_buf_cleanup(&f->req);
    vg_httpx_cleanup(&f->x);
    free(f);
}

static json_t *
vg__headers_json(const struct vg_http_head *h, const uint8_t *p, json_t **list_out)
{
    json_t *obj = json_object(), *list = json_array();

    for (size_t i = 0; i < h->n_fields; i++) {
        const struct vg_http_field *fl = &h->fields[i];
        json_t *name = vg__jpeer(p + fl->name.off, fl->name.len);
        json_t *val = vg__jpeer(p + fl->value.off, fl->value.len);

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
vg__fetch_finish(struct vg_meas *m, int failure)
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
        json_t *rlist, *rh = vg__headers_json(f->x.head, f->x.in.data, &rlist), *body;
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
                            tlen > 0 ? vg__jpeer((const uint8_t *)title, tlen) : json_null());
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
                      "address", ep->addr, "alpn", ep->alpn, "failure", vg__jfailure(failure),
                      "request", req, "response", resp, "t0", f->t0, "t", vg__now(m), "tags",
                      vg__tags(m->depth), "transaction_id", ep->tid);
    json_array_insert_new(m->requests, 0, entry);
    m->fetch_done = true;
    vg__ep_release(ep);
}

static void
vg__on_fetched(struct vg_httpx *x, int failure, void *arg)
{
    (void)x;
    vg__fetch_finish(arg, failure);
}

static void
vg__fetch_start(struct vg_meas *m, struct vg__ep *ep)
{
    struct vg__fetch *f = vg_xcalloc(1, sizeof(*f));
    char host[VG_DNS_NAME_MAX + 16];
    int rc;

    m->fetch = f;
    f->ep = ep;
    ep->state = VG__EP_FETCHING;
    f->t0 = vg__now(m);
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
                                 vg__on_fetched, m) < 0) {
        vg__fetch_finish(m, VG_EINTERNAL);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* endpoints: TCP connect, TLS handshake                                                       */

static void
vg__ep_release(struct vg__ep *ep)
{
    struct vg_meas *m = ep->m;

    if (ep->state == VG__EP_DONE) {
        return;
    }
    ep->state = VG__EP_DONE;
    vg_conn_close(ep->conn);
    ep->conn = NULL;
    vg__pending_done(m);
}

/* The endpoint is usable for the page: fetch over it unless another one already does. */
static void
vg__ep_usable(struct vg__ep *ep)
{
    struct vg_meas *m = ep->m;

    /* A control fetches the page only over addresses it resolved itself: an address supplied by
     * the probe may be a censor's block-page server and would poison the control. */
    if (m->fetch == NULL && !m->p->interrupted && ep->port == m->url.port && !ep->from_job &&
        strncmp(m->url.scheme, "http", 4) == 0) {
        vg__fetch_start(m, ep);
        return;
    }
    vg__ep_release(ep);
}

static json_t *
vg__certs_json(const struct vg_tls_info *ti, json_t **summaries)
{
    json_t *certs = json_array(), *sum = json_array();

    for (size_t i = 0; i < ti->n_certs; i++) {
        const struct vg_cert *c = &ti->certs[i];

        if (c->der != NULL) {
            char *b64 = vg_base64(c->der, c->der_len);

            json_array_append_new(certs, json_pack("{s:s, s:s}", "data", b64, "format", "base64"));
            free(b64);
        }
        json_array_append_new(
            sum, json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:b}", "subject",
                           vg__jpeer((const uint8_t *)c->subject, strlen(c->subject)), "issuer",
                           vg__jpeer((const uint8_t *)c->issuer, strlen(c->issuer)), "not_before",
                           c->not_before, "not_after", c->not_after, "sha256", c->sha256,
                           "spki_sha256", c->spki_sha256, "self_signed", c->self_signed));
    }
    *summaries = sum;
    return certs;
}

static void vg__hs_next(struct vg_probe *p);
static void vg__hs_start(struct vg__ep *ep);

static void
vg__probe_on_handshake(struct vg_conn *c, int status, size_t n, void *arg)
{
    struct vg__ep *ep = arg;
    struct vg_meas *m = ep->m;

    m->p->hs_active--;
    vg__hs_next(m->p);
    struct vg_obs_endpoint *oe = ep->obs != SIZE_MAX ? &m->obs.ep[ep->obs] : NULL;
    json_t *entry, *certs = json_array(), *sums = json_array();
    struct vg_tls_info *ti = NULL;
    int failure = status;

    (void)n;
    if (status == 0) {
        ti = vg_xmalloc(sizeof(*ti));
        vg_tls_collect(vg_conn_ssl(c), ti);
        json_decref(certs);
        json_decref(sums);
        certs = vg__certs_json(ti, &sums);
        failure = ti->verify_err;
    }
    entry = json_pack(
        "{s:s, s:s, s:s, s:o, s:s, s:b, s:o, s:s, s:f, s:f, s:o, s:s, s:i, s:o, "
        "s:o, s:o}",
        "network", "tcp", "address", ep->addr, "cipher_suite", ti != NULL ? ti->cipher : "",
        "failure", vg__jfailure(failure), "negotiated_protocol", ti != NULL ? ti->alpn : "",
        "no_tls_verify", 0, "peer_certificates", certs, "server_name", m->url.host, "t0", ep->t0,
        "t", vg__now(m), "tags", vg__tags(m->depth), "tls_version", ti != NULL ? ti->version : "",
        "transaction_id", ep->tid, "x_certificates", sums, "x_handshake_failure",
        vg__jfailure(status), "x_verify_reason",
        ti != NULL && ti->verify_err != 0 ? json_string(ti->verify_reason) : json_null());
    json_array_append_new(m->tls, entry);
    if (oe != NULL) {
        oe->tls_err = status;
        if (ti != NULL) {
            oe->verify_err = ti->verify_err;
            snprintf(oe->verify_reason, sizeof(oe->verify_reason), "%s", ti->verify_reason);
            if (ti->n_certs > 0) {
                snprintf(oe->subject, sizeof(oe->subject), "%s", ti->certs[0].subject);
                snprintf(oe->issuer, sizeof(oe->issuer), "%s", ti->certs[0].issuer);
                oe->self_signed = ti->certs[0].self_signed;
                memcpy(oe->leaf_sha256, ti->certs[0].sha256, sizeof(oe->leaf_sha256));
                memcpy(oe->leaf_spki, ti->certs[0].spki_sha256, sizeof(oe->leaf_spki));
                for (size_t i = 1; i < ti->n_certs && oe->n_ca_spki < VG_CTRL_MAX_CA; i++) {
                    memcpy(oe->ca_spki[oe->n_ca_spki++], ti->certs[i].spki_sha256,
                           sizeof(oe->ca_spki[0]));
                }
            }
        }
    }
    if (ti != NULL) {
        bool valid = ti->verify_err == 0;

        memcpy(ep->alpn, ti->alpn, sizeof(ep->alpn));

        if (!valid && m->hop_failure == 0) {
            m->hop_failure = ti->verify_err;
        }
        vg_tls_info_cleanup(ti);
        free(ti);
        if (valid) {
            vg__ep_usable(ep);
            return;
        }
    } else if (m->hop_failure == 0) {
        m->hop_failure = status;
    }
    vg__ep_release(ep);
}

static void
vg__probe_on_connect(struct vg_conn *c, int status, size_t n, void *arg)
{
    struct vg__ep *ep = arg;
    struct vg_meas *m = ep->m;
    struct vg_obs_endpoint *oe = ep->obs != SIZE_MAX ? &m->obs.ep[ep->obs] : NULL;
    double t = vg__now(m);

    (void)c;
    (void)n;
    json_array_append_new(m->tcp,
                          json_pack("{s:s, s:i, s:{s:b, s:o, s:n}, s:f, s:f, s:o, s:i}", "ip",
                                    ep->ip, "port", ep->port, "status", "success", status == 0,
                                    "failure", vg__jfailure(status), "blocked", "t0", ep->t0, "t",
                                    t, "tags", vg__tags(m->depth), "transaction_id", ep->tid));
    if (oe != NULL) {
        oe->tcp_err = status;
    }
    if (status < 0) {
        if (m->hop_failure == 0) {
            m->hop_failure = status;
        }
        vg__ep_release(ep);
        return;
    }
    if (!ep->tls) {
        vg__ep_usable(ep);
        return;
    }
    if (oe != NULL) {
        oe->tls_attempted = true;
    }
    ep->state = VG__EP_HANDSHAKE;
    /* Handshakes are CPU-bound: a bounded number run at once and the others wait, connected.
     * OpenSSL's per-handshake memory then stays off measurements that would only queue for the
     * CPU anyway. */
    if (m->p->hs_active >= VG_TLS_HANDSHAKES_MAX) {
        if (m->p->hs_tail != NULL) {
            m->p->hs_tail->hs_next = ep;
        } else {
            m->p->hs_head = ep;
        }
        m->p->hs_tail = ep;
        return;
    }
    vg__hs_start(ep);
}

static void
vg__hs_start(struct vg__ep *ep)
{
    struct vg_meas *m = ep->m;
    struct vg_obs_endpoint *oe = ep->obs != SIZE_MAX ? &m->obs.ep[ep->obs] : NULL;
    struct ssl_st *ssl;

    ep->t0 = vg__now(m);
    m->p->hs_active++;
    if (vg_tls_new(m->p->ctx, vg_conn_fd(ep->conn), m->url.host, m->url.ip_family != 0, &ssl) < 0 ||
        vg_conn_handshake(ep->conn, ssl, m->p->o.tls_timeout_ms, vg__probe_on_handshake, ep) < 0) {
        m->p->hs_active--;
        if (oe != NULL) {
            oe->tls_err = VG_EINTERNAL;
        }
        vg__ep_release(ep);
    }
}

/* A handshake slot freed: start the oldest waiting endpoint. */
static void
vg__hs_next(struct vg_probe *p)
{
    while (p->hs_head != NULL && p->hs_active < VG_TLS_HANDSHAKES_MAX) {
        struct vg__ep *ep = p->hs_head;

        p->hs_head = ep->hs_next;
        if (p->hs_head == NULL) {
            p->hs_tail = NULL;
        }
        ep->hs_next = NULL;
        vg__hs_start(ep);
    }
}

/* Add an endpoint for an address learned from a resolver (deduplicated) and start it. */
static void
vg__ep_add_port(struct vg_meas *m, int family, const void *addr, uint16_t port, bool from_sys)
{
    struct sockaddr_storage ss;
    struct vg__ep *ep;
    const char *cls;
    int rc;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (void *)&ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, addr, 4);
    } else {
        struct sockaddr_in6 *s6 = (void *)&ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        memcpy(&s6->sin6_addr, addr, 16);
    }
    for (size_t i = 0; i < m->n_eps; i++) {
        if (memcmp(&m->eps[i]->sa, &ss, sizeof(ss)) == 0) {
            if (from_sys && m->eps[i]->obs != SIZE_MAX) {
                m->obs.ep[m->eps[i]->obs].from_udp_only = false;
            }
            return;
        }
    }
    if (m->n_eps >= VG_DNS_MAX_ADDRS || m->p->interrupted) {
        return;
    }
    ep = vg_xcalloc(1, sizeof(*ep));
    ep->m = m;
    ep->sa = ss;
    ep->tid = ++m->next_tid;
    vg__fmt_addr((struct sockaddr *)&ss, ep->ip, sizeof(ep->ip), ep->addr, sizeof(ep->addr),
                 &ep->port);
    ep->obs = SIZE_MAX;
    ep->from_job = m->adding_job_eps;
    ep->tls = strcmp(m->url.scheme, "https") == 0 || strcmp(m->url.scheme, "tls") == 0 ||
              (m->job != NULL && m->job->control && port == 443);
    {
        struct vg_obs_endpoint *oe = vg_obs_add_ep(&m->obs);

        if (oe != NULL) {
            snprintf(oe->addr, sizeof(oe->addr), "%s", ep->addr);
            oe->depth = m->depth;
            oe->from_udp_only = !from_sys;
            ep->obs = m->obs.n_ep - 1;
        }
    }
    m->eps[m->n_eps++] = ep;
    m->pending++;
    ep->t0 = vg__now(m);
    ep->state = VG__EP_CONNECTING;
    ep->conn = vg_conn_new(&m->p->loop);
    /* A helper is not an open proxy: it never connects to bogons (unless told to). */
    if (m->p->o.refuse_bogons && vg__is_bogon(m->p, ep->ip, &cls)) {
        rc = VG_EBOGON;
    } else {
        rc = vg_conn_connect(ep->conn, (struct sockaddr *)&ss, m->p->o.tcp_timeout_ms,
                             vg__probe_on_connect, ep);
    }
    if (rc < 0) {
        json_array_append_new(m->tcp,
                              json_pack("{s:s, s:i, s:{s:b, s:o, s:n}, s:f, s:f, s:o, s:i}", "ip",
                                        ep->ip, "port", ep->port, "status", "success", 0, "failure",
                                        vg__jfailure(rc), "blocked", "t0", ep->t0, "t", vg__now(m),
                                        "tags", vg__tags(m->depth), "transaction_id", ep->tid));
        if (ep->obs != SIZE_MAX) {
            m->obs.ep[ep->obs].tcp_err = rc;
        }
        vg__ep_release(ep);
    }
}

/* An address learned from a resolver: the URL's port; a control measurement of an http URL also
 * tries port 443 (as OONI's test helper does), to learn which addresses serve the name over TLS. */
static void
vg__ep_add(struct vg_meas *m, int family, const void *addr, bool from_sys)
{
    if (strcmp(m->url.scheme, "dns") == 0) {
        return; /* a name to resolve, nothing to connect to */
    }
    vg__ep_add_port(m, family, addr, m->url.port, from_sys);
    if (m->job != NULL && m->job->control && strcmp(m->url.scheme, "http") == 0 &&
        m->url.port != 443) {
        vg__ep_add_port(m, family, addr, 443, from_sys);
    }
}

/* The probe's addresses a job carries (a THRequest's tcp_connect), added after this engine's own
 * DNS answers so that those come first and only they may carry the page. */
static void
vg__add_job_eps(struct vg_meas *m)
{
    if (m->depth != 0 || m->job == NULL || m->job_eps_added) {
        return;
    }
    m->job_eps_added = true;
    m->adding_job_eps = true;
    for (size_t i = 0; i < m->job->n_eps; i++) {
        const struct sockaddr_storage *ss = &m->job->eps[i];

        if (ss->ss_family == AF_INET) {
            const struct sockaddr_in *s4 = (const void *)ss;

            vg__ep_add_port(m, AF_INET, &s4->sin_addr, ntohs(s4->sin_port), true);
        } else {
            const struct sockaddr_in6 *s6 = (const void *)ss;

            vg__ep_add_port(m, AF_INET6, &s6->sin6_addr, ntohs(s6->sin6_port), true);
        }
    }
    m->adding_job_eps = false;
}

/* ------------------------------------------------------------------------------------------ */
/* control (test helper)                                                                       */

static void
vg__ctrl_attach(struct vg_meas *m, const struct vg__ctrl_slot *slot)
{
    m->obs.ctrl = slot->ctrl;
    if (slot->ctrl == NULL) {
        snprintf(m->obs.control_failure, sizeof(m->obs.control_failure), "%s", slot->failure);
    }
    json_object_set(m->tk, "control", slot->raw != NULL ? slot->raw : json_null());
    json_object_set(m->tk, "x_control_request", slot->request);
    json_object_set_new(m->tk, "control_failure",
                        slot->ctrl == NULL ? json_string(slot->failure) : json_null());
    json_object_set_new(m->tk, "x_th_runtime", json_real(slot->runtime));
    if (slot->ctrl != NULL) {
        json_object_set_new(m->root, "test_helpers",
                            json_pack("{s:{s:s, s:s}}", "backend", "address", slot->helper, "type",
                                      strncmp(slot->helper, "https:", 6) == 0 ? "https" : "http"));
    }
}

struct vg__ctrl_ctx {
    struct vg_probe *p;
    size_t slot;
    uint64_t t0;
};

static void
vg__on_ctrl(const struct vg_ctrl *ctrl, const char *raw, size_t raw_len, const char *helper,
            const char *failure, void *arg)
{
    struct vg__ctrl_ctx *cx = arg;
    struct vg__ctrl_slot *slot = &cx->p->slots[cx->slot];
    struct vg_meas **waiters = slot->waiters;
    size_t n = slot->n_waiters;

    slot->state = VG__CTRL_DONE;
    slot->runtime = (double)(uv_hrtime() - cx->t0) / 1e9;
    if (ctrl != NULL) {
        slot->ctrl = vg_xmemdup(ctrl, sizeof(*ctrl));
        slot->raw = json_loadb(raw, raw_len, 0, NULL);
        snprintf(slot->helper, sizeof(slot->helper), "%s", helper);
        /* The probe's own address: looked up, then forgotten; never in a measurement. */
        json_object_del(slot->raw, "x_client_addr");
        if (slot->ctrl->client_addr[0] != '\0' && cx->p->asn != NULL) {
            vg__asn_of(cx->p, slot->ctrl->client_addr, &cx->p->self);
            cx->p->have_self = true;
        }
        memset(slot->ctrl->client_addr, 0, sizeof(slot->ctrl->client_addr));
    } else {
        snprintf(slot->failure, sizeof(slot->failure), "%s", failure);
    }
    slot->waiters = NULL;
    slot->n_waiters = 0;
    free(cx);
    for (size_t i = 0; i < n; i++) {
        vg__ctrl_attach(waiters[i], slot);
        vg__pending_done(waiters[i]);
    }
    free(waiters);
}

/* The THRequest for this URL with the addresses the probe resolved (ooni-reference.md 3). */
static json_t *
vg__threquest(const struct vg_meas *m)
{
    json_t *eps = json_array();
    const char *url = m->input;

    if (m->url.ip_family != 0) {
        char ep[VG_DNS_NAME_MAX + 16];

        snprintf(ep, sizeof(ep), m->url.ip_family == 6 ? "[%s]:%u" : "%s:%u", m->url.host,
                 m->url.port);
        json_array_append_new(eps, json_string(ep));
    }
    for (size_t i = 0; i < m->obs.n_dns_addrs; i++) {
        char ep[80];

        snprintf(ep, sizeof(ep), strchr(m->obs.dns_addrs[i], ':') != NULL ? "[%s]:%u" : "%s:%u",
                 m->obs.dns_addrs[i], m->url.port);
        json_array_append_new(eps, json_string(ep));
    }
    return json_pack("{s:s, s:{s:[s], s:[s], s:[s]}, s:o, s:b}", "http_request", url,
                     "http_request_headers", "Accept",
                     "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                     "Accept-Language", "en-US,en;q=0.9", "User-Agent", VG_REC_USER_AGENT,
                     "tcp_connect", eps, "x_quic_enabled", 0);
}

/* Called once the probe knows its own addresses for the URL (depth 0): ask the control, or
 * join the request another trial of the same URL already made. The hop waits for it. */
static void
vg__ctrl_need(struct vg_meas *m)
{
    struct vg_probe *p = m->p;
    struct vg__ctrl_slot *slot;

    /* The test-helper protocol is about web pages: tls:// and dns:// targets go without. */
    if (p->slots == NULL || m->job != NULL || m->ctrl_asked || m->depth != 0 ||
        strncmp(m->url.scheme, "http", 4) != 0) {
        return;
    }
    m->ctrl_asked = true;
    slot = &p->slots[m->url_index];
    if (slot->state == VG__CTRL_DONE) {
        vg__ctrl_attach(m, slot);
        return;
    }
    slot->waiters = vg_xreallocarray(slot->waiters, slot->n_waiters + 1, sizeof(*slot->waiters));
    slot->waiters[slot->n_waiters++] = m;
    m->pending++;
    if (slot->state == VG__CTRL_NONE) {
        struct vg__ctrl_ctx *cx = vg_xcalloc(1, sizeof(*cx));
        char *body;

        slot->state = VG__CTRL_PENDING;
        slot->request = vg__threquest(m);
        body = json_dumps(slot->request, JSON_COMPACT);
        cx->p = p;
        cx->slot = m->url_index;
        cx->t0 = uv_hrtime();
        if (body == NULL || vg_ctrl_fetch(&p->loop, p->ctx, p->o.helpers, p->o.n_helpers,
                                          p->o.control_timeout_ms, body, vg__on_ctrl, cx) < 0) {
            vg__on_ctrl(NULL, NULL, 0, NULL, "cannot build the control request", cx);
        }
        free(body);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* DNS                                                                                         */

static int
vg__gai_err(int status)
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
vg__sys_dns_record(struct vg_meas *m, int failure, const struct addrinfo *res, double t0)
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
        vg__answer_asn(m->p, json_array_get(answers, json_array_size(answers) - 1), ip);
        n++;
        if (m->depth == 0 && m->obs.n_dns_addrs < VG_DNS_MAX_ADDRS) {
            snprintf(m->obs.dns_addrs[m->obs.n_dns_addrs++], sizeof(m->obs.dns_addrs[0]), "%s", ip);
        }
        vg__note_bogon(m, ip, "the system resolver");
        vg__ep_add(m, fam, raw, true);
    }
    json_array_append_new(m->queries,
                          json_pack("{s:o, s:s, s:o, s:s, s:s, s:s, s:f, s:f, s:o, s:i}", "answers",
                                    answers, "engine", "getaddrinfo", "failure",
                                    vg__jfailure(failure), "hostname", m->url.host, "query_type",
                                    "ANY", "resolver_address", "", "t0", t0, "t", vg__now(m),
                                    "tags", vg__tags(m->depth), "transaction_id", ++m->next_tid));
    if (m->depth == 0) {
        m->obs.sys_failure = failure;
        m->obs.n_sys_addrs = n;
        vg__ctrl_need(m);
        vg__add_job_eps(m);
    }
    if (failure != 0 && m->hop_failure == 0) {
        m->hop_failure = failure;
    }
}

static void
vg__probe_on_gai(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct vg__gai *g = req->data;
    struct vg_meas *m = g->m;

    if (m != NULL) {
        uv_timer_stop(&m->dns_timer);
        m->gai = NULL;
        vg__sys_dns_record(m, status == 0 ? 0 : vg__gai_err(status), res, g->t0);
    }
    if (res != NULL) {
        uv_freeaddrinfo(res);
    }
    free(g);
    if (m != NULL) {
        vg__pending_done(m);
    }
}

static void
vg__on_dns_timeout(uv_timer_t *t)
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
    vg__sys_dns_record(m, VG_ETIMEDOUT, NULL, g->t0);
    vg__pending_done(m);
}

static json_t *
vg__udp_reply_json(struct vg_meas *m, const struct vg_udp_reply *r)
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
        vg__answer_asn(m->p, json_array_get(answers, i), ip);
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
                  answers, "engine", "udp", "failure", vg__jfailure(failure), "hostname",
                  m->url.host, "query_type", r->qtype == VG_DNS_TYPE_A ? "A" : "AAAA",
                  "resolver_address", m->p->resolver_str, "raw_response", raw, "rcode", r->rcode,
                  "t0", m->udp_t0, "t", m->udp_t0 + r->t, "tags", vg__tags(m->depth),
                  "transaction_id", ++m->next_tid, "x_ip_ttl", r->ip_ttl);
    free(raw);
    return j;
}

static void
vg__on_udp_reply(struct vg_udpdns *q, const struct vg_udp_reply *r, void *arg)
{
    struct vg_meas *m = arg;
    size_t n;
    const struct vg_udp_reply *all = vg_udpdns_replies(q, &n);
    bool first = true;

    for (size_t i = 0; i + 1 < n; i++) {
        first = first && all[i].qtype != r->qtype;
    }
    json_array_append_new(first ? m->queries : m->dups, vg__udp_reply_json(m, r));
    for (size_t i = 0; i < r->n_addrs; i++) {
        char ip[INET6_ADDRSTRLEN];

        inet_ntop(r->addrs[i].family, r->addrs[i].a, ip, sizeof(ip));
        vg__note_bogon(m, ip, m->p->resolver_str);
        vg__ep_add(m, r->addrs[i].family, r->addrs[i].a, false);
    }
}

static bool
vg__same_addrs(const struct vg_udp_reply *a, const struct vg_udp_reply *b)
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
vg__reply_brief(const struct vg_udp_reply *r, char *out, size_t cap)
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
vg__on_udp_done(struct vg_udpdns *q, void *arg)
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
                seen = all[k].qtype == all[i].qtype && vg__same_addrs(&all[k], &all[i]);
            }
            if (seen) {
                continue;
            }
            o = &m->obs.replies[m->obs.n_replies++];

            memset(o, 0, sizeof(*o));
            o->aaaa = all[i].qtype == VG_DNS_TYPE_AAAA;
            o->rcode = all[i].rcode;
            vg__reply_brief(&all[i], o->brief, sizeof(o->brief));
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

            if (all[j].qtype != all[i].qtype || vg__same_addrs(&all[i], &all[j])) {
                continue;
            }
            for (size_t k = 0; k < n; k++) {
                same_q += all[k].qtype == all[i].qtype;
            }
            vg__reply_brief(&all[i], a, sizeof(a));
            vg__reply_brief(&all[j], b, sizeof(b));
            snprintf(m->obs.injected, sizeof(m->obs.injected),
                     "%zu replies to the %s query for %s from %s: %s, then %s", same_q,
                     all[i].qtype == VG_DNS_TYPE_A ? "A" : "AAAA", m->url.host, m->p->resolver_str,
                     a, b);
            break;
        }
    }
    if (n == 0) {
        json_array_append_new(
            m->queries, json_pack("{s:[], s:s, s:o, s:s, s:s, s:s, s:f, s:f, s:o, s:i}", "answers",
                                  "engine", "udp", "failure", vg__jfailure(VG_ETIMEDOUT),
                                  "hostname", m->url.host, "query_type", "A", "resolver_address",
                                  m->p->resolver_str, "t0", m->udp_t0, "t", vg__now(m), "tags",
                                  vg__tags(m->depth), "transaction_id", ++m->next_tid));
    }
    m->udp = NULL;
    vg_udpdns_free(q);
    vg__pending_done(m);
}

/* ------------------------------------------------------------------------------------------ */
/* measurement lifecycle                                                                       */

static void
vg__meas_closed(uv_handle_t *h)
{
    struct vg_meas *m = h->data;

    free(m);
}

/* With a database: the ASNs OONI's consistency rule compares, and the probe's network. */
static void
vg__meas_networks(struct vg_meas *m)
{
    const struct vg_probe *p = m->p;
    const struct vg_ctrl *c = m->obs.ctrl;
    struct vg_asn_info info;

    if (p->asn == NULL) {
        return;
    }
    for (size_t i = 0; i < m->obs.n_dns_addrs && i < VG_DNS_MAX_ADDRS; i++) {
        m->obs.dns_asns[i] = vg__asn_of(p, m->obs.dns_addrs[i], &info);
    }
    for (size_t i = 0; c != NULL && i < c->n_addrs && i < VG_DNS_MAX_ADDRS; i++) {
        m->obs.ctrl_asns[i] = vg__asn_of(p, c->addrs[i], &info);
    }
    if (!p->have_self) {
        return;
    }
    vg_rec_set_network(m->root, p->self.asn, p->self.cc, p->self.org);
}

/*
 * Per-address outcomes (the 2014 iCloud interception hit one address of several): x_endpoints
 * lists every address measured with what it showed, x_affected_addresses those that showed
 * interference by themselves (an invalid certificate, or a TLS handshake cut after the
 * ClientHello).
 */
static void
vg__endpoints_json(struct vg_meas *m)
{
    json_t *list = json_array(), *affected = json_array();

    for (size_t i = 0; i < m->obs.n_ep; i++) {
        const struct vg_obs_endpoint *e = &m->obs.ep[i];
        const char *verdict = "accessible";
        int failure = 0;

        if (e->tcp_err != 0) {
            verdict = "unknown";
            failure = e->tcp_err;
        } else if (e->tls_attempted && e->tls_err != 0) {
            failure = e->tls_err;
            verdict = failure == VG_ECONNRESET || failure == VG_ETIMEDOUT || failure == VG_EEOF
                          ? "blocked"
                          : "unknown";
        } else if (e->tls_attempted && e->verify_err != 0) {
            verdict = "intercepted";
            failure = e->verify_err;
        }
        json_array_append_new(list, json_pack("{s:s, s:i, s:s, s:o}", "address", e->addr, "depth",
                                              e->depth, "verdict", verdict, "failure",
                                              vg__jfailure(failure)));
        if (strcmp(verdict, "intercepted") == 0 || strcmp(verdict, "blocked") == 0) {
            json_array_append_new(affected, json_string(e->addr));
        }
    }
    json_object_set_new(m->tk, "x_endpoints", list);
    json_object_set_new(m->tk, "x_affected_addresses", affected);
}

static void
vg__meas_finish(struct vg_meas *m)
{
    struct vg_probe *p = m->p;
    struct vg_decision v;
    struct vg_result r;
    char *line;
    double runtime = vg__now(m);
    const char *blocking;

    m->obs.https = strcmp(m->url.scheme, "https") == 0;
    m->obs.http_udp_only = m->http_obs != SIZE_MAX && m->obs.ep[m->http_obs].from_udp_only;
    m->obs.target = strcmp(m->url.scheme, "tls") == 0   ? VG_TARGET_TLS
                    : strcmp(m->url.scheme, "dns") == 0 ? VG_TARGET_DNS
                                                        : VG_TARGET_WEB;
    m->obs.host_is_ip = m->url.ip_family != 0;
    vg__meas_networks(m);
    vg_verdict_decide(&m->obs, &v);
    blocking = vg_blocking_json(v.blocking);
    vg_rec_set_runtime(m->root, runtime);
    json_object_set_new(m->tk, "blocking",
                        blocking == NULL                  ? json_null()
                        : v.blocking == VG_BLOCKING_FALSE ? json_false()
                                                          : json_string(blocking));
    json_object_set_new(m->tk, "accessible",
                        v.accessible < 0 ? json_null() : json_boolean(v.accessible));
    if (m->obs.ctrl != NULL) {
        const struct vg_ooni_keys *k = &v.ooni;

        json_object_set_new(m->tk, "dns_consistency",
                            k->dns_consistency < 0 ? json_null()
                            : k->dns_consistency   ? json_string("consistent")
                                                   : json_string("inconsistent"));
        json_object_set_new(m->tk, "body_proportion",
                            k->body_proportion < 0 ? json_null() : json_real(k->body_proportion));
        json_object_set_new(m->tk, "body_length_match",
                            k->body_length_match < 0 ? json_null()
                                                     : json_boolean(k->body_length_match));
        json_object_set_new(m->tk, "status_code_match",
                            k->status_code_match < 0 ? json_null()
                                                     : json_boolean(k->status_code_match));
        json_object_set_new(m->tk, "headers_match",
                            k->headers_match < 0 ? json_null() : json_boolean(k->headers_match));
        json_object_set_new(m->tk, "title_match",
                            k->title_match < 0 ? json_null() : json_boolean(k->title_match));
    }
    if (m->obs.ctrl != NULL) {
        json_object_set_new(m->tk, "x_dns_consistency",
                            v.ooni.x_dns_consistency < 0   ? json_null()
                            : v.ooni.x_dns_consistency > 0 ? json_string("consistent")
                                                           : json_string("inconsistent"));
    }
    vg__endpoints_json(m);
    json_object_set_new(m->tk, "x_verdict", json_string(vg_verdict_name(v.verdict)));
    json_object_set_new(m->tk, "x_cause", v.cause[0] != '\0' ? json_string(v.cause) : json_null());
    json_object_set_new(m->tk, "x_evidence",
                        vg__jpeer((const uint8_t *)v.evidence, strlen(v.evidence)));
    json_object_set_new(m->tk, "http_experiment_failure",
                        m->obs.http_failure != 0 ? vg__jfailure(m->obs.http_failure) : json_null());
    json_object_set_new(m->tk, "dns_experiment_failure",
                        m->sys_failure != 0 ? vg__jfailure(m->sys_failure) : json_null());
    line = json_dumps(m->root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    r.input = m->input;
    r.url_index = m->url_index;
    r.trial = m->trial;
    r.verdict = v.verdict;
    r.x_verdict = vg_verdict_name(r.verdict);
    r.x_cause = v.cause[0] != '\0' ? v.cause : NULL;
    r.x_evidence = v.evidence;
    r.runtime = runtime;
    r.json = line != NULL ? line : "{}";
    json_decref(m->root);
    p->in_flight--;
    if (p->up != NULL && line != NULL) {
        vg_uploader_add(p->up, m->id, line);
    }
    if (m->cb != NULL) {
        m->cb(&r, m->cb_arg);
    }
    free(line);
    vg_obs_cleanup(&m->obs);
    if (p->slots != NULL && m->job == NULL && ++p->slots[m->url_index].finished == p->o.repeat) {
        struct vg__ctrl_slot *s = &p->slots[m->url_index];

        /* Every trial of this URL is done: drop its control (tens of KiB), else a long URL list
         * keeps one per URL until the end of the run. */
        VG_FREE(s->ctrl);
        json_decref(s->raw);
        json_decref(s->request);
        free(s->waiters);
        memset(s, 0, sizeof(*s));
    }
    if (m->job != NULL) {
        free(m->job->url);
        free(m->job->eps);
        VG_FREE(m->job);
    }
    uv_close((uv_handle_t *)&m->dns_timer, vg__meas_closed);
    vg__schedule(p);
}

static void
vg__hop_end(struct vg_meas *m)
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
        vg__meas_finish(m);
        return;
    }
    if (f == NULL) {
        /* No endpoint could carry the request: record why, as OONI does. */
        int why = m->hop_failure != 0 ? m->hop_failure : VG_EDNS_NOANSWER;
        char url[VG_URL_MAX + 300];
        double now = vg__now(m);

        if (vg_url_format(&m->url, url, sizeof(url)) < 0) {
            url[0] = '\0';
        }
        json_array_insert_new(
            m->requests, 0,
            json_pack("{s:s, s:s, s:o, s:{s:s, s:s}, s:n, s:f, s:f, s:o}", "network", "tcp",
                      "address", "", "failure", vg__jfailure(why), "request", "url", url, "method",
                      "GET", "response", "t0", now, "t", now, "tags", vg__tags(m->depth)));
        m->obs.http_attempted = true;
        m->obs.http_failure = why;
        m->obs.final_depth = m->depth;
        vg__meas_finish(m);
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
            } else if (vg_url_resolve(&m->url, ref, &next) < 0) {
                failure = VG_EHTTP_LOCATION;
            }
            free(ref);
            /* A control reports what the server answered: a redirect it cannot follow is the
             * server's final response, not a failure of the control's network (OONI QA 27/28). */
            if (failure == VG_EHTTP_LOCATION && m->job != NULL && m->job->control) {
                vg__fetch_free(f);
                vg__meas_finish(m);
                return;
            }
            if (failure == 0) {
                vg__fetch_free(f);
                m->url = next;
                m->depth++;
                vg__hop_start(m);
                return;
            }
            m->obs.http_failure = failure;
            json_object_set_new(json_array_get(m->requests, 0), "failure", vg__jfailure(failure));
        }
    }
    vg__fetch_free(f);
    vg__meas_finish(m);
}

static void
vg__hop_start(struct vg_meas *m)
{
    struct vg_probe *p = m->p;

    snprintf(m->obs.host, sizeof(m->obs.host), "%s", m->url.host);
    m->pending = 1; /* held until the hop's steps are started */
    m->fetch = NULL;
    m->hop_failure = 0;
    if (m->url.ip_family != 0) {
        uint8_t raw[16];
        int fam = m->url.ip_family == 4 ? AF_INET : AF_INET6;

        if (inet_pton(fam, m->url.host, raw) == 1) {
            vg__ep_add(m, fam, raw, true);
        }
        vg__ctrl_need(m);
        vg__add_job_eps(m);
    } else {
        struct vg__gai *g = vg_xcalloc(1, sizeof(*g));
        struct addrinfo hints;
        int rc;

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        g->m = m;
        g->req.data = g;
        g->t0 = vg__now(m);
        rc = uv_getaddrinfo(&p->loop, &g->req, vg__probe_on_gai, m->url.host, NULL, &hints);
        if (rc == 0) {
            m->gai = g;
            m->pending++;
            uv_timer_start(&m->dns_timer, vg__on_dns_timeout, p->o.dns_timeout_ms, 0);
        } else {
            free(g);
            vg__sys_dns_record(m, VG_EINTERNAL, NULL, vg__now(m));
        }
        if (p->have_resolver) {
            struct vg_udpdns *q;

            m->udp_t0 = vg__now(m);
            if (vg_udpdns_start(&p->loop, (struct sockaddr *)&p->resolver, m->url.host,
                                p->o.dns_timeout_ms, p->o.dns_wait_ms, vg__on_udp_reply,
                                vg__on_udp_done, m, &q) == 0) {
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
    vg__pending_done(m);
}

static void
vg__meas_start(struct vg_probe *p, size_t url_index, unsigned trial, struct vg__job *job)
{
    const char *input = job != NULL ? job->url : p->urls[url_index];
    int url_rc;
    struct vg_meas *m = vg_xcalloc(1, sizeof(*m));

    m->p = p;
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
    uv_timer_init(&p->loop, &m->dns_timer);
    m->dns_timer.data = m;
    vg_obs_init(&m->obs);
    p->in_flight++;
    m->queries = json_array();
    m->dups = json_array();
    m->tcp = json_array();
    m->tls = json_array();
    m->requests = json_array();
    m->tk =
        json_pack("{s:s, s:n, s:n, s:n, s:O, s:O, s:O, s:O, s:O, s:n, s:n, s:n, s:n, s:n, "
                  "s:n, s:n, s:n, s:n, s:i}",
                  "agent", "redirect", "client_resolver", "retries", "socksproxy", "queries",
                  m->queries, "x_dns_duplicate_responses", m->dups, "tcp_connect", m->tcp,
                  "tls_handshakes", m->tls, "requests", m->requests, "control", "control_failure",
                  "x_control_request", "dns_consistency", "body_length_match", "body_proportion",
                  "headers_match", "status_code_match", "title_match", "x_trial", trial);
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
        };

        m->root = vg_rec_new(&env, m->tk, m->id);
    }
    /* json_pack's "O" added references: drop ours, the tree owns them now. */
    json_decref(m->queries);
    json_decref(m->dups);
    json_decref(m->tcp);
    json_decref(m->tls);
    json_decref(m->requests);
    if (url_rc < 0) {
        /* vg_probe_add validated it; a failure here is a bug, reported in the measurement. */
        m->hop_failure = VG_EINTERNAL;
        vg__hop_end(m);
        return;
    }
    vg__hop_start(m);
}

static void
vg__schedule(struct vg_probe *p)
{
    size_t total = p->n_urls * p->o.repeat;

    while (!p->interrupted && p->in_flight < p->o.parallel && p->next_job < total) {
        size_t j = p->next_job++;

        vg__meas_start(p, j % p->n_urls, (unsigned)(j / p->n_urls) + 1, NULL);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* public API                                                                                  */

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

static int
vg__parse_resolver(const char *s, struct sockaddr_storage *ss, char *norm, size_t cap)
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

/* The system resolver's address, as OONI's resolver_ip: the first nameserver line. */
static void
vg__read_sys_resolver(char *out, size_t cap)
{
    FILE *f = fopen("/etc/resolv.conf", "r");
    char line[256];

    out[0] = '\0';
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *v;
        uint8_t raw[16];

        if (strncmp(line, "nameserver", 10) != 0 || (line[10] != ' ' && line[10] != '\t')) {
            continue;
        }
        v = vg_str_trim(line + 10);
        if (inet_pton(AF_INET, v, raw) == 1 || inet_pton(AF_INET6, v, raw) == 1) {
            snprintf(out, cap, "%s", v);
            break;
        }
    }
    fclose(f);
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
        if (vg__parse_resolver(opts->resolver, &p->resolver, p->resolver_str,
                               sizeof(p->resolver_str)) < 0) {
            snprintf(err, errlen, "invalid resolver address '%s' (expected IP[:PORT])",
                     opts->resolver);
            free(p);
            return VG_EINVAL;
        }
        p->have_resolver = true;
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
    vg__read_sys_resolver(p->sys_resolver, sizeof(p->sys_resolver));
    if (p->sys_resolver[0] != '\0') {
        struct vg_asn_info info;

        p->resolver_asn = vg__asn_of(p, p->sys_resolver, &info);
    }
    uv_loop_init(&p->loop);
    uv_mutex_init(&p->qlock);
    /* Serving mode wakes the loop with this handle; batch runs close it before they start. */
    uv_async_init(&p->loop, &p->async, vg__on_async);
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
        snprintf(err, errlen, "invalid URL '%.200s': %s", url, vg_strerror(rc));
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

size_t
vg_probe_count(const struct vg_probe *p)
{
    return p->n_urls * p->o.repeat;
}

int
vg_probe_run(struct vg_probe *p, vg_result_cb cb, void *arg)
{
    p->cb = cb;
    p->cb_arg = arg;
    p->next_job = 0;
    if (p->o.n_helpers > 0 && p->slots == NULL && p->n_urls > 0) {
        p->slots = vg_xcalloc(p->n_urls, sizeof(*p->slots));
    }
    if (p->o.collector != NULL) {
        char err[512];

        if (vg_uploader_new(&p->loop, p->ctx, p->o.collector,
                            p->o.spool_dir != NULL ? p->o.spool_dir : ".", &p->up, err,
                            sizeof(err)) < 0) {
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
    vg__schedule(p);
    uv_run(&p->loop, UV_RUN_DEFAULT);
    if (p->up != NULL) {
        vg_uploader_stats(p->up, &p->up_stats);
        vg_uploader_free(p->up);
        p->up = NULL;
    }
    return p->interrupted ? VG_ECANCELED : 0;
}

void
vg_probe_interrupt(struct vg_probe *p)
{
    p->interrupted = 1;
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
        vg__job_free(j);
    }
    uv_mutex_destroy(&p->qlock);
    for (size_t i = 0; p->slots != NULL && i < p->n_urls; i++) {
        free(p->slots[i].ctrl);
        free(p->slots[i].waiters);
        json_decref(p->slots[i].raw);
        json_decref(p->slots[i].request);
    }
    free(p->slots);
    (void)uv_loop_close(&p->loop);
    vg_tls_ctx_free(p->ctx);
    vg_asn_free(p->asn);
    for (size_t i = 0; i < p->n_urls; i++) {
        free(p->urls[i]);
    }
    free(p->urls);
    free(p);
}

/* ------------------------------------------------------------------------------------------ */
/* serving mode                                                                                */

static int
vg__parse_endpoint(const char *s, struct sockaddr_storage *ss)
{
    char norm[64];
    const char *colon = strrchr(s, ':');

    /* Same syntax as --resolver, but the port is mandatory. */
    if (colon == NULL || colon[1] == '\0' || (s[0] != '[' && strchr(s, ':') != colon)) {
        return VG_EINVAL;
    }
    return vg__parse_resolver(s, ss, norm, sizeof(norm));
}

static void
vg__job_free(struct vg__job *j)
{
    if (j == NULL) {
        return;
    }
    free(j->url);
    free(j->eps);
    free(j);
}

static void
vg__on_async(uv_async_t *a)
{
    struct vg_probe *p = a->data;
    struct vg__job *list;
    int stopping;

    uv_mutex_lock(&p->qlock);
    list = p->qhead;
    p->qhead = p->qtail = NULL;
    stopping = !p->accepting;
    uv_mutex_unlock(&p->qlock);
    while (list != NULL) {
        struct vg__job *j = list;

        list = j->next;
        j->next = NULL;
        vg__meas_start(p, 0, 1, j);
    }
    if (stopping && !uv_is_closing((uv_handle_t *)&p->async)) {
        uv_close((uv_handle_t *)&p->async, NULL);
    }
}

int
vg_probe_submit(struct vg_probe *p, const struct vg_job *job, vg_result_cb cb, void *arg, char *err,
                size_t errlen)
{
    struct vg__job *j;
    struct vg_url u;
    int rc = vg_url_parse(job->url, &u);

    if (rc < 0) {
        snprintf(err, errlen, "invalid URL '%.200s': %s", job->url, vg_strerror(rc));
        return rc;
    }
    if (job->n_endpoints > VG_DNS_MAX_ADDRS) {
        snprintf(err, errlen, "too many endpoints (at most %d)", VG_DNS_MAX_ADDRS);
        return VG_ETOOBIG;
    }
    j = vg_xcalloc(1, sizeof(*j));
    j->eps = vg_xcalloc(job->n_endpoints, sizeof(*j->eps));
    for (size_t i = 0; i < job->n_endpoints; i++) {
        if (vg__parse_endpoint(job->endpoints[i], &j->eps[j->n_eps]) < 0) {
            snprintf(err, errlen, "invalid endpoint '%.80s' (expected IP:PORT)", job->endpoints[i]);
            vg__job_free(j);
            return VG_EINVAL;
        }
        j->n_eps++;
    }
    j->url = vg_xstrdup(job->url);
    j->control = job->control;
    j->cb = cb;
    j->arg = arg;
    uv_mutex_lock(&p->qlock);
    if (!p->accepting) {
        uv_mutex_unlock(&p->qlock);
        snprintf(err, errlen, "the engine is not serving");
        vg__job_free(j);
        return VG_ECANCELED;
    }
    if (p->qtail != NULL) {
        p->qtail->next = j;
    } else {
        p->qhead = j;
    }
    p->qtail = j;
    uv_async_send(&p->async);
    uv_mutex_unlock(&p->qlock);
    return 0;
}

int
vg_probe_serve(struct vg_probe *p)
{
    /* Jobs submitted before this call are already queued and the async handle is pending. */
    uv_mutex_lock(&p->qlock);
    if (p->accepting) {
        uv_async_send(&p->async);
    }
    uv_mutex_unlock(&p->qlock);
    if (uv_is_closing((uv_handle_t *)&p->async)) {
        return VG_EINVAL;
    }
    uv_run(&p->loop, UV_RUN_DEFAULT);
    return 0;
}

void
vg_probe_stop(struct vg_probe *p)
{
    uv_mutex_lock(&p->qlock);
    if (p->accepting) {
        p->accepting = false;
        uv_async_send(&p->async);
    }
    uv_mutex_unlock(&p->qlock);
}

void
vg_probe_upload_stats(const struct vg_probe *p, struct vg_upload_stats *st)
{
    *st = p->up_stats;
}

int
vg_upload_spool(const char *collector, const char *spool_dir, const char *ca_file,
                struct vg_upload_stats *st, char *err, size_t errlen)
{
    struct ssl_ctx_st *ctx;
    struct vg_uploader *up;
    uv_loop_t loop;
    int rc;

    memset(st, 0, sizeof(*st));
    rc = vg_tls_ctx_new(ca_file, &ctx, err, errlen);
    if (rc < 0) {
        return rc;
    }
    uv_loop_init(&loop);
    rc = vg_uploader_new(&loop, ctx, collector, spool_dir, &up, err, errlen);
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
