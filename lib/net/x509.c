/* SPDX-License-Identifier: MIT */
/*
 * x509.c - peer certificates recorded by another probe, summarised with the probe's own
 * certificate reader (net/tls.c, vg_cert_summarize) and judged with its words (x509.h).
 */
#include "net/x509.h"

#include <stdio.h>
#include <string.h>

#include "util/limits.h"

int
vg_x509_summarize(const uint8_t *der, size_t len, struct vg_cert *out)
{
    int rc = vg_cert_summarize(der, len, out);

    vg_cert_cleanup(out);
    return rc;
}

void
vg_x509_reason(const struct vg_cert *c, int verify_err, time_t at, char *out, size_t cap)
{
    const char *subj = c != NULL ? c->subject : "(not recorded)";
    char now[24] = "";
    struct tm tm;

    if (at > 0 && gmtime_r(&at, &tm) != NULL) {
        strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    if (c != NULL && c->self_signed) {
        snprintf(out, cap, "self-signed certificate %s", subj);
    } else if (verify_err == VG_ETLS_HOSTNAME) {
        snprintf(out, cap, "certificate %s does not match the host name", subj);
    } else if (verify_err == VG_ETLS_UNKNOWN_CA) {
        snprintf(out, cap, "certificate %s from an unknown authority %s", subj,
                 c != NULL ? c->issuer : "(not recorded)");
    } else if (c != NULL && now[0] != '\0' && c->not_after[0] != '\0' &&
               strcmp(c->not_after, now) < 0) {
        /* ISO 8601 in UTC, same width: the strings order as the times do */
        snprintf(out, cap, "expired certificate %s (not after %s)", subj, c->not_after);
    } else if (c != NULL && now[0] != '\0' && c->not_before[0] != '\0' &&
               strcmp(c->not_before, now) > 0) {
        snprintf(out, cap, "certificate %s not yet valid (not before %s)", subj, c->not_before);
    } else {
        snprintf(out, cap, "invalid certificate %s", subj);
    }
}
