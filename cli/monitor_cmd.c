/* SPDX-License-Identifier: MIT */
/*
 * monitor_cmd.c - `vigie monitor`: measure a list of URLs for ever, sooner again after a change or
 * an interference (the rules are in schedule.c), as a well-behaved daemon: JSON Lines and/or
 * collector output, a state file that a restart resumes, one log line per verdict change, SIGHUP
 * to reload the list, SIGTERM to stop cleanly. docs/monitor.md is the manual.
 *
 * Each batch of due URLs is one vg_probe_run(): the batch API is the one that asks the helpers
 * for controls and uploads to the collector (serving-mode jobs do neither), and a fresh probe per
 * batch re-reads the trust store and retries the spool. Signals are taken by one thread with
 * sigwait(); every other thread, libuv's included, has them blocked. The engine options are
 * engine_opts.c's, the log is monitor_log.c, --status monitor_status.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine_opts.h"
#include "monitor.h"
#include "schedule.h"
#include "server_opts.h"
#include "util/crypto.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"
#include "vigie/vigie.h"

#define VG__BATCH_MAX      1024  /* URLs per engine run: the state is written after each */
#define VG__COALESCE_MAX   30000 /* a URL joins a run at most this early (ms) */
#define VG__SLEEP_MAX      60000 /* longest sleep (ms): a wall-clock step is noticed */
#define VG__PENALTY_BOX_MS 90000 /* the GFW keyword filter's penalty box (Rambert et al. 2021) */
#define VG__RETRY_MS       60000 /* after an engine that could not start */
#define VG__MIN_MS         100   /* shortest --every / --retest-after (tests) */

/* ---- the monitor ---------------------------------------------------------------------------- */

struct mon {
    struct vg_sched_conf conf;
    struct vg_engine_opts e; /* e.o: the engine's options */
    const char **files, **args;
    size_t n_files, n_args;
    const char *state_path;
    const char *out_path;
    FILE *out;
    struct vg_privs privs;                 /* --user, --group: who the monitor runs as */
    char state_buf[4096], spool_buf[4096]; /* the default state file and spool */
    bool log_syslog;                       /* --log syslog */

    /* shared with the signal thread */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop, reload;
    struct vg_probe *cur; /* the engine running a batch, or NULL */

    struct vg_sched sched;
    /* the batch running: engine URL index -> schedule index */
    size_t *batch;
    size_t n_batch;
    unsigned measured, not_ok, after_stop;
    int write_error;
};

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A uniform number in [0, 1) for the jitter. */
static double
uniform(void)
{
    return (double)vg_random_below(UINT64_C(1) << 53) / 9007199254740992.0;
}

/* ---- input ---------------------------------------------------------------------------------- */

struct list_ctx {
    unsigned bad;
};

static void
vg__monitor_on_bad_input(const char *path, size_t lineno, const char *msg, void *arg)
{
    struct list_ctx *l = arg;

    l->bad++;
    vg_monitor_logf(LOG_WARNING, "%s:%zu: %s (line skipped)", path, lineno, msg);
}

/*
 * Read the URL list (arguments and files) with the engine's own parser, through a probe that is
 * never run; creating it also checks the engine options (trust store, resolver). Returns the
 * number of URLs (*urls owned by the caller), or -1 with err set.
 */
static long
load_list(struct mon *m, char ***urls, char *err, size_t errlen)
{
    struct vg_probe *p;
    struct list_ctx l = {0};
    size_t n;

    *urls = NULL;
    if (vg_probe_new(&m->e.o, &p, err, errlen) < 0) {
        return -1;
    }
    for (size_t i = 0; i < m->n_args; i++) {
        char msg[512];

        if (vg_probe_add(p, m->args[i], msg, sizeof(msg)) < 0) {
            vg_monitor_logf(LOG_WARNING, "argument %zu: %s (skipped)", i + 1, msg);
        }
    }
    for (size_t i = 0; i < m->n_files; i++) {
        if (vg_probe_add_file(p, m->files[i], vg__monitor_on_bad_input, &l, err, errlen) < 0) {
            vg_probe_free(p);
            return -1;
        }
    }
    n = vg_probe_count(p);
    if (n == 0) {
        snprintf(err, errlen, "no valid URL to monitor");
        vg_probe_free(p);
        return -1;
    }
    *urls = vg_xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        (*urls)[i] = vg_xstrdup(vg_probe_url(p, i));
    }
    vg_probe_free(p);
    return (long)n;
}

static void
free_list(char **urls, long n)
{
    for (long i = 0; i < n; i++) {
        free(urls[i]);
    }
    free(urls);
}

/* Follow the list; at startup a list that cannot be read is fatal, later the old one stays. */
static int
apply_list(struct mon *m, bool startup)
{
    char err[512];
    char **urls;
    long n = load_list(m, &urls, err, sizeof(err));
    size_t added, removed;

    if (n < 0) {
        vg_monitor_logf(LOG_ERR, "%s%s", err, startup ? "" : "; keeping the current list");
        return -1;
    }
    vg_sched_sync(&m->sched, &m->conf, (const char *const *)urls, (size_t)n, now_ms(), &added,
                  &removed);
    free_list(urls, n);
    if (startup) {
        vg_monitor_logf(LOG_INFO,
                        "monitoring %zu URLs (%zu new, %zu resumed from the state, %zu dropped "
                        "from it)",
                        m->sched.n, added, m->sched.n - added, removed);
    } else {
        vg_monitor_logf(LOG_NOTICE, "list reloaded: %zu URLs (%zu new, due now; %zu removed)",
                        m->sched.n, added, removed);
    }
    return 0;
}

static int
open_output(struct mon *m)
{
    int fd;
    FILE *f;

    if (m->out_path == NULL) {
        return 0;
    }
    if (strcmp(m->out_path, "-") == 0) {
        m->out = stdout;
        return 0;
    }
    fd = open(m->out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || (f = fdopen(fd, "a")) == NULL) {
        vg_monitor_logf(LOG_ERR, "cannot append to %s: %s", m->out_path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    if (m->out != NULL && m->out != stdout) {
        fclose(m->out);
    }
    m->out = f;
    return 0;
}

static void
save_state(struct mon *m)
{
    char err[512];

    if (vg_sched_save(&m->sched, m->state_path, now_ms(), err, sizeof(err)) < 0) {
        vg_monitor_logf(LOG_ERR, "state not saved: %s", err);
    }
}

/* ---- one batch ------------------------------------------------------------------------------ */

static void
vg__monitor_on_result(const struct vg_result *r, void *arg)
{
    struct mon *m = arg;
    struct vg_sched_url *s;
    struct vg_sched_change chg;
    enum vg_verdict verdict = r->verdict;
    const char *cause = r->x_cause != NULL ? r->x_cause : "";
    char was[96], is[96], since[32], in[32];
    bool stopping;

    if (m->out != NULL) {
        if (fputs(r->json, m->out) == EOF || fputc('\n', m->out) == EOF || fflush(m->out) != 0) {
            m->write_error = errno != 0 ? errno : EIO;
        }
    }
    pthread_mutex_lock(&m->lock);
    stopping = m->stop;
    pthread_mutex_unlock(&m->lock);
    /* After a stop signal a measurement starts no new step, so it may be cut short: it is kept
     * in the output, but the schedule does not learn from it and the URL stays due. */
    if (stopping || r->url_index >= m->n_batch) {
        m->after_stop++;
        return;
    }
    s = &m->sched.urls[m->batch[r->url_index]];
    vg_sched_record(&m->conf, s, verdict, cause, now_ms(), uniform(), &chg);
    vg_monitor_control(r->control_failure, m->e.o.n_helpers > 0);
    m->measured++;
    if (verdict != VG_VERDICT_ACCESSIBLE) {
        m->not_ok++;
    }
    if (!chg.changed) {
        return;
    }
    vg_monitor_describe(!chg.first, chg.old_verdict, chg.old_cause, was, sizeof(was));
    vg_monitor_describe(true, s->verdict, cause, is, sizeof(is));
    vg_sched_fmt_time(s->since_ms, false, since, sizeof(since));
    vg_sched_fmt_dur(chg.delay_ms, in, sizeof(in));
    vg_monitor_logf(chg.first                          ? LOG_INFO
                    : verdict == VG_VERDICT_ACCESSIBLE ? LOG_NOTICE
                                                       : LOG_WARNING,
                    "%s: %s -> %s since %s; %s in %s", s->url, was, is, since,
                    chg.retest ? "re-test" : "next run", in);
}

struct due {
    int64_t at;
    size_t i;
};

static int
cmp_due(const void *a, const void *b)
{
    const struct due *x = a, *y = b;

    if (x->at != y->at) {
        return x->at < y->at ? -1 : 1;
    }
    return (x->i > y->i) - (x->i < y->i);
}

/* Measure what is due. Returns 0, or -1 when the engine cannot run with these options at all. */
static int
run_batch(struct mon *m, int64_t now)
{
    int64_t shortest =
        m->conf.every_ms < m->conf.retest_after_ms ? m->conf.every_ms : m->conf.retest_after_ms;
    int64_t window = shortest / 10 < VG__COALESCE_MAX ? shortest / 10 : VG__COALESCE_MAX;
    struct due *due = vg_xcalloc(m->sched.n + 1, sizeof(*due));
    struct vg_probe *p = NULL;
    struct vg_upload_stats us;
    struct timespec t0, t1;
    size_t n_due = 0;
    char err[512], next[32];
    int rc, status = 0;

    /* URLs due within a tenth of the shortest interval go together, earliest first. */
    for (size_t i = 0; i < m->sched.n; i++) {
        if (m->sched.urls[i].next_ms <= now + window) {
            due[n_due++] = (struct due){m->sched.urls[i].next_ms, i};
        }
    }
    qsort(due, n_due, sizeof(*due), cmp_due);
    if (n_due > VG__BATCH_MAX) {
        n_due = VG__BATCH_MAX;
    }
    m->batch = vg_xcalloc(n_due + 1, sizeof(*m->batch));
    m->n_batch = 0;
    m->measured = m->not_ok = m->after_stop = 0;
    if (vg_probe_new(&m->e.o, &p, err, sizeof(err)) < 0) {
        vg_monitor_logf(LOG_ERR, "cannot start the engine: %s; trying again in %ds", err,
                        VG__RETRY_MS / 1000);
        for (size_t k = 0; k < n_due; k++) {
            m->sched.urls[due[k].i].next_ms = now + VG__RETRY_MS;
        }
        goto out;
    }
    for (size_t k = 0; k < n_due; k++) {
        struct vg_sched_url *s = &m->sched.urls[due[k].i];

        if (vg_probe_add(p, s->url, err, sizeof(err)) < 0) {
            /* The list parser accepted it: only a state edited by hand gets here. */
            vg_monitor_logf(LOG_WARNING, "%s", err);
            s->next_ms = now + m->conf.every_ms;
            continue;
        }
        m->batch[m->n_batch++] = due[k].i;
    }
    pthread_mutex_lock(&m->lock);
    if (m->stop) {
        pthread_mutex_unlock(&m->lock);
        goto out;
    }
    m->cur = p;
    pthread_mutex_unlock(&m->lock);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = vg_probe_run(p, vg__monitor_on_result, m);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_lock(&m->lock);
    m->cur = NULL;
    pthread_mutex_unlock(&m->lock);
    if (rc < 0 && rc != VG_ECANCELED && m->measured + m->after_stop == 0) {
        vg_monitor_logf(LOG_ERR, "the engine cannot run: %s", vg_probe_strerror(rc));
        status = -1;
        goto out;
    }
    if (m->write_error != 0) {
        vg_monitor_logf(LOG_ERR, "writing measurements to %s failed: %s", m->out_path,
                        strerror(m->write_error));
        m->write_error = 0;
    }
    vg_probe_upload_stats(p, &us);
    if (us.spooled + us.rejected + us.failed > 0) {
        vg_monitor_logf(LOG_WARNING,
                        "collector: %zu sent, %zu spooled to %s, %zu refused, %zu failed", us.sent,
                        us.spooled, m->e.o.spool_dir, us.rejected, us.failed);
    }
    vg_sched_fmt_dur(vg_sched_next_due(&m->sched) - now_ms(), next, sizeof(next));
    vg_monitor_logf(LOG_INFO, "measured %u of %zu URLs in %.1fs, %u not accessible; next run in %s",
                    m->measured, m->n_batch,
                    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
                    m->not_ok, next);
    if (m->after_stop > 0) {
        vg_monitor_logf(LOG_INFO,
                        "%u measurements finished after the stop signal: written, not counted",
                        m->after_stop);
    }
out:
    vg_probe_free(p);
    VG_FREE(m->batch);
    m->n_batch = 0;
    free(due);
    return status;
}

/* ---- signals -------------------------------------------------------------------------------- */

static sigset_t vg__sigs;

static void *
signal_thread(void *arg)
{
    struct mon *m = arg;
    int sig;

    for (;;) {
        if (sigwait(&vg__sigs, &sig) != 0) {
            continue;
        }
        pthread_mutex_lock(&m->lock);
        if (sig == SIGHUP) {
            m->reload = true;
        } else if (m->stop) {
            pthread_mutex_unlock(&m->lock);
            vg_monitor_logf(LOG_WARNING, "second signal: exiting now (state as of the last batch)");
            _exit(VG_EXIT_INTERRUPTED);
        } else {
            m->stop = true;
            /* No new measurement; those in flight finish, then the state is written. */
            if (m->cur != NULL) {
                vg_probe_interrupt(m->cur);
            }
        }
        pthread_cond_signal(&m->cond);
        pthread_mutex_unlock(&m->lock);
        if (sig != SIGHUP) {
            vg_monitor_logf(LOG_NOTICE,
                            "%s: stopping once the measurements in flight finish (a second "
                            "signal exits at once)",
                            sig == SIGINT ? "SIGINT" : "SIGTERM");
        }
    }
    return NULL;
}

/* Sleep until due_ms (wall clock), a signal, or VG__SLEEP_MAX, whichever comes first. */
static void
sleep_until(struct mon *m, int64_t due_ms)
{
    int64_t delay = due_ms - now_ms();
    struct timespec ts;

    if (delay <= 0) {
        return;
    }
    if (delay > VG__SLEEP_MAX) {
        delay = VG__SLEEP_MAX;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(delay / 1000);
    ts.tv_nsec += (long)(delay % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&m->lock);
    while (!m->stop && !m->reload) {
        if (pthread_cond_timedwait(&m->cond, &m->lock, &ts) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&m->lock);
}

/* ---- options -------------------------------------------------------------------------------- */

static void
vg__monitor_usage(const struct vg_engine_opts *e, FILE *f)
{
    fprintf(f,
            "usage: vigie monitor -i LIST [OPTIONS] [URL...]\n"
            "       vigie monitor --status [--state FILE]\n"
            "\n"
            "Measure the URLs again and again, for ever: every period, and sooner after a verdict\n"
            "changes or while a URL is not accessible. One log line per change; the schedule and\n"
            "the history of each URL are kept in a state file that a restart resumes.\n"
            "\n"
            "input:\n"
            "  -i, --input-file LIST   URLs, one per line (# comments) or a Citizen Lab CSV;\n"
            "                          may be repeated; SIGHUP reads the lists again\n"
            "schedule:\n"
            "      --every T           normal period (default 15m; T is e.g. 30s, 15m, 1h)\n"
            "      --jitter P%%         move each run by up to P%% of the period (default 10%%)\n"
            "      --retest-after T    first re-test after a change or an interference\n"
            "                          (default 2m: a censor's 90 s penalty box has expired)\n"
            "      --retest-max T      re-tests double up to this (default 1h)\n"
            "      --recover-after N   accessible results in a row that end the re-tests\n"
            "                          (default 3)\n"
            "      --window K          results kept per URL for the intermittency share\n"
            "                          (default 20, at most 100)\n"
            "      --state FILE        state file (default $STATE_DIRECTORY/monitor.json, else\n"
            "                          ~/.local/state/vigie/monitor.json)\n"
            "      --status            print the state as a table and exit\n");
    vg_engine_opts_help(
        e, "$VIGIE_SPOOL, else $STATE_DIRECTORY/spool, else ~/.local/state/vigie/spool", f);
    fprintf(f, "output:\n"
               "  -o, --output FILE       append JSON Lines measurements to FILE ('-': stdout);\n"
               "                          SIGHUP reopens it (log rotation)\n"
               "      --log DEST          'stderr' (default) or 'syslog'\n");
    vg_privs_usage(f, "before anything is read", "or written");
    fprintf(
        f,
        "  -h, --help              this help\n"
        "\n"
        "SIGTERM or SIGINT: no new measurement, those in flight finish, the state is written,\n"
        "exit 0 (a second signal exits at once, 130). SIGHUP: read the lists again (new URLs\n"
        "are due now, removed ones leave the state) and reopen the output file.\n"
        "exit status: 0 stopped by a signal, 2 vg__monitor_usage, input, state or output error.\n");
}

/* A duration of the schedule: from VG__MIN_MS (tests) to VG_SCHED_INTERVAL_MAX. */
static int
parse_dur(const char *opt, const char *s, int64_t *out)
{
    uint64_t ms;

    if (vg_engine_opts_duration("monitor", opt, s, VG__MIN_MS, (uint64_t)VG_SCHED_INTERVAL_MAX,
                                &ms) < 0) {
        return -1;
    }
    *out = (int64_t)ms;
    return 0;
}

static int
parse_jitter(const char *s, unsigned *out)
{
    size_t len = strlen(s);
    uint64_t v;

    if (len > 0 && s[len - 1] == '%') {
        len--;
    }
    if (vg_parse_u64n(s, len, 0, 50, &v) < 0) {
        fprintf(stderr, "vigie monitor: --jitter must be a percentage in 0..50, not '%s'\n", s);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* Set the corrupt state aside (never lose it) and start afresh. */
static void
load_state(struct mon *m)
{
    char err[512], aside[4096];
    int rc = vg_sched_load(&m->sched, m->state_path, err, sizeof(err));

    if (rc == 1) {
        vg_monitor_logf(LOG_INFO, "no state at %s yet: every URL is due now", m->state_path);
        return;
    }
    if (rc == 0) {
        return;
    }
    snprintf(aside, sizeof(aside), "%s.corrupt", m->state_path);
    if (rename(m->state_path, aside) == 0) {
        vg_monitor_logf(LOG_ERR,
                        "state file %s is not valid (%s); kept as %s; starting a fresh schedule",
                        m->state_path, err, aside);
    } else {
        vg_monitor_logf(LOG_ERR, "state file %s is not valid (%s); starting a fresh schedule",
                        m->state_path, err);
    }
}

static void
mon_cleanup(struct mon *m)
{
    if (m->out != NULL && m->out != stdout) {
        fclose(m->out);
    }
    if (m->out == stdout) {
        fflush(stdout);
    }
    m->out = NULL;
    vg_sched_cleanup(&m->sched);
    free(m->files);
    free(m->args);
    vg_engine_opts_cleanup(&m->e);
}

enum {
    OPT_EVERY = 256,
    OPT_JITTER,
    OPT_RETEST_AFTER,
    OPT_RETEST_MAX,
    OPT_RECOVER_AFTER,
    OPT_WINDOW,
    OPT_STATE,
    OPT_STATUS,
    OPT_LOG,
};

/* The monitor's own options (the engine's are taken before). 0, or -1 after a usage error. */
static int
vg__monitor_take(struct mon *m, int c, const char *arg, bool *status_only, const char **log_dest)
{
    uint64_t v;

    switch (c) {
    case 'i':
        if (strcmp(arg, "-") == 0) {
            fprintf(stderr, "vigie monitor: --input-file must be a file (SIGHUP reads it "
                            "again), not standard input\n");
            return -1;
        }
        m->files = vg_xreallocarray(m->files, m->n_files + 1, sizeof(*m->files));
        m->files[m->n_files++] = arg;
        return 0;
    case 'o':
        m->out_path = arg;
        return 0;
    case OPT_EVERY:
        return parse_dur("--every", arg, &m->conf.every_ms);
    case OPT_JITTER:
        return parse_jitter(arg, &m->conf.jitter_pct);
    case OPT_RETEST_AFTER:
        return parse_dur("--retest-after", arg, &m->conf.retest_after_ms);
    case OPT_RETEST_MAX:
        return parse_dur("--retest-max", arg, &m->conf.retest_max_ms);
    case OPT_RECOVER_AFTER:
        if (vg_engine_opts_number("monitor", "--recover-after", arg, 1, 1000, &v) < 0) {
            return -1;
        }
        m->conf.recover_after = (unsigned)v;
        return 0;
    case OPT_WINDOW:
        if (vg_engine_opts_number("monitor", "--window", arg, 1, VG_SCHED_WINDOW_MAX, &v) < 0) {
            return -1;
        }
        m->conf.window = (unsigned)v;
        return 0;
    case OPT_STATE:
        m->state_path = arg;
        return 0;
    case OPT_STATUS:
        *status_only = true;
        return 0;
    case VG_OPT_USER:
    case VG_OPT_GROUP:
        return vg_privs_option(c, arg, &m->privs);
    case OPT_LOG:
        if (strcmp(arg, "stderr") != 0 && strcmp(arg, "syslog") != 0) {
            fprintf(stderr, "vigie monitor: --log must be stderr or syslog, not '%s'\n", arg);
            return -1;
        }
        *log_dest = arg;
        return 0;
    default:
        return -1;
    }
}

/*
 * The command line into m: 0 to run, 1 when done (--help, --status; *status holds the exit
 * status), -1 after a usage error (its message printed).
 */
static int
vg__monitor_parse_args(struct mon *m, int argc, char **argv, int *status)
{
    static const struct option own[] = {
        {"input-file", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"every", required_argument, NULL, OPT_EVERY},
        {"jitter", required_argument, NULL, OPT_JITTER},
        {"retest-after", required_argument, NULL, OPT_RETEST_AFTER},
        {"retest-max", required_argument, NULL, OPT_RETEST_MAX},
        {"recover-after", required_argument, NULL, OPT_RECOVER_AFTER},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"state", required_argument, NULL, OPT_STATE},
        {"status", no_argument, NULL, OPT_STATUS},
        {"log", required_argument, NULL, OPT_LOG},
        VG_PRIVS_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct option longopts[sizeof(own) / sizeof(own[0]) + VG_ENGINE_OPTS_MAX];
    char shortopts[64];
    bool status_only = false;
    const char *log_dest = "stderr";
    int c, taken;

    if (vg_engine_opts_getopt(&m->e, own, "i:o:h", longopts, sizeof(longopts) / sizeof(longopts[0]),
                              shortopts, sizeof(shortopts)) < 0) {
        fprintf(stderr, "vigie monitor: internal error: option tables\n");
        return -1;
    }
    optind = 1;
    while ((c = vg_getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        taken = vg_engine_opts_take(&m->e, c, optarg);
        if (taken < 0) {
            return -1;
        }
        if (taken > 0) {
            continue;
        }
        if (c == 'h') {
            vg__monitor_usage(&m->e, stdout);
            *status = VG_EXIT_OK;
            return 1;
        }
        if (vg__monitor_take(m, c, optarg, &status_only, &log_dest) < 0) {
            return -1;
        }
    }
    if (m->state_path == NULL) {
        m->state_path = vg_monitor_default_state(m->state_buf, sizeof(m->state_buf), status_only);
    }
    if (status_only) {
        *status = vg_monitor_status(m->state_path);
        return 1;
    }
    for (int i = optind; i < argc; i++) {
        m->args = vg_xreallocarray(m->args, m->n_args + 1, sizeof(*m->args));
        m->args[m->n_args++] = argv[i];
    }
    if (m->n_files + m->n_args == 0) {
        fprintf(stderr, "vigie monitor: nothing to monitor: give --input-file LIST\n");
        return -1;
    }
    if (m->conf.retest_max_ms < m->conf.retest_after_ms) {
        fprintf(stderr, "vigie monitor: --retest-max must not be shorter than --retest-after\n");
        return -1;
    }
    if (m->e.o.collector != NULL && m->e.o.spool_dir == NULL) {
        m->e.o.spool_dir = vg_monitor_default_spool(m->spool_buf, sizeof(m->spool_buf));
    }
    vg_engine_opts_finish(&m->e);
    m->log_syslog = strcmp(log_dest, "syslog") == 0;
    return 0;
}

/*
 * Everything before the first batch: signals, the state, the list, the output, the signal thread.
 * Returns 0, or an exit status (the reason logged).
 */
static int
vg__monitor_start(struct mon *m)
{
    pthread_t sig_tid;
    pthread_condattr_t ca;
    char err[512], every[32], after[32], max[32];

    /* Nothing a monitor does needs root: leave it first (the state, the list, the output and
     * the spool are then opened as that user). */
    if (vg_privs_drop("monitor", &m->privs) < 0) {
        return VG_EXIT_USAGE;
    }
    vg_monitor_log_open(m->log_syslog);
    /* Before any thread exists, so that every thread inherits the mask. */
    sigemptyset(&vg__sigs);
    sigaddset(&vg__sigs, SIGINT);
    sigaddset(&vg__sigs, SIGTERM);
    sigaddset(&vg__sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &vg__sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    vg_raise_fd_limit();

    load_state(m);
    if (apply_list(m, true) < 0 || open_output(m) < 0) {
        return VG_EXIT_USAGE;
    }
    /* A state that cannot be written is found now, not after the first hour of work. */
    if (vg_sched_save(&m->sched, m->state_path, now_ms(), err, sizeof(err)) < 0) {
        vg_monitor_logf(LOG_ERR, "%s", err);
        return VG_EXIT_USAGE;
    }
    if (m->conf.retest_after_ms < VG__PENALTY_BOX_MS) {
        vg_monitor_logf(LOG_WARNING,
                        "--retest-after is shorter than 90s: a re-test may still fall in a "
                        "censor's penalty box");
    }
    if (pthread_create(&sig_tid, NULL, signal_thread, m) != 0) {
        vg_monitor_logf(LOG_ERR, "cannot start the signal thread");
        return VG_EXIT_USAGE;
    }
    pthread_detach(sig_tid);
    vg_sched_fmt_dur(m->conf.every_ms, every, sizeof(every));
    vg_sched_fmt_dur(m->conf.retest_after_ms, after, sizeof(after));
    vg_sched_fmt_dur(m->conf.retest_max_ms, max, sizeof(max));
    vg_monitor_logf(
        LOG_INFO, "started (pid %ld): every %s (jitter %u%%), re-tests after %s up to %s, state %s",
        (long)getpid(), every, m->conf.jitter_pct, after, max, m->state_path);
    return 0;
}

/* Batches until a stop signal; returns the exit status. */
static int
vg__monitor_loop(struct mon *m)
{
    int status = VG_EXIT_OK;

    for (;;) {
        bool stop, reload;
        int64_t due;

        pthread_mutex_lock(&m->lock);
        stop = m->stop;
        reload = m->reload;
        m->reload = false;
        pthread_mutex_unlock(&m->lock);
        if (stop) {
            break;
        }
        if (reload) {
            if (apply_list(m, false) == 0) {
                save_state(m);
            }
            if (m->out_path != NULL && strcmp(m->out_path, "-") != 0) {
                (void)open_output(m);
            }
            continue;
        }
        due = vg_sched_next_due(&m->sched);
        if (due > now_ms()) {
            sleep_until(m, due);
            continue;
        }
        if (run_batch(m, now_ms()) < 0) {
            status = VG_EXIT_USAGE;
            break;
        }
        save_state(m);
    }
    save_state(m);
    vg_monitor_logf(LOG_INFO, "stopped; state written to %s", m->state_path);
    return status;
}

int
vg_cmd_monitor(int argc, char **argv)
{
    /* Static: the detached signal thread may still look at it while the process exits. */
    static struct mon m;
    int rc, status = VG_EXIT_OK;

    memset(&m, 0, sizeof(m));
    vg_sched_conf_init(&m.conf);
    vg_engine_opts_init(&m.e, "monitor", 0);
    vg_sched_init(&m.sched);
    rc = vg__monitor_parse_args(&m, argc, argv, &status);
    if (rc < 0) {
        fprintf(stderr, "Run 'vigie monitor --help' for usage.\n");
        mon_cleanup(&m);
        return VG_EXIT_USAGE;
    }
    if (rc == 0) {
        status = vg__monitor_start(&m);
        if (status == 0) {
            status = vg__monitor_loop(&m);
        }
    }
    mon_cleanup(&m);
    vg_monitor_log_close();
    return status;
}
