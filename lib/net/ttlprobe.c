/* SPDX-License-Identifier: MIT */
#include "net/ttlprobe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/str.h"

static uint64_t
vg__ttlprobe_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline, for poll(2); 0 once it passed. */
static int
vg__left(uint64_t deadline)
{
    uint64_t now = vg__ttlprobe_now_ms();

    if (now >= deadline) {
        return 0;
    }
    return deadline - now > 60000 ? 60000 : (int)(deadline - now);
}

enum vg_ttl_kind
vg_ttl_icmp_kind(int family, uint8_t type)
{
    /* RFC 792: type 11 time exceeded; RFC 4443: ICMPv6 type 3 time exceeded. */
    if ((family == AF_INET && type == 11) || (family == AF_INET6 && type == 3)) {
        return VG_TTL_EXCEEDED;
    }
    return VG_TTL_UNREACH;
}

static void
vg__offender(const struct sockaddr *sa, size_t avail, char *out, size_t cap)
{
    out[0] = '\0';
    if (sa->sa_family == AF_INET && avail >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;

        memcpy(&sin, sa, sizeof(sin));
        if (inet_ntop(AF_INET, &sin.sin_addr, out, (socklen_t)cap) == NULL) {
            out[0] = '\0';
        }
    } else if (sa->sa_family == AF_INET6 && avail >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 sin6;

        memcpy(&sin6, sa, sizeof(sin6));
        if (inet_ntop(AF_INET6, &sin6.sin6_addr, out, (socklen_t)cap) == NULL) {
            out[0] = '\0';
        }
    }
}

int
vg_ttl_parse_cmsgs(struct msghdr *msg, struct vg_ttl_icmp *icmp, int *ip_ttl)
{
    struct cmsghdr *cm;
    int found = 0;

    memset(icmp, 0, sizeof(*icmp));
    *ip_ttl = -1;
    for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
        bool is_err = (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
                      (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR);
        bool is_ttl = (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_TTL) ||
                      (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT);

        if (is_err) {
            struct sock_extended_err ee;
            size_t data_len;

            if (cm->cmsg_len < CMSG_LEN(sizeof(ee))) {
                return VG_ETRUNC;
            }
            data_len = cm->cmsg_len - CMSG_LEN(0);
            memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
            icmp->icmp = ee.ee_origin == SO_EE_ORIGIN_ICMP || ee.ee_origin == SO_EE_ORIGIN_ICMP6;
            icmp->type = ee.ee_type;
            icmp->code = ee.ee_code;
            icmp->err = -(int)ee.ee_errno;
            /* SO_EE_OFFENDER: the sender's address follows the structure, AF_UNSPEC if none. */
            if (data_len >= sizeof(ee) + sizeof(sa_family_t)) {
                struct sockaddr_storage off;
                size_t avail = data_len - sizeof(ee);

                memset(&off, 0, sizeof(off));
                memcpy(&off, CMSG_DATA(cm) + sizeof(ee), avail < sizeof(off) ? avail : sizeof(off));
                vg__offender((const struct sockaddr *)&off, avail, icmp->offender,
                             sizeof(icmp->offender));
            }
            found = 1;
        } else if (is_ttl) {
            int v;

            if (cm->cmsg_len < CMSG_LEN(sizeof(v))) {
                return VG_ETRUNC;
            }
            memcpy(&v, CMSG_DATA(cm), sizeof(v));
            *ip_ttl = v >= 0 && v <= VG_TTL_MAX ? v : -1;
        }
    }
    return found;
}

static int
vg__family(int fd)
{
    int family = AF_UNSPEC;
    socklen_t sl = sizeof(family);

    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &sl) != 0) {
        return AF_UNSPEC;
    }
    return family;
}

int
vg_ttl_set(int fd, int ttl)
{
    int family = vg__family(fd), v = ttl < 0 ? -1 : ttl, rc;

    VG_ENSURE(ttl <= VG_TTL_MAX && ttl != 0, VG_EINVAL);
    if (family == AF_INET6) {
        rc = setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v));
    } else if (family == AF_INET) {
        rc = setsockopt(fd, IPPROTO_IP, IP_TTL, &v, sizeof(v));
    } else {
        return VG_EINVAL;
    }
    return rc == 0 ? 0 : vg_err_from_errno(errno);
}

/* A non-blocking socket of type for sa's family with the error queue (and received TTLs) on. */
static int
vg__socket(const struct sockaddr *sa, int type, int *out)
{
    int one = 1, fd;
    bool v6 = sa->sa_family == AF_INET6;

    *out = -1;
    VG_ENSURE(sa->sa_family == AF_INET || v6, VG_EINVAL);
    fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return vg_err_from_errno(errno);
    }
    if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVERR : IP_RECVERR, &one,
                   sizeof(one)) != 0) {
        int e = errno;

        close(fd);
        return vg_err_from_errno(e);
    }
    if (type == SOCK_DGRAM) {
        /* Best effort: a reply's TTL is evidence (TTL-mirroring injectors), not a requirement. */
        (void)setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVHOPLIMIT : IP_RECVTTL,
                         &one, sizeof(one));
    }
    *out = fd;
    return 0;
}

static socklen_t
vg__salen(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* Drain fd's error queue into obs: the last ICMP error read wins. Returns true if one was read. */
static bool
vg__read_errqueue(int fd, struct vg_ttl_obs *obs)
{
    bool any = false;

    for (int i = 0; i < 8; i++) {
        uint8_t data[64], ctl[512];
        struct iovec iov = {data, sizeof(data)};
        struct msghdr mh;
        struct vg_ttl_icmp icmp;
        int ttl;

        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl;
        mh.msg_controllen = sizeof(ctl);
        if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
            break;
        }
        if (vg_ttl_parse_cmsgs(&mh, &icmp, &ttl) != 1 || !icmp.icmp) {
            continue;
        }
        any = true;
        obs->icmp_seen = true;
        obs->icmp_type = icmp.type;
        obs->icmp_code = icmp.code;
        vg_strlcpy(obs->router, icmp.offender, sizeof(obs->router));
        obs->kind = vg_ttl_icmp_kind(vg__family(fd), icmp.type);
    }
    return any;
}

static int
vg__sock_error(int fd)
{
    int e = 0;
    socklen_t sl = sizeof(e);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0) {
        return vg_err_from_errno(errno);
    }
    return e == 0 ? 0 : vg_err_from_errno(e);
}

void
vg_ttl_close(int fd)
{
    struct linger lg = {1, 0};
    int rc;

    if (fd < 0) {
        return;
    }
    /* Best effort: the RST should reach the peer, but closing matters more. */
    rc = vg_ttl_set(fd, -1);
    (void)rc;
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

int
vg_ttl_tcp_connect(const struct sockaddr *sa, unsigned timeout_ms, int *out)
{
    uint64_t deadline = vg__ttlprobe_now_ms() + timeout_ms;
    int fd, rc;

    *out = -1;
    VG_TRY(vg__socket(sa, SOCK_STREAM, &fd));
    if (connect(fd, sa, vg__salen(sa)) != 0 && errno != EINPROGRESS) {
        rc = vg_err_from_errno(errno);
        close(fd);
        return rc;
    }
    for (;;) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        int n = poll(&pfd, 1, vg__left(deadline));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            close(fd);
            return n == 0 ? VG_ETIMEDOUT : vg_err_from_errno(errno);
        }
        break;
    }
    rc = vg__sock_error(fd);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

/* The first event of a probe: note when, and give whatever else may come grace_ms more. */
static void
vg__first_event(struct vg_ttl_obs *obs, uint64_t t0, unsigned grace_ms, uint64_t *deadline)
{
    uint64_t now = vg__ttlprobe_now_ms();

    if (obs->ms > 0) {
        return;
    }
    obs->ms = now > t0 ? (double)(now - t0) : 0.001;
    if (now + grace_ms < *deadline) {
        *deadline = now + grace_ms;
    }
}

static bool
vg__is_icmp_err(int e)
{
    return e == VG_EHOSTUNREACH || e == VG_ENETUNREACH;
}

int
vg_ttl_tcp_send(int fd, int ttl, const void *p, size_t len, unsigned timeout_ms, unsigned grace_ms,
                uint8_t *buf, size_t cap, struct vg_ttl_obs *obs)
{
    uint64_t t0, deadline;

    memset(obs, 0, sizeof(*obs));
    VG_TRY(vg_ttl_set(fd, ttl));
    t0 = vg__ttlprobe_now_ms();
    deadline = t0 + timeout_ms;
    VG_TRY(vg_ttl_tcp_write(fd, p, len, timeout_ms));
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int n = poll(&pfd, 1, vg__left(deadline)), e;
        ssize_t r;

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return vg_err_from_errno(errno);
        }
        if (n == 0) {
            break; /* SILENT, or what an ICMP error left */
        }
        if (pfd.revents & POLLERR) {
            (void)vg__read_errqueue(fd, obs);
            e = vg__sock_error(fd);
            if (e == VG_ECONNRESET) {
                obs->kind = VG_TTL_RESET;
                obs->sock_err = e;
                obs->ms = 0;
                vg__first_event(obs, t0, 0, &deadline);
                break;
            }
            if (vg__is_icmp_err(e) && !obs->icmp_seen) {
                /* An established connection makes ICMP errors this, and queues nothing. */
                obs->icmp_seen = true;
                obs->kind = VG_TTL_EXCEEDED;
            }
            if (e < 0) {
                obs->sock_err = e;
            }
            if (obs->icmp_seen) {
                vg__first_event(obs, t0, grace_ms, &deadline);
            }
            if (!(pfd.revents & (POLLIN | POLLHUP))) {
                continue;
            }
        }
        r = recv(fd, buf, cap, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (r < 0 && vg__is_icmp_err(vg_err_from_errno(errno))) {
            obs->icmp_seen = true;
            if (obs->kind == VG_TTL_SILENT) {
                obs->kind = VG_TTL_EXCEEDED;
            }
            vg__first_event(obs, t0, grace_ms, &deadline);
            continue;
        }
        if (r > 0) {
            obs->kind = VG_TTL_DATA;
            obs->len = (size_t)r;
        } else if (r == 0) {
            obs->kind = VG_TTL_EOF;
        } else {
            obs->sock_err = vg_err_from_errno(errno);
            obs->kind = obs->sock_err == VG_ECONNRESET ? VG_TTL_RESET : VG_TTL_UNREACH;
        }
        obs->ms = 0;
        vg__first_event(obs, t0, 0, &deadline);
        break;
    }
    return 0;
}

int
vg_ttl_tcp_write(int fd, const void *p, size_t len, unsigned timeout_ms)
{
    uint64_t deadline = vg__ttlprobe_now_ms() + timeout_ms;
    const uint8_t *b = p;
    size_t off = 0;

    while (off < len) {
        ssize_t w = send(fd, b + off, len - off, MSG_NOSIGNAL);
        struct pollfd pfd = {fd, POLLOUT, 0};
        int n;

        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            return vg_err_from_errno(errno);
        }
        n = poll(&pfd, 1, vg__left(deadline));
        if (n == 0) {
            return VG_ETIMEDOUT;
        }
        if (n < 0 && errno != EINTR) {
            return vg_err_from_errno(errno);
        }
    }
    return 0;
}

int
vg_ttl_tcp_recv(int fd, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
    uint64_t deadline = vg__ttlprobe_now_ms() + timeout_ms;

    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int n = poll(&pfd, 1, vg__left(deadline));
        ssize_t r;

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return vg_err_from_errno(errno);
        }
        if (n == 0) {
            return VG_ETIMEDOUT;
        }
        if (pfd.revents & POLLERR) {
            int e;
            struct vg_ttl_obs ignored;

            memset(&ignored, 0, sizeof(ignored));
            (void)vg__read_errqueue(fd, &ignored);
            e = vg__sock_error(fd);
            /* A late ICMP error for a segment sent with a low TTL: not this read's business. */
            if (e < 0 && e != VG_EHOSTUNREACH && e != VG_ENETUNREACH) {
                return e;
            }
            if (!(pfd.revents & (POLLIN | POLLHUP))) {
                continue;
            }
        }
        r = recv(fd, buf, cap, 0);
        if (r >= 0) {
            return (int)(r > 0x7fffffff ? 0x7fffffff : r);
        }
        if (errno != EAGAIN && errno != EINTR && errno != EHOSTUNREACH && errno != ENETUNREACH) {
            return vg_err_from_errno(errno);
        }
    }
}

int
vg_ttl_syn(const struct sockaddr *sa, int ttl, unsigned timeout_ms, struct vg_ttl_obs *obs)
{
    uint64_t t0, deadline;
    int fd, rc;

    memset(obs, 0, sizeof(*obs));
    VG_TRY(vg__socket(sa, SOCK_STREAM, &fd));
    rc = vg_ttl_set(fd, ttl);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    t0 = vg__ttlprobe_now_ms();
    deadline = t0 + timeout_ms;
    if (connect(fd, sa, vg__salen(sa)) != 0 && errno != EINPROGRESS) {
        /* Refused or unreachable at once (a local route), not a network answer. */
        rc = vg_err_from_errno(errno);
        close(fd);
        return rc;
    }
    for (;;) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        int n = poll(&pfd, 1, vg__left(deadline));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = vg_err_from_errno(errno);
            close(fd);
            return rc;
        }
        if (n == 0) {
            break; /* SILENT */
        }
        vg__first_event(obs, t0, 0, &deadline);
        if (vg__read_errqueue(fd, obs)) {
            (void)vg__sock_error(fd);
            break;
        }
        rc = vg__sock_error(fd);
        obs->sock_err = rc;
        if (rc == 0) {
            obs->kind = VG_TTL_CONNECTED;
        } else if (rc == VG_ECONNREFUSED) {
            obs->kind = VG_TTL_REFUSED;
        } else if (rc == VG_EHOSTUNREACH || rc == VG_ENETUNREACH) {
            obs->icmp_seen = true;
            obs->kind = VG_TTL_EXCEEDED;
        } else {
            obs->kind = VG_TTL_UNREACH;
        }
        break;
    }
    vg_ttl_close(fd);
    return 0;
}

int
vg_ttl_udp(const struct sockaddr *sa, int ttl, const void *p, size_t len, unsigned timeout_ms,
           unsigned grace_ms, vg_ttl_dgram_cb cb, void *arg, struct vg_ttl_obs *obs)
{
    uint64_t t0, deadline;
    int fd, rc;

    memset(obs, 0, sizeof(*obs));
    VG_TRY(vg__socket(sa, SOCK_DGRAM, &fd));
    rc = connect(fd, sa, vg__salen(sa)) != 0 ? vg_err_from_errno(errno) : vg_ttl_set(fd, ttl);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    t0 = vg__ttlprobe_now_ms();
    deadline = t0 + timeout_ms;
    if (send(fd, p, len, 0) < 0) {
        rc = vg_err_from_errno(errno);
        close(fd);
        return rc;
    }
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int n = poll(&pfd, 1, vg__left(deadline));
        bool event = false;

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        if (pfd.revents & POLLERR) {
            enum vg_ttl_kind before = obs->kind;

            if (vg__read_errqueue(fd, obs)) {
                event = true;
                if (before == VG_TTL_DATA) {
                    obs->kind = VG_TTL_DATA; /* an answer outranks a router's error */
                }
            }
            (void)vg__sock_error(fd);
        }
        if (pfd.revents & POLLIN) {
            uint8_t dgram[4096], ctl[256];
            struct iovec iov = {dgram, sizeof(dgram)};
            struct msghdr mh;
            struct vg_ttl_icmp icmp;
            ssize_t r;
            int ip_ttl = -1;

            memset(&mh, 0, sizeof(mh));
            mh.msg_iov = &iov;
            mh.msg_iovlen = 1;
            mh.msg_control = ctl;
            mh.msg_controllen = sizeof(ctl);
            r = recvmsg(fd, &mh, MSG_DONTWAIT);
            if (r >= 0) {
                if (vg_ttl_parse_cmsgs(&mh, &icmp, &ip_ttl) < 0) {
                    ip_ttl = -1;
                }
                if (!(mh.msg_flags & MSG_TRUNC) && cb(dgram, (size_t)r, ip_ttl, arg)) {
                    obs->n_dgrams++;
                    obs->kind = VG_TTL_DATA;
                    event = true;
                }
            }
        }
        if (event) {
            vg__first_event(obs, t0, grace_ms, &deadline);
        }
    }
    close(fd);
    return 0;
}
