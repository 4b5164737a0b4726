/* SPDX-License-Identifier: MIT */
#include "meas/ctrlclient.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/record_th.h"
#include "net/httpclient.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/mem.h"

/* A helper that answers 503 (saturated, or this client's share of its slots taken: its slots come
 * free as its measurements end, which can take its whole measurement deadline) is asked again
 * after a pause, doubling from VG__CC_BUSY_MS up to VG__CC_BUSY_MAX_MS, plus up to as much again
 * at random, for as long as VG__CC_BUSY_LEFT_MS of the attempt's timeout_ms would be left for the
 * answer; then the next helper. Not when the helper says it is shutting down, nor once the probe
 * is interrupted (*cancel). */
#define VG__CC_BUSY_MS      50
#define VG__CC_BUSY_MAX_MS  1000
#define VG__CC_BUSY_LEFT_MS 1000

struct vg__cc {
    uv_loop_t *loop;
    struct vg_http_pool *pool; /* or NULL */
    struct ssl_ctx_st *ctx;
    const char *const *helpers;
    size_t n, next;
    unsigned timeout_ms;
    char *body;
    char *target; /* x_target the answer must echo, or NULL */
    struct vg_buf failures;
    vg_ctrl_done_cb cb;
    void *arg;
    uv_timer_t busy_timer; /* the pause before asking a busy helper again */
    bool timer_init;
    unsigned busy;            /* 503s from the current helper */
    const atomic_int *cancel; /* nonzero: the probe was interrupted (borrowed; may be NULL) */
    uint64_t started_ms;      /* when the current helper was first asked (uv_now) */
};

static void vg__attempt(struct vg__cc *cc);

/* Record why helper h failed; past the buffer's cap further reasons are dropped. */
static void
vg__note(struct vg__cc *cc, const char *h, const char *why)
{
    if (vg_buf_appendf(&cc->failures, "%s%s: %s", cc->failures.len > 0 ? "; " : "", h, why) < 0) {
        return;
    }
}

static void
vg__cc_on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void
vg__free(struct vg__cc *cc)
{
    vg_buf_cleanup(&cc->failures);
    free(cc->body);
    free(cc->target);
    if (cc->timer_init) {
        uv_close((uv_handle_t *)&cc->busy_timer, vg__cc_on_timer_closed);
        return;
    }
    free(cc);
}

static void vg__on_post(int status, const uint8_t *body, size_t len, const char *failure,
                        void *arg);

/* POST the THRequest to helper h, with what is left of the attempt's time. */
static int
vg__cc_post(struct vg__cc *cc, const char *h, unsigned timeout_ms)
{
    return cc->pool != NULL
               ? vg_http_pool_post(cc->pool, cc->ctx, h, "application/json", cc->body,
                                   strlen(cc->body), timeout_ms, VG_CTRL_RESPONSE_MAX, vg__on_post,
                                   cc)
               : vg_http_post(cc->loop, cc->ctx, h, "application/json", cc->body, strlen(cc->body),
                              timeout_ms, VG_CTRL_RESPONSE_MAX, vg__on_post, cc);
}

/* Why the current helper h is given up after 503s. */
static void
vg__cc_note_busy(struct vg__cc *cc, const char *h)
{
    char why[96];

    snprintf(why, sizeof(why), "HTTP status 503 (busy; asked %u times in %llu ms)", cc->busy + 1,
             (unsigned long long)(uv_now(cc->loop) - cc->started_ms));
    vg__note(cc, h, why);
}

static void
vg__cc_on_busy_timer(uv_timer_t *t)
{
    struct vg__cc *cc = t->data;
    uint64_t spent = uv_now(cc->loop) - cc->started_ms;
    const char *h = cc->helpers[cc->next - 1];

    if ((cc->cancel != NULL && atomic_load(cc->cancel) != 0) || spent >= cc->timeout_ms ||
        vg__cc_post(cc, h, (unsigned)(cc->timeout_ms - spent)) != 0) {
        vg__cc_note_busy(cc, h);
        vg__attempt(cc);
    }
}

/* After a 503 from the current helper (its body[len]): true when it is asked again later (a
 * timer runs). */
static bool
vg__cc_wait_busy(struct vg__cc *cc, const uint8_t *body, size_t len)
{
    static const char closing[] = "shutting down";
    uint64_t spent = uv_now(cc->loop) - cc->started_ms, pause;
    uint8_t r;

    if ((cc->cancel != NULL && atomic_load(cc->cancel) != 0) ||
        (body != NULL && memmem(body, len, closing, sizeof(closing) - 1) != NULL)) {
        return false;
    }
    vg_random_bytes(&r, 1);
    pause = cc->busy < 5 ? (uint64_t)VG__CC_BUSY_MS << cc->busy : VG__CC_BUSY_MAX_MS;
    pause = (pause < VG__CC_BUSY_MAX_MS ? pause : VG__CC_BUSY_MAX_MS) * (256u + r) / 256u;
    if (spent + pause + VG__CC_BUSY_LEFT_MS > cc->timeout_ms) {
        return false;
    }
    if (!cc->timer_init) {
        if (uv_timer_init(cc->loop, &cc->busy_timer) != 0) {
            return false;
        }
        cc->busy_timer.data = cc;
        cc->timer_init = true;
    }
    cc->busy++;
    return uv_timer_start(&cc->busy_timer, vg__cc_on_busy_timer, pause, 0) == 0;
}

static void
vg__on_post(int status, const uint8_t *body, size_t len, const char *failure, void *arg)
{
    struct vg__cc *cc = arg;
    const char *h = cc->helpers[cc->next - 1];
    struct vg_ctrl *ctrl;
    json_t *control = NULL;
    char why[96];
    int rc;

    if (status == 0) {
        vg__note(cc, h, failure);
        vg__attempt(cc);
        return;
    }
    if (status == 503) {
        if (!vg__cc_wait_busy(cc, body, len)) {
            vg__cc_note_busy(cc, h);
            vg__attempt(cc);
        }
        return;
    }
    if (status != 200) {
        snprintf(why, sizeof(why), "HTTP status %d", status);
        vg__note(cc, h, why);
        vg__attempt(cc);
        return;
    }
    ctrl = vg_xmalloc(sizeof(*ctrl));
    rc = vg_rec_thresponse_parse_control((const char *)body, len, ctrl, &control);
    if (rc < 0) {
        snprintf(why, sizeof(why), "invalid THResponse (%s)", vg_strerror(rc));
        vg__note(cc, h, why);
        free(ctrl);
        vg__attempt(cc);
        return;
    }
    if (cc->target != NULL && strcmp(ctrl->target, cc->target) != 0) {
        /* oohelperd (or an older vigie helper) measured http_request, not the target. */
        vg__note(cc, h, "does not measure tls:// and dns:// targets (no x_target in its answer)");
        json_decref(control);
        free(ctrl);
        vg__attempt(cc);
        return;
    }
    cc->cb(ctrl, control, h, NULL, cc->arg);
    json_decref(control);
    free(ctrl);
    vg__free(cc);
}

/* Try the next helper in order; when none is left, report every reason. */
static void
vg__attempt(struct vg__cc *cc)
{
    const char *f;

    while (cc->next < cc->n) {
        const char *h = cc->helpers[cc->next++];

        cc->busy = 0;
        cc->started_ms = uv_now(cc->loop);
        if (vg__cc_post(cc, h, cc->timeout_ms) == 0) {
            return;
        }
        vg__note(cc, h, "invalid helper URL");
    }
    f = vg_buf_cstr(&cc->failures);
    cc->cb(NULL, NULL, NULL, f != NULL ? f : "no helper answered", cc->arg);
    vg__free(cc);
}

int
vg_ctrl_fetch(uv_loop_t *loop, struct vg_http_pool *pool, struct ssl_ctx_st *ctx,
              const char *const *helpers, size_t n, unsigned timeout_ms, const char *body,
              const char *target, const atomic_int *cancel, vg_ctrl_done_cb cb, void *arg)
{
    struct vg__cc *cc;

    VG_ENSURE(n > 0, VG_EINVAL);
    cc = vg_xcalloc(1, sizeof(*cc));
    cc->loop = loop;
    cc->pool = pool;
    cc->ctx = ctx;
    cc->helpers = helpers;
    cc->n = n;
    cc->timeout_ms = timeout_ms;
    cc->body = vg_xstrdup(body);
    cc->target = target != NULL ? vg_xstrdup(target) : NULL;
    cc->cb = cb;
    cc->arg = arg;
    cc->cancel = cancel;
    vg_buf_init(&cc->failures, 4096);
    vg__attempt(cc);
    return 0;
}
