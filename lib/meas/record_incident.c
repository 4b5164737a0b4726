/* SPDX-License-Identifier: MIT */
/*
 * record_incident.c - the keys the incident report reads beyond a measurement's summary
 * (record_incident.h): probe_network_name, x_endpoints and an x_locate's result.
 */
#include "meas/record_incident.h"

#include <string.h>

#include "meas/record_keys.h"
#include "util/str.h"

/* o[key] as text into out ("" when absent or not a string), truncated to fit. */
static void
vg__rec_inc_str(json_t *o, const char *key, char *out, size_t cap)
{
    json_t *v = json_object_get(o, key);

    out[0] = '\0';
    if (json_is_string(v)) {
        vg_utf8_copy(out, cap, json_string_value(v), json_string_length(v));
    }
}

static int
vg__rec_inc_int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255) {
        return -1;
    }
    return (int)json_integer_value(v);
}

static void
vg__rec_inc_locate(json_t *x, struct vg_rec_inc_loc *l)
{
    vg__rec_inc_str(x, VG_REC_KEY_CAUSE, l->cause, sizeof(l->cause));
    vg__rec_inc_str(x, VG_REC_KEY_METHOD, l->method, sizeof(l->method));
    vg__rec_inc_str(x, VG_REC_KEY_TARGET, l->target, sizeof(l->target));
    vg__rec_inc_str(x, VG_REC_KEY_INTERFERENCE_ROUTER, l->interference_router,
                    sizeof(l->interference_router));
    vg__rec_inc_str(x, VG_REC_KEY_SUMMARY, l->summary, sizeof(l->summary));
    vg__rec_inc_str(x, VG_REC_KEY_FAILURE, l->failure, sizeof(l->failure));
    l->interference_hop = vg__rec_inc_int(x, VG_REC_KEY_INTERFERENCE_HOP);
    l->server_hop = vg__rec_inc_int(x, VG_REC_KEY_SERVER_HOP);
}

void
vg_rec_incident_read(json_t *m, struct vg_rec_incident *out)
{
    json_t *tk, *eps, *e, *x;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(m)) {
        return;
    }
    vg__rec_inc_str(m, VG_REC_KEY_PROBE_NETWORK_NAME, out->network_name, sizeof(out->network_name));
    tk = json_object_get(m, VG_REC_KEY_TEST_KEYS);
    if (!json_is_object(tk)) {
        return;
    }
    x = json_object_get(tk, VG_REC_KEY_X_LOCATE);
    if (json_is_object(x)) {
        out->is_locate = true;
        vg__rec_inc_locate(x, &out->loc);
    }
    eps = json_object_get(tk, VG_REC_KEY_X_ENDPOINTS);
    if (!json_is_array(eps)) {
        return;
    }
    out->has_endpoints = true;
    json_array_foreach(eps, i, e)
    {
        struct vg_rec_inc_ep *ep = &out->ep[out->n_ep];
        char vname[16];

        if (out->n_ep == VG_REC_INC_EP_MAX) {
            break;
        }
        vg__rec_inc_str(e, VG_REC_KEY_ADDRESS, ep->address, sizeof(ep->address));
        if (ep->address[0] == '\0') {
            continue;
        }
        vg__rec_inc_str(e, VG_REC_KEY_VERDICT, vname, sizeof(vname));
        if (!vg_verdict_parse(vname, &ep->verdict)) {
            ep->verdict = VG_VERDICT_UNKNOWN;
        }
        vg__rec_inc_str(e, VG_REC_KEY_FAILURE, ep->failure, sizeof(ep->failure));
        out->n_ep++;
    }
}
