/* SPDX-License-Identifier: MIT */
/*
 * vigie.h - public API of libvigie, the measurement engine.
 *
 * A probe measures URLs concurrently on one libuv loop: DNS (system resolver, and DNS over UDP
 * with duplicate-reply listening), TCP connect to every address, TLS with SNI, HTTP GET with
 * redirects. Each (URL, trial) yields one OONI web_connectivity measurement (JSON) and a verdict.
 * No OpenSSL or libuv type appears here.
 */
#ifndef VIGIE_H
#define VIGIE_H

#include <stdbool.h>
#include <stddef.h>

#define VG_SOFTWARE_NAME "vigie"

/*
 * The verdicts (docs/verdicts.md), most serious first: the one table of their names. The enum
 * order is the severity order the CLI, the store's counts and the dashboard sort by; the
 * dashboard's list is generated from this table at build time (`vigie verdicts --js` writes
 * <build>/web/gen/verdict_names.js, imported as vigie-verdict-names).
 *   XX(ENUM_SUFFIX, "name", "one-line meaning")
 */
#define VG_VERDICT_MAP(XX)                                                                       \
    XX(INTERCEPTED, "intercepted", "a TLS man-in-the-middle answered for the site")              \
    XX(BLOCKED, "blocked", "the network stopped the site (DNS, TCP, TLS or HTTP), with a cause") \
    XX(DOWN, "down", "the site failed from the control too: no sign of interference")            \
    XX(UNKNOWN, "unknown", "the measurement cannot tell (no control, or it disagrees)")          \
    XX(ACCESSIBLE, "accessible", "the site was reached and matches the control")

enum vg_verdict {
#define VG__VERDICT_ENUM(e, name, meaning) VG_VERDICT_##e,
    VG_VERDICT_MAP(VG__VERDICT_ENUM)
#undef VG__VERDICT_ENUM
        VG_VERDICT_COUNT
};

/* The verdict's name ("blocked"); "unknown" for a value out of range. */
const char *vg_verdict_name(enum vg_verdict v);
/* The verdict's one-line meaning, as in the table above. */
const char *vg_verdict_meaning(enum vg_verdict v);
/* The verdict named name (exact, lower case) into *out: true, or false for any other string. */
bool vg_verdict_parse(const char *name, enum vg_verdict *out);

struct vg_probe_opts {
    const char *resolver;     /* "ADDR[:PORT]" for DNS over UDP, or NULL */
    const char *ca_file;      /* PEM trust store, or NULL for the system one */
    unsigned dns_timeout_ms;  /* default 4000 */
    unsigned dns_wait_ms;     /* duplicate-reply window after the first reply, default 500 */
    unsigned tcp_timeout_ms;  /* default 10000 */
    unsigned tls_timeout_ms;  /* default 10000 */
    unsigned http_timeout_ms; /* default 10000 */
    size_t body_max;          /* body bytes kept, default 512 KiB */
    unsigned parallel;        /* measurements in flight, default 64 */
    unsigned repeat;          /* trials per URL, default 1 */
    /* Event loops of a batch run (vg_probe_run), each on its own thread: 0 (the default) is one
     * per CPU it may run on (affinity). Capped at VG_THREADS_MAX, parallel and the number of URLs.
     * Every trial of a URL runs on one loop; parallel is shared between the loops. Serving mode
     * uses one. */
    unsigned threads;
    bool doc_ranges_public; /* treat documentation ranges as public (the lab uses them) */
    bool refuse_bogons;     /* never connect to bogon addresses (a helper is not an open proxy) */
    bool private_targets;   /* private, loopback and link-local answers are no DNS bogon: local test
                               targets (probe --allow-private; the helper's is refuse_bogons) */
    const char *const *helpers; /* control helper URLs, tried in order (failover); NULL if none */
    size_t n_helpers;
    unsigned control_timeout_ms; /* per helper attempt, default 30000 */
    const char *collector;       /* upload each measurement to this collector URL, or NULL */
    const char *spool_dir;       /* where unsent measurements wait (required with collector) */
    /* The collector's upload token, sent as "Authorization: Bearer TOKEN" on every upload request,
     * or NULL to upload anonymously. The token itself (borrowed): printable ASCII without spaces,
     * at most VG_UPLOAD_TOKEN_MAX bytes. Never logged, never written into a measurement or the
     * spool; sent only over https or to an http collector on loopback, unless
     * allow_token_over_http (anyone on the path can then read and replay it). */
    const char *collector_token;
    bool allow_token_over_http;
    /* MaxMind DB files (GeoLite2-ASN / -Country, DB-IP lite, ...), or NULL: answers[].asn and
     * as_org_name, OONI's common-ASN consistency rule, and probe_asn / probe_cc from the address
     * a helper saw (never recorded). Each file is read for all it has, so one may serve both. */
    const char *asn_db;
    const char *country_db;
};

/* The longest upload token (struct vg_probe_opts.collector_token). */
#define VG_UPLOAD_TOKEN_MAX 1024

/* What happened to the measurements handed to a collector. */
struct vg_upload_stats {
    size_t sent;     /* accepted by the collector (200) */
    size_t spooled;  /* kept in the spool for a later run or `vigie upload` */
    size_t rejected; /* refused by the collector (4xx but 401 and 403); in the spool's rejected/ */
    size_t failed;   /* could not even be spooled (disk error) */
};

/* Fill opts with the defaults above. */
void vg_probe_opts_init(struct vg_probe_opts *opts);

/* What a result callback sees; every pointer is borrowed for the duration of the call. */
struct vg_result {
    const char *input;
    size_t url_index; /* position of the URL in the order vg_probe_add received it */
    unsigned trial;   /* 1..repeat */
    enum vg_verdict verdict;
    const char *x_verdict;  /* vg_verdict_name(verdict) */
    const char *x_cause;    /* "STAGE.REASON" or NULL */
    const char *x_evidence; /* one human sentence, never NULL */
    double runtime;         /* seconds */
    const char *json;       /* the measurement as one line of JSON, no newline */
    /* A helper was asked and none answered: why ("URL: reason; URL: reason", the
     * measurement's control_failure); NULL when the control came or none was asked for. */
    const char *control_failure;
};

typedef void (*vg_result_cb)(const struct vg_result *r, void *arg);

struct vg_probe;

/* Create a probe. Returns 0, or a negative code with a message in err (errlen bytes). */
int vg_probe_new(const struct vg_probe_opts *opts, struct vg_probe **out, char *err, size_t errlen);
/* Queue a URL (repeat trials). Returns 0, or a negative code and a message for an invalid URL. */
int vg_probe_add(struct vg_probe *p, const char *url, char *err, size_t errlen);
/* Called for each invalid line of an input file; the line is skipped. */
typedef void (*vg_bad_input_cb)(const char *path, size_t lineno, const char *msg, void *arg);
/*
 * Queue the URLs of a list file ("-" for standard input): one URL per line with # comments, or a
 * Citizen Lab test-list CSV (header url,category_code,...). Invalid lines go to bad (may be NULL)
 * and are skipped. Returns the number of URLs queued, or a negative code with a message in err
 * when the file cannot be read.
 */
long vg_probe_add_file(struct vg_probe *p, const char *path, vg_bad_input_cb bad, void *arg,
                       char *err, size_t errlen);
/*
 * Keep the first of the URLs queued more than once (the same text), in order: each URL that was
 * repeated is handed to cb (may be NULL) with how many times it was queued, once. Returns the
 * number of copies removed. Call after the last add, before vg_probe_skip and vg_probe_run.
 */
size_t vg_probe_dedupe(struct vg_probe *p, void (*cb)(const char *url, size_t times, void *arg),
                       void *arg);
/* Do not measure trial (1..repeat) of the url_index-th URL (vigie probe --resume): 1, 0 when
 * already skipped, VG_EINVAL out of range. Call before vg_probe_run, after the last add. */
int vg_probe_skip(struct vg_probe *p, size_t url_index, unsigned trial);
/* Number of measurements queued (URLs x repeat, skipped ones included). */
size_t vg_probe_count(const struct vg_probe *p);
/* The i-th URL queued (borrowed), or NULL past the end. */
const char *vg_probe_url(const struct vg_probe *p, size_t i);
/* Run every queued measurement; cb runs once per (URL, trial) as each completes, always on the
 * calling thread and one call at a time: with several loops (opts.threads), the loops' threads
 * hand their results to it through a queue. */
int vg_probe_run(struct vg_probe *p, vg_result_cb cb, void *arg);
/* Upload statistics of the last vg_probe_run (all zero without a collector). */
void vg_probe_upload_stats(const struct vg_probe *p, struct vg_upload_stats *st);
/* Where vg_upload_spool sends the spool, and how (every pointer borrowed for the call). */
struct vg_upload_opts {
    const char *collector; /* base URL, http:// or https:// */
    const char *spool_dir;
    const char *ca_file; /* https: PEM trust store, or NULL for the system one */
    const char *token;   /* upload token or NULL, as vg_probe_opts.collector_token */
    bool allow_token_over_http;
    bool spool_must_exist; /* a missing spool_dir is an error (vigie upload --spool: a typo),
                              not a directory to create */
};
/*
 * Send every measurement waiting in o->spool_dir to o->collector. Returns 0 with st filled, or a
 * negative code and a message in err (a collector URL and token that may not go together).
 */
int vg_upload_spool(const struct vg_upload_opts *o, struct vg_upload_stats *st, char *err,
                    size_t errlen);
/* Ask a running probe to stop starting new measurements (async-signal-safe). */
void vg_probe_interrupt(struct vg_probe *p);
void vg_probe_free(struct vg_probe *p);

/* ---- serving mode (vigie helper): jobs submitted from other threads ---------------------- */

struct vg_job {
    const char *url;
    const char *const *endpoints; /* "IP:PORT" to measure besides the DNS answers (borrowed) */
    size_t n_endpoints;
    bool control; /* measure as a control: http URLs also get TCP + TLS on port 443 */
    /* The measurement ends this long after submission at the latest (0: no deadline): each step
     * started gets at most the time left, and a redirect is not followed past it, so that what
     * is not done by then fails with a timeout. */
    unsigned deadline_ms;
};

/*
 * Thread-safe: queue one measurement on a probe that runs vg_probe_serve(). cb runs once, on the
 * engine thread, with the result (r->json is the full measurement). Returns 0, or a negative code
 * with a message in err (invalid URL or endpoint, probe stopping); then cb never runs.
 */
int vg_probe_submit(struct vg_probe *p, const struct vg_job *job, vg_result_cb cb, void *arg,
                    char *err, size_t errlen);

/* How a job fetches its page (vg_probe_submit_fetch); a zeroed struct is the engine's way. */
struct vg_job_fetch {
    /* Request headers (borrowed until the submission returns; one line each, checked by the
     * caller: no control character), NULL: the engine's own (VG_REC_* of meas/record.h). */
    const char *user_agent, *accept, *accept_language;
    /* Past the body_max bytes kept, read on and count the body's bytes without keeping them, up
     * to this many in all, for the response's length (x_body_length). 0: stop at body_max. */
    size_t body_count_max;
};

/* vg_probe_submit with the page fetched as fetch says (NULL: as vg_probe_submit). */
int vg_probe_submit_fetch(struct vg_probe *p, const struct vg_job *job,
                          const struct vg_job_fetch *fetch, vg_result_cb cb, void *arg, char *err,
                          size_t errlen);
/* Run the engine loop until vg_probe_stop() and the end of the jobs in flight. */
int vg_probe_serve(struct vg_probe *p);
/* Thread-safe: ask a serving probe to finish. */
void vg_probe_stop(struct vg_probe *p);

/* Message for a code returned by this API. */
const char *vg_probe_strerror(int code);

/* ---- where is the censor? (vigie locate, probe --locate; docs/locate.md) ------------------ */

#define VG_LOCATE_MAX_TTL 32 /* the farthest hop probed */

struct vg_locate_opts {
    const char *addr;         /* probe this IP instead of the URL host's addresses, or NULL */
    const char *resolver;     /* dns.injected: "ADDR[:PORT]" the queries go to, NULL: the first
                                 nameserver of /etc/resolv.conf */
    const char *ca_file;      /* PEM trust store (tls.mitm judges certificates), NULL: system */
    const char *control_name; /* dns.injected: a name nobody blocks, for the resolver's own hop;
                                 default "example.org" */
    unsigned max_ttl;         /* 1..VG_LOCATE_MAX_TTL, default VG_LOCATE_MAX_TTL */
    unsigned ttl_timeout_ms;  /* wait per TTL, default 1000 */
    unsigned budget_ms;       /* the whole localisation, default 60000 */
    const char *input;        /* the measurement's "input" (probe --locate: the URL probed,
                                 which redirects may have led elsewhere); NULL: url */
};

/* One TTL of the triggering trace. */
struct vg_locate_hop {
    unsigned ttl;
    char router[46];  /* the router at this TTL (ICMP sender), "" unknown */
    char event[24];   /* what the triggering probe met: "time-exceeded", "reset", ... */
    char control[24]; /* what the control probe met at this TTL, "" if not probed */
    int ip_ttl;       /* IP TTL of the answer when known (DNS replies), else -1 */
    char detail[192]; /* e.g. the certificate's subject, the HTTP status, the forged address */
};

struct vg_locate_result {
    char cause[24];
    char method[16];              /* "tcp-ttl" (a TCP segment) or "udp-ttl" (a datagram) */
    char target[64];              /* "IP:PORT" probed */
    int interference_hop;         /* hop at which the interference answers, -1: not located */
    char interference_router[46]; /* the router at that hop, "" unknown */
    int server_hop;               /* hop of the genuine server, -1: unknown */
    /* TLS causes: the hop at which the TLS port answers a SYN, and port 80 of the same address
     * (iCloud 2014: the fake TLS server 6 hops away, port 80 11). -1: unknown / not probed. */
    int tls_port_hop;
    int port80_hop;
    bool ttl_mirroring; /* dns.injected: the forged reply's IP TTL follows the query's */
    size_t n_hops;
    struct vg_locate_hop hops[VG_LOCATE_MAX_TTL];
    char summary[320]; /* "interference at hop 2 of 4 ..." or why nothing was located */
    char failure[256]; /* why the localisation could not run or finish, "" otherwise */
    char *json;        /* the x_locate measurement as one line of JSON (owned), or NULL */
};

/* What a measurement says of where its cause was seen, to aim vg_locate. */
struct vg_locate_hint {
    char url[2048];    /* the URL of the step that met the interference (after redirects) */
    char addr[64];     /* the IP address it met it on, "" unknown */
    char resolver[64]; /* dns.injected: "ADDR:PORT" of the resolver that got two replies */
};

/* Fill opts with the defaults above. */
void vg_locate_opts_init(struct vg_locate_opts *opts);
/* True when vg_locate can locate cause (tls.reset, tls.eof, tls.mitm, http.reset, http.eof,
 * http.blockpage, http.diff, dns.injected). */
bool vg_locate_supports(const char *cause);
/*
 * Find the hop at which the interference named by cause answers for url: the triggering request
 * (the ClientHello for the host, the GET with its Host header, the DNS query for it) is sent with
 * IP TTL 1, 2, ... on an otherwise normal TCP connection or datagram, next to TTL-limited
 * controls that find the genuine server's hop. Unprivileged (ICMP errors come from the socket
 * error queue), blocking, bounded by opts->budget_ms. Returns 0 with *r filled, located or not
 * (r->interference_hop, r->summary, r->failure, r->json); or a negative code with r->failure
 * for an invalid URL, cause or option. Release with vg_locate_result_cleanup.
 */
int vg_locate(const struct vg_locate_opts *opts, const char *url, const char *cause,
              struct vg_locate_result *r);
void vg_locate_result_cleanup(struct vg_locate_result *r);
/* Fill *h from a measurement (vg_result.json) whose cause is cause. Returns 0, or a negative
 * code when the measurement does not say (then aim vg_locate at its input). */
int vg_locate_hint(const char *measurement_json, const char *cause, struct vg_locate_hint *h);

/* ---- analysis of measurements from elsewhere (vigie analyze; docs/analyze.md) ------------ */

/*
 * The analyser's version: written as test_keys.x_analyzer with every verdict it gives and stored
 * by the collector beside it. Bump it whenever a rule changes what it decides, so that
 * `vigie serve reanalyze` can find what an older analyser decided.
 */
#define VG_ANALYZER_VERSION "vigie-analyze/1"

/* Flags of vg_analyze. */
#define VG_ANALYZE_NO_LINE 0x1u /* decide only: leave out->line NULL (the collector's ingest) */
/* The documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32) are public
 * addresses, not bogons: measurements of vigie's lab (`vigie probe --lab`), where sites live
 * there. */
#define VG_ANALYZE_LAB 0x2u

struct vg_analysis {
    /* What the measurement is: its top-level fields as read ("" when missing or null). */
    char test_name[64];
    char input[2048]; /* the URL or target; the first element when OONI gave a list */
    char probe_cc[3];
    char probe_asn[16];              /* "AS1234" */
    char measurement_start_time[32]; /* as written */
    char software_name[64];          /* "ooniprobe-android", "miniooni", "vigie", ... */
    /* vigie's decision. analysed is false for a test vigie has no rules for (stored as is): then
     * verdict is VG_VERDICT_UNKNOWN, cause and evidence are "" and nothing is added to the line. */
    bool analysed;
    enum vg_verdict verdict;
    char cause[32];      /* "" when none */
    char evidence[1024]; /* one sentence, "" when none */
    bool has_control;    /* the measurement carries a usable control (test_keys.control) */
    /* OONI's own analysis as the measurement states it (never used as vigie's verdict). */
    char ooni_blocking[64]; /* "" null or missing, "false", or OONI's word ("dns", "http-diff") */
    int ooni_accessible;    /* -1 null or missing, 0 false, 1 true */
    /* The measurement as one line of JSON, without the newline: its own bytes with x_verdict,
     * x_cause, x_evidence, x_endpoints, x_affected_addresses (as the probe writes them) and
     * x_analyzer (VG_ANALYZER_VERSION) added at the end of test_keys, every other field
     * untouched. A measurement that already had these keys, or that is not on one line (a
     * pretty-printed document), is written again from its parse tree: compact, keys in their
     * order, numbers as written, these keys replaced. NULL with VG_ANALYZE_NO_LINE or when
     * !analysed (then the input is the line). Owned by the analyser, valid until its next
     * vg_analyze or vg_analyzer_free. */
    const char *line;
    size_t line_len;
};

struct vg_analyzer;

/* A new analyser (one per thread: it keeps its buffers from one measurement to the next, about
 * 400 KiB plus the parse arena and the line of the largest measurement seen); NULL when out of
 * memory. */
struct vg_analyzer *vg_analyzer_new(void);
void vg_analyzer_free(struct vg_analyzer *a);

/*
 * Analyse one measurement: len bytes of JSON at json (untrusted, no NUL needed) in OONI's data
 * format (df-000-base; web_connectivity 0.4 and 0.5 of every version in use, and vigie's own
 * tests), with the same verdict engine as the probe, from its raw observations (queries,
 * tcp_connect, tls_handshakes with their certificates, requests) and its control when present
 * (the probe-only rules otherwise; docs/analyze.md, "Rules on OONI data"). Returns 0 with *out
 * filled (out->analysed false for a test vigie has no rules for, or test_keys null), or a negative
 * code (VG_EPROTO: not JSON, not an object, test_keys, input or a list of steps of the wrong type,
 * input not a URL of the test; VG_ETOOBIG: over VG_ANALYZE_LINE_MAX, util/limits.h; VG_EINVAL:
 * a NULL argument) with a message in err. A malformed step or control inside an otherwise valid
 * measurement is skipped or counts as a control failure, never an error.
 */
int vg_analyze(struct vg_analyzer *a, const char *json, size_t len, unsigned flags,
               struct vg_analysis *out, char *err, size_t errlen);

/* ---- one HTTP(S) POST, blocking (vigie serve's webhooks) ---------------------------------- */

struct vg_post_opts {
    const char *ca_file; /* https: PEM trust store the server's certificate must validate in
                            (for the URL's host); NULL: the system one (SSL_CERT_FILE honoured) */
    unsigned timeout_ms; /* one POST, from the connection to the response, name resolution
                            excepted; 0: 10000 */
    size_t resp_max;     /* bytes of the response body read, the rest is left unread (the status
                            is the answer); 0: 4096 */
};

/* A poster: the options and the trust store, loaded once, for any number of POSTs. */
struct vg_poster;

/*
 * Create a poster from o (copied; ca_file is read now). Returns 0, or a negative code with a
 * message in err: VG_EINVAL for a CA file (or system store) that cannot be loaded.
 */
int vg_poster_new(const struct vg_post_opts *o, struct vg_poster **out, char *err, size_t errlen);
/*
 * POST body[len] with content_type to url (http:// or https://) and wait for the answer. Returns
 * 0 with *status the HTTP status of the response (2xx or not), or a negative code with the reason
 * in err: VG_EINVAL (not an http(s) URL), VG_ETOOBIG (a request too large), VG_EHTTP_REQUEST (no
 * response: "connection_refused", "generic_timeout_error", "ssl_unknown_authority (...)", ...),
 * VG_EINTERNAL (no event loop). Blocks the calling thread: each call runs on a libuv loop of its
 * own and only reads p, so several threads may share a poster.
 */
int vg_poster_send(struct vg_poster *p, const char *url, const char *content_type, const void *body,
                   size_t len, int *status, char *err, size_t errlen);
/* NULL is a no-op. */
void vg_poster_free(struct vg_poster *p);

#endif
