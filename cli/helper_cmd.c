/* SPDX-License-Identifier: MIT */
/*
 * helper_cmd.c - `vigie helper`: options, then serve OONI's test-helper protocol (server/helper.h)
 * until SIGINT or SIGTERM; a signal stops accepting and lets the measurements in flight finish.
 * The port is bound and the TLS key read first, then root is dropped (--user), then the engine
 * starts.
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "helper.h"
#include "server_opts.h"
#include "util/limits.h"
#include "util/str.h"
#include "vigie/vigie.h"

#define VG__DEFAULT_INFLIGHT 50    /* oohelperd sheds load past 50 requests in flight */
#define VG__DEFAULT_DEADLINE 20000 /* ms: a probe waits 30 s for its control by default */

static void
vg__helper_usage(FILE *f)
{
    const struct vg_http_limits def = VG_HTTP_LIMITS_DEFAULT;

    fprintf(f,
            "usage: vigie helper --listen ADDR:PORT [OPTIONS]\n"
            "\n"
            "Serve OONI's web connectivity test-helper protocol: answer each THRequest (POST /)\n"
            "with a control measurement made from here by vigie's engine (DNS, TCP and TLS to\n"
            "every address, HTTP GET), plus vigie's TLS and body-hash extensions.\n"
            "GET / is the health check, GET /metrics the Prometheus metrics.\n"
            "\n"
            "  -l, --listen ADDR:PORT  address to serve on, e.g. 0.0.0.0:8080 or [::]:443\n"
            "      --tls-cert PEM      serve HTTPS with this certificate (chain)...\n"
            "      --tls-key PEM       ...and this private key\n"
            "      --max-inflight N    measurements in flight before answering 503 (default %d)\n"
            "      --max-inflight-per-client N  of those, how many one client may have (an\n"
            "                          address, an IPv6 /--per-prefix6 prefix); more get 503\n"
            "                          (default: three quarters of --max-inflight; 0: no share)\n"
            "      --request-deadline T  answer each THRequest within T of its admission:\n"
            "                          the steps not done by then fail with timeouts\n"
            "                          (default %ds; 0: none)\n"
            "      --max-body BYTES    largest THRequest accepted, else 413 (default %d)\n",
            VG__DEFAULT_INFLIGHT, VG__DEFAULT_DEADLINE / 1000, VG_CTRL_REQUEST_MAX);
    vg_limits_usage(f, &def);
    vg_privs_usage(f, "once the port is bound", "and the TLS key read, before anything is served");
    fprintf(f,
            "      --resolver IP[:PORT] also resolve over UDP with this resolver\n"
            "      --ca-file PEM       trust store for certificate validation (default: system)\n"
            "      --timeout T         per-step timeout: TCP connect, TLS handshake, HTTP\n"
            "                          request (default 10s); DNS has 4s\n"
            "      --lab               treat documentation address ranges as public (lab)\n"
            "      --allow-private     also measure private, loopback and other bogon\n"
            "                          addresses (tests only: the helper becomes a way into\n"
            "                          its own network)\n"
            "      --log-client-address  put the client's address in the request log\n"
            "  -h, --help              this help\n"
            "\n"
            "SIGINT or SIGTERM stops accepting, finishes the measurements in flight and exits\n"
            "0; a second signal exits at once (130).\n");
}

enum {
    OPT_TLS_CERT = 256,
    OPT_TLS_KEY,
    OPT_MAX_INFLIGHT,
    OPT_MAX_BODY,
    OPT_RESOLVER,
    OPT_CA_FILE,
    OPT_TIMEOUT,
    OPT_LAB,
    OPT_ALLOW_PRIVATE,
    OPT_LOG_CLIENT,
    OPT_PER_CLIENT,
    OPT_DEADLINE,
};

int
vg_cmd_helper(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},
        {"max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"resolver", required_argument, NULL, OPT_RESOLVER},
        {"ca-file", required_argument, NULL, OPT_CA_FILE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"lab", no_argument, NULL, OPT_LAB},
        {"allow-private", no_argument, NULL, OPT_ALLOW_PRIVATE},
        {"log-client-address", no_argument, NULL, OPT_LOG_CLIENT},
        {"max-inflight-per-client", required_argument, NULL, OPT_PER_CLIENT},
        {"request-deadline", required_argument, NULL, OPT_DEADLINE},
        VG_LIMITS_LONGOPTS,
        VG_PRIVS_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct vg_helper_opts ho;
    struct vg_probe_opts eo;
    struct vg_helper *h = NULL;
    struct vg_http_listener lst = {.fd = -1};
    struct vg_privs privs = {NULL, NULL};
    sigset_t sigs;
    char err[512];
    int c, sig;
    uint64_t v, per_client = UINT64_MAX;

    memset(&ho, 0, sizeof(ho));
    ho.limits = (struct vg_http_limits)VG_HTTP_LIMITS_DEFAULT;
    vg_probe_opts_init(&eo);
    ho.max_inflight = VG__DEFAULT_INFLIGHT;
    ho.deadline_ms = VG__DEFAULT_DEADLINE;
    ho.max_body = VG_CTRL_REQUEST_MAX;
    ho.log = stderr;
    ho.engine = &eo;
    optind = 1;
    while ((c = vg_getopt_long(argc, argv, "l:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            ho.listen = optarg;
            break;
        case 'h':
            vg__helper_usage(stdout);
            return VG_EXIT_OK;
        case OPT_TLS_CERT:
            ho.tls_cert = optarg;
            break;
        case OPT_TLS_KEY:
            ho.tls_key = optarg;
            break;
        case OPT_MAX_INFLIGHT:
            if (vg_parse_u64(optarg, 1, VG_PARALLEL_MAX, &v) < 0) {
                fprintf(stderr, "vigie helper: --max-inflight must be 1..%d, not '%s'\n",
                        VG_PARALLEL_MAX, optarg);
                goto usage_error;
            }
            ho.max_inflight = (unsigned)v;
            break;
        case OPT_PER_CLIENT:
            if (vg_parse_u64(optarg, 0, VG_PARALLEL_MAX, &per_client) < 0) {
                fprintf(stderr, "vigie helper: --max-inflight-per-client must be 0..%d, not '%s'\n",
                        VG_PARALLEL_MAX, optarg);
                goto usage_error;
            }
            break;
        case OPT_DEADLINE:
            if (vg_parse_duration_ms(optarg, &v) < 0 || v > 3600000) {
                fprintf(stderr,
                        "vigie helper: --request-deadline takes a duration of at most 1h, e.g. "
                        "20s (0: none), not '%s'\n",
                        optarg);
                goto usage_error;
            }
            ho.deadline_ms = (unsigned)v;
            break;
        case OPT_MAX_BODY:
            if (vg_parse_u64(optarg, 64, 64 * 1024 * 1024, &v) < 0) {
                fprintf(stderr, "vigie helper: --max-body must be 64..67108864, not '%s'\n",
                        optarg);
                goto usage_error;
            }
            ho.max_body = (size_t)v;
            break;
        case OPT_RESOLVER:
            eo.resolver = optarg;
            break;
        case OPT_CA_FILE:
            eo.ca_file = optarg;
            break;
        case OPT_TIMEOUT:
            if (vg_parse_duration_ms(optarg, &v) < 0 || v == 0 || v > 600000) {
                fprintf(stderr, "vigie helper: invalid --timeout '%s' (e.g. 500ms, 10s)\n", optarg);
                goto usage_error;
            }
            eo.tcp_timeout_ms = eo.tls_timeout_ms = eo.http_timeout_ms = (unsigned)v;
            break;
        case OPT_LAB:
            eo.doc_ranges_public = true;
            break;
        case OPT_ALLOW_PRIVATE:
            ho.allow_private = true;
            break;
        case OPT_LOG_CLIENT:
            ho.log_client = true;
            break;
        default:
            if (c >= VG_OPT_LIMITS && c < VG_OPT_LIMITS_END) {
                if (vg_limits_option("helper", c, optarg, &ho.limits) < 0) {
                    goto usage_error;
                }
                break;
            }
            if (c >= VG_OPT_USER && c < VG_OPT_PRIVS_END) {
                (void)vg_privs_option(c, optarg, &privs);
                break;
            }
            goto usage_error;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vigie helper: unexpected argument '%s'\n", argv[optind]);
        goto usage_error;
    }
    if (ho.listen == NULL) {
        fprintf(stderr, "vigie helper: --listen ADDR:PORT is required\n");
        goto usage_error;
    }
    /* A quarter of the slots is always left for the other clients. */
    ho.max_inflight_per_client =
        per_client != UINT64_MAX ? (unsigned)per_client : ho.max_inflight - ho.max_inflight / 4;
    eo.parallel = ho.max_inflight;
    vg_raise_fd_limit();
    /* What needs root (a port below 1024, a key only root reads) is taken, then root is left
     * before anything is served or measured. */
    if (vg_http_listener_open(&lst, ho.listen, ho.tls_cert, ho.tls_key, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigie helper: %s\n", err);
        return VG_EXIT_USAGE;
    }
    if (vg_privs_drop("helper", &privs) < 0) {
        vg_http_listener_close(&lst);
        return VG_EXIT_USAGE;
    }
    if (geteuid() == 0) {
        fprintf(stderr, "vigie helper: warning: running as root; --user NAME drops it once the "
                        "port is bound\n");
    }
    ho.listener = &lst;
    /* Signals are taken synchronously by this thread; every thread started below inherits the
     * mask, so none of them is interrupted. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (vg_helper_start(&ho, &h, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigie helper: %s\n", err);
        vg_http_listener_close(&lst);
        return VG_EXIT_USAGE;
    }
    fprintf(stderr, "vigie helper: listening on %s%s\n", vg_helper_url(h),
            ho.allow_private ? " (--allow-private: private addresses are measured too)" : "");
    fflush(stderr);
    if (sigwait(&sigs, &sig) != 0) {
        sig = SIGTERM;
    }
    fprintf(stderr, "vigie helper: %s: no new requests; finishing %u in flight\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", vg_helper_inflight(h));
    vg_helper_quiesce(h);
    while (vg_helper_inflight(h) > 0) {
        struct timespec tick = {0, 100 * 1000 * 1000};

        if (sigtimedwait(&sigs, NULL, &tick) > 0) {
            fprintf(stderr, "vigie helper: second signal, exiting now\n");
            fflush(stderr);
            _exit(VG_EXIT_INTERRUPTED);
        }
    }
    vg_helper_free(h);
    fprintf(stderr, "vigie helper: stopped\n");
    return VG_EXIT_OK;
usage_error:
    fprintf(stderr, "Run 'vigie helper --help' for usage.\n");
    return VG_EXIT_USAGE;
}
