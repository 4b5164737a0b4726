/* SPDX-License-Identifier: MIT */
/*
 * reanalyze.h - `vigie serve --db SPEC reanalyze`: recompute the stored verdicts that an
 * analyser decided (never those of vigie's probe) after a rule change, with this build's
 * vg_analyze, in batches of one short transaction each (store.h, "Reanalysis"), resumable, while
 * `vigie serve` goes on with the same database (docs/storage.md, "Reanalysis").
 */
#ifndef VG_SERVER_REANALYZE_H
#define VG_SERVER_REANALYZE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

#define VG_REANALYZE_BATCH_DEF 1000  /* rows per transaction */
#define VG_REANALYZE_BATCH_MAX 10000 /* the most --batch takes */

struct vg_reanalyze_opts {
    int64_t since;        /* measurement_start_time >= since (UTC seconds); 0: every one */
    bool all;             /* every verdict not of the probe, not only an older analyser's */
    bool restart;         /* forget where an interrupted pass stood */
    unsigned batch;       /* rows per transaction; 0: VG_REANALYZE_BATCH_DEF */
    uint64_t max_batches; /* stop after this many batches (the pass stays resumable); 0: none */
    FILE *log;            /* a line per batch; NULL: none */
};

struct vg_reanalyze_result {
    uint64_t examined, changed, targets, batches;       /* this run */
    uint64_t moved[VG_VERDICT_COUNT][VG_VERDICT_COUNT]; /* old -> new verdict, this run */
    uint64_t pass_examined, pass_changed;               /* the whole pass, earlier runs included */
    bool resumed;                                       /* an earlier run had started the pass */
    bool done;                                          /* the pass is complete */
};

/* Run (or resume) one pass. 0 with *r filled, or a store error (VG_STORE_EUNAVAIL...): the
 * batches before it are committed, and the next run goes on from there. */
VG_MUST_USE int vg_reanalyze_run(struct vg_store *s, const struct vg_reanalyze_opts *o,
                                 struct vg_reanalyze_result *r);

/* Print *r as the summary lines `vigie serve reanalyze` prints. */
void vg_reanalyze_print(FILE *f, const struct vg_reanalyze_result *r);

#endif
