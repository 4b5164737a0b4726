/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the certificate summary vigie extracts from a peer chain (subject and issuer
 * one-line names, validity, fingerprints, self-signed check) from hostile DER.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_cert c;

    if (vg_cert_summarize(data, size, &c) == 0) {
        /* The summary strings are bounded and terminated whatever the names hold. */
        if (strnlen(c.subject, sizeof(c.subject)) == sizeof(c.subject) ||
            strnlen(c.issuer, sizeof(c.issuer)) == sizeof(c.issuer) || strlen(c.sha256) != 64) {
            abort();
        }
        vg_cert_cleanup(&c);
    }
    return 0;
}
