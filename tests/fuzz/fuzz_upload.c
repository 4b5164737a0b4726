/* SPDX-License-Identifier: MIT */
/*
 * fuzz_upload.c - the collector's untrusted input (server/ingest.c): the first byte picks the
 * path, the rest is the body: 'o' POST /report, 's' POST /report/{id}, anything else one line of
 * a bulk upload. Checks that a rejection always says why and leaves nothing behind, and that an
 * accepted measurement is stored normalised: an object whose probe_ip is the placeholder, whose
 * report_id is the report's, without the address the client claimed (in any spelling, as a
 * whole address) in any string or key; and that the stored text is, byte for byte, what the
 * collector stored when it parsed with jansson and wrote the measurement back (json_dumps of the
 * parse after vg_rec_set_report_id and vg_rec_scrub_probe_ip), and that what jansson's parse
 * refuses is refused.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "meas/record_read.h"
#include "proto/ipaddr.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when a string value or an object key somewhere in j holds an address of set (a whole
 * address, as the collector scrubs: "192.0.2.71" is not "192.0.2.7"). */
static bool
has_addr(const json_t *j, const struct vg_ip_set *set)
{
    const char *key;
    json_t *v;
    size_t i, off, n;

    if (json_is_object(j)) {
        json_object_foreach((json_t *)j, key, v)
        {
            if (vg_ip_set_find(set, key, strlen(key), 0, &off, &n) || has_addr(v, set)) {
                return true;
            }
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if (has_addr(v, set)) {
                return true;
            }
        }
    } else if (json_is_string(j)) {
        return vg_ip_set_find(set, json_string_value(j), json_string_length(j), 0, &off, &n);
    }
    return false;
}

static void
check_accepted(const struct vg_ingest *u, const char *claimed_ip, const char *report_id)
{
    json_t *m = json_loads(u->text, 0, NULL);
    enum vg_verdict vd;

    if (!json_is_object(m) || u->row.raw != u->text || u->row.raw_len != u->len ||
        u->row.measurement_uid[0] == '\0' || u->row.idem_key[0] == '\0') {
        abort();
    }
    if (strcmp(json_string_value(json_object_get(m, "probe_ip")), VG_INGEST_PROBE_IP) != 0) {
        abort();
    }
    if (report_id != NULL &&
        (strcmp(json_string_value(json_object_get(m, "report_id")), report_id) != 0 ||
         strcmp(u->row.report_id, report_id) != 0)) {
        abort();
    }
    /* The placeholder was checked above; the rest of the measurement is searched, keys too. */
    (void)json_object_del(m, "probe_ip");
    if (claimed_ip != NULL) {
        struct vg_ip_set set = {0};

        if (vg_ip_set_add(&set, claimed_ip, strlen(claimed_ip)) < 0 || has_addr(m, &set)) {
            abort(); /* the client's address survived somewhere, in some spelling */
        }
    }
    if (!vg_verdict_parse(u->row.x_verdict, &vd)) {
        abort();
    }
    json_decref(m);
}

/* What the collector stored before it parsed with the fast reader: jansson's parse of the
 * measurement, normalised, dumped (NULL when jansson refuses the text or it is no object). */
static char *
jansson_text(const char *body, size_t len, const char *report_id, bool envelope)
{
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL), *m;
    char *out = NULL;

    m = envelope ? json_object_get(j, "content") : j;
    if (json_is_object(m)) {
        if (report_id != NULL) {
            vg_rec_set_report_id(m, report_id);
        }
        vg_rec_scrub_probe_ip(m);
        out = json_dumps(m, JSON_COMPACT);
    }
    json_decref(j);
    return out;
}

/* The address the measurement claims (only when it is an address the collector scrubs). */
static char *
claimed(const char *body, size_t len, bool envelope)
{
    json_t *j = json_loadb(body, len, 0, NULL), *m = envelope ? json_object_get(j, "content") : j;
    const char *ip = json_string_value(json_object_get(m, "probe_ip"));
    char *out = NULL;
    unsigned char addr[16];

    if (ip != NULL && !vg_ip_equal(ip, VG_INGEST_PROBE_IP) && strlen(ip) < 64 &&
        (inet_pton(AF_INET, ip, addr) == 1 || inet_pton(AF_INET6, ip, addr) == 1)) {
        out = strdup(ip);
    }
    json_decref(j);
    return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_store_report rep = {.report_id = "20261129T113000Z_webconnectivity_ZZ_0_n1_abc",
                                  .probe_cc = "ZZ",
                                  .probe_asn = 0,
                                  .test_name = "web_connectivity"};
    const char *body = (const char *)data + 1;
    size_t len = size > 0 ? size - 1 : 0;
    char err[512], *ip, *before;
    struct vg_ingest u;
    int rc;

    if (size == 0) {
        return 0;
    }
    if (data[0] == 'o') {
        struct vg_ingest_open op;
        uint8_t rnd[VG_REPORT_RANDOM_BYTES] = {0};
        char id[VG_REPORT_ID_MAX];

        if (vg_ingest_parse_open(body, len, &op, err, sizeof(err)) == 0) {
            if (vg_ingest_report_id(&op.report, 1764415800, rnd, id, sizeof(id)) != 0 ||
                !vg_ingest_report_id_is_valid(id)) {
                abort();
            }
        } else if (err[0] == '\0' || op.report.test_name[0] != '\0') {
            abort();
        }
        return 0;
    }
    ip = claimed(body, len, data[0] == 's');
    if (data[0] == 's') {
        rc = vg_ingest_parse_submit(body, len, &rep, 1764415800000000, &u, err, sizeof(err));
    } else {
        rc = vg_ingest_parse_meas(body, len, NULL, 1764415800000000, &u, err, sizeof(err));
    }
    before = jansson_text(body, len, data[0] == 's' ? rep.report_id : NULL, data[0] == 's');
    if (rc == 0) {
        check_accepted(&u, ip, data[0] == 's' ? rep.report_id : NULL);
        if (before == NULL || strlen(before) != u.len || memcmp(before, u.text, u.len) != 0) {
            abort(); /* not what the collector stored before */
        }
        vg_ingest_cleanup(&u);
    } else if (err[0] == '\0' || u.text != NULL) {
        abort(); /* every rejection says why, and keeps nothing */
    }
    free(before);
    free(ip);
    return 0;
}
