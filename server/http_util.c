/*
 * http_util.c - the pieces vigie's HTTP servers share (http_util.h): one libmicrohttpd daemon
 * setup, one way to answer and to report errors, one request log format, one histogram.
 */
#include "http_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "str.h"

#define VG__PEM_MAX (1024 * 1024) /* a certificate chain or key file */

int
vg_http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
    char host[INET6_ADDRSTRLEN];
    const char *port_s;
    uint64_t port;
    size_t hl;

    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        if (end == NULL || end[1] != ':') {
            return VG_EINVAL;
        }
        hl = (size_t)(end - s - 1);
        port_s = end + 2;
        s++;
    } else {
        const char *colon = strrchr(s, ':');

        if (colon == NULL) {
            return VG_EINVAL;
        }
        hl = (size_t)(colon - s);
        port_s = colon + 1;
    }
    if (hl == 0 || hl >= sizeof(host)) {
        return VG_EINVAL;
    }
    memcpy(host, s, hl);
    host[hl] = '\0';
    VG_TRY(vg_parse_u64(port_s, 0, 65535, &port));
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)(void *)ss)->sin_addr) == 1) {
        struct sockaddr_in *s4 = (void *)ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *sl = sizeof(*s4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)(void *)ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *s6 = (void *)ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *sl = sizeof(*s6);
        return 0;
    }
    return VG_EINVAL;
}

static char *
vg__read_pem(const char *path, size_t *len, char *err, size_t errlen)
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
        vg_buf_cleanup(&b);
        return NULL;
    }
    return (char *)b.data;
fail:
    fclose(f);
    vg_buf_cleanup(&b);
    return NULL;
}

static void
vg__mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct vg_http_server *s = cls;
    char msg[512];

    if (s->log == NULL) {
        return;
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(s->log, "%s: libmicrohttpd: %s%s", s->name, msg,
            msg[0] != '\0' && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

int
vg_http_server_start(struct vg_http_server *s, const struct vg_http_server_opts *o, char *err,
                     size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    struct MHD_OptionItem items[6];
    size_t ni = 0;
    unsigned flags = MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *di;
    char host[INET6_ADDRSTRLEN];

    memset(s, 0, sizeof(*s));
    s->quiesced_fd = -1;
    s->log = o->log;
    s->name = o->name;
    if (vg_http_parse_listen(o->listen, &ss, &sl) < 0) {
        snprintf(err, errlen, "invalid listen address '%s' (expected IP:PORT or [IPv6]:PORT)",
                 o->listen);
        return VG_EINVAL;
    }
    if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
        snprintf(err, errlen, "serving HTTPS needs both a certificate and a key");
        return VG_EINVAL;
    }
    if (o->tls_cert != NULL) {
        size_t cert_len;

        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            snprintf(err, errlen, "this libmicrohttpd has no TLS support");
            return VG_EINVAL;
        }
        s->pem_cert = vg__read_pem(o->tls_cert, &cert_len, err, errlen);
        if (s->pem_cert == NULL ||
            (s->pem_key = vg__read_pem(o->tls_key, &s->pem_key_len, err, errlen)) == NULL) {
            vg_http_server_stop(s);
            return VG_EINVAL;
        }
        items[ni++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->pem_cert};
        items[ni++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->pem_key};
        flags |= MHD_USE_TLS;
    }
    if (o->thread_per_conn) {
        flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    } else {
        flags |= MHD_USE_EPOLL_INTERNAL_THREAD;
        items[ni++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, o->threads, NULL};
    }
    if (o->max_connections > 0) {
        items[ni++] =
            (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, o->max_connections, NULL};
    }
    items[ni] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (o->suspend_resume) {
        flags |= MHD_ALLOW_SUSPEND_RESUME;
    }
    if (ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    /* The logger goes first, so that option errors reach it too. */
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, o->on_request, o->cls, MHD_OPTION_EXTERNAL_LOGGER,
                            vg__mhd_log, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_NOTIFY_COMPLETED, o->on_completed, o->cls,
                            MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout_s, MHD_OPTION_ARRAY,
                            items, MHD_OPTION_END);
    if (s->d == NULL) {
        snprintf(err, errlen, "cannot serve on %s (address in use, or not local?)", o->listen);
        vg_http_server_stop(s);
        return VG_EINVAL;
    }
    di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&ss)->sin_addr, host, sizeof(host));
    } else {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)&ss)->sin6_addr, host, sizeof(host));
    }
    snprintf(s->url, sizeof(s->url), ss.ss_family == AF_INET ? "%s://%s:%u/" : "%s://[%s]:%u/",
             o->tls_cert != NULL ? "https" : "http", host, di != NULL ? (unsigned)di->port : 0U);
    return 0;
}

void
vg_http_server_quiesce(struct vg_http_server *s)
{
    if (s->d != NULL && s->quiesced_fd < 0) {
        s->quiesced_fd = MHD_quiesce_daemon(s->d);
    }
}

void
vg_http_server_stop(struct vg_http_server *s)
{
    if (s->d != NULL) {
        MHD_stop_daemon(s->d);
        s->d = NULL;
    }
    if (s->quiesced_fd >= 0) {
        close(s->quiesced_fd);
        s->quiesced_fd = -1;
    }
    if (s->pem_key != NULL) {
        explicit_bzero(s->pem_key, s->pem_key_len);
    }
    VG_FREE(s->pem_key);
    VG_FREE(s->pem_cert);
}

enum MHD_Result
vg_http_respond(struct MHD_Connection *c, unsigned code, const char *server, const char *type,
                char *body, size_t len, bool owned, const char *const *extra)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(len, body,
                                           owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        if (owned) {
            free(body);
        }
        return MHD_NO;
    }
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, server);
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (code == MHD_HTTP_SERVICE_UNAVAILABLE) {
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, VG_HTTP_RETRY_AFTER);
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL && extra[i + 1] != NULL; i += 2) {
        (void)MHD_add_response_header(resp, extra[i], extra[i + 1]);
    }
    ret = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    return ret;
}

char *
vg_http_error_json(const char *msg)
{
    json_t *j = json_pack("{s:s}", "error", msg);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    if (text == NULL) {
        /* Not valid UTF-8, or out of memory in jansson: a generic error still answers. */
        return vg_xstrdup("{\"error\":\"error\"}");
    }
    return text;
}

bool
vg_http_declared_over(struct MHD_Connection *c, size_t max)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t n;

    return cl != NULL && vg_parse_u64(cl, 0, UINT64_MAX, &n) == 0 && n > max;
}

void
vg_http_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c > 0x20 && c < 0x7f && c != '%') {
            if (o + 1 >= cap) {
                break;
            }
            out[o++] = (char)c;
        } else {
            if (o + 3 >= cap) {
                break;
            }
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

void
vg_http_client_ip(struct MHD_Connection *c, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    vg_strlcpy(out, "?", cap);
    if (ci != NULL && ci->client_addr != NULL) {
        const struct sockaddr *sa = ci->client_addr;

        if (sa->sa_family == AF_INET) {
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                      (socklen_t)cap);
        } else if (sa->sa_family == AF_INET6) {
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                      (socklen_t)cap);
        }
    }
}

double
vg_http_since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

void
vg_http_log_request(FILE *log, const char *method, const char *path, int status, double seconds,
                    const char *extra, struct MHD_Connection *client)
{
    char when[40], code[12] = "-", ip[INET6_ADDRSTRLEN] = "", who[INET6_ADDRSTRLEN + 16] = "";
    struct timespec now;
    struct tm tm;

    if (log == NULL) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    if (status >= 0) {
        snprintf(code, sizeof(code), "%d", status);
    }
    if (client != NULL) {
        vg_http_client_ip(client, ip, sizeof(ip));
        snprintf(who, sizeof(who), " client=%s", ip);
    }
    fprintf(log, "%s.%03ldZ %s %s %s %.3fs %s%s\n", when, now.tv_nsec / 1000000, method, path, code,
            seconds, extra, who);
    fflush(log);
}

void
vg_http_hist_init(struct vg_http_hist *h, const double *bounds, size_t n)
{
    memset(h, 0, sizeof(*h));
    h->bounds = bounds;
    h->n = n < VG_HTTP_HIST_MAX ? n : VG_HTTP_HIST_MAX;
}

void
vg_http_hist_observe(struct vg_http_hist *h, double v)
{
    size_t i = 0;

    while (i < h->n && v > h->bounds[i]) {
        i++;
    }
    h->counts[i]++;
    h->sum += v;
    h->total++;
}

int
vg_http_hist_write(struct vg_buf *b, const char *name, const char *help,
                   const struct vg_http_hist *h)
{
    unsigned long long cum = 0;

    VG_TRY(vg_buf_appendf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name));
    for (size_t i = 0; i < h->n; i++) {
        cum += h->counts[i];
        VG_TRY(vg_buf_appendf(b, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], cum));
    }
    cum += h->counts[h->n];
    VG_TRY(vg_buf_appendf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, cum,
                          name, h->sum, name, h->total));
    return 0;
}
