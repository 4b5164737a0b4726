/* SPDX-License-Identifier: MIT */
/* server_opts.c - the connection options of vigie helper and vigie serve (server_opts.h). */
#include "server_opts.h"

#include <stdint.h>

#include "util/str.h"

void
vg_limits_usage(FILE *f, const struct vg_http_limits *def)
{
    fprintf(f,
            "      --max-connections N connections open at once; more wait (default %u)\n"
            "      --max-per-ip N      connections open at once from one address; more are\n"
            "                          closed (default %u; 0: no limit)\n"
            "      --idle-timeout T    close a connection silent this long (default %us)\n"
            "      --header-timeout T  close a connection whose request head is not complete\n"
            "                          this long after it opened (default %us)\n"
            "      --read-timeout T    ...or whose whole request, body included, is not\n"
            "                          (default %us); on a kept-alive connection both count\n"
            "                          from the previous response plus the idle timeout\n",
            def->max_connections, def->max_per_ip, def->idle_timeout_s, def->header_timeout_s,
            def->read_timeout_s);
}

/*
 * A count (min..VG_HTTP_LIMIT_MAX) or, when seconds, a duration of at most VG_HTTP_LIMIT_MAX
 * seconds, in whole seconds (rounded up).
 */
static int
vg__value(const char *cmd, const char *name, const char *arg, bool seconds, unsigned min,
          unsigned *out)
{
    uint64_t v;

    if (seconds) {
        if (vg_parse_duration_ms(arg, &v) < 0 || v > (uint64_t)VG_HTTP_LIMIT_MAX * 1000) {
            fprintf(stderr,
                    "vigie %s: --%s takes a duration of at most %ds, e.g. 10s or 2m (0: none), "
                    "not '%s'\n",
                    cmd, name, VG_HTTP_LIMIT_MAX, arg);
            return -1;
        }
        *out = (unsigned)((v + 999) / 1000);
        return 0;
    }
    if (vg_parse_u64(arg, min, VG_HTTP_LIMIT_MAX, &v) < 0) {
        fprintf(stderr, "vigie %s: --%s must be %u..%d, not '%s'\n", cmd, name, min,
                VG_HTTP_LIMIT_MAX, arg);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int
vg_limits_option(const char *cmd, int opt, const char *arg, struct vg_http_limits *l)
{
    switch (opt) {
    case VG_OPT_MAX_CONN:
        return vg__value(cmd, "max-connections", arg, false, 1, &l->max_connections);
    case VG_OPT_MAX_PER_IP:
        return vg__value(cmd, "max-per-ip", arg, false, 0, &l->max_per_ip);
    case VG_OPT_IDLE_TIMEOUT:
        return vg__value(cmd, "idle-timeout", arg, true, 0, &l->idle_timeout_s);
    case VG_OPT_HEADER_TIMEOUT:
        return vg__value(cmd, "header-timeout", arg, true, 0, &l->header_timeout_s);
    case VG_OPT_READ_TIMEOUT:
        return vg__value(cmd, "read-timeout", arg, true, 0, &l->read_timeout_s);
    default:
        fprintf(stderr, "vigie %s: internal error: option %d\n", cmd, opt);
        return -1;
    }
}
