/* SPDX-License-Identifier: MIT */
/*
 * analyze.c - vigie's verdict on a measurement from elsewhere (vigie.h, vg_analyze): the JSON
 * parsed once into the tree of lib/proto/json.h (one document per analyser, its arena reused),
 * read into the probe's observation summary by the record module (record_obs.h), decided by the
 * probe's own verdict code (verdict.h), and written back as the input's own bytes with vigie's
 * analysis keys inserted before the closing brace of test_keys. A document that is not one line,
 * or that already carries those keys, is written again from its tree instead (compact, numbers
 * as written, the old analysis keys left out). Nothing is allocated per measurement once the
 * buffers have grown to the largest one seen.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/obs.h"
#include "meas/record_obs.h"
#include "meas/verdict.h"
#include "proto/json.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/str.h"
#include "vigie/vigie.h"

#define VG__AN_FRAG_MAX (128 * 1024) /* the analysis keys of one measurement, at most */

struct vg_analyzer {
    struct vg_json_doc *doc;
    struct vg_obs obs;
    struct vg_ctrl ctrl;
    struct vg_rec_obs_scratch scratch;
    struct vg_buf line;
    char frag[VG__AN_FRAG_MAX];
};

struct vg_analyzer *
vg_analyzer_new(void)
{
    struct vg_analyzer *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        return NULL;
    }
    a->doc = vg_json_doc_new();
    if (a->doc == NULL) {
        free(a);
        return NULL;
    }
    vg_buf_init(&a->line, (size_t)VG_ANALYZE_LINE_MAX + VG__AN_FRAG_MAX + 16);
    return a;
}

void
vg_analyzer_free(struct vg_analyzer *a)
{
    if (a == NULL) {
        return;
    }
    vg_json_doc_free(a->doc);
    vg_rec_obs_scratch_cleanup(&a->scratch);
    vg_buf_cleanup(&a->line);
    free(a);
}

/* s into dst (cap > 0), "" for NULL, cut before a UTF-8 character that does not fit whole. */
static void
vg__an_copy(char *dst, size_t cap, const char *s)
{
    vg_utf8_copy(dst, cap, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

/* ---- the fallback writer: the tree again, compact ---------------------------------------------
 */

static int
vg__an_string(struct vg_buf *b, const char *s, size_t len)
{
    size_t run = 0;

    VG_TRY(vg_buf_append(b, "\"", 1));
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];

        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        VG_TRY(vg_buf_append(b, s + run, i - run));
        run = i + 1;
        if (c == '"' || c == '\\') {
            snprintf(esc, sizeof(esc), "\\%c", c);
        } else if (c == '\n') {
            snprintf(esc, sizeof(esc), "\\n");
        } else if (c == '\t') {
            snprintf(esc, sizeof(esc), "\\t");
        } else if (c == '\r') {
            snprintf(esc, sizeof(esc), "\\r");
        } else {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
        }
        VG_TRY(vg_buf_append(b, esc, strlen(esc)));
    }
    VG_TRY(vg_buf_append(b, s + run, len - run));
    return vg_buf_append(b, "\"", 1);
}

/* v, compact; in test_keys (tk) the old analysis keys are left out and frag is appended. */
static int
vg__an_value(struct vg_buf *b, const struct vg_json *v, const struct vg_json *tk, const char *frag,
             size_t flen)
{
    bool first = true;

    switch (v->type) {
    case VG_JSON_NULL:
        return vg_buf_append(b, "null", 4);
    case VG_JSON_BOOL:
        return v->b ? vg_buf_append(b, "true", 4) : vg_buf_append(b, "false", 5);
    case VG_JSON_NUMBER:
        return vg_buf_append(b, v->s, v->len);
    case VG_JSON_STRING:
        return vg__an_string(b, v->s, v->len);
    case VG_JSON_ARRAY:
    case VG_JSON_OBJECT:
        break;
    }
    VG_TRY(vg_buf_append(b, v->type == VG_JSON_ARRAY ? "[" : "{", 1));
    for (const struct vg_json *c = v->child; c != NULL; c = c->next) {
        if (v == tk && vg_rec_obs_is_analysis_key(c->key, c->key_len)) {
            continue;
        }
        if (!first) {
            VG_TRY(vg_buf_append(b, ",", 1));
        }
        first = false;
        if (v->type == VG_JSON_OBJECT) {
            VG_TRY(vg__an_string(b, c->key, c->key_len));
            VG_TRY(vg_buf_append(b, ":", 1));
        }
        VG_TRY(vg__an_value(b, c, tk, frag, flen));
    }
    if (v == tk) {
        VG_TRY(vg_buf_append(b, ",", first ? 0 : 1));
        VG_TRY(vg_buf_append(b, frag, flen));
    }
    return vg_buf_append(b, v->type == VG_JSON_ARRAY ? "]" : "}", 1);
}

/* ---- the line -------------------------------------------------------------------------------- */

static int
vg__an_line(struct vg_analyzer *a, const char *json, size_t len, const struct vg_json *root,
            const struct vg_rec_meta *m, const struct vg_decision *d)
{
    const struct vg_json *tk = m->test_keys;
    long flen = vg_rec_obs_fragment(d, &a->obs, a->frag, sizeof(a->frag));
    size_t start = 0, end = len;

    VG_TRY((int)(flen < 0 ? flen : 0));
    vg_buf_reset(&a->line);
    while (end > 0 && isspace((unsigned char)json[end - 1])) {
        end--;
    }
    while (start < end && isspace((unsigned char)json[start])) {
        start++;
    }
    if (!m->has_analysis_keys && tk->end > start && tk->end <= end &&
        memchr(json + start, '\n', end - start) == NULL) {
        /* the common case: OONI's bytes untouched, the keys spliced in before test_keys' '}' */
        size_t close = tk->end - 1;

        VG_TRY(vg_buf_append(&a->line, json + start, close - start));
        VG_TRY(vg_buf_append(&a->line, ",", tk->len > 0 ? 1 : 0));
        VG_TRY(vg_buf_append(&a->line, a->frag, (size_t)flen));
        return vg_buf_append(&a->line, json + close, end - close);
    }
    return vg__an_value(&a->line, root, tk, a->frag, (size_t)flen);
}

int
vg_analyze(struct vg_analyzer *a, const char *json, size_t len, unsigned flags,
           struct vg_analysis *out, char *err, size_t errlen)
{
    const struct vg_json *root;
    struct vg_rec_meta m;
    struct vg_decision d;
    int t, rc;

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (a == NULL || out == NULL || (json == NULL && len > 0)) {
        return VG_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    out->verdict = VG_VERDICT_UNKNOWN;
    out->ooni_accessible = -1;
    if (len > VG_ANALYZE_LINE_MAX) {
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "measurement of %zu bytes, over %d", len, VG_ANALYZE_LINE_MAX);
        }
        return VG_ETOOBIG;
    }
    root = vg_json_parse(a->doc, json != NULL ? json : "", len, err, errlen);
    if (root == NULL) {
        return VG_EPROTO;
    }
    VG_TRY(vg_rec_obs_meta(root, &m, err, errlen));
    vg__an_copy(out->test_name, sizeof(out->test_name), m.test_name);
    vg__an_copy(out->input, sizeof(out->input), m.input);
    vg__an_copy(out->probe_cc, sizeof(out->probe_cc), m.probe_cc);
    vg__an_copy(out->probe_asn, sizeof(out->probe_asn), m.probe_asn);
    vg__an_copy(out->measurement_start_time, sizeof(out->measurement_start_time), m.start_time);
    vg__an_copy(out->software_name, sizeof(out->software_name), m.software_name);
    vg__an_copy(out->ooni_blocking, sizeof(out->ooni_blocking), m.ooni_blocking);
    out->ooni_accessible = m.ooni_accessible;
    if ((t = vg_rec_obs_target(m.test_name)) < 0 || m.test_keys == NULL) {
        return 0; /* a test vigie has no rules for, or no observation: stored as is */
    }
    rc = vg_rec_obs_read(&m, t, (flags & VG_ANALYZE_LAB) != 0, &a->obs, &a->ctrl, &a->scratch, err,
                         errlen);
    if (rc < 0) {
        return rc;
    }
    vg_verdict_decide(&a->obs, &d);
    out->analysed = true;
    out->verdict = d.verdict;
    vg__an_copy(out->cause, sizeof(out->cause), d.cause);
    vg__an_copy(out->evidence, sizeof(out->evidence), d.evidence);
    out->has_control = a->obs.ctrl != NULL;
    if ((flags & VG_ANALYZE_NO_LINE) == 0) {
        rc = vg__an_line(a, json, len, root, &m, &d);
        if (rc < 0) {
            if (err != NULL && errlen > 0) {
                snprintf(err, errlen, "cannot write the line: %s", vg_strerror(rc));
            }
            return rc;
        }
        out->line = (const char *)a->line.data;
        out->line_len = a->line.len;
    }
    return 0;
}
