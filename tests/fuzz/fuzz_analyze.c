/* SPDX-License-Identifier: MIT */
/*
 * fuzz_analyze.c - a hostile measurement from elsewhere: vg_analyze on arbitrary bytes, end to end
 * (the JSON reader, the record module's reader of OONI's test keys and control, base64 and DER,
 * the verdict, the line written back). Besides crashes it checks the promises of vigie.h: an
 * error is VG_EPROTO or VG_ETOOBIG with a message; a result has NUL-terminated UTF-8 fields, a
 * verdict in range, evidence when analysed, and a line that is one line of valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "util/str.h"
#include "vigie/vigie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_analyzer *analyzer;
static struct vg_json_doc *check_doc;

static void
check_text(const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL || !vg_utf8_valid((const uint8_t *)s, strlen(s))) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vg_analysis out;
    char err[256];
    unsigned flags =
        (size % 3 == 1 ? VG_ANALYZE_LAB : 0) | (size % 7 == 3 ? VG_ANALYZE_NO_LINE : 0);
    int rc;

    if (analyzer == NULL) {
        analyzer = vg_analyzer_new();
        check_doc = vg_json_doc_new();
        if (analyzer == NULL || check_doc == NULL) {
            abort();
        }
    }
    rc = vg_analyze(analyzer, (const char *)data, size, flags, &out, err, sizeof(err));
    if (rc < 0) {
        if ((rc != VG_EPROTO && rc != VG_ETOOBIG) || err[0] == '\0') {
            abort();
        }
        return 0;
    }
    check_text(out.test_name, sizeof(out.test_name));
    check_text(out.input, sizeof(out.input));
    check_text(out.probe_cc, sizeof(out.probe_cc));
    check_text(out.cause, sizeof(out.cause));
    check_text(out.evidence, sizeof(out.evidence));
    check_text(out.ooni_blocking, sizeof(out.ooni_blocking));
    if ((unsigned)out.verdict >= VG_VERDICT_COUNT || out.ooni_accessible < -1 ||
        out.ooni_accessible > 1) {
        abort();
    }
    if (!out.analysed) {
        if (out.line != NULL || out.cause[0] != '\0') {
            abort();
        }
        return 0;
    }
    if (out.evidence[0] == '\0' || ((flags & VG_ANALYZE_NO_LINE) != 0) != (out.line == NULL)) {
        abort();
    }
    if (out.line != NULL && (memchr(out.line, '\n', out.line_len) != NULL ||
                             vg_json_parse(check_doc, out.line, out.line_len, NULL, 0) == NULL)) {
        abort();
    }
    return 0;
}
