/* SPDX-License-Identifier: MIT */
/*
 * dashboard.c - serve the embedded dashboard (dashboard.h). The assets are static data in the
 * binary: responses point at them without copying (MHD_RESPMEM_PERSISTENT).
 */
#include "dashboard.h"

#include <stdint.h>
#include <string.h>

#include "http_util.h"

#define VG__CSP                                                                       \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "      \
    "frame-ancestors 'none'"

const struct vg_dashboard_asset *
vg_dashboard_find(const char *path)
{
    if (strcmp(path, "/index.html") == 0) {
        path = "/";
    }
    for (size_t i = 0; i < vg_dashboard_n_assets; i++) {
        if (strcmp(vg_dashboard_assets[i].path, path) == 0) {
            return &vg_dashboard_assets[i];
        }
    }
    return NULL;
}

bool
vg_dashboard_is_path(const char *path)
{
    return strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
           strncmp(path, "/assets/", 8) == 0;
}

/* True when the If-None-Match header lists etag (or is "*"). */
static bool
vg__not_modified(struct MHD_Connection *conn, const char *etag)
{
    const char *inm =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    size_t n = strlen(etag);

    if (inm == NULL) {
        return false;
    }
    if (strcmp(inm, "*") == 0) {
        return true;
    }
    /* A comma-separated list of entity tags, possibly weak (W/"..."). */
    for (const char *p = inm; (p = strstr(p, etag)) != NULL; p += n) {
        bool start = p == inm || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/';
        bool end = p[n] == '\0' || p[n] == ',' || p[n] == ' ';

        if (start && end) {
            return true;
        }
    }
    return false;
}

enum MHD_Result
vg_dashboard_respond(struct MHD_Connection *conn, const struct vg_dashboard_asset *a,
                     const char *server, int *status)
{
    struct MHD_Response *resp;
    unsigned code = MHD_HTTP_OK;
    enum MHD_Result ret;

    if (vg__not_modified(conn, a->etag)) {
        code = MHD_HTTP_NOT_MODIFIED;
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(a->len, (void *)(uintptr_t)a->data,
                                               MHD_RESPMEM_PERSISTENT);
    }
    if (resp == NULL) {
        return MHD_NO;
    }
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, server);
    if (code == MHD_HTTP_OK) {
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
    }
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
    /* Revalidate every time: a new vigie binary brings new assets under the same names. */
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    (void)MHD_add_response_header(resp, "Content-Security-Policy", VG__CSP);
    (void)MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    (void)MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    (void)MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    ret = MHD_queue_response(conn, code, resp);
    if (ret == MHD_YES) {
        vg_http_answered(conn);
    }
    MHD_destroy_response(resp);
    *status = (int)code;
    return ret;
}
