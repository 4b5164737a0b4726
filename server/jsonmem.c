/* SPDX-License-Identifier: MIT */
/*
 * jsonmem.c - untrusted JSON within bounded memory (jsonmem.h): the pre-parse check, the arena
 * jansson allocates from inside a scope, and the serialisation into C-library memory.
 *
 * jansson takes one pair of allocation functions for the whole process (json_set_alloc_funcs);
 * they are set before main (a constructor: no thread runs yet) and fall through to malloc/free on
 * every thread outside a scope. Inside one, small allocations are cut from chunks and never freed
 * one by one (jansson frees a tree node by node: the chunks go at the end of the scope), large
 * ones (long strings, big arrays' tables, the lexer's buffer) get a block of their own, freed
 * when jansson frees them; a free of anything else is passed on to free().
 */
#include "jsonmem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/limits.h"
#include "util/mem.h"

#define VG__JM_BIG       (2 * 1024)    /* allocations of this size or more: a block each */
#define VG__JM_CHUNK_MIN (32 * 1024)   /* the first chunk of a scope */
#define VG__JM_CHUNK_MAX (1024 * 1024) /* chunks double up to this size */
#define VG__JM_TEXT_MIN  (16 * 1024)   /* first storage of vg_jsonmem_dumps */

struct vg__jm_chunk {
    struct vg__jm_chunk *next;
    size_t size; /* with this header */
    max_align_t data[];
};

struct vg__jm_big {
    struct vg__jm_big *prev, *next;
    size_t size; /* with this header */
    max_align_t data[];
};

static _Thread_local struct vg_jsonmem *vg__jm_cur;

/* ---- the check before parsing -------------------------------------------------------------- */

/* Bytes the check looks at outside strings: 1 opens, 2 closes, 3 separates, 4 starts a string. */
static const unsigned char vg__jm_class[256] = {
    ['{'] = 1, ['['] = 1, ['}'] = 2, [']'] = 2, [','] = 3, [':'] = 3, ['"'] = 4,
};

/* Past the string whose opening quote is just before p: after its closing quote, or end. */
static const char *
vg__jm_skip_string(const char *p, const char *end)
{
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(end - p)), *r;

        if (q == NULL) {
            return end; /* not terminated: the parser will say so */
        }
        /* Escaped when an odd number of backslashes precede it (each run is counted once: the
         * next search starts after this quote). */
        for (r = q; r > p && r[-1] == '\\'; r--) {
        }
        p = q + 1;
        if (((size_t)(q - r) & 1) == 0) {
            return p;
        }
    }
}

int
vg_jsonmem_check(const char *p, size_t len, size_t max_values, unsigned max_depth,
                 struct vg_jsonmem_shape *shape, char *err, size_t errlen)
{
    const char *end = p + len, *q;
    size_t values = 1; /* the top-level value; each value or key after it follows [ { , or : */
    size_t longest = 0, run = 0;
    unsigned depth = 0;

    while (p < end) {
        unsigned char cls = vg__jm_class[(unsigned char)*p++];

        if (cls == 0) {
            /* a number's bytes (or a literal's, or blanks): the lexer keeps a number's text in
             * the buffer it keeps a string's in */
            longest = ++run > longest ? run : longest;
            continue;
        }
        run = 0;
        switch (cls) {
        case 1:
            if (++depth > max_depth) {
                snprintf(err, errlen, "JSON nested deeper than %u arrays and objects", max_depth);
                return VG_ETOOBIG;
            }
            values++;
            break;
        case 2:
            depth -= depth > 0 ? 1 : 0;
            break;
        case 3:
            values++;
            break;
        default:
            q = p - 1;
            p = vg__jm_skip_string(p, end);
            longest = (size_t)(p - q) > longest ? (size_t)(p - q) : longest;
            continue;
        }
        if (values > max_values) {
            snprintf(err, errlen, "more than %zu JSON values (object keys included)", max_values);
            return VG_ETOOBIG;
        }
    }
    shape->values = values;
    shape->longest = longest;
    return 0;
}

/*
 * What a parse holds at its peak (blocks it frees go back to its reservation: vg__jm_uncharge).
 * jansson 2.14 allocates, to parse a text: per value at most ~210 bytes of nodes (an empty
 * object and its 8 buckets; a key's pair and its share of the buckets as they double; an array
 * and its table as it doubles; 16-byte rounding included), the bytes of every string (keys
 * twice: the lexer's copy, then the pair's), and the lexer's buffer of a token's text, kept for
 * the whole parse: it doubles from 16 bytes to S, the first size past the longest token, and
 * holds the old one too while it grows (1.5 S). The arena adds, during a parse, 32 KiB chunks
 * (vg__jm_grow) each with an unused tail under 2 KiB (the allocation that did not fit: 1/16), a
 * last chunk not yet filled, a header per block (under 1/64 of a block of 2 KiB or more) and
 * the lexer's first sizes (under 2 KiB, in chunks): an eighth of the sum and 64 KiB cover them.
 */
#define VG__JM_PER_VALUE 256
#define VG__JM_SLACK     (64 * 1024)

size_t
vg_jsonmem_estimate(size_t len, const struct vg_jsonmem_shape *shape)
{
    size_t lex = 16, need;

    while (lex <= shape->longest && lex < SIZE_MAX / 4) {
        lex *= 2;
    }
    need = VG__JM_PER_VALUE * shape->values + 2 * len + lex + lex / 2;
    return need + need / 8 + VG__JM_SLACK;
}

/* ---- the arena ----------------------------------------------------------------------------- */

/* Account for size more bytes of the scope, or say why not (-1). */
static int
vg__jm_charge(struct vg_jsonmem *jm, size_t size)
{
    int rc;

    if (jm->loading) {
        /* From the parse's reservation; past it (the estimate fell short) taken anyway. */
        if (size > jm->reserve) {
            jm->forced += size - jm->reserve;
            if (jm->acct != NULL) {
                vg_membudget_force(jm->acct, size - jm->reserve);
            }
        }
        jm->reserve -= size > jm->reserve ? jm->reserve : size;
        jm->held += size;
        return 0;
    }
    if (jm->held > jm->cap || size > jm->cap - jm->held) {
        jm->over = true;
        return -1;
    }
    if (jm->acct != NULL) {
        rc = vg_membudget_take(jm->acct, size);
        if (rc != 0) {
            jm->refused = rc;
            return -1;
        }
    }
    jm->held += size;
    return 0;
}

/* Bytes given back; during a parse they return to its reservation, which thus bounds what the
 * parse holds at any one time (the lexer's buffer is freed each time it grows, a key's copy once
 * its pair holds it), not the sum of what it ever took. */
static void
vg__jm_uncharge(struct vg_jsonmem *jm, size_t size)
{
    jm->held -= size;
    if (jm->loading) {
        jm->reserve += size;
        return;
    }
    if (jm->acct != NULL) {
        vg_membudget_give(jm->acct, size);
    }
}

static void *
vg__jm_big_alloc(struct vg_jsonmem *jm, size_t n)
{
    size_t size = sizeof(struct vg__jm_big) + n;
    struct vg__jm_big *b;

    if (size < n || vg__jm_charge(jm, size) < 0) {
        return NULL;
    }
    b = malloc(size);
    if (b == NULL) {
        vg__jm_uncharge(jm, size);
        return NULL;
    }
    b->size = size;
    b->prev = NULL;
    b->next = jm->big;
    if (jm->big != NULL) {
        jm->big->prev = b;
    }
    jm->big = b;
    return b->data;
}

static void
vg__jm_big_free(struct vg_jsonmem *jm, struct vg__jm_big *b)
{
    if (b->prev != NULL) {
        b->prev->next = b->next;
    } else {
        jm->big = b->next;
    }
    if (b->next != NULL) {
        b->next->prev = b->prev;
    }
    vg__jm_uncharge(jm, b->size);
    free(b);
}

/* A new chunk (for an allocation under VG__JM_BIG): twice the size of the last one (up to
 * VG__JM_CHUNK_MAX), but during a parse VG__JM_CHUNK_MIN, so that the chunk not yet filled stays
 * within the estimate's slack however far the chunks had grown. */
static int
vg__jm_grow(struct vg_jsonmem *jm)
{
    size_t size = jm->chunks == NULL ? VG__JM_CHUNK_MIN : jm->chunks->size * 2;
    struct vg__jm_chunk *c;

    if (jm->loading) {
        size = VG__JM_CHUNK_MIN;
    } else if (size > VG__JM_CHUNK_MAX) {
        size = VG__JM_CHUNK_MAX;
    }
    if (vg__jm_charge(jm, size) < 0) {
        return -1;
    }
    c = malloc(size);
    if (c == NULL) {
        vg__jm_uncharge(jm, size);
        return -1;
    }
    c->size = size;
    c->next = jm->chunks;
    jm->chunks = c;
    jm->pos = (unsigned char *)c->data;
    jm->end = (unsigned char *)c + size;
    return 0;
}

static void *
vg__jm_alloc(struct vg_jsonmem *jm, size_t n)
{
    void *p;

    n = n == 0 ? sizeof(max_align_t) : (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (n >= VG__JM_BIG) {
        return vg__jm_big_alloc(jm, n);
    }
    if ((size_t)(jm->end - jm->pos) < n && vg__jm_grow(jm) < 0) {
        return NULL;
    }
    p = jm->pos;
    jm->pos += n;
    return p;
}

static void
vg__jm_release(struct vg_jsonmem *jm, void *p)
{
    uintptr_t a = (uintptr_t)p;

    for (struct vg__jm_chunk *c = jm->chunks; c != NULL; c = c->next) {
        if (a >= (uintptr_t)c->data && a < (uintptr_t)c + c->size) {
            return; /* freed with its chunk */
        }
    }
    for (struct vg__jm_big *b = jm->big; b != NULL; b = b->next) {
        if (a == (uintptr_t)b->data) {
            vg__jm_big_free(jm, b);
            return;
        }
    }
    free(p); /* allocated before the scope */
}

static void *
vg__jm_malloc(size_t n)
{
    struct vg_jsonmem *jm = vg__jm_cur;

    return jm != NULL ? vg__jm_alloc(jm, n) : malloc(n);
}

static void
vg__jm_free(void *p)
{
    struct vg_jsonmem *jm = vg__jm_cur;

    if (p == NULL) {
        return;
    }
    if (jm != NULL) {
        vg__jm_release(jm, p);
    } else {
        free(p);
    }
}

/* Before main, so that no thread is in jansson when its allocation functions change. */
__attribute__((constructor)) static void
vg__jm_install(void)
{
    json_set_alloc_funcs(vg__jm_malloc, vg__jm_free);
}

void
vg_jsonmem_begin(struct vg_jsonmem *jm, struct vg_memacct *acct, size_t cap)
{
    memset(jm, 0, sizeof(*jm));
    jm->acct = acct;
    jm->cap = cap;
    jm->prev = vg__jm_cur;
    vg__jm_cur = jm;
}

static void vg__jm_tree_end(struct vg_jsonmem *jm);

void
vg_jsonmem_end(struct vg_jsonmem *jm, size_t kept)
{
    vg__jm_tree_end(jm);
    while (jm->chunks != NULL) {
        struct vg__jm_chunk *c = jm->chunks;

        jm->chunks = c->next;
        vg__jm_uncharge(jm, c->size);
        free(c);
    }
    while (jm->big != NULL) {
        vg__jm_big_free(jm, jm->big);
    }
    if (jm->acct != NULL && jm->text > kept) {
        vg_membudget_give(jm->acct, jm->text - kept);
    }
    jm->text = 0;
    vg__jm_cur = jm->prev;
}

bool
vg_jsonmem_failed(const struct vg_jsonmem *jm)
{
    return jm->over || jm->refused != 0;
}

bool
vg_jsonmem_toobig(const struct vg_jsonmem *jm)
{
    return jm->limited || jm->over;
}

/* ---- parse and serialise ------------------------------------------------------------------- */

/* Refuse p[len] before parsing it (*toobig, jerr says why), or take what its parse needs. */
static bool
vg__jm_refuse(struct vg_jsonmem *jm, const char *p, size_t len, json_error_t *jerr)
{
    struct vg_jsonmem_shape shape;
    size_t need;
    int rc;

    jerr->line = jerr->column = -1;
    jerr->position = 0;
    jerr->source[0] = '\0';
    if (vg_jsonmem_check(p, len, VG_COLLECTOR_JSON_VALUES, VG_COLLECTOR_JSON_DEPTH, &shape,
                         jerr->text, sizeof(jerr->text)) < 0) {
        if (jm != NULL) {
            jm->limited = true;
        }
        return true;
    }
    if (jm == NULL) {
        return false;
    }
    need = vg_jsonmem_estimate(len, &shape);
    if (jm->held > jm->cap || need > jm->cap - jm->held) {
        jm->over = true;
        snprintf(jerr->text, sizeof(jerr->text), "JSON whose parse may need more than %zu MiB",
                 jm->cap >> 20);
        return true;
    }
    rc = jm->acct != NULL ? vg_membudget_take(jm->acct, need) : 0;
    if (rc != 0) {
        jm->refused = rc;
        snprintf(jerr->text, sizeof(jerr->text), "no memory left for uploads");
        return true;
    }
    jm->reserve = need;
    jm->loading = true;
    return false;
}

json_t *
vg_jsonmem_load(const char *p, size_t len, size_t flags, json_error_t *jerr, bool *toobig)
{
    struct vg_jsonmem *jm = vg__jm_cur;
    json_t *j;

    *toobig = vg__jm_refuse(jm, p, len, jerr);
    if (*toobig) {
        return NULL;
    }
    j = json_loadb(p, len, flags, jerr);
    if (jm != NULL) {
        jm->loading = false;
        if (jm->acct != NULL) {
            vg_membudget_give(jm->acct, jm->reserve);
        }
        jm->reserve = 0;
    }
    return j;
}

/* ---- the fast reader ------------------------------------------------------------------------ */

/* Documents kept past this many bytes are freed when their scope ends (a rare huge text). */
#define VG__JM_DOC_KEEP (1024 * 1024)

static pthread_key_t vg__jm_doc_key;
static pthread_once_t vg__jm_doc_once = PTHREAD_ONCE_INIT;

static void
vg__jm_doc_free(void *d)
{
    vg_json_doc_free(d);
}

static void
vg__jm_doc_init(void)
{
    if (pthread_key_create(&vg__jm_doc_key, vg__jm_doc_free) != 0) {
        abort(); /* only with PTHREAD_KEYS_MAX keys in use */
    }
}

/* The calling thread's document (NULL when out of memory). */
static struct vg_json_doc *
vg__jm_doc(void)
{
    struct vg_json_doc *d;

    (void)pthread_once(&vg__jm_doc_once, vg__jm_doc_init);
    d = pthread_getspecific(vg__jm_doc_key);
    if (d == NULL && (d = vg_json_doc_new()) != NULL &&
        pthread_setspecific(vg__jm_doc_key, d) != 0) {
        vg_json_doc_free(d);
        d = NULL;
    }
    return d;
}

/* The tree of a text of len bytes and this shape: a node per value (its number text rounded up
 * with it), a copy of the strings and names (at most the text), as much again for the unused
 * tails of the arena's blocks, and its first block. */
static size_t
vg__jm_tree_estimate(size_t len, const struct vg_jsonmem_shape *shape)
{
    return shape->values * (sizeof(struct vg_json) + 16) + 2 * len + 64 * 1024;
}

const struct vg_json *
vg_jsonmem_parse(const char *p, size_t len, char *err, size_t errlen, bool *toobig)
{
    struct vg_jsonmem *jm = vg__jm_cur;
    struct vg_jsonmem_shape shape;
    const struct vg_json *root;
    struct vg_json_doc *d;
    size_t need;
    int rc;

    *toobig = false;
    if (vg_jsonmem_check(p, len, VG_COLLECTOR_JSON_VALUES, VG_COLLECTOR_JSON_DEPTH, &shape, err,
                         errlen) < 0) {
        if (jm != NULL) {
            jm->limited = true;
        }
        *toobig = true;
        return NULL;
    }
    need = vg__jm_tree_estimate(len, &shape);
    if (jm == NULL) {
        need = 0; /* outside a scope: nothing to charge */
    } else if (jm->held > jm->cap || need > jm->cap - jm->held ||
               vg_jsonmem_estimate(len, &shape) > jm->cap - jm->held) {
        /* the documented bound (docs/api.md, "JSON limits") is jansson's, which the tree's
         * stays under: the same texts are refused as when jansson parsed them */
        jm->over = *toobig = true;
        snprintf(err, errlen, "JSON whose parse may need more than %zu MiB", jm->cap >> 20);
        return NULL;
    }
    rc = jm != NULL && jm->acct != NULL ? vg_membudget_take(jm->acct, need) : 0;
    if (rc != 0) {
        jm->refused = rc;
        *toobig = true;
        snprintf(err, errlen, "no memory left for uploads");
        return NULL;
    }
    if (jm != NULL) {
        jm->held += need;
        jm->tree += need;
    }
    if ((d = vg__jm_doc()) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    root = vg_json_parse(d, p, len, err, errlen);
    if (root != NULL && !vg_json_strict(root)) {
        snprintf(err, errlen, "invalid JSON: a repeated object key or a \\u0000 in a string");
        root = NULL;
    }
    return root;
}

/* End of a scope: the trees' charge back; a document grown past VG__JM_DOC_KEEP freed. */
static void
vg__jm_tree_end(struct vg_jsonmem *jm)
{
    struct vg_json_doc *d;

    if (jm->tree == 0) {
        return;
    }
    jm->held -= jm->tree;
    if (jm->acct != NULL) {
        vg_membudget_give(jm->acct, jm->tree);
    }
    jm->tree = 0;
    d = pthread_getspecific(vg__jm_doc_key);
    if (d != NULL && vg_json_doc_memory(d) > VG__JM_DOC_KEEP) {
        vg_json_doc_free(d);
        (void)pthread_setspecific(vg__jm_doc_key, NULL);
    }
}

/* ---- texts written within the account ----------------------------------------------------------
 */

void
vg_jsonmem_out_begin(struct vg_jsonmem_out *o, size_t max, size_t hint)
{
    struct vg_jsonmem *jm = vg__jm_cur;

    memset(o, 0, sizeof(*o));
    o->acct = jm != NULL && jm->acct != NULL ? jm->acct : &o->none;
    vg_buf_init(&o->b, max + 1);
    if (hint > 0) {
        /* one allocation for a text about as long as its source; refusals show at the puts */
        if (vg_membudget_grow(o->acct, &o->b, hint > max ? max + 1 : hint + 1, true) != 0) {
            /* refused: the first put asks again, and fails */
        }
    }
}

int
vg_jsonmem_put(const char *p, size_t n, void *arg)
{
    struct vg_jsonmem_out *o = arg;
    int rc;

    if (n >= o->b.cap - o->b.len) { /* room for the final NUL too */
        rc = vg_membudget_grow(o->acct, &o->b, n + 1, false);
        if (rc != 0) {
            o->refused = rc;
            return -1;
        }
    }
    memcpy(o->b.data + o->b.len, p, n);
    o->b.len += n;
    return 0;
}

int
vg_jsonmem_out_end(struct vg_jsonmem_out *o, bool ok, char **out, size_t *len)
{
    struct vg_jsonmem *jm = vg__jm_cur;
    size_t cap;

    *out = NULL;
    *len = 0;
    if (!ok || o->refused != 0 || o->b.data == NULL) {
        vg_membudget_give(o->acct, o->b.cap);
        vg_buf_cleanup(&o->b);
        if (o->refused == VG_ETOOBIG) {
            return VG_ETOOBIG;
        }
        if (jm != NULL && o->refused != 0) {
            jm->refused = o->refused;
        }
        return VG_EINVAL;
    }
    /* Storage down to the text: what stays charged until the text is freed is *len + 1. */
    cap = o->b.cap;
    if (cap > o->b.len + 1) {
        o->b.data = vg_xrealloc(o->b.data, o->b.len + 1);
        vg_membudget_give(o->acct, cap - (o->b.len + 1));
    }
    o->b.data[o->b.len] = '\0';
    if (jm != NULL) {
        jm->text += o->b.len + 1;
    }
    *out = (char *)o->b.data;
    *len = o->b.len;
    return 0;
}

int
vg_jsonmem_dumps(json_t *m, size_t max, char **out, size_t *len)
{
    struct vg_jsonmem *jm = vg__jm_cur;
    struct vg_jsonmem_out o;
    int rc;

    vg_jsonmem_out_begin(&o, max, 0);
    /* jansson's own allocations while it dumps (a few per level of nesting) are short-lived:
     * out of the arena, whose space is not reused. */
    vg__jm_cur = NULL;
    rc = json_dump_callback(m, vg_jsonmem_put, &o, JSON_COMPACT);
    vg__jm_cur = jm;
    return vg_jsonmem_out_end(&o, rc == 0, out, len);
}
