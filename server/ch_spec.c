/* SPDX-License-Identifier: MIT */
/*
 * ch_spec.c - the ClickHouse store's spec (ch_tsv.h, docs/storage.md):
 * clickhouse[s]://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?ca=&timeout_ms=&answer_max=&cluster=],
 * percent-decoded, every byte checked; no message ever repeats the user info.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ch_tsv.h"
#include "util/limits.h"
#include "util/str.h"

#define VG__CH_PORT_HTTP  8123
#define VG__CH_PORT_HTTPS 8443
#define VG__CH_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

/* Percent-decode s[len] into out[cap] (NUL-terminated); no NUL or control byte may result. */
static int
vg__ch_pct(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '%') {
            int hi = i + 2 < len ? vg_hexval(s[i + 1]) : -1;
            int lo = hi >= 0 ? vg_hexval(s[i + 2]) : -1;

            if (lo < 0) {
                return VG_EINVAL;
            }
            ch = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (ch < 0x20 || ch == 0x7f || n + 1 >= cap) {
            return VG_EINVAL;
        }
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    return 0;
}

/* HOST[:PORT] (HOST a name, an IPv4 or an [IPv6] literal). */
static int
vg__ch_hostport(const char *s, size_t len, struct vg__ch_spec *out, char *err, size_t errlen)
{
    size_t hl = len;
    const char *colon = NULL;
    uint64_t port;

    if (len > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', len);

        hl = rb != NULL ? (size_t)(rb - s) + 1 : 0;
        if (hl < 3 || strspn(s + 1, "0123456789abcdefABCDEF:.") != hl - 2) {
            snprintf(err, errlen, "clickhouse: bad IPv6 address in the spec");
            return VG_EINVAL;
        }
        colon = hl < len ? s + hl : NULL;
        if (colon != NULL && *colon != ':') {
            snprintf(err, errlen, "clickhouse: bad host in the spec");
            return VG_EINVAL;
        }
    } else if ((colon = memchr(s, ':', len)) != NULL) {
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= sizeof(out->host)) {
        snprintf(err, errlen, "clickhouse: no host (or one too long) in the spec");
        return VG_EINVAL;
    }
    for (size_t i = 0; s[0] != '[' && i < hl; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_') {
            snprintf(err, errlen, "clickhouse: bad character in the host of the spec");
            return VG_EINVAL;
        }
    }
    memcpy(out->host, s, hl);
    out->host[hl] = '\0';
    if (colon != NULL) {
        if (vg_parse_u64n(colon + 1, len - hl - 1, 1, 65535, &port) < 0) {
            snprintf(err, errlen, "clickhouse: bad port in the spec");
            return VG_EINVAL;
        }
        out->port = (unsigned)port;
    }
    return 0;
}

/* One name=value of the spec's query. */
static int
vg__ch_option(const char *s, size_t len, struct vg__ch_spec *out, char *err, size_t errlen)
{
    const char *eq = memchr(s, '=', len);
    size_t nl = eq != NULL ? (size_t)(eq - s) : len, vl = eq != NULL ? len - nl - 1 : 0;
    uint64_t v;

    if (eq != NULL && nl == 2 && memcmp(s, "ca", 2) == 0) {
        if (vl == 0 || vg__ch_pct(eq + 1, vl, out->ca, sizeof(out->ca)) < 0) {
            snprintf(err, errlen, "clickhouse: bad ca= path in the spec");
            return VG_EINVAL;
        }
        return 0;
    }
    if (eq != NULL && nl == 10 && memcmp(s, "timeout_ms", 10) == 0) {
        if (vg_parse_u64n(eq + 1, vl, 1, 3600000, &v) < 0) {
            snprintf(err, errlen, "clickhouse: timeout_ms= wants 1..3600000 in the spec");
            return VG_EINVAL;
        }
        out->timeout_ms = (unsigned)v;
        return 0;
    }
    if (eq != NULL && nl == 10 && memcmp(s, "answer_max", 10) == 0) {
        if (vg_parse_u64n(eq + 1, vl, 1024, VG_CH_ANSWER_MAX, &v) < 0) {
            snprintf(err, errlen, "clickhouse: answer_max= wants 1024..%d in the spec",
                     VG_CH_ANSWER_MAX);
            return VG_EINVAL;
        }
        out->answer_max = (size_t)v;
        return 0;
    }
    if (eq != NULL && nl == 7 && memcmp(s, "cluster", 7) == 0) {
        if (vl == 0 || vl >= sizeof(out->cluster) || strspn(eq + 1, VG__CH_NAME_CHARS "-.") < vl) {
            snprintf(err, errlen, "clickhouse: cluster= wants [A-Za-z0-9_.-]+ in the spec");
            return VG_EINVAL;
        }
        snprintf(out->cluster, sizeof(out->cluster), "%.*s", (int)vl, eq + 1);
        return 0;
    }
    snprintf(err, errlen,
             "clickhouse: unknown option in the spec (ca, timeout_ms, answer_max, cluster)");
    return VG_EINVAL;
}

int
vg__store_ch_parse_spec(const char *spec, struct vg__ch_spec *out, char *err, size_t errlen)
{
    const char *s, *slash, *at, *q, *end;
    size_t alen;

    memset(out, 0, sizeof(*out));
    out->answer_max = VG_CH_ANSWER_MAX;
    if (strncmp(spec, "clickhouse://", 13) == 0) {
        s = spec + 13;
    } else if (strncmp(spec, "clickhouses://", 14) == 0) {
        s = spec + 14;
        out->tls = true;
    } else {
        snprintf(err, errlen, "clickhouse: the spec starts with clickhouse:// or clickhouses://");
        return VG_EINVAL;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            snprintf(err, errlen, "clickhouse: space or control byte in the spec");
            return VG_EINVAL;
        }
    }
    out->port = out->tls ? VG__CH_PORT_HTTPS : VG__CH_PORT_HTTP;
    slash = strchr(s, '/');
    if (slash == NULL) {
        snprintf(err, errlen, "clickhouse: no /DATABASE in the spec");
        return VG_EINVAL;
    }
    alen = (size_t)(slash - s);
    /* userinfo: up to the last @ of the authority (a password may hold a raw @) */
    at = NULL;
    for (const char *p = s; p < slash; p++) {
        if (*p == '@') {
            at = p;
        }
    }
    if (at != NULL) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        size_t ul = colon != NULL ? (size_t)(colon - s) : (size_t)(at - s);

        if (ul == 0 || vg__ch_pct(s, ul, out->user, sizeof(out->user)) < 0 ||
            (colon != NULL && vg__ch_pct(colon + 1, (size_t)(at - colon - 1), out->password,
                                         sizeof(out->password)) < 0)) {
            /* never echo the user info: it holds the password */
            snprintf(err, errlen, "clickhouse: bad user or password in the spec");
            return VG_EINVAL;
        }
        alen -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    VG_TRY(vg__ch_hostport(s, alen, out, err, errlen));
    q = strchr(slash, '?');
    end = q != NULL ? q : slash + strlen(slash);
    if (end - slash - 1 <= 0 || (size_t)(end - slash - 1) >= sizeof(out->database) ||
        strspn(slash + 1, VG__CH_NAME_CHARS) != (size_t)(end - slash - 1)) {
        snprintf(err, errlen, "clickhouse: the database name wants [A-Za-z0-9_]+ in the spec");
        return VG_EINVAL;
    }
    memcpy(out->database, slash + 1, (size_t)(end - slash - 1));
    while (q != NULL && *q != '\0') {
        const char *amp = strchr(q + 1, '&');
        size_t ol = amp != NULL ? (size_t)(amp - q - 1) : strlen(q + 1);

        VG_TRY(vg__ch_option(q + 1, ol, out, err, errlen));
        q = amp;
    }
    if (out->ca[0] != '\0' && !out->tls) {
        snprintf(err, errlen, "clickhouse: ca= is for clickhouses:// (https)");
        return VG_EINVAL;
    }
    return 0;
}
