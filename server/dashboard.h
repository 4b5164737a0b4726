/* SPDX-License-Identifier: MIT */
/*
 * dashboard.h - the web dashboard `vigie serve` shows at / (docs/dashboard.md). Its files are
 * built from web/ by esbuild at build time and embedded in the binary (web/dashboard.cmake
 * generates the asset table), so the page needs nothing but the vigie server: no CDN, no
 * installed directory. The page reads the query API (docs/api.md) from the same origin.
 */
#ifndef VG_SERVER_DASHBOARD_H
#define VG_SERVER_DASHBOARD_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* One embedded file. Defined by the generated dashboard_assets.c. */
struct vg_dashboard_asset {
    const char *path; /* request path: "/" for the page, "/assets/app.js", ... */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted strong validator: a hash of data */
};

extern const struct vg_dashboard_asset vg_dashboard_assets[];
extern const size_t vg_dashboard_n_assets;
/* false when the binary was built with -DVG_DASHBOARD=OFF (a placeholder page is served). */
extern const bool vg_dashboard_built;

/* The asset served at path (query string excluded; "/index.html" is "/"), or NULL. */
const struct vg_dashboard_asset *vg_dashboard_find(const char *path);

/* True when path belongs to the dashboard ("/" or under "/assets/"), known or not. */
bool vg_dashboard_is_path(const char *path);

/*
 * Answer a GET or HEAD with asset a (from vg_dashboard_find): 200, or 304 when If-None-Match
 * names its ETag. Every answer carries a Content-Security-Policy that allows only this origin's
 * scripts, styles and API (no inline script), so that text from a measurement could not run as
 * code even if it reached the page as markup. *status gets the HTTP status queued.
 */
enum MHD_Result vg_dashboard_respond(struct MHD_Connection *conn,
                                     const struct vg_dashboard_asset *a, const char *server,
                                     int *status);

#endif
