/* SPDX-License-Identifier: MIT */
/*
 * upload.h - the probe's side of the collector protocol (OONI's, ooni-reference.md section 5):
 * open a report, submit each measurement as it completes, and spool to a local directory what
 * could not be submitted, so that nothing measured is lost. Spooled files are retried by the next
 * run and by `vigie upload`; the collector deduplicates by the measurement's id, so a retry never
 * stores a measurement twice.
 */
#ifndef VG_MEAS_UPLOAD_H
#define VG_MEAS_UPLOAD_H

#include <stddef.h>
#include <uv.h>

#include "util/err.h"
#include "vigie/vigie.h"

struct ssl_ctx_st;
struct vg_uploader;

/*
 * Whether o's collector URL and upload token may go together (o->ca_file and o->spool_dir are not
 * looked at): 0, or VG_EINVAL with a message in err that never quotes the token. A token must be
 * printable ASCII without spaces, at most VG_UPLOAD_TOKEN_MAX bytes, and goes only to an https
 * collector or an http one on loopback (127/8, ::1, localhost) unless o->allow_token_over_http.
 */
VG_MUST_USE int vg_uploader_check(const struct vg_upload_opts *o, char *err, size_t errlen);
/*
 * o->collector: base URL (http or https); o->spool_dir: created if missing; o->token: sent on
 * every request as "Authorization: Bearer TOKEN" when not NULL (checked by vg_uploader_check).
 * All copied (the token's copy is wiped by vg_uploader_free); o->ca_file is unused: ctx trusts.
 * A collector that answers 401 or 403 (credentials missing or refused) gets nothing more: what
 * it refused stays in the spool, not in rejected/, and one message says why. The requests go
 * on kept-alive connections to the collector (net/httpclient.h's pool, on loop): at most 8, one
 * per submission in flight, reused from one measurement to the next.
 */
VG_MUST_USE int vg_uploader_new(uv_loop_t *loop, struct ssl_ctx_st *ctx,
                                const struct vg_upload_opts *o, struct vg_uploader **out, char *err,
                                size_t errlen);
/* Submit one measurement (JSON text, copied) whose id is id. */
void vg_uploader_add(struct vg_uploader *up, const char *id, const char *json);
/* Queue every file already in the spool (previous runs). Returns how many. */
size_t vg_uploader_add_spool(struct vg_uploader *up);
void vg_uploader_stats(const struct vg_uploader *up, struct vg_upload_stats *st);
/* Free once the loop has finished every upload (after uv_run returned); this closes the kept
 * connections: run the loop once more afterwards so that libuv releases them. */
void vg_uploader_free(struct vg_uploader *up);

#endif
