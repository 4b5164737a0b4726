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

/* collector: base URL (http or https); spool_dir: created if missing. Both copied. */
VG_MUST_USE int vg_uploader_new(uv_loop_t *loop, struct ssl_ctx_st *ctx, const char *collector,
                                const char *spool_dir, struct vg_uploader **out, char *err,
                                size_t errlen);
/* Submit one measurement (JSON text, copied) whose id is id. */
void vg_uploader_add(struct vg_uploader *up, const char *id, const char *json);
/* Queue every file already in the spool (previous runs). Returns how many. */
size_t vg_uploader_add_spool(struct vg_uploader *up);
void vg_uploader_stats(const struct vg_uploader *up, struct vg_upload_stats *st);
/* Free once the loop has finished every upload (after uv_run returned). */
void vg_uploader_free(struct vg_uploader *up);

#endif
