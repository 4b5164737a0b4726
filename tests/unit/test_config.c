/* SPDX-License-Identifier: MIT */
/*
 * test_config.c - the configuration files (cli/config.c): syntax, sections, comments, bounds,
 * the errors with file:line, precedence (system file, user file, section, command line; lists
 * replaced), the options a command lacks, the listing of --print-config and its masking.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util/err.h"
#include "util/limits.h"
#include "vgtest.h"

static const char *const sections[] = {"probe", "serve", "upload", NULL};

/* A command with --helper (a list), --ca-file, -p/--parallel, --lab and -o/--output. */
static const struct option probe_long[] = {
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {"parallel", required_argument, NULL, 'p'},
    {"helper", required_argument, NULL, 1001},
    {"ca-file", required_argument, NULL, 1002},
    {"lab", no_argument, NULL, 1003},
    {NULL, 0, NULL, 0},
};

static int
parse(struct vg_config *c, const char *path, const char *text, char *err)
{
    return vg_config_parse(c, path, text, strlen(text), err, 256);
}

static void
test_syntax(void **state)
{
    struct vg_config c;
    char err[256];

    (void)state;
    vg_config_init(&c, "probe", sections);
    assert_int_equal(parse(&c, "f",
                           "# comment\n\n  helper https://a.example/#frag  \r\n"
                           "ca-file = /x y/ca.pem   # trailing comment\n"
                           "lab\n[serve]\ndb /tmp/x.db\n[probe]\nparallel\t8\n",
                           err),
                     0);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.e[0].name, "helper");
    assert_string_equal(c.e[0].value, "https://a.example/#frag");
    assert_int_equal(c.e[0].line, 3);
    assert_string_equal(c.e[1].name, "ca-file");
    assert_string_equal(c.e[1].value, "/x y/ca.pem");
    assert_string_equal(c.e[2].name, "lab");
    assert_null(c.e[2].value);
    assert_false(c.e[2].in_section);
    assert_string_equal(c.e[3].name, "parallel");
    assert_string_equal(c.e[3].value, "8");
    assert_true(c.e[3].in_section);
    assert_int_equal(c.e[3].line, 9);
    assert_string_equal(c.e[3].file, "f");
    vg_config_cleanup(&c);
}

static void
expect_error(const char *text, int code, const char *msg)
{
    struct vg_config c;
    char err[256];

    vg_config_init(&c, "probe", sections);
    assert_int_equal(parse(&c, "/etc/v.conf", text, err), code);
    assert_int_equal(c.n, 0);
    if (strstr(err, msg) == NULL) {
        fail_msg("'%s' not in '%s'", msg, err);
    }
    vg_config_cleanup(&c);
}

static void
test_errors(void **state)
{
    char big[VG_CONFIG_LINE_MAX + 16];

    (void)state;
    expect_error("lab\n[prob]\n", VG_EINVAL, "/etc/v.conf:2: unknown section '[prob]'");
    expect_error("[probe\n", VG_EINVAL, "/etc/v.conf:1: a section is written");
    expect_error("\n--helper x\n", VG_EINVAL, "/etc/v.conf:2: expected an option's long name");
    expect_error("Helper x\n", VG_EINVAL, ":1: expected an option's long name");
    expect_error("helper:x\n", VG_EINVAL, ":1: expected");
    expect_error("config /x\n", VG_EINVAL, ":1: 'config' is an option of the command line only");
    expect_error("[serve]\nprint-config\n", VG_EINVAL, ":2: 'print-config'");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    expect_error(big, VG_ETOOBIG, ":1: line longer than");
    {
        struct vg_config c;
        char err[256];
        static const char nul[] = "lab\nhelper \0x\n";

        vg_config_init(&c, "probe", sections);
        assert_int_equal(vg_config_parse(&c, "f", nul, sizeof(nul) - 1, err, sizeof(err)),
                         VG_EINVAL);
        assert_non_null(strstr(err, "f:2: a NUL byte"));
        vg_config_cleanup(&c);
    }
    {
        struct vg_config c;
        char err[256];
        size_t n = (VG_CONFIG_ENTRIES_MAX + 1) * 4;
        char *many = malloc(n + 1);

        for (size_t i = 0; i < n; i += 4) {
            memcpy(many + i, "lab\n", 4);
        }
        many[n] = '\0';
        vg_config_init(&c, "probe", sections);
        assert_int_equal(parse(&c, "f", many, err), VG_ETOOBIG);
        assert_non_null(strstr(err, "more than"));
        vg_config_cleanup(&c);
        free(many);
    }
}

/* The command receives argv = [cmd, the entries' words..., cmdline...]: resolve on it. */
static int
resolve(struct vg_config *c, const char *const *cmdline, char *err)
{
    char *argv[64];
    int argc = 1;

    argv[0] = "probe";
    for (size_t k = 0; k < c->n; k++) {
        argv[argc++] = "--file-word";
    }
    for (size_t i = 0; cmdline[i] != NULL; i++) {
        argv[argc++] = (char *)cmdline[i];
    }
    argv[argc] = NULL;
    return vg_config_resolve(c, probe_long, "o:hp:", argc, argv, err, 256);
}

static void
test_precedence(void **state)
{
    static const char *const none[] = {NULL};
    static const char *const cli[] = {"http://x/", "-p4", "--help", "--", "--lab", NULL};
    struct vg_config c;
    char err[256];

    (void)state;
    vg_config_init(&c, "probe", sections);
    assert_int_equal(parse(&c, "/etc/vigie/vigie.conf",
                           "[probe]\nhelper https://sys1/\nparallel 2\n[serve]\nfoo\n[upload]\n"
                           "[probe]\nlab\n",
                           err),
                     0);
    assert_int_equal(parse(&c, "/home/u/.config/vigie/vigie.conf",
                           "[probe]\nparallel 3\nca-file /ca\n[upload]\nspool /s\n", err),
                     0);
    /* The user file is parsed after: "parallel 3" then "ca-file" of its [probe]. */
    assert_int_equal(c.n, 5);
    assert_int_equal(resolve(&c, none, err), 0);
    assert_false(c.e[0].skip); /* helper: only the system file has it */
    assert_true(c.e[1].skip);  /* parallel 2: the user file's section wins */
    assert_false(c.e[2].skip); /* lab */
    assert_false(c.e[3].skip); /* parallel 3 */
    assert_false(c.e[4].skip);
    /* -p4 on the command line wins; "--lab" after "--" is an operand. */
    assert_int_equal(resolve(&c, cli, err), 0);
    assert_true(c.e[1].skip);
    assert_true(c.e[3].skip);
    assert_false(c.e[2].skip);
    vg_config_cleanup(&c);
}

static void
test_lists(void **state)
{
    static const char *const none[] = {NULL};
    static const char *const cli[] = {"--helper", "https://cli/", "-o", "--helper=x", NULL};
    static const char *const abbrev[] = {"--help=https://abbrev/", NULL};
    struct vg_config c;
    char err[256];

    (void)state;
    vg_config_init(&c, "probe", sections);
    assert_int_equal(parse(&c, "sys", "helper https://a/\nhelper https://b/\n", err), 0);
    assert_int_equal(parse(&c, "user", "helper https://c/\n[probe]\nhelper https://d/\n", err), 0);
    assert_int_equal(resolve(&c, none, err), 0);
    /* Each place replaces the list of the places before it. */
    assert_true(c.e[0].skip);
    assert_true(c.e[1].skip);
    assert_true(c.e[2].skip);
    assert_false(c.e[3].skip);
    assert_int_equal(resolve(&c, cli, err), 0);
    for (size_t k = 0; k < c.n; k++) {
        assert_true(c.e[k].skip);
    }
    /* "--help=..." is the exact name --help, not an abbreviation of --helper. */
    assert_int_equal(resolve(&c, abbrev, err), 0);
    assert_false(c.e[3].skip);
    vg_config_cleanup(&c);
}

static void
test_unknown(void **state)
{
    static const char *const none[] = {NULL};
    struct vg_config c;
    char err[256];

    (void)state;
    vg_config_init(&c, "probe", sections);
    /* Outside a section: an option of other commands, ignored. */
    assert_int_equal(parse(&c, "f", "db /x.db\nlab\n", err), 0);
    assert_int_equal(resolve(&c, none, err), 0);
    assert_true(c.e[0].skip);
    assert_false(c.e[1].skip);
    /* In the command's section: an error with file:line. */
    assert_int_equal(parse(&c, "g", "\n[probe]\ndb /x.db\n", err), 0);
    assert_int_equal(resolve(&c, none, err), VG_EINVAL);
    assert_string_equal(err, "g:3: vigie probe has no option --db");
    vg_config_cleanup(&c);

    vg_config_init(&c, "probe", sections);
    assert_int_equal(parse(&c, "f", "lab on\n", err), 0);
    assert_int_equal(resolve(&c, none, err), VG_EINVAL);
    assert_string_equal(err, "f:1: --lab takes no value (write 'lab' alone)");
    vg_config_cleanup(&c);
    vg_config_init(&c, "probe", sections);
    assert_int_equal(parse(&c, "f", "\nca-file\n", err), 0);
    assert_int_equal(resolve(&c, none, err), VG_EINVAL);
    assert_string_equal(err, "f:2: --ca-file needs a value ('ca-file VALUE')");
    vg_config_cleanup(&c);
}

static void
test_mask(void **state)
{
    char out[256];

    (void)state;
    vg_config_mask("https://user:secret@hooks.example/x?token=abc", out, sizeof(out));
    assert_string_equal(out, "https://user:****@hooks.example/x?****");
    vg_config_mask("https://hooks.example/services/T0/B0?k=v", out, sizeof(out));
    assert_string_equal(out, "https://hooks.example/services/T0/B0?****");
    vg_config_mask("http://tok@h/", out, sizeof(out));
    assert_string_equal(out, "http://****@h/");
    vg_config_mask("https://th.example.org/", out, sizeof(out));
    assert_string_equal(out, "https://th.example.org/");
    vg_config_mask("/etc/vigie/token", out, sizeof(out));
    assert_string_equal(out, "/etc/vigie/token");
}

static void
test_print(void **state)
{
    static const char *const none[] = {NULL};
    struct vg_config c;
    char err[256], *buf = NULL;
    size_t len = 0;
    char *argv[] = {"probe", "--helper=https://a/", "--lab", "-p", "5", "http://x/", NULL};
    FILE *f;

    (void)state;
    vg_config_init(&c, "probe", sections);
    assert_int_equal(parse(&c, "/c", "helper https://u:pw@a/\n[probe]\nlab\n", err), 0);
    assert_int_equal(resolve(&c, none, err), 0);
    f = open_memstream(&buf, &len);
    vg_config_print(&c, probe_long, "o:hp:", 6, argv, f);
    fclose(f);
    assert_non_null(strstr(buf, "# read /c\n"));
    assert_non_null(strstr(buf, "helper https://u:****@a/"));
    assert_null(strstr(buf, "pw"));
    assert_non_null(strstr(buf, "# /c:1\n"));
    assert_non_null(strstr(buf, "# /c:3\n"));
    assert_non_null(strstr(buf, "parallel 5"));
    assert_non_null(strstr(buf, "# command line\n"));
    free(buf);
    vg_config_cleanup(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax),     cmocka_unit_test(test_errors),
        cmocka_unit_test(test_precedence), cmocka_unit_test(test_lists),
        cmocka_unit_test(test_unknown),    cmocka_unit_test(test_mask),
        cmocka_unit_test(test_print),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
