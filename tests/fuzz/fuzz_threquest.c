/* SPDX-License-Identifier: MIT */
/*
 * fuzz_threquest.c - the helper's untrusted input: THRequest bodies (lib/meas/record_th.c) and
 * the endpoint plan (server/threquest.c), and the same bytes as a measurement for the THResponse
 * writer (lib/meas/record_th_resp.c). Checks the parser's bounds, that no bogon is planned, and
 * that every THResponse is an object with oohelperd's seven keys.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ipaddr.h"
#include "th.h"
#include "util/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_response(const char *meas, size_t len, const struct vg_rec_threq *r)
{
    static const char *const keys[] = {"tcp_connect",  "tls_handshake", "quic_handshake",
                                       "http_request", "http3_request", "dns",
                                       "ip_info"};
    struct vg_rec_thresp_opts o = {.skip_bogons = (len & 1) != 0, .doc_public = (len & 2) != 0};
    char *text = NULL;
    json_t *j;

    if (vg_rec_thresponse_from_measurement(meas, len, (len & 4) ? meas : NULL, len, r, &o, &text) !=
        0) {
        if (text != NULL) {
            abort();
        }
        return;
    }
    j = json_loads(text, 0, NULL);
    if (!json_is_object(j) || json_object_size(j) != 7) {
        abort();
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (json_object_get(j, keys[i]) == NULL) {
            abort();
        }
    }
    if (!json_is_integer(json_object_get(json_object_get(j, "http_request"), "status_code"))) {
        abort();
    }
    json_decref(j);
    free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char fixed[] = "{\"http_request\":\"https://www.example.com/\","
                                "\"tcp_connect\":[\"93.184.216.34:443\",\"10.0.0.1:443\"]}";
    struct vg_rec_threq r, base;
    char err[256], eps[VG_TH_MAX_ENDPOINTS][INET6_ADDRSTRLEN + 8];

    if (vg_rec_threq_parse((const char *)data, size, &r, err, sizeof(err)) == 0) {
        size_t n = vg_threq_endpoints(&r, true, false, eps, VG_TH_MAX_ENDPOINTS);

        if (r.url == NULL || strlen(r.url) > VG_URL_MAX || r.n_ips > VG_CTRL_PROBE_IPS ||
            n > VG_TH_MAX_ENDPOINTS) {
            abort();
        }
        for (size_t i = 0; i < n; i++) {
            char ip[INET6_ADDRSTRLEN + 8];
            char *end;

            snprintf(ip, sizeof(ip), "%s", eps[i][0] == '[' ? eps[i] + 1 : eps[i]);
            end = strrchr(ip, eps[i][0] == '[' ? ']' : ':');
            if (end == NULL) {
                abort();
            }
            *end = '\0';
            if (vg_ip_is_bogon_lab(ip, false)) {
                abort(); /* a bogon planned although skipped */
            }
        }
        check_response((const char *)data, size, &r);
        vg_rec_threq_cleanup(&r);
    } else if (err[0] == '\0') {
        abort(); /* every rejection says why */
    }
    if (vg_rec_threq_parse(fixed, sizeof(fixed) - 1, &base, err, sizeof(err)) != 0) {
        abort();
    }
    check_response((const char *)data, size, &base);
    vg_rec_threq_cleanup(&base);
    return 0;
}
