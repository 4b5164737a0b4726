/* SPDX-License-Identifier: MIT */
#include "util/err.h"

#include <errno.h>
#include <string.h>

struct vg__err_entry {
    int code;
    const char *name;
    const char *msg;
    const char *ooni;
};

static const struct vg__err_entry vg__errs[] = {
#define VG__ERR_ROW(code, msg, ooni) {VG_##code, "VG_" #code, msg, ooni},
    VG_ERR_MAP(VG__ERR_ROW)
#undef VG__ERR_ROW
};

static const struct vg__err_entry *
vg__err_find(int err)
{
    if (err <= VG_ERR__BASE || err >= VG_ERR__END) {
        return NULL;
    }
    return &vg__errs[err - VG_ERR__BASE - 1];
}

const char *
vg_strerror(int err)
{
    const struct vg__err_entry *e = vg__err_find(err);

    if (err >= 0) {
        return "success";
    }
    if (e != NULL) {
        return e->msg;
    }
    return strerror(-err);
}

const char *
vg_err_name(int err)
{
    const struct vg__err_entry *e = vg__err_find(err);

    if (err >= 0) {
        return "VG_OK";
    }
    if (e != NULL) {
        return e->name;
    }
    return "errno";
}

/* errno values a socket can report, with their OONI names (netxlite/errno.go). */
static const char *
vg__errno_failure(int errnum)
{
    switch (errnum) {
    case EADDRINUSE:
        return "address_in_use";
    case EINTR:
        return "interrupted";
    case EINVAL:
        return "invalid_argument";
    case EPIPE:
        return "broken_pipe";
    case ENOBUFS:
        return "no_buffer_space";
    case EPROTONOSUPPORT:
        return "protocol_not_supported";
    case EAFNOSUPPORT:
        return "address_family_not_supported";
    case ENOTCONN:
        return "not_connected";
    default:
        return "unknown_failure: unexpected system error";
    }
}

const char *
vg_err_failure(int err)
{
    const struct vg__err_entry *e = vg__err_find(err);

    if (err >= 0) {
        return NULL;
    }
    if (e != NULL) {
        return e->ooni;
    }
    return vg__errno_failure(-err);
}

int
vg_err_from_errno(int errnum)
{
    switch (errnum) {
    case 0:
        return VG_OK;
    case ETIMEDOUT:
        return VG_ETIMEDOUT;
    case ECONNREFUSED:
        return VG_ECONNREFUSED;
    case ECONNRESET:
        return VG_ECONNRESET;
    case ECONNABORTED:
        return VG_ECONNABORTED;
    case EHOSTUNREACH:
        return VG_EHOSTUNREACH;
    case ENETUNREACH:
        return VG_ENETUNREACH;
    case ENETDOWN:
        return VG_ENETDOWN;
    case EADDRNOTAVAIL:
        return VG_EADDRNOTAVAIL;
    case EACCES:
    case EPERM:
        return VG_EACCES;
    default:
        return -errnum;
    }
}
