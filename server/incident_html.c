/* SPDX-License-Identifier: MIT */
/*
 * incident_html.c - the incident report as one HTML document (incident.h vg_incident_html),
 * rendered from the report's JSON only: inline CSS (print included), the timeline as inline SVG,
 * no script, no external asset, the JSON itself embedded. Every string comes from measurements,
 * so every string is escaped, in text and in attributes alike.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "meas/record_read.h"
#include "util/timefmt.h"

struct vg__inch {
    struct vg_buf *b;
    int err;
};

static void
vg__inch_raw(struct vg__inch *h, const char *s)
{
    if (h->err == 0 && vg_buf_append(h->b, s, strlen(s)) < 0) {
        h->err = VG_ETOOBIG;
    }
}

static void __attribute__((format(printf, 2, 3)))
vg__inch_f(struct vg__inch *h, const char *fmt, ...)
{
    char tmp[2048]; /* formats here are fixed text and numbers */
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        h->err = VG_ETOOBIG;
        return;
    }
    vg__inch_raw(h, tmp);
}

/* s as HTML text or attribute value: & < > " ' escaped. */
static void
vg__inch_esc(struct vg__inch *h, const char *s)
{
    const char *run = s;

    for (; *s != '\0'; s++) {
        const char *e = NULL;

        switch (*s) {
        case '&':
            e = "&amp;";
            break;
        case '<':
            e = "&lt;";
            break;
        case '>':
            e = "&gt;";
            break;
        case '"':
            e = "&quot;";
            break;
        case '\'':
            e = "&#39;";
            break;
        default:
            break;
        }
        if (e != NULL) {
            if (h->err == 0 && vg_buf_append(h->b, run, (size_t)(s - run)) < 0) {
                h->err = VG_ETOOBIG;
            }
            vg__inch_raw(h, e);
            run = s + 1;
        }
    }
    if (h->err == 0 && vg_buf_append(h->b, run, (size_t)(s - run)) < 0) {
        h->err = VG_ETOOBIG;
    }
}

/* o[k] as text: "" when not a string. */
static const char *
vg__inch_s(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s != NULL ? s : "";
}

static long long
vg__inch_i(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static double
vg__inch_d(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

/* "<td>n</td><td>share %</td><td>[lo, hi] %</td>" of a share object. */
static void
vg__inch_share(struct vg__inch *h, const json_t *s)
{
    vg__inch_f(
        h,
        "<td class=\"n\">%lld</td><td class=\"n\">%.1f%%</td><td class=\"n\">%.1f%% - %.1f%%</td>",
        vg__inch_i(s, "n"), 100 * vg__inch_d(s, "share"), 100 * vg__inch_d(s, "ci_low"),
        100 * vg__inch_d(s, "ci_high"));
}

static const char vg__inch_css[] =
    "body{font:15px/1.45 system-ui,sans-serif;color:#111;margin:2em auto;max-width:60em;"
    "padding:0 1em}h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;border-bottom:1px solid "
    "#999;margin-top:1.6em}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid "
    "#bbb;padding:.2em .5em;text-align:left;vertical-align:top}td.n{text-align:right}"
    ".target{font:1.1em monospace;word-break:break-all}.hash{font:.85em monospace;"
    "word-break:break-all}.forged{outline:3px solid #b00020;outline-offset:2px}"
    ".badge{display:inline-block;padding:0 .4em;border:1px solid #333;border-radius:3px}"
    "pre{white-space:pre-wrap;word-break:break-all;font-size:.8em;background:#f4f4f4;"
    "padding:.5em;max-height:30em;overflow:auto}svg{max-width:100%;height:auto}"
    ".legend span{margin-right:1em}.sw{display:inline-block;width:1em;height:1em;"
    "border:1px solid #333;vertical-align:middle;margin-right:.3em}footer{margin-top:2em;"
    "font-size:.85em;color:#444}"
    "@media "
    "print{body{margin:0;max-width:none;font-size:11pt}details::details-content{content-visibility:"
    "visible;display:block}"
    "details>*{display:block}pre{max-height:none;overflow:visible}a{color:#000}"
    "a[href]:after{content:\" (\" attr(href) \")\";font-size:.8em;word-break:break-all}"
    "section{break-inside:avoid-page}}";

/* Background of a verdict's row and badge (.v-NAME); NULL: none. */
static const char *const vg__inch_bg[VG_VERDICT_COUNT] = {[VG_VERDICT_INTERCEPTED] = "#e1bee7",
                                                          [VG_VERDICT_BLOCKED] = "#ffcdd2",
                                                          [VG_VERDICT_ACCESSIBLE] = "#c8e6c9"};

/* Fill of a verdict's bar: a pattern each, so that a greyscale print still tells them apart. */
static const char *const vg__inch_fill[VG_VERDICT_COUNT] = {[VG_VERDICT_INTERCEPTED] =
                                                                "url(#p-hatch)",
                                                            [VG_VERDICT_BLOCKED] = "#b71c1c",
                                                            [VG_VERDICT_DOWN] = "url(#p-dots)",
                                                            [VG_VERDICT_UNKNOWN] = "#ffffff",
                                                            [VG_VERDICT_ACCESSIBLE] = "#a5d6a7"};
static const char *const vg__inch_swatch[VG_VERDICT_COUNT] = {
    [VG_VERDICT_INTERCEPTED] = ("background:repeating-linear-gradient(45deg,#6a1b9a 0 3px,#fff "
                                "3px 6px)"),
    [VG_VERDICT_BLOCKED] = "background:#b71c1c",
    [VG_VERDICT_DOWN] = "background:radial-gradient(#555 25%,#ddd 30%) 0 0/4px 4px",
    [VG_VERDICT_UNKNOWN] = "background:#fff",
    [VG_VERDICT_ACCESSIBLE] = "background:#a5d6a7"};

static int64_t
vg__inch_time(const char *s)
{
    int64_t t = 0;

    return vg_time_parse(s, &t) == 0 ? t : 0;
}

/* The timeline: one stacked bar per bucket, verdicts in the map's order from the bottom. */
static void
vg__inch_timeline(struct vg__inch *h, const json_t *tl)
{
    const json_t *pts = json_object_get(tl, "points"), *p;
    int64_t bucket = vg__inch_i(tl, "bucket_seconds"), t0, t1;
    const double W = 720, H = 200, L = 40, B = 40, T = 10, PW = W - L - 10, PH = H - B - T;
    long long max = 1;
    size_t i, n = json_array_size(pts);

    if (n == 0 || bucket <= 0) {
        vg__inch_raw(h, "<p>No measurement.</p>");
        return;
    }
    t0 = vg__inch_time(vg__inch_s(json_array_get(pts, 0), "start"));
    t1 = vg__inch_time(vg__inch_s(json_array_get(pts, n - 1), "start")) + bucket;
    json_array_foreach(pts, i, p)
    {
        max = vg__inch_i(p, "total") > max ? vg__inch_i(p, "total") : max;
    }
    vg__inch_f(h,
               "<svg role=\"img\" aria-labelledby=\"tl-title\" viewBox=\"0 0 %.0f %.0f\" "
               "width=\"%.0f\" height=\"%.0f\" xmlns=\"http://www.w3.org/2000/svg\">"
               "<title id=\"tl-title\">Measurements per %s, by verdict</title><defs>"
               "<pattern id=\"p-hatch\" width=\"6\" height=\"6\" "
               "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
               "<rect width=\"6\" height=\"6\" fill=\"#fff\"/><rect width=\"3\" height=\"6\" "
               "fill=\"#6a1b9a\"/></pattern><pattern id=\"p-dots\" width=\"4\" height=\"4\" "
               "patternUnits=\"userSpaceOnUse\"><rect width=\"4\" height=\"4\" fill=\"#ddd\"/>"
               "<circle cx=\"2\" cy=\"2\" r=\"1\" fill=\"#555\"/></pattern></defs>",
               W, H, W, H, bucket == 3600 ? "hour" : "day(s)");
    vg__inch_f(h,
               "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#000\"/>"
               "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#000\"/>"
               "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%lld</text>"
               "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">0</text>",
               L, T, L, T + PH, L, T + PH, L + PW, T + PH, L - 4, T + 10, max, L - 4, T + PH);
    json_array_foreach(pts, i, p)
    {
        int64_t s = vg__inch_time(vg__inch_s(p, "start"));
        double x = L + PW * (double)(s - t0) / (double)(t1 - t0);
        double w = PW * (double)bucket / (double)(t1 - t0), y = T + PH;

        w = w > 2 ? w - 1 : 1;
        for (unsigned v = 0; v < VG_VERDICT_COUNT; v++) {
            const char *name = vg_verdict_name((enum vg_verdict)v);
            long long k = vg__inch_i(p, name);
            double hh = PH * (double)k / (double)max;

            if (k == 0) {
                continue;
            }
            y -= hh;
            vg__inch_f(h,
                       "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\" "
                       "stroke=\"#333\" stroke-width=\"0.5\"><title>",
                       x, y, w, hh, vg__inch_fill[v]);
            vg__inch_esc(h, vg__inch_s(p, "start"));
            vg__inch_f(h, ": %lld %s</title></rect>", k, name);
        }
    }
    vg__inch_raw(h, "<text x=\"40\" y=\"190\" font-size=\"11\">");
    vg__inch_esc(h, vg__inch_s(json_array_get(pts, 0), "start"));
    vg__inch_f(h, "</text><text x=\"%.0f\" y=\"190\" font-size=\"11\" text-anchor=\"end\">",
               L + PW);
    vg__inch_esc(h, vg__inch_s(json_array_get(pts, n - 1), "start"));
    vg__inch_raw(h, "</text></svg><p class=\"legend\">");
    for (unsigned v = 0; v < VG_VERDICT_COUNT; v++) {
        vg__inch_f(h, "<span><i class=\"sw\" style=\"%s\"></i>%s</span>", vg__inch_swatch[v],
                   vg_verdict_name((enum vg_verdict)v));
    }
    vg__inch_raw(h, "</p><details><summary>The timeline as a table</summary><table><tr>"
                    "<th>from (UTC)</th><th>total</th>");
    for (unsigned v = 0; v < VG_VERDICT_COUNT; v++) {
        vg__inch_f(h, "<th>%s</th>", vg_verdict_name((enum vg_verdict)v));
    }
    vg__inch_raw(h, "</tr>");
    json_array_foreach(pts, i, p)
    {
        vg__inch_raw(h, "<tr><td>");
        vg__inch_esc(h, vg__inch_s(p, "start"));
        vg__inch_f(h, "</td><td class=\"n\">%lld</td>", vg__inch_i(p, "total"));
        for (unsigned v = 0; v < VG_VERDICT_COUNT; v++) {
            vg__inch_f(h, "<td class=\"n\">%lld</td>",
                       vg__inch_i(p, vg_verdict_name((enum vg_verdict)v)));
        }
        vg__inch_raw(h, "</tr>");
    }
    vg__inch_raw(h, "</table></details>");
}

/* The summary: verdicts with their shares, interference, where it stands. */
static void
vg__inch_summary(struct vg__inch *h, const json_t *r)
{
    const json_t *vs = json_object_get(r, "verdicts"), *latest = json_object_get(r, "latest");
    const json_t *causes = json_object_get(r, "causes"), *c;
    const char *k;

    vg__inch_f(h,
               "<section id=\"summary\"><h2>Summary</h2><p>%lld measurements. Interference "
               "(%s or %s): ",
               vg__inch_i(r, "measurements"), vg_verdict_name(VG_VERDICT_BLOCKED),
               vg_verdict_name(VG_VERDICT_INTERCEPTED));
    vg__inch_f(h, "<strong>%.1f%%</strong> (95%% interval %.1f%% - %.1f%%)",
               100 * vg__inch_d(json_object_get(r, "interference"), "share"),
               100 * vg__inch_d(json_object_get(r, "interference"), "ci_low"),
               100 * vg__inch_d(json_object_get(r, "interference"), "ci_high"));
    vg__inch_raw(h, json_is_true(json_object_get(r, "intermittent"))
                        ? ", <strong>intermittent</strong> (reached at other times)."
                        : ".");
    vg__inch_raw(h, " Latest verdict: <span class=\"badge v-");
    vg__inch_esc(h, vg__inch_s(latest, VG_REC_KEY_X_VERDICT));
    vg__inch_raw(h, "\">");
    vg__inch_esc(h, vg__inch_s(latest, VG_REC_KEY_X_VERDICT));
    if (vg__inch_s(latest, VG_REC_KEY_X_CAUSE)[0] != '\0') {
        vg__inch_raw(h, " (");
        vg__inch_esc(h, vg__inch_s(latest, VG_REC_KEY_X_CAUSE));
        vg__inch_raw(h, ")");
    }
    vg__inch_raw(h, "</span> at ");
    vg__inch_esc(h, vg__inch_s(latest, VG_REC_KEY_MEASUREMENT_START_TIME));
    vg__inch_raw(h, ".");
    if (json_is_string(json_object_get(r, "first_interference"))) {
        vg__inch_raw(h, " Interference seen from ");
        vg__inch_esc(h, vg__inch_s(r, "first_interference"));
        vg__inch_raw(h, " to ");
        vg__inch_esc(h, vg__inch_s(r, "last_interference"));
        vg__inch_raw(h, ".");
    }
    vg__inch_raw(h, "</p><table><tr><th>verdict</th><th>measurements</th><th>share</th>"
                    "<th>95% interval (Wilson)</th></tr>");
    for (unsigned v = 0; v < VG_VERDICT_COUNT; v++) {
        const char *name = vg_verdict_name((enum vg_verdict)v);

        vg__inch_f(h, "<tr class=\"v-%s\"><td>%s</td>", name, name);
        vg__inch_share(h, json_object_get(vs, name));
        vg__inch_raw(h, "</tr>");
    }
    vg__inch_raw(h, "<tr><th>interference</th>");
    vg__inch_share(h, json_object_get(r, "interference"));
    vg__inch_raw(h, "</tr></table>");
    if (json_object_size(causes) > 0) {
        vg__inch_raw(h, "<p>Causes of interference: ");
        json_object_foreach((json_t *)causes, k, c)
        {
            vg__inch_esc(h, k);
            vg__inch_f(h, " (%lld) ", (long long)json_integer_value(c));
        }
        vg__inch_raw(h, "</p>");
    }
    vg__inch_raw(h, "</section>");
}

/* One chain of one source; one that did not validate is outlined as forged. */
static void
vg__inch_chain(struct vg__inch *h, const json_t *ch)
{
    bool valid = json_is_true(json_object_get(ch, "valid"));
    const json_t *v;
    size_t i;

    vg__inch_raw(h, valid ? "<table class=\"chain\">" : "<table class=\"chain forged\">");
    vg__inch_raw(h, valid ? "<tr><th colspan=\"2\">valid</th></tr>"
                          : "<tr><th colspan=\"2\">NOT VALID: ");
    if (!valid) {
        json_array_foreach(json_object_get(ch, "reasons"), i, v)
        {
            vg__inch_raw(h, i > 0 ? "; " : "");
            vg__inch_esc(h, json_string_value(v));
        }
        vg__inch_raw(h, "</th></tr>");
    }
    static const char *const keys[] = {"subject",   "issuer",     "not_before",
                                       "not_after", "first_seen", "last_seen"};
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        vg__inch_f(h, "<tr><th>%s</th><td>", keys[i]);
        vg__inch_esc(h, vg__inch_s(ch, keys[i]));
        vg__inch_raw(h, "</td></tr>");
    }
    vg__inch_raw(h, "<tr><th>SHA-256</th><td class=\"hash\">");
    vg__inch_esc(h, vg__inch_s(ch, "leaf_sha256"));
    vg__inch_raw(h, "</td></tr><tr><th>SPKI SHA-256</th><td class=\"hash\">");
    vg__inch_esc(h, vg__inch_s(ch, "leaf_spki_sha256"));
    vg__inch_f(h, "</td></tr><tr><th>seen</th><td>%lld handshakes in %lld measurements%s</td></tr>",
               vg__inch_i(ch, "count"), vg__inch_i(ch, "measurements"),
               json_is_true(json_object_get(ch, "self_signed")) ? "; self-signed" : "");
    vg__inch_raw(h, "<tr><th>addresses</th><td>");
    json_array_foreach(json_object_get(ch, "addresses"), i, v)
    {
        vg__inch_raw(h, i > 0 ? ", " : "");
        vg__inch_esc(h, json_string_value(v));
    }
    vg__inch_f(h, "</td></tr><tr><th>chain</th><td><details><summary>%zu certificates</summary>",
               json_array_size(json_object_get(ch, "chain")));
    json_array_foreach(json_object_get(ch, "chain"), i, v)
    {
        vg__inch_f(h, "<p>%zu. ", i);
        vg__inch_esc(h, vg__inch_s(v, "subject"));
        vg__inch_raw(h, " <br>issued by ");
        vg__inch_esc(h, vg__inch_s(v, "issuer"));
        vg__inch_raw(h, "<br><span class=\"hash\">");
        vg__inch_esc(h, vg__inch_s(v, "sha256"));
        vg__inch_raw(h, "</span></p>");
    }
    vg__inch_raw(h, "</details></td></tr></table>");
}

static void
vg__inch_certs(struct vg__inch *h, const json_t *certs)
{
    static const char *const src[] = {"probe", "control"};
    static const char *const title[] = {"What the probe was shown", "What the control saw"};

    vg__inch_raw(h, "<section id=\"certificates\"><h2>Certificates: probe and control</h2>");
    for (size_t s = 0; s < 2; s++) {
        const json_t *list = json_object_get(certs, src[s]), *ch;
        size_t i;

        vg__inch_f(h, "<h3>%s (%zu chain%s)</h3>", title[s], json_array_size(list),
                   json_array_size(list) == 1 ? "" : "s");
        json_array_foreach(list, i, ch)
        {
            vg__inch_chain(h, ch);
        }
    }
    if (vg__inch_i(certs, "sightings_not_listed") > 0) {
        vg__inch_f(h,
                   "<p>%lld more sightings of other chains are not listed (%d distinct chains "
                   "are kept).</p>",
                   vg__inch_i(certs, "sightings_not_listed"), VG_INCIDENT_CHAINS_MAX);
    }
    vg__inch_raw(h, "</section>");
}

static void
vg__inch_addresses(struct vg__inch *h, const json_t *addrs)
{
    const json_t *a, *c;
    const char *k;
    size_t i;

    vg__inch_raw(h, "<section id=\"addresses\"><h2>Affected addresses</h2>");
    if (json_array_size(addrs) == 0) {
        vg__inch_raw(h, "<p>No address showed interference of its own.</p></section>");
        return;
    }
    vg__inch_raw(h, "<table><tr><th>address</th><th>with interference</th><th>measurements</th>"
                    "<th>verdicts</th><th>from</th></tr>");
    json_array_foreach(addrs, i, a)
    {
        vg__inch_raw(h, "<tr><td>");
        vg__inch_esc(h, vg__inch_s(a, "address"));
        vg__inch_f(h, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td>",
                   vg__inch_i(a, "interference"), vg__inch_i(a, "measurements"));
        json_object_foreach(json_object_get(a, "verdicts"), k, c)
        {
            vg__inch_esc(h, k);
            vg__inch_f(h, " %lld ", (long long)json_integer_value(c));
        }
        vg__inch_raw(h, "</td><td>");
        vg__inch_esc(h, vg__inch_s(a, "source"));
        vg__inch_raw(h, "</td></tr>");
    }
    vg__inch_raw(h, "</table></section>");
}

static void
vg__inch_locations(struct vg__inch *h, const json_t *locs)
{
    const json_t *l;
    size_t i;

    if (json_array_size(locs) == 0) {
        return; /* no vigie locate data in the period */
    }
    vg__inch_raw(h, "<section id=\"location\"><h2>Where on the path</h2><table><tr><th>time</th>"
                    "<th>cause</th><th>target</th><th>interference hop</th><th>router</th>"
                    "<th>server hop</th><th>summary</th></tr>");
    json_array_foreach(locs, i, l)
    {
        static const char *const keys[] = {VG_REC_KEY_MEASUREMENT_START_TIME, "cause", "target"};

        vg__inch_raw(h, "<tr>");
        for (size_t k = 0; k < 3; k++) {
            vg__inch_raw(h, "<td>");
            vg__inch_esc(h, vg__inch_s(l, keys[k]));
            vg__inch_raw(h, "</td>");
        }
        if (json_is_integer(json_object_get(l, "interference_hop"))) {
            vg__inch_f(h, "<td class=\"n\">%lld</td>", vg__inch_i(l, "interference_hop"));
        } else {
            vg__inch_raw(h, "<td>not located</td>");
        }
        vg__inch_raw(h, "<td>");
        vg__inch_esc(h, vg__inch_s(l, "interference_router"));
        if (json_is_integer(json_object_get(l, "server_hop"))) {
            vg__inch_f(h, "</td><td class=\"n\">%lld</td><td>", vg__inch_i(l, "server_hop"));
        } else {
            vg__inch_raw(h, "</td><td></td><td>");
        }
        vg__inch_esc(h, vg__inch_s(l, "summary"));
        vg__inch_raw(h, "</td></tr>");
    }
    vg__inch_raw(h, "</table></section>");
}

static void
vg__inch_samples(struct vg__inch *h, const json_t *samples)
{
    const json_t *s;
    size_t i;

    vg__inch_raw(h, "<section id=\"samples\"><h2>Measurements</h2><p>A few of the "
                    "measurements, in OONI's data format:</p>");
    json_array_foreach(samples, i, s)
    {
        vg__inch_raw(h, "<details><summary>");
        vg__inch_esc(h, vg__inch_s(s, VG_REC_KEY_MEASUREMENT_START_TIME));
        vg__inch_raw(h, " ");
        vg__inch_esc(h, vg__inch_s(s, VG_REC_KEY_X_VERDICT));
        vg__inch_raw(h, " ");
        vg__inch_esc(h, vg__inch_s(s, VG_REC_KEY_X_CAUSE));
        vg__inch_raw(h, " ");
        vg__inch_esc(h, vg__inch_s(s, "measurement_uid"));
        vg__inch_raw(h, json_is_true(json_object_get(s, "raw_truncated")) ? " (cut)</summary>"
                                                                          : "</summary>");
        if (json_is_string(json_object_get(s, "link"))) {
            vg__inch_raw(h, "<p><a href=\"");
            vg__inch_esc(h, vg__inch_s(s, "link"));
            vg__inch_raw(h, "\">");
            vg__inch_esc(h, vg__inch_s(s, "link"));
            vg__inch_raw(h, "</a></p>");
        }
        vg__inch_raw(h, "<pre>");
        vg__inch_esc(h, vg__inch_s(s, "raw"));
        vg__inch_raw(h, "</pre></details>");
    }
    vg__inch_raw(h, "</section>");
}

/* The report JSON in a script element of type application/json: '<' written as \u003c, so that
 * no string can close the element. */
static void
vg__inch_embed(struct vg__inch *h, const json_t *r)
{
    char *text = vg_incident_dumps(r);
    const char *run;

    vg__inch_raw(h, "<script type=\"application/json\" id=\"vigie-report\">");
    if (text == NULL) {
        h->err = VG_ETOOBIG;
        return;
    }
    run = text;
    for (char *p = text; *p != '\0'; p++) {
        if (*p == '<') {
            *p = '\0';
            vg__inch_raw(h, run);
            vg__inch_raw(h, "\\u003c");
            run = p + 1;
        }
    }
    vg__inch_raw(h, run);
    free(text);
    vg__inch_raw(h, "</script>");
}

static void
vg__inch_head(struct vg__inch *h, const json_t *r)
{
    const json_t *net = json_object_get(r, "network"), *per = json_object_get(r, "period");
    const char *input = vg__inch_s(json_object_get(r, "target"), VG_REC_KEY_INPUT);

    vg__inch_raw(h, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                    "style-src 'unsafe-inline'\"><title>Incident report: ");
    vg__inch_esc(h, input);
    vg__inch_raw(h, "</title><style>");
    vg__inch_raw(h, vg__inch_css);
    for (unsigned v = 0; v < VG_VERDICT_COUNT; v++) {
        if (vg__inch_bg[v] != NULL) {
            vg__inch_f(h, ".v-%s{background:%s}", vg_verdict_name((enum vg_verdict)v),
                       vg__inch_bg[v]);
        }
    }
    vg__inch_raw(h, "</style></head><body><header><h1>Incident report</h1><p class=\"target\">");
    vg__inch_esc(h, input);
    vg__inch_raw(h, "</p><p>Network: ");
    vg__inch_esc(h, vg__inch_s(net, VG_REC_KEY_PROBE_CC));
    vg__inch_raw(h, " ");
    vg__inch_esc(h, vg__inch_s(net, VG_REC_KEY_PROBE_ASN));
    if (json_is_string(json_object_get(net, "network_name"))) {
        vg__inch_raw(h, " (");
        vg__inch_esc(h, vg__inch_s(net, "network_name"));
        vg__inch_raw(h, ")");
    }
    vg__inch_raw(h, ". Period (UTC): ");
    vg__inch_esc(h, json_is_string(json_object_get(per, "since"))
                        ? vg__inch_s(per, "since")
                        : vg__inch_s(per, "first_measurement"));
    vg__inch_raw(h, " to ");
    vg__inch_esc(h, json_is_string(json_object_get(per, "until"))
                        ? vg__inch_s(per, "until")
                        : vg__inch_s(per, "last_measurement"));
    vg__inch_raw(h, ".</p>");
    if (json_is_string(json_object_get(r, "note"))) {
        vg__inch_raw(h, "<p><strong>Note:</strong> ");
        vg__inch_esc(h, vg__inch_s(r, "note"));
        vg__inch_raw(h, ".</p>");
    }
    vg__inch_raw(h, "</header>");
}

int
vg_incident_html(const json_t *r, struct vg_buf *out)
{
    struct vg__inch h = {out, 0};

    vg__inch_head(&h, r);
    vg__inch_summary(&h, r);
    vg__inch_raw(&h, "<section id=\"timeline\"><h2>Timeline</h2>");
    vg__inch_timeline(&h, json_object_get(r, "timeline"));
    vg__inch_raw(&h, "</section>");
    vg__inch_certs(&h, json_object_get(r, "certificates"));
    vg__inch_addresses(&h, json_object_get(r, "affected_addresses"));
    vg__inch_locations(&h, json_object_get(r, "locations"));
    vg__inch_samples(&h, json_object_get(r, "samples"));
    vg__inch_raw(&h, "<section id=\"method\"><h2>Method</h2><p>");
    vg__inch_esc(&h, vg__inch_s(r, "method"));
    vg__inch_raw(&h, "</p></section><footer>Generated ");
    vg__inch_esc(&h, vg__inch_s(r, "generated_at"));
    vg__inch_raw(&h, " by vigie ");
    vg__inch_esc(&h, vg__inch_s(r, "vigie_version"));
    vg__inch_raw(&h, " from ");
    vg__inch_esc(&h, vg__inch_s(r, "source"));
    vg__inch_raw(&h, ".</footer>");
    vg__inch_embed(&h, r);
    vg__inch_raw(&h, "</body></html>\n");
    return h.err;
}
