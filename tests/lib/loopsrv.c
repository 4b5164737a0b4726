/* SPDX-License-Identifier: MIT */
/* loopsrv.c - the unit tests' small HTTP/1.1 server on 127.0.0.1 (loopsrv.h). */
#include "loopsrv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vgtest.h"

struct vgt_conn {
    int fd;
    char buf[VGT_SRV_REQ_MAX];
    size_t len;
    unsigned served;
};

/* The length of the first complete request in c->buf, or 0. */
static size_t
vgt_request_len(const struct vgt_conn *c)
{
    const char *end = memmem(c->buf, c->len, "\r\n\r\n", 4), *cl;
    size_t head;
    unsigned long n;

    if (end == NULL) {
        return 0;
    }
    head = (size_t)(end + 4 - c->buf);
    cl = strcasestr(c->buf, "\r\nContent-Length: ");
    n = cl != NULL && cl < end ? strtoul(cl + 18, NULL, 10) : 0;
    return c->len >= head + n ? head + n : 0;
}

void
vgt_srv_write(int fd, const char *s)
{
    size_t len = strlen(s), off = 0;

    while (off < len) {
        ssize_t w = write(fd, s + off, len - off);

        if (w <= 0) {
            return;
        }
        off += (size_t)w;
    }
}

/* Reads what came on c and answers every complete request; false: close c. */
static bool
vgt_serve(struct vgt_srv *s, struct vgt_conn *c)
{
    bool keep = true;
    ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
    size_t rl;

    if (r <= 0) {
        return false;
    }
    c->len += (size_t)r;
    c->buf[c->len] = '\0';
    while (keep && (rl = vgt_request_len(c)) > 0) {
        char saved = c->buf[rl];

        c->served++;
        c->buf[rl] = '\0';
        keep = s->answer(s->arg, c->fd, c->buf, rl, c->served);
        c->buf[rl] = saved;
        memmove(c->buf, c->buf + rl, c->len - rl);
        c->len -= rl;
        c->buf[c->len] = '\0';
    }
    return keep;
}

static void *
vgt_srv_run(void *arg)
{
    struct vgt_srv *s = arg;
    struct vgt_conn *conns = calloc(VGT_SRV_CONNS, sizeof(*conns));
    size_t n = 0;

    for (;;) {
        struct pollfd p[VGT_SRV_CONNS + 2];

        p[0] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        p[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        for (size_t i = 0; i < n; i++) {
            p[i + 2] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        }
        if (poll(p, n + 2, -1) < 0 || p[0].revents != 0) {
            break;
        }
        /* downwards: a closed connection's slot takes the last one, already seen */
        for (size_t i = n; i-- > 0;) {
            if (p[i + 2].revents != 0 && !vgt_serve(s, &conns[i])) {
                close(conns[i].fd);
                conns[i] = conns[--n];
            }
        }
        if ((p[1].revents & POLLIN) != 0 && n < VGT_SRV_CONNS) {
            int fd = accept(s->lfd, NULL, NULL);

            if (fd >= 0) {
                atomic_fetch_add(&s->accepted, 1);
                conns[n] = (struct vgt_conn){.fd = fd};
                n++;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        close(conns[i].fd);
    }
    free(conns);
    return NULL;
}

void
vgt_srv_start(struct vgt_srv *s, vgt_srv_answer_fn answer, void *arg)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);

    memset(s, 0, sizeof(*s));
    s->answer = answer;
    s->arg = arg;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
    s->port = ntohs(sa.sin_port);
    assert_int_equal(pipe(s->wake), 0);
    assert_int_equal(pthread_create(&s->th, NULL, vgt_srv_run, s), 0);
}

void
vgt_srv_stop(struct vgt_srv *s)
{
    assert_int_equal(write(s->wake[1], "x", 1), 1);
    pthread_join(s->th, NULL);
    close(s->lfd);
    close(s->wake[0]);
    close(s->wake[1]);
}
