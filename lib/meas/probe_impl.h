/* SPDX-License-Identifier: MIT */
/*
 * probe_impl.h - what the files of the measurement engine share (lib/meas/probe*.c); not an API.
 *
 * A measurement (struct vg_meas) follows its steps through the files: probe.c schedules it and
 * runs its hops, probe_dns.c learns the host's addresses, probe_ep.c connects to each and runs
 * the TLS handshakes, probe_http.c fetches the page, probe_ctrl.c asks the test helper, and
 * probe_serve.c queues the jobs of serving mode; probe_loops.c spreads a batch run over
 * several loops, each on its own thread. The JSON is written by lib/meas/record.c.
 *
 * Ownership: the probe owns its loops, its control slots and the jobs still queued; a running
 * measurement owns its JSON tree (root), its summary (obs), its endpoints (eps), its fetch and
 * its job (serving mode), and frees itself in its dns_timer's close callback. An endpoint is
 * released (connection closed) once, by vg__probe_ep_release, and freed at the end of its hop.
 */
#ifndef VG_MEAS_PROBE_IMPL_H
#define VG_MEAS_PROBE_IMPL_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "meas/asn.h"
#include "meas/verdict.h"
#include "net/httpx.h"
#include "proto/dns.h"
#include "proto/ipaddr.h"
#include "proto/url.h"
#include "util/buf.h"
#include "vigie/vigie.h"

struct vg_meas;
struct vg__probe_done;
struct vg_http_pool;

/*
 * An event loop that measures, and what only its thread touches. Serving mode and a batch run on
 * one loop use the probe's own (vg_probe.one, on vg_probe.loop, the calling thread); a batch run
 * on n > 1 loops gives each its own thread and loop, and loop index measures every trial of the
 * URLs whose owner is index, in the order of a single loop.
 */
struct vg__probe_loop {
    struct vg_probe *p;
    uv_loop_t *uv; /* &p->loop, or &own */
    uv_loop_t own; /* a worker's loop */
    uv_thread_t thread;
    bool started; /* thread runs (joined at the end) */
    unsigned index, n;
    unsigned parallel; /* its share of the parallel limit */
    size_t next_job;
    size_t in_flight;   /* measurements started and not yet freed (vg__probe_meas_closed) */
    unsigned hs_active; /* TLS handshakes running */
    struct vg__ep *hs_head, *hs_tail; /* connected endpoints waiting for a handshake slot */
    struct vg_http_pool *ctrl_pool;   /* kept-alive connections to the helpers, or NULL */
};

struct vg_probe {
    struct vg_probe_opts o;
    uv_loop_t loop;            /* the calling thread's: serving mode, one-loop runs, the uploader */
    struct vg__probe_loop one; /* the loop on the calling thread */
    struct vg__probe_loop *loops; /* a run on several loops: n_loops workers, else NULL */
    unsigned n_loops;
    struct ssl_ctx_st *ctx;
    bool have_resolver;
    struct sockaddr_storage resolver;
    char resolver_str[64];
    char **urls;
    size_t n_urls;
    uint8_t *skip;  /* vg_probe_skip: one byte per (URL, trial) job, NULL when none skipped */
    uint8_t *owner; /* a run on several loops: the loop of each URL (those with a trial left) */
    atomic_int interrupted; /* set from a signal handler or another thread: lock-free */
    vg_result_cb cb;
    void *cb_arg;
    /* serving mode: jobs submitted from other threads */
    uv_mutex_t qlock;
    uv_async_t async;
    bool accepting; /* under qlock: submissions allowed (not stopping, not a batch run) */
    struct vg__job *qhead, *qtail;
    struct vg__ctrl_slot *slots; /* one per URL when helpers are configured */
    char sys_resolver[64];       /* first nameserver of /etc/resolv.conf (resolver_ip) */
    struct vg_uploader *up;      /* when a collector is configured */
    struct vg_upload_stats up_stats;
    /* Results of the loops' threads, for the calling thread (several loops): under dlock. */
    uv_mutex_t dlock;
    uv_async_t dasync; /* on loop: wakes the calling thread */
    struct vg__probe_done *dhead, *dtail;
    unsigned loops_done;               /* workers whose loop ended */
    struct vg_asn_db *asn;             /* --asn-db / --country-db, or NULL (read-only once open) */
    uint32_t resolver_asn;             /* of sys_resolver (resolver_asn) */
    char resolver_org[VG_ASN_ORG_MAX]; /* its organisation (resolver_network_name), or "" */
    /* What the helpers told of the probe (any loop writes, every loop reads): under self_lock. */
    uv_rwlock_t self_lock;
    bool have_self;          /* a helper told the probe's address: self is its network */
    struct vg_asn_info self; /* probe_asn, probe_cc, probe_network_name */
    /* The probe's own public addresses (the helpers' x_client_addr, the local interfaces'),
     * scrubbed out of every measurement before it is written or uploaded (batch mode). */
    struct vg_ip_set self_addrs;
};

/* The control for one URL, shared by its trials (batch mode). */
enum vg__ctrl_state { VG__CTRL_NONE, VG__CTRL_PENDING, VG__CTRL_DONE };

struct vg__ctrl_slot {
    enum vg__ctrl_state state;
    struct vg_ctrl *ctrl;     /* parsed THResponse, NULL when no helper answered */
    json_t *raw;              /* the THResponse for test_keys.control (vg_rec_control_json) */
    json_t *request;          /* the THRequest sent (test_keys.x_control_request) */
    char failure[512];        /* control_failure when ctrl is NULL */
    char helper[512];         /* URL of the helper that answered */
    double runtime;           /* seconds the exchange took */
    struct vg_meas **waiters; /* measurements waiting for it */
    size_t n_waiters;
    unsigned finished; /* trials of the URL that finished: at --repeat, the slot is cleared */
};

/* A measurement submitted to a serving probe (owned by the queue, then by its measurement). */
struct vg__job {
    struct vg__job *next;
    char *url;
    struct sockaddr_storage *eps;
    size_t n_eps;
    bool control;
    char *user_agent, *accept, *accept_language; /* owned, NULL: the engine's (vg_job_fetch) */
    size_t body_count_max;                       /* vg_job_fetch */
    uint64_t deadline; /* uv_hrtime() by which the measurement ends, 0: none (vg_job) */
    vg_result_cb cb;
    void *arg;
};

enum vg__ep_state { VG__EP_CONNECTING, VG__EP_HANDSHAKE, VG__EP_FETCHING, VG__EP_DONE };

struct vg__ep {
    struct vg_meas *m;
    struct vg_conn *conn;
    struct sockaddr_storage sa;
    char ip[INET6_ADDRSTRLEN];
    char addr[64];
    uint16_t port;
    bool tls; /* handshake on this endpoint (https, or port 443 of a control measurement) */
    struct vg__ep *hs_next; /* in the probe's handshake queue */
    char alpn[32];          /* protocol negotiated by ALPN, "" if none */
    bool from_job; /* an address the job supplied (a probe's), not one this engine resolved */
    size_t obs;    /* index in m->obs.ep, or SIZE_MAX when the summary is full */
    int tid;       /* transaction id */
    double t0;
    enum vg__ep_state state;
};

struct vg__gai {
    uv_getaddrinfo_t req;
    struct vg_meas *m; /* NULL once the measurement stopped waiting */
    double t0;
};

struct vg__fetch {
    struct vg__ep *ep;
    struct vg_buf req;
    struct vg_httpx x;
    double t0;
};

struct vg_meas {
    struct vg_probe *p;
    struct vg__probe_loop *lp; /* the loop it runs on */
    struct vg__job *job;       /* serving mode; NULL in batch mode */
    vg_result_cb cb;
    void *cb_arg;
    const char *input;
    size_t url_index;
    unsigned trial;
    uint64_t t0;
    time_t wall0;
    uv_timer_t dns_timer;
    int next_tid;
    json_t *root; /* the measurement (owned) */
    json_t *tk;   /* its test_keys (borrowed from root) */
    struct vg_obs obs;
    /* current hop */
    struct vg_url url;
    int depth;
    int pending;
    struct vg__gai *gai;
    struct vg_udpdns *udp;
    struct vg__ep *eps[VG_DNS_MAX_ADDRS];
    size_t n_eps;
    struct vg__fetch *fetch;
    bool fetch_done;
    int hop_failure; /* failure to report when no request could be made */
    double udp_t0;   /* when the UDP queries of this hop left */
    bool ctrl_asked; /* the control for this URL was requested or joined */
    char id[40];     /* UUIDv4 of the measurement */
    bool job_eps_added, adding_job_eps;
    size_t http_obs; /* summary index of the endpoint that carried the page, or SIZE_MAX */
    int sys_failure;
};

/* probe.c: the scheduler, a measurement's hops, shared helpers */

/* Seconds since the measurement started. */
double vg__probe_now(const struct vg_meas *m);
/* ip is a bogon (not a public address); *cls names its class. */
bool vg__probe_is_bogon(const struct vg_probe *p, const char *ip, const char **cls);
uint32_t vg__probe_asn_of(const struct vg_probe *p, const char *ip, struct vg_asn_info *info);
/* ip is the probe's own address (a helper saw it): scrubbed from every measurement that finishes
 * from now on when it is public (not a bogon, vg__probe_is_bogon). */
void vg__probe_self_add(struct vg_probe *p, const char *ip);
/* One started step of the hop finished: the last one ends the hop. */
void vg__probe_pending_done(struct vg_meas *m);
/* Start a measurement on lp: job is NULL in batch mode, else the measurement takes it. */
void vg__probe_meas_start(struct vg__probe_loop *lp, size_t url_index, unsigned trial,
                          struct vg__job *job);
/* Start lp's next batch jobs, up to its share of the parallel limit. */
void vg__probe_schedule(struct vg__probe_loop *lp);

/* probe_loops.c: a batch run on several loops, each on its own thread */
/* Run p's batch on n > 1 loops; the results reach p->cb on the calling thread (p->loop, with the
 * uploader). Returns 0 when every loop ended and every result was handed over, or VG_EINTERNAL,
 * having measured nothing, when the loops could not be made (then run on p->one). */
int vg__probe_run_loops(struct vg_probe *p, unsigned n);
/* A loop's thread: hand r (borrowed) and the measurement's JSON line (taken; NULL when it could
 * not be written) to the calling thread. */
void vg__probe_hand_over(struct vg_probe *p, const struct vg_result *r, const char *id, char *line);
/* How many loops a run of p uses (opts.threads, the CPUs, parallel and the URLs). */
unsigned vg__probe_loops_count(const struct vg_probe *p);
/* "IP[:PORT]" (port 53 when absent) into ss, and its normal form into norm. */
int vg__probe_parse_resolver(const char *s, struct sockaddr_storage *ss, char *norm, size_t cap);

/* probe_dns.c: the hop's addresses (an IP literal, the system resolver, --resolver) */
void vg__probe_dns_start(struct vg_meas *m);

/* probe_ep.c: endpoints (TCP connect, TLS handshake queue) */
/* An address learned for the hop (from_sys: the system resolver named it): connect to it unless
 * it is already an endpoint (a control of an http URL tries its port 443 too). */
void vg__probe_ep_add(struct vg_meas *m, int family, const void *addr, bool from_sys);
/* The addresses a serving-mode job supplied, after the engine's own (first hop only). */
void vg__probe_add_job_eps(struct vg_meas *m);
/* The endpoint is done: close its connection (once) and count its step finished. */
void vg__probe_ep_release(struct vg__ep *ep);

/* probe_http.c: the page fetch over one endpoint */
/* GET the page over ep (connected and, for https, verified); m->fetch until the hop ends. */
void vg__probe_fetch_start(struct vg_meas *m, struct vg__ep *ep);
void vg__probe_fetch_free(struct vg__fetch *f);

/* probe_ctrl.c: the test helper's control */
/* The probe knows its addresses for the URL: ask the helper, or join the request another trial
 * made; the hop waits for the answer. Batch mode with --helper only. */
void vg__probe_ctrl_need(struct vg_meas *m);
/* Free what the slot holds and zero it. */
void vg__probe_ctrl_release(struct vg__ctrl_slot *s);
/* The end of a run on lp's loop (uv_run returned): close its kept-alive connections to the
 * helpers and run the loop once more to release them. */
void vg__probe_ctrl_pool_end(struct vg__probe_loop *lp);

/* probe_serve.c: serving mode */
/* The loop's wake-up: start the jobs queued by other threads. */
void vg__probe_on_async(uv_async_t *a);
void vg__probe_job_free(struct vg__job *j);
/* The timeout (ms) of a step starting now: ms, or the time left before the job's deadline when
 * that is shorter (at least 1 ms: the step then fails as it would on its own timeout). */
unsigned vg__probe_step_ms(const struct vg_meas *m, unsigned ms);
/* The job's deadline has passed (false in batch mode, or without a deadline). */
bool vg__probe_job_expired(const struct vg_meas *m);

#endif
