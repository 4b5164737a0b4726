/* SPDX-License-Identifier: MIT */
/*
 * alerts_deliver.c - the delivery half of the alerts (alerts.h, alerts_impl.h): a bounded queue
 * of events and the thread that delivers them in order, to the webhook with the engine's HTTP(S)
 * client (vg_poster_send: up to o.attempts tries, 1 s, 2 s... apart, 4xx other than 408 and 429
 * not retried) and to the command (/bin/sh -c, the event as one JSON line on its standard
 * input, killed past o.timeout_ms). At shutdown queued events get one attempt each within
 * VG__DRAIN_S seconds. The command runs as the process's user, never root: vigie serve refuses
 * --alert-exec as root, unless --user has dropped root before this thread starts
 * (cli/serve_cmd.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alerts_impl.h"
#include "util/mem.h"

#define VG__DRAIN_S 5 /* seconds given to the queue at shutdown */

extern char **environ;

void
vg__alerts_log(struct vg_alerts *a, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (a->o.log == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(a->o.log, "vigie serve: alerts: %s\n", line);
    fflush(a->o.log);
}

void
vg__alerts_enqueue(struct vg_alerts *a, char *json)
{
    struct vg__event *ev;

    pthread_mutex_lock(&a->qmu);
    if (a->stopping || a->qlen >= VG_ALERTS_QUEUE_MAX) {
        a->st.dropped++;
        pthread_mutex_unlock(&a->qmu);
        vg__alerts_log(a, "queue full (%d events): an event was dropped", VG_ALERTS_QUEUE_MAX);
        free(json);
        return;
    }
    ev = vg_xcalloc(1, sizeof(*ev));
    ev->json = json;
    if (a->tail != NULL) {
        a->tail->next = ev;
    } else {
        a->head = ev;
    }
    a->tail = ev;
    a->qlen++;
    a->st.events++;
    pthread_cond_signal(&a->qcv);
    pthread_mutex_unlock(&a->qmu);
}

static int64_t
vg__alerts_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline; 1 ready, 0 timeout, -1 error. */
static int
vg__alerts_wait(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int64_t left = deadline - vg__alerts_now_ms();
        int r;

        if (left <= 0) {
            return 0;
        }
        r = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
        if (r > 0) {
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
    }
}

/* Run the command with the event on stdin; true when it exits 0 in time. */
static bool
vg__alerts_run(struct vg_alerts *a, const char *json, char *why, size_t whylen)
{
    int64_t deadline = vg__alerts_now_ms() + a->o.timeout_ms;
    char *argv[] = {"sh", "-c", a->exec, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dfl;
    int pipefd[2], wstatus = 0, rc;
    size_t off = 0, len = strlen(json);
    pid_t pid;
    bool ok = false;

    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return false;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[0], STDIN_FILENO);
    posix_spawnattr_init(&at);
    /* This thread blocks every signal; the command must start with a clean slate. */
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGHUP);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(pipefd[0]);
    if (rc != 0) {
        close(pipefd[1]);
        snprintf(why, whylen, "cannot run /bin/sh: %s", strerror(rc));
        return false;
    }
    (void)fcntl(pipefd[1], F_SETFL, O_NONBLOCK);
    while (off <= len) {
        /* The event, then a newline, as one JSON Lines record. */
        const char *p = off < len ? json + off : "\n";
        size_t n = off < len ? len - off : 1;
        ssize_t w = write(pipefd[1], p, n);

        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (vg__alerts_wait(pipefd[1], POLLOUT, deadline) != 1) {
                break;
            }
        } else {
            break; /* EPIPE: the command does not read its input; its exit status decides */
        }
    }
    close(pipefd[1]);
    for (;;) {
        pid_t r = waitpid(pid, &wstatus, WNOHANG);

        if (r == pid) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            snprintf(why, whylen, "waitpid: %s", strerror(errno));
            return false;
        }
        if (vg__alerts_now_ms() >= deadline) {
            (void)kill(pid, SIGKILL);
            (void)waitpid(pid, &wstatus, 0);
            snprintf(why, whylen, "the command ran longer than %u ms and was killed",
                     a->o.timeout_ms);
            return false;
        }
        (void)poll(NULL, 0, 10);
    }
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
        ok = true;
    } else if (WIFEXITED(wstatus)) {
        snprintf(why, whylen, "the command exited with status %d", WEXITSTATUS(wstatus));
    } else {
        snprintf(why, whylen, "the command was killed by signal %d",
                 WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
    }
    return ok;
}

static bool
vg__alerts_stopping(struct vg_alerts *a)
{
    bool s;

    pthread_mutex_lock(&a->qmu);
    s = a->stopping;
    pthread_mutex_unlock(&a->qmu);
    return s;
}

/* Deliver one event everywhere; false if some target refused it in the end. */
static bool
vg__alerts_deliver(struct vg_alerts *a, const char *json, int64_t drain_deadline)
{
    char why[256];
    bool ok = true;

    if (a->o.sink != NULL) {
        a->o.sink(json, a->o.sink_arg);
    }
    if (a->webhook != NULL) {
        unsigned delay_ms = 1000;
        bool sent = false;

        for (unsigned attempt = 1; attempt <= a->o.attempts; attempt++) {
            int status = 0;

            (void)vg_poster_send(a->poster, a->webhook, "application/json", json, strlen(json),
                                 &status, why, sizeof(why));
            if (status >= 200 && status < 300) {
                sent = true;
                break;
            }
            if (status > 0) {
                snprintf(why, sizeof(why), "the webhook answered %d", status);
            }
            vg__alerts_log(a, "webhook attempt %u of %u failed: %s", attempt, a->o.attempts, why);
            /* 4xx (but 408 and 429) will not get better; at shutdown one attempt is all. */
            if ((status >= 400 && status < 500 && status != 408 && status != 429) ||
                vg__alerts_stopping(a) || vg__alerts_now_ms() + delay_ms > drain_deadline) {
                break;
            }
            (void)poll(NULL, 0, (int)delay_ms);
            delay_ms *= 2;
        }
        ok = ok && sent;
    }
    if (a->exec != NULL && !vg__alerts_run(a, json, why, sizeof(why))) {
        vg__alerts_log(a, "--alert-exec failed: %s", why);
        ok = false;
    }
    return ok;
}

void *
vg__alerts_deliver_thread(void *arg)
{
    struct vg_alerts *a = arg;
    int64_t drain_deadline = INT64_MAX;
    sigset_t all;

    /* Signals are for the main thread; a command that exits early must not SIGPIPE us. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        struct vg__event *ev;
        bool ok;

        pthread_mutex_lock(&a->qmu);
        while (a->head == NULL && !a->stopping) {
            pthread_cond_wait(&a->qcv, &a->qmu);
        }
        if (a->stopping && drain_deadline == INT64_MAX) {
            drain_deadline = vg__alerts_now_ms() + VG__DRAIN_S * 1000;
        }
        ev = a->head;
        if (ev == NULL || vg__alerts_now_ms() > drain_deadline) {
            /* Stopping, and the queue is empty or out of time. */
            a->st.dropped += a->qlen;
            pthread_mutex_unlock(&a->qmu);
            break;
        }
        a->head = ev->next;
        if (a->head == NULL) {
            a->tail = NULL;
        }
        a->qlen--;
        pthread_mutex_unlock(&a->qmu);

        ok = vg__alerts_deliver(a, ev->json, drain_deadline);
        pthread_mutex_lock(&a->qmu);
        if (ok) {
            a->st.delivered++;
        } else {
            a->st.failed++;
        }
        pthread_mutex_unlock(&a->qmu);
        free(ev->json);
        free(ev);
    }
    return NULL;
}

void
vg__alerts_stop(struct vg_alerts *a)
{
    struct vg__event *ev;

    pthread_mutex_lock(&a->qmu);
    a->stopping = true;
    pthread_cond_broadcast(&a->qcv);
    pthread_mutex_unlock(&a->qmu);
    if (a->started) {
        pthread_join(a->thread, NULL);
    }
    while ((ev = a->head) != NULL) {
        a->head = ev->next;
        free(ev->json);
        free(ev);
    }
}
