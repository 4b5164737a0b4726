/* SPDX-License-Identifier: MIT */
/*
 * certgroup.c - certificate chains merged per source and chain (certgroup.h): what the
 * collector's certificates view and the incident report both show, grouped once, here.
 */
#include "certgroup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/record_certs.h"
#include "meas/record_read.h"
#include "util/mem.h"
#include "util/timefmt.h"

#define VG__CERTS_ADDRS_MAX   32 /* addresses listed per chain */
#define VG__CERTS_REASONS_MAX 8  /* reasons listed per chain */
#define VG__CERTS_KEY_MAX     (VG_REC_CHAIN_MAX * 65 + 2)
#define VG__CERTS_UID_MAX     128 /* VG_UID_MAX */

/* One distinct chain of one source. */
struct vg__cgroup {
    json_t *obj; /* the answer's CHAIN, without its times and counts */
    int64_t first, last;
    char last_uid[VG__CERTS_UID_MAX];
    unsigned long counted; /* the measurement (serial) counted last in n_meas */
    unsigned count, n_meas;
    bool valid;
};

struct vg_certgroup {
    json_t *index; /* key -> index into groups */
    struct vg__cgroup *groups;
    size_t n, cap;
    /* the measurement being read */
    const char *uid;
    int64_t t;
    unsigned long serial;  /* measurements added: tells two with no uid apart */
    size_t max;            /* groups kept at most; 0: no bound */
    unsigned long dropped; /* sightings of chains past max */
};
/* Append s to the array arr unless it holds it already or has max entries. */
static void
vg__certgroup_add_unique(json_t *arr, const char *s, size_t max)
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
vg__certgroup_str_or_null(const char *s)
{
    return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *
vg__certgroup_cert(const struct vg_rec_cert *c)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:s, s:o, s:b}", "subject", c->subject, "issuer",
                     c->issuer, "not_before", vg__certgroup_str_or_null(c->not_before), "not_after",
                     vg__certgroup_str_or_null(c->not_after), "sha256", c->sha256, "spki_sha256",
                     vg__certgroup_str_or_null(c->spki_sha256), "self_signed", c->self_signed);
}

/* A new group for chain ch. */
static struct vg__cgroup *
vg__certgroup_group_new(struct vg_certgroup *x, const struct vg_rec_chain *ch, const char *key)
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
        json_array_append_new(chain, vg__certgroup_cert(&ch->certs[i]));
    }
    g->obj = json_pack(
        "{s:s, s:o, s:s, s:s, s:o, s:o, s:b, s:[], s:[], s:o}", "leaf_sha256", leaf->sha256,
        "leaf_spki_sha256", vg__certgroup_str_or_null(leaf->spki_sha256), "subject", leaf->subject,
        "issuer", leaf->issuer, "not_before", vg__certgroup_str_or_null(leaf->not_before),
        "not_after", vg__certgroup_str_or_null(leaf->not_after), "self_signed", leaf->self_signed,
        "reasons", "addresses", "chain", chain);
    g->first = g->last = x->t;
    g->valid = true;
    json_object_set_new(x->index, key, json_integer((json_int_t)x->n));
    x->n++;
    return g;
}

static int
vg__certgroup_on_chain(void *arg, const struct vg_rec_chain *ch)
{
    struct vg_certgroup *x = arg;
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
    if (at == NULL && x->max != 0 && x->n >= x->max) {
        x->dropped++;
        return 0;
    }
    g = at != NULL ? &x->groups[json_integer_value(at)] : vg__certgroup_group_new(x, ch, key);
    g->count++;
    if (g->counted != x->serial) {
        g->n_meas++;
        g->counted = x->serial;
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
        vg__certgroup_add_unique(json_object_get(g->obj, "reasons"),
                                 ch->reason[0] != '\0' ? ch->reason : "not valid",
                                 VG__CERTS_REASONS_MAX);
    }
    vg__certgroup_add_unique(json_object_get(g->obj, "addresses"), ch->address,
                             VG__CERTS_ADDRS_MAX);
    return 0;
}

static int
vg__certgroup_cmp(const void *a, const void *b)
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

static json_t *
vg__certgroup_jtime(int64_t t)
{
    char b[VG_TIME_TEXT_MAX];

    vg_time_format(t, VG_TIME_ISO8601, b, sizeof(b));
    return json_string(b);
}

json_t *
vg_certgroup_list(struct vg_certgroup *x, bool control)
{
    char source = control ? 'c' : 'p';
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
    qsort(v, n, sizeof(*v), vg__certgroup_cmp);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_deep_copy(v[i]->obj);

        json_object_set_new(o, "valid", json_boolean(v[i]->valid));
        json_object_set_new(o, "first_seen", vg__certgroup_jtime(v[i]->first));
        json_object_set_new(o, "last_seen", vg__certgroup_jtime(v[i]->last));
        json_object_set_new(o, "count", json_integer(v[i]->count));
        json_object_set_new(o, "measurements", json_integer(v[i]->n_meas));
        json_object_set_new(o, "last_measurement_uid", json_string(v[i]->last_uid));
        json_array_append_new(out, o);
    }
    free(v);
    return out;
}

struct vg_certgroup *
vg_certgroup_new(size_t max)
{
    struct vg_certgroup *x = vg_xcalloc(1, sizeof(*x));

    x->index = json_object();
    x->max = max;
    return x;
}

unsigned long
vg_certgroup_dropped(const struct vg_certgroup *x)
{
    return x->dropped;
}

void
vg_certgroup_reset(struct vg_certgroup *x)
{
    for (size_t i = 0; i < x->n; i++) {
        json_decref(x->groups[i].obj);
    }
    x->n = 0;
    x->dropped = 0;
    json_object_clear(x->index);
}

void
vg_certgroup_free(struct vg_certgroup *x)
{
    if (x == NULL) {
        return;
    }
    vg_certgroup_reset(x);
    json_decref(x->index);
    free(x->groups);
    free(x);
}

int
vg_certgroup_add(struct vg_certgroup *x, json_t *m, const char *uid, int64_t t)
{
    x->uid = uid != NULL ? uid : "";
    x->t = t;
    x->serial++;
    return vg_rec_certificates(m, vg__certgroup_on_chain, x);
}
