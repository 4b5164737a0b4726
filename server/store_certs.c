/* SPDX-License-Identifier: MIT */
/*
 * store_certs.c - certificates seen (store.h vg_store_certificates): the newest measurements of
 * one target (and network) read from the measurements table, each decompressed and parsed, its
 * chains read by the record module (meas/record_certs.h) and merged per source and chain.
 * Nothing is kept at ingest: the answer is always the measurements' own (docs/storage.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "meas/record_certs.h"
#include "meas/record_read.h"
#include "store_impl.h"
#include "util/mem.h"

#define VG__CERTS_ADDRS_MAX   32 /* addresses listed per chain */
#define VG__CERTS_REASONS_MAX 8  /* reasons listed per chain */
#define VG__CERTS_KEY_MAX     (VG_REC_CHAIN_MAX * 65 + 2)

/* One distinct chain of one source. */
struct vg__cgroup {
    json_t *obj; /* the answer's CHAIN, without its times and counts */
    int64_t first, last;
    char last_uid[VG_UID_MAX];
    char counted_uid[VG_UID_MAX]; /* the measurement counted last in n_meas */
    unsigned count, n_meas;
    bool valid;
};

struct vg__certs_q {
    struct vg__query q;
    unsigned limit;
    unsigned n_read;
    bool more;
    json_t *index; /* key -> index into groups */
    struct vg__cgroup *groups;
    size_t n, cap;
    /* the measurement being read */
    const char *uid;
    int64_t t;
};

/* Append s to the array arr unless it holds it already or has max entries. */
static void
vg__certs_add_unique(json_t *arr, const char *s, size_t max)
{
    size_t i;
    json_t *v;

    if (s[0] == '\0') {
        return;
    }
    json_array_foreach(arr, i, v)
    {
        if (strcmp(json_string_value(v), s) == 0) {
            return;
        }
    }
    if (json_array_size(arr) < max) {
        json_array_append_new(arr, json_string(s));
    }
}

static json_t *
vg__certs_str_or_null(const char *s)
{
    return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *
vg__certs_cert(const struct vg_rec_cert *c)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:s, s:o, s:b}", "subject", c->subject, "issuer",
                     c->issuer, "not_before", vg__certs_str_or_null(c->not_before), "not_after",
                     vg__certs_str_or_null(c->not_after), "sha256", c->sha256, "spki_sha256",
                     vg__certs_str_or_null(c->spki_sha256), "self_signed", c->self_signed);
}

/* A new group for chain ch. */
static struct vg__cgroup *
vg__certs_group_new(struct vg__certs_q *x, const struct vg_rec_chain *ch, const char *key)
{
    const struct vg_rec_cert *leaf = &ch->certs[0];
    struct vg__cgroup *g;
    json_t *chain = json_array();

    if (x->n == x->cap) {
        x->cap = x->cap == 0 ? 8 : x->cap * 2;
        x->groups = vg_xrealloc(x->groups, x->cap * sizeof(*x->groups));
    }
    g = &x->groups[x->n];
    memset(g, 0, sizeof(*g));
    for (size_t i = 0; i < ch->n; i++) {
        json_array_append_new(chain, vg__certs_cert(&ch->certs[i]));
    }
    g->obj = json_pack("{s:s, s:o, s:s, s:s, s:o, s:o, s:b, s:[], s:[], s:o}", "leaf_sha256",
                       leaf->sha256, "leaf_spki_sha256", vg__certs_str_or_null(leaf->spki_sha256),
                       "subject", leaf->subject, "issuer", leaf->issuer, "not_before",
                       vg__certs_str_or_null(leaf->not_before), "not_after",
                       vg__certs_str_or_null(leaf->not_after), "self_signed", leaf->self_signed,
                       "reasons", "addresses", "chain", chain);
    g->first = g->last = x->t;
    g->valid = true;
    json_object_set_new(x->index, key, json_integer((json_int_t)x->n));
    x->n++;
    return g;
}

static int
vg__certs_on_chain(void *arg, const struct vg_rec_chain *ch)
{
    struct vg__certs_q *x = arg;
    char key[VG__CERTS_KEY_MAX];
    size_t o = 0;
    struct vg__cgroup *g;
    json_t *at;

    key[o++] = ch->control ? 'c' : 'p';
    for (size_t i = 0; i < ch->n; i++) {
        int w = snprintf(key + o, sizeof(key) - o, ":%s", ch->certs[i].sha256);

        if (w < 0 || (size_t)w >= sizeof(key) - o) {
            break;
        }
        o += (size_t)w;
    }
    at = json_object_get(x->index, key);
    g = at != NULL ? &x->groups[json_integer_value(at)] : vg__certs_group_new(x, ch, key);
    g->count++;
    if (strcmp(g->counted_uid, x->uid) != 0) {
        g->n_meas++;
        snprintf(g->counted_uid, sizeof(g->counted_uid), "%s", x->uid);
    }
    if (x->t < g->first) {
        g->first = x->t;
    }
    if (x->t > g->last || g->last_uid[0] == '\0') {
        g->last = x->t > g->last ? x->t : g->last;
        snprintf(g->last_uid, sizeof(g->last_uid), "%s", x->uid);
    }
    if (!ch->valid) {
        g->valid = false;
        vg__certs_add_unique(json_object_get(g->obj, "reasons"),
                             ch->reason[0] != '\0' ? ch->reason : "not valid",
                             VG__CERTS_REASONS_MAX);
    }
    vg__certs_add_unique(json_object_get(g->obj, "addresses"), ch->address, VG__CERTS_ADDRS_MAX);
    return 0;
}

/* One measurement: (uid, start time, raw_len, raw). */
static int
vg__certs_on_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__certs_q *x = arg;
    char uid[VG_UID_MAX], *text;
    uLongf dl;
    json_t *m;
    int rc;

    (void)set;
    if (ncols != 4 || c[0].t != VG__TEXT || c[1].t != VG__INT || c[2].t != VG__INT ||
        c[3].t != VG__BLOB || c[2].i < 0 || c[2].i > VG_STORE_MEAS_MAX) {
        return VG_EINTERNAL;
    }
    if (x->n_read == x->limit) {
        x->more = true;
        return 0;
    }
    x->n_read++;
    vg__store_copy_text(&c[0], uid, sizeof(uid));
    dl = (uLongf)c[2].i;
    text = vg_xmalloc(dl + 1);
    if (uncompress((Bytef *)text, &dl, (const Bytef *)c[3].p, (uLong)c[3].len) != Z_OK ||
        dl != (uLongf)c[2].i) {
        free(text);
        return VG_EINTERNAL;
    }
    m = json_loadb(text, dl, 0, NULL);
    free(text);
    if (m == NULL) {
        return 0; /* stored, so valid once: nothing to read */
    }
    x->uid = uid;
    x->t = c[1].i;
    rc = vg_rec_certificates(m, vg__certs_on_chain, x);
    json_decref(m);
    return rc;
}

static void
vg__certs_reset(struct vg__certs_q *x)
{
    for (size_t i = 0; i < x->n; i++) {
        json_decref(x->groups[i].obj);
    }
    x->n = 0;
    x->n_read = 0;
    x->more = false;
    json_object_clear(x->index);
}

static int
vg__certs_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__certs_q *x = arg;

    vg__certs_reset(x); /* a retry on a fresh connection starts over */
    return s->ops->run(c, x->q.sql, 0, 1, x->q.np, x->q.p, vg__certs_on_row, x);
}

static int
vg__certs_cmp(const void *a, const void *b)
{
    const struct vg__cgroup *ga = *(const struct vg__cgroup *const *)a;
    const struct vg__cgroup *gb = *(const struct vg__cgroup *const *)b;

    if (ga->valid != gb->valid) {
        return ga->valid ? 1 : -1; /* what did not validate first */
    }
    if (ga->last != gb->last) {
        return ga->last > gb->last ? -1 : 1;
    }
    return strcmp(json_string_value(json_object_get(ga->obj, "leaf_sha256")),
                  json_string_value(json_object_get(gb->obj, "leaf_sha256")));
}

/* The groups of one source, those that did not validate first, then newest first. */
static json_t *
vg__certs_list(struct vg__certs_q *x, char source)
{
    struct vg__cgroup **v = vg_xcalloc(x->n + 1, sizeof(*v));
    json_t *out = json_array();
    size_t n = 0;
    const char *key;
    json_t *at;

    json_object_foreach(x->index, key, at)
    {
        if (key[0] == source) {
            v[n++] = &x->groups[json_integer_value(at)];
        }
    }
    qsort(v, n, sizeof(*v), vg__certs_cmp);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_deep_copy(v[i]->obj);

        json_object_set_new(o, "valid", json_boolean(v[i]->valid));
        json_object_set_new(o, "first_seen", vg__store_jtime(v[i]->first));
        json_object_set_new(o, "last_seen", vg__store_jtime(v[i]->last));
        json_object_set_new(o, "count", json_integer(v[i]->count));
        json_object_set_new(o, "measurements", json_integer(v[i]->n_meas));
        json_object_set_new(o, "last_measurement_uid", json_string(v[i]->last_uid));
        json_array_append_new(out, o);
    }
    free(v);
    return out;
}

int
vg_store_certificates(struct vg_store *s, const struct vg_store_filter *f, unsigned limit,
                      json_t **out)
{
    struct vg__certs_q *x;
    int rc;

    *out = NULL;
    VG_TRY(vg__store_filter_valid(f));
    VG_ENSURE(f != NULL && f->input != NULL && f->input[0] != '\0', VG_EINVAL);
    VG_ENSURE(limit <= VG_STORE_CERTS_MAX, VG_EINVAL);
    x = vg_xcalloc(1, sizeof(*x));
    x->limit = limit > 0 ? limit : VG_STORE_CERTS_DEF;
    x->index = json_object();
    vg__store_q_add(&x->q, "SELECT measurement_uid, measurement_start_time, raw_len, raw"
                           " FROM measurements WHERE 1 = 1");
    vg__store_q_filters(&x->q, f, "measurement_start_time", f->since, true, true);
    vg__store_q_add(&x->q, " ORDER BY measurement_start_time DESC, measurement_uid DESC");
    vg__store_q_param(&x->q, " LIMIT ", vg__store_int((int64_t)x->limit + 1), "");
    rc = vg__store_read(s, vg__certs_fn, x);
    if (rc == 0) {
        *out = json_pack("{s:s, s:I, s:b, s:o, s:o}", "input", f->input, "measurements",
                         (json_int_t)x->n_read, "truncated", x->more, "probe",
                         vg__certs_list(x, 'p'), "control", vg__certs_list(x, 'c'));
    }
    vg__certs_reset(x);
    json_decref(x->index);
    free(x->groups);
    free(x);
    return rc;
}
