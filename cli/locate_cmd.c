/* SPDX-License-Identifier: MIT */
/*
 * locate_cmd.c - `vigie locate URL --cause C`: where is the censor? The triggering request with
 * increasing IP TTLs (vg_locate, docs/locate.md); and the localisation `vigie probe --locate`
 * runs after a probe for each URL found blocked or intercepted.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "engine_opts.h"
#include "util/str.h"
#include "vigie/vigie.h"

static void
vg__locate_usage(FILE *f)
{
    fprintf(f,
            "usage: vigie locate --cause CAUSE [OPTIONS] URL\n"
            "\n"
            "Find the hop at which interference answers: send the request that triggers it (the\n"
            "ClientHello for the host, the GET with its Host header, the DNS query) with IP TTL\n"
            "1, 2, 3, ... and see where the reset, block page, fake certificate or forged reply\n"
            "first comes back, next to a control trace that finds the genuine server's hop.\n"
            "Needs no privilege (ICMP errors are read from the socket's error queue).\n"
            "\n"
            "  -c, --cause CAUSE       what the probe saw: tls.reset, tls.eof, tls.mitm,\n"
            "                          http.reset, http.eof, http.blockpage, http.diff,\n"
            "                          dns.injected\n"
            "  -a, --addr IP           probe this address (default: the host's, in turn)\n"
            "      --resolver IP[:PORT] dns.injected: where the queries go (default: the first\n"
            "                          nameserver of /etc/resolv.conf)\n"
            "      --control-name NAME dns.injected: a name nobody blocks, to find the\n"
            "                          resolver's hop (default example.org)\n"
            "      --ca-file PEM       trust store for tls.mitm (default: the system one)\n"
            "      --max-ttl N         farthest hop probed (1..%d, default %d)\n"
            "      --ttl-timeout T     wait per TTL (default 1s; e.g. 500ms, 2s)\n"
            "      --budget T          the whole localisation (default 60s)\n"
            "  -f, --format FMT        'table' (default on a terminal) or 'jsonl' (the x_locate\n"
            "                          measurement, one JSON line)\n"
            "  -o, --output FILE       also write the x_locate measurement to FILE\n"
            "  -h, --help              this help\n"
            "\n"
            "exit status: 0 interference located, 1 not located (see the summary), 2 usage\n"
            "error or a localisation that could not run.\n",
            VG_LOCATE_MAX_TTL, VG_LOCATE_MAX_TTL);
}

/* The LOCATE cell of `vigie probe --locate`'s table. */
static void
locate_cell(const struct vg_locate_result *r, char *cell, size_t cap)
{
    size_t o;

    if (r->interference_hop < 0) {
        snprintf(cell, cap, "not located");
        return;
    }
    if (r->server_hop > 0) {
        snprintf(cell, cap, "hop %d/%d", r->interference_hop, r->server_hop);
    } else {
        snprintf(cell, cap, "hop %d/?", r->interference_hop);
    }
    o = strlen(cell);
    if (r->tls_port_hop > 0 && r->port80_hop > 0 && r->tls_port_hop != r->port80_hop && o < cap) {
        snprintf(cell + o, cap - o, " (tls@%d, 80@%d)", r->tls_port_hop, r->port80_hop);
    }
}

static void
print_result(FILE *f, const char *url, const struct vg_locate_result *r)
{
    fprintf(f, "%s (%s) via %s, %s\n", url, r->cause, r->target[0] != '\0' ? r->target : "-",
            r->method[0] != '\0' ? r->method : "-");
    if (r->n_hops > 0) {
        fprintf(f, "%4s  %-39s  %-14s  %-14s  %s\n", "TTL", "ROUTER", "PROBE", "CONTROL", "DETAIL");
    }
    for (size_t i = 0; i < r->n_hops; i++) {
        const struct vg_locate_hop *h = &r->hops[i];

        fprintf(f, "%4u  %-39s  %-14s  %-14s  %s\n", h->ttl, h->router[0] != '\0' ? h->router : "-",
                h->event[0] != '\0' ? h->event : "-", h->control[0] != '\0' ? h->control : "-",
                h->detail);
    }
    fprintf(f, "%s\n", r->summary);
    if (r->failure[0] != '\0') {
        fprintf(f, "note: %s\n", r->failure);
    }
}

int
vg_locate_after_probe(const struct vg_locate_hint *h, const char *url, const char *cause,
                      const char *ca_file, const char *resolver, FILE *out, char *cell, size_t cap)
{
    struct vg_locate_opts o;
    struct vg_locate_result r;
    int rc;

    vg_locate_opts_init(&o);
    o.ca_file = ca_file;
    o.resolver = resolver;
    o.input = url;
    if (h != NULL) {
        url = h->url[0] != '\0' ? h->url : url;
        o.addr = h->addr[0] != '\0' ? h->addr : NULL;
        if (h->resolver[0] != '\0') {
            o.resolver = h->resolver;
        }
    }
    rc = vg_locate(&o, url, cause, &r);
    if (rc < 0) {
        snprintf(cell, cap, "error");
        fprintf(stderr, "vigie probe: --locate %s: %s\n", url, r.failure);
        vg_locate_result_cleanup(&r);
        return -1;
    }
    locate_cell(&r, cell, cap);
    if (out != NULL && r.json != NULL) {
        if (fputs(r.json, out) == EOF || fputc('\n', out) == EOF) {
            rc = -1;
        } else if (out == stdout && fflush(stdout) != 0) {
            rc = -1;
        }
    }
    vg_locate_result_cleanup(&r);
    return rc;
}

/* A duration option of locate, in ms (1 ms to 1 h), through the engine options' checker. */
static int
vg__locate_ms(const char *opt, const char *s, unsigned *out)
{
    uint64_t ms;

    if (vg_engine_opts_duration("locate", opt, s, 1, 3600000, &ms) < 0) {
        return -1;
    }
    *out = (unsigned)ms;
    return 0;
}

enum {
    OPT_RESOLVER = 256,
    OPT_CONTROL_NAME,
    OPT_CA_FILE,
    OPT_MAX_TTL,
    OPT_TTL_TIMEOUT,
    OPT_BUDGET,
};

int
vg_cmd_locate(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"cause", required_argument, NULL, 'c'},
        {"addr", required_argument, NULL, 'a'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"resolver", required_argument, NULL, OPT_RESOLVER},
        {"control-name", required_argument, NULL, OPT_CONTROL_NAME},
        {"ca-file", required_argument, NULL, OPT_CA_FILE},
        {"max-ttl", required_argument, NULL, OPT_MAX_TTL},
        {"ttl-timeout", required_argument, NULL, OPT_TTL_TIMEOUT},
        {"budget", required_argument, NULL, OPT_BUDGET},
        {NULL, 0, NULL, 0},
    };
    struct vg_locate_opts o;
    struct vg_locate_result r;
    const char *cause = NULL, *format = NULL, *out_path = NULL;
    bool table;
    uint64_t v;
    int c, rc, status;

    vg_locate_opts_init(&o);
    optind = 1;
    while ((c = vg_getopt_long(argc, argv, "c:a:f:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            cause = optarg;
            break;
        case 'a':
            o.addr = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            vg__locate_usage(stdout);
            return VG_EXIT_OK;
        case OPT_RESOLVER:
            o.resolver = optarg;
            break;
        case OPT_CONTROL_NAME:
            o.control_name = optarg;
            break;
        case OPT_CA_FILE:
            o.ca_file = optarg;
            break;
        case OPT_MAX_TTL:
            if (vg_engine_opts_number("locate", "--max-ttl", optarg, 1, VG_LOCATE_MAX_TTL, &v) <
                0) {
                goto usage_error;
            }
            o.max_ttl = (unsigned)v;
            break;
        case OPT_TTL_TIMEOUT:
            if (vg__locate_ms("--ttl-timeout", optarg, &o.ttl_timeout_ms) < 0) {
                goto usage_error;
            }
            break;
        case OPT_BUDGET:
            if (vg__locate_ms("--budget", optarg, &o.budget_ms) < 0) {
                goto usage_error;
            }
            break;
        default:
            goto usage_error;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "vigie locate: one URL expected\n");
        goto usage_error;
    }
    if (cause == NULL || !vg_locate_supports(cause)) {
        fprintf(stderr, "vigie locate: --cause must be one of tls.reset, tls.eof, tls.mitm, "
                        "http.reset, http.eof, http.blockpage, http.diff, dns.injected\n");
        goto usage_error;
    }
    if (format == NULL) {
        table = isatty(STDOUT_FILENO);
    } else if (strcmp(format, "table") == 0) {
        table = true;
    } else if (strcmp(format, "jsonl") == 0) {
        table = false;
    } else {
        fprintf(stderr, "vigie locate: unknown format '%s' (table or jsonl)\n", format);
        goto usage_error;
    }
    rc = vg_locate(&o, argv[optind], cause, &r);
    if (rc < 0) {
        fprintf(stderr, "vigie locate: %s\n", r.failure);
        vg_locate_result_cleanup(&r);
        return VG_EXIT_USAGE;
    }
    status = r.interference_hop > 0 ? VG_EXIT_OK : VG_EXIT_INTERFERENCE;
    if (table) {
        print_result(stdout, argv[optind], &r);
    } else if (r.json != NULL) {
        printf("%s\n", r.json);
    }
    if (fflush(stdout) != 0) {
        status = VG_EXIT_USAGE;
    }
    if (out_path != NULL && r.json != NULL) {
        FILE *f = fopen(out_path, "w");
        bool ok = f != NULL && fprintf(f, "%s\n", r.json) >= 0;

        if (f != NULL && fclose(f) != 0) {
            ok = false;
        }
        if (!ok) {
            fprintf(stderr, "vigie locate: cannot write %s: %s\n", out_path, strerror(errno));
            status = VG_EXIT_USAGE;
        }
    }
    vg_locate_result_cleanup(&r);
    return status;
usage_error:
    fprintf(stderr, "Run 'vigie locate --help' for usage.\n");
    return VG_EXIT_USAGE;
}
