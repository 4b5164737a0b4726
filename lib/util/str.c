/* SPDX-License-Identifier: MIT */
#include "util/str.h"

#include <string.h>

#include "util/mem.h"

int
vg_strlcpy(char *dst, const char *src, size_t cap)
{
    size_t n = strlen(src);

    VG_ENSURE(cap > 0, VG_EINVAL);
    if (n >= cap) {
        memcpy(dst, src, cap - 1);
        dst[cap - 1] = '\0';
        return VG_ETOOBIG;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

int
vg_parse_u64n(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    VG_ENSURE(len > 0 && len <= 20, VG_EINVAL);
    for (size_t i = 0; i < len; i++) {
        unsigned d;

        VG_ENSURE(s[i] >= '0' && s[i] <= '9', VG_EINVAL);
        d = (unsigned)(s[i] - '0');
        VG_ENSURE(v <= (UINT64_MAX - d) / 10, VG_ETOOBIG);
        v = v * 10 + d;
    }
    VG_ENSURE(v >= min && v <= max, VG_ETOOBIG);
    *out = v;
    return 0;
}

int
vg_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    return vg_parse_u64n(s, strlen(s), min, max, out);
}

int
vg_parse_duration_ms(const char *s, uint64_t *ms)
{
    size_t len = strlen(s), ilen = 0, flen = 0;
    uint64_t ip = 0, fp = 0, scale = 1000, fdiv = 1;
    const char *unit;

    while (ilen < len && s[ilen] >= '0' && s[ilen] <= '9') {
        ilen++;
    }
    VG_TRY(vg_parse_u64n(s, ilen, 0, 100000000, &ip));
    unit = s + ilen;
    if (*unit == '.') {
        unit++;
        while (unit[flen] >= '0' && unit[flen] <= '9') {
            flen++;
        }
        VG_ENSURE(flen > 0 && flen <= 3, VG_EINVAL);
        VG_TRY(vg_parse_u64n(unit, flen, 0, 999, &fp));
        for (size_t i = 0; i < flen; i++) {
            fdiv *= 10;
        }
        unit += flen;
    }
    if (strcmp(unit, "ms") == 0) {
        scale = 1;
    } else if (strcmp(unit, "s") == 0 || *unit == '\0') {
        scale = 1000;
    } else if (strcmp(unit, "m") == 0) {
        scale = 60000;
    } else if (strcmp(unit, "h") == 0) {
        scale = 3600000;
    } else {
        return VG_EINVAL;
    }
    *ms = ip * scale + fp * scale / fdiv;
    return 0;
}

bool
vg_strncaseeq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

        if (x >= 'A' && x <= 'Z') {
            x = (unsigned char)(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = (unsigned char)(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
        if (x == '\0') {
            return true;
        }
    }
    return true;
}

void
vg_str_lower(char *s)
{
    for (; *s != '\0'; s++) {
        if (*s >= 'A' && *s <= 'Z') {
            *s = (char)(*s - 'A' + 'a');
        }
    }
}

long
vg_base64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;

    while (len > 0 && s[len - 1] == '=') {
        len--;
    }
    if (len % 4 == 1) {
        return VG_EPROTO;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        unsigned v = c >= 'A' && c <= 'Z'   ? (unsigned)(c - 'A')
                     : c >= 'a' && c <= 'z' ? (unsigned)(c - 'a' + 26)
                     : c >= '0' && c <= '9' ? (unsigned)(c - '0' + 52)
                     : c == '+'             ? 62u
                     : c == '/'             ? 63u
                                            : 64u;

        if (v == 64) {
            return VG_EPROTO;
        }
        acc = (acc << 6 | v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap) {
                return VG_ETOOBIG;
            }
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)o;
}

char *
vg_base64(const uint8_t *p, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t olen = 4 * ((len + 2) / 3), o = 0, i = 0;
    char *out = vg_xmalloc(olen + 1);

    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);

        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

void
vg_hex(const uint8_t *p, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

int
vg_hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

char *
vg_str_trim(char *s)
{
    size_t len;
    char *start = s;

    while (*start == ' ' || *start == '\t' || *start == '\r' || *start == '\n') {
        start++;
    }
    len = strlen(start);
    while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t' || start[len - 1] == '\r' ||
                       start[len - 1] == '\n')) {
        len--;
    }
    memmove(s, start, len);
    s[len] = '\0';
    return s;
}

/* Length of the valid UTF-8 sequence at p[0..left), or 0 if it is not valid. */
static size_t
vg__utf8_seq(const uint8_t *p, size_t left)
{
    uint8_t c = p[0];
    size_t need;
    uint32_t cp, min;

    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        cp = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        cp = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (left < need) {
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return need;
}

bool
vg_utf8_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t n = vg__utf8_seq(p + i, len - i);

        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

char *
vg_utf8_sanitize(const uint8_t *p, size_t len, size_t *outlen)
{
    /* Worst case every byte becomes the 3-byte replacement character. */
    char *out = vg_xmalloc(len * 3 + 1);
    size_t i = 0, o = 0;

    while (i < len) {
        size_t n = p[i] == 0 ? 0 : vg__utf8_seq(p + i, len - i);

        if (n == 0) {
            out[o++] = (char)0xef;
            out[o++] = (char)0xbf;
            out[o++] = (char)0xbd;
            i++;
            continue;
        }
        memcpy(out + o, p + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    if (outlen != NULL) {
        *outlen = o;
    }
    return out;
}

void
vg_utf8_copy(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;

    if (n < len) {
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80) {
            n--;
        }
    }
    if (n > 0) {
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
}
