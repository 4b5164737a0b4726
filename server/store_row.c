/* SPDX-License-Identifier: MIT */
/*
 * store_row.c - a measurement's row (store.h struct vg_store_meas): its fields read through the
 * record module (meas/record_read.h), the domain of its input, its content key and
 * measurement_uid; and the checks vg_store_insert and the report calls make of what callers pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/record_read.h"
#include "store_impl.h"
#include "util/crypto.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/timefmt.h"

static bool
vg__chars_ok(const char *s, int lo, int hi)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < lo || (unsigned char)*s > hi) {
            return false;
        }
    }
    return true;
}

/* A host name or address as it appears in a URL: ASCII letters, digits, '.', '-', '_' (and
 * ':' for IPv6), or UTF-8 bytes of an internationalised name. */
static bool
vg__host_ok(const char *h, bool v6)
{
    if (h[0] == '\0') {
        return false;
    }
    for (; *h != '\0'; h++) {
        unsigned char c = (unsigned char)*h;

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '_' || c >= 0x80 || (v6 && c == ':'))) {
            return false;
        }
    }
    return true;
}

void
vg__store_url_domain(const char *input, char *out, size_t outlen)
{
    const char *p = input, *auth, *end, *at, *hs, *he;
    bool v6 = false;
    size_t n;

    out[0] = '\0';
    if (outlen == 0) {
        return;
    }
    /* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
        return;
    }
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.') {
        p++;
    }
    if (strncmp(p, "://", 3) != 0) {
        return;
    }
    auth = p + 3;
    end = auth + strcspn(auth, "/?#");
    /* RFC 3986 3.2.1: userinfo ends at the last '@' of the authority */
    hs = auth;
    for (at = auth; at < end; at++) {
        if (*at == '@') {
            hs = at + 1;
        }
    }
    if (hs < end && *hs == '[') {
        hs++;
        he = memchr(hs, ']', (size_t)(end - hs));
        if (he == NULL) {
            return;
        }
        v6 = true;
    } else {
        he = memchr(hs, ':', (size_t)(end - hs));
        if (he == NULL) {
            he = end;
        }
    }
    n = (size_t)(he - hs);
    while (n > 0 && hs[n - 1] == '.') {
        n--; /* "example.com." is example.com */
    }
    if (n == 0 || n >= outlen) {
        return;
    }
    memcpy(out, hs, n);
    out[n] = '\0';
    vg_str_lower(out);
    if (!vg__host_ok(out, v6)) {
        out[0] = '\0';
    }
}

/* The end of the JSON string that starts at t[i] ('"'), past its closing quote; 0 if none. */
static size_t
vg__json_string_end(const char *t, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (t[i] == '\\') {
            i++;
        } else if (t[i] == '"') {
            return i + 1;
        }
    }
    return 0;
}

/* The end of the JSON value that starts at t[i]: past a string, or at the ',', '}' or ']' that
 * ends a number, literal, object or array at its own level; 0 if the text ends first. */
static size_t
vg__json_value_end(const char *t, size_t len, size_t i)
{
    unsigned depth = 0;

    while (i < len) {
        char c = t[i];

        if (c == '"') {
            if ((i = vg__json_string_end(t, len, i)) == 0) {
                return 0;
            }
            if (depth == 0) {
                return i;
            }
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) {
                return i;
            }
            if (--depth == 0) {
                return i + 1;
            }
        } else if (c == ',' && depth == 0) {
            return i;
        }
        i++;
    }
    return 0;
}

static size_t
vg__json_ws(const char *t, size_t len, size_t i)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) {
        i++;
    }
    return i;
}

/*
 * Where the top-level member report_id of the JSON object text[len] is, with the comma that
 * separates it from a neighbour: [*from, *to). False when it has none (or the text is not an
 * object). text is valid JSON (parsed before): the scan only finds the members' bounds.
 */
static bool
vg__report_id_member(const char *t, size_t len, size_t *from, size_t *to)
{
    static const char key[] = "\"" VG_REC_KEY_REPORT_ID "\"";
    size_t i = vg__json_ws(t, len, 0), prev_end;

    if (i >= len || t[i] != '{') {
        return false;
    }
    prev_end = ++i; /* an only member goes back to the brace */
    for (;;) {
        size_t k, kend, vend, next;

        i = vg__json_ws(t, len, i);
        if (i >= len || t[i] != '"' || (kend = vg__json_string_end(t, len, i)) == 0) {
            return false;
        }
        k = i;
        i = vg__json_ws(t, len, kend);
        if (i >= len || t[i] != ':') {
            return false;
        }
        i = vg__json_ws(t, len, i + 1);
        if ((vend = vg__json_value_end(t, len, i)) == 0) {
            return false;
        }
        next = vg__json_ws(t, len, vend);
        if (next >= len) {
            return false;
        }
        if (kend - k == sizeof(key) - 1 && memcmp(t + k, key, sizeof(key) - 1) == 0) {
            if (t[next] == ',') {
                *from = k; /* "report_id":V, -> the next member follows the previous comma */
                *to = vg__json_ws(t, len, next + 1);
            } else {
                *from = prev_end; /* ,"report_id":V} -> from the end of the previous value */
                *to = vend;
            }
            return true;
        }
        if (t[next] != ',') {
            return false;
        }
        prev_end = vend;
        i = next + 1;
    }
}

/* The content key of text[len] from the SHA-512 of the text without its report_id member. */
static void
vg__store_key_of(const uint8_t digest[64], char out[VG_STORE_IDEM_MAX])
{
    memcpy(out, "h:", 2);
    vg_hex(digest, 32, out + 2); /* 64 hex digits and the NUL: 67 bytes */
}

void
vg__store_content_key(const char *text, size_t len, char out[VG_STORE_IDEM_MAX])
{
    uint8_t digest[64];
    size_t from, to;

    if (vg__report_id_member(text, len, &from, &to)) {
        vg_sha512_2(text, from, text + to, len - to, digest);
    } else {
        vg_sha512(text, len, digest);
    }
    vg__store_key_of(digest, out);
}

/* The SHA-512 of the whole text[len] (whole: the measurement_uid's) and its content key (as
 * vg__store_content_key), the text before report_id hashed once for both. */
static void
vg__store_row_hashes(const char *text, size_t len, uint8_t whole[64], char key[VG_STORE_IDEM_MAX])
{
    uint8_t digest[64];
    size_t from, to;

    if (vg__report_id_member(text, len, &from, &to)) {
        vg_sha512_cut(text, len, from, to, whole, digest);
    } else {
        vg_sha512(text, len, whole);
        memcpy(digest, whole, sizeof(digest));
    }
    vg__store_key_of(digest, key);
}

bool
vg_store_provenance_ok(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;

    return n > 0 && n <= VG_STORE_PROV_MAX &&
           strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* The row of a measurement from its summary (meas/record_read.h); row->raw and row->raw_len
 * are set. */
static void
vg__store_row_fill(const struct vg_rec_summary *s, struct vg_store_meas *row, int64_t received_us)
{
    uint8_t digest[64];
    char hex[17], when[32], name[sizeof(row->test_name)];
    size_t n = 0;
    int64_t sec;

    memcpy(row->test_name, s->test_name, sizeof(row->test_name));
    memcpy(row->probe_cc, s->probe_cc, sizeof(row->probe_cc));
    row->probe_asn = s->probe_asn;
    row->start_time = s->start_time;
    memcpy(row->report_id, s->report_id, sizeof(row->report_id));
    row->has_input = s->has_input;
    memcpy(row->input, s->input, sizeof(row->input));
    vg__store_url_domain(row->input, row->domain, sizeof(row->domain));
    memcpy(row->software_name, s->software_name, sizeof(row->software_name));
    memcpy(row->software_version, s->software_version, sizeof(row->software_version));
    if (s->has_verdict && strcmp(s->software_name, VG_SOFTWARE_NAME) == 0) {
        /* vigie's probe decided: kept as it is */
        snprintf(row->x_verdict, sizeof(row->x_verdict), "%s", vg_verdict_name(s->verdict));
        memcpy(row->x_cause, s->x_cause, sizeof(row->x_cause));
        snprintf(row->x_analyzer, sizeof(row->x_analyzer), "%s", VG_STORE_ANALYZER_PROBE);
    } else {
        /* anything else is vigie's to analyse (vg_store_meas_set_analysis): never a relabel of
         * OONI's blocking/accessible, nor a verdict another software wrote */
        snprintf(row->x_verdict, sizeof(row->x_verdict), "%s", vg_verdict_name(VG_VERDICT_UNKNOWN));
    }
    memcpy(row->blocking, s->blocking, sizeof(row->blocking));
    row->accessible = s->accessible;

    snprintf(row->provenance, sizeof(row->provenance), "%s", VG_STORE_ANONYMOUS);
    /* Never the client's "id" alone: two different measurements may carry the same one. */
    vg__store_row_hashes(row->raw, row->raw_len, digest, row->idem_key);
    vg_hex(digest, 8, hex); /* the uid takes 16 hex digits */
    if (received_us <= 0) {
        received_us = vg__store_now_us();
    }
    sec = received_us / 1000000;
    vg_time_format(sec, "%Y%m%d%H%M%S", when, sizeof(when));
    /* OONI's spelling of the test in a uid is its report_id's: the name without '_'
     * ("webconnectivity"), so that the uid's fields split on '_' as OONI's do. */
    for (const char *t = row->test_name; *t != '\0' && n + 1 < sizeof(name); t++) {
        if (*t != '_') {
            name[n++] = *t;
        }
    }
    name[n] = '\0';
    snprintf(row->measurement_uid, sizeof(row->measurement_uid), "%s.%06lld_%s_%s_%.16s", when,
             (long long)(received_us % 1000000), row->probe_cc, name, hex);
}

/* Both entry points: obj is the parse of json[len] (NULL: parse it here). */
static int
vg__meas_row(const char *json, size_t len, json_t *obj, int64_t received_us,
             struct vg_store_meas *row, char *err, size_t errlen)
{
    struct vg_rec_summary sum;
    char scratch[1];
    json_error_t jerr;
    json_t *parsed = NULL;
    int rc;

    memset(row, 0, sizeof(*row));
    if (err == NULL) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    if (errlen > 0) {
        err[0] = '\0';
    }
    if (len > VG_STORE_MEAS_MAX) {
        snprintf(err, errlen, "measurement larger than %d bytes", VG_STORE_MEAS_MAX);
        return VG_ETOOBIG;
    }
    if (obj == NULL) {
        /* Duplicate keys would let two readers of the same bytes disagree on a field. */
        obj = parsed = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        if (obj == NULL) {
            snprintf(err, errlen, "not JSON: %s", jerr.text);
            return VG_EPROTO;
        }
    }
    rc = vg_rec_summary_read(obj, &sum, err, errlen);
    json_decref(parsed);
    if (rc < 0) {
        return rc;
    }
    row->raw = json;
    row->raw_len = len;
    vg__store_row_fill(&sum, row, received_us);
    return 0;
}

int
vg_store_meas_from_json(const char *json, size_t len, int64_t received_us,
                        struct vg_store_meas *row, char *err, size_t errlen)
{
    return vg__meas_row(json, len, NULL, received_us, row, err, errlen);
}

int
vg_store_meas_from_tree(const struct vg_json *m, const char *report_id, const char *json,
                        size_t len, int64_t received_us, struct vg_store_meas *row, char *err,
                        size_t errlen)
{
    struct vg_rec_summary sum;
    int rc;

    memset(row, 0, sizeof(*row));
    if (len > VG_STORE_MEAS_MAX) {
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "measurement larger than %d bytes", VG_STORE_MEAS_MAX);
        }
        return VG_ETOOBIG;
    }
    rc = vg_rec_summary_read_tree(m, report_id, &sum, err, errlen);
    if (rc < 0) {
        return rc;
    }
    row->raw = json;
    row->raw_len = len;
    vg__store_row_fill(&sum, row, received_us);
    return 0;
}

bool
vg_store_meas_needs_analysis(const struct vg_store_meas *row)
{
    return row->x_analyzer[0] == '\0';
}

void
vg_store_meas_set_analysis(struct vg_store_meas *row, const struct vg_analysis *a)
{
    row->x_cause[0] = '\0';
    row->x_evidence[0] = '\0';
    row->x_analyzer[0] = '\0';
    snprintf(row->x_verdict, sizeof(row->x_verdict), "%s",
             vg_verdict_name(a->analysed ? a->verdict : VG_VERDICT_UNKNOWN));
    if (!a->analysed) {
        return;
    }
    /* The analyser's words are ASCII it wrote; cut to the columns' bounds all the same. */
    (void)vg_strlcpy(row->x_cause, a->cause, sizeof(row->x_cause));
    (void)vg_strlcpy(row->x_evidence, a->evidence, sizeof(row->x_evidence));
    (void)vg_strlcpy(row->x_analyzer, VG_ANALYZER_VERSION, sizeof(row->x_analyzer));
}

bool
vg__store_terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

int
vg__store_row_valid(const struct vg_store_meas *m)
{
    VG_ENSURE(m->raw != NULL && m->raw_len <= VG_STORE_MEAS_MAX, VG_EINVAL);
    VG_ENSURE(vg__store_terminated(m->measurement_uid, sizeof(m->measurement_uid)) &&
                  m->measurement_uid[0] != '\0',
              VG_EINVAL);
    VG_ENSURE(vg__store_terminated(m->idem_key, sizeof(m->idem_key)) && m->idem_key[0] != '\0',
              VG_EINVAL);
    VG_ENSURE(vg__store_terminated(m->report_id, sizeof(m->report_id)) &&
                  vg__store_terminated(m->input, sizeof(m->input)) &&
                  vg__store_terminated(m->domain, sizeof(m->domain)) &&
                  vg__store_terminated(m->test_name, sizeof(m->test_name)) &&
                  vg__store_terminated(m->software_name, sizeof(m->software_name)) &&
                  vg__store_terminated(m->software_version, sizeof(m->software_version)) &&
                  vg__store_terminated(m->x_verdict, sizeof(m->x_verdict)) &&
                  vg__store_terminated(m->x_cause, sizeof(m->x_cause)) &&
                  vg__store_terminated(m->x_analyzer, sizeof(m->x_analyzer)) &&
                  vg__store_terminated(m->x_evidence, sizeof(m->x_evidence)) &&
                  vg__store_terminated(m->blocking, sizeof(m->blocking)),
              VG_EINVAL);
    VG_ENSURE(strlen(m->probe_cc) == 2 && vg__store_verdict_ok(m->x_verdict), VG_EINVAL);
    VG_ENSURE(vg__store_terminated(m->provenance, sizeof(m->provenance)) &&
                  vg_store_provenance_ok(m->provenance),
              VG_EINVAL);
    VG_ENSURE(m->accessible >= -1 && m->accessible <= 1, VG_EINVAL);
    VG_ENSURE(!m->has_input || m->input[0] != '\0', VG_EINVAL);
    return 0;
}

bool
vg__store_report_id_ok(const char *id)
{
    return id != NULL && id[0] != '\0' && strlen(id) < VG_REPORT_ID_MAX &&
           vg__chars_ok(id, 0x21, 0x7e);
}
