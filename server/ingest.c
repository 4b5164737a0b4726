/* SPDX-License-Identifier: MIT */
/*
 * ingest.c - checks and normalisation of what clients upload to the collector (ingest.h).
 *
 * Shapes follow OONI's collector specification (ooni/spec backends/bk-003-collector.md, v3.0.0,
 * "Create a new report" and "Update a report") and its base data format
 * (data-formats/df-000-base.md). Everything here is untrusted input: every field is checked for
 * type, form and length before use, and a rejection always says which field is wrong.
 */
#include "ingest.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonmem.h"
#include "meas/record.h"
#include "meas/record_read.h"
#include "proto/json.h"
#include "util/crypto.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"

/* Characters of the test name in a report_id: OONI's collector takes 2 to 29 (routers/reports.py
 * receive_measurement: 1 < len(test_name) < 30). */
#define VG__ID_NAME_MAX 29
/* Characters of a report_id's random part (and of a public id's hash): 32 bytes in base62 or,
 * in ids made before, in unpadded base64url; 43 either way. */
#define VG__ID_TAIL 43

/* data_format_version values whose shape this collector knows. */
static const char *const vg__formats[] = {VG_REC_DATA_FORMAT_VERSION};

static bool
vg__known_format(const char *v)
{
    for (size_t i = 0; i < sizeof(vg__formats) / sizeof(vg__formats[0]); i++) {
        if (strcmp(v, vg__formats[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* A string member of o, or NULL when missing; VG_EINVAL (with err) when of another type. */
static int
vg__ingest_get_str(json_t *o, const char *key, bool required, const char **out, char *err,
                   size_t errlen)
{
    json_t *v = json_object_get(o, key);

    *out = NULL;
    if (v == NULL || (json_is_null(v) && !required)) {
        if (required) {
            snprintf(err, errlen, "missing required field '%s'", key);
            return VG_EINVAL;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        snprintf(err, errlen, "field '%s' must be a string", key);
        return VG_EINVAL;
    }
    *out = json_string_value(v);
    if (strlen(*out) != json_string_length(v)) {
        snprintf(err, errlen, "field '%s' contains a NUL character", key);
        return VG_EINVAL;
    }
    return 0;
}

/* A short token: 1..max printable ASCII characters without spaces. */
static bool
vg__is_token(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f) {
            return false;
        }
    }
    return true;
}

static bool
vg__is_test_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > VG_STORE_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) {
            return false;
        }
    }
    return true;
}

static bool
vg__is_cc(const char *s)
{
    return strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

/* "AS1234" -> 1234 (OONI writes the ASN with its "AS" prefix). */
static int
vg__parse_asn(const char *s, uint32_t *out)
{
    uint64_t v;

    VG_ENSURE(s[0] == 'A' && s[1] == 'S' && strlen(s) <= 12, VG_EINVAL);
    VG_TRY(vg_parse_u64(s + 2, 0, UINT32_MAX, &v));
    *out = (uint32_t)v;
    return 0;
}

/* OONI's "YYYY-MM-DD hh:mm:ss" (UTC), with a real calendar date. */
static bool
vg__is_datetime(const char *s)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint64_t y, mo, d, h, mi, se;

    if (strlen(s) != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' ||
        s[16] != ':') {
        return false;
    }
    if (vg_parse_u64n(s, 4, 1970, 9999, &y) < 0 || vg_parse_u64n(s + 5, 2, 1, 12, &mo) < 0 ||
        vg_parse_u64n(s + 8, 2, 1, 31, &d) < 0 || vg_parse_u64n(s + 11, 2, 0, 23, &h) < 0 ||
        vg_parse_u64n(s + 14, 2, 0, 59, &mi) < 0 || vg_parse_u64n(s + 17, 2, 0, 60, &se) < 0) {
        return false;
    }
    if (d > mdays[mo - 1]) {
        return false;
    }
    return !(mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
}

int
vg_ingest_parse_open(const char *body, size_t len, struct vg_ingest_open *out, char *err,
                     size_t errlen)
{
    static const char *const tokens[] = {VG_REC_KEY_SOFTWARE_NAME, VG_REC_KEY_SOFTWARE_VERSION,
                                         VG_REC_KEY_TEST_VERSION};
    char *dst[] = {out->report.software_name, out->report.software_version, out->test_version};
    const char *dfv, *fmt, *asn, *cc, *tn, *tst, *v;
    json_error_t jerr;
    bool toobig;
    json_t *j;
    int rc = VG_EINVAL;

    memset(out, 0, sizeof(*out));
    err[0] = '\0';
    j = vg_jsonmem_load(body, len, JSON_REJECT_DUPLICATES, &jerr, &toobig);
    if (toobig) {
        snprintf(err, errlen, "the body is too large to read: %s", jerr.text);
        return VG_ETOOBIG;
    }
    if (!json_is_object(j)) {
        snprintf(err, errlen, "the body must be a JSON object%s%s", j == NULL ? ": " : "",
                 j == NULL ? jerr.text : "");
        json_decref(j);
        return VG_EPROTO;
    }
    if (vg__ingest_get_str(j, VG_REC_KEY_DATA_FORMAT_VERSION, true, &dfv, err, errlen) < 0 ||
        vg__ingest_get_str(j, "format", true, &fmt, err, errlen) < 0 ||
        vg__ingest_get_str(j, VG_REC_KEY_PROBE_ASN, true, &asn, err, errlen) < 0 ||
        vg__ingest_get_str(j, VG_REC_KEY_PROBE_CC, true, &cc, err, errlen) < 0 ||
        vg__ingest_get_str(j, VG_REC_KEY_TEST_NAME, true, &tn, err, errlen) < 0 ||
        vg__ingest_get_str(j, VG_REC_KEY_TEST_START_TIME, true, &tst, err, errlen) < 0) {
        goto out;
    }
    if (!vg__known_format(dfv)) {
        snprintf(err, errlen, "unknown data_format_version (this collector knows 0.2.0)");
        goto out;
    }
    if (strcmp(fmt, "json") != 0) {
        snprintf(err, errlen, "unsupported format (supported: json)");
        goto out;
    }
    if (vg__parse_asn(asn, &out->report.probe_asn) < 0) {
        snprintf(err, errlen, "probe_asn must look like \"AS1234\"");
        goto out;
    }
    if (!vg__is_cc(cc)) {
        snprintf(err, errlen, "probe_cc must be two capital letters (\"ZZ\" when unknown)");
        goto out;
    }
    if (!vg__is_test_name(tn)) {
        snprintf(err, errlen, "test_name must be 1 to %d characters among a-z, 0-9 and '_'",
                 VG_STORE_NAME_MAX);
        goto out;
    }
    if (!vg__is_datetime(tst)) {
        snprintf(err, errlen, "test_start_time must be \"YYYY-MM-DD hh:mm:ss\" (UTC)");
        goto out;
    }
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        if (vg__ingest_get_str(j, tokens[i], true, &v, err, errlen) < 0) {
            goto out;
        }
        if (!vg__is_token(v, VG_STORE_NAME_MAX)) {
            snprintf(err, errlen, "%s must be 1 to %d printable characters without spaces",
                     tokens[i], VG_STORE_NAME_MAX);
            goto out;
        }
        (void)vg_strlcpy(dst[i], v, VG_STORE_NAME_MAX + 1);
    }
    (void)vg_strlcpy(out->report.probe_cc, cc, sizeof(out->report.probe_cc));
    (void)vg_strlcpy(out->report.test_name, tn, sizeof(out->report.test_name));
    (void)vg_strlcpy(out->test_start_time, tst, sizeof(out->test_start_time));
    rc = 0;
out:
    json_decref(j);
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

/* base64url (RFC 4648 section 5) without padding of p[n]: a fresh string (free()). */
static char *
vg__b64url(const uint8_t *p, size_t n)
{
    char *b64 = vg_base64(p, n);
    size_t o = 0;

    for (size_t i = 0; b64[i] != '\0' && b64[i] != '='; i++) {
        b64[o++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    }
    b64[o] = '\0';
    return b64;
}

/* The random part of a report_id: 256 bits as 43 base62 digits (62^43 > 2^256), fixed width.
 * OONI's collector splits a report_id on '_' into six fields and wants letters and digits in the
 * last one: base64url's '-' and '_' would break it. */
static void
vg__base62_256(const uint8_t in[32], char out[VG__ID_TAIL + 1])
{
    static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint8_t n[32];

    memcpy(n, in, sizeof(n));
    for (int i = VG__ID_TAIL - 1; i >= 0; i--) {
        unsigned rem = 0;

        for (size_t j = 0; j < sizeof(n); j++) {
            unsigned cur = rem * 256 + n[j];

            n[j] = (uint8_t)(cur / 62);
            rem = cur % 62;
        }
        out[i] = digits[rem];
    }
    out[VG__ID_TAIL] = '\0';
    explicit_bzero(n, sizeof(n));
}

int
vg_ingest_report_id(const struct vg_store_report *r, time_t now,
                    const uint8_t rnd[VG_REPORT_RANDOM_BYTES], char *out, size_t cap)
{
    /* The name part is cut to VG__ID_NAME_MAX characters so that every report accepted (test
     * names of up to VG_STORE_NAME_MAX) gets an id within VG_REPORT_ID_MAX: 16 + 1 + 29 + 1 + 2
     * + 1 + 10 + 4 + 43 = 107 bytes at most. The id is opaque; the random part makes it unique. */
    char when[20], name[VG__ID_NAME_MAX + 1], tail[VG__ID_TAIL + 1];
    size_t n = 0;
    struct tm tm;
    int w;

    if (gmtime_r(&now, &tm) == NULL || strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm) == 0) {
        return VG_EINVAL;
    }
    for (const char *p = r->test_name; *p != '\0' && n + 1 < sizeof(name); p++) {
        if (*p != '_') {
            name[n++] = *p;
        }
    }
    name[n] = '\0';
    /* Letters and digits: OONI's shape, and safe in URL paths. */
    vg__base62_256(rnd, tail);
    w = snprintf(out, cap, "%s_%s_%s_%u_n1_%s", when, name, r->probe_cc, (unsigned)r->probe_asn,
                 tail);
    explicit_bzero(tail, sizeof(tail));
    if (w < 0 || (size_t)w >= cap) {
        return VG_ETOOBIG;
    }
    return 0;
}

/* The public id of submit_id: its random part (VG__ID_TAIL characters) replaced by the SHA-256
 * of the whole, in base62 (legacy: in unpadded base64url, as before report ids were OONI's
 * six fields). */
static int
vg__ingest_public(const char *submit_id, bool legacy, char *out, size_t cap)
{
    size_t n = strlen(submit_id);
    uint8_t h[32];
    char tail[VG__ID_TAIL + 1], *b64 = NULL;
    int w;

    _Static_assert(VG_REPORT_RANDOM_BYTES == 32, "the public tail is a SHA-256: 32 bytes");
    if (n <= VG__ID_TAIL + 1 || n >= VG_REPORT_ID_MAX || submit_id[n - VG__ID_TAIL - 1] != '_' ||
        !vg_ingest_report_id_is_valid(submit_id)) {
        return VG_EINVAL;
    }
    vg_sha256(submit_id, n, h);
    if (legacy) {
        b64 = vg__b64url(h, sizeof(h));
    } else {
        vg__base62_256(h, tail);
    }
    w = snprintf(out, cap, "%.*s%s", (int)(n - VG__ID_TAIL), submit_id, legacy ? b64 : tail);
    free(b64);
    return w < 0 || (size_t)w >= cap ? VG_ETOOBIG : 0;
}

int
vg_ingest_report_public(const char *submit_id, char *out, size_t cap)
{
    return vg__ingest_public(submit_id, false, out, cap);
}

int
vg_ingest_report_public_legacy(const char *submit_id, char *out, size_t cap)
{
    return vg__ingest_public(submit_id, true, out, cap);
}

/* 1..max-1 characters among A-Z a-z 0-9 and extra. */
static bool
vg__is_word(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);

    if (n == 0 || n >= max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(extra, c) != NULL)) {
            return false;
        }
    }
    return true;
}

bool
vg_ingest_report_id_is_valid(const char *s)
{
    return vg__is_word(s, VG_REPORT_ID_MAX, "_-");
}

bool
vg_ingest_uid_is_valid(const char *s)
{
    return vg__is_word(s, VG_UID_MAX, "_-.");
}

/* vg__ingest_get_str over the fast reader's tree (parsed strictly: no NUL in a string). */
static int
vg__ingest_tget_str(const struct vg_json *o, const char *key, bool required, const char **out,
                    char *err, size_t errlen)
{
    const struct vg_json *v = vg_json_get(o, key);

    *out = NULL;
    if (v == NULL || (v->type == VG_JSON_NULL && !required)) {
        if (required) {
            snprintf(err, errlen, "missing required field '%s'", key);
            return VG_EINVAL;
        }
        return 0;
    }
    if (v->type != VG_JSON_STRING) {
        snprintf(err, errlen, "field '%s' must be a string", key);
        return VG_EINVAL;
    }
    *out = v->s;
    return 0;
}

static int
vg__check_tree_against_report(const struct vg_json *m, const struct vg_store_report *rep, char *err,
                              size_t errlen)
{
    const char *cc, *asn, *tn;
    uint32_t asn_n;

    VG_TRY(vg__ingest_tget_str(m, VG_REC_KEY_PROBE_CC, true, &cc, err, errlen));
    VG_TRY(vg__ingest_tget_str(m, VG_REC_KEY_PROBE_ASN, true, &asn, err, errlen));
    VG_TRY(vg__ingest_tget_str(m, VG_REC_KEY_TEST_NAME, true, &tn, err, errlen));
    if (strcmp(cc, rep->probe_cc) != 0) {
        snprintf(err, errlen, "probe_cc differs from the report's (%s)", rep->probe_cc);
        return VG_EINVAL;
    }
    if (vg__parse_asn(asn, &asn_n) < 0 || asn_n != rep->probe_asn) {
        snprintf(err, errlen, "probe_asn differs from the report's (AS%u)",
                 (unsigned)rep->probe_asn);
        return VG_EINVAL;
    }
    if (strcmp(tn, rep->test_name) != 0) {
        snprintf(err, errlen, "test_name differs from the report's (%s)", rep->test_name);
        return VG_EINVAL;
    }
    return 0;
}

/*
 * vg__ingest over the fast reader's tree m of the measurement text[len], whose probe_ip needs no
 * scrubbing: the stored text is written from text (vg_rec_normal_write: what jansson's dump of
 * the normalised parse was, byte for byte), the row read from m. The checks come in the order
 * vg__ingest made them, after what jansson's parse refused (vg_rec_normal_write finds it).
 */
static int
vg__ingest_tree(const struct vg_json *m, const char *text, size_t len,
                const struct vg_store_report *rep, int64_t received_us, struct vg_ingest *u,
                char *err, size_t errlen)
{
    const char *rid = rep != NULL ? rep->report_id : NULL, *dfv;
    struct vg_jsonmem_out o;
    int rc, wrc;

    vg_jsonmem_out_begin(&o, VG_STORE_MEAS_MAX, len + 64);
    rc = vg_rec_normal_write(text, len, rid, vg_jsonmem_put, &o, err, errlen);
    wrc = vg_jsonmem_out_end(&o, rc == 0, &u->text, &u->len);
    if (rc == VG_EPROTO) {
        return VG_EPROTO; /* err says what jansson's parse refused */
    }
    err[0] = '\0';
    VG_TRY(vg__ingest_tget_str(m, VG_REC_KEY_DATA_FORMAT_VERSION, true, &dfv, err, errlen));
    if (!vg__known_format(dfv)) {
        snprintf(err, errlen, "unknown data_format_version (this collector knows 0.2.0)");
        return VG_EINVAL;
    }
    if (rep != NULL) {
        VG_TRY(vg__check_tree_against_report(m, rep, err, errlen));
    }
    if (wrc == VG_ETOOBIG) {
        snprintf(err, errlen, "measurement larger than %d bytes", VG_STORE_MEAS_MAX);
        return VG_ETOOBIG;
    }
    if (wrc < 0) {
        snprintf(err, errlen, "the measurement cannot be serialised");
        return VG_EINVAL;
    }
    rc = vg_store_meas_from_tree(m, rid, u->text, u->len, received_us, &u->row, err, errlen);
    if (rc < 0) {
        if (err[0] == '\0') {
            snprintf(err, errlen, "invalid measurement: %s", vg_store_strerror(rc));
        }
        return rc == VG_ETOOBIG ? VG_ETOOBIG : VG_EINVAL;
    }
    return 0;
}

/*
 * A measurement text[len] whose probe_ip names a real address (vg_rec_probe_ip_real): it is read
 * with jansson, scrubbed throughout (vg_rec_scrub_probe_ip), written out, and that text goes the
 * one way every measurement goes (vg__ingest_tree). Rare: probes send the placeholder.
 */
static int
vg__ingest_scrubbed(const char *text, size_t len, const struct vg_store_report *rep,
                    int64_t received_us, struct vg_ingest *u, char *err, size_t errlen)
{
    const struct vg_json *t;
    json_error_t jerr;
    char why[256];
    char *clean = NULL;
    size_t clen = 0;
    bool toobig;
    json_t *m;
    int rc;

    m = vg_jsonmem_load(text, len, JSON_REJECT_DUPLICATES, &jerr, &toobig);
    if (toobig) {
        snprintf(err, errlen, "measurement too large to read: %s", jerr.text);
        return VG_ETOOBIG;
    }
    if (m == NULL) {
        snprintf(err, errlen, "invalid JSON: %s (at byte %d)", jerr.text, jerr.position);
        return VG_EPROTO;
    }
    vg_rec_scrub_probe_ip(m);
    rc = vg_jsonmem_dumps(m, VG_STORE_MEAS_MAX, &clean, &clen);
    json_decref(m);
    if (rc < 0) {
        if (rc == VG_ETOOBIG) {
            snprintf(err, errlen, "measurement larger than %d bytes", VG_STORE_MEAS_MAX);
        } else {
            snprintf(err, errlen, "the measurement cannot be serialised");
        }
        return rc == VG_ETOOBIG ? VG_ETOOBIG : VG_EINVAL;
    }
    t = vg_jsonmem_parse(clean, clen, why, sizeof(why), &toobig);
    if (t == NULL) {
        snprintf(err, errlen, "%s", why);
        rc = toobig ? VG_ETOOBIG : VG_EPROTO;
    } else {
        rc = vg__ingest_tree(t, clean, clen, rep, received_us, u, err, errlen);
    }
    free(clean);
    return rc;
}

int
vg_ingest_parse_meas(const char *json, size_t len, const struct vg_store_report *rep,
                     int64_t received_us, struct vg_ingest *u, char *err, size_t errlen)
{
    const struct vg_json *m;
    char why[256];
    bool toobig;
    int rc;

    memset(u, 0, sizeof(*u));
    err[0] = '\0';
    if (len > VG_STORE_MEAS_MAX) {
        snprintf(err, errlen, "measurement larger than %d bytes", VG_STORE_MEAS_MAX);
        return VG_ETOOBIG;
    }
    m = vg_jsonmem_parse(json, len, why, sizeof(why), &toobig);
    if (toobig) {
        snprintf(err, errlen, "measurement too large to read: %s", why);
        return VG_ETOOBIG;
    }
    if (m == NULL) {
        snprintf(err, errlen, "%s", why);
        return VG_EPROTO;
    }
    if (m->type != VG_JSON_OBJECT) {
        snprintf(err, errlen, "the measurement must be a JSON object");
        return VG_EPROTO;
    }
    rc = vg_rec_probe_ip_real(m) ? vg__ingest_scrubbed(json, len, rep, received_us, u, err, errlen)
                                 : vg__ingest_tree(m, json, len, rep, received_us, u, err, errlen);
    if (rc < 0) {
        vg_ingest_cleanup(u);
    }
    return rc;
}

int
vg_ingest_parse_submit(const char *body, size_t len, const struct vg_store_report *rep,
                       int64_t received_us, struct vg_ingest *u, char *err, size_t errlen)
{
    const struct vg_json *j, *c;
    const char *fmt;
    char why[256];
    bool toobig;
    int rc;

    memset(u, 0, sizeof(*u));
    err[0] = '\0';
    if (len > VG_STORE_MEAS_MAX + 1024) {
        snprintf(err, errlen, "measurement larger than %d bytes", VG_STORE_MEAS_MAX);
        return VG_ETOOBIG;
    }
    j = vg_jsonmem_parse(body, len, why, sizeof(why), &toobig);
    if (toobig) {
        snprintf(err, errlen, "measurement too large to read: %s", why);
        return VG_ETOOBIG;
    }
    if (j == NULL || j->type != VG_JSON_OBJECT) {
        snprintf(err, errlen, "the body must be a JSON object%s%s", j == NULL ? ": " : "",
                 j == NULL ? why : "");
        return VG_EPROTO;
    }
    c = vg_json_get(j, "content");
    rc = vg__ingest_tget_str(j, "format", true, &fmt, err, errlen);
    if (rc == 0 && strcmp(fmt, "json") != 0) {
        snprintf(err, errlen, "unsupported format (supported: json)");
        rc = VG_EINVAL;
    }
    if (rc == 0 && (c == NULL || c->type != VG_JSON_OBJECT)) {
        snprintf(err, errlen, "'content' must be the measurement, a JSON object");
        rc = VG_EINVAL;
    }
    if (rc == 0 && vg_rec_probe_ip_real(c)) {
        rc = vg__ingest_scrubbed(body + c->start, c->end - c->start, rep, received_us, u, err,
                                 errlen);
    } else if (rc == 0) {
        rc = vg__ingest_tree(c, body + c->start, c->end - c->start, rep, received_us, u, err,
                             errlen);
    }
    if (rc < 0) {
        vg_ingest_cleanup(u);
    }
    return rc;
}

int
vg_ingest_apply(struct vg_ingest *u, const struct vg_ingest_policy *pol, int64_t received_us,
                char *err, size_t errlen)
{
    const char *prov =
        pol != NULL && pol->provenance != NULL ? pol->provenance : VG_STORE_ANONYMOUS;
    int64_t skew = pol != NULL ? pol->max_skew_s : VG_INGEST_SKEW_DEF;
    int64_t ahead = u->row.start_time - received_us / 1000000;

    if (ahead > skew) {
        snprintf(err, errlen,
                 "measurement_start_time is %lld s after the measurement reached the collector"
                 " (at most %lld s allowed): the probe's clock is wrong",
                 (long long)ahead, (long long)skew);
        return VG_EINVAL;
    }
    if (!vg_store_provenance_ok(prov)) {
        snprintf(err, errlen, "invalid provenance");
        return VG_EINVAL;
    }
    (void)vg_strlcpy(u->row.provenance, prov, sizeof(u->row.provenance));
    return 0;
}

bool
vg_ingest_analyze(struct vg_ingest *u, struct vg_analyzer *a)
{
    struct vg_analysis *an;
    char err[256];

    if (a == NULL || !vg_store_meas_needs_analysis(&u->row)) {
        return false;
    }
    an = vg_xmalloc(sizeof(*an)); /* ~3.5 KiB: not on a connection thread's stack */
    if (vg_analyze(a, u->text, u->len, VG_ANALYZE_NO_LINE, an, err, sizeof(err)) == 0) {
        vg_store_meas_set_analysis(&u->row, an);
    } else {
        memset(an, 0, sizeof(*an));
        an->analysed = true;
        an->verdict = VG_VERDICT_UNKNOWN;
        snprintf(an->evidence, sizeof(an->evidence), "vigie could not analyse this measurement: %s",
                 err);
        vg_store_meas_set_analysis(&u->row, an);
    }
    free(an);
    return true;
}

size_t
vg_ingest_analyze_mem(const char *text, size_t len)
{
    struct vg_jsonmem_shape shape = {len, len};
    char err[8];

    /* The tree arena: a node per value (a text of small values, "[0,0,...]", has one per two
     * bytes) and a copy of the strings; the analyser's copies of what it reads; its fixed
     * buffers (about 400 KiB, vigie.h). The text passed the JSON limits already; else every byte
     * counts a value. */
    if (vg_jsonmem_check(text, len, SIZE_MAX, VG_JSON_DEPTH_MAX, &shape, err, sizeof(err)) < 0) {
        shape.values = len;
    }
    return 3 * len + shape.values * (sizeof(struct vg_json) + 16) + 512 * 1024;
}

void
vg_ingest_cleanup(struct vg_ingest *u)
{
    VG_FREE(u->text);
    memset(u, 0, sizeof(*u));
}
