/* SPDX-License-Identifier: MIT */
/*
 * err.h - the one error table of vigie.
 *
 * Every fallible function returns int: 0 (or a count) on success, a negative
 * VG_E* code on failure. Each code carries a human message and, when the error
 * is something a measurement can observe on the network, the OONI failure
 * string (ooni/spec data-formats/df-007-errors.md) written into measurements.
 * Codes are offset from -1000 so that they never collide with -errno.
 */
#ifndef VG_UTIL_ERR_H
#define VG_UTIL_ERR_H

/* XX(code, human message, OONI failure string) */
#define VG_ERR_MAP(XX)                                                                             \
    XX(ETRUNC, "input truncated", "unknown_failure: truncated input")                              \
    XX(ETOOBIG, "input exceeds limit", "unknown_failure: input exceeds limit")                     \
    XX(EPROTO, "protocol violation", "unknown_failure: protocol violation")                        \
    XX(EMORE, "need more input", "unknown_failure: incomplete input")                              \
    XX(EINVAL, "invalid argument", "unknown_failure: invalid argument")                            \
    XX(EINTERNAL, "internal error", "unknown_failure: internal error")                             \
    XX(ETIMEDOUT, "timed out", "generic_timeout_error")                                            \
    XX(ECONNREFUSED, "connection refused", "connection_refused")                                   \
    XX(ECONNRESET, "connection reset by peer", "connection_reset")                                 \
    XX(ECONNABORTED, "connection aborted", "connection_aborted")                                   \
    XX(EEOF, "unexpected end of stream", "eof_error")                                              \
    XX(EHOSTUNREACH, "host unreachable", "host_unreachable")                                       \
    XX(ENETUNREACH, "network unreachable", "network_unreachable")                                  \
    XX(ENETDOWN, "network down", "network_down")                                                   \
    XX(EADDRNOTAVAIL, "address not available", "address_not_available")                            \
    XX(EACCES, "permission denied", "permission_denied")                                           \
    XX(EDNS_NXDOMAIN, "no such domain", "dns_nxdomain_error")                                      \
    XX(EDNS_NOANSWER, "no answer for the name", "dns_no_answer")                                   \
    XX(EDNS_SERVFAIL, "resolver failure", "dns_servfail_error")                                    \
    XX(EDNS_REFUSED, "resolver refused", "dns_refused_error")                                      \
    XX(EDNS_TEMPORARY, "temporary resolver failure", "dns_temporary_failure")                      \
    XX(EDNS_NONRECOVERABLE, "non-recoverable resolver failure", "dns_non_recoverable_failure")     \
    XX(EDNS_MISBEHAVING, "resolver misbehaving", "dns_server_misbehaving")                         \
    XX(ETLS_UNKNOWN_CA, "certificate from an unknown authority", "ssl_unknown_authority")          \
    XX(ETLS_HOSTNAME, "certificate does not match the host name", "ssl_invalid_hostname")          \
    XX(ETLS_BAD_CERT, "invalid certificate", "ssl_invalid_certificate")                            \
    XX(ETLS_HANDSHAKE, "TLS handshake failed", "ssl_failed_handshake")                             \
    XX(EHTTP_REDIRECTS, "too many redirects", "unknown_failure: stopped after too many redirects") \
    XX(EHTTP_LOCATION, "invalid redirect location", "http_invalid_redirect_location_host")         \
    XX(EHTTP_REQUEST, "HTTP request failed", "http_request_failed")                                \
    XX(ECANCELED, "operation canceled", "interrupted")                                             \
    XX(EBOGON, "bogon address refused", "dns_bogon_error")                                         \
    XX(EDB_UNAVAIL, "database unavailable", "unknown_failure: database unavailable")               \
    XX(ENOTFOUND, "not found", "unknown_failure: not found")                                       \
    XX(EEXIST, "already exists", "unknown_failure: already exists")                                \
    XX(ESCHEMA, "database schema version not supported", "unknown_failure: schema")                \
    XX(ECORRUPT, "database inconsistent", "unknown_failure: database inconsistent")                \
    XX(ECONSTRAINT, "row breaks a database constraint", "unknown_failure: constraint")             \
    XX(ERETRY, "transaction must be run again", "unknown_failure: serialization failure")

enum vg_err {
    VG_OK = 0,
    VG_ERR__BASE = -1000,
#define VG__ERR_ENUM(code, msg, ooni) VG_##code,
    VG_ERR_MAP(VG__ERR_ENUM)
#undef VG__ERR_ENUM
        VG_ERR__END
};

#define VG_MUST_USE __attribute__((warn_unused_result))

/* Propagate an error from a straight-line happy path. */
#define VG_TRY(expr)         \
    do {                     \
        int vg__rc = (expr); \
        if (vg__rc < 0)      \
            return vg__rc;   \
    } while (0)

#define VG_ENSURE(cond, err) \
    do {                     \
        if (!(cond))         \
            return (err);    \
    } while (0)

/* Human message for a VG_E* code or a -errno value. Never NULL. */
const char *vg_strerror(int err);
/* Symbolic name ("VG_ETRUNC", or "errno 42"). Never NULL; static storage. */
const char *vg_err_name(int err);
/* OONI failure string for err (VG_E* or -errno); NULL when err >= 0. */
const char *vg_err_failure(int err);
/* Map a positive errno value to a VG_E* code (unknown errnos pass as -errno). */
int vg_err_from_errno(int errnum);

#endif
