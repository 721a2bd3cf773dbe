/* The sign operation: findings gate signing, names, outputs, and what the statement records. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "sign/sign.h"
#include "util.h"
#include "testutil.h"
#include "zipgen.h"

static void free_arts(sign_artifact **arts, size_t n)
{
    for (size_t i = 0; arts != NULL && i < n; i++) {
        sign_artifact_free(arts[i]);
    }
    free(arts);
}

Test(signer, invalid_utf8_entry_name_is_refused_even_when_allowed)
{
    char *dir = tu_mkdtemp();
    char *zip = tu_path(dir, "app.zip"), *out = tu_path(dir, "app.zip.sigstore.json");
    zg_entry e = {0};
    sign_key *k = NULL;
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *paths[] = {zip};
    const char *allow[] = {"zip-name-invalid-utf8"};
    sign_bundle *b = NULL;
    sign_artifact **arts = NULL;

    e.name = "caf\xe9.txt";
    e.data = "x";
    e.len = 1;
    zg_write(zip, &e, 1, NULL);
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    o.key = k;
    o.artifacts = paths;
    o.nartifacts = 1;
    o.output = out;
    cr_assert_eq(sign_sign(&b, &arts, &o), SIGN_EFINDING, "refused as a dangerous finding");
    cr_assert_not_null(strstr(sign_error_last(), "zip-name-invalid-utf8"), "%s", sign_error_last());
    free_arts(arts, 1);
    arts = NULL;
    o.allow = allow;
    o.nallow = 1;
    cr_assert_eq(sign_sign(&b, &arts, &o), SIGN_EUNSUPPORTED, "JSON cannot carry the name: %s", sign_error_last());
    cr_assert_not_null(strstr(sign_error_last(), "UTF-8"), "%s", sign_error_last());
    cr_assert_null(b);
    cr_assert(!tu_exists(out), "nothing written");
    free_arts(arts, 1);
    sign_key_free(k);
    free(zip);
    free(out);
    tu_rmtree(dir);
    free(dir);
}

Test(signer, output_over_an_artifact_is_refused)
{
    char *dir = tu_mkdtemp();
    char *f = tu_path(dir, "a.txt");
    sign_key *k = NULL;
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *paths[] = {f};
    sign_bundle *b = NULL;
    char *after;

    tu_write_str(f, "payload");
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    o.key = k;
    o.artifacts = paths;
    o.nartifacts = 1;
    o.output = f;
    cr_assert_eq(sign_sign(&b, NULL, &o), SIGN_EINVAL);
    after = tu_read(f, NULL);
    cr_assert_str_eq(after, "payload", "the artifact is untouched");
    free(after);
    sign_key_free(k);
    free(f);
    tu_rmtree(dir);
    free(dir);
}

Test(signer, public_key_cannot_sign)
{
    sign_key *k = NULL, *pub = NULL;
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *paths[] = {"/dev/null"};
    sign_bundle *b = NULL;

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_key_public_copy(&pub, k), 0);
    o.key = pub;
    o.artifacts = paths;
    o.nartifacts = 1;
    cr_assert_eq(sign_sign(&b, NULL, &o), SIGN_EINVAL);
    sign_key_free(k);
    sign_key_free(pub);
}

Test(signer, names_default_to_relative_paths_and_base_names)
{
    char *dir = tu_mkdtemp();
    char *f = tu_path(dir, "a.txt");
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *paths[] = {f};
    sign_statement *st = NULL;
    const char *name;
    const unsigned char *sha;

    tu_write_str(f, "payload");
    o.artifacts = paths;
    o.nartifacts = 1;
    cr_assert_eq(sign_hash(&st, NULL, &o), 0);
    cr_assert_eq(sign_statement_subject(&name, &sha, st, 0), 0);
    cr_assert_str_eq(name, "a.txt", "an absolute path is named by its last component");
    sign_statement_free(st);
    free(f);
    tu_rmtree(dir);
    free(dir);
}

/* The names in dir other than "." and "..", counted. */
static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    cr_assert_not_null(d);
    while ((de = readdir(d)) != NULL) {
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

/* A directory with a.txt, a key, and where the bundle goes (out_name in the directory). */
typedef struct one_file {
    char *dir, *f, *out;
    sign_key *k;
} one_file;

static void one_file_setup(one_file *t, const char *out_name)
{
    t->dir = tu_mkdtemp();
    t->f = tu_path(t->dir, "a.txt");
    t->out = tu_path(t->dir, out_name);
    t->k = NULL;
    tu_write_str(t->f, "payload");
    cr_assert_eq(sign_key_generate(&t->k, SIGN_KEY_ED25519, 0), 0);
}

static void one_file_teardown(one_file *t)
{
    cr_assert_eq(sign_set_thread_budget(0), 0);
    sign_key_free(t->k);
    free(t->f);
    free(t->out);
    tu_rmtree(t->dir);
    free(t->dir);
}

/* sign_sign of t's file into t->out with a thread budget. */
static int sign_one(sign_bundle **b, const one_file *t, unsigned budget)
{
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *paths[] = {t->f};

    cr_assert_eq(sign_set_thread_budget(budget), 0);
    o.key = t->k;
    o.artifacts = paths;
    o.nartifacts = 1;
    o.output = t->out;
    return sign_sign(b, NULL, &o);
}

/*
 * With two threads the bundle's payload is written while the signature is made: the file is the bundle
 * returned (its text and a newline), signed; on one thread the same.
 */
Test(signer, bundle_written_while_signing_is_the_bundle_returned)
{
    one_file t;

    one_file_setup(&t, "a.txt.sigstore.json");
    for (unsigned budget = 1; budget <= 2; budget++) {
        sign_bundle *b = NULL;
        char *text = NULL, *file;
        size_t len = 0, flen = 0;

        cr_assert_eq(sign_one(&b, &t, budget), 0, "%s", sign_error_last());
        cr_assert_eq(sign_bundle_serialize(&text, &len, b), 0);
        file = tu_read(t.out, &flen);
        cr_assert(flen == len + 1 && memcmp(file, text, len) == 0 && file[len] == '\n',
                  "budget %u: the file is the bundle", budget);
        cr_assert_eq(sign_envelope_verify(sign_bundle_envelope(b), 0, t.k), 0);
        cr_assert_eq(count_entries(t.dir), 2u, "budget %u: no temporary file left", budget);
        free(file);
        free(text);
        sign_bundle_free(b);
    }
    one_file_teardown(&t);
}

/* A bundle that cannot be created (its directory is missing) is an error that leaves nothing. */
Test(signer, bundle_in_a_missing_directory_is_an_error_and_leaves_nothing)
{
    one_file t;

    one_file_setup(&t, "none/a.txt.sigstore.json");
    for (unsigned budget = 1; budget <= 2; budget++) {
        sign_bundle *b = NULL;

        cr_assert_eq(sign_one(&b, &t, budget), SIGN_EIO, "budget %u", budget);
        cr_assert_not_null(strstr(sign_error_last(), "cannot create temporary file"), "%s", sign_error_last());
        cr_assert_null(b);
        cr_assert_eq(count_entries(t.dir), 1u, "budget %u: only the artifact", budget);
    }
    one_file_teardown(&t);
}
