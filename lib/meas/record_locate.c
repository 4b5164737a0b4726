/* SPDX-License-Identifier: MIT */
/*
 * record_locate.c - the writer of x_locate measurements and the reader that aims a localisation
 * from a probe's measurement (record_locate.h). Key names of localisation live here only.
 */
#include "meas/record_locate.h"

#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/record_keys.h"
#include "util/err.h"
#include "util/str.h"

static json_t *
vg__rec_loc_int(int v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static json_t *
vg__rec_loc_hops(const struct vg_rec_loc_trace *tr)
{
    json_t *a = json_array();

    for (size_t i = 0; i < tr->n; i++) {
        const struct vg_loc_hop *h = &tr->hops[i];
        json_t *o = json_pack("{s:i, s:o, s:s}", VG_REC_KEY_TTL, (int)h->ttl, VG_REC_KEY_ROUTER,
                              h->router[0] != '\0' ? json_string(h->router) : json_null(),
                              VG_REC_KEY_EVENT, vg_loc_event_name(h->ev));

        if (h->router_from_control) {
            json_object_set_new(o, VG_REC_KEY_ROUTER_FROM, json_string("control"));
        }
        if (h->detail[0] != '\0') {
            json_object_set_new(o, VG_REC_KEY_DETAIL, json_string(h->detail));
        }
        if (h->n_replies > 0) {
            json_t *t = json_array();

            for (unsigned k = 0; k < h->n_replies && k < VG_LOCATE_REPLIES_MAX; k++) {
                json_array_append_new(t, h->reply_ttl[k] >= 0 ? json_integer(h->reply_ttl[k])
                                                              : json_null());
            }
            json_object_set_new(o, VG_REC_KEY_REPLY_IP_TTLS, t);
        }
        json_array_append_new(a, o);
    }
    return a;
}

/* The x_locate object of the test keys. */
static json_t *
vg__rec_loc_keys(const struct vg_rec_loc *lx)
{
    const struct vg_locate_result *r = lx->r;
    json_t *controls = json_array(), *x;

    for (size_t c = 0; c < lx->n_controls && c < 2; c++) {
        const struct vg_rec_loc_trace *tr = &lx->controls[c];
        json_t *o =
            json_pack("{s:s, s:i, s:o, s:o}", VG_REC_KEY_METHOD, tr->method, VG_REC_KEY_PORT,
                      (int)tr->port, VG_REC_KEY_ENDPOINT_HOP, vg__rec_loc_int(tr->endpoint_hop),
                      VG_REC_KEY_HOPS, vg__rec_loc_hops(tr));

        if (tr->name != NULL) {
            json_object_set_new(o, VG_REC_KEY_NAME, json_string(tr->name));
        }
        json_array_append_new(controls, o);
    }
    x = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:i, s:i}", VG_REC_KEY_CAUSE,
        r->cause, VG_REC_KEY_URL, lx->url, VG_REC_KEY_METHOD, r->method, VG_REC_KEY_TARGET,
        r->target, VG_REC_KEY_HOST, lx->host, VG_REC_KEY_INTERFERENCE_HOP,
        vg__rec_loc_int(r->interference_hop), VG_REC_KEY_INTERFERENCE_ROUTER,
        r->interference_router[0] != '\0' ? json_string(r->interference_router) : json_null(),
        VG_REC_KEY_SERVER_HOP, vg__rec_loc_int(r->server_hop), VG_REC_KEY_HOPS,
        vg__rec_loc_hops(&lx->trigger), VG_REC_KEY_CONTROLS, controls, VG_REC_KEY_SUMMARY,
        r->summary, VG_REC_KEY_FAILURE,
        r->failure[0] != '\0' ? json_string(r->failure) : json_null(), VG_REC_KEY_MAX_TTL,
        (int)lx->max_ttl, VG_REC_KEY_TTL_TIMEOUT_MS, (int)lx->ttl_timeout_ms);
    if (vg_loc_cause_is_tls(lx->cause)) {
        json_object_set_new(x, VG_REC_KEY_TLS_PORT_HOP, vg__rec_loc_int(r->tls_port_hop));
        json_object_set_new(x, VG_REC_KEY_PORT80_HOP, vg__rec_loc_int(r->port80_hop));
    }
    if (vg_loc_cause_is_dns(lx->cause)) {
        json_object_set_new(x, VG_REC_KEY_TTL_MIRRORING, json_boolean(r->ttl_mirroring));
        json_object_set_new(x, VG_REC_KEY_INTERFERENCE_FIRST_TTL, vg__rec_loc_int(lx->first_ttl));
    }
    return x;
}

char *
vg_rec_locate_json(const struct vg_rec_loc *x, const char *input, time_t start, double runtime_s)
{
    struct vg_rec_env env = {.test_name = VG_REC_TEST_LOCATE,
                             .test_version = VG_REC_TEST_LOCATE_V,
                             .input = input,
                             .start = start};
    json_t *root =
        vg_rec_new(&env, json_pack("{s:o}", VG_REC_KEY_X_LOCATE, vg__rec_loc_keys(x)), NULL);
    char *s;

    if (root == NULL) {
        return NULL;
    }
    vg_rec_set_runtime(root, runtime_s);
    s = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(root);
    return s;
}

/* ------------------------------------------------------------------------------------------ */
/* aiming from a measurement                                                                   */

static const char *
vg__rec_loc_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The first TLS handshake that failed the way c says: its address and server name. */
static void
vg__rec_loc_hint_tls(json_t *tk, enum vg_loc_cause c, struct vg_locate_hint *h)
{
    const char *want = c == VG_LOC_TLS_RESET ? vg_err_failure(VG_ECONNRESET)
                       : c == VG_LOC_TLS_EOF ? vg_err_failure(VG_EEOF)
                                             : NULL;
    json_t *e;
    size_t i;

    json_array_foreach(json_object_get(tk, VG_REC_KEY_TLS_HANDSHAKES), i, e)
    {
        const char *hs = vg__rec_loc_str(e, VG_REC_KEY_X_HANDSHAKE_FAILURE);
        const char *f = vg__rec_loc_str(e, VG_REC_KEY_FAILURE);
        const char *sni = vg__rec_loc_str(e, VG_REC_KEY_SERVER_NAME);
        unsigned port;
        char ip[INET6_ADDRSTRLEN];
        /* tls.mitm: a handshake that completed with a certificate that failed (ssl_*). */
        bool match = want != NULL ? hs != NULL && strcmp(hs, want) == 0
                                  : hs == NULL && f != NULL && strncmp(f, "ssl_", 4) == 0;

        if (!match ||
            !vg_loc_split_addr(vg__rec_loc_str(e, VG_REC_KEY_ADDRESS), ip, sizeof(ip), &port)) {
            continue;
        }
        vg_strlcpy(h->addr, ip, sizeof(h->addr));
        if (sni != NULL && sni[0] != '\0') {
            if (port == 443) {
                snprintf(h->url, sizeof(h->url), "https://%s/", sni);
            } else {
                snprintf(h->url, sizeof(h->url), "https://%s:%u/", sni, port);
            }
        }
        break;
    }
}

int
vg_rec_locate_hint(const char *json, enum vg_loc_cause c, struct vg_locate_hint *h)
{
    json_t *root, *tk;
    const char *input;
    int rc = VG_EINVAL;

    memset(h, 0, sizeof(*h));
    root = json_loads(json != NULL ? json : "", 0, NULL);
    tk = json_object_get(root, VG_REC_KEY_TEST_KEYS);
    input = vg__rec_loc_str(root, VG_REC_KEY_INPUT);
    if (!json_is_object(tk) || input == NULL) {
        goto out;
    }
    vg_strlcpy(h->url, input, sizeof(h->url));
    rc = 0;
    if (vg_loc_cause_is_tls(c)) {
        vg__rec_loc_hint_tls(tk, c, h);
    } else if (vg_loc_cause_is_dns(c)) {
        json_t *e;
        size_t i;

        json_array_foreach(json_object_get(tk, VG_REC_KEY_QUERIES), i, e)
        {
            const char *eng = vg__rec_loc_str(e, VG_REC_KEY_ENGINE),
                       *ra = vg__rec_loc_str(e, VG_REC_KEY_RESOLVER_ADDRESS);

            if (eng != NULL && strcmp(eng, "udp") == 0 && ra != NULL && ra[0] != '\0') {
                vg_strlcpy(h->resolver, ra, sizeof(h->resolver));
                break;
            }
        }
    } else {
        /* requests[0] is the last step of the redirect chain. */
        json_t *req = json_array_get(json_object_get(tk, VG_REC_KEY_REQUESTS), 0);
        const char *u = vg__rec_loc_str(json_object_get(req, VG_REC_KEY_REQUEST), VG_REC_KEY_URL);
        unsigned port;
        char ip[INET6_ADDRSTRLEN];

        if (u != NULL && u[0] != '\0') {
            vg_strlcpy(h->url, u, sizeof(h->url));
        }
        if (vg_loc_split_addr(vg__rec_loc_str(req, VG_REC_KEY_ADDRESS), ip, sizeof(ip), &port)) {
            vg_strlcpy(h->addr, ip, sizeof(h->addr));
        }
    }
out:
    json_decref(root);
    return rc;
}
