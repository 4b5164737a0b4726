/* SPDX-License-Identifier: MIT */
#include "util/crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/str.h"

void
vg_random_bytes(void *buf, size_t len)
{
    if (len > 0 && RAND_bytes(buf, (int)len) != 1) {
        /* The CSPRNG failing is a broken system, not a network condition. */
        fprintf(stderr, "vigie: RAND_bytes failed\n");
        abort();
    }
}

uint64_t
vg_random_below(uint64_t bound)
{
    uint64_t v, limit;

    if (bound <= 1) {
        return 0;
    }
    /* Reject the top partial range so that every value is equally likely. */
    limit = UINT64_MAX - UINT64_MAX % bound;
    do {
        vg_random_bytes(&v, sizeof(v));
    } while (v >= limit);
    return v % bound;
}

void
vg_uuid4(char out[VG_UUID_LEN + 1])
{
    uint8_t r[16];
    char hex[33];

    vg_random_bytes(r, sizeof(r));
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    vg_hex(r, sizeof(r), hex);
    snprintf(out, VG_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
}

/* The digests, fetched once: EVP_sha256() and EVP_sha512() make OpenSSL 3 look the
 * implementation up again at every use (a lock and a property query per digest). */
static EVP_MD *vg__crypto_md256, *vg__crypto_md512;
static pthread_once_t vg__crypto_md_once = PTHREAD_ONCE_INIT;

static void
vg__crypto_md_fetch(void)
{
    vg__crypto_md256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    vg__crypto_md512 = EVP_MD_fetch(NULL, "SHA512", NULL);
}

/* The fetched SHA-256 (false) or SHA-512 (true); the implicit one if the fetch failed. */
static const EVP_MD *
vg__crypto_md(bool sha512)
{
    (void)pthread_once(&vg__crypto_md_once, vg__crypto_md_fetch);
    if (sha512) {
        return vg__crypto_md512 != NULL ? vg__crypto_md512 : EVP_sha512();
    }
    return vg__crypto_md256 != NULL ? vg__crypto_md256 : EVP_sha256();
}

static _Noreturn void
vg__crypto_fail(void)
{
    /* Only a broken OpenSSL fails a digest of memory; a wrong hash would corrupt stores. */
    fprintf(stderr, "vigie: EVP_Digest failed\n");
    abort();
}

static void
vg__crypto_digest(const EVP_MD *md, const void *p, size_t len, uint8_t *out, unsigned want)
{
    unsigned int n = 0;

    if (EVP_Digest(p, len, out, &n, md, NULL) != 1 || n != want) {
        vg__crypto_fail();
    }
}

void
vg_sha256(const void *p, size_t len, uint8_t out[32])
{
    vg__crypto_digest(vg__crypto_md(false), p, len, out, 32);
}

void
vg_sha512(const void *p, size_t len, uint8_t out[64])
{
    vg__crypto_digest(vg__crypto_md(true), p, len, out, 64);
}

void
vg_sha512_2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[64])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int n = 0;

    if (c == NULL || EVP_DigestInit_ex(c, vg__crypto_md(true), NULL) != 1 ||
        EVP_DigestUpdate(c, a, alen) != 1 || EVP_DigestUpdate(c, b, blen) != 1 ||
        EVP_DigestFinal_ex(c, out, &n) != 1 || n != 64) {
        vg__crypto_fail();
    }
    EVP_MD_CTX_free(c);
}

void
vg_sha512_cut(const void *p, size_t len, size_t from, size_t to, uint8_t whole[64], uint8_t cut[64])
{
    const uint8_t *b = p;
    EVP_MD_CTX *w = EVP_MD_CTX_new(), *c = EVP_MD_CTX_new();
    unsigned int nw = 0, nc = 0;

    if (from > to || to > len) {
        abort(); /* a caller's bug: the cut must lie within the text */
    }
    /* The prefix b[0, from) once; then the context is copied and each goes its own way. */
    if (w == NULL || c == NULL || EVP_DigestInit_ex(w, vg__crypto_md(true), NULL) != 1 ||
        EVP_DigestUpdate(w, b, from) != 1 || EVP_MD_CTX_copy_ex(c, w) != 1 ||
        EVP_DigestUpdate(w, b + from, len - from) != 1 || EVP_DigestFinal_ex(w, whole, &nw) != 1 ||
        EVP_DigestUpdate(c, b + to, len - to) != 1 || EVP_DigestFinal_ex(c, cut, &nc) != 1 ||
        nw != 64 || nc != 64) {
        vg__crypto_fail();
    }
    EVP_MD_CTX_free(w);
    EVP_MD_CTX_free(c);
}

void
vg_sha256_hex(const void *p, size_t len, char out[65])
{
    uint8_t md[32];

    vg_sha256(p, len, md);
    vg_hex(md, sizeof(md), out);
}
