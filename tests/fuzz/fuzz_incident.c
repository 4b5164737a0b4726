/* SPDX-License-Identifier: MIT */
/*
 * fuzz_incident.c - the incident report (server/incident.h) on untrusted measurements: JSON
 * Lines, each added with a verdict taken from its length; the report's JSON, its HTML, and the
 * HTML of the JSON read back. Checks that the HTML holds no unescaped '<' from a measurement: the
 * only <script is the embedded JSON's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_html(const json_t *r)
{
    struct vg_buf b;
    const char *h, *s;
    int scripts = 0;

    vg_buf_init(&b, VG_INCIDENT_HTML_MAX);
    if (vg_incident_html(r, &b) == 0) {
        h = vg_buf_cstr(&b);
        for (s = h; (s = strstr(s, "<script")) != NULL; s++) {
            scripts++;
        }
        if (scripts != 1 || strstr(h, "<link") != NULL) {
            abort();
        }
    }
    vg_buf_cleanup(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_incident_opts o = {.base_url = "http://127.0.0.1:1"};
    struct vg_incident *inc = NULL;
    const char *p = (const char *)data, *end = p + size;
    json_t *r, *back;
    char *text;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *m = json_loadb(p, len, 0, NULL);

        if (m != NULL) {
            if (inc == NULL) {
                const char *in = json_string_value(json_object_get(m, "input"));

                o.input = in != NULL ? in : "";
                inc = vg_incident_new(&o); /* copies the input */
            }
            (void)vg_incident_add(inc, m, (enum vg_verdict)(len % (VG_VERDICT_COUNT + 1)),
                                  len % 3 == 0 ? "tls.mitm" : NULL, len % 2 == 0 ? "uid-1" : NULL);
            json_decref(m);
        }
        p += len + 1;
    }
    if (inc == NULL) {
        return 0;
    }
    json_decref(vg_incident_networks(inc));
    r = vg_incident_json(inc);
    if (r != NULL) {
        check_html(r);
        text = vg_incident_dumps(r);
        back = text != NULL ? json_loads(text, 0, NULL) : NULL;
        if (back == NULL) {
            abort();
        }
        check_html(back);
        json_decref(back);
        free(text);
        json_decref(r);
    }
    vg_incident_free(inc);
    return 0;
}
