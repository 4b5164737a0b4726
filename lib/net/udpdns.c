/* SPDX-License-Identifier: MIT */
#include "net/udpdns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/tls.h"
#include "proto/dns.h"
#include "util/mem.h"
#include "util/str.h"

struct vg_udpdns {
    uv_loop_t *loop;
    uv_poll_t poll;
    uv_timer_t timer;
    int fd;
    int open_handles;
    bool done;
    struct sockaddr_storage resolver;
    char name[VG_DNS_NAME_MAX + 1];
    uint16_t id[2]; /* A, AAAA */
    bool answered[2];
    uint64_t t0;          /* uv_hrtime at send */
    uint64_t deadline_ms; /* absolute loop time */
    unsigned wait_ms;
    size_t n_replies;
    struct vg_udp_reply *replies;
    size_t n_ignored;
    vg_udpdns_reply_cb reply_cb;
    vg_udpdns_done_cb done_cb;
    void *arg;
};

static const uint16_t vg__qtypes[2] = {VG_DNS_TYPE_A, VG_DNS_TYPE_AAAA};

static void
vg__udpdns_finish(struct vg_udpdns *q)
{
    if (q->done) {
        return;
    }
    q->done = true;
    uv_timer_stop(&q->timer);
    uv_poll_stop(&q->poll);
    if (q->done_cb != NULL) {
        q->done_cb(q, q->arg);
    }
}

static void
vg__on_timer(uv_timer_t *t)
{
    vg__udpdns_finish(t->data);
}

static bool
vg__same_source(const struct vg_udpdns *q, const struct sockaddr_storage *from)
{
    if (from->ss_family != q->resolver.ss_family) {
        return false;
    }
    if (from->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)from, *b = (const void *)&q->resolver;

        return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    } else {
        const struct sockaddr_in6 *a = (const void *)from, *b = (const void *)&q->resolver;

        return a->sin6_port == b->sin6_port &&
               memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
    }
}

/* Same outcome as a recorded reply: status and set of addresses (the order may differ). */
static bool
vg__same_answer(const struct vg_udp_reply *a, const struct vg_udp_reply *b)
{
    if (a->qtype != b->qtype || a->parse_err != b->parse_err || a->rcode != b->rcode ||
        a->n_addrs != b->n_addrs) {
        return false;
    }
    for (size_t i = 0; i < a->n_addrs; i++) {
        bool found = false;

        for (size_t j = 0; j < b->n_addrs && !found; j++) {
            found = a->addrs[i].family == b->addrs[j].family &&
                    memcmp(a->addrs[i].a, b->addrs[j].a, sizeof(a->addrs[i].a)) == 0;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

/*
 * Whether to record reply r (query `which`) now that n_replies are recorded. Every reply is, up to
 * VG_DNS_MAX_REPLIES. Past that budget, which an injector's flood of copies fills, the first reply
 * to a query still is, and so is a reply with an answer none of the recorded ones has, up to
 * VG_DNS_MAX_DISTINCT more: the genuine reply that follows the forged ones is the evidence.
 */
static bool
vg__keep(const struct vg_udpdns *q, int which, const struct vg_udp_reply *r)
{
    if (q->n_replies < VG_DNS_MAX_REPLIES || !q->answered[which]) {
        return true;
    }
    if (q->n_replies >= VG_DNS_MAX_REPLIES + VG_DNS_MAX_DISTINCT) {
        return false;
    }
    for (size_t i = 0; i < q->n_replies; i++) {
        if (vg__same_answer(&q->replies[i], r)) {
            return false;
        }
    }
    return true;
}

/*
 * One datagram from the resolver's address: p[len], cut by the kernel when oversized (its first
 * VG_DNS_MSG_MAX bytes). A reply to one of our queries is recorded, a malformed or oversized one
 * too when its ID is one of ours (a malformed injection, or a resolver that ignores the 512-byte
 * limit of a query without EDNS0: RFC 1035 4.2.1).
 */
static void
vg__record(struct vg_udpdns *q, const uint8_t *p, size_t len, bool oversized, int ip_ttl)
{
    struct vg_dns_msg *msg = vg_xmalloc(sizeof(*msg));
    struct vg_udp_reply r;
    int which = -1, rc;
    uint64_t now;

    rc = oversized ? VG_ETOOBIG : vg_dns_parse(p, len, msg);
    if (rc == 0) {
        for (int i = 0; i < 2; i++) {
            if (msg->qr && msg->id == q->id[i] && msg->qtype == vg__qtypes[i] &&
                vg_dns_name_eq(msg->qname, q->name)) {
                which = i;
            }
        }
    } else if (len >= 2) {
        /* Unparseable: keep it if the id matches one of ours (a malformed injection). */
        uint16_t id = (uint16_t)(p[0] << 8 | p[1]);

        for (int i = 0; i < 2; i++) {
            if (id == q->id[i]) {
                which = i;
            }
        }
    }
    if (which < 0) {
        q->n_ignored++;
        free(msg);
        return;
    }
    memset(&r, 0, sizeof(r));
    r.qtype = vg__qtypes[which];
    now = uv_hrtime();
    r.t = (double)(now - q->t0) / 1e9;
    r.ip_ttl = ip_ttl;
    r.parse_err = rc < 0 ? rc : 0;
    r.rcode = rc < 0 ? -1 : msg->rcode;
    if (rc == 0) {
        for (size_t i = 0; i < msg->n_rr; i++) {
            const struct vg_dns_rr *rr = &msg->rr[i];

            if (rr->type == VG_DNS_TYPE_CNAME && r.cname[0] == '\0') {
                memcpy(r.cname, rr->u.cname, sizeof(r.cname));
            }
            if ((rr->type != VG_DNS_TYPE_A && rr->type != VG_DNS_TYPE_AAAA) ||
                r.n_addrs >= VG_UDP_ADDRS_MAX) {
                continue;
            }
            r.addrs[r.n_addrs].family = rr->type == VG_DNS_TYPE_A ? AF_INET : AF_INET6;
            memcpy(r.addrs[r.n_addrs].a, rr->type == VG_DNS_TYPE_A ? rr->u.a : rr->u.aaaa,
                   rr->type == VG_DNS_TYPE_A ? 4 : 16);
            r.addrs[r.n_addrs].ttl = rr->ttl;
            r.n_addrs++;
        }
    }
    free(msg);
    if (!vg__keep(q, which, &r)) {
        q->n_ignored++;
        return;
    }
    r.raw = vg_xmemdup(p, len);
    r.raw_len = len;
    q->replies = vg_xreallocarray(q->replies, q->n_replies + 1, sizeof(*q->replies));
    q->replies[q->n_replies] = r;
    q->n_replies++;
    if (!q->answered[which]) {
        q->answered[which] = true;
        if (q->answered[0] && q->answered[1]) {
            /* Keep listening for late duplicates, then finish. */
            uint64_t end = uv_now(q->loop) + q->wait_ms;

            if (end < q->deadline_ms) {
                uv_timer_stop(&q->timer);
                uv_timer_start(&q->timer, vg__on_timer, q->wait_ms, 0);
            }
        }
    }
    if (q->reply_cb != NULL) {
        q->reply_cb(q, &q->replies[q->n_replies - 1], q->arg);
    }
}

static void
vg__udpdns_on_poll(uv_poll_t *h, int status, int events)
{
    struct vg_udpdns *q = h->data;

    (void)events;
    if (status < 0) {
        vg__udpdns_finish(q);
        return;
    }
    while (!q->done) {
        uint8_t buf[VG_DNS_MSG_MAX];
        union {
            struct cmsghdr align;
            uint8_t space[CMSG_SPACE(sizeof(int)) * 2];
        } ctl;
        struct sockaddr_storage from;
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr mh;
        struct cmsghdr *cm;
        ssize_t n;
        int ttl = -1;

        memset(&mh, 0, sizeof(mh));
        mh.msg_name = &from;
        mh.msg_namelen = sizeof(from);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.space;
        mh.msg_controllen = sizeof(ctl.space);
        n = recvmsg(q->fd, &mh, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return; /* EAGAIN, or an ICMP error reported on the socket: keep waiting */
        }
        for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
            if ((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TTL) ||
                (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT)) {
                memcpy(&ttl, CMSG_DATA(cm), sizeof(ttl));
            }
        }
        if (!vg__same_source(q, &from)) {
            q->n_ignored++;
            continue;
        }
        vg__record(q, buf, (size_t)n, (mh.msg_flags & MSG_TRUNC) != 0, ttl);
    }
}

int
vg_udpdns_start(uv_loop_t *loop, const struct sockaddr *resolver, const char *name,
                unsigned timeout_ms, unsigned wait_ms, vg_udpdns_reply_cb reply_cb,
                vg_udpdns_done_cb done_cb, void *arg, struct vg_udpdns **out)
{
    struct vg_udpdns *q;
    socklen_t salen;
    int fd, one = 1;

    *out = NULL;
    if (resolver->sa_family == AF_INET) {
        salen = sizeof(struct sockaddr_in);
    } else if (resolver->sa_family == AF_INET6) {
        salen = sizeof(struct sockaddr_in6);
    } else {
        return VG_EINVAL;
    }
    fd = socket(resolver->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return vg_err_from_errno(errno);
    }
    if (resolver->sa_family == AF_INET) {
        (void)setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one));
    } else {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one));
    }
    q = vg_xcalloc(1, sizeof(*q));
    q->loop = loop;
    q->fd = fd;
    memcpy(&q->resolver, resolver, salen);
    vg_strlcpy(q->name, name, sizeof(q->name));
    q->wait_ms = wait_ms;
    q->reply_cb = reply_cb;
    q->done_cb = done_cb;
    q->arg = arg;
    vg_random_bytes(q->id, sizeof(q->id));
    if (q->id[0] == q->id[1]) {
        q->id[1] ^= 0x5a5a;
    }
    for (int i = 0; i < 2; i++) {
        uint8_t pkt[VG_DNS_NAME_MAX + 32];
        size_t len;
        int rc = vg_dns_build_query(q->id[i], name, vg__qtypes[i], pkt, sizeof(pkt), &len);

        if (rc < 0) {
            close(fd);
            free(q);
            return rc;
        }
        if (sendto(fd, pkt, len, 0, resolver, salen) < 0) {
            rc = vg_err_from_errno(errno);
            close(fd);
            free(q);
            return rc;
        }
    }
    q->t0 = uv_hrtime();
    uv_timer_init(loop, &q->timer);
    q->timer.data = q;
    uv_poll_init_socket(loop, &q->poll, fd);
    q->poll.data = q;
    q->open_handles = 2;
    q->deadline_ms = uv_now(loop) + timeout_ms;
    uv_timer_start(&q->timer, vg__on_timer, timeout_ms, 0);
    uv_poll_start(&q->poll, UV_READABLE, vg__udpdns_on_poll);
    *out = q;
    return 0;
}

const struct vg_udp_reply *
vg_udpdns_replies(const struct vg_udpdns *q, size_t *n)
{
    *n = q->n_replies;
    return q->replies;
}

int
vg_udpdns_failure(const struct vg_udpdns *q, uint16_t qtype)
{
    int i = qtype == VG_DNS_TYPE_A ? 0 : 1;

    return q->answered[i] ? 0 : VG_ETIMEDOUT;
}

size_t
vg_udpdns_ignored(const struct vg_udpdns *q)
{
    return q->n_ignored;
}

static void
vg__udpdns_on_close(uv_handle_t *h)
{
    struct vg_udpdns *q = h->data;

    if (--q->open_handles > 0) {
        return;
    }
    close(q->fd);
    for (size_t i = 0; i < q->n_replies; i++) {
        free(q->replies[i].raw);
    }
    free(q->replies);
    free(q);
}

void
vg_udpdns_free(struct vg_udpdns *q)
{
    if (q == NULL) {
        return;
    }
    q->done = true;
    q->reply_cb = NULL;
    q->done_cb = NULL;
    uv_timer_stop(&q->timer);
    uv_poll_stop(&q->poll);
    uv_close((uv_handle_t *)&q->timer, vg__udpdns_on_close);
    uv_close((uv_handle_t *)&q->poll, vg__udpdns_on_close);
}

void
vg_udpdns_system_resolver(char *out, size_t cap)
{
    FILE *f = fopen("/etc/resolv.conf", "r");
    char line[256];

    out[0] = '\0';
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *v;
        uint8_t raw[16];

        if (strncmp(line, "nameserver", 10) != 0 || (line[10] != ' ' && line[10] != '\t')) {
            continue;
        }
        v = vg_str_trim(line + 10);
        if (inet_pton(AF_INET, v, raw) == 1 || inet_pton(AF_INET6, v, raw) == 1) {
            snprintf(out, cap, "%s", v);
            break;
        }
    }
    fclose(f);
}
