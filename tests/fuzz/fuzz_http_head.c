/* SPDX-License-Identifier: MIT */
/*
 * fuzz_http_head.c - response head, then framing, then (for chunked bodies) the decoder over the
 * rest of the input fed in two pieces split at a point taken from the input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static void
decode_rest(const uint8_t *p, size_t len, size_t cut)
{
    uint8_t *buf = malloc(len + 1);
    struct vg_chunked c;
    size_t out, used;
    int rc;

    if (buf == NULL) {
        return;
    }
    if (len > 0) {
        memcpy(buf, p, len);
    }
    vg_chunked_init(&c);
    rc = vg_chunked_decode(&c, buf, cut, &out, &used);
    check(rc <= 1);
    if (rc >= 0) {
        check(out <= used && used <= cut);
        check(rc == 1 || used == cut);
    }
    if (rc == 0) {
        rc = vg_chunked_decode(&c, buf + cut, len - cut, &out, &used);
        check(rc <= 1);
        if (rc >= 0) {
            check(out <= used && used <= len - cut);
        }
    }
    free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vg_http_head h;
    enum vg_http_framing framing;
    uint64_t length;
    size_t rest, cut;
    int rc;

    rc = vg_http_parse_head(data, size, &h);
    check(rc == 0 || rc == VG_EMORE || rc == VG_EPROTO || rc == VG_ETOOBIG);
    if (rc != 0) {
        return 0;
    }
    check(h.head_len <= size && h.head_len <= VG_HTTP_HEAD_MAX);
    check(h.n_fields <= VG_HTTP_MAX_HEADERS);
    check(h.status >= 100 && h.status <= 999);
    check(h.reason.off + h.reason.len <= h.head_len);
    for (size_t i = 0; i < h.n_fields; i++) {
        const struct vg_http_field *f = &h.fields[i];

        check(f->name.len > 0 && f->name.off + f->name.len <= h.head_len);
        check(f->value.off + f->value.len <= h.head_len);
        if (f->name.len < 64) {
            char name[64];
            const struct vg_http_field *g;

            memcpy(name, data + f->name.off, f->name.len);
            name[f->name.len] = '\0';
            g = vg_http_head_get(&h, data, name);
            /* The lookup finds this field or an earlier one with the same name. */
            check(g != NULL && g <= f && g->name.len == f->name.len);
        }
    }
    /* The last byte steers the rest: whether this answers a HEAD, and where to split the body. */
    rc = vg_http_framing(&h, data, data[size - 1] == 'H', &framing, &length);
    check(rc == 0 || rc == VG_EPROTO);
    if (rc != 0 || framing != VG_HTTP_BODY_CHUNKED) {
        return 0;
    }
    rest = size - h.head_len;
    cut = data[size - 1] % (rest + 1);
    decode_rest(data + h.head_len, rest, cut);
    return 0;
}
