/* SPDX-License-Identifier: MIT */
/*
 * auth.c - upload credentials (auth.h): the tokens file read and checked, kept as SHA-256
 * digests, swapped in whole on reload, and a presented Bearer token found in constant time.
 */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/crypto.h"
#include "util/mem.h"
#include "util/str.h"

struct vg__cred {
    uint8_t digest[32]; /* SHA-256 of the token */
    char name[VG_STORE_PROV_MAX + 1];
    size_t line;
};

struct vg__auth_table {
    struct vg__cred *c;
    size_t n;
};

struct vg_auth {
    pthread_mutex_t mu; /* t */
    struct vg__auth_table *t;
    char *path; /* the file (vg_auth_load), or NULL */
};

static void
vg__auth_table_free(struct vg__auth_table *t)
{
    if (t != NULL) {
        explicit_bzero(t->c, t->n * sizeof(*t->c));
        free(t->c);
        free(t);
    }
}

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool
vg__auth_token_ok(const char *p, size_t n)
{
    size_t i = 0;

    if (n < VG_AUTH_TOKEN_MIN || n > VG_AUTH_TOKEN_MAX) {
        return false;
    }
    while (i < n && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                     (p[i] >= '0' && p[i] <= '9') || strchr("-._~+/", p[i]) != NULL)) {
        i++;
    }
    if (i == 0) {
        return false;
    }
    while (i < n && p[i] == '=') {
        i++;
    }
    return i == n;
}

static bool
vg__auth_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int
vg__auth_cmp_digest(const void *a, const void *b)
{
    return memcmp(((const struct vg__cred *)a)->digest, ((const struct vg__cred *)b)->digest, 32);
}

/* One line (without its newline): a credential into t, nothing for a blank or comment line. */
static int
vg__auth_line(const char *p, size_t n, size_t line, struct vg__auth_table *t, char *err,
              size_t errlen)
{
    size_t i = 0, name0, name_n, tok0, tok_n;
    struct vg__cred *c;

    while (n > 0 && (p[n - 1] == '\r' || vg__auth_blank(p[n - 1]))) {
        n--;
    }
    while (i < n && vg__auth_blank(p[i])) {
        i++;
    }
    if (i == n || p[i] == '#') {
        return 0;
    }
    name0 = i;
    while (i < n && !vg__auth_blank(p[i])) {
        i++;
    }
    name_n = i - name0;
    while (i < n && vg__auth_blank(p[i])) {
        i++;
    }
    tok0 = i;
    while (i < n && !vg__auth_blank(p[i])) {
        i++;
    }
    tok_n = i - tok0;
    if (tok_n == 0 || i != n) {
        snprintf(err, errlen, "line %zu: expected NAME TOKEN", line);
        return VG_EINVAL;
    }
    if (t->n == VG_AUTH_LINES_MAX) {
        snprintf(err, errlen, "line %zu: more than %d credentials", line, VG_AUTH_LINES_MAX);
        return VG_EINVAL;
    }
    c = &t->c[t->n];
    if (name_n > VG_STORE_PROV_MAX) {
        snprintf(err, errlen, "line %zu: a name has at most %d characters", line,
                 VG_STORE_PROV_MAX);
        return VG_EINVAL;
    }
    memcpy(c->name, p + name0, name_n);
    c->name[name_n] = '\0';
    if (!vg_store_provenance_ok(c->name) || strcmp(c->name, VG_STORE_ANONYMOUS) == 0) {
        snprintf(err, errlen,
                 "line %zu: a name is made of A-Z a-z 0-9 _ . - (and is not \"anonymous\")", line);
        return VG_EINVAL;
    }
    if (!vg__auth_token_ok(p + tok0, tok_n)) {
        snprintf(err, errlen,
                 "line %zu: a token has %d to %d characters among A-Z a-z 0-9 - . _ ~ + / "
                 "(then '=')",
                 line, VG_AUTH_TOKEN_MIN, VG_AUTH_TOKEN_MAX);
        return VG_EINVAL;
    }
    vg_sha256(p + tok0, tok_n, c->digest);
    c->line = line;
    t->n++;
    return 0;
}

static struct vg_auth *
vg__auth_new(struct vg__auth_table *t)
{
    struct vg_auth *a = vg_xcalloc(1, sizeof(*a));

    pthread_mutex_init(&a->mu, NULL);
    a->t = t;
    return a;
}

/* The table of text[len], or an error. */
static int
vg__auth_table_parse(const char *text, size_t len, struct vg__auth_table **out, char *err,
                     size_t errlen)
{
    struct vg__auth_table *t = vg_xcalloc(1, sizeof(*t));
    size_t off = 0, line = 1, lines = 1;
    int rc = 0;

    *out = NULL;
    for (size_t i = 0; i < len; i++) {
        lines += text[i] == '\n';
    }
    t->c = vg_xcalloc(lines < VG_AUTH_LINES_MAX ? lines : VG_AUTH_LINES_MAX, sizeof(*t->c));
    if (memchr(text, '\0', len) != NULL) {
        snprintf(err, errlen, "the file holds a NUL byte");
        rc = VG_EINVAL;
    }
    while (rc == 0 && off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl != NULL ? (size_t)(nl - (text + off)) : len - off;

        rc = vg__auth_line(text + off, n, line++, t, err, errlen);
        off += n + 1;
    }
    if (rc == 0 && t->n > 1) {
        qsort(t->c, t->n, sizeof(*t->c), vg__auth_cmp_digest);
        for (size_t i = 1; rc == 0 && i < t->n; i++) {
            if (memcmp(t->c[i].digest, t->c[i - 1].digest, 32) == 0) {
                size_t a = t->c[i].line, b = t->c[i - 1].line;

                snprintf(err, errlen, "line %zu: the same token as line %zu", a > b ? a : b,
                         a > b ? b : a);
                rc = VG_EINVAL;
            }
        }
    }
    if (rc < 0) {
        vg__auth_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int
vg_auth_parse(const char *text, size_t len, struct vg_auth **out, char *err, size_t errlen)
{
    struct vg__auth_table *t;

    *out = NULL;
    VG_TRY(vg__auth_table_parse(text, len, &t, err, errlen));
    *out = vg__auth_new(t);
    return 0;
}

/* The file's table: its permissions checked on the open descriptor, its size bounded. */
static int
vg__auth_read(const char *path, struct vg__auth_table **out, char *err, size_t errlen)
{
    struct stat st;
    char *buf;
    size_t len = 0;
    int fd, rc = 0;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return rc;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        close(fd);
        return VG_EACCES;
    }
    if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
        snprintf(err, errlen,
                 "%s can be %s by every user of this machine (mode %04o): it holds credentials;"
                 " chmod o-rw %s",
                 path, (st.st_mode & S_IROTH) != 0 ? "read" : "written",
                 (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return VG_EACCES;
    }
    if (st.st_size > VG_AUTH_FILE_MAX) {
        snprintf(err, errlen, "%s is larger than %d bytes", path, VG_AUTH_FILE_MAX);
        close(fd);
        return VG_ETOOBIG;
    }
    buf = vg_xmalloc(VG_AUTH_FILE_MAX + 1);
    for (;;) {
        ssize_t n = read(fd, buf + len, VG_AUTH_FILE_MAX + 1 - len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || (len += (size_t)n) > VG_AUTH_FILE_MAX) {
            rc = n < 0 ? -errno : 0;
            break;
        }
    }
    close(fd);
    if (rc < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
    } else if (len > VG_AUTH_FILE_MAX) {
        snprintf(err, errlen, "%s is larger than %d bytes", path, VG_AUTH_FILE_MAX);
        rc = VG_ETOOBIG;
    } else {
        char why[256];

        rc = vg__auth_table_parse(buf, len, out, why, sizeof(why));
        if (rc < 0) {
            snprintf(err, errlen, "%s: %s", path, why);
        }
    }
    explicit_bzero(buf, len < VG_AUTH_FILE_MAX ? len : VG_AUTH_FILE_MAX);
    free(buf);
    return rc;
}

int
vg_auth_load(const char *path, struct vg_auth **out, char *err, size_t errlen)
{
    struct vg__auth_table *t;

    *out = NULL;
    VG_TRY(vg__auth_read(path, &t, err, errlen));
    *out = vg__auth_new(t);
    (*out)->path = vg_xstrdup(path);
    return 0;
}

int
vg_auth_reload(struct vg_auth *a, char *err, size_t errlen)
{
    struct vg__auth_table *t, *old;
    int n;

    if (a->path == NULL) {
        snprintf(err, errlen, "no tokens file to read again");
        return VG_EINVAL;
    }
    VG_TRY(vg__auth_read(a->path, &t, err, errlen));
    pthread_mutex_lock(&a->mu);
    old = a->t;
    a->t = t;
    n = (int)t->n;
    pthread_mutex_unlock(&a->mu);
    vg__auth_table_free(old);
    return n;
}

size_t
vg_auth_count(struct vg_auth *a)
{
    size_t n;

    pthread_mutex_lock(&a->mu);
    n = a->t->n;
    pthread_mutex_unlock(&a->mu);
    return n;
}

int
vg_auth_check(struct vg_auth *a, const char *header, char name[VG_STORE_PROV_MAX + 1])
{
    const char *p = header, *tok;
    size_t n, found = 0;
    uint8_t d[32];
    unsigned hit = 0;

    name[0] = '\0';
    n = strnlen(p, VG_AUTH_HEADER_MAX + 1);
    if (n > VG_AUTH_HEADER_MAX) {
        return VG_EPROTO;
    }
    while (vg__auth_blank(*p)) {
        p++;
    }
    if (!vg_strncaseeq(p, "Bearer", 6) || !vg__auth_blank(p[6])) {
        return VG_EPROTO;
    }
    for (tok = p + 6; vg__auth_blank(*tok); tok++) {
    }
    n = strlen(tok);
    while (n > 0 && vg__auth_blank(tok[n - 1])) {
        n--;
    }
    if (!vg__auth_token_ok(tok, n)) {
        return VG_EPROTO;
    }
    vg_sha256(tok, n, d);
    pthread_mutex_lock(&a->mu);
    /* Every digest is compared whole, whatever matched: the time says nothing of the token. */
    for (size_t i = 0; i < a->t->n; i++) {
        unsigned diff = 0, eq;
        size_t mask;

        for (size_t k = 0; k < sizeof(d); k++) {
            diff |= (unsigned)(a->t->c[i].digest[k] ^ d[k]);
        }
        eq = 1u & ((diff - 1u) >> 8); /* 1 when diff == 0 (diff < 256) */
        mask = (size_t)0 - (size_t)eq;
        found = (found & ~mask) | (i & mask);
        hit |= eq;
    }
    if (hit) {
        memcpy(name, a->t->c[found].name, VG_STORE_PROV_MAX + 1);
    }
    pthread_mutex_unlock(&a->mu);
    explicit_bzero(d, sizeof(d));
    return hit ? 0 : VG_EACCES;
}

void
vg_auth_free(struct vg_auth *a)
{
    if (a == NULL) {
        return;
    }
    vg__auth_table_free(a->t);
    pthread_mutex_destroy(&a->mu);
    free(a->path);
    free(a);
}
