/* SPDX-License-Identifier: MIT */
/*
 * fuzz_scrub.c - the address matcher (vg_ip_scan_next, lib/proto/ipaddr.c) and the scrubber built
 * on it (vg_rec_scrub, lib/meas/record.c). The first line of the input holds addresses separated by
 * spaces (192.0.2.7 and 2001:db8::77 are always in the set); the rest is the text.
 * Checks: every match is in bounds, names an address of the set, and is whole (no digit or dot
 * continues an IPv4 text, no address character an IPv6 one); once scrubbed, the text holds no
 * match and no canonical form of an address standing alone; a text that is JSON keeps every value
 * and holds no match in any string or key.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/record.h"
#include "proto/ipaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
is_run(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
}

static bool
is_v4char(char c)
{
    return (c >= '0' && c <= '9') || c == '.';
}

/* The match s[off, off + n) is an address of set, written whole in s[from, len). */
static void
check_match(const struct vg_ip_set *set, const char *s, size_t len, size_t from, size_t off,
            size_t n)
{
    char tmp[VG_IP_TEXT_MAX];
    uint8_t a[16] = {0};
    bool v6 = memchr(s + off, ':', n) != NULL;
    size_t l = off, r = off + n;

    if (off < from || n == 0 || n >= sizeof(tmp) || off + n > len) {
        abort();
    }
    memcpy(tmp, s + off, n);
    tmp[n] = '\0';
    a[10] = a[11] = 0xff;
    if (v6 ? inet_pton(AF_INET6, tmp, a) != 1 : inet_pton(AF_INET, tmp, a + 12) != 1) {
        abort();
    }
    if (!vg_ip_set_has(set, a)) {
        abort();
    }
    /* Whole: IPv4 not continued by digits (through dots); IPv6 delimited by what ends a run,
     * past dots and one colon. */
    if (v6) {
        if (l > from && s[l - 1] == ':' && s[l] != ':') {
            l--;
        }
        if (r < len && s[r] == ':' && s[r - 1] != ':') {
            r++;
        }
    }
    while (l > from && s[l - 1] == '.') {
        l--;
    }
    while (r < len && s[r] == '.') {
        r++;
    }
    if ((l > from && (v6 ? is_run(s[l - 1]) : is_v4char(s[l - 1]))) ||
        (r < len && (v6 ? is_run(s[r]) : is_v4char(s[r])))) {
        abort();
    }
}

/* Every match of s, checked; their count. */
static size_t
check_text(const struct vg_ip_set *set, const char *s, size_t len)
{
    size_t at = 0, off, n, count = 0;
    struct vg_ip_scan sc;

    vg_ip_scan_init(&sc, s, len);
    while (vg_ip_scan_next(&sc, set, &off, &n)) {
        if (off < at) {
            abort(); /* in order, never overlapping */
        }
        check_match(set, s, len, 0, off, n);
        at = off + n;
        count++;
    }
    return count;
}

/* No canonical form of an address of set stands alone in s (memmem: independent of the
 * matcher). */
static void
check_no_canonical(const struct vg_ip_set *set, const char *s, size_t len)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    for (size_t i = 0; i < set->n; i++) {
        char text[VG_IP_TEXT_MAX];
        const char *p = s;
        size_t tl;

        if (memcmp(set->addr[i], mapped, 12) == 0) {
            inet_ntop(AF_INET, set->addr[i] + 12, text, sizeof(text));
        } else {
            inet_ntop(AF_INET6, set->addr[i], text, sizeof(text));
        }
        tl = strlen(text);
        while ((p = memmem(p, len - (size_t)(p - s), text, tl)) != NULL) {
            size_t at = (size_t)(p - s);

            if ((at == 0 || !is_run(s[at - 1])) && (at + tl == len || !is_run(s[at + tl]))) {
                abort();
            }
            p++;
        }
    }
}

static size_t
count_values(json_t *j)
{
    const char *key;
    json_t *v;
    size_t i, n = 1;

    if (json_is_object(j)) {
        json_object_foreach(j, key, v)
        {
            n += count_values(v);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            n += count_values(v);
        }
    }
    return n;
}

/* No match left in any string or key of j. */
static void
check_json_clean(const struct vg_ip_set *set, json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_object(j)) {
        json_object_foreach(j, key, v)
        {
            if (check_text(set, key, strlen(key)) != 0) {
                abort();
            }
            check_json_clean(set, v);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            check_json_clean(set, v);
        }
    } else if (json_is_string(j) && check_text(set, json_string_value(j), json_string_length(j))) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *nl = memchr(s, '\n', size);
    size_t head = nl != NULL ? (size_t)(nl - s) : 0, len;
    struct vg_ip_set set = {0};
    json_t *str, *j;

    if (vg_ip_set_add(&set, "192.0.2.7", 9) < 0 || vg_ip_set_add(&set, "2001:db8::77", 12) < 0) {
        abort();
    }
    for (size_t i = 0; i < head;) {
        size_t n = 0;

        while (i + n < head && s[i + n] != ' ') {
            n++;
        }
        if (vg_ip_set_add(&set, s + i, n) < 0) {
            /* not an address, or the set is full: the text is checked with the others */
        }
        i += n + 1;
    }
    s += nl != NULL ? head + 1 : 0;
    len = size - (nl != NULL ? head + 1 : 0);
    (void)check_text(&set, s, len);
    /* The text as one JSON string (when it is UTF-8), scrubbed. */
    str = json_stringn(s, len);
    if (str != NULL) {
        (void)vg_rec_scrub(str, &set);
        if (check_text(&set, json_string_value(str), json_string_length(str)) != 0) {
            abort();
        }
        check_no_canonical(&set, json_string_value(str), json_string_length(str));
        json_decref(str);
    }
    /* The text as a measurement. */
    j = json_loadb(s, len, 0, NULL);
    if (j != NULL) {
        size_t before = count_values(j);

        (void)vg_rec_scrub(j, &set);
        if (count_values(j) != before) {
            abort();
        }
        check_json_clean(&set, j);
        json_decref(j);
    }
    return 0;
}
