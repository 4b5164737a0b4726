/* SPDX-License-Identifier: MIT */
/*
 * ch_tsv.c - the bounded reader of ClickHouse's TabSeparatedWithNamesAndTypes answers (ch_tsv.h).
 * The escapes are those ClickHouse's writer uses (writeAnyEscapedString in 18.16 and later):
 * \b \f \r \n \t \0 \' \\, with \N alone for NULL; any other byte after a backslash is refused,
 * as is a bare control byte that would break the framing (none: TAB and LF are the framing).
 */
#include "ch_tsv.h"

#include <stdio.h>
#include <string.h>

#include "util/mem.h"
#include "util/str.h"

/* One escaped field: its bytes up to the next TAB or LF (not consumed), bounded. */
static int
vg__ch_tsv_field(struct vg__ch_tsv *t, const uint8_t **p, size_t *len, uint8_t *end)
{
    size_t i = 0, left = vg_rd_left(&t->rd);
    const uint8_t *s = t->rd.p + t->rd.off;

    while (i < left && s[i] != '\t' && s[i] != '\n') {
        /* A backslash escapes the next byte, except a raw TAB or LF (ClickHouse writes \t and
         * \n): they end the field, so a row's fields never reach past its first LF, and the
         * unescaping refuses the lone backslash. */
        if (s[i] == '\\' && i + 1 < left && s[i + 1] != '\t' && s[i + 1] != '\n') {
            i++;
        }
        i++;
        if (i > VG_CH_FIELD_MAX) {
            snprintf(t->msg, sizeof(t->msg), "field over %d bytes", VG_CH_FIELD_MAX);
            return VG_ETOOBIG;
        }
    }
    if (i >= left) {
        snprintf(t->msg, sizeof(t->msg), "answer truncated in a field (no end of line)");
        return VG_ETRUNC;
    }
    VG_TRY(vg_rd_bytes(&t->rd, i, p));
    *len = i;
    VG_TRY(vg_rd_u8(&t->rd, end));
    return 0;
}

/* Unescape s[len] into out (room for len bytes); *olen its length. */
static int
vg__ch_tsv_unescape(struct vg__ch_tsv *t, const uint8_t *s, size_t len, char *out, size_t *olen)
{
    struct vg_rd rd;
    size_t n = 0;
    uint8_t b;

    vg_rd_init(&rd, s, len);
    while (!vg_rd_done(&rd)) {
        VG_TRY(vg_rd_u8(&rd, &b));
        if (b == '\\') {
            if (vg_rd_u8(&rd, &b) < 0) {
                snprintf(t->msg, sizeof(t->msg), "backslash at the end of a field");
                return VG_EPROTO;
            }
            switch (b) {
            case 'b':
                b = '\b';
                break;
            case 'f':
                b = '\f';
                break;
            case 'r':
                b = '\r';
                break;
            case 'n':
                b = '\n';
                break;
            case 't':
                b = '\t';
                break;
            case '0':
                b = '\0';
                break;
            case '\'':
            case '\\':
                break;
            default:
                snprintf(t->msg, sizeof(t->msg), "unknown escape \\x%02x in a field", b);
                return VG_EPROTO;
            }
        }
        out[n++] = (char)b;
    }
    *olen = n;
    return 0;
}

/* A type name: [Nullable(]X[)] with X one of the types the reader knows. */
static int
vg__ch_tsv_type(struct vg__ch_tsv *t, size_t k, const char *s, size_t len)
{
    static const char *const ints[] = {"Int8",  "Int16",  "Int32", "Int64",
                                       "UInt8", "UInt16", "UInt32"};
    char name[VG_CH_TYPE_MAX + 1];

    t->nullable[k] = false;
    if (len > 10 && memcmp(s, "Nullable(", 9) == 0 && s[len - 1] == ')') {
        t->nullable[k] = true;
        s += 9;
        len -= 10;
    }
    memcpy(name, s, len);
    name[len] = '\0';
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        if (strcmp(name, ints[i]) == 0) {
            t->type[k] = VG__CH_INT;
            return 0;
        }
    }
    if (strcmp(name, "UInt64") == 0) {
        t->type[k] = VG__CH_UINT64;
        return 0;
    }
    if (strcmp(name, "String") == 0 ||
        (len > 13 && memcmp(name, "FixedString(", 12) == 0 && name[len - 1] == ')')) {
        t->type[k] = VG__CH_STRING;
        return 0;
    }
    vg_utf8_copy(name, sizeof(name), s, len);
    snprintf(t->msg, sizeof(t->msg), "unsupported column type %s (column %zu)", name, k + 1);
    return VG_EPROTO;
}

/* One header line: names (only counted) or types. */
static int
vg__ch_tsv_header(struct vg__ch_tsv *t, bool types)
{
    size_t k = 0;
    uint8_t end = '\t';

    while (end == '\t') {
        const uint8_t *p;
        size_t len;

        VG_TRY(vg__ch_tsv_field(t, &p, &len, &end));
        if (k == VG_CH_COLS_MAX) {
            snprintf(t->msg, sizeof(t->msg), "more than %d columns", VG_CH_COLS_MAX);
            return VG_ETOOBIG;
        }
        if (types) {
            if (len == 0 || len > VG_CH_TYPE_MAX) {
                snprintf(t->msg, sizeof(t->msg), "bad type name (column %zu)", k + 1);
                return VG_EPROTO;
            }
            VG_TRY(vg__ch_tsv_type(t, k, (const char *)p, len));
        }
        k++;
    }
    if (!types) {
        t->ncols = k;
    } else if (k != t->ncols) {
        snprintf(t->msg, sizeof(t->msg), "%zu column names but %zu types", t->ncols, k);
        return VG_EPROTO;
    }
    return 0;
}

int
vg__ch_tsv_open(struct vg__ch_tsv *t, const void *p, size_t len)
{
    int rc;

    memset(t, 0, sizeof(*t));
    vg_rd_init(&t->rd, p, len);
    if (len == 0) {
        snprintf(t->msg, sizeof(t->msg), "empty answer (no header)");
        return VG_ETRUNC;
    }
    rc = vg__ch_tsv_header(t, false);
    if (rc == 0) {
        rc = vg__ch_tsv_header(t, true);
    }
    if (rc < 0 && t->msg[0] == '\0') {
        snprintf(t->msg, sizeof(t->msg), "answer header truncated");
    }
    return rc;
}

static int
vg__ch_tsv_int(struct vg__ch_tsv *t, size_t k, const char *s, size_t len, int64_t *out)
{
    bool neg = len > 0 && s[0] == '-' && t->type[k] == VG__CH_INT;
    uint64_t u;

    /* INT64_MIN's magnitude is INT64_MAX + 1 */
    if (vg_parse_u64n(s + neg, len - neg, 0, (uint64_t)INT64_MAX + neg, &u) < 0) {
        snprintf(t->msg, sizeof(t->msg), "bad integer in column %zu, row %zu", k + 1, t->nrows + 1);
        return VG_EPROTO;
    }
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

/* Room for one row's unescaped bytes: at most its escaped length, up to its first LF. */
static void
vg__ch_tsv_room(struct vg__ch_tsv *t)
{
    size_t left = vg_rd_left(&t->rd);
    const uint8_t *nl = memchr(t->rd.p + t->rd.off, '\n', left);
    size_t need = nl != NULL ? (size_t)(nl - (t->rd.p + t->rd.off)) + 1 : left;

    if (need > t->scratch_cap) {
        VG_FREE(t->scratch);
        t->scratch = vg_xmalloc(need);
        t->scratch_cap = need;
    }
}

int
vg__ch_tsv_next(struct vg__ch_tsv *t, struct vg__val *cols)
{
    size_t used = 0;
    uint8_t end = '\t';

    if (vg_rd_done(&t->rd)) {
        return 0;
    }
    if (t->nrows == VG_CH_ROWS_MAX) {
        snprintf(t->msg, sizeof(t->msg), "more than %d rows", VG_CH_ROWS_MAX);
        return VG_ETOOBIG;
    }
    vg__ch_tsv_room(t);
    for (size_t k = 0; k < t->ncols; k++) {
        const uint8_t *p;
        size_t len, olen;

        if (end != '\t') {
            snprintf(t->msg, sizeof(t->msg), "row %zu has %zu fields, not %zu", t->nrows + 1, k,
                     t->ncols);
            return VG_EPROTO;
        }
        VG_TRY(vg__ch_tsv_field(t, &p, &len, &end));
        if (len == 2 && p[0] == '\\' && p[1] == 'N') {
            if (!t->nullable[k]) {
                snprintf(t->msg, sizeof(t->msg), "NULL in column %zu, not Nullable", k + 1);
                return VG_EPROTO;
            }
            cols[k] = (struct vg__val){.t = VG__NULL};
            continue;
        }
        VG_TRY(vg__ch_tsv_unescape(t, p, len, t->scratch + used, &olen));
        if (t->type[k] == VG__CH_STRING) {
            cols[k] = (struct vg__val){.t = VG__TEXT, .p = t->scratch + used, .len = olen};
        } else {
            cols[k] = (struct vg__val){.t = VG__INT};
            VG_TRY(vg__ch_tsv_int(t, k, t->scratch + used, olen, &cols[k].i));
        }
        used += olen;
    }
    if (end != '\n') {
        snprintf(t->msg, sizeof(t->msg), "row %zu has more than %zu fields", t->nrows + 1,
                 t->ncols);
        return VG_EPROTO;
    }
    t->nrows++;
    return 1;
}

void
vg__ch_tsv_free(struct vg__ch_tsv *t)
{
    VG_FREE(t->scratch);
    t->scratch_cap = 0;
}
