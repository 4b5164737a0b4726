/* SPDX-License-Identifier: MIT */
/*
 * probe_serve.c - serving mode: jobs submitted from other threads (the helper's) are queued under
 * a lock and started on the loop thread, which an async handle wakes. A job's deadline bounds
 * its measurement: the steps take their timeouts from vg__probe_step_ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "meas/probe_impl.h"
#include "util/err.h"
#include "util/mem.h"

static int
vg__probe_serve_parse_endpoint(const char *s, struct sockaddr_storage *ss)
{
    char norm[64];
    const char *colon = strrchr(s, ':');

    /* Same syntax as --resolver, but the port is mandatory. */
    if (colon == NULL || colon[1] == '\0' || (s[0] != '[' && strchr(s, ':') != colon)) {
        return VG_EINVAL;
    }
    return vg__probe_parse_resolver(s, ss, norm, sizeof(norm));
}

void
vg__probe_job_free(struct vg__job *j)
{
    if (j == NULL) {
        return;
    }
    free(j->url);
    free(j->eps);
    free(j->user_agent);
    free(j->accept);
    free(j->accept_language);
    free(j);
}

unsigned
vg__probe_step_ms(const struct vg_meas *m, unsigned ms)
{
    uint64_t now, left;

    if (m->job == NULL || m->job->deadline == 0) {
        return ms;
    }
    now = uv_hrtime();
    left = now < m->job->deadline ? (m->job->deadline - now) / 1000000 : 0;
    if (left == 0) {
        left = 1;
    }
    return left < ms ? (unsigned)left : ms;
}

bool
vg__probe_job_expired(const struct vg_meas *m)
{
    return m->job != NULL && m->job->deadline != 0 && uv_hrtime() >= m->job->deadline;
}

void
vg__probe_on_async(uv_async_t *a)
{
    struct vg_probe *p = a->data;
    struct vg__job *list;
    int stopping;

    uv_mutex_lock(&p->qlock);
    list = p->qhead;
    p->qhead = p->qtail = NULL;
    stopping = !p->accepting;
    uv_mutex_unlock(&p->qlock);
    while (list != NULL) {
        struct vg__job *j = list;

        list = j->next;
        j->next = NULL;
        vg__probe_meas_start(&p->one, 0, 1, j);
    }
    if (stopping && !uv_is_closing((uv_handle_t *)&p->async)) {
        uv_close((uv_handle_t *)&p->async, NULL);
    }
}

int
vg_probe_submit(struct vg_probe *p, const struct vg_job *job, vg_result_cb cb, void *arg, char *err,
                size_t errlen)
{
    return vg_probe_submit_fetch(p, job, NULL, cb, arg, err, errlen);
}

int
vg_probe_submit_fetch(struct vg_probe *p, const struct vg_job *job,
                      const struct vg_job_fetch *fetch, vg_result_cb cb, void *arg, char *err,
                      size_t errlen)
{
    struct vg__job *j;
    struct vg_url u;
    int rc = vg_url_parse(job->url, &u);

    if (rc < 0) {
        snprintf(err, errlen, "invalid URL '%.200s': %s", job->url, vg_strerror(rc));
        return rc;
    }
    if (job->n_endpoints > VG_DNS_MAX_ADDRS) {
        snprintf(err, errlen, "too many endpoints (at most %d)", VG_DNS_MAX_ADDRS);
        return VG_ETOOBIG;
    }
    j = vg_xcalloc(1, sizeof(*j));
    j->eps = vg_xcalloc(job->n_endpoints, sizeof(*j->eps));
    for (size_t i = 0; i < job->n_endpoints; i++) {
        if (vg__probe_serve_parse_endpoint(job->endpoints[i], &j->eps[j->n_eps]) < 0) {
            snprintf(err, errlen, "invalid endpoint '%.80s' (expected IP:PORT)", job->endpoints[i]);
            vg__probe_job_free(j);
            return VG_EINVAL;
        }
        j->n_eps++;
    }
    j->url = vg_xstrdup(job->url);
    j->control = job->control;
    if (fetch != NULL) {
        j->user_agent = fetch->user_agent != NULL ? vg_xstrdup(fetch->user_agent) : NULL;
        j->accept = fetch->accept != NULL ? vg_xstrdup(fetch->accept) : NULL;
        j->accept_language =
            fetch->accept_language != NULL ? vg_xstrdup(fetch->accept_language) : NULL;
        j->body_count_max = fetch->body_count_max;
    }
    j->deadline = job->deadline_ms > 0 ? uv_hrtime() + (uint64_t)job->deadline_ms * 1000000 : 0;
    j->cb = cb;
    j->arg = arg;
    uv_mutex_lock(&p->qlock);
    if (!p->accepting) {
        uv_mutex_unlock(&p->qlock);
        snprintf(err, errlen, "the engine is not serving");
        vg__probe_job_free(j);
        return VG_ECANCELED;
    }
    if (p->qtail != NULL) {
        p->qtail->next = j;
    } else {
        p->qhead = j;
    }
    p->qtail = j;
    uv_async_send(&p->async);
    uv_mutex_unlock(&p->qlock);
    return 0;
}

int
vg_probe_serve(struct vg_probe *p)
{
    /* Jobs submitted before this call are already queued and the async handle is pending. */
    uv_mutex_lock(&p->qlock);
    if (p->accepting) {
        uv_async_send(&p->async);
    }
    uv_mutex_unlock(&p->qlock);
    if (uv_is_closing((uv_handle_t *)&p->async)) {
        return VG_EINVAL;
    }
    uv_run(&p->loop, UV_RUN_DEFAULT);
    return 0;
}

void
vg_probe_stop(struct vg_probe *p)
{
    uv_mutex_lock(&p->qlock);
    if (p->accepting) {
        p->accepting = false;
        uv_async_send(&p->async);
    }
    uv_mutex_unlock(&p->qlock);
}
