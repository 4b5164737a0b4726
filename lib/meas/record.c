/* SPDX-License-Identifier: MIT */
/*
 * record.c - the writer and reader of measurement JSON (record.h). Key names live here only.
 */
#include "meas/record.h"

#include <inttypes.h>
#include <stdio.h>

#include "vigie/vigie.h"

void
vg_rec_time(time_t t, char out[20])
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm) == 0) {
        snprintf(out, 20, "1970-01-01 00:00:00");
    }
}

static json_t *
vg__rec_str_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *
vg__rec_asn(uint32_t asn)
{
    char as[16];

    snprintf(as, sizeof(as), "AS%" PRIu32, asn);
    return json_string(as);
}

json_t *
vg_rec_new(const struct vg_rec_env *e, json_t *test_keys, char *id_out)
{
    char ts[20], id[VG_UUID_LEN + 1];
    json_t *m;

    if (test_keys == NULL) {
        return NULL;
    }
    vg_rec_time(e->start, ts);
    vg_uuid4(id);
    if (id_out != NULL) {
        snprintf(id_out, VG_UUID_LEN + 1, "%s", id);
    }
    m = json_object();
    json_object_set_new(m, "annotations",
                        json_pack("{s:s, s:s, s:s}", "engine_name", VG_SOFTWARE_NAME,
                                  "engine_version", VG_VERSION, "platform", "linux"));
    json_object_set_new(m, "data_format_version", json_string(VG_REC_DATA_FORMAT_VERSION));
    json_object_set_new(m, "id", json_string(id));
    json_object_set_new(m, "input", e->input != NULL ? json_string(e->input) : json_null());
    json_object_set_new(m, "measurement_start_time", json_string(ts));
    json_object_set_new(m, "probe_asn", json_string(VG_REC_ASN_UNKNOWN));
    json_object_set_new(m, "probe_cc", json_string(VG_REC_CC_UNKNOWN));
    json_object_set_new(m, "probe_ip", json_string(VG_REC_PROBE_IP_SCRUBBED));
    json_object_set_new(m, "probe_network_name", json_null());
    json_object_set_new(m, "report_id", json_string(""));
    json_object_set_new(m, "resolver_asn", vg__rec_asn(e->resolver_asn));
    json_object_set_new(m, "resolver_ip", vg__rec_str_or_null(e->resolver_ip));
    json_object_set_new(m, "software_name", json_string(VG_SOFTWARE_NAME));
    json_object_set_new(m, "software_version", json_string(VG_VERSION));
    json_object_set_new(m, "test_helpers", json_null());
    json_object_set_new(m, "test_name", json_string(e->test_name));
    json_object_set_new(m, "test_runtime", json_real(0.0));
    json_object_set_new(m, "test_start_time", json_string(ts));
    json_object_set_new(m, "test_version", json_string(e->test_version));
    json_object_set_new(m, "test_keys", test_keys);
    return m;
}

void
vg_rec_set_network(json_t *m, uint32_t asn, const char *cc, const char *org)
{
    json_object_set_new(m, "probe_asn", vg__rec_asn(asn));
    json_object_set_new(m, "probe_cc",
                        json_string(cc != NULL && cc[0] != '\0' ? cc : VG_REC_CC_UNKNOWN));
    json_object_set_new(m, "probe_network_name", vg__rec_str_or_null(org));
}

void
vg_rec_set_runtime(json_t *m, double seconds)
{
    json_object_set_new(m, "test_runtime", json_real(seconds));
}

json_t *
vg_rec_test_keys(json_t *m)
{
    return json_object_get(m, "test_keys");
}
