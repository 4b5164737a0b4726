/* SPDX-License-Identifier: MIT */
/*
 * limits.h - every bound vigie applies to bytes that come from the network or
 * from users. A peer-declared size or count is checked against one of these
 * before anything is allocated. Change a limit here, nowhere else.
 */
#ifndef VG_UTIL_LIMITS_H
#define VG_UTIL_LIMITS_H

/* DNS (RFC 1035) */
#define VG_DNS_MSG_MAX       4096 /* largest UDP reply we read (EDNS0 bufsize we advertise) */
#define VG_DNS_NAME_MAX      255  /* presentation length of a name, without the final NUL */
#define VG_DNS_LABEL_MAX     63   /* RFC 1035 2.3.4 */
#define VG_DNS_WIRE_NAME_MAX 255  /* RFC 1035 2.3.4: octets of a name on the wire */
#define VG_DNS_MAX_JUMPS     16   /* compression pointers followed for one name */
#define VG_DNS_MAX_RR        64   /* answer records kept from one reply */
#define VG_DNS_MAX_REPLIES   32   /* replies recorded for one query (duplicates included) */
#define VG_DNS_MAX_DISTINCT  32   /* past those, replies with an answer not seen yet (floods) */
#define VG_DNS_MAX_ADDRS     32   /* distinct addresses measured for one host */

/* HTTP/1.1 (RFC 9112) */
#define VG_HTTP_HEAD_MAX       (32 * 1024)  /* status line + headers, bytes */
#define VG_HTTP_MAX_HEADERS    100          /* header fields kept from one response */
#define VG_HTTP_BODY_MAX       (512 * 1024) /* default body cap (OONI snapshot size) */
#define VG_HTTP_CHUNK_LINE_MAX 1024         /* one chunk-size line with extensions */
#define VG_HTTP_MAX_REDIRECTS  10           /* OONI: 10 redirects, then a failure */
#define VG_HTML_TITLE_MAX      512          /* OONI: <title>([^<]{1,512})</title> */

/* URLs and input */
#define VG_URL_MAX        2048 /* whole URL, bytes */
#define VG_INPUT_LINE_MAX 4096 /* one line of an input file or CSV */

/* Configuration files (cli/config.c) */
#define VG_CONFIG_LINE_MAX    4096         /* one line */
#define VG_CONFIG_FILE_MAX    (256 * 1024) /* one file */
#define VG_CONFIG_ENTRIES_MAX 1024         /* options of all the files together */

/* TLS */
#define VG_TLS_CHAIN_MAX      16          /* peer certificates kept */
#define VG_TLS_CERT_MAX       (64 * 1024) /* DER bytes kept per certificate */
#define VG_TLS_HANDSHAKES_MAX 128 /* at once on each loop; others wait connected (CPU-bound) */

/* Engine */
#define VG_PARALLEL_MAX 10000 /* --parallel upper bound */
#define VG_REPEAT_MAX   1000  /* --repeat upper bound */
#define VG_THREADS_MAX  64    /* --threads upper bound (event loops of a batch run) */

/* Localisation (vigie locate, probe --locate); the farthest hop is VG_LOCATE_MAX_TTL (vigie.h) */
#define VG_LOCATE_SILENT_RUN  5           /* a trace stops after this many silent TTLs in a row */
#define VG_LOCATE_GRACE_MS    200         /* after a router's ICMP error, time for another answer */
#define VG_LOCATE_READ_MAX    (64 * 1024) /* bytes read from what answers at one hop (block page) */
#define VG_LOCATE_REPLIES_MAX 4           /* DNS replies kept for one TTL */
#define VG_LOCATE_ADDRS_MAX   4           /* addresses of a host tried in turn */
#define VG_LOCATE_PACE_MS     20          /* pause between two probes */

/* Control (test helper) protocol */
#define VG_CTRL_REQUEST_MAX  (1024 * 1024)      /* THRequest body accepted by vigie helper */
#define VG_CTRL_RESPONSE_MAX (4 * 1024 * 1024)  /* THResponse body accepted by the probe */
#define VG_CTRL_PROBE_IPS    8                  /* tcp_connect addresses vigie helper measures */
#define VG_CTRL_BODY_BUDGET  (64 * 1024 * 1024) /* THRequest bytes buffered by all connections */
/* Page bytes vigie helper counts for body_length (oohelperd's maxAcceptableBody); it keeps only
 * the engine's --body-max of them. */
#define VG_CTRL_BODY_LENGTH_MAX (16 * 1024 * 1024)
#define VG_CTRL_HEADER_MAX      512 /* a forwarded http_request_headers value, bytes */

/* Collector (vigie serve); a measurement's own bound is VG_STORE_MEAS_MAX in server/store.h */
#define VG_COLLECTOR_BODY_DEF (32 * 1024 * 1024)   /* default --max-body (also after gunzip) */
#define VG_COLLECTOR_BODY_MAX (1024 * 1024 * 1024) /* --max-body upper bound */
/* Memory all uploads hold at once (docs/api.md, "Memory"): bodies as sent and decompressed, parse
 * trees, measurements waiting for their commit, answers; past it 503, and 413 for one upload that
 * needs more by itself. At the defaults the whole server stays under VG_COLLECTOR_PEAK_DOC. */
#define VG_COLLECTOR_MEM_DEF        (128 * 1024 * 1024) /* default --max-memory */
#define VG_COLLECTOR_MEM_MAX        (64ULL << 30)       /* --max-memory upper bound */
#define VG_COLLECTOR_PEAK_DOC       (256 * 1024 * 1024) /* documented peak RSS at the defaults */
#define VG_COLLECTOR_PARSE_MAX      (64 * 1024 * 1024)  /* parse tree of one measurement or body */
#define VG_COLLECTOR_JSON_VALUES    100000 /* values and keys in one measurement or body */
#define VG_COLLECTOR_JSON_DEPTH     64     /* nesting of arrays and objects in one */
#define VG_COLLECTOR_CHUNK_BYTES    (8 * 1024 * 1024) /* measurement bytes per store call, at most */
#define VG_COLLECTOR_READ_TIMEOUT_S 300    /* default --read-timeout: a --max-body upload, slowly */
#define VG_COLLECTOR_BULK_LINES     100000 /* lines of one POST /api/v1/bulk */
#define VG_COLLECTOR_CHUNK          500    /* rows per store call (bulk, import) */

/* ClickHouse answers (server/store_ch.c, server/ch_tsv.c): bytes from a network peer */
#define VG_CH_ANSWER_MAX (256 * 1024 * 1024) /* one HTTP answer body; past it the query fails */
#define VG_CH_QUERY_MAX  (512 * 1024 * 1024) /* one request: SQL with its values written in */
#define VG_CH_COLS_MAX   64                  /* columns of one TabSeparated answer */
#define VG_CH_ROWS_MAX   (16 * 1024 * 1024)  /* rows of one answer */
#define VG_CH_FIELD_MAX  (32 * 1024 * 1024)  /* one field as sent (escaped), bytes */
#define VG_CH_TYPE_MAX   64                  /* one column's type name, bytes */

/* Upload credentials (vigie serve --upload-tokens; server/auth.c) */
#define VG_AUTH_FILE_MAX   (1024 * 1024) /* bytes of a tokens file */
#define VG_AUTH_LINES_MAX  10000         /* credentials in a tokens file */
#define VG_AUTH_TOKEN_MIN  16            /* characters of a token, at least */
#define VG_AUTH_TOKEN_MAX  256           /* characters of a token, at most */
#define VG_AUTH_HEADER_MAX 512           /* bytes of an Authorization header looked at */

/* Measurements from elsewhere (lib/proto/json.h, vigie analyze, the collector's analysis) */
#define VG_JSON_DEPTH_MAX   64                  /* nesting of arrays and objects in one document */
#define VG_JSON_ARENA_MAX   (256 * 1024 * 1024) /* tree bytes of one document (~3x its text) */
#define VG_REC_CHAIN_MAX    8                  /* certificates of a stored chain read, leaf first */
#define VG_ANALYZE_LINE_MAX (64 * 1024 * 1024) /* one measurement read by vigie analyze */

#endif
