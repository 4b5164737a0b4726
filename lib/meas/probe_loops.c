/* SPDX-License-Identifier: MIT */
/*
 * probe_loops.c - a batch run on several event loops, each on its own thread (opts.threads).
 *
 * The URLs are dealt to the loops in turn, those with a trial left to measure only (--resume
 * skips the rest), so every trial of a URL and its control slot stay on one loop, which takes
 * them in the order a single loop would, and the loops get as many URLs each. The parallel limit
 * is split between the loops: no shared counter to contend on or to wake another loop through,
 * at the price of a loop idle at the end while another still measures its last slow URLs. What the
 * loops share is read-only during the run (the options, the SSL_CTX and its X509_STORE, the
 * resolver, the ASN databases, the URL list and the skip map), except the probe's own addresses and
 * network, which the helpers' answers add to under self_lock.
 *
 * The results go back to the calling thread through a queue under dlock, woken by an async
 * handle on its loop (p->loop), which also runs the uploader: the user's callback and
 * vg_uploader_add are then called from one thread, one result at a time, as with one loop, and
 * neither a slow callback nor the collector ever blocks a measuring loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "meas/probe_impl.h"
#include "meas/upload.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/mem.h"

/* A result on its way to the calling thread: r's strings are owned copies. A field added to
 * struct vg_result that points into the measurement must be copied by vg__probe_hand_over too:
 * the size check below fails until it is looked at. */
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(struct vg_result) == 72, "struct vg_result changed: see vg__probe_hand_over");
#endif

struct vg__probe_done {
    struct vg__probe_done *next;
    struct vg_result r;
    char *json;  /* NULL: the measurement could not be written ("{}" then, no upload) */
    char *cause; /* r.x_cause, or NULL */
    char *evidence;
    char *control_failure;
    char id[40];
};

unsigned
vg__probe_loops_count(const struct vg_probe *p)
{
    unsigned n = p->o.threads;

    if (n == 0) {
        /* The CPUs this process may run on (its affinity: taskset), at least 1. */
        unsigned cpus = uv_available_parallelism();

        n = cpus < VG_THREADS_MAX ? cpus : VG_THREADS_MAX;
    }
    if (n > VG_THREADS_MAX) {
        n = VG_THREADS_MAX;
    }
    if (n > p->o.parallel) {
        n = p->o.parallel; /* every loop keeps at least one measurement in flight */
    }
    if (n > p->n_urls) {
        n = (unsigned)p->n_urls;
    }
    return n > 0 ? n : 1;
}

static char *
vg__probe_loops_dup(const char *s)
{
    return s != NULL ? vg_xstrdup(s) : NULL;
}

void
vg__probe_hand_over(struct vg_probe *p, const struct vg_result *r, const char *id, char *line)
{
    struct vg__probe_done *d = vg_xcalloc(1, sizeof(*d));

    d->r = *r;
    d->json = line;
    d->cause = vg__probe_loops_dup(r->x_cause);
    d->evidence = vg__probe_loops_dup(r->x_evidence);
    d->control_failure = vg__probe_loops_dup(r->control_failure);
    snprintf(d->id, sizeof(d->id), "%s", id);
    d->r.x_cause = d->cause;
    d->r.x_evidence = d->evidence;
    d->r.control_failure = d->control_failure;
    d->r.json = d->json != NULL ? d->json : "{}";
    uv_mutex_lock(&p->dlock);
    if (p->dtail != NULL) {
        p->dtail->next = d;
    } else {
        p->dhead = d;
    }
    p->dtail = d;
    /* Under the lock: the calling thread closes dasync only once it saw every loop end. */
    uv_async_send(&p->dasync);
    uv_mutex_unlock(&p->dlock);
}

/* The calling thread: upload and call back what the loops finished, in the order they did. */
static void
vg__probe_loops_on_done(uv_async_t *a)
{
    struct vg_probe *p = a->data;

    for (;;) {
        struct vg__probe_done *list;
        bool ended;

        uv_mutex_lock(&p->dlock);
        list = p->dhead;
        p->dhead = p->dtail = NULL;
        ended = p->loops_done == p->n_loops;
        if (list == NULL && ended && !uv_is_closing((uv_handle_t *)&p->dasync)) {
            uv_close((uv_handle_t *)&p->dasync, NULL);
        }
        uv_mutex_unlock(&p->dlock);
        if (list == NULL) {
            return;
        }
        while (list != NULL) {
            struct vg__probe_done *d = list;

            list = d->next;
            if (p->up != NULL && d->json != NULL) {
                vg_uploader_add(p->up, d->id, d->json);
            }
            if (p->cb != NULL) {
                p->cb(&d->r, p->cb_arg);
            }
            free(d->json);
            free(d->cause);
            free(d->evidence);
            free(d->control_failure);
            free(d);
        }
    }
}

/* A loop's thread (or the calling thread when no thread could be made): measure its URLs. */
static void
vg__probe_loops_main(void *arg)
{
    struct vg__probe_loop *lp = arg;
    struct vg_probe *p = lp->p;

    vg__probe_schedule(lp);
    uv_run(lp->uv, UV_RUN_DEFAULT);
    vg__probe_ctrl_pool_end(lp);
    (void)uv_loop_close(lp->uv);
    uv_mutex_lock(&p->dlock);
    p->loops_done++;
    uv_async_send(&p->dasync);
    uv_mutex_unlock(&p->dlock);
}

/* The loop of each URL: in turn, over the URLs with a trial left. */
static void
vg__probe_loops_deal(struct vg_probe *p, unsigned n)
{
    unsigned next = 0;

    p->owner = vg_xcalloc(p->n_urls, 1);
    for (size_t u = 0; u < p->n_urls; u++) {
        bool left = p->skip == NULL;

        for (unsigned t = 0; !left && t < p->o.repeat; t++) {
            left = !p->skip[(size_t)t * p->n_urls + u];
        }
        if (left) {
            p->owner[u] = (uint8_t)next;
            next = (next + 1) % n;
        }
    }
}

int
vg__probe_run_loops(struct vg_probe *p, unsigned n)
{
    _Static_assert(VG_THREADS_MAX <= 256, "a URL's loop is one byte");
    p->loops = vg_xcalloc(n, sizeof(*p->loops));
    for (unsigned i = 0; i < n; i++) {
        struct vg__probe_loop *lp = &p->loops[i];

        lp->p = p;
        lp->uv = &lp->own;
        lp->index = i;
        lp->n = n;
        lp->parallel = p->o.parallel / n + (i < p->o.parallel % n ? 1 : 0);
        if (uv_loop_init(lp->uv) != 0) {
            while (i-- > 0) {
                (void)uv_loop_close(p->loops[i].uv);
            }
            VG_FREE(p->loops);
            return VG_EINTERNAL;
        }
    }
    vg__probe_loops_deal(p, n);
    p->n_loops = n;
    p->loops_done = 0;
    uv_mutex_init(&p->dlock);
    uv_async_init(&p->loop, &p->dasync, vg__probe_loops_on_done);
    p->dasync.data = p;
    for (unsigned i = 0; i < n; i++) {
        struct vg__probe_loop *lp = &p->loops[i];

        lp->started = uv_thread_create(&lp->thread, vg__probe_loops_main, lp) == 0;
        if (!lp->started) {
            /* Still measured, on this thread: its results wait in the queue meanwhile. */
            fprintf(stderr,
                    "vigie: cannot start a measuring thread: loop %u runs on the main one\n",
                    i + 1);
            vg__probe_loops_main(lp);
        }
    }
    uv_run(&p->loop, UV_RUN_DEFAULT);
    for (unsigned i = 0; i < n; i++) {
        if (p->loops[i].started) {
            uv_thread_join(&p->loops[i].thread);
        }
    }
    uv_mutex_destroy(&p->dlock);
    VG_FREE(p->loops);
    VG_FREE(p->owner);
    p->n_loops = 0;
    return 0;
}
