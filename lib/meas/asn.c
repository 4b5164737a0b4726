/* SPDX-License-Identifier: MIT */
/*
 * asn.c - address -> (autonomous system, organisation, country) from MaxMind DB files, through
 * libmaxminddb (https://maxmind.github.io/MaxMind-DB/).
 *
 * The files are the user's, but they are still read defensively: a value of an unexpected type
 * counts as absent, numbers are range-checked, names are made valid UTF-8 and cut whole, and a
 * country code is kept only when it is two ASCII letters. Keys read, in order:
 *   ASN      autonomous_system_number + autonomous_system_organization (GeoLite2-ASN, DB-IP),
 *            else asn ("AS13335" or a number) + as_name (ipinfo)
 *   country  country.iso_code (GeoLite2-Country/City, DB-IP), else registered_country.iso_code
 *            (GeoLite2 networks with no located country), else country as a string (ipinfo)
 */
#include "meas/asn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/mem.h"
#include "util/str.h"

enum { VG__DB_ASN, VG__DB_COUNTRY, VG__DB_N };

struct vg_asn_db {
    MMDB_s mmdb[VG__DB_N];
    bool open[VG__DB_N];
};

static int
vg__open_one(MMDB_s *m, const char *path, const char *what, char *err, size_t errlen)
{
    int rc, e;

    errno = 0;
    rc = MMDB_open(path, MMDB_MODE_MMAP, m);
    e = errno;
    if (rc == MMDB_SUCCESS) {
        return 0;
    }
    if ((rc == MMDB_FILE_OPEN_ERROR || rc == MMDB_IO_ERROR) && e != 0) {
        snprintf(err, errlen, "cannot read %s database %s: %s", what, path, strerror(e));
    } else {
        snprintf(err, errlen, "%s database %s is not a MaxMind DB file: %s", what, path,
                 MMDB_strerror(rc));
    }
    return VG_EINVAL;
}

int
vg_asn_open(const char *asn_path, const char *country_path, struct vg_asn_db **out, char *err,
            size_t errlen)
{
    const char *paths[VG__DB_N] = {asn_path, country_path};
    const char *what[VG__DB_N] = {"ASN", "country"};
    struct vg_asn_db *db;

    *out = NULL;
    if (asn_path == NULL && country_path == NULL) {
        snprintf(err, errlen, "no database given");
        return VG_EINVAL;
    }
    db = vg_xcalloc(1, sizeof(*db));
    for (int i = 0; i < VG__DB_N; i++) {
        if (paths[i] == NULL) {
            continue;
        }
        if (vg__open_one(&db->mmdb[i], paths[i], what[i], err, errlen) < 0) {
            vg_asn_free(db);
            return VG_EINVAL;
        }
        db->open[i] = true;
    }
    *out = db;
    return 0;
}

void
vg_asn_free(struct vg_asn_db *db)
{
    if (db == NULL) {
        return;
    }
    for (int i = 0; i < VG__DB_N; i++) {
        if (db->open[i]) {
            MMDB_close(&db->mmdb[i]);
        }
    }
    free(db);
}

/* ---- reading one record ------------------------------------------------------------------- */

/* The value at the path (NULL-terminated) of e, or false when absent or not reachable. */
static bool
vg__get(MMDB_entry_s *e, MMDB_entry_data_s *d, const char *const *path)
{
    return MMDB_aget_value(e, d, path) == MMDB_SUCCESS && d->has_data;
}

/* A number 1..UINT32_MAX of any integer type. */
static bool
vg__as_u32(const MMDB_entry_data_s *d, uint32_t *out)
{
    uint64_t v;

    switch (d->type) {
    case MMDB_DATA_TYPE_UINT16:
        v = d->uint16;
        break;
    case MMDB_DATA_TYPE_UINT32:
        v = d->uint32;
        break;
    case MMDB_DATA_TYPE_UINT64:
        v = d->uint64;
        break;
    case MMDB_DATA_TYPE_INT32:
        if (d->int32 < 0) {
            return false;
        }
        v = (uint64_t)d->int32;
        break;
    default:
        return false;
    }
    if (v == 0 || v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* ipinfo's "AS13335". */
static bool
vg__as_asn_text(const MMDB_entry_data_s *d, uint32_t *out)
{
    uint64_t v;

    if (d->type != MMDB_DATA_TYPE_UTF8_STRING || d->data_size < 3 ||
        !vg_strncaseeq(d->utf8_string, "AS", 2)) {
        return false;
    }
    if (vg_parse_u64n(d->utf8_string + 2, d->data_size - 2, 1, UINT32_MAX, &v) < 0) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* A UTF-8 string into dst (cap bytes): invalid sequences replaced, cut before a partial
 * character. Longer names than any real one are cut before sanitising (bounded work). */
static void
vg__copy_name(const MMDB_entry_data_s *d, char *dst, size_t cap)
{
    size_t len = d->data_size < 4 * cap ? d->data_size : 4 * cap, n;
    char *s = vg_utf8_sanitize((const uint8_t *)d->utf8_string, len, &n);

    vg_utf8_copy(dst, cap, s, n);
    free(s);
}

static bool
vg__read_asn(MMDB_entry_s *e, struct vg_asn_info *out)
{
    static const char *const maxmind[] = {"autonomous_system_number", NULL};
    static const char *const maxmind_org[] = {"autonomous_system_organization", NULL};
    static const char *const ipinfo[] = {"asn", NULL};
    static const char *const ipinfo_org[] = {"as_name", NULL};
    MMDB_entry_data_s d;
    const char *const *org;

    if (vg__get(e, &d, maxmind) && vg__as_u32(&d, &out->asn)) {
        org = maxmind_org;
    } else if (vg__get(e, &d, ipinfo) &&
               (vg__as_u32(&d, &out->asn) || vg__as_asn_text(&d, &out->asn))) {
        org = ipinfo_org;
    } else {
        return false;
    }
    if (vg__get(e, &d, org) && d.type == MMDB_DATA_TYPE_UTF8_STRING) {
        vg__copy_name(&d, out->org, sizeof(out->org));
    }
    return true;
}

static bool
vg__as_cc(const MMDB_entry_data_s *d, char cc[3])
{
    char up[3];

    if (d->type != MMDB_DATA_TYPE_UTF8_STRING || d->data_size != 2) {
        return false;
    }
    for (int i = 0; i < 2; i++) {
        char c = d->utf8_string[i];

        if (c >= 'a' && c <= 'z') {
            c = (char)(c - 'a' + 'A');
        }
        if (c < 'A' || c > 'Z') {
            return false;
        }
        up[i] = c;
    }
    up[2] = '\0';
    memcpy(cc, up, sizeof(up));
    return true;
}

static bool
vg__read_cc(MMDB_entry_s *e, struct vg_asn_info *out)
{
    static const char *const located[] = {"country", "iso_code", NULL};
    static const char *const registered[] = {"registered_country", "iso_code", NULL};
    static const char *const flat[] = {"country", NULL};
    const char *const *paths[] = {located, registered, flat};
    MMDB_entry_data_s d;

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (vg__get(e, &d, paths[i]) && vg__as_cc(&d, out->cc)) {
            return true;
        }
    }
    return false;
}

/* ---- lookup ------------------------------------------------------------------------------- */

/* ip as a socket address; IPv4-mapped IPv6 becomes IPv4, where IPv6 databases keep IPv4. */
static bool
vg__sockaddr(const char *ip, struct sockaddr_storage *ss)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1) {
        return false;
    }
    if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
        struct in_addr v4;

        memcpy(&v4, &s6->sin6_addr.s6_addr[12], 4);
        memset(ss, 0, sizeof(*ss));
        s4->sin_family = AF_INET;
        s4->sin_addr = v4;
        return true;
    }
    s6->sin6_family = AF_INET6;
    return true;
}

int
vg_asn_lookup(const struct vg_asn_db *db, const char *ip, struct vg_asn_info *out)
{
    /* The ASN is read from the ASN file first, the country from the country file first. */
    static const int asn_order[] = {VG__DB_ASN, VG__DB_COUNTRY};
    static const int cc_order[] = {VG__DB_COUNTRY, VG__DB_ASN};
    MMDB_lookup_result_s res[VG__DB_N];
    struct sockaddr_storage ss;
    bool have_asn = false, have_cc = false;

    memset(out, 0, sizeof(*out));
    if (db == NULL || ip == NULL || !vg__sockaddr(ip, &ss)) {
        return VG_EINVAL;
    }
    for (int i = 0; i < VG__DB_N; i++) {
        int rc = MMDB_SUCCESS;

        memset(&res[i], 0, sizeof(res[i]));
        if (!db->open[i]) {
            continue;
        }
        res[i] = MMDB_lookup_sockaddr(&db->mmdb[i], (const struct sockaddr *)&ss, &rc);
        if (rc == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
            res[i].found_entry = false; /* an IPv4-only file knows nothing of IPv6 */
        } else if (rc != MMDB_SUCCESS) {
            memset(out, 0, sizeof(*out));
            return VG_EPROTO;
        }
    }
    for (int k = 0; k < VG__DB_N; k++) {
        int i = asn_order[k], j = cc_order[k];

        if (!have_asn && res[i].found_entry) {
            have_asn = vg__read_asn(&res[i].entry, out);
        }
        if (!have_cc && res[j].found_entry) {
            have_cc = vg__read_cc(&res[j].entry, out);
        }
    }
    return 0;
}
