/* SPDX-License-Identifier: MIT */
/*
 * fuzz_store_row.c - the collector's untrusted input as the store reads it: measurement JSON ->
 * row (vg_store_meas_from_json in server/store_row.c), and the URL host extraction behind the
 * domain column. Checks that every accepted row satisfies what vg_store_insert requires and that
 * every refusal says why and leaves no half-filled row.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_terminated(const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_store_meas r;
    char err[256] = "", dom[256], *text;
    enum vg_verdict vd;
    bool verdict_ok;
    int rc;

    rc =
        vg_store_meas_from_json((const char *)data, size, 1795950827000123LL, &r, err, sizeof(err));
    if (rc == 0) {
        check_terminated(r.measurement_uid, sizeof(r.measurement_uid));
        check_terminated(r.idem_key, sizeof(r.idem_key));
        check_terminated(r.report_id, sizeof(r.report_id));
        check_terminated(r.input, sizeof(r.input));
        check_terminated(r.domain, sizeof(r.domain));
        check_terminated(r.x_cause, sizeof(r.x_cause));
        check_terminated(r.blocking, sizeof(r.blocking));
        verdict_ok = vg_verdict_parse(r.x_verdict, &vd);
        if (!verdict_ok || strlen(r.probe_cc) != 2 || r.probe_cc[0] < 'A' || r.probe_cc[0] > 'Z' ||
            r.test_name[0] == '\0' || r.raw != (const char *)data || r.raw_len != size ||
            strncmp(r.measurement_uid, "20261129111347.000123_", 22) != 0 ||
            (strncmp(r.idem_key, "c:", 2) != 0 && strncmp(r.idem_key, "h:", 2) != 0) ||
            r.accessible < -1 || r.accessible > 1 || r.has_input != (r.input[0] != '\0') ||
            r.start_time < 0) {
            abort();
        }
        if (r.domain[0] != '\0' && strpbrk(r.domain, " /?#@[]ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL) {
            abort();
        }
    } else if (err[0] == '\0' || r.raw != NULL || (rc != VG_EPROTO && rc != VG_ETOOBIG)) {
        abort();
    }
    /* The same bytes as a URL. */
    text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    vg__store_url_domain(text, dom, sizeof(dom));
    check_terminated(dom, sizeof(dom));
    if (strlen(dom) > strlen(text)) {
        abort();
    }
    vg__store_url_domain(text, dom, 4);
    check_terminated(dom, 4);
    free(text);
    return 0;
}
