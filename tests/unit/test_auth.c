/* SPDX-License-Identifier: MIT */
/*
 * test_auth.c - upload credentials (server/auth.c): the tokens file's lines and refusals, its
 * permissions, the Bearer header, and a reload that keeps the tokens in use when the new file is
 * refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "vgtest.h"

#define TOK_A "tok-A-0123456789abcdef"
#define TOK_B "tok_B.0123456789~+/abc=="
#define TOK_C "tok-C-0123456789abcdef"

static struct vg_auth *
parse_ok(const char *text)
{
    struct vg_auth *a = NULL;
    char err[256] = "";

    if (vg_auth_parse(text, strlen(text), &a, err, sizeof(err)) != 0) {
        fail_msg("refused: %s", err);
    }
    return a;
}

static void
test_parse_and_check(void **state)
{
    struct vg_auth *a;
    char name[VG_STORE_PROV_MAX + 1];

    (void)state;
    a = parse_ok("# upload tokens\n"
                 "\n"
                 "probe-a " TOK_A "\r\n"
                 "  probe.b\t\t" TOK_B "  \n"
                 "probe-a " TOK_C);
    assert_int_equal(vg_auth_count(a), 3);
    assert_int_equal(vg_auth_check(a, "Bearer " TOK_A, name), 0);
    assert_string_equal(name, "probe-a");
    assert_int_equal(vg_auth_check(a, "bearer   " TOK_B " ", name), 0);
    assert_string_equal(name, "probe.b");
    assert_int_equal(vg_auth_check(a, "BEARER " TOK_C, name), 0); /* a second token of probe-a */
    assert_string_equal(name, "probe-a");
    /* unknown tokens, and a prefix of a real one */
    assert_int_equal(vg_auth_check(a, "Bearer " TOK_A "x", name), VG_EACCES);
    assert_string_equal(name, "");
    assert_int_equal(vg_auth_check(a, "Bearer tok-A-0123456789abcde", name), VG_EACCES);
    /* not a Bearer token */
    assert_int_equal(vg_auth_check(a, "Basic dXNlcjpwYXNz", name), VG_EPROTO);
    assert_int_equal(vg_auth_check(a, "Bearer", name), VG_EPROTO);
    assert_int_equal(vg_auth_check(a, "Bearer ", name), VG_EPROTO);
    assert_int_equal(vg_auth_check(a, "Bearer short", name), VG_EPROTO);
    assert_int_equal(vg_auth_check(a, "Bearer " TOK_A " extra", name), VG_EPROTO);
    assert_int_equal(vg_auth_check(a, "Bearer" TOK_A, name), VG_EPROTO);
    assert_int_equal(vg_auth_check(a, "", name), VG_EPROTO);
    vg_auth_free(a);
    vg_auth_free(NULL);
}

static void
test_parse_refusals(void **state)
{
    static const struct {
        const char *text, *says;
    } cases[] = {
        {"probe-a\n", "line 1: expected NAME TOKEN"},
        {"probe-a " TOK_A " more\n", "line 1: expected NAME TOKEN"},
        {"# c\nprobe/a " TOK_A "\n", "line 2: a name"},
        {"anonymous " TOK_A "\n", "line 1: a name"},
        {"probe-a short\n", "line 1: a token"},
        {"probe-a tok=en-0123456789abcdef\n", "line 1: a token"},
        {"probe-a " TOK_A "\nprobe-b " TOK_A "\n", "line 2: the same token as line 1"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa " TOK_A, "at most 64"},
    };
    struct vg_auth *a;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = vg_auth_parse(cases[i].text, strlen(cases[i].text), &a, err, sizeof(err));

        if (rc != VG_EINVAL || strstr(err, cases[i].says) == NULL || a != NULL) {
            fail_msg("case %zu: rc %d, err '%s'", i, rc, err);
        }
        /* the message never quotes a token */
        assert_null(strstr(err, "tok-A"));
    }
    assert_int_equal(vg_auth_parse("a " TOK_A "\0", sizeof("a " TOK_A), &a, err, sizeof(err)),
                     VG_EINVAL);
    /* an empty file is a table without credentials */
    a = parse_ok("");
    assert_int_equal(vg_auth_count(a), 0);
    vg_auth_free(a);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void
test_file_and_reload(void **state)
{
    char dir[] = "/tmp/vigie-test-auth-XXXXXX", path[128], err[512], name[VG_STORE_PROV_MAX + 1];
    struct vg_auth *a = NULL;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/tokens", dir);
    /* other users could read it: refused, saying why and what to do */
    write_file(path, "probe-a " TOK_A "\n", 0644);
    assert_int_equal(vg_auth_load(path, &a, err, sizeof(err)), VG_EACCES);
    assert_null(a);
    assert_non_null(strstr(err, "read by every user"));
    assert_non_null(strstr(err, "chmod o-rw"));
    assert_int_equal(chmod(path, 0602), 0);
    assert_int_equal(vg_auth_load(path, &a, err, sizeof(err)), VG_EACCES);
    assert_int_equal(vg_auth_load(dir, &a, err, sizeof(err)), VG_EACCES); /* a directory */
    assert_true(vg_auth_load("/nonexistent/tokens", &a, err, sizeof(err)) < 0);
    /* 0640 is fine */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(vg_auth_load(path, &a, err, sizeof(err)), 0);
    assert_int_equal(vg_auth_check(a, "Bearer " TOK_A, name), 0);
    /* a new file with a bad line: the tokens in use stay */
    write_file(path, "probe-a " TOK_B "\nbroken\n", 0600);
    assert_int_equal(vg_auth_reload(a, err, sizeof(err)), VG_EINVAL);
    assert_non_null(strstr(err, "line 2"));
    assert_int_equal(vg_auth_check(a, "Bearer " TOK_A, name), 0);
    /* ... and one that became readable by all */
    write_file(path, "probe-b " TOK_B "\n", 0644);
    assert_int_equal(vg_auth_reload(a, err, sizeof(err)), VG_EACCES);
    assert_int_equal(vg_auth_check(a, "Bearer " TOK_A, name), 0);
    /* a good one replaces them: the old token no longer works */
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(vg_auth_reload(a, err, sizeof(err)), 1);
    assert_int_equal(vg_auth_check(a, "Bearer " TOK_A, name), VG_EACCES);
    assert_int_equal(vg_auth_check(a, "Bearer " TOK_B, name), 0);
    assert_string_equal(name, "probe-b");
    vg_auth_free(a);
    /* a table from text has no file to read again */
    a = parse_ok("");
    assert_int_equal(vg_auth_reload(a, err, sizeof(err)), VG_EINVAL);
    vg_auth_free(a);
    unlink(path);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_check),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_file_and_reload),
    };

    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
