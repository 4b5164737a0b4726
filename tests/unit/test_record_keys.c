/* SPDX-License-Identifier: MIT */
/*
 * test_record_keys.c - the key table of the measurement JSON (lib/meas/record_keys.h): every key
 * is [a-z0-9_]+, spelled once, listed in VG_REC_KEYS in order, and every key the writer
 * (record.c) puts in a measurement is one of the table's.
 */
#include <string.h>
#include <time.h>

#include "meas/obs.h"
#include "meas/record.h"
#include "meas/record_keys.h"
#include "meas/verdict.h"
#include "vgtest.h"

#define ENTRY(n) VG_REC_KEY_##n,
static const char *const keys[] = {VG_REC_KEYS(ENTRY)};
#undef ENTRY
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static bool
in_table(const char *k)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i], k) == 0) {
            return true;
        }
    }
    return false;
}

static void
test_spellings(void **state)
{
    (void)state;
    assert_true(N_KEYS > 100);
    for (size_t i = 0; i < N_KEYS; i++) {
        const char *k = keys[i];

        assert_true(k[0] != '\0');
        if (strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(k)) {
            fail_msg("key \"%s\" is not [a-z0-9_]+", k);
        }
        /* sorted by spelling, hence no key twice */
        if (i > 0 && strcmp(keys[i - 1], k) >= 0) {
            fail_msg("VG_REC_KEYS: \"%s\" then \"%s\" (unsorted or twice)", keys[i - 1], k);
        }
    }
}

static void
test_macros_are_literals(void **state)
{
    (void)state;
    /* literal, concatenation and sizeof, as the record module and the collector use them */
    assert_string_equal(VG_REC_KEY_INPUT, "input");
    assert_string_equal("{\"" VG_REC_KEY_X_VERDICT "\":", "{\"x_verdict\":");
    assert_int_equal(sizeof(VG_REC_KEY_PEER_CERTIFICATES), sizeof("peer_certificates"));
    /* the names record_read.h had before the table */
    assert_string_equal(VG_REC_KEY_DATA_FORMAT_VERSION, "data_format_version");
    assert_string_equal(VG_REC_KEY_MEASUREMENT_START_TIME, "measurement_start_time");
    assert_string_equal(VG_REC_KEY_ACCESSIBLE, "accessible");
    assert_string_equal(VG_REC_KEY_X_ANALYZER, "x_analyzer");
}

/* Every object key under v is in the table, but the names of HTTP headers (headers maps). */
static void
check_keys(json_t *v, const char *path)
{
    const char *k;
    json_t *c;
    size_t i;

    if (json_is_array(v)) {
        json_array_foreach(v, i, c)
        {
            check_keys(c, path);
        }
        return;
    }
    if (!json_is_object(v)) {
        return;
    }
    json_object_foreach(v, k, c)
    {
        if (!in_table(k)) {
            fail_msg("%s.%s is not in record_keys.h", path, k);
        }
        if (strcmp(k, VG_REC_KEY_HEADERS) != 0) {
            check_keys(c, k);
        }
    }
}

static void
test_writer_keys_are_in_table(void **state)
{
    struct vg_rec_env env = {VG_REC_TEST_WEB, VG_REC_TEST_WEB_VER, "https://example.org/",
                             time(NULL),      "192.0.2.53",        64500,
                             "Example"};
    struct vg_rec_event ev = {0.1, 0.2, 0, 1};
    static const uint8_t raw[] = {0, 1, 2, 3};
    struct vg_rec_query q = {.udp = true,
                             .resolver = "192.0.2.53:53",
                             .hostname = "example.org",
                             .reply = true,
                             .raw = raw,
                             .raw_len = sizeof(raw),
                             .rcode = 0};
    struct vg_decision d;
    struct vg_obs o;
    json_t *m, *tk, *answers = json_array();

    (void)state;
    memset(&d, 0, sizeof(d));
    vg_obs_init(&o);
    m = vg_rec_new(&env, vg_rec_web_test_keys(0), NULL);
    assert_non_null(m);
    tk = vg_rec_test_keys(m);
    vg_rec_answer_addr(answers, "192.0.2.1", 60, NULL);
    vg_rec_answer_cname(answers, "www.example.org");
    vg_rec_add_query(tk, &ev, &q, answers, false);
    vg_rec_add_tcp_connect(tk, &ev, "192.0.2.1", 443, 0);
    vg_rec_add_tls_handshake(tk, &ev, "192.0.2.1:443", "example.org", VG_ETIMEDOUT, NULL);
    vg_rec_add_request_unsent(tk, &ev, "https://example.org/", VG_ETIMEDOUT);
    vg_rec_set_control(m, NULL, NULL, "https://th.example.org", NULL, 0.5);
    vg_rec_set_ooni(tk, &d, true);
    vg_rec_set_endpoints(tk, &o);
    vg_rec_set_verdict(tk, &d);
    vg_rec_set_experiment_failures(tk, VG_ETIMEDOUT, 0);
    vg_rec_set_network(m, 64501, "IT", "Probe ISP");
    check_keys(m, "measurement");
    json_decref(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spellings),
        cmocka_unit_test(test_macros_are_literals),
        cmocka_unit_test(test_writer_keys_are_in_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
