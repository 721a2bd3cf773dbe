/*
 * Transparency-log entries (libsign/verify/tlog.c) and Sigstore trusted roots (libsign/pki/trusted_root.c),
 * through signet verify --trusted-root, on sigstore-conformance fixtures (tests/conformance/assets, commit
 * a73de49): each accepted form, and a tampered twin of each refused for its reason.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "testutil.h"

TestSuite(tlog, .init = tu_scratch_setup, .fini = tu_scratch_teardown);

static char *fixture(const char *name, const char *file)
{
    char *p = NULL;

    cr_assert(asprintf(&p, "%s/tests/conformance/assets/bundle-verify/%s/%s", tu_src(), name, file) > 0);
    return p;
}

static json_t *load(const char *name, const char *file)
{
    char *p = fixture(name, file);
    json_error_t e;
    json_t *j = json_load_file(p, 0, &e);

    cr_assert_not_null(j, "%s: %s", p, e.text);
    free(p);
    return j;
}

static char *save(json_t *j, const char *name)
{
    char *p = tu_path(tu_dir, name);

    cr_assert_eq(json_dump_file(j, p, JSON_COMPACT), 0);
    json_decref(j);
    return p;
}

static const char *const identity =
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
    "extremely-dangerous-oidc-beacon.yml@refs/heads/main";

/* signet verify --json of artifact with bundle under a policy (extra: its require or trusted_root) and trusted
   root tr (NULL: none); returns the exit code, the verdict in tu_out; *code the verdict's reason. */
static int verify(const char *bundle, const char *tr, const char *artifact, const char *extra, char *code,
                  size_t codelen)
{
    char *pol = tu_path(tu_dir, "policy.json"), *text = NULL;
    const char *argv[] = {"signet", "verify",         "--json", "-p", pol,      "-b",
                          bundle,   "--trusted-root", tr,       "--", artifact, NULL};
    json_t *v;
    int rc;

    cr_assert(asprintf(&text,
                       "{\"version\":1,\"roots\":[{\"name\":\"fulcio\",\"subjects\":[\"%s\"],"
                       "\"issuers\":[\"https://token.actions.githubusercontent.com\"],\"artifacts\":[\"*\"],"
                       "\"predicate_types\":[\"*\"]}]%s}",
                       identity, extra != NULL ? extra : "") > 0);
    tu_write_str(pol, text);
    free(text);
    if (tr == NULL) {
        argv[7] = "--";
        argv[8] = artifact;
        argv[9] = NULL;
    }
    free(tu_out);
    tu_out = NULL;
    rc = tu_run(&tu_out, NULL, NULL, argv);
    v = json_loads(tu_out != NULL ? tu_out : "", 0, NULL);
    snprintf(code, codelen, "%s",
             v != NULL && json_string_value(json_object_get(v, "code")) != NULL
                 ? json_string_value(json_object_get(v, "code"))
                 : "?");
    json_decref(v);
    free(pol);
    return rc;
}

#define EXPECT(rc_want, code_want, bundle, tr, art, extra)                                                           \
    do {                                                                                                             \
        char code_[64];                                                                                              \
        int rc_ = verify(bundle, tr, art, extra, code_, sizeof(code_));                                              \
        cr_assert(rc_ == (rc_want) && strcmp(code_, code_want) == 0, "exit %d code %s, want %d %s: %s", rc_, code_,  \
                  rc_want, code_want, tu_out != NULL ? tu_out : "");                                                 \
    } while (0)

/* The first tlog entry of a bundle (borrowed). */
static json_t *entry0(json_t *b)
{
    return json_array_get(json_object_get(json_object_get(b, "verificationMaterial"), "tlogEntries"), 0);
}

/* Flip one base64 character of a string member (keeps it valid base64). */
static void flip(json_t *obj, const char *key, size_t at)
{
    char *s = strdup(json_string_value(json_object_get(obj, key)));

    cr_assert_not_null(s);
    cr_assert(strlen(s) > at);
    s[at] = s[at] == 'A' ? 'B' : 'A';
    json_object_set_new(obj, key, json_string(s));
    free(s);
}

#define R2 "rekor2-dsse-happy-path"

/* Rekor v2 (hashedrekord 0.0.2 over the DSSE PAE, Ed25519 checkpoint): verified; each tampering refused. */
Test(tlog, rekor2_entry_verified_and_tampered_twins_refused, .timeout = 240)
{
    char *art = fixture(R2, "../a.txt"), *trp = fixture(R2, "trusted_root.json"),
         *good = fixture(R2, "bundle.sigstore.json");
    char *p;
    json_t *b, *e, *pf, *tr;

    EXPECT(0, "OK", good, trp, art, NULL);
    cr_assert(strstr(tu_out, "inclusion proof, checkpoint") != NULL, "%s", tu_out);
    /* A trusted root without transparency logs: the matching entry is reported, not verified; require.tlog
       then fails. */
    tr = load(R2, "trusted_root.json");
    json_object_del(tr, "tlogs");
    p = save(tr, "tr-nologs.json");
    EXPECT(0, "OK", good, p, art, NULL);
    cr_assert(strstr(tu_out, "not verified") != NULL, "%s", tu_out);
    EXPECT(4, "TLOG_MISSING", good, p, art, ",\"require\":{\"tlog\":1}");
    free(p);
    EXPECT(4, "TLOG_MISSING", good, trp, art, ",\"require\":{\"tlog\":2}");
    EXPECT(0, "OK", good, trp, art, ",\"require\":{\"tlog\":1}");

    /* A bad proof hash. */
    b = load(R2, "bundle.sigstore.json");
    pf = json_object_get(entry0(b), "inclusionProof");
    json_array_set_new(json_object_get(pf, "hashes"), 0, json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    p = save(b, "proof.json");
    EXPECT(1, "TLOG_INVALID", p, trp, art, NULL);
    cr_assert(strstr(tu_out, "inclusion proof") != NULL, "%s", tu_out);
    free(p);
    /* A wrong tree size (the proof no longer leads to the root). */
    b = load(R2, "bundle.sigstore.json");
    pf = json_object_get(entry0(b), "inclusionProof");
    json_object_set_new(pf, "treeSize", json_string("4026480"));
    p = save(b, "size.json");
    EXPECT(1, "TLOG_INVALID", p, trp, art, NULL);
    free(p);
    /* A checkpoint whose signature is not the log key's. */
    b = load(R2, "bundle.sigstore.json");
    pf = json_object_get(json_object_get(entry0(b), "inclusionProof"), "checkpoint");
    {
        const char *env = json_string_value(json_object_get(pf, "envelope"));
        char *s = strdup(env), *line, *sp;

        /* The log's signature line is the first; witness cosignatures follow. */
        cr_assert_not_null(line = strstr(s, "\n\n"));
        cr_assert_not_null(sp = strchr(line + 2 + 4, ' '));
        sp[20] = sp[20] == 'A' ? 'B' : 'A';
        json_object_set_new(pf, "envelope", json_string(s));
        free(s);
    }
    p = save(b, "checkpoint.json");
    EXPECT(1, "TLOG_INVALID", p, trp, art, NULL);
    cr_assert(strstr(tu_out, "checkpoint") != NULL, "%s", tu_out);
    free(p);
    /* A log the trusted root does not list. */
    b = load(R2, "bundle.sigstore.json");
    e = entry0(b);
    json_object_set_new(json_object_get(e, "logId"), "keyId",
                        json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    p = save(b, "logid.json");
    EXPECT(1, "TLOG_INVALID", p, trp, art, NULL);
    free(p);
    /* The right log id with another key: the checkpoint does not verify. */
    tr = load(R2, "trusted_root.json");
    {
        json_t *logs = json_object_get(tr, "tlogs"), *l;
        size_t i;
        char *out = NULL, *err = NULL;

        cr_assert_eq(tu_sh(&out, &err, tu_dir,
                           "openssl genpkey -algorithm ed25519 | openssl pkey -pubout -outform DER | base64 -w0"),
                     0, "%s", err);
        json_array_foreach(logs, i, l)
        {
            json_t *pk = json_object_get(l, "publicKey");

            if (strcmp(json_string_value(json_object_get(pk, "keyDetails")), "PKIX_ED25519") == 0) {
                json_object_set_new(pk, "rawBytes", json_string(out));
            }
        }
        free(out);
        free(err);
    }
    p = save(tr, "tr-otherkey.json");
    EXPECT(1, "TLOG_INVALID", good, p, art, NULL);
    free(p);
    /* The entry of another envelope (sigstore-conformance's mismatch case). */
    p = fixture("rekor2-dsse-mismatch-envelope_fail", "bundle.sigstore.json");
    EXPECT(1, "TLOG_INVALID", p, trp, art, NULL);
    cr_assert(strstr(tu_out, "digest of other signed bytes") != NULL, "%s", tu_out);
    free(p);
    free(art);
    free(trp);
    free(good);
}

#define R1 "intoto-with-custom-trust-root"

/* Rekor v1 (intoto 0.0.2, SET + proof): without its RFC 3161 token the SET's integrated time is the signing time. */
Test(tlog, rekor1_set_time_used_and_tampered_twins_refused, .timeout = 240)
{
    char *art = fixture(R1, "artifact"), *trp = fixture(R1, "trusted_root.json"), *p, *good;
    json_t *b, *e, *tr, *logs;

    b = load(R1, "bundle.sigstore.json");
    json_object_del(json_object_get(b, "verificationMaterial"), "timestampVerificationData");
    good = save(b, "good.json");
    EXPECT(0, "OK", good, trp, art, NULL);
    cr_assert(strstr(tu_out, "signed entry timestamp") != NULL, "%s", tu_out);
    /* Without the log's key the time is not used: the 2023 certificate has expired. */
    tr = load(R1, "trusted_root.json");
    json_object_del(tr, "tlogs");
    p = save(tr, "tr-nologs.json");
    EXPECT(6, "CERT_EXPIRED", good, p, art, NULL);
    free(p);
    /* A bad SET. */
    b = json_load_file(good, 0, NULL);
    flip(json_object_get(entry0(b), "inclusionPromise"), "signedEntryTimestamp", 20);
    p = save(b, "set.json");
    EXPECT(1, "TLOG_INVALID", p, trp, art, NULL);
    cr_assert(strstr(tu_out, "SET") != NULL, "%s", tu_out);
    free(p);
    /* Another integrated time (inside the certificate's validity): the SET no longer covers it. */
    b = json_load_file(good, 0, NULL);
    e = entry0(b);
    json_object_set_new(e, "integratedTime", json_string("1675209700"));
    p = save(b, "time.json");
    EXPECT(1, "TLOG_INVALID", p, trp, art, NULL);
    free(p);
    /* The log key's validFor ends before the integrated time. */
    tr = load(R1, "trusted_root.json");
    logs = json_object_get(tr, "tlogs");
    json_object_set_new(json_object_get(json_object_get(json_array_get(logs, 0), "publicKey"), "validFor"), "end",
                        json_string("2023-01-31T23:59:59Z"));
    json_object_set_new(json_object_get(json_object_get(json_array_get(logs, 0), "publicKey"), "validFor"), "start",
                        json_string("2023-01-01T00:00:00Z"));
    p = save(tr, "tr-validity.json");
    EXPECT(1, "TLOG_INVALID", good, p, art, NULL);
    cr_assert(strstr(tu_out, "validFor") != NULL, "%s", tu_out);
    free(p);
    /* A SET made when the certificate was not valid (sigstore-conformance's case). */
    free(art);
    art = fixture("intoto-set-outside-signing-cert-validity_fail", "../a.txt");
    free(trp);
    trp = fixture("intoto-set-outside-signing-cert-validity_fail", "trusted_root.json");
    p = fixture("intoto-set-outside-signing-cert-validity_fail", "bundle.sigstore.json");
    EXPECT(1, "TLOG_INVALID", p, trp, art, NULL);
    cr_assert(strstr(tu_out, "certificate") != NULL, "%s", tu_out);
    free(p);
    free(art);
    free(trp);
    free(good);
}

/* The trusted root is read strictly; it and the policy's trusted_root cannot both be given. */
Test(tlog, trusted_root_strict, .timeout = 120)
{
    char *art = fixture(R2, "../a.txt"), *good = fixture(R2, "bundle.sigstore.json"),
         *trp = fixture(R2, "trusted_root.json");
    char *p, *extra = NULL;
    json_t *tr;

    tr = load(R2, "trusted_root.json");
    json_object_set_new(tr, "extra", json_true());
    p = save(tr, "unknown.json");
    EXPECT(2, "POLICY_MALFORMED", good, p, art, NULL);
    cr_assert(strstr(tu_out, "extra") != NULL, "%s", tu_out);
    free(p);
    tr = load(R2, "trusted_root.json");
    json_object_set_new(tr, "mediaType", json_string("application/vnd.dev.sigstore.trustedroot+json;version=0.2"));
    p = save(tr, "media.json");
    EXPECT(2, "POLICY_MALFORMED", good, p, art, NULL);
    free(p);
    tr = load(R2, "trusted_root.json");
    json_object_set_new(json_object_get(json_array_get(json_object_get(tr, "tlogs"), 0), "publicKey"), "keyDetails",
                        json_string("PKIX_ED25519"));
    p = save(tr, "type.json");
    EXPECT(2, "POLICY_MALFORMED", good, p, art, NULL);
    free(p);
    cr_assert(asprintf(&extra, ",\"trusted_root\":\"%s\"", trp) > 0);
    EXPECT(2, "POLICY_MALFORMED", good, trp, art, extra);
    /* The policy field alone works as the option does. */
    EXPECT(0, "OK", good, NULL, art, extra);
    free(extra);
    free(art);
    free(good);
    free(trp);
}

#define TSA_END "trust-root-tsa-validity-end-inclusive"

/* The trusted root of R2 with its first log's publicKey.rawBytes replaced by raw: refused as malformed, saying why.
 */
static void bad_log_key(const char *raw, const char *why, const char *good, const char *art)
{
    json_t *tr = load(R2, "trusted_root.json");
    char *p;

    json_object_set_new(json_object_get(json_array_get(json_object_get(tr, "tlogs"), 0), "publicKey"), "rawBytes",
                        json_string(raw));
    p = save(tr, "key.json");
    EXPECT(2, "POLICY_MALFORMED", good, p, art, NULL);
    cr_assert(strstr(tu_out, why) != NULL, "rawBytes \"%s\": want \"%s\": %s", raw, why, tu_out);
    free(p);
}

/*
 * A log key that is not one: the loader decodes a key that fails once more (to tell a failed allocation from
 * bytes that are not a key, see docs/torture.md); bytes that are not a key are still refused for their reason.
 */
Test(tlog, trusted_root_log_key_refused_for_its_reason, .timeout = 240)
{
    char *art = fixture(R2, "../a.txt"), *good = fixture(R2, "bundle.sigstore.json"), *longer;
    json_t *tr = load(R2, "trusted_root.json");
    const char *raw = json_string_value(
        json_object_get(json_object_get(json_array_get(json_object_get(tr, "tlogs"), 0), "publicKey"), "rawBytes"));
    size_t rl = strlen(raw), len;
    unsigned char *der = malloc(rl + 1);
    int n;

    cr_assert(der != NULL && rl > 0 && rl % 4 == 0);
    n = EVP_DecodeBlock(der, (const unsigned char *)raw, (int)rl);
    cr_assert_gt(n, 0);
    len = (size_t)n - (raw[rl - 1] == '=') - (raw[rl - 2] == '=');
    der[len] = 0x00; /* one byte after the SubjectPublicKeyInfo */
    longer = tu_b64(der, len + 1);
    bad_log_key(longer, "tlogs[0].publicKey: rawBytes is not a public key of the type keyDetails names", good, art);
    bad_log_key("AAAA", "tlogs[0].publicKey: rawBytes is not a public key of the type keyDetails names", good, art);
    bad_log_key("!!!!", "tlogs[0].publicKey.rawBytes must be non-empty base64", good, art);
    bad_log_key("", "tlogs[0].publicKey.rawBytes must be non-empty base64", good, art);
    json_decref(tr);
    free(longer);
    free(der);
    free(art);
    free(good);
}

/* Set validFor.end of the trusted root's first entry of list (timestampAuthorities, certificateAuthorities). */
static char *tr_with_end(const char *list, const char *start, const char *end, const char *name)
{
    json_t *tr = load(TSA_END, "trusted_root.json");
    json_t *vf = json_object_get(json_array_get(json_object_get(tr, list), 0), "validFor");

    cr_assert_not_null(vf);
    if (start != NULL) {
        json_object_set_new(vf, "start", json_string(start));
    }
    json_object_set_new(vf, "end", json_string(end));
    return save(tr, name);
}

/*
 * A trusted root's timestampAuthorities[].validFor: a timestamp counts only when its genTime lies inside it (ends
 * inclusive). The fixture's window ends exactly at genTime (2025-06-12T12:02:20Z), with accuracy +-1 s: genTime
 * itself is judged, as Sigstore does.
 */
Test(tlog, trusted_root_tsa_window, .timeout = 240)
{
    char *art = fixture(TSA_END, "../a.txt"), *good = fixture(TSA_END, "bundle.sigstore.json"),
         *trp = fixture(TSA_END, "trusted_root.json"), *p;

    /* Ending exactly at genTime: inclusive, accepted. */
    EXPECT(0, "OK", good, trp, art, NULL);
    /* Ending one second before genTime: the authority does not vouch for that time. */
    p = tr_with_end("timestampAuthorities", NULL, "2025-06-12T12:02:19Z", "tr-tsa-ended.json");
    EXPECT(6, "TIMESTAMP_OUTSIDE_TSA_VALIDITY", good, p, art, NULL);
    cr_assert(strstr(tu_out, "validFor") != NULL, "%s", tu_out);
    free(p);
    /* Starting one second after genTime. */
    p = tr_with_end("timestampAuthorities", "2025-06-12T12:02:21Z", "2025-07-01T00:00:00Z", "tr-tsa-later.json");
    EXPECT(6, "TIMESTAMP_OUTSIDE_TSA_VALIDITY", good, p, art, NULL);
    free(p);
    /* sigstore-conformance's case: the window ended on 2025-06-01. */
    free(good);
    free(trp);
    good = fixture("rekor2-timestamp-outside-trust-root-tsa-validity_fail", "bundle.sigstore.json");
    trp = fixture("rekor2-timestamp-outside-trust-root-tsa-validity_fail", "trusted_root.json");
    EXPECT(6, "TIMESTAMP_OUTSIDE_TSA_VALIDITY", good, trp, art, NULL);
    free(art);
    free(good);
    free(trp);
}

#define SCT_OK "rekor2-happy-path"

/*
 * A Fulcio leaf's embedded SCT verifies under the trusted root's CT log; with the CT log keys swapped (logIds
 * kept) it is SCT_INVALID, with their validFor after the SCT's time SCT_OUTSIDE_LOG_VALIDITY, with the CT log
 * missing (invalid-ct-key_fail) SCT_UNKNOWN_LOG.
 */
Test(tlog, fulcio_sct_verified_and_refused_twins, .timeout = 240)
{
    char *art = fixture(SCT_OK, "../a.txt"), *good = fixture(SCT_OK, "bundle.sigstore.json"),
         *trp = fixture(SCT_OK, "trusted_root.json"), *p;
    json_t *tr, *logs, *k1, *k2, *tmp;
    size_t i;

    EXPECT(0, "OK", good, trp, art, NULL);
    cr_assert(strstr(tu_out, "signed certificate timestamp") != NULL, "%s", tu_out);
    tr = load(SCT_OK, "trusted_root.json");
    logs = json_object_get(tr, "ctlogs");
    k1 = json_object_get(json_array_get(logs, 1), "publicKey");
    k2 = json_object_get(json_array_get(logs, 2), "publicKey");
    tmp = json_incref(json_object_get(k1, "rawBytes"));
    json_object_set(k1, "rawBytes", json_object_get(k2, "rawBytes"));
    json_object_set_new(k2, "rawBytes", tmp);
    p = save(tr, "swapped.json");
    EXPECT(1, "SCT_INVALID", good, p, art, NULL);
    free(p);
    tr = load(SCT_OK, "trusted_root.json");
    json_array_foreach(json_object_get(tr, "ctlogs"), i, tmp)
    {
        json_object_set_new(json_object_get(tmp, "publicKey"), "validFor",
                            json_pack("{s:s}", "start", "2099-01-01T00:00:00Z"));
    }
    p = save(tr, "late.json");
    EXPECT(6, "SCT_OUTSIDE_LOG_VALIDITY", good, p, art, NULL);
    free(p);
    free(art);
    free(good);
    free(trp);
    art = fixture("invalid-ct-key_fail", "../a.txt");
    good = fixture("invalid-ct-key_fail", "bundle.sigstore.json");
    trp = fixture("invalid-ct-key_fail", "trusted_root.json");
    EXPECT(3, "SCT_UNKNOWN_LOG", good, trp, art, NULL);
    free(art);
    free(good);
    free(trp);
}

/*
 * A Fulcio certificate stamped in the second it was issued (genTime == notBefore, accuracy 1 s) verifies: the start
 * of the certificate is judged at genTime (as Sigstore's verifiers do), its end at genTime + accuracy. Also with a
 * TSA chain that has expired since (judged at genTime) and with a custom trusted root (intoto 0.0.2).
 */
Test(tlog, stamped_at_certificate_start_verifies, .timeout = 240)
{
    static const char *const cases[] = {"rekor2-timestamp-with-embedded-cert",
                                        "rekor2-timestamp-with-expired-cert-chain", "intoto-with-custom-trust-root"};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *art = fixture(cases[i], i == 2 ? "artifact" : "../a.txt"),
             *b = fixture(cases[i], "bundle.sigstore.json"), *trp = fixture(cases[i], "trusted_root.json");

        EXPECT(0, "OK", b, trp, art, NULL);
        cr_assert(strstr(tu_out, "the trusted signing time") != NULL, "%s", tu_out);
        free(art);
        free(b);
        free(trp);
    }
}
