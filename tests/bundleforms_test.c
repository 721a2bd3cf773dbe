/*
 * Issue 19: the bundle forms of the Sigstore ecosystem that signet verify reads beyond its own: messageSignature
 * bundles (the signature over the artifact, the digest recomputed) and sha384/sha512 subject digests. Each accepted
 * form has tampered twins refused for the right reason. The bundles are made here with libsign's primitives, as
 * another Sigstore signer writes them (cosign sign-blob --bundle, npm provenance), and judged by the CLI.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign/sign.h"
#include "util.h"
#include "testutil.h"

static char *bf_dir, *bf_out, *bf_err;

static void bf_setup(void)
{
    bf_dir = tu_mkdtemp();
}

static void bf_teardown(void)
{
    tu_rmtree(bf_dir);
    free(bf_dir);
    free(bf_out);
    free(bf_err);
    bf_out = bf_err = NULL;
}

/* A path in the test directory (one of 8 rotating buffers). */
static const char *bp(const char *name)
{
    static char buf[8][4096];
    static int k;

    k = (k + 1) % 8;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", bf_dir, name);
    return buf[k];
}

static char *b64(const unsigned char *d, size_t n)
{
    char *s = NULL;

    cr_assert_eq(sign__b64_encode(&s, d, n), 0);
    return s;
}

/* A new key of type t: its private half returned, its .pub written to name. */
static sign_key *bf_key(sign_key_type t, const char *name)
{
    sign_key *k = NULL;

    cr_assert_eq(sign_key_generate(&k, t, 0), 0);
    remove(bp(name));
    cr_assert_eq(sign_key_write_public(k, bp(name)), 0);
    return k;
}

/* The policy: one key (pub file) allowed the predicate types given (JSON list, or NULL: the default). */
static void bf_policy(const char *pub, const char *ptypes)
{
    char json[1024];

    snprintf(json, sizeof(json), "{\"version\":1,\"keys\":[{\"name\":\"k\",\"public_key\":\"%s\"%s%s}]}", bp(pub),
             ptypes != NULL ? ",\"predicate_types\":" : "", ptypes != NULL ? ptypes : "");
    tu_write_str(bp("policy.json"), json);
}

/* signet verify --json of artifact with bundle: exit want_rc, and reason among the checks (deciding on failure). */
static void bf_verify(int want_rc, const char *reason, const char *bundle, const char *artifact)
{
    const char *argv[] = {getenv("SIGNET_BIN"), "verify",     "--json", "-p", bp("policy.json"), "-b",
                          bp(bundle),           bp(artifact), NULL};
    char want[128];
    int rc;

    free(bf_out);
    free(bf_err);
    bf_out = bf_err = NULL;
    rc = tu_run(&bf_out, &bf_err, NULL, argv);
    cr_assert_eq(rc, want_rc, "verify exit %d, wanted %d (%s): %s %s", rc, want_rc, reason, bf_out, bf_err);
    snprintf(want, sizeof(want), "\"reason\":\"%s\"", reason);
    cr_assert(strstr(bf_out, want) != NULL, "no %s in %s", reason, bf_out);
    if (want_rc != 0) {
        snprintf(want, sizeof(want), "\"code\":\"%s\"", reason);
        cr_assert(strstr(bf_out, want) != NULL, "%s did not decide: %s", reason, bf_out);
    }
}

/*
 * A messageSignature bundle as cosign sign-blob writes it: sig (base64) over the artifact, messageDigest alg/dig
 * (NULL: omitted), the key's hint.
 */
static void bf_message_bundle(const char *name, const sign_key *k, const char *alg, const unsigned char *dig,
                              size_t diglen, const unsigned char *sig, size_t siglen)
{
    char keyid[SIGN_KEYID_SIZE], *s64 = b64(sig, siglen), *d64 = dig != NULL ? b64(dig, diglen) : NULL, md[256] = "";
    char *doc = NULL;

    cr_assert_eq(sign_key_id(keyid, sizeof(keyid), k), 0);
    if (d64 != NULL) {
        snprintf(md, sizeof(md), "\"messageDigest\":{\"algorithm\":\"%s\",\"digest\":\"%s\"},", alg, d64);
    }
    cr_assert(asprintf(&doc,
                       "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":"
                       "{\"publicKey\":{\"hint\":\"%s\"},\"tlogEntries\":[]},\"messageSignature\":{%s\"signature\":"
                       "\"%s\"}}",
                       keyid, md, s64) > 0);
    tu_write_str(bp(name), doc);
    free(doc);
    free(s64);
    free(d64);
}

/* The artifact's digest (alg) into out; returns its length. */
static size_t bf_digest(unsigned char *out, sign_digest_alg alg, const char *artifact)
{
    size_t len = 0;

    cr_assert_eq(sign_digest_file(out, SIGN_DIGEST_MAX_LEN, &len, NULL, alg, bp(artifact)), 0);
    return len;
}

#define MSG_TYPES "[\"" SIGN_MESSAGE_PREDICATE_TYPE "\"]"

/* A key's signature over the artifact's bytes, in a messageSignature bundle with its true digest. */
static void bf_sign_message(const char *bundle, const sign_key *k, const char *artifact, const char *alg,
                            sign_digest_alg dalg)
{
    unsigned char dig[SIGN_DIGEST_MAX_LEN], *sig = NULL;
    size_t diglen = bf_digest(dig, dalg, artifact), siglen = 0, len = 0;
    char *data = tu_read(bp(artifact), &len);

    cr_assert_eq(sign_key_sign(&sig, &siglen, k, data, len), 0);
    bf_message_bundle(bundle, k, alg, dig, diglen, sig, siglen);
    free(sig);
    free(data);
}

Test(bundle_forms, message_signature_roundtrip_and_twins, .init = bf_setup, .fini = bf_teardown)
{
    sign_key *k = bf_key(SIGN_KEY_ECDSA_P256, "k.pub"), *other = bf_key(SIGN_KEY_ECDSA_P256, "other.pub");
    unsigned char dig[SIGN_DIGEST_MAX_LEN], odig[SIGN_DIGEST_MAX_LEN], *sig = NULL;
    size_t siglen = 0;

    tu_write_str(bp("app.txt"), "release 1.2.3\n");
    tu_write_str(bp("evil.txt"), "release 6.6.6\n");
    bf_sign_message("b.json", k, "app.txt", "SHA2_256", SIGN_DIGEST_SHA256);
    bf_policy("k.pub", MSG_TYPES);
    bf_verify(0, "OK", "b.json", "app.txt");
    cr_assert(strstr(bf_out, SIGN_MESSAGE_PREDICATE_TYPE) != NULL, "%s", bf_out);

    /* Under a policy whose predicate types do not name the pseudo type (the default: signet's manifest only). */
    bf_policy("k.pub", NULL);
    bf_verify(4, "PREDICATE_TYPE_NOT_ALLOWED", "b.json", "app.txt");
    bf_policy("k.pub", "[\"*\"]");
    bf_verify(0, "OK", "b.json", "app.txt");
    bf_policy("k.pub", MSG_TYPES);

    /* Other bytes under the bundle's true digest: the recomputed digest does not match. */
    bf_verify(1, "DIGEST_MISMATCH", "b.json", "evil.txt");

    /* The digest hint lies: it names the other bytes, but the signature is over the signed ones. */
    (void)bf_digest(dig, SIGN_DIGEST_SHA256, "app.txt");
    (void)bf_digest(odig, SIGN_DIGEST_SHA256, "evil.txt");
    cr_assert_eq(sign_key_sign(&sig, &siglen, k, "release 1.2.3\n", 14), 0);
    bf_message_bundle("lie.json", k, "SHA2_256", odig, 32, sig, siglen);
    bf_verify(1, "SIGNATURE_INVALID", "lie.json", "evil.txt");
    free(sig);

    /* A signature over other bytes with the artifact's digest. */
    cr_assert_eq(sign_key_sign(&sig, &siglen, k, "release 6.6.6\n", 14), 0);
    bf_message_bundle("other-bytes.json", k, "SHA2_256", dig, 32, sig, siglen);
    bf_verify(1, "SIGNATURE_INVALID", "other-bytes.json", "app.txt");
    free(sig);

    /* A key the policy does not list; and the policy's key with a bundle made by another. */
    bf_sign_message("wrong-key.json", other, "app.txt", "SHA2_256", SIGN_DIGEST_SHA256);
    bf_verify(3, "KEY_UNTRUSTED", "wrong-key.json", "app.txt");

    /* The digest named with another algorithm than the key's pairing, and no digest at all. */
    bf_sign_message("sha512.json", k, "app.txt", "SHA2_512", SIGN_DIGEST_SHA512);
    bf_verify(1, "SIGNATURE_INVALID", "sha512.json", "app.txt");
    cr_assert(strstr(bf_out, "over SHA-256") != NULL, "%s", bf_out);
    cr_assert_eq(sign_key_sign(&sig, &siglen, k, "release 1.2.3\n", 14), 0);
    bf_message_bundle("nodigest.json", k, NULL, NULL, 0, sig, siglen);
    bf_verify(2, "BUNDLE_MALFORMED", "nodigest.json", "app.txt");
    free(sig);

    /* Other readers keep refusing the form (inspect, timestamp): only verify checks it. */
    {
        sign_bundle *b = NULL;

        cr_assert_eq(sign_bundle_read(&b, bp("b.json"), NULL), SIGN_EUNSUPPORTED);
    }
    sign_key_free(k);
    sign_key_free(other);
}

Test(bundle_forms, message_signature_p384_rsa_ed25519, .init = bf_setup, .fini = bf_teardown)
{
    sign_key *p384 = bf_key(SIGN_KEY_ECDSA_P384, "p384.pub"), *rsa = bf_key(SIGN_KEY_RSA, "rsa.pub"),
             *ed = bf_key(SIGN_KEY_ED25519, "ed.pub");

    tu_write_str(bp("app.txt"), "release 1.2.3\n");
    tu_write_str(bp("evil.txt"), "release 6.6.6\n");
    bf_sign_message("p384.json", p384, "app.txt", "SHA2_384", SIGN_DIGEST_SHA384);
    bf_policy("p384.pub", MSG_TYPES);
    bf_verify(0, "OK", "p384.json", "app.txt");
    bf_verify(1, "DIGEST_MISMATCH", "p384.json", "evil.txt");
    bf_sign_message("p384-256.json", p384, "app.txt", "SHA2_256", SIGN_DIGEST_SHA256);
    bf_verify(1, "SIGNATURE_INVALID", "p384-256.json", "app.txt");

    /* RSA: signet's own PKCS#1 v1.5 SHA-256 signature over the artifact. */
    bf_sign_message("rsa.json", rsa, "app.txt", "SHA2_256", SIGN_DIGEST_SHA256);
    bf_policy("rsa.pub", MSG_TYPES);
    bf_verify(0, "OK", "rsa.json", "app.txt");
    bf_verify(1, "DIGEST_MISMATCH", "rsa.json", "evil.txt");

    /* Ed25519 signs the artifact's bytes themselves: not checked from a digest, refused (not ignored). */
    bf_sign_message("ed.json", ed, "app.txt", "SHA2_256", SIGN_DIGEST_SHA256);
    bf_policy("ed.pub", MSG_TYPES);
    bf_verify(1, "SIGNATURE_INVALID", "ed.json", "app.txt");
    cr_assert(strstr(bf_out, "not over a digest") != NULL, "%s", bf_out);
    sign_key_free(p384);
    sign_key_free(rsa);
    sign_key_free(ed);
}

/* A DSSE bundle over an in-toto statement whose subject lists the digests given (a JSON object's members). */
static void bf_dsse_bundle(const char *name, const sign_key *k, const char *subject_name, const char *digests)
{
    sign_envelope *env = NULL;
    sign_bundle *b = NULL;
    char *st = NULL;

    cr_assert(
        asprintf(&st,
                 "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"%s\",\"digest\":{%s}}],"
                 "\"predicateType\":\"https://slsa.dev/provenance/v1\",\"predicate\":{\"buildDefinition\":{}}}",
                 subject_name, digests) > 0);
    cr_assert_eq(sign_envelope_new(&env, SIGN_INTOTO_PAYLOAD_TYPE, st, strlen(st)), 0);
    cr_assert_eq(sign_envelope_sign(env, k), 0);
    cr_assert_eq(sign_bundle_new(&b, env, k), 0);
    remove(bp(name));
    cr_assert_eq(sign_bundle_write(b, bp(name)), 0);
    sign_bundle_free(b);
    free(st);
}

/* "alg":"hex" of the artifact's digest alg (hex of a changed digest when flip). */
static void bf_member(char *out, size_t size, const char *alg, sign_digest_alg dalg, const char *artifact, int flip)
{
    unsigned char d[SIGN_DIGEST_MAX_LEN];
    char hex[2 * SIGN_DIGEST_MAX_LEN + 1];
    size_t n = bf_digest(d, dalg, artifact);

    d[n - 1] ^= (unsigned char)flip;
    cr_assert_eq(sign_hex_encode(hex, sizeof(hex), d, n), 0);
    snprintf(out, size, "\"%s\":\"%s\"", alg, hex);
}

Test(bundle_forms, sha512_and_sha384_subjects, .init = bf_setup, .fini = bf_teardown)
{
    sign_key *k = bf_key(SIGN_KEY_ECDSA_P256, "k.pub");
    char s512[200], s384[200], s256[100], bad512[200], bad256[100], both[400];

    tu_write_str(bp("pkg-1.0.0.tgz"), "not really a tarball, but bytes all the same\n");
    tu_write_str(bp("evil.tgz"), "other bytes\n");
    bf_member(s512, sizeof(s512), "sha512", SIGN_DIGEST_SHA512, "pkg-1.0.0.tgz", 0);
    bf_member(bad512, sizeof(bad512), "sha512", SIGN_DIGEST_SHA512, "pkg-1.0.0.tgz", 1);
    bf_member(s384, sizeof(s384), "sha384", SIGN_DIGEST_SHA384, "pkg-1.0.0.tgz", 0);
    bf_member(s256, sizeof(s256), "sha256", SIGN_DIGEST_SHA256, "pkg-1.0.0.tgz", 0);
    bf_member(bad256, sizeof(bad256), "sha256", SIGN_DIGEST_SHA256, "pkg-1.0.0.tgz", 1);
    bf_policy("k.pub", "[\"https://slsa.dev/provenance/v1\"]");

    /* npm provenance: a purl subject with a sha512 only. */
    bf_dsse_bundle("npm.json", k, "pkg:npm/pkg@1.0.0", s512);
    bf_verify(0, "OK", "npm.json", "pkg-1.0.0.tgz");
    cr_assert(strstr(bf_out, "\"verified\":true") != NULL, "%s", bf_out);
    {
        const char *argv[] = {getenv("SIGNET_BIN"), "inspect", bp("npm.json"), NULL};

        free(bf_out);
        free(bf_err);
        bf_out = bf_err = NULL;
        cr_assert_eq(tu_run(&bf_out, &bf_err, NULL, argv), 0, "%s", bf_err);
        cr_assert(strstr(bf_out, "pkg:npm/pkg@1.0.0  (no sha256: sha384/sha512 only)") != NULL, "%s", bf_out);
    }
    bf_verify(1, "ARTIFACT_NOT_SIGNED", "npm.json", "evil.tgz");
    bf_dsse_bundle("sha384.json", k, "pkg-1.0.0.tgz", s384);
    bf_verify(0, "OK", "sha384.json", "pkg-1.0.0.tgz");
    /* Named like the artifact: changed bytes are a digest mismatch, named by the sha512 signed. */
    bf_dsse_bundle("named.json", k, "pkg-1.0.0.tgz", s512);
    bf_verify(0, "OK", "named.json", "pkg-1.0.0.tgz");
    tu_write_str(bp("pkg-1.0.0.tgz"), "not really a tarball, but bytes all the same!\n");
    bf_verify(1, "DIGEST_MISMATCH", "named.json", "pkg-1.0.0.tgz");
    cr_assert(strstr(bf_out, "signed sha512 digest") != NULL, "%s", bf_out);
    tu_write_str(bp("pkg-1.0.0.tgz"), "not really a tarball, but bytes all the same\n");

    /* Every digest listed must match: a good sha256 beside a wrong sha512, and the reverse. */
    snprintf(both, sizeof(both), "%s,%s", s256, bad512);
    bf_dsse_bundle("both1.json", k, "pkg-1.0.0.tgz", both);
    bf_verify(1, "DIGEST_MISMATCH", "both1.json", "pkg-1.0.0.tgz");
    snprintf(both, sizeof(both), "%s,%s", bad256, s512);
    bf_dsse_bundle("both2.json", k, "pkg-1.0.0.tgz", both);
    bf_verify(1, "DIGEST_MISMATCH", "both2.json", "pkg-1.0.0.tgz");
    snprintf(both, sizeof(both), "%s,%s,\"sha1\":\"00\"", s256, s512);
    bf_dsse_bundle("both3.json", k, "pkg-1.0.0.tgz", both);
    bf_verify(0, "OK", "both3.json", "pkg-1.0.0.tgz");

    /* Only weak or unknown algorithms: the statement is refused. */
    bf_dsse_bundle("weak.json", k, "pkg-1.0.0.tgz", "\"sha1\":\"a9993e364706816aba3e25717850c26c9cd0d89d\"");
    bf_verify(2, "STATEMENT_MALFORMED", "weak.json", "pkg-1.0.0.tgz");
    sign_key_free(k);
}

/* The conformance adapter's sign-bundle: --key maps onto signet sign and its bundle verifies through verify-bundle;
   the suite's own form (an OIDC identity token) is reported as not supported (77), never faked. */
Test(bundle_forms, conformance_adapter_sign_bundle, .init = bf_setup, .fini = bf_teardown)
{
    sign_key *k = bf_key(SIGN_KEY_ECDSA_P256, "k.pub"), *other = bf_key(SIGN_KEY_ECDSA_P256, "other.pub");
    char *out = NULL, *err = NULL;
    int rc;

    cr_assert_eq(sign_key_write_private(k, bp("k.key"), NULL, 0), 0);
    tu_write_str(bp("a.txt"), "hello, conformance\n");
    tu_write_str(bp("b.txt"), "hello, conformance!\n");
    rc = tu_sh(&out, &err, bf_dir,
               "A='%s/tests/conformance/signet-conformance'\n"
               "python3 \"$A\" sign-bundle --key k.key --bundle a.sigstore.json a.txt\n"
               "python3 \"$A\" verify-bundle --bundle a.sigstore.json --key k.pub a.txt\n"
               "! python3 \"$A\" verify-bundle --bundle a.sigstore.json --key k.pub b.txt\n"
               "! python3 \"$A\" verify-bundle --bundle a.sigstore.json --key other.pub a.txt\n"
               "rc=0; python3 \"$A\" sign-bundle --identity-token x.y.z --bundle t.json a.txt 2>skip.txt || rc=$?\n"
               "test \"$rc\" = 77 && grep -q Fulcio skip.txt && test ! -e t.json\n",
               tu_src());
    cr_assert_eq(rc, 0, "%s %s", out, err);
    free(out);
    free(err);
    sign_key_free(k);
    sign_key_free(other);
}
