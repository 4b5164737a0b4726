/* SPDX-License-Identifier: MIT */
/*
 * html.c - the page title, extracted exactly as OONI's Go probe does with
 * regexp `(?i)<title>([^<]{1,512})</title>` (measurexlite.WebGetTitle), without a regex engine.
 *
 * Why this is equivalent: the title cannot contain '<' and "</title>" starts with '<', so for a
 * candidate "<title>" the title can only end at the first '<' after it. A candidate matches when
 * that '<' opens "</title>" and the title in between has 1..512 characters. The next candidate
 * cannot start before that '<' (a candidate starts with '<' and "<title>" holds only one), so the
 * search resumes there: every byte is looked at a bounded number of times, linear time overall.
 *
 * Go regexps count characters, not bytes: {1,512} means 512 UTF-8 code points, and Go's decoder
 * takes each byte of an invalid sequence as one U+FFFD. utf8_char_len() follows the same rules,
 * so non-ASCII titles match as they do in OONI measurements. The (?i) folding of "title" is plain
 * ASCII: none of t, i, l, e has a non-ASCII simple case fold.
 */
#include "proto/html.h"

#include <stdbool.h>
#include <string.h>

#include "util/limits.h"
#include "util/rd.h"

static const char open_tag[] = "<title>";
static const char close_tag[] = "</title>";

/* Do the next bytes of rd spell tag, ASCII case-insensitively? rd is not moved. */
static bool
at_tag(const struct vg_rd *rd, const char *tag)
{
    struct vg_rd r = *rd;
    size_t n = strlen(tag);

    for (size_t i = 0; i < n; i++) {
        uint8_t c;

        if (vg_rd_u8(&r, &c) != 0) {
            return false;
        }
        if (c >= 'A' && c <= 'Z') {
            c = (uint8_t)(c - 'A' + 'a');
        }
        if (c != (uint8_t)tag[i]) {
            return false;
        }
    }
    return true;
}

static bool
in_range(uint8_t c, uint8_t lo, uint8_t hi)
{
    return c >= lo && c <= hi;
}

/*
 * Length of the character at the cursor as Go's utf8.DecodeRune sees it: a valid sequence of 1 to 4
 * bytes (no overlongs, no surrogates, nothing past U+10FFFF), or 1 for any invalid byte.
 */
static size_t
utf8_char_len(const struct vg_rd *rd)
{
    struct vg_rd r = *rd;
    uint8_t b0, b;
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf;

    if (vg_rd_u8(&r, &b0) != 0 || b0 < 0xc2 || b0 > 0xf4) {
        return 1;
    }
    if (b0 < 0xe0) {
        need = 1;
    } else if (b0 < 0xf0) {
        need = 2;
        if (b0 == 0xe0) {
            lo = 0xa0;
        } else if (b0 == 0xed) {
            hi = 0x9f;
        }
    } else {
        need = 3;
        if (b0 == 0xf0) {
            lo = 0x90;
        } else if (b0 == 0xf4) {
            hi = 0x8f;
        }
    }
    /* Only the second byte has a narrowed range; the others are plain continuation bytes. */
    for (size_t i = 0; i < need; i++) {
        if (vg_rd_u8(&r, &b) != 0 || !in_range(b, lo, hi)) {
            return 1;
        }
        lo = 0x80;
        hi = 0xbf;
    }
    return need + 1;
}

/* Characters in rd (Go's count), stopping early once past max. */
static size_t
count_chars(struct vg_rd rd, size_t max)
{
    size_t n = 0;

    while (!vg_rd_done(&rd) && n <= max) {
        if (vg_rd_skip(&rd, utf8_char_len(&rd)) != 0) {
            break;
        }
        n++;
    }
    return n;
}

size_t
vg_html_title(const uint8_t *body, size_t len, char *out, size_t cap)
{
    struct vg_rd rd;
    size_t rel;

    if (cap > 0) {
        out[0] = '\0';
    }
    vg_rd_init(&rd, body, len);
    while (vg_rd_find(&rd, "<", 1, &rel) == 0) {
        struct vg_rd title;
        const uint8_t *bytes;
        size_t n, chars, copy;

        if (vg_rd_skip(&rd, rel) != 0) {
            break;
        }
        if (!at_tag(&rd, open_tag)) {
            if (vg_rd_skip(&rd, 1) != 0) {
                break;
            }
            continue;
        }
        if (vg_rd_skip(&rd, sizeof(open_tag) - 1) != 0 || vg_rd_find(&rd, "<", 1, &n) != 0) {
            break; /* no '<' left: no "</title>" either */
        }
        if (vg_rd_bytes(&rd, n, &bytes) != 0) {
            break;
        }
        /* rd now sits on the '<' that ends this candidate; the next search starts there. */
        if (n == 0 || !at_tag(&rd, close_tag)) {
            continue;
        }
        vg_rd_init(&title, bytes, n);
        chars = count_chars(title, VG_HTML_TITLE_MAX);
        if (chars < 1 || chars > VG_HTML_TITLE_MAX) {
            continue;
        }
        if (cap == 0) {
            return 0;
        }
        copy = n < cap - 1 ? n : cap - 1;
        memcpy(out, bytes, copy);
        out[copy] = '\0';
        return copy;
    }
    return 0;
}
