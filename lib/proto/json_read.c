/* SPDX-License-Identifier: MIT */
/*
 * json_read.c - reading the tree vg_json_parse built (proto/json.h): members by name, typed
 * values, and the strict check of a document from a live peer (no repeated name, no NUL).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "util/mem.h"

/* ---- reading the tree ----------------------------------------------------------------------- */

const struct vg_json *
vg_json_get(const struct vg_json *o, const char *key)
{
    const struct vg_json *c, *found = NULL;
    size_t n;

    if (o == NULL || o->type != VG_JSON_OBJECT || key == NULL) {
        return NULL;
    }
    n = strlen(key);
    for (c = o->child; c != NULL; c = c->next) {
        if (c->key_len == n && memcmp(c->key, key, n) == 0) {
            found = c; /* the last one wins */
        }
    }
    return found;
}

const char *
vg_json_str(const struct vg_json *v)
{
    return v != NULL && v->type == VG_JSON_STRING ? v->s : NULL;
}

bool
vg_json_int(const struct vg_json *v, int64_t *out)
{
    const char *s;
    uint64_t mag = 0, lim;
    bool neg;

    if (v == NULL || v->type != VG_JSON_NUMBER) {
        return false;
    }
    s = v->s;
    neg = *s == '-';
    s += neg;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (*s < '0' || *s > '9') {
        return false;
    }
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned dgt = (unsigned)(*s - '0');

        if (mag > (lim - dgt) / 10) {
            return false;
        }
        mag = mag * 10 + dgt;
    }
    if (*s != '\0') { /* fraction or exponent */
        return false;
    }
    *out = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return true;
}

bool
vg_json_num(const struct vg_json *v, double *out)
{
    double x;
    char *end;

    if (v == NULL || v->type != VG_JSON_NUMBER) {
        return false;
    }
    errno = 0;
    x = strtod(v->s, &end);
    if (*end != '\0' || (errno == ERANGE && isinf(x))) {
        return false;
    }
    *out = x;
    return true;
}

bool
vg_json_bool(const struct vg_json *v, bool *out)
{
    if (v == NULL || v->type != VG_JSON_BOOL) {
        return false;
    }
    *out = v->b;
    return true;
}

bool
vg_json_is_null(const struct vg_json *v)
{
    return v != NULL && v->type == VG_JSON_NULL;
}

static int
vg__json_key_cmp(const void *a, const void *b)
{
    const struct vg_json *x = *(const struct vg_json *const *)a;
    const struct vg_json *y = *(const struct vg_json *const *)b;

    if (x->key_len != y->key_len) {
        return x->key_len < y->key_len ? -1 : 1;
    }
    return memcmp(x->key, y->key, x->key_len);
}

/* Members of an object whose names vg__json_unique_keys checks in a table on the stack (twice
 * as many slots, a power of two); past that, they are sorted. */
#define VG__JSON_KEYS_TABLE 256

/* The members of object o (up to VG__JSON_KEYS_TABLE of them) have distinct names: each name
 * hashed (FNV-1a) into an open-addressed table, names compared only within a probe. 1 when
 * distinct, 0 when one repeats, -1 when o has more members than the table takes. */
static int
vg__json_unique_keys_table(const struct vg_json *o)
{
    const struct vg_json *slot[2 * VG__JSON_KEYS_TABLE];
    const size_t mask = 2 * VG__JSON_KEYS_TABLE - 1;
    size_t n = 0;

    memset(slot, 0, sizeof(slot));
    for (const struct vg_json *c = o->child; c != NULL; c = c->next) {
        uint32_t h = 2166136261u;
        size_t i;

        for (uint32_t k = 0; k < c->key_len; k++) {
            h = (h ^ (unsigned char)c->key[k]) * 16777619u;
        }
        if (++n > VG__JSON_KEYS_TABLE) {
            return -1; /* the table stays at most half full */
        }
        for (i = h & mask; slot[i] != NULL; i = (i + 1) & mask) {
            if (slot[i]->key_len == c->key_len && memcmp(slot[i]->key, c->key, c->key_len) == 0) {
                return 0;
            }
        }
        slot[i] = c;
    }
    return 1;
}

/* The members of object o have distinct names: pairwise for a few, hashed for more, sorted for
 * many. */
static bool
vg__json_unique_keys(const struct vg_json *o)
{
    const struct vg_json **all;
    size_t n = 0;
    bool ok = true;
    int rc;

    if (o->len <= 16) {
        for (const struct vg_json *a = o->child; a != NULL; a = a->next) {
            for (const struct vg_json *b = a->next; b != NULL; b = b->next) {
                if (a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0) {
                    return false;
                }
            }
        }
        return true;
    }
    if (o->len <= VG__JSON_KEYS_TABLE && (rc = vg__json_unique_keys_table(o)) >= 0) {
        return rc == 1;
    }
    all = vg_xreallocarray(NULL, o->len, sizeof(*all));
    for (const struct vg_json *c = o->child; c != NULL && n < o->len; c = c->next) {
        all[n++] = c;
    }
    qsort(all, n, sizeof(*all), vg__json_key_cmp);
    for (size_t i = 1; i < n && ok; i++) {
        ok = vg__json_key_cmp(&all[i - 1], &all[i]) != 0;
    }
    free(all);
    return ok;
}

bool
vg_json_strict(const struct vg_json *v)
{
    if (v == NULL) {
        return true;
    }
    if (v->key != NULL && strlen(v->key) != v->key_len) {
        return false;
    }
    if (v->type == VG_JSON_STRING) {
        return strlen(v->s) == v->len;
    }
    if (v->type == VG_JSON_OBJECT && !vg__json_unique_keys(v)) {
        return false;
    }
    for (const struct vg_json *c = vg_json_first(v); c != NULL; c = c->next) {
        if (!vg_json_strict(c)) {
            return false;
        }
    }
    return true;
}
