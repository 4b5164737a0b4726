/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dns.c - the DNS reply decoder on arbitrary bytes. Besides crashes it checks the decoder's
 * promises: bounded counts, printable names of at most 255 characters, and that a decoded
 * question name encodes back (escapes included) into a query that decodes to the same name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_dns_msg msg, again;

static void
check_name(const char *s)
{
    size_t n = strlen(s);

    if (n > VG_DNS_NAME_MAX) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f || (s[i] >= 'A' && s[i] <= 'Z')) {
            abort();
        }
    }
    /* No final dot, no empty label: dots inside labels are always escaped. */
    if ((n > 0 && (s[0] == '.' || s[n - 1] == '.')) || strstr(s, "..") != NULL) {
        abort();
    }
}

static void
check_roundtrip(const char *name)
{
    uint8_t q[VG_DNS_MSG_MAX];
    size_t qlen;

    if (name[0] == '\0') {
        return;
    }
    if (vg_dns_build_query(1, name, VG_DNS_TYPE_A, q, sizeof(q), &qlen) != 0) {
        abort();
    }
    if (vg_dns_parse(q, qlen, &again) != 0 || strcmp(again.qname, name) != 0) {
        abort();
    }
    if (!vg_dns_name_eq(again.qname, name)) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (vg_dns_parse(data, size, &msg) == 0) {
        if (msg.n_rr > VG_DNS_MAX_RR || msg.n_rr > msg.ancount) {
            abort();
        }
        check_name(msg.qname);
        check_roundtrip(msg.qname);
        for (size_t i = 0; i < msg.n_rr; i++) {
            check_name(msg.rr[i].name);
            if (msg.rr[i].type == VG_DNS_TYPE_CNAME) {
                check_name(msg.rr[i].u.cname);
            }
        }
        (void)vg_dns_rcode_err(msg.rcode);
    }

    /* The same bytes as a presentation name for the encoder. */
    if (size < 1024) {
        char name[1024];
        uint8_t q[VG_DNS_MSG_MAX];
        size_t qlen;

        memcpy(name, data, size);
        name[size] = '\0';
        if (vg_dns_build_query(2, name, VG_DNS_TYPE_AAAA, q, sizeof(q), &qlen) == 0) {
            int rc = vg_dns_parse(q, qlen, &again);

            /*
             * A name valid on the wire can still be too long in presentation form once its
             * non-printable bytes become \DDD (4 characters each): that one error is expected.
             */
            if (qlen > 12 + 255 + 4 || (rc != 0 && rc != VG_ETOOBIG)) {
                abort();
            }
            if (rc == 0) {
                check_name(again.qname);
            }
        }
    }
    return 0;
}
