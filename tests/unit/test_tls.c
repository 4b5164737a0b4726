/* SPDX-License-Identifier: MIT */
/* test_tls.c - the certificate summary of hostile DER (lib/net/tls.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls.h"
#include "util/err.h"
#include "vgtest.h"

static uint8_t *
load(const char *name, size_t *len)
{
    char path[1024];
    const char *dir = getenv("VG_TEST_DATA");
    FILE *f;
    uint8_t *buf = malloc(65536);

    assert_non_null(dir);
    assert_non_null(buf);
    snprintf(path, sizeof(path), "%s/certs/%s", dir, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    *len = fread(buf, 1, 65536, f);
    fclose(f);
    return buf;
}

static void
test_selfsigned_icloud(void **state)
{
    size_t len;
    uint8_t *der = load("icloud-selfsigned.der", &len);
    struct vg_cert c;

    (void)state;
    assert_int_equal(vg_cert_summarize(der, len, &c), 0);
    assert_string_equal(c.subject, "C=cn/O=www.icloud.com/CN=www.icloud.com");
    assert_string_equal(c.issuer, c.subject);
    assert_true(c.self_signed);
    assert_int_equal(strlen(c.sha256), 64);
    assert_int_equal(strlen(c.spki_sha256), 64);
    assert_int_equal(c.der_len, len);
    assert_memory_equal(c.der, der, len);
    vg_cert_cleanup(&c);
    assert_null(c.der);
    free(der);
}

static void
test_bad_der(void **state)
{
    size_t len;
    uint8_t *der = load("trailing.der", &len);
    struct vg_cert c;

    (void)state;
    /* A valid certificate followed by garbage is not "one certificate". */
    assert_int_equal(vg_cert_summarize(der, len, &c), VG_EPROTO);
    /* Cut short. */
    assert_int_equal(vg_cert_summarize(der, len / 2, &c), VG_EPROTO);
    assert_int_equal(vg_cert_summarize(der, 0, &c), VG_ETOOBIG);
    assert_int_equal(vg_cert_summarize(der, VG_TLS_CERT_MAX + 1, &c), VG_ETOOBIG);
    free(der);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selfsigned_icloud),
        cmocka_unit_test(test_bad_der),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
