/* SPDX-License-Identifier: MIT */
/*
 * analyze_stub.c - TEMPORARY: vg_analyze until branch i14-engine (lib/meas) is merged; delete
 * this file then. Decides nothing: web_connectivity is "analysed" to unknown.
 */
#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "util/mem.h"
#include "vigie/vigie.h"

struct vg_analyzer {
    int unused;
};

struct vg_analyzer *
vg_analyzer_new(void)
{
    return vg_xcalloc(1, sizeof(struct vg_analyzer));
}

void
vg_analyzer_free(struct vg_analyzer *a)
{
    free(a);
}

int
vg_analyze(struct vg_analyzer *a, const char *json, size_t len, unsigned flags,
           struct vg_analysis *out, char *err, size_t errlen)
{
    (void)a;
    (void)flags;
    memset(out, 0, sizeof(*out));
    out->ooni_accessible = -1;
    if (len == 0 || json[0] != '{') {
        snprintf(err, errlen, "not a JSON object");
        return VG_EPROTO;
    }
    out->analysed = memmem(json, len, "\"web_connectivity\"", 18) != NULL;
    out->verdict = VG_VERDICT_UNKNOWN;
    if (out->analysed) {
        snprintf(out->evidence, sizeof(out->evidence), "stub analysis");
    }
    return 0;
}
