/* SPDX-License-Identifier: MIT */
/*
 * loopsrv.h - a small HTTP/1.1 server on 127.0.0.1 for the unit tests of HTTP clients (the pool
 * of lib/net/httpclient.c, the uploader): one thread polls the listening socket and up to
 * VGT_SRV_CONNS connections, cuts each connection's bytes into requests (head up to the blank
 * line, then Content-Length bytes of body) and hands each to the test's answer function, which
 * writes what it wants and says whether the connection stays open. It counts the connections it
 * accepted. Everything it needs is set up by vgt_srv_start and undone by vgt_srv_stop (cmocka
 * assertions on failure).
 */
#ifndef VG_TESTS_LOOPSRV_H
#define VG_TESTS_LOOPSRV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define VGT_SRV_CONNS   16
#define VGT_SRV_REQ_MAX 16384 /* a request (head and body) larger than this is cut off */

/* One request on a connection: req is the request, NUL-terminated, len bytes long; served counts
 * the requests of this connection so far, this one included (1 for the first). Write the answer
 * with vgt_srv_write; return false to close the connection (unanswered, if nothing was written). */
typedef bool (*vgt_srv_answer_fn)(void *arg, int fd, const char *req, size_t len, unsigned served);

struct vgt_srv {
    unsigned short port;  /* where it listens (127.0.0.1) */
    atomic_uint accepted; /* connections accepted so far */
    /* private */
    int lfd;
    int wake[2];
    vgt_srv_answer_fn answer;
    void *arg;
    pthread_t th;
};

void vgt_srv_start(struct vgt_srv *s, vgt_srv_answer_fn answer, void *arg);
/* Stops the thread and closes every socket; the connections still open are closed. */
void vgt_srv_stop(struct vgt_srv *s);
/* Writes all of the string s to fd (gives up quietly when the peer is gone). */
void vgt_srv_write(int fd, const char *s);

#endif
