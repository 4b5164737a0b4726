/* SPDX-License-Identifier: MIT */
/*
 * store_ch_targets.c - the latest states (targets) on ClickHouse, computed in C by the writer
 * (store_ch_txn.c): ClickHouse has no UPDATE, so the states of the keys the new rows touch are
 * read (FINAL), merged with the new rows in time order by the rules at the top of store_derive.c
 * (the same as its ON CONFLICT ... DO UPDATE), and written as new rows with a higher ver
 * (ReplacingMergeTree(ver), store_ch_schema.c). Exact with one writer per database; two servers
 * updating one key at the same moment may lose one's update (the higher ver wins, or the last
 * inserted of equal ones) — docs/storage.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"
#include "util/buf.h"
#include "util/mem.h"

/* One latest state being merged. Texts borrowed from a measurement, or owned copies (prev). */
struct vg__cht_state {
    const struct vg_store_meas *m; /* the first new row of the key (its key and domain) */
    const char *scope;
    bool have; /* a state exists (stored, or made by an earlier row of this group) */
    char verdict[sizeof(((struct vg_store_meas *)0)->x_verdict)];
    char cause[sizeof(((struct vg_store_meas *)0)->x_cause)];
    char domain[sizeof(((struct vg_store_meas *)0)->domain)];
    char uid[VG_UID_MAX];
    int64_t since, last, brk;
    bool has_brk;
    int64_t ver;
};

struct vg__cht_key {
    const struct vg_store_meas *m;
    const char *scope;
    int64_t t;
    size_t wi; /* the row's index in w */
};

static int
vg__cht_cmp(const void *a, const void *b)
{
    const struct vg__cht_key *kx = a, *ky = b;
    int c;

    if ((c = strcmp(kx->scope, ky->scope)) != 0 || (c = strcmp(kx->m->input, ky->m->input)) != 0 ||
        (c = strcmp(kx->m->probe_cc, ky->m->probe_cc)) != 0) {
        return c;
    }
    if (kx->m->probe_asn != ky->m->probe_asn) {
        return kx->m->probe_asn < ky->m->probe_asn ? -1 : 1;
    }
    if (kx->t != ky->t) {
        return kx->t < ky->t ? -1 : 1;
    }
    return strcmp(kx->m->measurement_uid, ky->m->measurement_uid);
}

static bool
vg__cht_same(const struct vg__cht_key *x, const struct vg__cht_key *y)
{
    return x->m->probe_asn == y->m->probe_asn && strcmp(x->scope, y->scope) == 0 &&
           strcmp(x->m->input, y->m->input) == 0 && strcmp(x->m->probe_cc, y->m->probe_cc) == 0;
}

/* Apply measurement (t, m) to st: store_derive.c's rules. */
static void
vg__cht_apply(struct vg__cht_state *st, const struct vg_store_meas *m, int64_t t)
{
    bool same = strcmp(m->x_verdict, st->verdict) == 0;

    if (!st->have) {
        st->have = true;
        snprintf(st->domain, sizeof(st->domain), "%s", m->domain);
        st->since = st->last = t;
        st->has_brk = false;
    } else if (t >= st->last) {
        if (!same) {
            st->brk = st->last;
            st->has_brk = true;
            st->since = t;
        }
        st->last = t;
    } else if (same) {
        if (t < st->since && (!st->has_brk || t > st->brk)) {
            st->since = t;
        }
        return; /* an older row of the same verdict: verdict, cause and uid stay */
    } else {
        if (t >= st->since) {
            st->since = st->last;
        }
        if (!st->has_brk || t > st->brk) {
            st->brk = t;
            st->has_brk = true;
        }
        return;
    }
    snprintf(st->verdict, sizeof(st->verdict), "%s", m->x_verdict);
    snprintf(st->cause, sizeof(st->cause), "%s", m->x_cause);
    snprintf(st->uid, sizeof(st->uid), "%s", m->measurement_uid);
}

struct vg__cht_lookup {
    struct vg__cht_state *st; /* the distinct keys, in key order */
    size_t n;
};

static int
vg__cht_text(const struct vg__val *v, char *out, size_t cap, bool null_ok)
{
    if (v->t == VG__NULL && null_ok) {
        out[0] = '\0';
        return 0;
    }
    if (v->t != VG__TEXT || v->len >= cap) {
        return VG_EINTERNAL;
    }
    memcpy(out, v->p, v->len);
    out[v->len] = '\0';
    return 0;
}

/* (scope, input, probe_cc, probe_asn, domain, x_verdict, x_cause, since_time, last_time,
 * brk_time, last_uid, ver) of a stored state: into the state of its key. */
static int
vg__cht_on_prev(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__cht_lookup *l = arg;

    (void)set;
    if (ncols != 12 || c[0].t != VG__TEXT || c[1].t != VG__TEXT || c[2].t != VG__TEXT ||
        c[3].t != VG__INT || c[7].t != VG__INT || c[8].t != VG__INT || c[11].t != VG__INT) {
        return VG_EINTERNAL;
    }
    for (size_t i = 0; i < l->n; i++) {
        struct vg__cht_state *st = &l->st[i];
        const struct vg_store_meas *m = st->m;

        if (m->probe_asn != c[3].i || strlen(st->scope) != c[0].len ||
            memcmp(st->scope, c[0].p, c[0].len) != 0 || strlen(m->input) != c[1].len ||
            memcmp(m->input, c[1].p, c[1].len) != 0 || strlen(m->probe_cc) != c[2].len ||
            memcmp(m->probe_cc, c[2].p, c[2].len) != 0) {
            continue;
        }
        VG_TRY(vg__cht_text(&c[4], st->domain, sizeof(st->domain), false));
        VG_TRY(vg__cht_text(&c[5], st->verdict, sizeof(st->verdict), false));
        VG_TRY(vg__cht_text(&c[6], st->cause, sizeof(st->cause), true));
        VG_TRY(vg__cht_text(&c[10], st->uid, sizeof(st->uid), false));
        st->since = c[7].i;
        st->last = c[8].i;
        st->has_brk = c[9].t == VG__INT;
        st->brk = st->has_brk ? c[9].i : 0;
        st->ver = c[11].i;
        st->have = true;
        return 0;
    }
    return VG_EINTERNAL; /* a key not asked for */
}

/* The stored states of st[n] (distinct keys). */
static int
vg__cht_read(struct vg_store *s, struct vg__cht_state *st, size_t n)
{
    struct vg__val *p = vg_xcalloc(4 * VG__CH_ROWS, sizeof(*p));
    struct vg_buf sql;
    int rc = 0;

    vg_buf_init(&sql, 256 + 48 * VG__CH_ROWS);
    for (size_t at = 0; rc == 0 && at < n; at += VG__CH_ROWS) {
        size_t k = n - at < VG__CH_ROWS ? n - at : VG__CH_ROWS, np = 0;
        const char *text;

        for (size_t i = 0; i < k; i++) {
            p[np++] = vg__store_text(st[at + i].scope);
            p[np++] = vg__store_text(st[at + i].m->input);
            p[np++] = vg__store_text(st[at + i].m->probe_cc);
            p[np++] = vg__store_int(st[at + i].m->probe_asn);
        }
        vg_buf_reset(&sql);
        rc = vg_buf_appendf(&sql, "SELECT scope, input, probe_cc, probe_asn, domain, x_verdict,"
                                  " x_cause, since_time, last_time, brk_time, last_uid,"
                                  " toInt64(ver) FROM targets FINAL WHERE (scope, input,"
                                  " probe_cc, probe_asn) IN (");
        rc = rc < 0 ? rc : vg__store_sql_tuples(&sql, "($1, $2, $3, $4)", 4, k, 0);
        if (rc < 0 || vg_buf_append(&sql, ")", 1) < 0 || (text = vg_buf_cstr(&sql)) == NULL) {
            rc = VG_EINTERNAL;
            break;
        }
        rc = s->ops->run(s->wconn, text, 0, 1, np, p, vg__cht_on_prev,
                         &(struct vg__cht_lookup){st + at, k});
    }
    vg_buf_cleanup(&sql);
    VG_FREE(p);
    return rc;
}

static const char vg__cht_sql_put[] =
    "INSERT INTO targets (scope, input, probe_cc, probe_asn, domain, x_verdict, x_cause,"
    " since_time, last_time, brk_time, last_uid, ver) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
    " $10, $11, $12)";
#define VG__CHT_COLS 12

/* The keys of the rows of w[n] with an input (only the new ones when new_only): each row in
 * each of its scopes, sorted by key then time (*nt of them; fresh array, free it). */
static struct vg__cht_key *
vg__cht_keys(const struct vg__wrow *w, size_t n, bool new_only, size_t *nt)
{
    struct vg__cht_key *tk = vg_xcalloc(n * VG__SCOPES_MAX + 1, sizeof(*tk));

    *nt = 0;
    for (size_t i = 0; i < n; i++) {
        const struct vg_store_meas *m = w[i].m;
        int64_t t = vg__store_teff(m->start_time, w[i].received_us);

        if ((new_only && !w[i].is_new) || !m->has_input) {
            continue;
        }
        tk[(*nt)++] = (struct vg__cht_key){m, VG__SCOPE_ALL, t, i};
        tk[(*nt)++] = (struct vg__cht_key){m, m->provenance, t, i};
        if (strcmp(m->provenance, VG_STORE_ANONYMOUS) != 0) {
            tk[(*nt)++] = (struct vg__cht_key){m, VG__SCOPE_TRUSTED, t, i};
        }
    }
    qsort(tk, *nt, sizeof(*tk), vg__cht_cmp);
    return tk;
}

/* The distinct keys of tk[nt] (sorted), their stored states read: fresh array of *ns. */
static int
vg__cht_states(struct vg_store *s, const struct vg__cht_key *tk, size_t nt,
               struct vg__cht_state **out, size_t *ns)
{
    struct vg__cht_state *st = vg_xcalloc(nt + 1, sizeof(*st));

    *ns = 0;
    for (size_t i = 0; i < nt; i++) {
        if (i == 0 || !vg__cht_same(&tk[i - 1], &tk[i])) {
            st[(*ns)++] = (struct vg__cht_state){.m = tk[i].m, .scope = tk[i].scope};
        }
    }
    *out = st;
    return vg__cht_read(s, st, *ns);
}

static bool
vg__cht_equal(const struct vg__cht_state *x, const struct vg__cht_state *y)
{
    return x->have == y->have && x->since == y->since && x->last == y->last &&
           x->has_brk == y->has_brk && (!x->has_brk || x->brk == y->brk) &&
           strcmp(x->verdict, y->verdict) == 0 && strcmp(x->cause, y->cause) == 0 &&
           strcmp(x->domain, y->domain) == 0 && strcmp(x->uid, y->uid) == 0;
}

int
vg__store_ch_targets_stale(struct vg_store *s, struct vg__wrow *w, size_t n)
{
    size_t nt = 0, ns = 0;
    struct vg__cht_key *tk = vg__cht_keys(w, n, false, &nt);
    struct vg__cht_state *st = NULL;
    int rc = vg__cht_states(s, tk, nt, &st, &ns);

    for (size_t i = 0, k = 0; rc == 0 && i < nt; i++) {
        struct vg__cht_state now;

        if (i > 0 && !vg__cht_same(&tk[i - 1], &tk[i])) {
            k++;
        }
        if (st[k].have && tk[i].t == st[k].last &&
            strcmp(tk[i].m->measurement_uid, st[k].uid) != 0) {
            continue; /* a tie with the latest: either is the newest (which came first is not
                         known); the state is not moved */
        }
        now = st[k];
        vg__cht_apply(&now, tk[i].m, tk[i].t);
        if (!vg__cht_equal(&now, &st[k])) {
            w[tk[i].wi].is_new = true;
        }
    }
    VG_FREE(st);
    VG_FREE(tk);
    return rc;
}

int
vg__store_ch_targets(struct vg_store *s, const struct vg__wrow *w, size_t n)
{
    struct vg__cht_key *tk;
    struct vg__cht_state *st = NULL;
    struct vg__val *p;
    size_t nt = 0, ns = 0;
    int rc;

    tk = vg__cht_keys(w, n, true, &nt);
    if (nt == 0) {
        VG_FREE(tk);
        return 0;
    }
    rc = vg__cht_states(s, tk, nt, &st, &ns);
    for (size_t i = 0, k = 0; rc == 0 && i < nt; i++) {
        if (i > 0 && !vg__cht_same(&tk[i - 1], &tk[i])) {
            k++;
        }
        vg__cht_apply(&st[k], tk[i].m, tk[i].t);
    }
    p = vg_xcalloc(ns * VG__CHT_COLS, sizeof(*p));
    for (size_t k = 0; rc == 0 && k < ns; k++) {
        struct vg__val *q = p + k * VG__CHT_COLS;

        q[0] = vg__store_text(st[k].scope);
        q[1] = vg__store_text(st[k].m->input);
        q[2] = vg__store_text(st[k].m->probe_cc);
        q[3] = vg__store_int(st[k].m->probe_asn);
        q[4] = vg__store_text(st[k].domain);
        q[5] = vg__store_text(st[k].verdict);
        q[6] = vg__store_text_or_null(st[k].cause);
        q[7] = vg__store_int(st[k].since);
        q[8] = vg__store_int(st[k].last);
        q[9] = st[k].has_brk ? vg__store_int(st[k].brk) : (struct vg__val){.t = VG__NULL};
        q[10] = vg__store_text(st[k].uid);
        q[11] = vg__store_int(st[k].ver + 1);
    }
    if (rc == 0) {
        rc = s->ops->run(s->wconn, vg__cht_sql_put, 0, ns, VG__CHT_COLS, p, NULL, NULL);
    }
    VG_FREE(p);
    VG_FREE(st);
    VG_FREE(tk);
    return rc;
}
