/* SPDX-License-Identifier: MIT */
/* config.c - the configuration files of the vigie commands (config.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"

#define VG__CONFIG_NAME_MAX 64 /* an option's name */

void
vg_config_init(struct vg_config *c, const char *cmd, const char *const *sections)
{
    memset(c, 0, sizeof(*c));
    c->cmd = cmd;
    c->sections = sections;
}

void
vg_config_cleanup(struct vg_config *c)
{
    for (size_t i = 0; i < c->n; i++) {
        VG_FREE(c->e[i].name);
        if (c->e[i].value != NULL) {
            explicit_bzero(c->e[i].value, strlen(c->e[i].value));
        }
        VG_FREE(c->e[i].value);
    }
    VG_FREE(c->e);
    for (size_t i = 0; i < c->n_files; i++) {
        VG_FREE(c->files[i]);
    }
    VG_FREE(c->files);
    c->n = c->n_files = 0;
}

static int
vg__config_fail(char *err, size_t cap, int code, const char *path, unsigned line, const char *fmt,
                ...)
{
    va_list ap;
    int n = snprintf(err, cap, "%s:%u: ", path, line);

    if (n >= 0 && (size_t)n < cap) {
        va_start(ap, fmt);
        vsnprintf(err + n, cap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A URL with a password or a query string: what a webhook's secret looks like. */
static bool
vg__config_secret(const char *v)
{
    const char *auth, *end;

    if (v == NULL || (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)) {
        return false;
    }
    auth = strstr(v, "//") + 2;
    end = auth + strcspn(auth, "/?#");
    for (const char *p = auth; p < end; p++) {
        if (*p == '@') {
            return true;
        }
    }
    return strchr(end, '?') != NULL;
}

/* Append n bytes of p to out (cap bytes, *len used), cut at cap - 1, NUL-terminated. */
static void
vg__config_put(char *out, size_t cap, size_t *len, const char *p, size_t n)
{
    if (*len + 1 >= cap) {
        return;
    }
    if (n > cap - 1 - *len) {
        n = cap - 1 - *len;
    }
    memcpy(out + *len, p, n);
    *len += n;
    out[*len] = '\0';
}

void
vg_config_mask(const char *value, char *out, size_t cap)
{
    const char *auth, *end, *at = NULL, *colon = NULL, *q;
    size_t len = 0;

    if (cap == 0) {
        return;
    }
    out[0] = '\0';
    if (!vg__config_secret(value)) {
        vg__config_put(out, cap, &len, value, strlen(value));
        return;
    }
    auth = strstr(value, "//") + 2;
    end = auth + strcspn(auth, "/?#");
    for (const char *p = auth; p < end; p++) {
        if (*p == '@') {
            at = p;
        }
    }
    if (at != NULL) {
        colon = memchr(auth, ':', (size_t)(at - auth));
    }
    q = strchr(end, '?');
    /* user:****@host, ****@host (a user alone may be the token), path?**** */
    vg__config_put(out, cap, &len, value, (size_t)(auth - value));
    if (at != NULL) {
        if (colon != NULL) {
            vg__config_put(out, cap, &len, auth, (size_t)(colon + 1 - auth));
        }
        vg__config_put(out, cap, &len, "****", 4);
        auth = at;
    }
    vg__config_put(out, cap, &len, auth, (size_t)((q != NULL ? q : end + strlen(end)) - auth));
    if (q != NULL) {
        vg__config_put(out, cap, &len, "?****", 5);
    }
}

static bool
vg__config_known_section(const struct vg_config *c, const char *name, size_t len)
{
    for (size_t i = 0; c->sections != NULL && c->sections[i] != NULL; i++) {
        if (strlen(c->sections[i]) == len && memcmp(c->sections[i], name, len) == 0) {
            return true;
        }
    }
    return false;
}

static bool
vg__config_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

/* Where a line of a file is: outside any section, in the command's, in another command's. */
enum vg__config_where { VG__CONFIG_GLOBAL, VG__CONFIG_OWN, VG__CONFIG_OTHER };

/* One line (NUL-terminated, without its newline) of a file: *where follows "[...]" lines. */
static int
vg__config_line(struct vg_config *c, const char *path, unsigned ln, char *s,
                enum vg__config_where *where, struct vg_config_entry *out, bool *got, char *err,
                size_t cap)
{
    static const char *const reserved[] = {"config", "no-config", "print-config", "help"};
    size_t len, nl;
    char *v;

    *got = false;
    s += strspn(s, " \t\r");
    len = strlen(s);
    while (len > 0 && strchr(" \t\r", s[len - 1]) != NULL) {
        s[--len] = '\0';
    }
    if (len == 0 || s[0] == '#') {
        return 0;
    }
    if (s[0] == '[') {
        if (s[len - 1] != ']') {
            return vg__config_fail(err, cap, VG_EINVAL, path, ln,
                                   "a section is written [command], e.g. [probe]");
        }
        if (!vg__config_known_section(c, s + 1, len - 2)) {
            return vg__config_fail(err, cap, VG_EINVAL, path, ln,
                                   "unknown section '%s': a section is a command (e.g. [probe])",
                                   s);
        }
        *where = len - 2 == strlen(c->cmd) && memcmp(s + 1, c->cmd, len - 2) == 0
                     ? VG__CONFIG_OWN
                     : VG__CONFIG_OTHER;
        return 0;
    }
    for (nl = 0; nl < len && vg__config_name_char(s[nl]); nl++) {
    }
    if (nl == 0 || s[0] == '-' || nl > VG__CONFIG_NAME_MAX ||
        (nl < len && strchr(" \t=", s[nl]) == NULL)) {
        return vg__config_fail(err, cap, VG_EINVAL, path, ln,
                               "expected an option's long name, without '--' (e.g. "
                               "'ca-file /etc/ssl/ca.pem'), not '%.40s'",
                               s);
    }
    v = s + nl;
    v += strspn(v, " \t");
    if (*v == '=') {
        v++;
        v += strspn(v, " \t");
    }
    /* A comment may follow the value after a blank: "parallel 8  # more". */
    for (char *p = v; *p != '\0'; p++) {
        if (*p == '#' && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            vg_str_trim(v);
            break;
        }
    }
    s[nl] = '\0';
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (strcmp(s, reserved[i]) == 0) {
            return vg__config_fail(err, cap, VG_EINVAL, path, ln,
                                   "'%s' is an option of the command line only", s);
        }
    }
    if (*v != '\0' && vg__config_secret(v)) {
        c->secret_line = ln;
    }
    if (*where == VG__CONFIG_OTHER) {
        return 0; /* another command's: its syntax is checked, no more */
    }
    out->name = vg_xstrdup(s);
    out->value = *v != '\0' ? vg_xstrdup(v) : NULL;
    out->line = ln;
    out->in_section = *where == VG__CONFIG_OWN;
    *got = true;
    return 0;
}

int
vg_config_parse(struct vg_config *c, const char *path, const char *text, size_t len, char *err,
                size_t cap)
{
    struct vg_config_entry *glob = NULL, *sect = NULL;
    size_t n_glob = 0, n_sect = 0, pos = 0;
    char line[VG_CONFIG_LINE_MAX + 1];
    enum vg__config_where where = VG__CONFIG_GLOBAL;
    unsigned ln = 0, scope = (unsigned)c->n_files * 2;
    int rc = 0;

    c->secret_line = 0;
    if (len > VG_CONFIG_FILE_MAX) {
        return vg__config_fail(err, cap, VG_ETOOBIG, path, 0, "larger than %d bytes",
                               VG_CONFIG_FILE_MAX);
    }
    while (pos < len && rc == 0) {
        const char *nlp = memchr(text + pos, '\n', len - pos);
        size_t l = nlp != NULL ? (size_t)(nlp - (text + pos)) : len - pos;
        struct vg_config_entry e = {0};
        bool got;

        ln++;
        if (l > VG_CONFIG_LINE_MAX) {
            rc = vg__config_fail(err, cap, VG_ETOOBIG, path, ln, "line longer than %d bytes",
                                 VG_CONFIG_LINE_MAX);
            break;
        }
        if (memchr(text + pos, '\0', l) != NULL) {
            rc = vg__config_fail(err, cap, VG_EINVAL, path, ln, "a NUL byte");
            break;
        }
        memcpy(line, text + pos, l);
        line[l] = '\0';
        pos += l + 1;
        rc = vg__config_line(c, path, ln, line, &where, &e, &got, err, cap);
        if (rc < 0 || !got) {
            continue;
        }
        if (c->n + n_glob + n_sect >= VG_CONFIG_ENTRIES_MAX) {
            VG_FREE(e.name);
            VG_FREE(e.value);
            rc = vg__config_fail(err, cap, VG_ETOOBIG, path, ln, "more than %d options",
                                 VG_CONFIG_ENTRIES_MAX);
            break;
        }
        e.scope = scope + (e.in_section ? 1 : 0);
        if (e.in_section) {
            sect = vg_xreallocarray(sect, n_sect + 1, sizeof(*sect));
            sect[n_sect++] = e;
        } else {
            glob = vg_xreallocarray(glob, n_glob + 1, sizeof(*glob));
            glob[n_glob++] = e;
        }
    }
    if (rc == 0) {
        c->files = vg_xreallocarray(c->files, c->n_files + 1, sizeof(*c->files));
        c->files[c->n_files] = vg_xstrdup(path);
        c->e = vg_xreallocarray(c->e, c->n + n_glob + n_sect + 1, sizeof(*c->e));
        for (size_t i = 0; i < n_glob + n_sect; i++) {
            struct vg_config_entry *e = &c->e[c->n++];

            *e = i < n_glob ? glob[i] : sect[i - n_glob];
            e->file = c->files[c->n_files];
        }
        c->n_files++;
        n_glob = n_sect = 0;
    }
    for (size_t i = 0; i < n_glob; i++) {
        VG_FREE(glob[i].name);
        VG_FREE(glob[i].value);
    }
    for (size_t i = 0; i < n_sect; i++) {
        VG_FREE(sect[i].name);
        VG_FREE(sect[i].value);
    }
    VG_FREE(glob);
    VG_FREE(sect);
    explicit_bzero(line, sizeof(line));
    return rc;
}

int
vg_config_load(struct vg_config *c, const char *path, bool must_exist, char *err, size_t cap)
{
    struct stat st;
    char *buf;
    size_t n = 0;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && errno == ENOENT && !must_exist) {
        return 0;
    }
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, cap, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return VG_EINVAL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > VG_CONFIG_FILE_MAX) {
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, cap, "%s: not a regular file", path);
        } else {
            snprintf(err, cap, "%s: larger than %d bytes", path, VG_CONFIG_FILE_MAX);
        }
        close(fd);
        return VG_EINVAL;
    }
    /* Options run commands (alert-exec) and name trust stores: a file anyone may write is not
     * the administrator's. */
    if ((st.st_mode & S_IWOTH) != 0) {
        snprintf(err, cap,
                 "%s is writable by every user of this machine (mode %04o): make it private "
                 "(chmod o-w %s)",
                 path, (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return VG_EINVAL;
    }
    buf = vg_xmalloc((size_t)st.st_size + 1);
    while (n <= (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size + 1 - n);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    if (n > (size_t)st.st_size) {
        snprintf(err, cap, "%s: grew while it was read", path);
        VG_FREE(buf);
        return VG_EINVAL;
    }
    rc = vg_config_parse(c, path, buf, n, err, cap);
    explicit_bzero(buf, n);
    VG_FREE(buf);
    if (rc == 0 && c->secret_line != 0 && (st.st_mode & S_IROTH) != 0) {
        fprintf(stderr,
                "vigie: warning: %s is readable by every user of this machine (mode %04o) and "
                "holds a secret (line %u): make it private (chmod o-r %s)\n",
                path, (unsigned)(st.st_mode & 07777), c->secret_line, path);
    }
    return rc;
}

/* ---- the command's option tables ----------------------------------------------------------- */

static const struct option *
vg__config_long(const struct option *longopts, const char *name, size_t len)
{
    const struct option *found = NULL;
    int matches = 0;

    for (const struct option *o = longopts; o->name != NULL; o++) {
        if (strncmp(o->name, name, len) == 0) {
            if (strlen(o->name) == len) {
                return o;
            }
            found = o;
            matches++;
        }
    }
    return matches == 1 ? found : NULL; /* getopt's unique abbreviation */
}

/*
 * The option at argv[*i] of a command line (from index 1, getopt's order), its long name into
 * name (or "-c" when it has none) and its value into *value; *i moves past it. false at the end.
 */
static bool
vg__config_next(const struct option *longopts, const char *shortopts, int argc, char *const *argv,
                int *i, int *ci, char *name, size_t cap, const char **value)
{
    bool stop_at_operand = shortopts[0] == '+';

    while (*i < argc) {
        const char *a = argv[*i];

        if (strcmp(a, "--") == 0) {
            *i = argc;
            return false;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (stop_at_operand) {
                *i = argc;
                return false;
            }
            (*i)++;
            continue;
        }
        *value = NULL;
        if (a[1] == '-') {
            size_t nl = strcspn(a + 2, "=");
            const struct option *o = vg__config_long(longopts, a + 2, nl);

            snprintf(name, cap, "%.*s", (int)nl, a + 2);
            (*i)++;
            if (o != NULL) {
                vg_strlcpy(name, o->name, cap);
                if (a[2 + nl] == '=') {
                    *value = a + 3 + nl;
                } else if (o->has_arg == required_argument && *i < argc) {
                    *value = argv[(*i)++];
                }
            }
            return true;
        }
        /* A short option, maybe one of several in one word ("-qp4"). */
        {
            char ch = a[1 + *ci];
            const char *spec = strchr(shortopts, ch);
            bool has_arg = spec != NULL && ch != ':' && spec[1] == ':';

            snprintf(name, cap, "-%c", ch);
            for (const struct option *o = longopts; o->name != NULL; o++) {
                if (o->flag == NULL && o->val == ch) {
                    vg_strlcpy(name, o->name, cap);
                    break;
                }
            }
            (*ci)++;
            if (has_arg) {
                *value = a[1 + *ci] != '\0' ? a + 1 + *ci : (*i + 1 < argc ? argv[*i + 1] : NULL);
                *i += a[1 + *ci] != '\0' ? 1 : 2;
                *ci = 0;
            } else if (a[1 + *ci] == '\0') {
                (*i)++;
                *ci = 0;
            }
            return true;
        }
    }
    return false;
}

int
vg_config_resolve(struct vg_config *c, const struct option *longopts, const char *shortopts,
                  int argc, char *const *argv, char *err, size_t cap)
{
    int i = 1 + (int)c->n, ci = 0;
    const char *value;
    char name[VG__CONFIG_NAME_MAX + 8];

    for (size_t k = 0; k < c->n; k++) {
        struct vg_config_entry *e = &c->e[k];
        const struct option *o = vg__config_long(longopts, e->name, strlen(e->name));

        e->skip = false;
        if (o == NULL || strcmp(o->name, e->name) != 0) {
            if (e->in_section) {
                return vg__config_fail(err, cap, VG_EINVAL, e->file, e->line,
                                       "vigie %s has no option --%s", c->cmd, e->name);
            }
            e->skip = true; /* an option for the other commands */
            continue;
        }
        if (o->has_arg == no_argument && e->value != NULL) {
            return vg__config_fail(err, cap, VG_EINVAL, e->file, e->line,
                                   "--%s takes no value (write '%s' alone)", e->name, e->name);
        }
        if (o->has_arg == required_argument && e->value == NULL) {
            return vg__config_fail(err, cap, VG_EINVAL, e->file, e->line,
                                   "--%s needs a value ('%s VALUE')", e->name, e->name);
        }
        for (size_t j = k + 1; j < c->n && !e->skip; j++) {
            e->skip = c->e[j].scope > e->scope && strcmp(c->e[j].name, e->name) == 0;
        }
    }
    /* The command line wins: an option it gives drops every value the files gave it. */
    while (vg__config_next(longopts, shortopts, argc, argv, &i, &ci, name, sizeof(name), &value)) {
        for (size_t k = 0; k < c->n; k++) {
            if (strcmp(c->e[k].name, name) == 0) {
                c->e[k].skip = true;
            }
        }
    }
    return 0;
}

static void
vg__config_print_one(FILE *f, const char *name, const char *value, const char *from, unsigned line)
{
    char shown[VG_CONFIG_LINE_MAX + 16], left[VG_CONFIG_LINE_MAX + 96];

    if (value != NULL) {
        vg_config_mask(value, shown, sizeof(shown));
        snprintf(left, sizeof(left), "%s %s", name, shown);
    } else {
        vg_strlcpy(left, name, sizeof(left));
    }
    if (line != 0) {
        fprintf(f, "%-40s # %s:%u\n", left, from, line);
    } else {
        fprintf(f, "%-40s # %s\n", left, from);
    }
}

void
vg_config_print(const struct vg_config *c, const struct option *longopts, const char *shortopts,
                int argc, char *const *argv, FILE *f)
{
    int i = 1 + (int)c->n, ci = 0;
    const char *value;
    char name[VG__CONFIG_NAME_MAX + 8];

    fprintf(f,
            "# vigie %s: the options in effect and where each comes from; the others have "
            "their defaults (vigie %s --help)\n",
            c->cmd, c->cmd);
    for (size_t k = 0; k < c->n_files; k++) {
        fprintf(f, "# read %s\n", c->files[k]);
    }
    if (c->n_files == 0) {
        fprintf(f, "# no configuration file read\n");
    }
    for (size_t k = 0; k < c->n; k++) {
        if (!c->e[k].skip) {
            vg__config_print_one(f, c->e[k].name, c->e[k].value, c->e[k].file, c->e[k].line);
        }
    }
    while (vg__config_next(longopts, shortopts, argc, argv, &i, &ci, name, sizeof(name), &value)) {
        vg__config_print_one(f, name, value, "command line", 0);
    }
}

/* ---- the process's configuration ----------------------------------------------------------- */

static struct {
    struct vg_config c;
    bool active, resolved, print;
    char **argv; /* what vg_config_begin made (owned, words 1..c.n owned too) */
    int argc;
    int last; /* the file's word the parser was last handed, or 0 */
} vg__config_g;

static int
vg__config_strip(int *argc, char **argv, const char **path, bool *none, bool *print)
{
    int out = 1;

    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--") == 0) {
            while (i < *argc) {
                argv[out++] = argv[i++];
            }
            break;
        }
        if (strcmp(a, "--config") == 0 || strncmp(a, "--config=", 9) == 0) {
            if (a[8] == '=') {
                *path = a + 9;
            } else if (i + 1 < *argc) {
                *path = argv[++i];
            } else {
                return -1;
            }
            continue;
        }
        if (strcmp(a, "--no-config") == 0) {
            *none = true;
        } else if (strcmp(a, "--print-config") == 0) {
            *print = true;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

int
vg_config_begin(const char *cmd, const char *const *sections, int *argc, char ***argv)
{
    struct vg_config *c = &vg__config_g.c;
    const char *path = NULL, *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    const char *env = getenv("VIGIE_CONFIG");
    char user[4096], err[VG_CONFIG_LINE_MAX + 256];
    bool none = false;
    char **av;
    int rc = 0;

    vg_config_init(c, cmd, sections);
    if (vg__config_strip(argc, *argv, &path, &none, &vg__config_g.print) < 0) {
        fprintf(stderr, "vigie %s: --config needs a FILE\n", cmd);
        return VG_EXIT_USAGE;
    }
    if (path != NULL && none) {
        fprintf(stderr, "vigie %s: --config and --no-config exclude each other\n", cmd);
        return VG_EXIT_USAGE;
    }
    if (path == NULL && !none && env != NULL) {
        /* VIGIE_CONFIG: a file as --config, or "" / "none" as --no-config; the command line wins */
        if (env[0] == '\0' || strcmp(env, "none") == 0) {
            none = true;
        } else {
            path = env;
        }
    }
    if (path != NULL) {
        rc = vg_config_load(c, path, true, err, sizeof(err));
    } else if (!none) {
        rc = vg_config_load(c, VG_CONFIG_SYSTEM, false, err, sizeof(err));
        user[0] = '\0';
        if (xdg != NULL && xdg[0] == '/') {
            snprintf(user, sizeof(user), "%s/vigie/vigie.conf", xdg);
        } else if (home != NULL && home[0] == '/') {
            snprintf(user, sizeof(user), "%s/.config/vigie/vigie.conf", home);
        }
        if (rc == 0 && user[0] != '\0') {
            rc = vg_config_load(c, user, false, err, sizeof(err));
        }
    }
    if (rc < 0) {
        fprintf(stderr, "vigie %s: %s\n", cmd, err);
        vg_config_cleanup(c);
        return VG_EXIT_USAGE;
    }
    av = vg_xcalloc((size_t)*argc + c->n + 1, sizeof(*av));
    av[0] = (*argv)[0];
    for (size_t k = 0; k < c->n; k++) {
        const struct vg_config_entry *e = &c->e[k];
        size_t l = strlen(e->name) + (e->value != NULL ? strlen(e->value) : 0) + 4;

        av[1 + k] = vg_xmalloc(l);
        snprintf(av[1 + k], l, "--%s%s%s", e->name, e->value != NULL ? "=" : "",
                 e->value != NULL ? e->value : "");
    }
    for (int i = 1; i < *argc; i++) {
        av[(int)c->n + i] = (*argv)[i];
    }
    vg__config_g.argc = *argc + (int)c->n;
    vg__config_g.argv = av;
    vg__config_g.active = true;
    *argc = vg__config_g.argc;
    *argv = av;
    return 0;
}

int
vg_getopt_long(int argc, char *const *argv, const char *shortopts, const struct option *longopts,
               int *longind)
{
    struct vg_config *c = &vg__config_g.c;
    int end = 1 + (int)c->n;

    if (!vg__config_g.active || argv != vg__config_g.argv) {
        return getopt_long(argc, argv, shortopts, longopts, longind);
    }
    if (!vg__config_g.resolved) {
        char err[VG_CONFIG_LINE_MAX + 256];

        vg__config_g.resolved = true;
        if (vg_config_resolve(c, longopts, shortopts, argc, argv, err, sizeof(err)) < 0) {
            fprintf(stderr, "vigie %s: %s\n", c->cmd, err);
            exit(VG_EXIT_USAGE);
        }
        if (vg__config_g.print) {
            vg_config_print(c, longopts, shortopts, argc, argv, stdout);
            exit(fflush(stdout) == 0 ? VG_EXIT_OK : VG_EXIT_USAGE);
        }
    }
    vg__config_g.last = 0;
    while (optind >= 1 && optind < end && c->e[optind - 1].skip) {
        optind++;
    }
    if (optind >= 1 && optind < end) {
        vg__config_g.last = optind;
    }
    return getopt_long(argc, argv, shortopts, longopts, longind);
}

void
vg_config_end(int rc)
{
    struct vg_config *c = &vg__config_g.c;

    if (rc == VG_EXIT_USAGE && vg__config_g.active && vg__config_g.last > 0) {
        const struct vg_config_entry *e = &c->e[vg__config_g.last - 1];

        fprintf(stderr, "vigie %s: --%s came from %s:%u\n", c->cmd, e->name, e->file, e->line);
    }
    if (vg__config_g.argv != NULL) {
        for (size_t k = 0; k < c->n; k++) {
            explicit_bzero(vg__config_g.argv[1 + k], strlen(vg__config_g.argv[1 + k]));
            VG_FREE(vg__config_g.argv[1 + k]);
        }
        VG_FREE(vg__config_g.argv);
    }
    vg_config_cleanup(c);
    memset(&vg__config_g, 0, sizeof(vg__config_g));
}
