/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ch_tsv.c - a ClickHouse server's answer as the store reads it (server/ch_tsv.c): any bytes
 * as a TabSeparatedWithNamesAndTypes answer. Checks that every row has the header's column count,
 * that values stay inside the reader's buffer, NULL only in Nullable columns, and that every
 * refusal says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ch_tsv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg__ch_tsv t;
    struct vg__val cols[VG_CH_COLS_MAX];
    int rc = vg__ch_tsv_open(&t, data, size);
    size_t rows = 0;

    if (rc == 0 && (t.ncols == 0 || t.ncols > VG_CH_COLS_MAX)) {
        abort();
    }
    while (rc == 0) {
        rc = vg__ch_tsv_next(&t, cols);
        if (rc != 1) {
            break;
        }
        rows++;
        for (size_t k = 0; k < t.ncols; k++) {
            if (cols[k].t == VG__NULL && !t.nullable[k]) {
                abort();
            }
            if (cols[k].t == VG__TEXT && (t.type[k] != VG__CH_STRING || cols[k].p < t.scratch ||
                                          cols[k].p + cols[k].len > t.scratch + t.scratch_cap)) {
                abort();
            }
            if (cols[k].t == VG__INT && t.type[k] == VG__CH_STRING) {
                abort();
            }
        }
        rc = 0;
    }
    if ((rc < 0 && t.msg[0] == '\0') || rows != t.nrows || rows > size) {
        abort();
    }
    vg__ch_tsv_free(&t);
    return 0;
}
