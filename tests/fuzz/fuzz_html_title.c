/* SPDX-License-Identifier: MIT */
/*
 * fuzz_html_title.c - the linear title search against a direct, quadratic reading of
 * (?i)<title>([^<]{1,512})</title> (on short inputs), and output bounds for several caps.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/html.h"
#include "util/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static bool
ci_at(const uint8_t *p, size_t len, size_t i, const char *tag)
{
    size_t n = strlen(tag);

    if (i > len || len - i < n) {
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        uint8_t c = p[i + k];

        if (c >= 'A' && c <= 'Z') {
            c = (uint8_t)(c + 32);
        }
        if (c != (uint8_t)tag[k]) {
            return false;
        }
    }
    return true;
}

/* Go's utf8.DecodeRune width, written out independently of html.c's table. */
static size_t
rune_width(const uint8_t *p, size_t n)
{
    uint32_t cp;
    size_t w;

    if (p[0] < 0x80) {
        return 1;
    } else if ((p[0] & 0xe0) == 0xc0) {
        w = 2, cp = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        w = 3, cp = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        w = 4, cp = p[0] & 0x07;
    } else {
        return 1;
    }
    if (n < w) {
        return 1;
    }
    for (size_t k = 1; k < w; k++) {
        if ((p[k] & 0xc0) != 0x80) {
            return 1;
        }
        cp = cp << 6 | (p[k] & 0x3f);
    }
    if ((w == 2 && cp < 0x80) || (w == 3 && cp < 0x800) || (w == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 1;
    }
    return w;
}

/* Leftmost start s and every end e: the regex, spelt out. */
static bool
reference(const uint8_t *p, size_t len, size_t *off, size_t *n)
{
    for (size_t s = 0; s < len; s++) {
        size_t runes = 0, i;

        if (!ci_at(p, len, s, "<title>")) {
            continue;
        }
        for (i = s + 7; i < len && p[i] != '<' && runes <= VG_HTML_TITLE_MAX;) {
            i += rune_width(p + i, len - i);
            runes++;
            if (runes >= 1 && runes <= VG_HTML_TITLE_MAX && ci_at(p, len, i, "</title>")) {
                *off = s + 7;
                *n = i - s - 7;
                return true;
            }
        }
    }
    return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[4 * VG_HTML_TITLE_MAX + 1];
    size_t n, ref_off = 0, ref_n = 0;
    bool found;

    n = vg_html_title(data, size, out, sizeof(out));
    check(n < sizeof(out) && out[n] == '\0');
    if (size <= 8192) {
        found = reference(data, size, &ref_off, &ref_n);
        check(found == (n > 0));
        check(!found || (n == ref_n && memcmp(out, data + ref_off, n) == 0));
    }
    for (size_t cap = 1; cap < 6; cap++) {
        char small[6];
        size_t m = vg_html_title(data, size, small, cap);

        check(m < cap && small[m] == '\0');
        check(m == (n < cap - 1 ? n : cap - 1));
        check(memcmp(small, out, m) == 0);
    }
    return 0;
}
