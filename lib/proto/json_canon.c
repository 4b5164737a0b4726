/* SPDX-License-Identifier: MIT */
/*
 * json_canon.c - a JSON text in the compact form jansson writes its parse (vg_json_canon,
 * json.h), without building a tree: the collector stores and hashes measurements in this form,
 * which is what it stored when it parsed them with jansson and wrote them back.
 *
 * The input has passed vg_json_parse (valid, UTF-8 checked), so one linear scan suffices. Most
 * of a text that jansson (or vigie's probe, which writes with jansson) wrote is already in that
 * form and goes out in long verbatim runs; only what jansson would write otherwise breaks a run:
 * whitespace, an escape jansson does not use ("\/", "\u0041", "\u00e9", a lower-case hex
 * escape), an integer "-0", a real not in jansson's "%.17g" spelling.
 *
 * jansson 2.14 (dump.c, strconv.c), with JSON_COMPACT and no other flag: separators "," and ":";
 * strings as UTF-8 with '"' and '\\' escaped, \b \f \n \r \t for those controls and \u00XX
 * (upper-case hex) for the other ones below 0x20; integers (no '.', 'e' or 'E', within int64)
 * with "%lld"; reals with "%.17g", ".0" appended when that has neither '.' nor 'e', the
 * exponent without '+' or leading zeros.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "util/err.h"

struct vg__jc {
    const char *in;
    size_t len, i;
    size_t run; /* start of the input not yet written, which is written as it is */
    vg_json_put_fn put;
    void *arg;
    const char *why; /* what jansson would refuse */
    size_t why_at;
};

/* Write the pending run up to end, then n bytes of p, the run going on at resume. */
static int
vg__jc_emit(struct vg__jc *c, size_t end, const char *p, size_t n, size_t resume)
{
    if (end > c->run && c->put(c->in + c->run, end - c->run, c->arg) < 0) {
        return -1;
    }
    if (n > 0 && c->put(p, n, c->arg) < 0) {
        return -1;
    }
    c->run = resume;
    return 0;
}

static unsigned
vg__jc_hex4(const char *p)
{
    unsigned v = 0;

    for (int k = 0; k < 4; k++) {
        char h = p[k];

        v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
    }
    return v;
}

/* How jansson writes code point cp: into out, its length. */
static size_t
vg__jc_char(unsigned cp, char out[8])
{
    static const char hex[] = "0123456789ABCDEF";

    if (cp == '"' || cp == '\\') {
        out[0] = '\\';
        out[1] = (char)cp;
        return 2;
    }
    if (cp < 0x20) {
        const char *s = strchr("\bb\ff\nn\rr\tt", (int)cp);

        out[0] = '\\';
        if (cp != 0 && s != NULL) {
            out[1] = s[1];
            return 2;
        }
        memcpy(out, "\\u00", 4);
        out[4] = hex[cp >> 4];
        out[5] = hex[cp & 15];
        return 6;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* The escape at in[i] ('\\'): its length in the input, and how jansson writes it (out, *n). */
static size_t
vg__jc_escape(const char *in, size_t i, char out[8], size_t *n)
{
    unsigned cp;
    size_t used = 6;

    switch (in[i + 1]) {
    case 'u':
        break;
    case '/':
        out[0] = '/';
        *n = 1;
        return 2;
    default: /* \" \\ \b \f \n \r \t: jansson's own */
        out[0] = '\\';
        out[1] = in[i + 1];
        *n = 2;
        return 2;
    }
    cp = vg__jc_hex4(in + i + 2);
    if (cp >= 0xd800 && cp < 0xdc00) { /* paired: the parse refused a lone surrogate */
        cp = 0x10000 + ((cp - 0xd800) << 10) + (vg__jc_hex4(in + i + 8) - 0xdc00);
        used = 12;
    }
    *n = vg__jc_char(cp, out);
    return used;
}

/* The first '"' or '\\' at or after in[i], or len: eight bytes at a time (most strings are
 * short, where two memchr calls cost more than the scan). */
static size_t
vg__jc_special(const char *in, size_t i, size_t len)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;

    while (len - i >= 8) {
        uint64_t w, q, b, m;

        memcpy(&w, in + i, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        m = (((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
        if (m != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            /* the lowest flag is exact (a borrow only runs upwards): the first special */
            return i + (unsigned)__builtin_ctzll(m) / 8;
#else
            break;
#endif
        }
        i += 8;
    }
    while (i < len && in[i] != '"' && in[i] != '\\') {
        i++;
    }
    return i;
}

/* The string whose opening quote is at c->i: written as jansson would, c->i past its end. */
static int
vg__jc_string(struct vg__jc *c)
{
    const char *in = c->in;
    size_t i = c->i + 1;

    for (;;) {
        char out[8];
        size_t n, used;

        i = vg__jc_special(in, i, c->len);
        if (i >= c->len) {
            c->i = c->len; /* not terminated (the input was checked) */
            return 0;
        }
        if (in[i] == '"') {
            c->i = i + 1;
            return 0;
        }
        used = vg__jc_escape(in, i, out, &n);
        if ((n != used || memcmp(out, in + i, n) != 0) && vg__jc_emit(c, i, out, n, i + used) < 0) {
            return -1;
        }
        i += used;
    }
}

/* Write d as jansson 2.14's jsonp_dtostr does with precision prec (1..17): its length. */
static size_t
vg__jc_real(double d, int prec, char out[40])
{
    int w = snprintf(out, 40, "%.*g", prec, d);
    size_t n = w > 0 && w < 36 ? (size_t)w : 0;
    char *e;

    out[n] = '\0';
    if (strchr(out, '.') == NULL && strchr(out, 'e') == NULL) {
        memcpy(out + n, ".0", 3);
        n += 2;
    }
    if ((e = strchr(out, 'e')) != NULL) {
        char *start = e + 1, *end = start + 1;

        if (*start == '-') {
            start++;
        }
        while (*end == '0') {
            end++;
        }
        if (end != start) {
            memmove(start, end, n + 1 - (size_t)(end - out));
            n -= (size_t)(end - start);
        }
    }
    return n;
}

/* The number at c->i: written as jansson would, c->i past its end. */
static int
vg__jc_number(struct vg__jc *c)
{
    const char *in = c->in;
    size_t i = c->i, n;
    bool real = false;
    char buf[40], out[40];

    for (; i < c->len; i++) {
        char ch = in[i];

        if (ch == '.' || ch == 'e' || ch == 'E') {
            real = true;
        } else if (!((ch >= '0' && ch <= '9') || ch == '-' || ch == '+')) {
            break;
        }
    }
    n = i - c->i;
    if (n == 0) {
        c->i++; /* not a number (the input was checked): written as it is */
        return 0;
    }
    if (!real) {
        /* -?(0|[1-9][0-9]*): "-0" is jansson's 0; past int64 it refuses the text. */
        size_t digits = n - (in[c->i] == '-');

        if (n == 2 && in[c->i] == '-' && in[c->i + 1] == '0') {
            n = c->i;
            c->i = i;
            return vg__jc_emit(c, n, "0", 1, i);
        }
        if (digits >= 19) {
            memcpy(buf, in + c->i, n < 39 ? n : 39);
            buf[n < 39 ? n : 39] = '\0';
            errno = 0;
            (void)strtoll(buf, NULL, 10);
            if (digits > 19 || errno == ERANGE) {
                c->why = in[c->i] == '-' ? "too big negative integer" : "too big integer";
                c->why_at = c->i;
                return -1;
            }
        }
        c->i = i;
        return 0;
    }
    {
        char *text = n < sizeof(buf) ? buf : malloc(n + 1);
        double d;
        size_t m;

        if (text == NULL) {
            c->why = "out of memory";
            c->why_at = c->i;
            return -1;
        }
        memcpy(text, in + c->i, n);
        text[n] = '\0';
        errno = 0;
        d = strtod(text, NULL);
        if (text != buf) {
            free(text);
        }
        if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE) {
            c->why = "real number overflow";
            c->why_at = c->i;
            return -1;
        }
        m = vg__jc_real(d, 17, out);
        if (m != n || memcmp(out, in + c->i, n) != 0) {
            size_t at = c->i;

            c->i = i;
            return vg__jc_emit(c, at, out, m, i);
        }
        c->i = i;
        return 0;
    }
}

static size_t
vg__jc_blank(const char *p, size_t len, size_t i)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) {
        i++;
    }
    return i;
}

/* Past the value at p[i] (valid JSON), for a member that a set replaces. */
static size_t
vg__jc_value_end(const char *p, size_t len, size_t i)
{
    unsigned depth = 0;

    while (i < len) {
        char ch = p[i];

        if (ch == '"') {
            for (i++; i < len && p[i] != '"'; i++) {
                i += p[i] == '\\';
            }
            i++;
            if (depth == 0) {
                return i;
            }
            continue;
        }
        if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            if (depth == 0) {
                return i;
            }
            if (--depth == 0) {
                return i + 1;
            }
        } else if (depth == 0 &&
                   (ch == ',' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')) {
            return i;
        }
        i++;
    }
    return len;
}

static int
vg__jc_discard(const char *p, size_t n, void *arg)
{
    (void)p;
    (void)n;
    (void)arg;
    return 0;
}

static int vg__jc_run(struct vg__jc *c, struct vg_json_set *sets, size_t nsets);

/* The value at c->i, up to end, that a set replaces: not written, but read as jansson would
 * read it (a number it refuses there refuses the text); c->i past it. */
static int
vg__jc_replaced(struct vg__jc *c, size_t end)
{
    struct vg__jc sub = {.in = c->in, .len = end, .i = c->i, .run = c->i, .put = vg__jc_discard};

    if (vg__jc_run(&sub, NULL, 0) < 0) {
        c->why = sub.why;
        c->why_at = sub.why_at;
        return -1;
    }
    c->i = end;
    return 0;
}

/* The key whose opening quote is at c->i, at the top level: which of sets it names (-1: none).
 * Keys with escapes are compared as jansson would write them. */
static int
vg__jc_key_set(const struct vg__jc *c, struct vg_json_set *sets, size_t nsets)
{
    const char *k = c->in + c->i + 1;
    const char *q = memchr(k, '"', c->len - c->i - 1);
    char dec[64];
    size_t n = 0;

    for (const char *p = k; p < q;) {
        char out[8];
        size_t m, used;

        if (*p != '\\') {
            if (n >= sizeof(dec)) {
                return -1;
            }
            dec[n++] = *p++;
            continue;
        }
        used = vg__jc_escape(p, 0, out, &m);
        if (used == 2 && p[1] == '"') {
            /* an escaped quote: q was not the end; no set name holds one */
            return -1;
        }
        if (n + m > sizeof(dec)) {
            return -1;
        }
        memcpy(dec + n, out, m);
        n += m;
        p += used;
    }
    for (size_t s = 0; s < nsets; s++) {
        if (strlen(sets[s].name) == n && memcmp(sets[s].name, dec, n) == 0) {
            return (int)s;
        }
    }
    return -1;
}

/* The members of sets the object did not have, before its closing brace at c->i. */
static int
vg__jc_append(struct vg__jc *c, struct vg_json_set *sets, size_t nsets, bool members)
{
    VG_TRY(vg__jc_emit(c, c->i, NULL, 0, c->i));
    for (size_t s = 0; s < nsets; s++) {
        if (sets[s].seen) {
            continue;
        }
        if ((members && c->put(",", 1, c->arg) < 0) || c->put("\"", 1, c->arg) < 0 ||
            c->put(sets[s].name, strlen(sets[s].name), c->arg) < 0 ||
            c->put("\":", 2, c->arg) < 0 || c->put(sets[s].value, sets[s].value_len, c->arg) < 0) {
            return -1;
        }
        members = true;
    }
    return 0;
}

/* The text from c->i to c->len through c->put (vg_json_canon). */
static int
vg__jc_run(struct vg__jc *c, struct vg_json_set *sets, size_t nsets)
{
    const char *p = c->in;
    size_t len = c->len, at;
    unsigned depth = 0;
    bool key = false, members = false;
    int rc = 0, s;

    while (rc == 0 && c->i < len) {
        char ch = p[c->i];

        switch (ch) {
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            at = c->i;
            c->i = vg__jc_blank(p, len, c->i);
            rc = vg__jc_emit(c, at, NULL, 0, c->i);
            continue;
        case '"':
            s = depth == 1 && key && nsets > 0 ? vg__jc_key_set(c, sets, nsets) : -1;
            rc = vg__jc_string(c);
            if (s >= 0 && rc == 0) {
                /* the name, ':', then the new value in place of the old one */
                at = c->i;
                c->i = vg__jc_blank(p, len, c->i) + 1; /* past ':' */
                c->i = vg__jc_blank(p, len, c->i);
                rc = vg__jc_replaced(c, vg__jc_value_end(p, len, c->i));
                if (rc == 0) {
                    rc = vg__jc_emit(c, at, ":", 1, c->i);
                }
                if (rc == 0) {
                    rc = c->put(sets[s].value, sets[s].value_len, c->arg);
                }
                sets[s].seen = true;
                members = true;
            }
            key = false;
            continue;
        case '{':
        case '[':
            depth++;
            key = depth == 1 && ch == '{';
            break;
        case '}':
        case ']':
            if (depth == 1 && ch == '}' && nsets > 0) {
                rc = vg__jc_append(c, sets, nsets, members);
            }
            depth--;
            break;
        case ',':
            key = depth == 1;
            break;
        case ':':
            members = members || depth == 1;
            break;
        case 't':
        case 'n':
            c->i += 4;
            continue;
        case 'f':
            c->i += 5;
            continue;
        default:
            rc = vg__jc_number(c);
            continue;
        }
        c->i++;
    }
    if (rc == 0) {
        rc = vg__jc_emit(c, len, NULL, 0, len);
    }
    return rc;
}

int
vg_json_canon(const char *p, size_t len, struct vg_json_set *sets, size_t nsets, vg_json_put_fn put,
              void *arg, char *err, size_t errlen)
{
    struct vg__jc c = {.in = p, .len = len, .put = put, .arg = arg};
    int rc;

    for (size_t k = 0; k < nsets; k++) {
        sets[k].seen = false;
    }
    rc = vg__jc_run(&c, sets, nsets);
    if (rc < 0 && err != NULL && errlen > 0) {
        if (c.why != NULL) {
            snprintf(err, errlen, "invalid JSON at byte %zu: %s", c.why_at, c.why);
        } else {
            snprintf(err, errlen, "the text cannot be written");
        }
    }
    return rc < 0 ? (c.why != NULL ? VG_EPROTO : VG_EINVAL) : 0;
}

size_t
vg_json_put_char(unsigned cp, char out[8])
{
    return vg__jc_char(cp, out);
}

size_t
vg_json_put_real(double d, int prec, char out[40])
{
    return vg__jc_real(d, prec, out);
}
