/* Statements: deterministic build, roundtrip, and strict parsing. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sign/sign.h"
#include "util.h"
#include "formats.h"
#include "testutil.h"

Test(manifest, build_is_deterministic_and_roundtrips)
{
    char *dir = tu_mkdtemp();
    char *p1 = tu_path(dir, "a.bin"), *p2 = tu_path(dir, "b.txt");
    sign_artifact_options ao = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_manifest_options mo = SIGN_MANIFEST_OPTIONS_INIT;
    sign_artifact *arts[2] = {NULL, NULL};
    sign_statement *st = NULL, *st2 = NULL, *parsed = NULL;
    char *t1 = NULL, *t2 = NULL;
    size_t l1 = 0, l2 = 0;
    const char *name;
    const unsigned char *sha;
    sign_statement_artifact info;

    tu_write_str(p1, "abc");
    tu_write_str(p2, "hello\n");
    cr_assert_eq(sign_artifact_scan(&arts[0], p1, "dist/a.bin", &ao), 0);
    cr_assert_eq(sign_artifact_scan(&arts[1], p2, "b.txt", &ao), 0);
    mo.created = 1767225600;
    cr_assert_eq(sign_statement_build(&st, arts, 2, &mo), 0);
    cr_assert_eq(sign_statement_build(&st2, arts, 2, &mo), 0);
    cr_assert_eq(sign_statement_serialize(&t1, &l1, st), 0);
    cr_assert_eq(sign_statement_serialize(&t2, &l2, st2), 0);
    cr_assert_eq(l1, l2);
    cr_assert_str_eq(t1, t2, "same inputs give the same bytes");
    cr_assert_null(strstr(t1, ": "), "no spaces in what is signed");
    cr_assert_not_null(strstr(t1, "\"_type\":\"https://in-toto.io/Statement/v1\""));
    cr_assert_not_null(strstr(t1, "\"created\":\"2026-01-01T00:00:00Z\""));
    cr_assert_eq(sign_statement_parse(&parsed, t1, l1, NULL), 0);
    cr_assert_eq(sign_statement_subject_count(parsed), 2);
    cr_assert_eq(sign_statement_subject(&name, &sha, parsed, 0), 0);
    cr_assert_str_eq(name, "dist/a.bin");
    cr_assert_eq(sha[0], 0xba, "sha256(abc) starts with ba");
    cr_assert_eq(sign_statement_artifact_count(parsed), 2);
    cr_assert_eq(sign_statement_artifact_info(&info, parsed, 1), 0);
    cr_assert_str_eq(info.kind, "file");
    cr_assert_eq(info.size, 6);
    cr_assert_str_eq(sign_statement_predicate_type(parsed), SIGN_PREDICATE_TYPE);
    sign_statement_free(parsed);
    sign_statement_free(st);
    sign_statement_free(st2);
    free(t1);
    free(t2);
    sign_artifact_free(arts[0]);
    cr_assert_eq(sign_artifact_scan(&arts[0], p1, "b.txt", &ao), 0);
    cr_assert_eq(sign_statement_build(&st, arts, 2, &mo), SIGN_EINVAL, "two artifacts with one name");
    sign_artifact_free(arts[0]);
    sign_artifact_free(arts[1]);
    free(p1);
    free(p2);
    tu_rmtree(dir);
    free(dir);
}

static int parse_st(const char *doc)
{
    sign_statement *st = NULL;
    int r = sign_statement_parse(&st, doc, strlen(doc), NULL);

    sign_statement_free(st);
    return r;
}

#define H64 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

Test(manifest, other_predicates_verify_by_subjects)
{
    cr_assert_eq(parse_st("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"x\",\"digest\":{"
                          "\"sha256\":\"" H64 "\",\"sha1\":\"00\"}}],\"predicateType\":\"https://slsa.dev/"
                          "provenance/v1\",\"predicate\":{\"anything\":[1,2,3]}}"),
                 0);
}

#define H128 H64 H64
#define H96 H64 "ba7816bf8f01cfea414140de5dae2223"

/* Issue 19: sha384 and sha512 subjects (npm provenance) are read, each checked; other algorithms are ignored, and a
   subject with none of sha256/sha384/sha512 is refused. */
Test(manifest, sha384_sha512_subjects)
{
    sign_statement *st = NULL;
    const char *name;
    const unsigned char *d256, *d384, *d512, *sha;
    const char *doc = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"p\",\"subject\":[{\"name\":"
                      "\"pkg:npm/x@1.0.0\",\"digest\":{\"sha512\":\"" H128 "\"}},{\"name\":\"y\",\"digest\":{"
                      "\"sha384\":\"" H96 "\",\"sha256\":\"" H64 "\",\"md5\":\"00\"}}]}";

    cr_assert_eq(sign_statement_parse(&st, doc, strlen(doc), NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign__statement_subject_digests(&name, &d256, &d384, &d512, st, 0), 0);
    cr_assert_str_eq(name, "pkg:npm/x@1.0.0");
    cr_assert(d256 == NULL && d384 == NULL && d512 != NULL && d512[0] == 0xba && d512[63] == 0xad);
    cr_assert_eq(sign_statement_subject(&name, &sha, st, 0), SIGN_ENOTFOUND, "no sha256 to give");
    cr_assert_eq(sign__statement_subject_digests(&name, &d256, &d384, &d512, st, 1), 0);
    cr_assert(d256 != NULL && d384 != NULL && d512 == NULL && d384[47] == 0x23);
    cr_assert_eq(sign_statement_subject(&name, &sha, st, 1), 0);
    sign_statement_free(st);

    cr_assert_eq(parse_st("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"x\",\"digest\":{"
                          "\"sha1\":\"a9993e364706816aba3e25717850c26c9cd0d89d\",\"md5\":\"00\"}}],"
                          "\"predicateType\":\"p\"}"),
                 SIGN_EPARSE, "only weak or unknown algorithms");
    cr_assert_eq(parse_st("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"x\",\"digest\":{"
                          "\"sha256\":\"" H64 "\",\"sha512\":\"00\"}}],\"predicateType\":\"p\"}"),
                 SIGN_EPARSE, "a malformed sha512 beside a good sha256");
    cr_assert_eq(parse_st("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"x\",\"digest\":{"
                          "\"sha384\":\"" H64 "\"}}],\"predicateType\":\"p\"}"),
                 SIGN_EPARSE, "a sha384 of 32 bytes");
}

Test(manifest, hostile_statements)
{
    cr_assert_eq(parse_st("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[],\"predicateType\":\"p\"}"),
                 SIGN_EPARSE, "zero subjects");
    cr_assert_eq(parse_st("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"x\",\"digest\":{"
                          "\"sha1\":\"a9993e364706816aba3e25717850c26c9cd0d89d\"}}],\"predicateType\":\"p\"}"),
                 SIGN_EPARSE, "subject with an unknown/weak algorithm only");
    cr_assert_eq(parse_st("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"x\",\"digest\":{"
                          "\"sha256\":\"abc\"}}],\"predicateType\":\"p\"}"),
                 SIGN_EPARSE, "short digest");
    cr_assert_eq(parse_st("{\"_type\":\"https://example.com/Other\",\"subject\":[{\"name\":\"x\",\"digest\":{"
                          "\"sha256\":\"" H64 "\"}}],\"predicateType\":\"p\"}"),
                 SIGN_EPARSE, "not an in-toto statement");
    cr_assert_eq(parse_st("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"x\",\"digest\":{"
                          "\"sha256\":\"" H64 "\"}}],\"predicateType\":\"p\",\"subject\":[]}"),
                 SIGN_EPARSE, "duplicate subject key whose values differ");
    cr_assert_eq(parse_st("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"x\",\"digest\":{"
                          "\"sha256\":\"" H64 "\"}}],\"predicateType\":\"" SIGN_PREDICATE_TYPE
                          "\",\"predicate\":{\"artifacts\":[{\"name\":\"x\",\"kind\":\"zip\",\"size\":-1,\"digest\":{"
                          "\"sha256\":\"" H64 "\"}}]}}"),
                 SIGN_EPARSE, "negative size in signet's predicate");
    cr_assert_eq(parse_st("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"x\",\"digest\":{"
                          "\"sha256\":\"" H64 "\"}}],\"predicateType\":\"p\",\"n\":1e999999}"),
                 SIGN_EPARSE, "huge number");
}
