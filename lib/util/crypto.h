/* SPDX-License-Identifier: MIT */
/*
 * crypto.h - the one random source and the digests of vigie, over OpenSSL's CSPRNG and EVP. No
 * I/O: the engine, the servers and the CLI all draw from here (like curl's tool reusing curlx).
 * lib/util/crypto.c and lib/net are the only places that include OpenSSL (scripts/checksrc).
 */
#ifndef VG_UTIL_CRYPTO_H
#define VG_UTIL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define VG_UUID_LEN 36 /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" without the NUL */

/* Fill buf with cryptographically random bytes; aborts if the system CSPRNG fails. */
void vg_random_bytes(void *buf, size_t len);
/* A random uniform integer in [0, bound) (bound > 0), without modulo bias. */
uint64_t vg_random_below(uint64_t bound);
/* A random version-4 UUID, lower case, into out (VG_UUID_LEN + 1 bytes). */
void vg_uuid4(char out[VG_UUID_LEN + 1]);

/* SHA-256 / SHA-512 (FIPS 180-4) of p[len] into out. */
void vg_sha256(const void *p, size_t len, uint8_t out[32]);
void vg_sha512(const void *p, size_t len, uint8_t out[64]);
/* SHA-512 of a[alen] followed by b[blen], without joining them. */
void vg_sha512_2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[64]);
/* Both SHA-512 of p[len] (whole) and of p[len] without its bytes [from, to) (cut: the same as
 * vg_sha512_2(p, from, p + to, len - to)), the common prefix p[0, from) read once. Aborts
 * unless from <= to <= len. */
void vg_sha512_cut(const void *p, size_t len, size_t from, size_t to, uint8_t whole[64],
                   uint8_t cut[64]);
/* SHA-256 of p[len] as lower-case hex (65 bytes with the NUL). */
void vg_sha256_hex(const void *p, size_t len, char out[65]);

#endif
