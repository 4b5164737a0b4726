/* SPDX-License-Identifier: MIT */
/*
 * asn.h - where an address sits on the Internet: its autonomous system (number and organisation)
 * and its country, read from MaxMind DB files (GeoLite2-ASN, GeoLite2-Country or -City, DB-IP
 * lite, ipinfo's country_asn, or a file written by tests/tools/mkmmdb.py). The probe opens them
 * once (vigie probe --asn-db / --country-db) and looks up the addresses it resolves, the control's
 * and its own (ooni-reference.md sections 1.3 and 4). libmaxminddb is used here and nowhere else.
 */
#ifndef VG_MEAS_ASN_H
#define VG_MEAS_ASN_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define VG_ASN_ORG_MAX 128 /* bytes kept of an organisation name, NUL included */

struct vg_asn_info {
    uint32_t asn;             /* autonomous system number, 0 when unknown */
    char org[VG_ASN_ORG_MAX]; /* its organisation, valid UTF-8 (cut whole), "" when unknown */
    char cc[3];               /* ISO 3166-1 alpha-2 country code, upper case, "" when unknown */
};

struct vg_asn_db;

/*
 * Open the databases: asn_path for the autonomous system, country_path for the country; either
 * may be NULL, not both. Each file is read for everything it holds, so one file with both kinds
 * of data (DB-IP or ipinfo style, the lab's) serves alone; with two, the ASN comes from asn_path
 * first and the country from country_path first, each falling back to the other file. Returns 0,
 * or VG_EINVAL with a message in err when a file cannot be read as a MaxMind DB.
 */
VG_MUST_USE int vg_asn_open(const char *asn_path, const char *country_path, struct vg_asn_db **out,
                            char *err, size_t errlen);
/* Close the databases; NULL is a no-op. */
void vg_asn_free(struct vg_asn_db *db);

/*
 * What the databases say about ip ("192.0.2.1", "2001:db8::1"; an IPv4-mapped IPv6 address is
 * looked up as its IPv4 form). Returns 0 with *out filled (zero and "" for what no database
 * knows), VG_EINVAL when ip is not an IP address, VG_EPROTO when a database is corrupt on the way
 * to it; on error *out is zeroed. Read-only on db: safe from several threads.
 */
int vg_asn_lookup(const struct vg_asn_db *db, const char *ip, struct vg_asn_info *out);

#endif
