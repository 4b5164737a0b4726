/* SPDX-License-Identifier: MIT */
/*
 * control.c - questions about what a control (a test helper's THResponse, parsed by
 * vg_rec_thresponse_parse in lib/meas/record_th_read.c) reported: its endpoint entries, its DNS
 * answers, its page, its handshakes.
 */
#include "meas/control.h"

#include <string.h>

#include "proto/ipaddr.h"

const struct vg_ctrl_endpoint *
vg_ctrl_endpoint(const struct vg_ctrl *c, const char *addr)
{
    if (c == NULL || addr == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < c->n_ep && i < VG_CTRL_MAX_EP; i++) {
        if (strcmp(c->ep[i].addr, addr) == 0) {
            return &c->ep[i];
        }
    }
    return NULL;
}

bool
vg_ctrl_has_addr(const struct vg_ctrl *c, const char *ip)
{
    for (size_t i = 0; c != NULL && i < c->n_addrs; i++) {
        if (vg_ip_equal(c->addrs[i], ip)) {
            return true;
        }
    }
    return false;
}

bool
vg_ctrl_is_nxdomain(const char *failure)
{
    return strcmp(failure, "dns_name_error") == 0 || strcmp(failure, "dns_nxdomain_error") == 0;
}

bool
vg_ctrl_http_ok(const struct vg_ctrl *c)
{
    return c != NULL && c->http_failure[0] == '\0' && c->status > 0;
}

bool
vg_ctrl_http_failed(const struct vg_ctrl *c)
{
    return c != NULL && c->http_failure[0] != '\0';
}

bool
vg_ctrl_tls_valid(const struct vg_ctrl_endpoint *e)
{
    /* oohelperd verifies the chain for the SNI: a successful handshake is a valid certificate. */
    return e->tls_present && e->tls_ok && (!e->x_present || e->x_valid);
}
