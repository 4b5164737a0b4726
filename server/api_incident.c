/* SPDX-License-Identifier: MIT */
/*
 * api_incident.c - GET /api/v1/incident (api.h vg_api_incident): the incident report of one
 * target x network x period read from the store, as `vigie report --db` writes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "incident.h"
#include "util/buf.h"

#define VG__API_INC_WINDOW (30 * 86400) /* no period given: the last 30 days */

/* "incident-www.icloud.com-ZZ-AS0.html": the host and network, [A-Za-z0-9.-] only. */
static void
vg__api_inc_fname(const json_t *r, const char *input, bool html, char *out, size_t cap)
{
    const json_t *net = json_object_get(r, "network");
    const char *host = strstr(input, "://");
    char h[64];
    size_t o = 0;

    for (host = host != NULL ? host + 3 : input; *host != '\0' && *host != '/' && o + 1 < sizeof(h);
         host++) {
        bool ok = (*host >= 'a' && *host <= 'z') || (*host >= 'A' && *host <= 'Z') ||
                  (*host >= '0' && *host <= '9') || *host == '.' || *host == '-';

        h[o++] = ok ? *host : '_';
    }
    h[o] = '\0';
    snprintf(out, cap, "incident-%s-%s-%s.%s", h,
             json_string_value(json_object_get(net, "probe_cc")),
             json_string_value(json_object_get(net, "probe_asn")), html ? "html" : "json");
}

int
vg_api_incident(struct vg_store *s, const struct vg_api_query *q, char **body, size_t *len,
                const char **type, char *fname, size_t fcap, char *err, size_t errlen)
{
    struct vg_incident_opts o = {.input = q->f.input,
                                 .probe_cc = q->f.probe_cc,
                                 .has_probe_asn = q->f.has_probe_asn,
                                 .probe_asn = q->f.probe_asn,
                                 .since = q->f.since,
                                 .until = q->f.until,
                                 .base_url = "",
                                 .source = "database"};
    struct vg_store_filter f = q->f;
    struct vg_incident *inc;
    struct vg_buf b;
    json_t *r;
    int rc;

    *body = NULL;
    if (q->f.window != 0 || (o.since == 0 && o.until == 0)) {
        o.since = (int64_t)time(NULL) - (q->f.window != 0 ? q->f.window : VG__API_INC_WINDOW);
    }
    f.since = o.since;
    inc = vg_incident_new(&o);
    rc = vg_incident_read_store(inc, s, &f);
    if (rc < 0) {
        snprintf(err, errlen, "%s", vg_store_strerror(rc));
        vg_incident_free(inc);
        return rc;
    }
    r = vg_incident_json(inc);
    vg_incident_free(inc);
    if (r == NULL) {
        snprintf(err, errlen, "no measurement of this input matched (network, period)");
        return VG_ENOTFOUND;
    }
    vg__api_inc_fname(r, q->f.input, q->html, fname, fcap);
    if (!q->html) {
        *body = vg_incident_dumps(r);
        json_decref(r);
        if (*body == NULL) {
            snprintf(err, errlen, "cannot serialise the report");
            return VG_EINTERNAL;
        }
        *len = strlen(*body);
        *type = "application/json";
        return 0;
    }
    vg_buf_init(&b, VG_INCIDENT_HTML_MAX);
    rc = vg_incident_html(r, &b);
    json_decref(r);
    if (rc < 0 || vg_buf_cstr(&b) == NULL) {
        vg_buf_cleanup(&b);
        snprintf(err, errlen, "the report is too large");
        return VG_ETOOBIG;
    }
    *len = b.len;
    *body = (char *)b.data; /* the buffer's storage, NUL-terminated by vg_buf_cstr */
    *type = "text/html; charset=utf-8";
    return 0;
}
