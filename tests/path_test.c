/*
 * util/path: the one authority on entry names and link targets. One table of
 * cases is run through the path module itself, the zip walker (zips made by
 * zipgen), the tar walker (layers made by targen) and the --tree walker (a
 * directory unpacked by hand), and every walker must give the row's verdict.
 * zip and tar give the same verdict except where a row says why not (a tar
 * name is a POSIX name; an absolute link target in a layer resolves inside
 * the image's root file system).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign/sign.h"
#include "util.h"
#include "artifact_int.h"
#include "path.h"
#include "targen.h"
#include "testutil.h"
#include "zipgen.h"

/* Findings a row expects (each walker has its own id for each). */
#define P_TRAV 0x001u
#define P_ABS 0x002u
#define P_DRIVE 0x004u
#define P_BSL 0x008u
#define P_CTRL 0x010u
#define P_UTF8 0x020u
#define P_EMPTY 0x040u
#define P_LONG 0x080u
#define P_ESC 0x100u
#define P_NKINDS 9

static const char *const pt_zip_ids[P_NKINDS] = {
    "zip-path-traversal", "zip-absolute-path",     "zip-drive-letter-path",
    "zip-backslash-path", "zip-name-control-char", "zip-name-invalid-utf8",
    "zip-empty-name",     "zip-limit-name",        "zip-symlink-escape"};
static const char *const pt_tar_ids[P_NKINDS] = {"tar-path-traversal",
                                                 "tar-absolute-path",
                                                 NULL,
                                                 NULL,
                                                 "tar-name-control-char",
                                                 "tar-name-invalid-utf8",
                                                 "tar-empty-name",
                                                 "tar-limit-name",
                                                 "tar-symlink-escape"};

typedef struct prow {
    const char *name;             /* the entry judged */
    const char *target;           /* its symlink target; NULL: a regular file */
    const char *pre, *pre_target; /* a symlink stored before it, or NULL */
    unsigned int zip, tar;        /* the findings of each walker (P_*) */
    const char *norm;             /* where it lands under the root; NULL: nowhere (climbs or cannot be stored) */
    const char *differs;          /* why zip and tar differ, when they do */
    int zwin;                     /* a zip places it elsewhere: '\\' is a separator there (libarchive too) ... */
    const char *znorm;            /* ... here, or nowhere (NULL) */
} prow;

static char pt_long[300]; /* a component of 256 bytes, filled in by the tests */

static const prow pt_rows[] = {
    /* names */
    {"a/b.txt", NULL, NULL, NULL, 0, 0, "a/b.txt", NULL, 0, NULL},
    {"./a//b/./c.txt", NULL, NULL, NULL, 0, 0, "a/b/c.txt", NULL, 0, NULL},
    {"a..b/c..", NULL, NULL, NULL, 0, 0, "a..b/c..", NULL, 0, NULL},
    {"../evil", NULL, NULL, NULL, P_TRAV, P_TRAV, NULL, NULL, 0, NULL},
    {"a/../../evil", NULL, NULL, NULL, P_TRAV, P_TRAV, NULL, NULL, 0, NULL},
    {"a/..", NULL, NULL, NULL, P_TRAV, P_TRAV, NULL, NULL, 0, NULL},
    {"/etc/passwd", NULL, NULL, NULL, P_ABS, P_ABS, "etc/passwd", NULL, 0, NULL},
    {"C:/win.ini", NULL, NULL, NULL, P_DRIVE, 0, "C:/win.ini", "POSIX name: C: is a directory", 0, NULL},
    {"a\\..\\..\\evil", NULL, NULL, NULL, P_BSL | P_TRAV, 0, "a\\..\\..\\evil", "POSIX name: one file", 1, NULL},
    {"\\abs", NULL, NULL, NULL, P_BSL | P_ABS, 0, "\\abs", "POSIX name: one file", 1, "abs"},
    {"clear\x1b[2J", NULL, NULL, NULL, P_CTRL, P_CTRL, "clear\x1b[2J", NULL, 0, NULL},
    {"bad\xff", NULL, NULL, NULL, P_UTF8, P_UTF8, "bad\xff", NULL, 0, NULL},
    {"over\xc0\xaflong", NULL, NULL, NULL, P_UTF8, P_UTF8, "over\xc0\xaflong", NULL, 0, NULL},
    {pt_long, NULL, NULL, NULL, P_LONG, P_LONG, NULL, NULL, 0, NULL},
    /* symlinks */
    {"lib/l", "../etc/x", NULL, NULL, 0, 0, "lib/l", NULL, 0, NULL},
    {"x/y/l", "../../top", NULL, NULL, 0, 0, "x/y/l", NULL, 0, NULL},
    {"lib/l", "../../etc", NULL, NULL, P_ESC, P_ESC, "lib/l", NULL, 0, NULL},
    {"./a/l", "../../x", NULL, NULL, P_ESC, P_ESC, "a/l", NULL, 0, NULL},
    {"l", "/etc/shadow", NULL, NULL, P_ESC, 0, "l", "a layer's absolute target stays in the image", 0, NULL},
    {"l", "/../etc", NULL, NULL, P_ESC, P_ESC, "l", NULL, 0, NULL},
    {"l", "C:\\Windows", NULL, NULL, P_ESC, P_ESC, "l", NULL, 0, NULL},
    {"l", "\\\\server\\share", NULL, NULL, P_ESC, P_ESC, "l", NULL, 0, NULL},
    {"a/l", "..\\..\\x", NULL, NULL, P_ESC, P_ESC, "a/l", NULL, 0, NULL},
    {"l", "", NULL, NULL, P_ESC, P_ESC, NULL, NULL, 0, NULL}, /* no file system stores an empty target */
    {"b", "a/..", "a", ".", P_ESC, P_ESC, "b", NULL, 0, NULL},
    {"b", "a/../x", "a", "sub", P_ESC, P_ESC, "b", NULL, 0, NULL},
    {"b", "a/x", "a", "sub", 0, 0, "b", NULL, 0, NULL},
    {"../a/l", "x", NULL, NULL, P_TRAV | P_ESC, P_TRAV | P_ESC, NULL, NULL, 0, NULL},
    {"/a/l", "../x", NULL, NULL, P_ABS, P_ABS, "a/l", NULL, 0, NULL},
};
#define PT_NROWS (sizeof(pt_rows) / sizeof(pt_rows[0]))

static void pt_init_long(void)
{
    memset(pt_long, 'n', 256);
    memcpy(pt_long + 256, "/f", 3);
}

static char *pt_dir;

static void pt_setup(void)
{
    pt_init_long();
    pt_dir = tu_mkdtemp();
}

static void pt_teardown(void)
{
    tu_rmtree(pt_dir);
    free(pt_dir);
}

static int pt_has(const sign_artifact *a, const char *id)
{
    for (size_t i = 0; i < sign_artifact_finding_count(a); i++) {
        if (strcmp(sign_artifact_finding(a, i)->id, id) == 0) {
            return 1;
        }
    }
    return 0;
}

static void pt_expect(const sign_artifact *a, const char *const *ids, unsigned int want, size_t row, const char *w)
{
    for (size_t k = 0; k < P_NKINDS; k++) {
        if (ids[k] != NULL) {
            cr_expect_eq(pt_has(a, ids[k]), (want >> k) & 1, "row %zu (%s), %s walker: %s %s", row, pt_rows[row].name,
                         w, ids[k], (want >> k) & 1 ? "missing" : "unexpected");
        }
    }
}

static sign_artifact *pt_zip(const prow *r, const char *file)
{
    zg_entry e[2];
    size_t n = 0;
    sign_artifact *a = NULL;

    memset(e, 0, sizeof(e));
    if (r->pre != NULL) {
        e[n].name = r->pre;
        e[n].data = r->pre_target;
        e[n].len = strlen(r->pre_target);
        e[n++].unix_mode = S_IFLNK | 0777;
    }
    e[n].name = r->name;
    e[n].data = r->target != NULL ? r->target : "x";
    e[n].len = r->target != NULL ? strlen(r->target) : 1;
    e[n++].unix_mode = r->target != NULL ? S_IFLNK | 0777 : S_IFREG | 0644;
    zg_write(file, e, n, NULL);
    cr_assert_eq(sign_artifact_scan(&a, file, NULL, NULL), 0, "%s: %s", r->name, sign_error_last());
    return a;
}

static sign_artifact *pt_tar(const prow *r, const char *file)
{
    tg_entry e[2];
    size_t n = 0;
    sign_artifact *a = NULL;

    memset(e, 0, sizeof(e));
    if (r->pre != NULL) {
        e[n].name = r->pre;
        e[n].type = '2';
        e[n++].link = r->pre_target;
    }
    if (strlen(r->name) > 99) {
        e[n].name = "long"; /* the ustar field holds 100 bytes: the real name goes in a pax path */
        e[n].pax_path = r->name;
    } else {
        e[n].name = r->name;
    }
    if (r->target != NULL) {
        e[n].type = '2';
        e[n].link = r->target;
    } else {
        e[n].data = "x";
        e[n].len = 1;
    }
    n++;
    tg_write(file, e, n, NULL);
    cr_assert_eq(sign_artifact_scan(&a, file, NULL, NULL), 0, "%s: %s", r->name, sign_error_last());
    return a;
}

/* Put the entry (and the row's earlier symlink) at its normalised place under dir, as an extractor would. */
static void pt_place(const char *dir, const char *name, const char *target)
{
    char *norm = sign__path_norm(name), *full;

    cr_assert_not_null(norm);
    if (norm[0] == '\0') {
        free(norm);
        return;
    }
    for (char *q = strchr(norm, '/'); q != NULL; q = strchr(q + 1, '/')) {
        *q = '\0';
        full = tu_path(dir, norm);
        cr_assert(mkdir(full, 0755) == 0 || errno == EEXIST, "mkdir %s", full);
        free(full);
        *q = '/';
    }
    full = tu_path(dir, norm);
    if (target != NULL) {
        cr_assert_eq(symlink(target, full), 0, "symlink %s", full);
    } else {
        tu_write_str(full, "x");
        cr_assert_eq(chmod(full, 0644), 0);
    }
    free(full);
    free(norm);
}

/* The tree walker: the row's entry found where the normaliser puts it, or missing when it lands nowhere. */
static void pt_tree(const sign_artifact *a, const prow *r, size_t row, const char *w)
{
    char sub[64], *dir;
    sign__tree_diff *d = NULL;
    size_t nd = 0, nchecked = 0, missing = 0;
    const char *norm = r->norm;

    snprintf(sub, sizeof(sub), "tree-%s-%zu", w, row);
    dir = tu_path(pt_dir, sub);
    cr_assert_eq(mkdir(dir, 0755), 0);
    if (r->pre != NULL) {
        pt_place(dir, r->pre, r->pre_target);
    }
    if (r->zwin && strcmp(w, "zip") == 0) {
        norm = r->znorm;
    }
    if (norm != NULL) {
        pt_place(dir, norm, r->target);
    }
    sign_limits lim;

    cr_assert_eq(sign__limits(&lim, NULL), 0);
    cr_assert_eq(sign__tree_compare(&d, &nd, &nchecked, a, dir, &lim), 0, "%s", sign_error_last());
    for (size_t i = 0; i < nd; i++) {
        missing += strcmp(d[i].reason, "TREE_MISSING") == 0;
    }
    if (norm != NULL) {
        cr_expect_eq(nd, 0, "row %zu (%s), tree of the %s: %zu differences, first %s %s %s", row, r->name, w, nd,
                     nd ? d[0].reason : "", nd ? d[0].path : "", nd ? d[0].what : "");
    } else {
        cr_expect_gt(missing, 0, "row %zu (%s), tree of the %s: a name that lands nowhere is missing", row, r->name,
                     w);
    }
    sign__tree_diffs_free(d, nd);
    free(dir);
}

/* The row's earlier symlink, as the walkers see it. */
static int pt_row_link(void *ctx, const char *p)
{
    const prow *r = ctx;

    return r->pre != NULL && strcmp(p, r->pre) == 0;
}

Test(path, table_through_the_path_module)
{
    pt_init_long();
    for (size_t i = 0; i < PT_NROWS; i++) {
        const prow *r = &pt_rows[i];
        unsigned int zb = sign__path_check(r->name, strlen(r->name), 4096, SIGN__PATH_WINDOWS);
        unsigned int tb = sign__path_check(r->name, strlen(r->name), 4096, 0);
        char *norm = sign__path_norm(r->name);

        cr_expect_eq(!!(zb & SIGN__PATH_DOTDOT), !!(r->zip & P_TRAV), "row %zu", i);
        cr_expect_eq(!!(zb & SIGN__PATH_ABSOLUTE), !!(r->zip & P_ABS), "row %zu", i);
        cr_expect_eq(!!(zb & SIGN__PATH_DRIVE), !!(r->zip & P_DRIVE), "row %zu", i);
        cr_expect_eq(!!(zb & SIGN__PATH_BACKSLASH), !!(r->zip & P_BSL), "row %zu", i);
        cr_expect_eq(!!(zb & SIGN__PATH_CONTROL), !!(r->zip & P_CTRL), "row %zu", i);
        cr_expect_eq(!!(zb & SIGN__PATH_UTF8), !!(r->zip & P_UTF8), "row %zu", i);
        cr_expect_eq(!!(zb & SIGN__PATH_COMPONENT_LONG), !!(r->zip & P_LONG), "row %zu", i);
        cr_expect_eq(!!(tb & SIGN__PATH_DOTDOT), !!(r->tar & P_TRAV), "row %zu", i);
        cr_expect_eq(!!(tb & SIGN__PATH_ABSOLUTE), !!(r->tar & P_ABS), "row %zu", i);
        cr_expect_eq(tb & (SIGN__PATH_DRIVE | SIGN__PATH_BACKSLASH), 0, "row %zu: POSIX names", i);
        if (r->norm != NULL) {
            cr_expect_str_eq(norm, r->norm, "row %zu", i);
        }
        if (r->target != NULL) {
            cr_expect_eq(sign__path_link_escapes(r->name, r->target, 0, pt_row_link, (void *)r), !!(r->zip & P_ESC),
                         "row %zu: archive", i);
            cr_expect_eq(sign__path_link_escapes(r->name, r->target, SIGN__LINK_ROOTFS, pt_row_link, (void *)r),
                         !!(r->tar & P_ESC), "row %zu: root file system", i);
        }
        /* One verdict: zip and tar agree unless the row says why not. */
        if (r->differs == NULL) {
            cr_expect_eq(r->zip, r->tar, "row %zu: zip and tar differ without a reason", i);
        } else {
            cr_expect_neq(r->zip, r->tar, "row %zu: a reason for a difference that is not there", i);
        }
        free(norm);
    }
}

Test(path, table_through_the_zip_walker, .init = pt_setup, .fini = pt_teardown)
{
    for (size_t i = 0; i < PT_NROWS; i++) {
        char name[32], *file;
        sign_artifact *a;

        snprintf(name, sizeof(name), "row%zu.zip", i);
        file = tu_path(pt_dir, name);
        a = pt_zip(&pt_rows[i], file);
        pt_expect(a, pt_zip_ids, pt_rows[i].zip, i, "zip");
        sign_artifact_free(a);
        free(file);
    }
}

Test(path, table_through_the_tar_walker, .init = pt_setup, .fini = pt_teardown)
{
    for (size_t i = 0; i < PT_NROWS; i++) {
        char name[32], *file;
        sign_artifact *a;

        snprintf(name, sizeof(name), "row%zu.tar", i);
        file = tu_path(pt_dir, name);
        a = pt_tar(&pt_rows[i], file);
        pt_expect(a, pt_tar_ids, pt_rows[i].tar, i, "tar");
        sign_artifact_free(a);
        free(file);
    }
}

Test(path, table_through_the_tree_walker, .init = pt_setup, .fini = pt_teardown)
{
    for (size_t i = 0; i < PT_NROWS; i++) {
        char name[32], *file;
        sign_artifact *a;

        snprintf(name, sizeof(name), "t%zu.zip", i);
        file = tu_path(pt_dir, name);
        a = pt_zip(&pt_rows[i], file);
        pt_tree(a, &pt_rows[i], i, "zip");
        sign_artifact_free(a);
        free(file);
        snprintf(name, sizeof(name), "t%zu.tar", i);
        file = tu_path(pt_dir, name);
        a = pt_tar(&pt_rows[i], file);
        pt_tree(a, &pt_rows[i], i, "layer");
        sign_artifact_free(a);
        free(file);
    }
}

Test(path, normalise_and_base_name)
{
    static const struct {
        const char *in, *out;
    } v[] = {{"a", "a"},       {"./a", "a"},
             {"/a", "a"},      {"a//b", "a/b"},
             {"a/./b", "a/b"}, {"dir/", "dir"},
             {"./", ""},       {"/", ""},
             {".", ""},        {"", ""},
             {"../a", "../a"}, {"a/../b", "a/../b"},
             {"a\\b", "a\\b"}, {"././a/.//b/.", "a/b"}};

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *n = sign__path_norm(v[i].in), *again;

        cr_assert_str_eq(n, v[i].out, "norm(%s)", v[i].in);
        again = sign__path_norm(n);
        cr_assert_str_eq(again, n, "normalising twice changes nothing");
        free(again);
        free(n);
    }
    cr_assert_str_eq(sign__path_base("a/b/c.txt", 0), "c.txt");
    cr_assert_str_eq(sign__path_base("c.txt", 0), "c.txt");
    cr_assert_str_eq(sign__path_base("dir/", 0), "");
    cr_assert_str_eq(sign__path_base("a\\id_rsa", 0), "a\\id_rsa");
    cr_assert_str_eq(sign__path_base("a\\id_rsa", SIGN__PATH_WINDOWS), "id_rsa");
    cr_assert_str_eq(sign__path_base("x/a\\id_rsa", SIGN__PATH_WINDOWS), "id_rsa");
}

Test(path, deploy_write_beneath_root)
{
    static const char *const ok[] = {"a",    "a/b/c.txt", "./a/b", "a//b",
                                     "dir/", ".hidden",   "a..b",  "r\xc3\xa9sum\xc3\xa9"};
    static const struct {
        const char *p;
        unsigned int bit;
    } bad[] = {
        {"", SIGN__PATH_EMPTY},
        {".", SIGN__PATH_ROOT},
        {"./", SIGN__PATH_ROOT},
        {"././/.", SIGN__PATH_ROOT},
        {"/etc/passwd", SIGN__PATH_ABSOLUTE},
        {"//host/share", SIGN__PATH_ABSOLUTE},
        {"\\x", SIGN__PATH_ABSOLUTE},
        {"..", SIGN__PATH_DOTDOT},
        {"../x", SIGN__PATH_DOTDOT},
        {"a/../b", SIGN__PATH_DOTDOT},
        {"a/..", SIGN__PATH_DOTDOT},
        {"a\\..\\b", SIGN__PATH_DOTDOT},
        {"C:x", SIGN__PATH_DRIVE},
        {"c:/x", SIGN__PATH_DRIVE},
        {"a\\b", SIGN__PATH_BACKSLASH},
        {"a\nb", SIGN__PATH_CONTROL},
        {"a\x7f", SIGN__PATH_CONTROL},
        {"a\xff", SIGN__PATH_UTF8},
        {"a\xc0\xaf", SIGN__PATH_UTF8},
    };
    char *lng = malloc(SIGN__PATH_WRITE_MAX + 2), comp[300];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cr_assert_eq(sign__path_check_write(ok[i]), 0, "%s refused: %s", ok[i],
                     sign__path_problem(sign__path_check_write(ok[i])));
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned int b = sign__path_check_write(bad[i].p);

        cr_assert(b & bad[i].bit, "row %zu: %s accepted (bits %#x)", i, bad[i].p, b);
        cr_assert_neq(sign__path_problem(b)[0], '\0');
    }
    cr_assert_str_eq(sign__path_problem(SIGN__PATH_DOTDOT), "has a '..' component");
    /* Lengths: the whole path and each component. */
    memset(lng, 'a', SIGN__PATH_WRITE_MAX + 1);
    for (size_t i = 200; i < SIGN__PATH_WRITE_MAX; i += 201) {
        lng[i] = '/';
    }
    lng[SIGN__PATH_WRITE_MAX] = '\0';
    cr_assert_eq(sign__path_check_write(lng), 0, "%d bytes fit", SIGN__PATH_WRITE_MAX);
    lng[SIGN__PATH_WRITE_MAX] = 'a';
    lng[SIGN__PATH_WRITE_MAX + 1] = '\0';
    cr_assert(sign__path_check_write(lng) & SIGN__PATH_TOO_LONG);
    memset(comp, 'c', 255);
    comp[255] = '\0';
    cr_assert_eq(sign__path_check_write(comp), 0, "255 bytes fit");
    comp[255] = 'c';
    comp[256] = '\0';
    cr_assert(sign__path_check_write(comp) & SIGN__PATH_COMPONENT_LONG);
    free(lng);
}

/* Symlink rule details that the table shows only through the walkers. */
static int pt_links_a(void *ctx, const char *p)
{
    (void)ctx;
    return strcmp(p, "a") == 0 || strcmp(p, "d/e") == 0;
}

Test(path, link_escape_rule)
{
    static const struct {
        const char *entry, *target;
        unsigned int how;
        int want;
    } v[] = {
        {"l", "x", 0, 0},
        {"l", ".", 0, 0},
        {"d/l", "..", 0, 0},
        {"d/l", "../..", 0, 1},
        {"d/l", "../x/../../y", 0, 1},
        {"d/l", "x/../../y", 0, 0},
        {"d//./l", "../y", 0, 0},
        {"a/../l", "x", 0, 0},    /* the entry's own directory, resolved: the root */
        {"a/../../l", "x", 0, 1}, /* ... climbs: the link is placed outside already */
        {"l", "/usr/bin/x", SIGN__LINK_ROOTFS, 0},
        {"l", "/usr/../../x", SIGN__LINK_ROOTFS, 1},
        {"l", "/usr/bin/x", 0, 1},
        {"l", "a/../x", 0, 1}, /* ".." after passing through the link "a" */
        {"l", "a/x", 0, 0},
        {"l", "d/e/../x", 0, 1},
        {"d/l", "e/../x", 0, 1}, /* "d/e" reached from the entry's directory */
        {"l", "a", 0, 0},        /* a link to a link is not a climb */
        {"l", "c:x", 0, 1},
        {"l", "\\x", SIGN__LINK_ROOTFS, 1},
    };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        cr_assert_eq(sign__path_link_escapes(v[i].entry, v[i].target, v[i].how, pt_links_a, NULL), v[i].want,
                     "row %zu: %s -> %s", i, v[i].entry, v[i].target);
    }
}
