/* SPDX-License-Identifier: MIT */
/*
 * schedule.h - the scheduler of `vigie monitor`: when each URL is measured next, how a verdict
 * change or an interference shortens that, and the state that survives a restart.
 *
 * Pure functions over plain structs: no engine, no clock, no randomness of their own (the caller
 * passes the time in milliseconds since the epoch and a uniform number in [0, 1)), so every rule
 * is unit-tested (tests/unit/test_schedule.c). The state file is JSON (jansson), read as
 * untrusted input and written atomically. docs/monitor.md describes the rules.
 */
#ifndef VG_CLI_SCHEDULE_H
#define VG_CLI_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigie/vigie.h"

/* Bounds of the monitor (the engine's are in lib/util/limits.h). */
#define VG_SCHED_WINDOW_DEF   20                  /* results kept per URL for the share */
#define VG_SCHED_WINDOW_MAX   100                 /* --window upper bound */
#define VG_SCHED_EPISODES_MAX 32                  /* interference episodes kept per URL, newest */
#define VG_SCHED_STATE_MAX    (256 * 1024 * 1024) /* bytes of a state file we agree to read */
#define VG_SCHED_URLS_MAX     1000000             /* URLs in a state file */
#define VG_SCHED_CAUSE_MAX    48                  /* "STAGE.REASON", e.g. http.too_many_redirects */
#define VG_SCHED_INTERVAL_MAX (30LL * 24 * 3600 * 1000) /* any period or re-test: 30 days */

/* How often, and how a problem is followed up. */
struct vg_sched_conf {
    int64_t every_ms;        /* normal period */
    unsigned jitter_pct;     /* 0..50: the period moves by up to this share, either way */
    int64_t retest_after_ms; /* first re-test after a change or an interference */
    int64_t retest_max_ms;   /* re-tests double up to this */
    unsigned recover_after;  /* consecutive accessible results that end the re-tests (>= 1) */
    unsigned window;         /* results kept for the share (1..VG_SCHED_WINDOW_MAX) */
};

/* Fill c with the defaults: 15m, 10%, 2m, 1h, 3, 20. */
void vg_sched_conf_init(struct vg_sched_conf *c);

/* A run of consecutive non-accessible results: from the first of them to the accessible result
 * that ended it (end_ms 0 while it lasts). */
struct vg_sched_episode {
    int64_t start_ms;
    int64_t end_ms;
};

/* What the monitor knows of one URL. Times are milliseconds since the epoch; 0 means never. */
struct vg_sched_url {
    char *url;                             /* owned */
    bool has_verdict;                      /* false before the first result */
    enum vg_verdict verdict;               /* the last result's (when has_verdict) */
    char cause[VG_SCHED_CAUSE_MAX];        /* "" when the verdict has none */
    int64_t since_ms;                      /* first result with this verdict and cause */
    int64_t last_ms;                       /* last result */
    int64_t next_ms;                       /* due time */
    int64_t retest_ms;                     /* current re-test interval; 0: the normal period */
    unsigned ok_streak;                    /* accessible results in a row while re-testing */
    uint64_t runs;                         /* results recorded */
    char history[VG_SCHED_WINDOW_MAX + 1]; /* one letter per result, oldest first (see .c) */
    struct vg_sched_episode *episodes;     /* owned, oldest first */
    size_t n_episodes;
};

/* Every URL monitored, in the order of the input list. */
struct vg_sched {
    struct vg_sched_url *urls;
    size_t n, cap;
};

/* What one result changed, for the log line. */
struct vg_sched_change {
    bool first;   /* the URL's first result */
    bool changed; /* the verdict or the cause differs from the previous result (or first) */
    enum vg_verdict old_verdict; /* the previous result's (unless first) */
    char old_cause[VG_SCHED_CAUSE_MAX];
    bool retest;      /* the next run is a re-test (not the normal period) */
    int64_t delay_ms; /* until the next run */
};

void vg_sched_init(struct vg_sched *s);
void vg_sched_cleanup(struct vg_sched *s);

/*
 * The interval to the next run: the base interval moved by up to jitter_pct percent of itself,
 * u in [0, 1) choosing where. With up_only the move is only later (re-tests must not come back
 * sooner than asked: a censor's penalty box lasts 90 s), otherwise either way. At least 1 ms.
 */
int64_t vg_sched_jitter(int64_t base_ms, unsigned jitter_pct, double u, bool up_only);

/*
 * Record one result for s at now_ms: history, interference episodes, since, and the next due
 * time. A changed verdict or cause, or a first result that is not accessible, starts re-tests
 * at retest_after; each further re-test doubles the interval up to retest_max; recover_after
 * accessible results in a row go back to the normal period. u is the jitter's random number.
 * chg (may be NULL) receives what the log needs.
 */
void vg_sched_record(const struct vg_sched_conf *c, struct vg_sched_url *s, enum vg_verdict verdict,
                     const char *cause, int64_t now_ms, double u, struct vg_sched_change *chg);

/* The letter the history keeps for a verdict: the first of its name (a accessible, b blocked,
 * i intercepted, d down, u unknown, and u for a value out of range). */
char vg_sched_letter(enum vg_verdict verdict);
/* Results in the history that are not accessible, and how many the history holds. */
void vg_sched_share(const struct vg_sched_url *s, unsigned *bad, unsigned *total);

/* The URL's entry, or NULL. */
struct vg_sched_url *vg_sched_find(struct vg_sched *s, const char *url);

/*
 * Make s follow the list urls[n] (duplicates counted once): entries of URLs no longer listed are
 * dropped, new URLs are added due at now_ms, kept ones keep their state and take the list's
 * order. Kept due times beyond what conf allows from now (a clock that was wrong when they were
 * written) are brought back; histories longer than the window are cut to the newest results.
 */
void vg_sched_sync(struct vg_sched *s, const struct vg_sched_conf *c, const char *const *urls,
                   size_t n, int64_t now_ms, size_t *added, size_t *removed);

/* The earliest due time (INT64_MAX when s is empty). */
int64_t vg_sched_next_due(const struct vg_sched *s);

/*
 * Parse a state file's text into s (emptied first). Returns 0, or a negative code with a message
 * naming the problem in err; s is then empty. Untrusted input: every field is checked.
 */
int vg_sched_parse(struct vg_sched *s, const char *text, size_t len, char *err, size_t errlen);
/* The state as JSON text (caller frees), written_ms recorded in it. */
char *vg_sched_dump(const struct vg_sched *s, int64_t written_ms);

/*
 * Read the state file at path into s. Returns 0 when loaded, 1 when there is no such file (s is
 * empty), or a negative code with a message in err: unreadable, too large or invalid.
 */
int vg_sched_load(struct vg_sched *s, const char *path, char *err, size_t errlen);
/*
 * Write the state to path atomically: a temporary file in the same directory, fsync'd, renamed
 * over path, then the directory fsync'd. Returns 0, or a negative code with a message in err
 * (path is then untouched).
 */
int vg_sched_save(const struct vg_sched *s, const char *path, int64_t now_ms, char *err,
                  size_t errlen);

/* "2026-11-29T12:00:00Z" (with ".mmm" before the Z when with_ms). */
void vg_sched_fmt_time(int64_t ms, bool with_ms, char *out, size_t cap);
/* Parse what vg_sched_fmt_time writes (with or without milliseconds); 0 or VG_EINVAL. */
int vg_sched_parse_time(const char *s, int64_t *ms);
/* A duration for people: "500ms", "45s", "2m", "1m30s", "1h", "2h5m", "3d4h". */
void vg_sched_fmt_dur(int64_t ms, char *out, size_t cap);

#endif
