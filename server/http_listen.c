/* SPDX-License-Identifier: MIT */
/*
 * http_listen.c - what a server needs privileges for, taken before they are dropped
 * (http_util.h): its listening socket, bound (a port below 1024 needs root or
 * CAP_NET_BIND_SERVICE), and its TLS certificate and key, read into memory (a key readable by
 * root only).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_util.h"
#include "util/mem.h"

#define VG__PEM_MAX (1024 * 1024) /* a certificate chain or key file */

char *
vg_http_read_pem(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct vg_buf b;
    uint8_t *dst;
    size_t n;

    if (f == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    vg_buf_init(&b, VG__PEM_MAX);
    for (;;) {
        if (vg_buf_reserve(&b, 4096, &dst) < 0) {
            snprintf(err, errlen, "%s: larger than %d bytes", path, VG__PEM_MAX);
            goto fail;
        }
        n = fread(dst, 1, 4096, f);
        b.len += n;
        if (n < 4096) {
            break;
        }
    }
    if (ferror(f) || b.len == 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, b.len == 0 ? "empty" : "read error");
        goto fail;
    }
    fclose(f);
    *len = b.len;
    if (vg_buf_cstr(&b) == NULL) {
        snprintf(err, errlen, "%s: larger than %d bytes", path, VG__PEM_MAX);
        explicit_bzero(b.data, b.len);
        vg_buf_cleanup(&b);
        return NULL;
    }
    return (char *)b.data;
fail:
    fclose(f);
    if (b.data != NULL) {
        explicit_bzero(b.data, b.len);
    }
    vg_buf_cleanup(&b);
    return NULL;
}

/* A socket bound to ss and listening, as libmicrohttpd makes its own: SO_REUSEADDR, IPv6
 * only on an IPv6 address, non-blocking, closed on exec. */
static int
vg__http_bind(const struct sockaddr_storage *ss, socklen_t sl, int *out)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), on = 1, e;

    if (fd < 0) {
        return -errno;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ss->ss_family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    }
    if (bind(fd, (const struct sockaddr *)ss, sl) != 0 || listen(fd, SOMAXCONN) != 0) {
        e = errno;
        close(fd);
        return -e;
    }
    *out = fd;
    return 0;
}

int
vg_http_listener_open(struct vg_http_listener *l, const char *listen, const char *tls_cert,
                      const char *tls_key, char *err, size_t errlen)
{
    socklen_t sl;
    int rc;

    memset(l, 0, sizeof(*l));
    l->fd = -1;
    if (listen == NULL || vg_http_parse_listen(listen, &l->ss, &sl) < 0) {
        snprintf(err, errlen, "invalid listen address '%s' (expected IP:PORT or [IPv6]:PORT)",
                 listen != NULL ? listen : "");
        return VG_EINVAL;
    }
    if ((tls_cert == NULL) != (tls_key == NULL)) {
        snprintf(err, errlen, "serving HTTPS needs both a certificate and a key");
        return VG_EINVAL;
    }
    if (tls_cert != NULL) {
        size_t cert_len;

        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            snprintf(err, errlen, "this libmicrohttpd has no TLS support");
            return VG_EINVAL;
        }
        l->pem_cert = vg_http_read_pem(tls_cert, &cert_len, err, errlen);
        if (l->pem_cert == NULL ||
            (l->pem_key = vg_http_read_pem(tls_key, &l->pem_key_len, err, errlen)) == NULL) {
            vg_http_listener_close(l);
            return VG_EINVAL;
        }
    }
    rc = vg__http_bind(&l->ss, sl, &l->fd);
    if (rc < 0) {
        snprintf(err, errlen, "cannot serve on %s: %s", listen, strerror(-rc));
        vg_http_listener_close(l);
        return VG_EINVAL;
    }
    return 0;
}

void
vg_http_listener_close(struct vg_http_listener *l)
{
    if (l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
    }
    if (l->pem_key != NULL) {
        explicit_bzero(l->pem_key, l->pem_key_len);
    }
    VG_FREE(l->pem_key);
    VG_FREE(l->pem_cert);
    l->pem_key_len = 0;
}
