/* SPDX-License-Identifier: MIT */
/*
 * auth.h - the upload credentials of `vigie serve` (docs/api.md, "Credentials"). Tokens
 * (--upload-tokens FILE): a file of "NAME TOKEN" lines, read at start and again on SIGHUP; a
 * client presents one with "Authorization: Bearer TOKEN" and its NAME becomes the provenance of
 * what it uploads. Only SHA-256 digests of the tokens are kept in memory, compared in constant
 * time. TLS client certificates (--client-ca FILE): vg_auth_client_cert, at the end.
 *
 * The file: one credential per line, NAME and TOKEN separated by spaces or tabs; blank lines and
 * lines starting with '#' are skipped. NAME: 1 to 64 characters among A-Z a-z 0-9 _ . - (not
 * "anonymous"); TOKEN: VG_AUTH_TOKEN_MIN to VG_AUTH_TOKEN_MAX characters of RFC 6750's
 * b64token (A-Z a-z 0-9 - . _ ~ + / and trailing '='). A name may have several tokens (to rotate
 * one); a token belongs to one name. The file must be a regular file that other users can
 * neither read nor write (mode 0600 or 0640): a readable file would hand out the credentials.
 *
 * Threads: vg_auth_check may run on any number of threads while vg_auth_reload swaps the table.
 */
#ifndef VG_SERVER_AUTH_H
#define VG_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"
#include "util/err.h"
#include "util/limits.h"

/* Bounds of tokens files and Authorization headers: VG_AUTH_* in util/limits.h. */

struct vg_auth;

/*
 * Parse the text of a tokens file (untrusted: it is checked line by line) into *out, a table
 * the caller frees with vg_auth_free. 0, or VG_EINVAL with err naming the line and what is wrong
 * (the token itself is never quoted).
 */
VG_MUST_USE int vg_auth_parse(const char *text, size_t len, struct vg_auth **out, char *err,
                              size_t errlen);

/*
 * Read the tokens file at path (keeping path for vg_auth_reload). Refused, with err saying why:
 * VG_EACCES when other users may read or write it, or it is not a regular file; VG_ETOOBIG past
 * VG_AUTH_FILE_MAX; VG_EINVAL for a bad line; a negated errno when it cannot be read.
 */
VG_MUST_USE int vg_auth_load(const char *path, struct vg_auth **out, char *err, size_t errlen);

/*
 * Read the file again and swap the table in at once: every check sees either the old table or
 * the new one. A file that is refused (vg_auth_load's errors) keeps the old table; err says why.
 * Returns the number of credentials now in use, or the error.
 */
VG_MUST_USE int vg_auth_reload(struct vg_auth *a, char *err, size_t errlen);

/* Credentials in the table. */
size_t vg_auth_count(struct vg_auth *a);

/*
 * The credential of an Authorization header value ("Bearer TOKEN", the scheme case-insensitive):
 * its name into name. 0; VG_EPROTO when the header is not a Bearer token of the right form;
 * VG_EACCES when the token is none of the table's. Constant time in the token.
 */
VG_MUST_USE int vg_auth_check(struct vg_auth *a, const char *header,
                              char name[VG_STORE_PROV_MAX + 1]);

/* Release the table (the digests are wiped). NULL is a no-op. */
void vg_auth_free(struct vg_auth *a);

struct MHD_Connection;

/*
 * The client certificate of an HTTPS connection of a server started with tls_client_ca
 * (http_util.h): verified against those authorities (chain and dates), its subject's common name
 * into name (auth_tls.c). 0; VG_ENOTFOUND when the client sent none (or the connection is not
 * TLS); VG_EACCES when it does not verify; VG_EPROTO when its common name is not a credential
 * name (A-Z a-z 0-9 _ . -, 1 to 64 characters, not "anonymous").
 */
VG_MUST_USE int vg_auth_client_cert(struct MHD_Connection *conn, char name[VG_STORE_PROV_MAX + 1]);

#endif
