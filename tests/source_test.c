/* Source provenance from git (libsign/git/source*.c): what is recorded, what is refused, and the checks of
   require.source and verify --git, end to end with repositories made by the git CLI. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign/sign.h"
#include "testutil.h"

static char *dir;
static char *out, *err;

static void setup(void)
{
    dir = tu_mkdtemp();
}

static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
    free(out);
    free(err);
    out = err = NULL;
}

/* A shell script run in the fixture's directory, git configured without the user's settings. */
#define SH(...) tu_sh(&out, &err, dir, __VA_ARGS__)
#define SIGNET(...) SH("\"$SIGNET_BIN\" " __VA_ARGS__)

/* src/: a repository with one commit, origin with credentials and a query, an annotated tag v1.2.3. */
static void make_repo(void)
{
    cr_assert_eq(SH("git init -q -b main src && cd src && echo hello > a.txt && printf 'build/\\n' > .gitignore && "
                    "git add . && git commit -qm one && git remote add origin "
                    "'https://alice:s3cret@git.example.com/team/app.git?token=x#frag' && git tag -a v1.2.3 -m rel"),
                 0, "%s", err);
}

static json_t *collect_json(sign_source **s, unsigned flags)
{
    sign_source_options so = SIGN_SOURCE_OPTIONS_INIT;
    char *path = tu_path(dir, "src"), *text = NULL;
    json_t *j;

    so.flags = flags;
    cr_assert_eq(sign_source_collect(s, path, &so), 0, "%s", sign_error_last());
    cr_assert_eq(sign_source_json(&text, *s), 0);
    j = json_loads(text, 0, NULL);
    cr_assert_not_null(j);
    free(text);
    free(path);
    return j;
}

TestSuite(source, .init = setup, .fini = teardown);

Test(source, records_commit_tree_branch_tags_and_a_url_without_credentials)
{
    sign_source *s = NULL;
    json_t *j, *tag;
    const char *v = NULL;

    make_repo();
    cr_assert_eq(SH("cd src && git rev-parse HEAD HEAD^{tree}"), 0);
    j = collect_json(&s, 0);
    cr_assert_str_eq(json_string_value(json_object_get(j, "uri")), "https://git.example.com/team/app.git");
    cr_assert_eq(strncmp(out, json_string_value(json_object_get(j, "commit")), 40), 0);
    cr_assert_eq(strncmp(out + 41, json_string_value(json_object_get(j, "tree")), 40), 0);
    cr_assert_str_eq(json_string_value(json_object_get(j, "branch")), "refs/heads/main");
    cr_assert(json_is_false(json_object_get(j, "dirty")));
    tag = json_array_get(json_object_get(j, "tags"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(tag, "name")), "refs/tags/v1.2.3");
    cr_assert_eq(strlen(json_string_value(json_object_get(tag, "object"))), 40);
    cr_assert(json_is_false(json_object_get(tag, "signed")));
    cr_assert_eq(sign_source_version_tag(&v, s), 0);
    cr_assert_str_eq(v, "1.2.3");
    {
        char *text = json_dumps(j, 0);

        cr_assert_null(strstr(text, "s3cret"), "credentials are not recorded");
        free(text);
    }
    json_decref(j);
    sign_source_free(s);
}

Test(source, refuses_a_dirty_tree_naming_the_paths_unless_allowed)
{
    sign_source_options so = SIGN_SOURCE_OPTIONS_INIT;
    sign_source *s = NULL;
    char *path;
    json_t *j;

    make_repo();
    cr_assert_eq(SH("cd src && echo changed >> a.txt && echo new > b.txt && mkdir build && echo x > build/out.zip"),
                 0);
    path = tu_path(dir, "src");
    cr_assert_eq(sign_source_collect(&s, path, &so), SIGN_EFINDING);
    cr_assert_null(s);
    cr_assert_not_null(strstr(sign_error_last(), "source-dirty"));
    cr_assert_not_null(strstr(sign_error_last(), "a.txt"));
    cr_assert_not_null(strstr(sign_error_last(), "b.txt"));
    cr_assert_null(strstr(sign_error_last(), "out.zip"), "ignored files are not changes");
    free(path);
    j = collect_json(&s, SIGN_SOURCE_ALLOW_DIRTY);
    cr_assert(json_is_true(json_object_get(j, "dirty")));
    cr_assert_eq(strlen(json_string_value(json_object_get(j, "dirty_paths_sha256"))), 64);
    json_decref(j);
    sign_source_free(s);
}

Test(source, bare_unborn_detached_shallow_and_no_repository_each_have_an_answer)
{
    sign_source *s = NULL;
    const char *v = NULL;
    char *p;
    json_t *j;

    make_repo();
    cr_assert_eq(SH("git init -q --bare bare.git && git init -q empty && mkdir plain && "
                    "git clone -q --depth 1 file://$PWD/src shallow && cd src && echo 2 > a.txt && "
                    "git commit -qam two && git tag v2.0 && git tag v2.0.1 && git checkout -q --detach HEAD"),
                 0, "%s", err);
    p = tu_path(dir, "bare.git");
    cr_assert_eq(sign_source_collect(&s, p, NULL), SIGN_EINVAL);
    cr_assert_not_null(strstr(sign_error_last(), "bare"));
    free(p);
    p = tu_path(dir, "empty");
    cr_assert_eq(sign_source_collect(&s, p, NULL), SIGN_EINVAL);
    cr_assert_not_null(strstr(sign_error_last(), "no commits"));
    free(p);
    p = tu_path(dir, "plain");
    cr_assert_eq(sign_source_collect(&s, p, NULL), SIGN_ENOTFOUND);
    free(p);
    p = tu_path(dir, "shallow");
    cr_assert_eq(sign_source_collect(&s, p, NULL), 0, "%s", sign_error_last());
    {
        char *text = NULL;

        cr_assert_eq(sign_source_json(&text, s), 0);
        cr_assert_not_null(strstr(text, "\"shallow\":true"), "%s", text);
        free(text);
    }
    cr_assert_eq(sign_source_version_tag(&v, s), 0, "the clone took the tag of its one commit");
    cr_assert_str_eq(v, "1.2.3");
    sign_source_free(s);
    s = NULL;
    free(p);
    j = collect_json(&s, 0); /* src: detached HEAD with two release tags */
    cr_assert_null(json_object_get(j, "branch"));
    cr_assert_eq(json_array_size(json_object_get(j, "tags")), 2);
    cr_assert_eq(sign_source_version_tag(&v, s), SIGN_EINVAL, "two release tags: refuse to pick one");
    json_decref(j);
    sign_source_free(s);
}

Test(source, a_malformed_recorded_source_is_refused_by_the_check)
{
    static const char *const bad[] = {
        "[]",
        "{\"vcs\":\"git\",\"commit\":\"zz\",\"tree\":\"0000000000000000000000000000000000000000\"}",
        "{\"vcs\":\"svn\",\"commit\":\"0000000000000000000000000000000000000000\",\"tree\":\"x\"}",
        "{\"vcs\":\"git\",\"commit\":\"0000000000000000000000000000000000000000\",\"tree\":"
        "\"0000000000000000000000000000000000000000\",\"evil\":1}",
        "{\"vcs\":\"git\",\"commit\":\"0000000000000000000000000000000000000000\"",
    };
    char *p;

    make_repo();
    p = tu_path(dir, "src");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = sign_source_check(p, bad[i], strlen(bad[i]));

        cr_assert(r == SIGN_EPARSE || r == SIGN_EUNSUPPORTED, "case %zu: %d %s", i, r, sign_error_last());
    }
    free(p);
}

static const char policy_fmt[] = "{\"version\":1,\"keys\":[{\"name\":\"rel\",\"public_key\":\"k.pub\"}],"
                                 "\"require\":{\"source\":%s}}";

static void write_policy(const char *name, const char *source)
{
    char buf[1024], *p = tu_path(dir, name);

    snprintf(buf, sizeof(buf), policy_fmt, source);
    tu_write_str(p, buf);
    free(p);
}

Test(source, sign_and_verify_with_require_source_and_a_clone)
{
    make_repo();
    cr_assert_eq(SIGNET("keygen --no-passphrase -o k && echo artifact > app.bin"), 0, "%s", err);
    cr_assert_eq(SIGNET("sign -k k.key --git src -o app.json app.bin"), 0, "%s", err);
    cr_assert_eq(SIGNET("sign -k k.key -o plain.json app.bin"), 0, "%s", err);
    write_policy("ok.json", "{\"repositories\":[\"https://git.example.com/team/*\"],\"refs\":[\"refs/tags/v*\"]}");
    write_policy("repo.json", "{\"repositories\":[\"https://git.example.com/other/*\"]}");
    write_policy("signed.json", "{\"signed_tag\":true}");
    cr_assert_eq(SIGNET("verify -p ok.json -b app.json app.bin"), 0, "%s", err);
    cr_assert_eq(SIGNET("verify -p repo.json -b app.json app.bin"), 4);
    cr_assert_not_null(strstr(err, "SOURCE_NOT_ALLOWED"));
    cr_assert_eq(SIGNET("verify -p signed.json -b app.json app.bin"), 4, "the tag is not signed");
    cr_assert_eq(SIGNET("verify -p ok.json -b plain.json app.bin"), 4);
    cr_assert_not_null(strstr(err, "SOURCE_MISSING"));
    /* a dirty tree: refused at signing, recorded with --allow-dirty, refused by clean (the default) */
    cr_assert_eq(SH("echo more >> src/a.txt"), 0);
    cr_assert_eq(SIGNET("sign -k k.key --git src -o dirty.json app.bin"), 2);
    cr_assert_not_null(strstr(err, "source-dirty"));
    cr_assert_eq(SIGNET("sign -k k.key --git src --allow-dirty -o dirty.json app.bin"), 0, "%s", err);
    cr_assert_eq(SIGNET("verify -p ok.json -b dirty.json app.bin"), 4);
    cr_assert_not_null(strstr(err, "uncommitted"));
    cr_assert_eq(SIGNET("sign -k k.key --allow-dirty -o x.json app.bin"), 2, "--allow-dirty without --git");
    /* verify --git against a clone: present; then the tag moves; then history is rewritten */
    cr_assert_eq(SH("git clone -q src clone"), 0, "%s", err);
    cr_assert_eq(SIGNET("verify -p ok.json --git clone -b app.json app.bin"), 0, "%s", err);
    cr_assert_eq(SH("cd src && git checkout -q a.txt && echo 3 > c.txt && git add c.txt && git commit -qm three && "
                    "git tag -f -a v1.2.3 -m moved >/dev/null && cd .. && rm -rf clone && git clone -q src clone"),
                 0, "%s", err);
    cr_assert_eq(SIGNET("verify -p ok.json --git clone -b app.json app.bin"), 1);
    cr_assert_not_null(strstr(err, "SOURCE_MISMATCH"));
    cr_assert_not_null(strstr(err, "moved"));
    cr_assert_eq(SH("git init -q -b main other && cd other && echo x > x && git add x && git commit -qm other"), 0);
    cr_assert_eq(SIGNET("verify -p ok.json --git other -b app.json app.bin"), 1);
    cr_assert_not_null(strstr(err, "is not in the clone"));
}

Test(source, version_from_the_release_tag)
{
    make_repo();
    cr_assert_eq(SIGNET("keygen --no-passphrase -o k && echo artifact > app.bin"), 0, "%s", err);
    cr_assert_eq(SIGNET("sign -k k.key --git src --version-from-tag -o app.json app.bin"), 0, "%s", err);
    cr_assert_eq(SH("python3 -c \"import json, base64; b = json.load(open('app.json')); "
                    "print(json.loads(base64.b64decode(b['dsseEnvelope']['payload']))['predicate']['version'])\""),
                 0, "%s", err);
    cr_assert_str_eq(out, "1.2.3\n");
    cr_assert_eq(SIGNET("sign -k k.key --version-from-tag -o x.json app.bin"), 2, "needs --git");
    cr_assert_eq(SIGNET("sign -k k.key --git src --version-from-tag --version 2 -o x.json app.bin"), 2);
    cr_assert_eq(SH("cd src && git tag v1.2.4"), 0);
    cr_assert_eq(SIGNET("sign -k k.key --git src --version-from-tag -o x.json app.bin"), 2, "two release tags");
    cr_assert_not_null(strstr(err, "several release tags"), "%s", err);
    cr_assert_eq(SH("cd src && git tag -d v1.2.3 v1.2.4 >/dev/null"), 0);
    cr_assert_eq(SIGNET("sign -k k.key --git src --version-from-tag -o x.json app.bin"), 2, "no release tag");
    cr_assert_not_null(strstr(err, "no tag v<version>"), "%s", err);
}
