/* SPDX-License-Identifier: MIT */
/*
 * record_read.c - reading and normalising a measurement someone else wrote (record_read.h). Every
 * field is checked for type, form and length before use, and a refusal says which field.
 */
#include "meas/record_read.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "meas/record.h"
#include "meas/record_keys.h"
#include "proto/json.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/timefmt.h"

/* Where a refusal is written. */
struct vg__rec_rd {
    char *err;
    size_t errlen;
};

static int
vg__rec_bad(struct vg__rec_rd *x, const char *what)
{
    snprintf(x->err, x->errlen, "%s", what);
    return VG_EPROTO;
}

static bool
vg__rec_chars_ok(const char *s, int lo, int hi)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < lo || (unsigned char)*s > hi) {
            return false;
        }
    }
    return true;
}

/* json_dump_callback into a vg_buf: no allocation through jansson's functions, which the
 * collector may have pointed at its memory accounting (server/jsonmem.c). */
static int
vg__rec_dump_put(const char *p, size_t n, void *arg)
{
    return vg_buf_append(arg, p, n) == 0 ? 0 : -1;
}

int
vg_rec_summary_read(json_t *m, struct vg_rec_summary *out, char *err, size_t errlen)
{
    /* One reader of the summary: a jansson tree (the rarer callers: reports, the scrubbing path)
     * is written out and read by the fast tree's reader, the one ingest uses. */
    char scratch[1];
    struct vg__rec_rd x = {err != NULL ? err : scratch, err != NULL ? errlen : sizeof(scratch)};
    struct vg_json_doc *d;
    const struct vg_json *t = NULL;
    struct vg_buf text;
    int rc = VG_EINTERNAL;

    memset(out, 0, sizeof(*out));
    if (x.errlen > 0) {
        x.err[0] = '\0';
    }
    if (!json_is_object(m)) {
        return vg__rec_bad(&x, "measurement is not a JSON object");
    }
    vg_buf_init(&text, SIZE_MAX);
    d = vg_json_doc_new();
    if (d != NULL && json_dump_callback(m, vg__rec_dump_put, &text, JSON_COMPACT) == 0) {
        t = vg_json_parse(d, (const char *)text.data, text.len, x.err, x.errlen);
        rc = t != NULL ? vg_rec_summary_read_tree(t, NULL, out, err, errlen) : VG_EPROTO;
    } else {
        snprintf(x.err, x.errlen, "measurement could not be written out to be read");
    }
    vg_json_doc_free(d);
    vg_buf_cleanup(&text);
    return rc;
}

void
vg_rec_set_report_id(json_t *m, const char *report_id)
{
    json_object_set_new(m, VG_REC_KEY_REPORT_ID, json_string(report_id));
}

void
vg_rec_scrub_probe_ip(json_t *m)
{
    json_t *v = json_object_get(m, VG_REC_KEY_PROBE_IP);
    struct vg_ip_set set = {0};

    /* The placeholder names no probe: scrubbing it would blank every loopback address. */
    if (json_is_string(v) && !vg_ip_equal(json_string_value(v), VG_REC_PROBE_IP_SCRUBBED) &&
        vg_ip_set_add(&set, json_string_value(v), json_string_length(v)) == 0) {
        (void)vg_rec_scrub(m, &set);
    }
    json_object_set_new(m, VG_REC_KEY_PROBE_IP, json_string(VG_REC_PROBE_IP_SCRUBBED));
}

const char *
vg_rec_evidence(json_t *m)
{
    return json_string_value(
        json_object_get(json_object_get(m, VG_REC_KEY_TEST_KEYS), VG_REC_KEY_X_EVIDENCE));
}

/* ---- the same over the fast reader's tree (proto/json.h) ------------------------------------ */

/* Copy string member key of obj into out[cap]. Missing or null: "" and *present false
 * (VG_EPROTO when required). Wrong type: VG_EPROTO; longer than cap - 1: VG_ETOOBIG. */
static int
vg__rec_tget_str(struct vg__rec_rd *x, const struct vg_json *obj, const char *key, bool required,
                 char *out, size_t cap, bool *present)
{
    const struct vg_json *v = vg_json_get(obj, key);

    out[0] = '\0';
    if (present != NULL) {
        *present = false;
    }
    if (v == NULL || v->type == VG_JSON_NULL) {
        if (required) {
            snprintf(x->err, x->errlen, "missing %s", key);
            return VG_EPROTO;
        }
        return 0;
    }
    if (v->type != VG_JSON_STRING) {
        snprintf(x->err, x->errlen, "%s is not a string", key);
        return VG_EPROTO;
    }
    if (v->len >= cap) {
        snprintf(x->err, x->errlen, "%s longer than %zu bytes", key, cap - 1);
        return VG_ETOOBIG;
    }
    memcpy(out, v->s, (size_t)v->len + 1);
    if (present != NULL) {
        *present = true;
    }
    return 0;
}

static int
vg__rec_tread_where(struct vg__rec_rd *x, const struct vg_json *m, struct vg_rec_summary *s)
{
    char buf[3], asn[16], start[32];
    uint64_t n;

    VG_TRY(vg__rec_tget_str(x, m, VG_REC_KEY_TEST_NAME, true, s->test_name, sizeof(s->test_name),
                            NULL));
    if (s->test_name[0] == '\0' ||
        strspn(s->test_name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(s->test_name)) {
        return vg__rec_bad(x, "test_name must be [a-z0-9_]+");
    }
    VG_TRY(vg__rec_tget_str(x, m, VG_REC_KEY_PROBE_CC, true, buf, sizeof(buf), NULL));
    if (strlen(buf) != 2 || strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 2) {
        return vg__rec_bad(x, "probe_cc must be two upper-case letters");
    }
    memcpy(s->probe_cc, buf, 3);
    VG_TRY(vg__rec_tget_str(x, m, VG_REC_KEY_PROBE_ASN, true, asn, sizeof(asn), NULL));
    if (strncmp(asn, "AS", 2) != 0 || vg_parse_u64(asn + 2, 0, UINT32_MAX, &n) < 0) {
        return vg__rec_bad(x, "probe_asn must be AS<number>");
    }
    s->probe_asn = (uint32_t)n;
    VG_TRY(vg__rec_tget_str(x, m, VG_REC_KEY_MEASUREMENT_START_TIME, true, start, sizeof(start),
                            NULL));
    if (vg_time_parse(start, &s->start_time) < 0) {
        return vg__rec_bad(x, "measurement_start_time must be YYYY-MM-DD hh:mm:ss");
    }
    return 0;
}

static int
vg__rec_tread_what(struct vg__rec_rd *x, const struct vg_json *m, const char *report_id,
                   struct vg_rec_summary *s)
{
    if (report_id != NULL) {
        if (strlen(report_id) >= sizeof(s->report_id)) {
            snprintf(x->err, x->errlen, "%s longer than %zu bytes", VG_REC_KEY_REPORT_ID,
                     sizeof(s->report_id) - 1);
            return VG_ETOOBIG;
        }
        memcpy(s->report_id, report_id, strlen(report_id) + 1);
    } else {
        VG_TRY(vg__rec_tget_str(x, m, VG_REC_KEY_REPORT_ID, false, s->report_id,
                                sizeof(s->report_id), NULL));
    }
    if (!vg__rec_chars_ok(s->report_id, 0x21, 0x7e)) {
        return vg__rec_bad(x, "report_id has characters outside printable ASCII");
    }
    VG_TRY(
        vg__rec_tget_str(x, m, VG_REC_KEY_INPUT, false, s->input, sizeof(s->input), &s->has_input));
    s->has_input = s->input[0] != '\0';
    VG_TRY(vg__rec_tget_str(x, m, VG_REC_KEY_SOFTWARE_NAME, false, s->software_name,
                            sizeof(s->software_name), NULL));
    VG_TRY(vg__rec_tget_str(x, m, VG_REC_KEY_SOFTWARE_VERSION, false, s->software_version,
                            sizeof(s->software_version), NULL));
    if (!vg__rec_chars_ok(s->software_name, 0x20, 0x7e) ||
        !vg__rec_chars_ok(s->software_version, 0x20, 0x7e)) {
        return vg__rec_bad(x, "software_name/version has characters outside printable ASCII");
    }
    VG_TRY(vg__rec_tget_str(x, m, VG_REC_KEY_ID, false, s->id, sizeof(s->id), &s->has_id));
    if (s->has_id && (s->id[0] == '\0' || !vg__rec_chars_ok(s->id, 0x21, 0x7e))) {
        return vg__rec_bad(x, "id must be printable ASCII without spaces");
    }
    return 0;
}

static int
vg__rec_tread_test_keys(struct vg__rec_rd *x, const struct vg_json *m, struct vg_rec_summary *s)
{
    const struct vg_json *tk = vg_json_get(m, VG_REC_KEY_TEST_KEYS), *v;
    bool has_verdict = false, b;
    char buf[64];
    int rc;

    s->accessible = -1;
    s->verdict = VG_VERDICT_UNKNOWN;
    if (tk != NULL && tk->type != VG_JSON_NULL) {
        if (tk->type != VG_JSON_OBJECT) {
            return vg__rec_bad(x, "test_keys is not an object");
        }
        v = vg_json_get(tk, VG_REC_KEY_BLOCKING);
        if (vg_json_bool(v, &b)) {
            snprintf(s->blocking, sizeof(s->blocking), "%s", b ? "true" : "false");
        } else if (v != NULL && v->type != VG_JSON_NULL) {
            VG_TRY(vg__rec_tget_str(x, tk, VG_REC_KEY_BLOCKING, false, s->blocking,
                                    sizeof(s->blocking), NULL));
            if (s->blocking[0] == '\0' || !vg__rec_chars_ok(s->blocking, 0x21, 0x7e)) {
                return vg__rec_bad(x, "test_keys.blocking must be false, null or a word");
            }
        }
        v = vg_json_get(tk, VG_REC_KEY_ACCESSIBLE);
        if (vg_json_bool(v, &b)) {
            s->accessible = b;
        } else if (v != NULL && v->type != VG_JSON_NULL) {
            return vg__rec_bad(x, "test_keys.accessible must be a boolean or null");
        }
        VG_TRY(vg__rec_tget_str(x, tk, VG_REC_KEY_X_CAUSE, false, s->x_cause, sizeof(s->x_cause),
                                NULL));
        if (!vg__rec_chars_ok(s->x_cause, 0x21, 0x7e)) {
            return vg__rec_bad(x, "test_keys.x_cause has characters outside printable ASCII");
        }
        rc = vg__rec_tget_str(x, tk, VG_REC_KEY_X_VERDICT, false, buf, sizeof(buf), &has_verdict);
        if (rc == VG_ETOOBIG) {
            buf[0] = '\0';
            has_verdict = true;
        } else if (rc < 0) {
            return rc;
        }
        if (has_verdict && !vg_verdict_parse(buf, &s->verdict)) {
            s->verdict = VG_VERDICT_UNKNOWN;
        }
    }
    s->has_verdict = has_verdict;
    return 0;
}

int
vg_rec_summary_read_tree(const struct vg_json *m, const char *report_id, struct vg_rec_summary *out,
                         char *err, size_t errlen)
{
    char scratch[1];
    struct vg__rec_rd x = {err != NULL ? err : scratch, err != NULL ? errlen : sizeof(scratch)};
    int rc;

    memset(out, 0, sizeof(*out));
    if (x.errlen > 0) {
        x.err[0] = '\0';
    }
    if (m == NULL || m->type != VG_JSON_OBJECT) {
        return vg__rec_bad(&x, "measurement is not a JSON object");
    }
    rc = vg__rec_tread_where(&x, m, out);
    if (rc == 0) {
        rc = vg__rec_tread_what(&x, m, report_id, out);
    }
    if (rc == 0) {
        rc = vg__rec_tread_test_keys(&x, m, out);
    }
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

bool
vg_rec_probe_ip_real(const struct vg_json *m)
{
    const struct vg_json *v = vg_json_get(m, VG_REC_KEY_PROBE_IP);
    struct vg_ip_set set = {0};

    /* As vg_rec_scrub_probe_ip decides. */
    return v != NULL && v->type == VG_JSON_STRING && !vg_ip_equal(v->s, VG_REC_PROBE_IP_SCRUBBED) &&
           vg_ip_set_add(&set, v->s, v->len) == 0;
}

int
vg_rec_normal_write(const char *p, size_t len, const char *report_id, vg_json_put_fn put, void *arg,
                    char *err, size_t errlen)
{
    /* report_id first: vg_rec_set_report_id came before the scrub, which appends probe_ip. */
    char rid[2 * VG_REC_REPORT_ID_MAX + 3];
    struct vg_json_set sets[2] = {
        {VG_REC_KEY_REPORT_ID, rid, 0, false},
        {VG_REC_KEY_PROBE_IP, "\"" VG_REC_PROBE_IP_SCRUBBED "\"",
         sizeof(VG_REC_PROBE_IP_SCRUBBED) + 1, false},
    };
    size_t n = 0;

    if (report_id != NULL) {
        /* The report ids the collector sets are letters, digits, '_' and '-'; anything else
         * would need escapes this does not write. */
        rid[n++] = '"';
        for (const char *c = report_id; *c != '\0'; c++) {
            if (n + 2 >= sizeof(rid) || (unsigned char)*c < 0x20 || *c == '"' || *c == '\\' ||
                (unsigned char)*c >= 0x7f) {
                snprintf(err, errlen, "invalid report_id");
                return VG_EINVAL;
            }
            rid[n++] = *c;
        }
        rid[n++] = '"';
        sets[0].value_len = n;
    }
    return report_id != NULL ? vg_json_canon(p, len, sets, 2, put, arg, err, errlen)
                             : vg_json_canon(p, len, sets + 1, 1, put, arg, err, errlen);
}
