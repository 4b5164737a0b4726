/* SPDX-License-Identifier: MIT */
/* server_opts.c - the connection options of vigie helper and vigie serve, and --user for them
 * and vigie monitor (server_opts.h). */
#include "server_opts.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

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
            "                          from the previous response plus the idle timeout\n"
            "      --per-prefix6 LEN   count IPv6 clients by their /LEN prefix for\n"
            "                          --max-per-ip (default %u; 128: per address)\n",
            def->max_connections, def->max_per_ip, def->idle_timeout_s, def->header_timeout_s,
            def->read_timeout_s, def->prefix6);
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
    case VG_OPT_PER_PREFIX6: {
        uint64_t v;

        if (vg_parse_u64(arg, 16, 128, &v) < 0) {
            fprintf(stderr,
                    "vigie %s: --per-prefix6 must be a prefix length in 16..128, not '%s'\n", cmd,
                    arg);
            return -1;
        }
        l->prefix6 = (unsigned)v;
        return 0;
    }
    default:
        fprintf(stderr, "vigie %s: internal error: option %d\n", cmd, opt);
        return -1;
    }
}

/* ---- --user, --group ------------------------------------------------------------------------ */

void
vg_privs_usage(FILE *f, const char *when, const char *when2)
{
    fprintf(f,
            "      --user NAME         as root: become this user (its primary group, no\n"
            "                          supplementary group) %s\n"
            "                          %s\n"
            "      --group NAME        ...and this group\n",
            when, when2);
}

int
vg_privs_option(int opt, const char *arg, struct vg_privs *p)
{
    if (opt == VG_OPT_USER) {
        p->user = arg;
    } else {
        p->group = arg;
    }
    return 0;
}

/* A user or group named by name, else by number: its id into *id. */
static bool
vg__privs_lookup(const char *name, bool group, uid_t *uid, gid_t *gid)
{
    char buf[16384];
    uint64_t n;

    if (group) {
        struct group gr, *res = NULL;

        if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 && res != NULL) {
            *gid = res->gr_gid;
            return true;
        }
    } else {
        struct passwd pw, *res = NULL;

        if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res != NULL) {
            *uid = res->pw_uid;
            *gid = res->pw_gid;
            return true;
        }
        if (vg_parse_u64(name, 0, UINT32_MAX - 1, &n) == 0 &&
            getpwuid_r((uid_t)n, &pw, buf, sizeof(buf), &res) == 0 && res != NULL) {
            *uid = res->pw_uid;
            *gid = res->pw_gid;
            return true;
        }
        return false;
    }
    if (vg_parse_u64(name, 0, UINT32_MAX - 1, &n) == 0) {
        *gid = (gid_t)n;
        return true;
    }
    return false;
}

int
vg_privs_drop(const char *cmd, const struct vg_privs *p)
{
    uid_t uid = 0;
    gid_t gid = 0;

    if (p->user == NULL) {
        if (p->group != NULL) {
            fprintf(stderr, "vigie %s: --group needs --user\n", cmd);
            return -1;
        }
        return 0;
    }
    if (!vg__privs_lookup(p->user, false, &uid, &gid)) {
        fprintf(stderr, "vigie %s: --user %s: no such user\n", cmd, p->user);
        return -1;
    }
    if (p->group != NULL && !vg__privs_lookup(p->group, true, &uid, &gid)) {
        fprintf(stderr, "vigie %s: --group %s: no such group\n", cmd, p->group);
        return -1;
    }
    if (uid == 0) {
        fprintf(stderr, "vigie %s: --user must name an unprivileged user, not root\n", cmd);
        return -1;
    }
    if (geteuid() != 0) {
        if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid) {
            return 0; /* already that user: systemd's User=, for instance */
        }
        fprintf(stderr, "vigie %s: --user %s: only root can change users\n", cmd, p->user);
        return -1;
    }
    /* glibc applies each call to every thread of the process. Groups first: once the user is
     * changed, they cannot be. */
    if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        fprintf(stderr, "vigie %s: cannot become user %s: %s\n", cmd, p->user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0 || geteuid() != uid || getuid() != uid || getegid() != gid ||
        getgid() != gid) {
        fprintf(stderr, "vigie %s: root could be regained after --user %s: stopping\n", cmd,
                p->user);
        return -1;
    }
    return 0;
}
