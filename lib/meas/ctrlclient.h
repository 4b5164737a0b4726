/* SPDX-License-Identifier: MIT */
/*
 * ctrlclient.h - the probe's side of the test-helper protocol: POST a THRequest to the first
 * helper that answers (failover in order) and parse its THResponse.
 */
#ifndef VG_MEAS_CTRLCLIENT_H
#define VG_MEAS_CTRLCLIENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <uv.h>

#include "meas/control.h"
#include "util/err.h"

struct ssl_ctx_st;
struct vg_http_pool;

/*
 * ctrl is the parsed THResponse, control the same as test_keys.control holds it (from the same
 * parse: vg_rec_control_json, meas/record.h; NULL when jansson would not read it) and helper the
 * URL of the helper that answered (all borrowed for the call: json_incref control to keep it),
 * or ctrl is NULL; failure then says why no helper answered ("http://192.0.2.10:8080/:
 * connection_refused; ..."). Runs once, from the loop.
 */
typedef void (*vg_ctrl_done_cb)(const struct vg_ctrl *ctrl, json_t *control, const char *helper,
                                const char *failure, void *arg);

/*
 * Start the exchange. helpers[n] are http:// or https:// URLs (borrowed until the callback);
 * https helpers must present a certificate valid in ctx's trust store. body is the THRequest JSON
 * (copied). target (copied; NULL for a web page) is the x_target of a tls:// or dns:// THRequest:
 * a helper whose THResponse does not echo it did not measure the target, and counts as failed
 * (the next one is tried). Each helper attempt is bounded by timeout_ms; a 503 (the helper is
 * busy) is retried on the same helper after growing pauses within that time (ctrlclient.c),
 * until *cancel (borrowed, may be NULL) becomes nonzero. pool
 * (the loop's, see net/httpclient.h) keeps the connections to the helpers alive from one THRequest
 * to the next; NULL: a new connection for each. Returns 0, or VG_EINVAL without calling cb when n
 * is 0.
 */
VG_MUST_USE int vg_ctrl_fetch(uv_loop_t *loop, struct vg_http_pool *pool, struct ssl_ctx_st *ctx,
                              const char *const *helpers, size_t n, unsigned timeout_ms,
                              const char *body, const char *target, const atomic_int *cancel,
                              vg_ctrl_done_cb cb, void *arg);

#endif
