/* SPDX-License-Identifier: MIT */
/*
 * record_keys.h - the one table of the keys of the measurement JSON: OONI's (df-000-base and the
 * data formats of its test_keys), vigie's x_ extensions, the Test Helper protocol's THRequest and
 * THResponse bodies (record_th*.c) and vigie locate's x_locate. Every key is spelled here once, as
 * VG_REC_KEY_<KEY IN UPPER CASE>, a string literal (json_object_get(o, VG_REC_KEY_INPUT), string
 * concatenation and sizeof work); the writer and the readers in lib/meas/record*.c use
 * these names only (scripts/checksrc refuses a quoted key there), and server/ and cli/ reuse them
 * where an answer echoes a field under the measurement's own name.
 *
 * A key is listed once, in the first group it belongs to (address, failure, status... are also
 * members of later objects). To add one: its #define in its group (sorted), and its name in
 * VG_REC_KEYS below (sorted); scripts/checksrc checks that both lists name the same keys, and
 * tests/unit/test_record_keys.c that every key is [a-z0-9_]+ and spelled once.
 */
#ifndef VG_MEAS_RECORD_KEYS_H
#define VG_MEAS_RECORD_KEYS_H

/* Envelope (df-000-base): the measurement's top-level keys. */
#define VG_REC_KEY_ANNOTATIONS            "annotations"
#define VG_REC_KEY_DATA_FORMAT_VERSION    "data_format_version"
#define VG_REC_KEY_EXTENSIONS             "extensions"
#define VG_REC_KEY_ID                     "id"
#define VG_REC_KEY_INPUT                  "input"
#define VG_REC_KEY_MEASUREMENT_START_TIME "measurement_start_time"
#define VG_REC_KEY_PROBE_ASN              "probe_asn"
#define VG_REC_KEY_PROBE_CC               "probe_cc"
#define VG_REC_KEY_PROBE_IP               "probe_ip"
#define VG_REC_KEY_PROBE_NETWORK_NAME     "probe_network_name"
#define VG_REC_KEY_REPORT_ID              "report_id"
#define VG_REC_KEY_RESOLVER_ASN           "resolver_asn"
#define VG_REC_KEY_RESOLVER_IP            "resolver_ip"
#define VG_REC_KEY_RESOLVER_NETWORK_NAME  "resolver_network_name"
#define VG_REC_KEY_SOFTWARE_NAME          "software_name"
#define VG_REC_KEY_SOFTWARE_VERSION       "software_version"
#define VG_REC_KEY_TEST_HELPERS           "test_helpers"
#define VG_REC_KEY_TEST_KEYS              "test_keys"
#define VG_REC_KEY_TEST_NAME              "test_name"
#define VG_REC_KEY_TEST_RUNTIME           "test_runtime"
#define VG_REC_KEY_TEST_START_TIME        "test_start_time"
#define VG_REC_KEY_TEST_VERSION           "test_version"
/* annotations. */
#define VG_REC_KEY_ARCHITECTURE   "architecture"
#define VG_REC_KEY_ENGINE_NAME    "engine_name"
#define VG_REC_KEY_ENGINE_VERSION "engine_version"
#define VG_REC_KEY_PLATFORM       "platform"
/* extensions: the data formats test_keys carry. */
#define VG_REC_KEY_DNST         "dnst"
#define VG_REC_KEY_HTTPT        "httpt"
#define VG_REC_KEY_NETEVENTS    "netevents"
#define VG_REC_KEY_TCPCONNECT   "tcpconnect"
#define VG_REC_KEY_TLSHANDSHAKE "tlshandshake"
/* test_helpers: {"backend": {"address", "type"}}. */
#define VG_REC_KEY_ADDRESS "address"
#define VG_REC_KEY_BACKEND "backend"
#define VG_REC_KEY_TYPE    "type"
/* test_keys of web_connectivity (OONI). */
#define VG_REC_KEY_ACCESSIBLE              "accessible"
#define VG_REC_KEY_AGENT                   "agent"
#define VG_REC_KEY_BLOCKING                "blocking"
#define VG_REC_KEY_BODY_LENGTH_MATCH       "body_length_match"
#define VG_REC_KEY_BODY_PROPORTION         "body_proportion"
#define VG_REC_KEY_CLIENT_RESOLVER         "client_resolver"
#define VG_REC_KEY_CONTROL                 "control"
#define VG_REC_KEY_CONTROL_FAILURE         "control_failure"
#define VG_REC_KEY_DNS_CONSISTENCY         "dns_consistency"
#define VG_REC_KEY_DNS_EXPERIMENT_FAILURE  "dns_experiment_failure"
#define VG_REC_KEY_HEADERS_MATCH           "headers_match"
#define VG_REC_KEY_HTTP_EXPERIMENT_FAILURE "http_experiment_failure"
#define VG_REC_KEY_NETWORK_EVENTS          "network_events"
#define VG_REC_KEY_QUERIES                 "queries"
#define VG_REC_KEY_REQUESTS                "requests"
#define VG_REC_KEY_RETRIES                 "retries"
#define VG_REC_KEY_SOCKSPROXY              "socksproxy"
#define VG_REC_KEY_STATUS_CODE_MATCH       "status_code_match"
#define VG_REC_KEY_TCP_CONNECT             "tcp_connect"
#define VG_REC_KEY_TITLE_MATCH             "title_match"
#define VG_REC_KEY_TLS_HANDSHAKES          "tls_handshakes"
/* Members of every step (queries, network_events, tcp_connect, tls_handshakes, requests). */
#define VG_REC_KEY_FAILURE        "failure"
#define VG_REC_KEY_T              "t"
#define VG_REC_KEY_T0             "t0"
#define VG_REC_KEY_TAGS           "tags"
#define VG_REC_KEY_TRANSACTION_ID "transaction_id"
/* queries (df-002-dnst) and their answers. */
#define VG_REC_KEY_ANSWER_TYPE      "answer_type"
#define VG_REC_KEY_ANSWERS          "answers"
#define VG_REC_KEY_AS_ORG_NAME      "as_org_name"
#define VG_REC_KEY_ASN              "asn"
#define VG_REC_KEY_ENGINE           "engine"
#define VG_REC_KEY_HOSTNAME         "hostname"
#define VG_REC_KEY_IPV4             "ipv4"
#define VG_REC_KEY_IPV6             "ipv6"
#define VG_REC_KEY_QUERY_TYPE       "query_type"
#define VG_REC_KEY_RAW_RESPONSE     "raw_response"
#define VG_REC_KEY_RCODE            "rcode"
#define VG_REC_KEY_RESOLVER_ADDRESS "resolver_address"
#define VG_REC_KEY_TTL              "ttl"
/* network_events (df-008-netevents). */
#define VG_REC_KEY_OPERATION "operation"
#define VG_REC_KEY_PROTO     "proto"
/* tcp_connect (df-005-tcpconnect). */
#define VG_REC_KEY_BLOCKED "blocked"
#define VG_REC_KEY_IP      "ip"
#define VG_REC_KEY_PORT    "port"
#define VG_REC_KEY_STATUS  "status"
#define VG_REC_KEY_SUCCESS "success"
/* tls_handshakes (df-006-tlshandshake); peer_certificates and binary bodies are {format, data}. */
#define VG_REC_KEY_CIPHER_SUITE        "cipher_suite"
#define VG_REC_KEY_DATA                "data"
#define VG_REC_KEY_FORMAT              "format"
#define VG_REC_KEY_NEGOTIATED_PROTOCOL "negotiated_protocol"
#define VG_REC_KEY_NETWORK             "network"
#define VG_REC_KEY_NO_TLS_VERIFY       "no_tls_verify"
#define VG_REC_KEY_PEER_CERTIFICATES   "peer_certificates"
#define VG_REC_KEY_SERVER_NAME         "server_name"
#define VG_REC_KEY_TLS_VERSION         "tls_version"
/* requests (df-001-httpt): request, response, tor. */
#define VG_REC_KEY_ALPN              "alpn"
#define VG_REC_KEY_BODY              "body"
#define VG_REC_KEY_BODY_IS_TRUNCATED "body_is_truncated"
#define VG_REC_KEY_CODE              "code"
#define VG_REC_KEY_EXIT_IP           "exit_ip"
#define VG_REC_KEY_EXIT_NAME         "exit_name"
#define VG_REC_KEY_HEADERS           "headers"
#define VG_REC_KEY_HEADERS_LIST      "headers_list"
#define VG_REC_KEY_IS_TOR            "is_tor"
#define VG_REC_KEY_METHOD            "method"
#define VG_REC_KEY_REQUEST           "request"
#define VG_REC_KEY_RESPONSE          "response"
#define VG_REC_KEY_TOR               "tor"
#define VG_REC_KEY_URL               "url"
/* vigie's x_ keys of test_keys. */
#define VG_REC_KEY_X_AFFECTED_ADDRESSES      "x_affected_addresses"
#define VG_REC_KEY_X_ANALYZER                "x_analyzer"
#define VG_REC_KEY_X_CAUSE                   "x_cause"
#define VG_REC_KEY_X_CONTROL_REQUEST         "x_control_request"
#define VG_REC_KEY_X_DNS_CONSISTENCY         "x_dns_consistency"
#define VG_REC_KEY_X_DNS_DUPLICATE_RESPONSES "x_dns_duplicate_responses"
#define VG_REC_KEY_X_ENDPOINTS               "x_endpoints"
#define VG_REC_KEY_X_EVIDENCE                "x_evidence"
#define VG_REC_KEY_X_LOCATE                  "x_locate"
#define VG_REC_KEY_X_TH_RUNTIME              "x_th_runtime"
#define VG_REC_KEY_X_TRIAL                   "x_trial"
#define VG_REC_KEY_X_VERDICT                 "x_verdict"
/* vigie's x_ keys of the steps (queries, tls_handshakes, requests). */
#define VG_REC_KEY_X_BODY_LENGTH       "x_body_length"
#define VG_REC_KEY_X_BODY_SHA256       "x_body_sha256"
#define VG_REC_KEY_X_CERTIFICATES      "x_certificates"
#define VG_REC_KEY_X_HANDSHAKE_FAILURE "x_handshake_failure"
#define VG_REC_KEY_X_IP_TTL            "x_ip_ttl"
#define VG_REC_KEY_X_TITLE             "x_title"
#define VG_REC_KEY_X_TRANSPORT         "x_transport"
#define VG_REC_KEY_X_VERIFIED_CHAIN    "x_verified_chain"
#define VG_REC_KEY_X_VERIFY_REASON     "x_verify_reason"
/* A certificate's summary (x_certificates, x_verified_chain, the control's x_chain). */
#define VG_REC_KEY_ISSUER      "issuer"
#define VG_REC_KEY_NOT_AFTER   "not_after"
#define VG_REC_KEY_NOT_BEFORE  "not_before"
#define VG_REC_KEY_SELF_SIGNED "self_signed"
#define VG_REC_KEY_SHA256      "sha256"
#define VG_REC_KEY_SPKI_SHA256 "spki_sha256"
#define VG_REC_KEY_SUBJECT     "subject"
/* x_endpoints: one entry per endpoint (with address and failure). */
#define VG_REC_KEY_DEPTH   "depth"
#define VG_REC_KEY_VERDICT "verdict"
/* TH protocol: THRequest (record_th.c), and vigie's x_ extensions. */
#define VG_REC_KEY_HTTP_REQUEST         "http_request"
#define VG_REC_KEY_HTTP_REQUEST_HEADERS "http_request_headers"
#define VG_REC_KEY_X_QUIC_ENABLED       "x_quic_enabled"
#define VG_REC_KEY_X_TARGET             "x_target"
#define VG_REC_KEY_X_TLS_ANY_PORT       "x_tls_any_port"
/* TH protocol: THResponse (test_keys.control; record_th_resp.c, record_th_read.c). */
#define VG_REC_KEY_ADDRS                  "addrs"
#define VG_REC_KEY_BODY_LENGTH            "body_length"
#define VG_REC_KEY_DISCOVERED_H3_ENDPOINT "discovered_h3_endpoint"
#define VG_REC_KEY_DNS                    "dns"
#define VG_REC_KEY_FLAGS                  "flags"
#define VG_REC_KEY_HTTP3_REQUEST          "http3_request"
#define VG_REC_KEY_IP_INFO                "ip_info"
#define VG_REC_KEY_QUIC_HANDSHAKE         "quic_handshake"
#define VG_REC_KEY_STATUS_CODE            "status_code"
#define VG_REC_KEY_TITLE                  "title"
#define VG_REC_KEY_TLS_HANDSHAKE          "tls_handshake"
#define VG_REC_KEY_X_CHAIN                "x_chain"
#define VG_REC_KEY_X_CIPHER_SUITE         "x_cipher_suite"
#define VG_REC_KEY_X_CLIENT_ADDR          "x_client_addr"
#define VG_REC_KEY_X_TLS_VERSION          "x_tls_version"
#define VG_REC_KEY_X_VALID                "x_valid"
/* x_locate (vigie locate; record_locate.c, record_incident.c). */
#define VG_REC_KEY_CAUSE                  "cause"
#define VG_REC_KEY_CONTROLS               "controls"
#define VG_REC_KEY_DETAIL                 "detail"
#define VG_REC_KEY_ENDPOINT_HOP           "endpoint_hop"
#define VG_REC_KEY_EVENT                  "event"
#define VG_REC_KEY_HOPS                   "hops"
#define VG_REC_KEY_HOST                   "host"
#define VG_REC_KEY_INTERFERENCE_FIRST_TTL "interference_first_ttl"
#define VG_REC_KEY_INTERFERENCE_HOP       "interference_hop"
#define VG_REC_KEY_INTERFERENCE_ROUTER    "interference_router"
#define VG_REC_KEY_MAX_TTL                "max_ttl"
#define VG_REC_KEY_NAME                   "name"
#define VG_REC_KEY_PORT80_HOP             "port80_hop"
#define VG_REC_KEY_REPLY_IP_TTLS          "reply_ip_ttls"
#define VG_REC_KEY_ROUTER                 "router"
#define VG_REC_KEY_ROUTER_FROM            "router_from"
#define VG_REC_KEY_SERVER_HOP             "server_hop"
#define VG_REC_KEY_SUMMARY                "summary"
#define VG_REC_KEY_TARGET                 "target"
#define VG_REC_KEY_TLS_PORT_HOP           "tls_port_hop"
#define VG_REC_KEY_TTL_MIRRORING          "ttl_mirroring"
#define VG_REC_KEY_TTL_TIMEOUT_MS         "ttl_timeout_ms"

/* Every VG_REC_KEY_<NAME> above, as X(NAME), sorted by key: e.g.
 *   #define ENTRY(n) VG_REC_KEY_##n,
 *   static const char *const keys[] = {VG_REC_KEYS(ENTRY)}; */
/* clang-format off */
#define VG_REC_KEYS(X)                                                                            \
    X(ACCESSIBLE) X(ADDRESS) X(ADDRS) X(AGENT) X(ALPN) X(ANNOTATIONS) X(ANSWER_TYPE) X(ANSWERS)   \
    X(ARCHITECTURE) X(AS_ORG_NAME) X(ASN) X(BACKEND) X(BLOCKED) X(BLOCKING) X(BODY)               \
    X(BODY_IS_TRUNCATED) X(BODY_LENGTH) X(BODY_LENGTH_MATCH) X(BODY_PROPORTION) X(CAUSE)          \
    X(CIPHER_SUITE) X(CLIENT_RESOLVER) X(CODE) X(CONTROL) X(CONTROL_FAILURE) X(CONTROLS) X(DATA)  \
    X(DATA_FORMAT_VERSION) X(DEPTH) X(DETAIL) X(DISCOVERED_H3_ENDPOINT) X(DNS)                    \
    X(DNS_CONSISTENCY) X(DNS_EXPERIMENT_FAILURE) X(DNST) X(ENDPOINT_HOP) X(ENGINE)                \
    X(ENGINE_NAME) X(ENGINE_VERSION) X(EVENT) X(EXIT_IP) X(EXIT_NAME) X(EXTENSIONS) X(FAILURE)    \
    X(FLAGS) X(FORMAT) X(HEADERS) X(HEADERS_LIST) X(HEADERS_MATCH) X(HOPS) X(HOST) X(HOSTNAME)    \
    X(HTTP3_REQUEST) X(HTTP_EXPERIMENT_FAILURE) X(HTTP_REQUEST) X(HTTP_REQUEST_HEADERS) X(HTTPT)  \
    X(ID) X(INPUT) X(INTERFERENCE_FIRST_TTL) X(INTERFERENCE_HOP) X(INTERFERENCE_ROUTER) X(IP)     \
    X(IP_INFO) X(IPV4) X(IPV6) X(IS_TOR) X(ISSUER) X(MAX_TTL) X(MEASUREMENT_START_TIME)           \
    X(METHOD) X(NAME) X(NEGOTIATED_PROTOCOL) X(NETEVENTS) X(NETWORK) X(NETWORK_EVENTS)            \
    X(NO_TLS_VERIFY) X(NOT_AFTER) X(NOT_BEFORE) X(OPERATION) X(PEER_CERTIFICATES) X(PLATFORM)     \
    X(PORT) X(PORT80_HOP) X(PROBE_ASN) X(PROBE_CC) X(PROBE_IP) X(PROBE_NETWORK_NAME) X(PROTO)     \
    X(QUERIES) X(QUERY_TYPE) X(QUIC_HANDSHAKE) X(RAW_RESPONSE) X(RCODE) X(REPLY_IP_TTLS)          \
    X(REPORT_ID) X(REQUEST) X(REQUESTS) X(RESOLVER_ADDRESS) X(RESOLVER_ASN) X(RESOLVER_IP)        \
    X(RESOLVER_NETWORK_NAME) X(RESPONSE) X(RETRIES) X(ROUTER) X(ROUTER_FROM) X(SELF_SIGNED)       \
    X(SERVER_HOP) X(SERVER_NAME) X(SHA256) X(SOCKSPROXY) X(SOFTWARE_NAME) X(SOFTWARE_VERSION)     \
    X(SPKI_SHA256) X(STATUS) X(STATUS_CODE) X(STATUS_CODE_MATCH) X(SUBJECT) X(SUCCESS)            \
    X(SUMMARY) X(T) X(T0) X(TAGS) X(TARGET) X(TCP_CONNECT) X(TCPCONNECT) X(TEST_HELPERS)          \
    X(TEST_KEYS) X(TEST_NAME) X(TEST_RUNTIME) X(TEST_START_TIME) X(TEST_VERSION) X(TITLE)         \
    X(TITLE_MATCH) X(TLS_HANDSHAKE) X(TLS_HANDSHAKES) X(TLS_PORT_HOP) X(TLS_VERSION)              \
    X(TLSHANDSHAKE) X(TOR) X(TRANSACTION_ID) X(TTL) X(TTL_MIRRORING) X(TTL_TIMEOUT_MS) X(TYPE)    \
    X(URL) X(VERDICT) X(X_AFFECTED_ADDRESSES) X(X_ANALYZER) X(X_BODY_LENGTH) X(X_BODY_SHA256)     \
    X(X_CAUSE) X(X_CERTIFICATES) X(X_CHAIN) X(X_CIPHER_SUITE) X(X_CLIENT_ADDR)                    \
    X(X_CONTROL_REQUEST) X(X_DNS_CONSISTENCY) X(X_DNS_DUPLICATE_RESPONSES) X(X_ENDPOINTS)         \
    X(X_EVIDENCE) X(X_HANDSHAKE_FAILURE) X(X_IP_TTL) X(X_LOCATE) X(X_QUIC_ENABLED) X(X_TARGET)    \
    X(X_TH_RUNTIME) X(X_TITLE) X(X_TLS_ANY_PORT) X(X_TLS_VERSION) X(X_TRANSPORT) X(X_TRIAL)       \
    X(X_VALID) X(X_VERDICT) X(X_VERIFIED_CHAIN) X(X_VERIFY_REASON)
/* clang-format on */

/* Header names (keys of request.headers, names in request.headers_list) of the request vigie
 * sends; not measurement keys, so not in VG_REC_KEYS. */
#define VG_REC_HDR_ACCEPT          "Accept"
#define VG_REC_HDR_ACCEPT_LANGUAGE "Accept-Language"
#define VG_REC_HDR_USER_AGENT      "User-Agent"

#endif
