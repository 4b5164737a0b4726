/* SPDX-License-Identifier: MIT */
/*
 * test_verdict_target.c - the verdict of tls:// and dns:// targets with a control (rules T1 to T5
 * of lib/meas/verdict_target.c), with one that could not be obtained, and the per-address
 * verdict of a certificate the control got too (vg_verdict_mark_control).
 */
#include <stdio.h>
#include <string.h>

#include "meas/verdict.h"
#include "util/err.h"
#include "vgtest.h"

static struct vg_obs g_o;
static struct vg_ctrl g_c;

#define LEAF_A "aa00000000000000000000000000000000000000000000000000000000000000"
#define LEAF_B "bb00000000000000000000000000000000000000000000000000000000000000"
#define KEY_A  "a100000000000000000000000000000000000000000000000000000000000000"
#define KEY_B  "b100000000000000000000000000000000000000000000000000000000000000"
#define CA_X   "c100000000000000000000000000000000000000000000000000000000000000"

static int
release_obs(void **state)
{
    (void)state;
    vg_obs_cleanup(&g_o);
    return 0;
}

/* A tls:// (or dns://) target: mail.example.org on 198.51.100.25, and a control that measured
 * the same target and resolves the name to the same address. */
static void
base(enum vg_target target)
{
    vg_obs_cleanup(&g_o);
    vg_obs_init(&g_o);
    memset(&g_c, 0, sizeof(g_c));
    g_c.status = -1;
    g_c.body_length = -1;
    snprintf(g_c.target, sizeof(g_c.target), "%s", "tls://mail.example.org:465/");
    g_c.n_addrs = 1;
    snprintf(g_c.addrs[0], sizeof(g_c.addrs[0]), "198.51.100.25");
    g_o.target = target;
    snprintf(g_o.host, sizeof(g_o.host), "mail.example.org");
    g_o.n_sys_addrs = 1;
    g_o.n_dns_addrs = 1;
    snprintf(g_o.dns_addrs[0], sizeof(g_o.dns_addrs[0]), "198.51.100.25");
    g_o.ctrl = &g_c;
}

/* A completed handshake at the probe: the leaf (sha256, key), valid or not. */
static struct vg_obs_endpoint *
probe_tls(const char *addr, int tls_err, int verify_err, const char *leaf, const char *key)
{
    struct vg_obs_endpoint *e = vg_obs_add_ep(&g_o);

    snprintf(e->addr, sizeof(e->addr), "%s", addr);
    e->tls_attempted = true;
    e->tls_err = tls_err;
    e->verify_err = verify_err;
    if (tls_err == 0) {
        snprintf(e->leaf_sha256, sizeof(e->leaf_sha256), "%s", leaf);
        snprintf(e->leaf_spki, sizeof(e->leaf_spki), "%s", key);
        snprintf(e->subject, sizeof(e->subject), "CN=mail.example.org");
        snprintf(e->issuer, sizeof(e->issuer), "%s",
                 verify_err != 0 ? "CN=mail.example.org" : "CN=Public CA");
        e->self_signed = verify_err != 0;
    }
    if (tls_err == 0 && verify_err == 0) {
        e->n_ca_spki = 1;
        snprintf(e->ca_spki[0], sizeof(e->ca_spki[0]), "%s", CA_X);
    }
    return e;
}

/* The control's handshake on addr: its leaf (NULL: none), valid or not, and its failure. */
static struct vg_ctrl_endpoint *
ctrl_tls(const char *addr, bool ok, bool valid, const char *leaf, const char *key,
         const char *failure)
{
    struct vg_ctrl_endpoint *e = &g_c.ep[g_c.n_ep++];

    memset(e, 0, sizeof(*e));
    snprintf(e->addr, sizeof(e->addr), "%s", addr);
    e->tcp_ok = true;
    e->tls_present = true;
    e->tls_ok = ok && valid;
    e->x_present = true;
    e->x_valid = ok && valid;
    snprintf(e->tls_failure, sizeof(e->tls_failure), "%s", failure != NULL ? failure : "");
    if (leaf != NULL) {
        snprintf(e->leaf_sha256, sizeof(e->leaf_sha256), "%s", leaf);
        snprintf(e->leaf_spki, sizeof(e->leaf_spki), "%s", key);
    }
    if (leaf != NULL && valid) {
        e->n_ca_spki = 1;
        snprintf(e->ca_spki[0], sizeof(e->ca_spki[0]), "%s", CA_X);
    }
    return e;
}

static void
expect(const char *verdict, const char *cause, const char *evidence_part)
{
    struct vg_decision v;

    vg_verdict_mark_control(&g_o);
    vg_verdict_decide(&g_o, &v);
    assert_string_equal(vg_verdict_name(v.verdict), verdict);
    assert_string_equal(v.cause, cause);
    if (evidence_part != NULL && strstr(v.evidence, evidence_part) == NULL) {
        fail_msg("evidence '%s' lacks '%s'", v.evidence, evidence_part);
    }
    /* Not web_connectivity: OONI's keys stay null, with a control too. */
    assert_int_equal(v.blocking, VG_BLOCKING_NULL);
    assert_int_equal(v.accessible, -1);
    assert_int_equal(v.ooni.dns_consistency, -1);
}

static enum vg_verdict
endpoint_verdict(size_t i)
{
    int failure;

    return vg_verdict_endpoint(&g_o.ep[i], &failure);
}

/* T3/T5: the case. A mail server's own self-signed certificate, which the control gets
 * too, is the server's: accessible, and so is that address by itself. */
static void
test_self_signed_seen_by_control_is_accessible(void **state)
{
    (void)state;
    base(VG_TARGET_TLS);
    probe_tls("198.51.100.25:465", 0, VG_ETLS_UNKNOWN_CA, LEAF_A, KEY_A);
    ctrl_tls("198.51.100.25:465", true, false, LEAF_A, KEY_A, "ssl_unknown_authority");
    expect("accessible", "", "the control got the same one on 198.51.100.25:465");
    assert_true(g_o.ep[0].ctrl_same_cert);
    assert_int_equal(endpoint_verdict(0), VG_VERDICT_ACCESSIBLE);
    /* Without the control, the probe-only rule cannot tell: intercepted (the former answer). */
    g_o.ctrl = NULL;
    expect("intercepted", "tls.mitm", "self-signed certificate CN=mail.example.org");
    assert_false(g_o.ep[0].ctrl_same_cert);
    assert_int_equal(endpoint_verdict(0), VG_VERDICT_INTERCEPTED);
}

/* The same key in a re-issued certificate: still the server's own. */
static void
test_same_key_other_leaf_is_accessible(void **state)
{
    (void)state;
    base(VG_TARGET_TLS);
    probe_tls("198.51.100.25:465", 0, VG_ETLS_UNKNOWN_CA, LEAF_A, KEY_A);
    ctrl_tls("198.51.100.25:465", true, false, LEAF_B, KEY_A, "ssl_unknown_authority");
    expect("accessible", "", "not an interception");
}

/* T3: another self-signed certificate at the probe than the server's: intercepted. */
static void
test_other_self_signed_is_intercepted(void **state)
{
    (void)state;
    base(VG_TARGET_TLS);
    probe_tls("198.51.100.25:465", 0, VG_ETLS_UNKNOWN_CA, LEAF_B, KEY_B);
    ctrl_tls("198.51.100.25:465", true, false, LEAF_A, KEY_A, "ssl_unknown_authority");
    expect("intercepted", "tls.mitm", "the control got another certificate on 198.51.100.25:465");
    assert_false(g_o.ep[0].ctrl_same_cert);
    assert_int_equal(endpoint_verdict(0), VG_VERDICT_INTERCEPTED);
}

/* T3 (C4): the control validated the server's certificate, the probe got an invalid one. */
static void
test_invalid_while_control_validates_is_intercepted(void **state)
{
    (void)state;
    base(VG_TARGET_TLS);
    probe_tls("198.51.100.25:465", 0, VG_ETLS_UNKNOWN_CA, LEAF_B, KEY_B);
    ctrl_tls("198.51.100.25:465", true, true, LEAF_A, KEY_A, NULL);
    expect("intercepted", "tls.mitm", "while the control validated the certificate");
    /* A certificate the control validates but this device does not (a CA it lacks): the same
     * certificate, so not an interception. */
    base(VG_TARGET_TLS);
    probe_tls("198.51.100.25:465", 0, VG_ETLS_UNKNOWN_CA, LEAF_A, KEY_A);
    ctrl_tls("198.51.100.25:465", true, true, LEAF_A, KEY_A, NULL);
    expect("accessible", "", "the control got the same one");
}

/* T3: nothing to compare with (the control's handshake failed): the probe-only answer stays. */
static void
test_invalid_without_control_chain_is_intercepted(void **state)
{
    (void)state;
    base(VG_TARGET_TLS);
    probe_tls("198.51.100.25:465", 0, VG_ETLS_UNKNOWN_CA, LEAF_B, KEY_B);
    ctrl_tls("198.51.100.25:465", false, false, NULL, NULL, "generic_timeout_error");
    expect("intercepted", "tls.mitm", "the control got no certificate to compare it with");
}

/* T4 (C5): a valid chain with no key in common with the control's validated chain. */
static void
test_trusted_ca_is_intercepted(void **state)
{
    struct vg_obs_endpoint *e;

    (void)state;
    base(VG_TARGET_TLS);
    e = probe_tls("198.51.100.25:465", 0, 0, LEAF_B, KEY_B);
    snprintf(e->ca_spki[0], sizeof(e->ca_spki[0]), "%s", KEY_B);
    ctrl_tls("198.51.100.25:465", true, true, LEAF_A, KEY_A, NULL);
    expect("intercepted", "tls.mitm", "a CA this device was made to trust");
}

/* T4 (C8) and T5: failed endpoints against the control's; valid handshakes. */
static void
test_connect_rules_and_valid(void **state)
{
    struct vg_obs_endpoint *e;

    (void)state;
    base(VG_TARGET_TLS);
    probe_tls("198.51.100.25:465", VG_ECONNRESET, 0, NULL, NULL);
    ctrl_tls("198.51.100.25:465", true, true, LEAF_A, KEY_A, NULL);
    expect("blocked", "tls.reset", "while the control's handshake on 198.51.100.25:465");

    base(VG_TARGET_TLS);
    e = probe_tls("198.51.100.25:465", 0, 0, NULL, NULL);
    e->tls_attempted = false;
    e->tcp_err = VG_ETIMEDOUT;
    ctrl_tls("198.51.100.25:465", true, true, LEAF_A, KEY_A, NULL);
    expect("blocked", "tcp.timeout", "while the control connected to 198.51.100.25:465");
    g_c.ep[0].tcp_ok = false;
    g_c.ep[0].tls_present = false;
    snprintf(g_c.ep[0].tcp_failure, sizeof(g_c.ep[0].tcp_failure), "generic_timeout_error");
    expect("down", "tcp.timeout", "the control's attempt failed too");

    base(VG_TARGET_TLS);
    probe_tls("198.51.100.25:465", 0, 0, LEAF_A, KEY_A);
    ctrl_tls("198.51.100.25:465", true, true, LEAF_A, KEY_A, NULL);
    expect("accessible", "", "valid certificate on 1 of 1 addresses");
}

/* T1: a bogon, a failed lookup, for both kinds of target. */
static void
test_dns_rules(void **state)
{
    (void)state;
    base(VG_TARGET_DNS);
    snprintf(g_c.target, sizeof(g_c.target), "dns://mail.example.org/");
    snprintf(g_o.dns_addrs[0], sizeof(g_o.dns_addrs[0]), "10.10.34.35");
    snprintf(g_o.bogon, sizeof(g_o.bogon), "10.10.34.35 (private) from the system resolver");
    expect("blocked", "dns.bogon", "while the control resolves it to 198.51.100.25");
    /* The control gets the bogon too: the name's published record, consistent. */
    snprintf(g_c.addrs[0], sizeof(g_c.addrs[0]), "10.10.34.35");
    expect("accessible", "", "consistent with the control's answer (10.10.34.35)");

    base(VG_TARGET_DNS);
    g_o.n_dns_addrs = 0;
    g_o.n_sys_addrs = 0;
    g_o.sys_failure = VG_EDNS_NXDOMAIN;
    expect("blocked", "dns.nxdomain", "but the control resolves it to 198.51.100.25");
    g_c.n_addrs = 0;
    snprintf(g_c.dns_failure, sizeof(g_c.dns_failure), "dns_name_error");
    expect("down", "dns.nxdomain", "the control's lookup failed too (dns_name_error)");

    base(VG_TARGET_TLS);
    g_o.n_dns_addrs = 0;
    g_o.n_sys_addrs = 0;
    g_o.sys_failure = VG_EDNS_NXDOMAIN;
    expect("blocked", "dns.nxdomain", "but the control resolves it");
}

/* T2: answers the control does not confirm are not enough for blocked without a connection. */
static void
test_dns_consistency(void **state)
{
    struct vg_decision v;

    (void)state;
    base(VG_TARGET_DNS);
    expect("accessible", "", "mail.example.org resolves to 198.51.100.25");
    vg_verdict_decide(&g_o, &v);
    assert_int_equal(v.ooni.x_dns_consistency, 1);
    snprintf(g_o.dns_addrs[0], sizeof(g_o.dns_addrs[0]), "203.0.113.80");
    expect("unknown", "dns.inconsistent", "which the control does not confirm");
    vg_verdict_decide(&g_o, &v);
    assert_int_equal(v.ooni.x_dns_consistency, 0);
    /* The same autonomous system (--asn-db): a CDN's other edge, consistent. */
    g_o.dns_asns[0] = 64500;
    g_o.ctrl_asns[0] = 64500;
    expect("accessible", "", "consistent with the control's answer");
}

/* T4 (C6): a tls:// name hijacked to an address that refuses, which the control does not know. */
static void
test_tls_inconsistent_dns(void **state)
{
    struct vg_obs_endpoint *e;

    (void)state;
    base(VG_TARGET_TLS);
    snprintf(g_o.dns_addrs[0], sizeof(g_o.dns_addrs[0]), "203.0.113.90");
    e = probe_tls("203.0.113.90:465", 0, 0, NULL, NULL);
    e->tls_attempted = false;
    e->tcp_err = VG_ECONNREFUSED;
    ctrl_tls("198.51.100.25:465", true, true, LEAF_A, KEY_A, NULL);
    expect("blocked", "dns.inconsistent", "which the control does not confirm");
}

/* A control asked for and lost: the probe-only rules, loudly, and only what needs no control. */
static void
test_control_lost(void **state)
{
    struct vg_decision v;

    (void)state;
    base(VG_TARGET_TLS);
    g_o.ctrl = NULL;
    snprintf(g_o.control_failure, sizeof(g_o.control_failure),
             "http://192.0.2.10:8080/: connection_refused");
    probe_tls("198.51.100.25:465", VG_ECONNRESET, 0, NULL, NULL);
    /* blocked tls.reset without --helper; a control was asked for: unknown, cause kept. */
    expect("unknown", "tls.reset", "the control could not be obtained");
    base(VG_TARGET_TLS);
    g_o.ctrl = NULL;
    snprintf(g_o.control_failure, sizeof(g_o.control_failure), "x: y");
    probe_tls("198.51.100.25:465", 0, VG_ETLS_UNKNOWN_CA, LEAF_A, KEY_A);
    expect("intercepted", "tls.mitm", "the control could not be obtained (x: y)");
    base(VG_TARGET_DNS);
    g_o.ctrl = NULL;
    snprintf(g_o.control_failure, sizeof(g_o.control_failure), "x: y");
    expect("accessible", "", "the control could not be obtained");
    vg_verdict_decide(&g_o, &v);
    assert_int_equal(v.ooni.x_dns_consistency, -1);
}

/* Web targets keep their rules: the mark is for tls:// targets only. */
static void
test_mark_only_tls_targets(void **state)
{
    (void)state;
    base(VG_TARGET_WEB);
    g_o.https = true;
    probe_tls("198.51.100.25:443", 0, VG_ETLS_UNKNOWN_CA, LEAF_A, KEY_A);
    ctrl_tls("198.51.100.25:443", true, false, LEAF_A, KEY_A, "ssl_unknown_authority");
    vg_verdict_mark_control(&g_o);
    assert_false(g_o.ep[0].ctrl_same_cert);
    assert_int_equal(endpoint_verdict(0), VG_VERDICT_INTERCEPTED);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_self_signed_seen_by_control_is_accessible, release_obs),
        cmocka_unit_test_teardown(test_same_key_other_leaf_is_accessible, release_obs),
        cmocka_unit_test_teardown(test_other_self_signed_is_intercepted, release_obs),
        cmocka_unit_test_teardown(test_invalid_while_control_validates_is_intercepted, release_obs),
        cmocka_unit_test_teardown(test_invalid_without_control_chain_is_intercepted, release_obs),
        cmocka_unit_test_teardown(test_trusted_ca_is_intercepted, release_obs),
        cmocka_unit_test_teardown(test_connect_rules_and_valid, release_obs),
        cmocka_unit_test_teardown(test_dns_rules, release_obs),
        cmocka_unit_test_teardown(test_dns_consistency, release_obs),
        cmocka_unit_test_teardown(test_tls_inconsistent_dns, release_obs),
        cmocka_unit_test_teardown(test_control_lost, release_obs),
        cmocka_unit_test_teardown(test_mark_only_tls_targets, release_obs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
