/* SPDX-License-Identifier: MIT */
/*
 * store_rawdb.c - the raw column's codec (store_raw.h) for one store: a dictionary trained from
 * the first measurements the store sees (kept in raw_dicts, named by the rows, found again after
 * a restart), pooled zstd contexts, a cache of blobs for reads and a connection of its own to read
 * blobs and dictionaries, and, in the writer's transaction, the blobs and dictionaries the new
 * rows reference.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zdict.h>
#include <zstd.h>

#include "store_impl.h"
#include "store_raw.h"
#include "util/crypto.h"
#include "util/mem.h"

#define VG__RAW_SAMPLES    256         /* skeletons a dictionary is trained from */
#define VG__RAW_SAMPLE_MAX (8u << 20)  /* bytes of them at most */
#define VG__RAW_DICT_MAX   (64u << 10) /* bytes of a trained dictionary */
#define VG__RAW_BCACHE     1024        /* blobs cached for reads (direct-mapped by hash) */
#define VG__RAW_BCACHE_MAX (8u << 10)  /* a longer blob is not cached: 8 MiB at most */
#define VG__RAW_WCACHE     8192        /* hashes the writer knows committed (direct-mapped) */

struct vg__raw_dict {
    int64_t id;
    uint8_t *data;
    size_t len;
    ZSTD_CDict *cd; /* made when the dictionary is the one new rows use */
    ZSTD_DDict *dd;
};

struct vg__raw_bc {
    uint8_t hash[VG__RAW_HASH];
    char *data; /* NULL: empty slot */
    size_t len;
};

enum { VG__WC_EMPTY = 0, VG__WC_PENDING, VG__WC_DONE };

struct vg__raw_wc {
    uint8_t hash[VG__RAW_HASH];
    uint8_t state;
};

/* The codec's state of one store, made on first use (under s->z_mu). */
struct vg__raw {
    pthread_mutex_t mu; /* everything below but conn and the writer's part */
    ZSTD_CCtx **cctx;   /* idle compression contexts */
    size_t n_cctx, cap_cctx;
    ZSTD_DCtx **dctx; /* idle decompression contexts */
    size_t n_dctx, cap_dctx;
    struct vg__raw_dict **dicts; /* each allocated alone: a slot never moves nor goes */
    size_t n_dicts, cap_dicts;
    int64_t cur;  /* dictionary of new rows (0: none yet) */
    bool loaded;  /* the database answered for its newest dictionary (found or none) */
    bool loading; /* a thread is asking it */
    bool training;
    bool no_train; /* a trained dictionary could not be used: rows go without one */
    char *samples; /* skeletons until a dictionary is trained */
    size_t *sample_len, n_samples, samples_len;
    struct vg__raw_bc bc[VG__RAW_BCACHE];

    pthread_mutex_t conn_mu; /* the codec's own read connection */
    struct vg__conn *conn;

    /* the writer thread's alone */
    struct vg__raw_wc wc[VG__RAW_WCACHE];
    size_t *pend, n_pend, cap_pend;
    int64_t *wdicts; /* dictionaries committed */
    size_t n_wdicts, cap_wdicts;
    int64_t *wpend; /* dictionaries written in the open transaction */
    size_t n_wpend, cap_wpend;
};

static struct vg__raw *
vg__raw_state(struct vg_store *s)
{
    struct vg__raw *st;

    pthread_mutex_lock(&s->z_mu);
    if ((st = s->raw) == NULL) {
        st = vg_xcalloc(1, sizeof(*st));
        pthread_mutex_init(&st->mu, NULL);
        pthread_mutex_init(&st->conn_mu, NULL);
        s->raw = st;
    }
    pthread_mutex_unlock(&s->z_mu);
    return st;
}

void
vg__raw_free(struct vg_store *s)
{
    struct vg__raw *st = s->raw;

    if (st == NULL) {
        return;
    }
    for (size_t i = 0; i < st->n_cctx; i++) {
        ZSTD_freeCCtx(st->cctx[i]);
    }
    VG_FREE(st->cctx);
    for (size_t i = 0; i < st->n_dctx; i++) {
        ZSTD_freeDCtx(st->dctx[i]);
    }
    VG_FREE(st->dctx);
    for (size_t i = 0; i < st->n_dicts; i++) {
        ZSTD_freeCDict(st->dicts[i]->cd);
        ZSTD_freeDDict(st->dicts[i]->dd);
        VG_FREE(st->dicts[i]->data);
        VG_FREE(st->dicts[i]);
    }
    VG_FREE(st->dicts);
    VG_FREE(st->wdicts);
    VG_FREE(st->wpend);
    for (size_t i = 0; i < VG__RAW_BCACHE; i++) {
        VG_FREE(st->bc[i].data);
    }
    VG_FREE(st->samples);
    VG_FREE(st->sample_len);
    VG_FREE(st->pend);
    if (st->conn != NULL) {
        s->ops->disconnect(st->conn);
    }
    pthread_mutex_destroy(&st->mu);
    pthread_mutex_destroy(&st->conn_mu);
    free(st);
    s->raw = NULL;
}

/* Run one query on the codec's connection (opened on first use, replaced once if dead). */
static int
vg__raw_query(struct vg_store *s, const char *sql, size_t nparams, const struct vg__val *p,
              vg__row_cb cb, void *arg)
{
    struct vg__raw *st = s->raw;
    int rc = 0;

    pthread_mutex_lock(&st->conn_mu);
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh = false;
        char err[256];

        if (st->conn == NULL) {
            if ((rc = s->ops->connect(s->target, &s->o, false, &st->conn, err, sizeof(err))) < 0) {
                st->conn = NULL;
                vg__store_note_error(s, err);
                break;
            }
            fresh = true;
        }
        rc = s->ops->run(st->conn, sql, VG__RUN_CACHE, 1, nparams, p, cb, arg);
        if (rc != VG_STORE_EUNAVAIL) {
            break;
        }
        s->ops->disconnect(st->conn);
        st->conn = NULL;
        vg__store_count_reconnect(s);
        if (fresh) {
            break;
        }
    }
    pthread_mutex_unlock(&st->conn_mu);
    return rc;
}

struct vg__raw_fetch {
    uint8_t *data;
    size_t len;
    int64_t id;
    bool found;
};

/* (data) or (id, data) */
static int
vg__raw_on_fetch(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__raw_fetch *f = arg;
    const struct vg__val *d = &c[ncols - 1];

    (void)set;
    /* ClickHouse has one String type for texts and bytes: VG__TEXT there */
    if (f->found || ncols < 1 || ncols > 2 || (d->t != VG__BLOB && d->t != VG__TEXT) ||
        (ncols == 2 && c[0].t != VG__INT)) {
        return VG_EINTERNAL;
    }
    f->id = ncols == 2 ? c[0].i : 0;
    f->data = vg_xmalloc(d->len + 1);
    memcpy(f->data, d->p, d->len);
    f->len = d->len;
    f->found = true;
    return 0;
}

/* The dictionary id under st->mu, or NULL. */
static struct vg__raw_dict *
vg__raw_dict_find(struct vg__raw *st, int64_t id)
{
    for (size_t i = 0; i < st->n_dicts; i++) {
        if (st->dicts[i]->id == id) {
            return st->dicts[i];
        }
    }
    return NULL;
}

/* Add a dictionary (data owned by the state from here on) under st->mu; its slot (kept until
 * the store closes: as many as the database has rows naming) or NULL (zstd refused it). */
static struct vg__raw_dict *
vg__raw_dict_add(struct vg__raw *st, int64_t id, uint8_t *data, size_t len)
{
    struct vg__raw_dict *d = vg__raw_dict_find(st, id);

    if (d != NULL) {
        VG_FREE(data);
        return d;
    }
    d = vg_xcalloc(1, sizeof(*d));
    *d = (struct vg__raw_dict){.id = id, .data = data, .len = len};
    if ((d->dd = ZSTD_createDDict(data, len)) == NULL) {
        VG_FREE(d->data);
        VG_FREE(d);
        return NULL;
    }
    if (st->n_dicts == st->cap_dicts) {
        st->cap_dicts = st->cap_dicts * 2 + 16;
        st->dicts = vg_xrealloc(st->dicts, st->cap_dicts * sizeof(*st->dicts));
    }
    st->dicts[st->n_dicts++] = d;
    return d;
}

static const void *
vg__raw_src_ddict(void *arg, int64_t id)
{
    struct vg_store *s = arg;
    struct vg__raw *st = s->raw;
    /* LIMIT 1: a key is unique on SQLite and PostgreSQL; ClickHouse keeps copies of a row
     * inserted again (a restart, a group run again) until it merges them, all the same bytes */
    static const char sql[] = "SELECT data FROM raw_dicts WHERE id = $1 LIMIT 1";
    struct vg__raw_fetch f = {0};
    struct vg__val p = vg__store_int(id);
    const struct vg__raw_dict *d;

    pthread_mutex_lock(&st->mu);
    d = vg__raw_dict_find(st, id);
    pthread_mutex_unlock(&st->mu);
    if (d != NULL) {
        return d->dd; /* slots are never moved nor freed while the store is open */
    }
    if (vg__raw_query(s, sql, 1, &p, vg__raw_on_fetch, &f) < 0 || !f.found) {
        VG_FREE(f.data);
        return NULL;
    }
    pthread_mutex_lock(&st->mu);
    d = vg__raw_dict_add(st, id, f.data, f.len);
    pthread_mutex_unlock(&st->mu);
    return d != NULL ? d->dd : NULL;
}

static size_t
vg__raw_slot(const uint8_t hash[VG__RAW_HASH], size_t n)
{
    return ((size_t)hash[0] | (size_t)hash[1] << 8 | (size_t)hash[2] << 16) % n;
}

static int
vg__raw_src_blob(void *arg, const uint8_t hash[VG__RAW_HASH], char *dst, size_t len)
{
    struct vg_store *s = arg;
    struct vg__raw *st = s->raw;
    static const char sql[] = "SELECT data FROM blobs WHERE hash = $1 LIMIT 1"; /* as above */
    struct vg__raw_bc *b = &st->bc[vg__raw_slot(hash, VG__RAW_BCACHE)];
    struct vg__raw_fetch f = {0};
    struct vg__val p = {.t = VG__BLOB, .p = (const char *)hash, .len = VG__RAW_HASH};
    uint8_t got[VG__RAW_HASH];
    int rc;

    pthread_mutex_lock(&st->mu);
    if (b->data != NULL && b->len == len && memcmp(b->hash, hash, VG__RAW_HASH) == 0) {
        memcpy(dst, b->data, len);
        pthread_mutex_unlock(&st->mu);
        return 0;
    }
    pthread_mutex_unlock(&st->mu);
    if ((rc = vg__raw_query(s, sql, 1, &p, vg__raw_on_fetch, &f)) < 0 || !f.found) {
        VG_FREE(f.data);
        return rc < 0 ? rc : VG_ENOTFOUND;
    }
    vg_sha256(f.data, f.len, got);
    if (f.len != len || memcmp(got, hash, VG__RAW_HASH) != 0) {
        VG_FREE(f.data);
        return VG_EPROTO;
    }
    memcpy(dst, f.data, len);
    if (len > VG__RAW_BCACHE_MAX) {
        VG_FREE(f.data);
        return 0;
    }
    pthread_mutex_lock(&st->mu);
    VG_FREE(b->data);
    memcpy(b->hash, hash, VG__RAW_HASH);
    b->data = (char *)f.data;
    b->len = len;
    pthread_mutex_unlock(&st->mu);
    return 0;
}

int
vg__raw_decode_row(struct vg_store *s, const struct vg__val *raw_len, const struct vg__val *raw,
                   char **out, size_t *outlen)
{
    struct vg__raw_src src = {vg__raw_src_blob, vg__raw_src_ddict, s};
    struct vg__raw *st = NULL;
    ZSTD_DCtx *dctx = NULL;
    int rc;

    *out = NULL;
    if (raw_len->t != VG__INT || (raw->t != VG__BLOB && raw->t != VG__TEXT)) { /* ClickHouse */
        return VG_EINTERNAL;
    }
    if (s != NULL && raw->len > 0 && raw->p[0] == VG__RAW_FORMAT_V1) {
        st = vg__raw_state(s);
        pthread_mutex_lock(&st->mu);
        if (st->n_dctx > 0) {
            dctx = st->dctx[--st->n_dctx];
        }
        pthread_mutex_unlock(&st->mu);
        if (dctx == NULL && (dctx = ZSTD_createDCtx()) == NULL) {
            return VG_EINTERNAL;
        }
    }
    rc = vg__raw_decode_on(s != NULL ? &src : NULL, dctx, (const uint8_t *)raw->p, raw->len,
                           raw_len->i, out);
    if (dctx != NULL) {
        pthread_mutex_lock(&st->mu);
        if (st->n_dctx == st->cap_dctx) {
            st->cap_dctx = st->cap_dctx * 2 + 4;
            st->dctx = vg_xrealloc(st->dctx, st->cap_dctx * sizeof(*st->dctx));
        }
        st->dctx[st->n_dctx++] = dctx;
        pthread_mutex_unlock(&st->mu);
    }
    if (rc == 0 && outlen != NULL) {
        *outlen = (size_t)raw_len->i;
    }
    /* a stored row that does not decode is the store's fault, not the caller's */
    return rc < 0 && rc != VG_STORE_EUNAVAIL ? VG_EINTERNAL : rc;
}

/* ---- encoding for a store: the dictionary ---- */

/* The newest dictionary of the database, once it answered: a restarted collector keeps using
 * it. Until then rows go without a dictionary and no samples are taken, so a query failing for a
 * moment does not make the store train a dictionary of its own; the next encode asks again. */
static void
vg__raw_load_dict(struct vg_store *s, struct vg__raw *st)
{
    static const char sql[] = "SELECT id, data FROM raw_dicts ORDER BY created DESC, id DESC"
                              " LIMIT 1";
    struct vg__raw_fetch f = {0};
    struct vg__raw_dict *d;
    int rc = vg__raw_query(s, sql, 0, NULL, vg__raw_on_fetch, &f);

    pthread_mutex_lock(&st->mu);
    st->loading = false;
    st->loaded = rc >= 0;
    if (rc >= 0 && f.found) {
        d = vg__raw_dict_add(st, f.id, f.data, f.len);
        f.data = NULL;
        if (d != NULL && st->cur == 0 && d->cd == NULL &&
            (d->cd = ZSTD_createCDict(d->data, d->len, VG__RAW_LEVEL)) != NULL) {
            st->cur = d->id;
        }
    }
    pthread_mutex_unlock(&st->mu);
    VG_FREE(f.data);
}

/* Train a dictionary from the samples (taken from st, no lock held) and make it current. */
static void
vg__raw_train(struct vg__raw *st, char *samples, size_t *sizes, size_t n, size_t total)
{
    uint8_t *dict = vg_xmalloc(VG__RAW_DICT_MAX), digest[32];
    size_t len = ZDICT_trainFromBuffer(dict, VG__RAW_DICT_MAX, samples, sizes, (unsigned)n);
    struct vg__raw_dict *d;
    int64_t id;

    if (ZDICT_isError(len)) {
        /* too few or too alike samples: their latest bytes as a raw-content dictionary */
        len = total < VG__RAW_DICT_MAX ? total : VG__RAW_DICT_MAX;
        memcpy(dict, samples + total - len, len);
    }
    vg_sha256(dict, len, digest);
    id = 1;
    for (int i = 0; i < 6; i++) {
        id += (int64_t)digest[i] << (8 * i);
    }
    pthread_mutex_lock(&st->mu);
    d = vg__raw_dict_add(st, id, dict, len);
    if (d != NULL && d->cd == NULL) {
        d->cd = ZSTD_createCDict(d->data, d->len, VG__RAW_LEVEL);
    }
    if (d != NULL && d->cd != NULL && st->cur == 0) {
        st->cur = d->id;
    } else if (st->cur == 0) {
        st->no_train = true; /* not again every 256 rows: they go without a dictionary */
    }
    st->training = false;
    pthread_mutex_unlock(&st->mu);
    VG_FREE(samples);
    VG_FREE(sizes);
}

int
vg__raw_encode(struct vg_store *s, const char *text, size_t len, struct vg__raw_enc *e)
{
    struct vg__raw *st = vg__raw_state(s);
    const ZSTD_CDict *cd = NULL;
    ZSTD_CCtx *cctx = NULL;
    char *skel, *train = NULL;
    size_t sl, *train_len = NULL, n_train = 0, train_total = 0;
    bool load;
    int rc;

    memset(e, 0, sizeof(*e));
    skel = vg__raw_cut(text, len, e, &sl);
    pthread_mutex_lock(&st->mu);
    load = !st->loaded && !st->loading;
    st->loading = st->loading || load;
    pthread_mutex_unlock(&st->mu);
    if (load) {
        vg__raw_load_dict(s, st);
    }
    pthread_mutex_lock(&st->mu);
    if (st->cur != 0) {
        const struct vg__raw_dict *d = vg__raw_dict_find(st, st->cur);

        cd = d->cd;
        e->dict_id = st->cur;
    }
    if (st->cur == 0 && st->loaded && !st->training && !st->no_train &&
        sl <= VG__RAW_SAMPLE_MAX - st->samples_len) {
        if (st->sample_len == NULL) {
            st->sample_len = vg_xcalloc(VG__RAW_SAMPLES, sizeof(*st->sample_len));
            st->samples = vg_xmalloc(VG__RAW_SAMPLE_MAX);
        }
        memcpy(st->samples + st->samples_len, skel, sl);
        st->samples_len += sl;
        st->sample_len[st->n_samples++] = sl;
        if (st->n_samples == VG__RAW_SAMPLES) {
            st->training = true;
            train = st->samples;
            train_len = st->sample_len;
            n_train = st->n_samples;
            train_total = st->samples_len;
            st->samples = NULL;
            st->sample_len = NULL;
            st->n_samples = st->samples_len = 0;
        }
    }
    if (st->n_cctx > 0) {
        cctx = st->cctx[--st->n_cctx];
    }
    pthread_mutex_unlock(&st->mu);
    if (cctx == NULL && (cctx = ZSTD_createCCtx()) == NULL) {
        rc = VG_EINTERNAL;
    } else {
        rc = vg__raw_compress(cctx, cd, VG__RAW_LEVEL, text, skel, sl, e);
        pthread_mutex_lock(&st->mu);
        if (st->n_cctx == st->cap_cctx) {
            st->cap_cctx = st->cap_cctx * 2 + 4;
            st->cctx = vg_xrealloc(st->cctx, st->cap_cctx * sizeof(*st->cctx));
        }
        st->cctx[st->n_cctx++] = cctx;
        pthread_mutex_unlock(&st->mu);
    }
    VG_FREE(skel);
    if (train != NULL) {
        vg__raw_train(st, train, train_len, n_train, train_total);
    }
    if (rc < 0) {
        vg__raw_enc_free(e);
    }
    return rc;
}

/* ---- the writer's side ---- */

static bool
vg__raw_has(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == id) {
            return true;
        }
    }
    return false;
}

static void
vg__raw_push_id(int64_t **v, size_t *n, size_t *cap, int64_t id)
{
    if (*n == *cap) {
        *cap = *cap * 2 + 16;
        *v = vg_xrealloc(*v, *cap * sizeof(**v));
    }
    (*v)[(*n)++] = id;
}

static int
vg__raw_cmp_blob(const void *a, const void *b)
{
    const struct vg__raw_blob *x = *(const struct vg__raw_blob *const *)a;
    const struct vg__raw_blob *y = *(const struct vg__raw_blob *const *)b;

    return memcmp(x->hash, y->hash, VG__RAW_HASH);
}

static int
vg__raw_cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

size_t
vg__raw_blob_order(const struct vg__raw_blob **v, size_t n)
{
    size_t m = 0;

    if (n > 1) {
        qsort(v, n, sizeof(*v), vg__raw_cmp_blob);
    }
    for (size_t i = 0; i < n; i++) {
        if (m == 0 || memcmp(v[m - 1]->hash, v[i]->hash, VG__RAW_HASH) != 0) {
            v[m++] = v[i];
        }
    }
    return m;
}

size_t
vg__raw_id_order(int64_t *ids, size_t n)
{
    size_t m = 0;

    if (n > 1) {
        qsort(ids, n, sizeof(*ids), vg__raw_cmp_id);
    }
    for (size_t i = 0; i < n; i++) {
        if (m == 0 || ids[m - 1] != ids[i]) {
            ids[m++] = ids[i];
        }
    }
    return m;
}

/* Insert dictionary id (known to st) in this transaction. */
static int
vg__raw_txn_dict(struct vg_store *s, struct vg__raw *st, int64_t id)
{
    static const char sql[] = "INSERT INTO raw_dicts (id, data, created) VALUES ($1, $2, $3)"
                              " ON CONFLICT DO NOTHING";
    const struct vg__raw_dict *d;
    struct vg__val p[3];
    int rc;

    pthread_mutex_lock(&st->mu);
    d = vg__raw_dict_find(st, id);
    pthread_mutex_unlock(&st->mu); /* the data stays: dictionaries go only with the store */
    if (d == NULL) {
        return VG_EINTERNAL;
    }
    p[0] = vg__store_int(id);
    p[1] = (struct vg__val){.t = VG__BLOB, .p = (const char *)d->data, .len = d->len};
    p[2] = vg__store_int((int64_t)time(NULL));
    if ((rc = s->ops->run(s->wconn, sql, VG__RUN_CACHE, 1, 3, p, NULL, NULL)) == 0) {
        vg__raw_push_id(&st->wpend, &st->n_wpend, &st->cap_wpend, id);
    }
    return rc;
}

/* What the rows of jobs reference that this writer has not seen committed: dictionary ids in
 * *ids, blobs in *v (repeats kept). */
static void
vg__raw_txn_collect(struct vg__raw *st, const struct vg__job *jobs, int64_t **ids, size_t *ni,
                    const struct vg__raw_blob ***v, size_t *nb)
{
    size_t capi = 0, capb = 0;

    for (const struct vg__job *job = jobs; job != NULL; job = job->next) {
        for (size_t i = 0; job->kind == VG__JOB_INSERT && i < job->n; i++) {
            const struct vg__raw_enc *e = &job->enc[i];

            if (e->dict_id != 0 && !vg__raw_has(st->wdicts, st->n_wdicts, e->dict_id) &&
                !vg__raw_has(st->wpend, st->n_wpend, e->dict_id)) {
                vg__raw_push_id(ids, ni, &capi, e->dict_id);
            }
            for (size_t k = 0; k < e->nblobs; k++) {
                const struct vg__raw_wc *c =
                    &st->wc[vg__raw_slot(e->blobs[k].hash, VG__RAW_WCACHE)];

                if (c->state != VG__WC_EMPTY &&
                    memcmp(c->hash, e->blobs[k].hash, VG__RAW_HASH) == 0) {
                    continue; /* committed, or already in this transaction */
                }
                if (*nb == capb) {
                    capb = capb * 2 + 64;
                    *v = vg_xrealloc(*v, capb * sizeof(**v));
                }
                (*v)[(*nb)++] = &e->blobs[k];
            }
        }
    }
}

/* Dictionaries by id, then blobs by hash, each once: every writer of every collector inserts
 * keys in that one order, so two transactions never wait on each other in a cycle
 * (docs/storage.md). */
int
vg__raw_txn_write(struct vg_store *s, const struct vg__job *jobs)
{
    static const char sql[] = "INSERT INTO blobs (hash, data) VALUES ($1, $2)"
                              " ON CONFLICT DO NOTHING";
    struct vg__raw *st = vg__raw_state(s);
    const struct vg__raw_blob **v = NULL;
    struct vg__val *p = NULL;
    int64_t *ids = NULL;
    size_t ni = 0, nb = 0;
    int rc = 0;

    vg__raw_txn_collect(st, jobs, &ids, &ni, &v, &nb);
    ni = vg__raw_id_order(ids, ni);
    nb = vg__raw_blob_order(v, nb);
    for (size_t i = 0; i < ni && rc == 0; i++) {
        rc = vg__raw_txn_dict(s, st, ids[i]);
    }
    if (rc == 0 && nb > 0) {
        p = vg_xmalloc(2 * nb * sizeof(*p));
        for (size_t k = 0; k < nb; k++) {
            size_t slot = vg__raw_slot(v[k]->hash, VG__RAW_WCACHE);

            memcpy(st->wc[slot].hash, v[k]->hash, VG__RAW_HASH);
            st->wc[slot].state = VG__WC_PENDING;
            if (st->n_pend == st->cap_pend) {
                st->cap_pend = st->cap_pend * 2 + 64;
                st->pend = vg_xrealloc(st->pend, st->cap_pend * sizeof(*st->pend));
            }
            st->pend[st->n_pend++] = slot;
            p[2 * k] =
                (struct vg__val){.t = VG__BLOB, .p = (const char *)v[k]->hash, .len = VG__RAW_HASH};
            p[2 * k + 1] = (struct vg__val){.t = VG__BLOB, .p = v[k]->p, .len = v[k]->len};
        }
        rc = s->ops->run(s->wconn, sql, VG__RUN_CACHE, nb, 2, p, NULL, NULL);
    }
    VG_FREE(p);
    VG_FREE(v);
    VG_FREE(ids);
    return rc;
}

void
vg__raw_txn_end(struct vg_store *s, bool committed)
{
    struct vg__raw *st;

    pthread_mutex_lock(&s->z_mu); /* a reader thread may be making it */
    st = s->raw;
    pthread_mutex_unlock(&s->z_mu);
    if (st == NULL) {
        return;
    }
    for (size_t i = 0; i < st->n_pend; i++) {
        struct vg__raw_wc *c = &st->wc[st->pend[i]];

        if (c->state == VG__WC_PENDING) {
            c->state = committed ? VG__WC_DONE : VG__WC_EMPTY;
        }
    }
    st->n_pend = 0;
    for (size_t i = 0; committed && i < st->n_wpend; i++) {
        vg__raw_push_id(&st->wdicts, &st->n_wdicts, &st->cap_wdicts, st->wpend[i]);
    }
    st->n_wpend = 0;
}
