/* Tests of X.509 certificates: loading, chains to policy roots, EKU, key usage, validity, CRLs, PKCS#12. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pkigen.h"
#include "testutil.h"
#include "pki.h"

#define XT_DAY 86400

/* root -> int -> leaf, made fresh per test. */
typedef struct xt_pki {
    pkigen_cert *root, *in, *leaf;
    int64_t now;
} xt_pki;

static void xt_pki_make(xt_pki *p, const pkigen_cert_opts *leafo)
{
    pkigen_cert_opts ro = {.cn = "Test Root", .ca = 1, .not_after = 0};
    pkigen_cert_opts io = {.cn = "Test Intermediate", .ca = 1};
    pkigen_cert_opts lo = {.cn = "Release Signing 1"};

    p->now = (int64_t)time(NULL);
    ro.not_before = p->now - 3650 * XT_DAY;
    ro.not_after = p->now + 3650 * XT_DAY;
    io.not_before = p->now - 365 * XT_DAY;
    io.not_after = p->now + 365 * XT_DAY;
    p->root = pkigen_cert_new(&ro, NULL);
    p->in = pkigen_cert_new(&io, p->root);
    p->leaf = pkigen_cert_new(leafo != NULL ? leafo : &lo, p->in);
}

static void xt_pki_free(xt_pki *p)
{
    pkigen_cert_free(p->root);
    pkigen_cert_free(p->in);
    pkigen_cert_free(p->leaf);
}

/*
 * Verify chain (leaf first) against root with intermediates and CRLs;
 * signing_time NULL for none. Returns the reason (static) and fills *res.
 */
static const char *xt_verify(sign_x509_result *res, const pkigen_cert *const *chain, size_t nchain,
                             const pkigen_cert *root, const pkigen_cert *const *ints, size_t nints,
                             X509_CRL *const *crls, size_t ncrls, const char *const *subjects, size_t nsubjects,
                             int64_t at, const int64_t *signing_time)
{
    sign_x509_certs *c = pkigen_certs(chain, nchain), *r = pkigen_certs(&root, 1),
                    *i = nints ? pkigen_certs(ints, nints) : NULL;
    sign_x509_crls *l = ncrls ? pkigen_crls(crls, ncrls) : NULL;
    sign_x509_trust t = SIGN_X509_TRUST_INIT;
    sign_x509_verify_options o = SIGN_X509_VERIFY_OPTIONS_INIT;
    int rc;

    t.roots = r;
    t.intermediates = i;
    t.crls = l;
    t.subjects = subjects;
    t.nsubjects = nsubjects;
    o.at = at;
    o.signing_time = signing_time;
    rc = sign_x509_verify(res, c, &t, &o);
    cr_assert_eq(rc, res->code, "return value and result code agree");
    cr_assert_eq(rc == 0, strcmp(res->reason, "OK") == 0, "%s: %s", res->reason, res->message);
    sign_x509_certs_free(c);
    sign_x509_certs_free(r);
    sign_x509_certs_free(i);
    sign_x509_crls_free(l);
    return res->reason;
}

/* Leaf alone, intermediate from the policy. */
static const char *xt_simple(sign_x509_result *res, xt_pki *p, X509_CRL *const *crls, size_t ncrls,
                             const int64_t *signing_time)
{
    const pkigen_cert *chain[] = {p->leaf}, *ints[] = {p->in};

    return xt_verify(res, chain, 1, p->root, ints, 1, crls, ncrls, NULL, 0, 0, signing_time);
}

Test(x509, chain_ok_with_policy_intermediates)
{
    xt_pki p;
    sign_x509_result res;

    xt_pki_make(&p, NULL);
    cr_assert_str_eq(xt_simple(&res, &p, NULL, 0, NULL), "OK", "%s", res.message);
    cr_assert_eq(res.chain_len, 3);
    cr_assert_str_eq(res.subject, "CN=Release Signing 1,O=signet test");
    xt_pki_free(&p);
}

Test(x509, chain_ok_with_bundle_intermediates)
{
    xt_pki p;
    sign_x509_result res;
    const pkigen_cert *chain[2];

    xt_pki_make(&p, NULL);
    chain[0] = p.leaf;
    chain[1] = p.in;
    cr_assert_str_eq(xt_verify(&res, chain, 2, p.root, NULL, 0, NULL, 0, NULL, 0, 0, NULL), "OK", "%s", res.message);
    cr_assert_eq(res.code, 0);
    xt_pki_free(&p);
}

Test(x509, unknown_root)
{
    xt_pki p, other;
    sign_x509_result res;
    const pkigen_cert *chain[2];

    xt_pki_make(&p, NULL);
    xt_pki_make(&other, NULL);
    chain[0] = other.leaf;
    chain[1] = other.in;
    cr_assert_str_eq(xt_verify(&res, chain, 2, p.root, NULL, 0, NULL, 0, NULL, 0, 0, NULL), "ROOT_UNKNOWN", "%s",
                     res.message);
    cr_assert_eq(res.code, SIGN_EUNTRUSTED);
    xt_pki_free(&p);
    xt_pki_free(&other);
}

Test(x509, missing_intermediate)
{
    xt_pki p;
    sign_x509_result res;
    const pkigen_cert *chain[1];

    xt_pki_make(&p, NULL);
    chain[0] = p.leaf;
    cr_assert_str_eq(xt_verify(&res, chain, 1, p.root, NULL, 0, NULL, 0, NULL, 0, 0, NULL), "CHAIN_INCOMPLETE", "%s",
                     res.message);
    cr_assert_eq(res.code, SIGN_EUNTRUSTED);
    cr_assert(strstr(res.message, "Test Intermediate") != NULL, "%s", res.message);
    xt_pki_free(&p);
}

Test(x509, root_in_bundle_is_ignored)
{
    xt_pki p, other;
    sign_x509_result res;
    const pkigen_cert *chain[3];
    pkigen_cert_opts fo = {.cn = "Test Root", .ca = 1};
    pkigen_cert_opts lo = {.cn = "Release Signing 1"};
    pkigen_cert *fake_root, *fake_leaf;

    xt_pki_make(&p, NULL);
    xt_pki_make(&other, NULL);
    /* Another PKI's whole chain, its root included. */
    chain[0] = other.leaf;
    chain[1] = other.in;
    chain[2] = other.root;
    cr_assert_str_eq(xt_verify(&res, chain, 3, p.root, NULL, 0, NULL, 0, NULL, 0, 0, NULL), "ROOT_UNKNOWN", "%s",
                     res.message);
    /* A forged root with the policy root's name, shipped in the bundle. */
    fake_root = pkigen_cert_new(&fo, NULL);
    fake_leaf = pkigen_cert_new(&lo, fake_root);
    chain[0] = fake_leaf;
    chain[1] = fake_root;
    cr_assert_str_eq(xt_verify(&res, chain, 2, p.root, NULL, 0, NULL, 0, NULL, 0, 0, NULL), "ROOT_UNKNOWN", "%s",
                     res.message);
    /* The policy's own root in the bundle changes nothing. */
    chain[0] = p.leaf;
    chain[1] = p.in;
    chain[2] = p.root;
    cr_assert_str_eq(xt_verify(&res, chain, 3, p.root, NULL, 0, NULL, 0, NULL, 0, 0, NULL), "OK", "%s", res.message);
    pkigen_cert_free(fake_root);
    pkigen_cert_free(fake_leaf);
    xt_pki_free(&p);
    xt_pki_free(&other);
}

Test(x509, wrong_or_no_eku)
{
    pkigen_cert_opts lo = {.cn = "Web Server", .eku = "serverAuth"};
    pkigen_cert_opts no = {.cn = "No EKU", .eku = "none"};
    xt_pki p;
    sign_x509_result res;

    xt_pki_make(&p, &lo);
    cr_assert_str_eq(xt_simple(&res, &p, NULL, 0, NULL), "EKU_MISSING", "%s", res.message);
    cr_assert_eq(res.code, SIGN_EUNTRUSTED);
    xt_pki_free(&p);
    xt_pki_make(&p, &no);
    cr_assert_str_eq(xt_simple(&res, &p, NULL, 0, NULL), "EKU_MISSING", "%s", res.message);
    xt_pki_free(&p);
}

Test(x509, no_digital_signature)
{
    pkigen_cert_opts lo = {.cn = "Release Signing 1", .no_digital_sig = 1};
    pkigen_cert_opts no = {.cn = "Release Signing 1", .no_key_usage = 1};
    xt_pki p;
    sign_x509_result res;

    xt_pki_make(&p, &lo);
    cr_assert_str_eq(xt_simple(&res, &p, NULL, 0, NULL), "KEY_USAGE_INVALID", "%s", res.message);
    cr_assert_eq(res.code, SIGN_EUNTRUSTED);
    xt_pki_free(&p);
    xt_pki_make(&p, &no);
    cr_assert_str_eq(xt_simple(&res, &p, NULL, 0, NULL), "KEY_USAGE_INVALID", "%s", res.message);
    xt_pki_free(&p);
}

Test(x509, expired)
{
    int64_t now = (int64_t)time(NULL);
    pkigen_cert_opts lo = {.cn = "Old", .not_before = now - 60 * XT_DAY, .not_after = now - 30 * XT_DAY};
    xt_pki p;
    sign_x509_result res;
    int64_t st = now - 40 * XT_DAY;

    xt_pki_make(&p, &lo);
    cr_assert_str_eq(xt_simple(&res, &p, NULL, 0, NULL), "CERT_EXPIRED", "%s", res.message);
    cr_assert_eq(res.code, SIGN_EEXPIRED);
    /* A trusted signing time inside the validity makes it valid. */
    cr_assert_str_eq(xt_simple(&res, &p, NULL, 0, &st), "OK", "%s", res.message);
    cr_assert_eq(res.judged_at, st);
    xt_pki_free(&p);
}

Test(x509, not_yet_valid)
{
    int64_t now = (int64_t)time(NULL);
    pkigen_cert_opts lo = {.cn = "Future", .not_before = now + 10 * XT_DAY, .not_after = now + 30 * XT_DAY};
    xt_pki p;
    sign_x509_result res;

    xt_pki_make(&p, &lo);
    cr_assert_str_eq(xt_simple(&res, &p, NULL, 0, NULL), "CERT_NOT_YET_VALID", "%s", res.message);
    cr_assert_eq(res.code, SIGN_EEXPIRED);
    xt_pki_free(&p);
}

Test(x509, expired_intermediate)
{
    xt_pki p;
    sign_x509_result res;
    pkigen_cert_opts io = {.cn = "Old Intermediate", .ca = 1};
    pkigen_cert_opts lo = {.cn = "Release Signing 1"};
    pkigen_cert *oldint, *leaf;
    const pkigen_cert *chain[2];

    xt_pki_make(&p, NULL);
    io.not_before = p.now - 100 * XT_DAY;
    io.not_after = p.now - 2 * XT_DAY;
    oldint = pkigen_cert_new(&io, p.root);
    leaf = pkigen_cert_new(&lo, oldint);
    chain[0] = leaf;
    chain[1] = oldint;
    cr_assert_str_eq(xt_verify(&res, chain, 2, p.root, NULL, 0, NULL, 0, NULL, 0, 0, NULL), "CERT_EXPIRED", "%s",
                     res.message);
    cr_assert(strstr(res.message, "Old Intermediate") != NULL, "%s", res.message);
    pkigen_cert_free(oldint);
    pkigen_cert_free(leaf);
    xt_pki_free(&p);
}

/* Fresh CRLs from the intermediate (entries e) and from the root (empty). */
static void xt_crls(X509_CRL *out[2], const xt_pki *p, const pkigen_crl_entry *e, size_t n)
{
    out[0] = pkigen_crl_new(p->in, NULL, p->now - XT_DAY, p->now + 7 * XT_DAY, e, n, NULL);
    out[1] = pkigen_crl_new(p->root, NULL, p->now - XT_DAY, p->now + 7 * XT_DAY, NULL, 0, NULL);
}

static void xt_crls_free(X509_CRL *c[2])
{
    X509_CRL_free(c[0]);
    X509_CRL_free(c[1]);
}

Test(x509, crl_not_revoked)
{
    xt_pki p;
    sign_x509_result res;
    X509_CRL *crls[2];
    pkigen_crl_entry e = {.serial = 1, .reason = -1};

    xt_pki_make(&p, NULL);
    e.revoked_at = p.now - XT_DAY;
    xt_crls(crls, &p, &e, 1);
    cr_assert_str_eq(xt_simple(&res, &p, crls, 2, NULL), "OK", "%s", res.message);
    cr_assert_str_eq(res.note, "");
    xt_crls_free(crls);
    xt_pki_free(&p);
}

Test(x509, revoked_without_signing_time)
{
    xt_pki p;
    sign_x509_result res;
    X509_CRL *crls[2];
    pkigen_crl_entry e = {.reason = CRL_REASON_KEY_COMPROMISE};

    xt_pki_make(&p, NULL);
    e.serial = pkigen_serial(p.leaf);
    e.revoked_at = p.now - XT_DAY;
    xt_crls(crls, &p, &e, 1);
    cr_assert_str_eq(xt_simple(&res, &p, crls, 2, NULL), "CERT_REVOKED", "%s", res.message);
    cr_assert_eq(res.code, SIGN_EREVOKED);
    xt_crls_free(crls);
    xt_pki_free(&p);
}

Test(x509, revoked_before_and_after_signing_time)
{
    xt_pki p;
    sign_x509_result res;
    X509_CRL *crls[2];
    pkigen_crl_entry e = {.reason = CRL_REASON_SUPERSEDED};
    int64_t before, after;

    xt_pki_make(&p, NULL);
    e.serial = pkigen_serial(p.leaf);
    e.revoked_at = p.now - 2 * XT_DAY;
    xt_crls(crls, &p, &e, 1);
    /* Signed (trusted time) before the revocation: still valid, and reported. */
    before = p.now - 3 * XT_DAY;
    cr_assert_str_eq(xt_simple(&res, &p, crls, 2, &before), "OK", "%s", res.message);
    cr_assert(strstr(res.note, "revoked") != NULL, "%s", res.note);
    /* Signed after it, or exactly at it: revoked. */
    after = p.now - XT_DAY;
    cr_assert_str_eq(xt_simple(&res, &p, crls, 2, &after), "CERT_REVOKED", "%s", res.message);
    after = e.revoked_at;
    cr_assert_str_eq(xt_simple(&res, &p, crls, 2, &after), "CERT_REVOKED", "%s", res.message);
    xt_crls_free(crls);
    xt_pki_free(&p);
}

Test(x509, invalidity_date_before_signing_time)
{
    xt_pki p;
    sign_x509_result res;
    X509_CRL *crls[2];
    pkigen_crl_entry e = {.reason = CRL_REASON_KEY_COMPROMISE};
    int64_t st;

    xt_pki_make(&p, NULL);
    e.serial = pkigen_serial(p.leaf);
    e.revoked_at = p.now - XT_DAY;     /* published after the signing time ... */
    e.invalidity = p.now - 5 * XT_DAY; /* ... but the key was compromised before it */
    st = p.now - 3 * XT_DAY;
    xt_crls(crls, &p, &e, 1);
    cr_assert_str_eq(xt_simple(&res, &p, crls, 2, &st), "CERT_REVOKED", "%s", res.message);
    xt_crls_free(crls);
    xt_pki_free(&p);
}

Test(x509, certificate_hold_fails_regardless)
{
    xt_pki p;
    sign_x509_result res;
    X509_CRL *crls[2];
    pkigen_crl_entry e = {.reason = CRL_REASON_CERTIFICATE_HOLD};
    int64_t st;

    xt_pki_make(&p, NULL);
    e.serial = pkigen_serial(p.leaf);
    e.revoked_at = p.now - XT_DAY;
    st = p.now - 3 * XT_DAY;
    xt_crls(crls, &p, &e, 1);
    cr_assert_str_eq(xt_simple(&res, &p, crls, 2, &st), "CERT_REVOKED", "%s", res.message);
    cr_assert(strstr(res.message, "hold") != NULL, "%s", res.message);
    xt_crls_free(crls);
    xt_pki_free(&p);
}

Test(x509, remove_from_crl_lifts_entry)
{
    xt_pki p;
    sign_x509_result res;
    X509_CRL *crls[3];
    pkigen_crl_entry hold = {.reason = CRL_REASON_CERTIFICATE_HOLD}, lift = {.reason = CRL_REASON_REMOVE_FROM_CRL};

    xt_pki_make(&p, NULL);
    hold.serial = lift.serial = pkigen_serial(p.leaf);
    hold.revoked_at = p.now - 3 * XT_DAY;
    lift.revoked_at = p.now - XT_DAY;
    crls[0] = pkigen_crl_new(p.in, NULL, p.now - 3 * XT_DAY, p.now + 7 * XT_DAY, &hold, 1, NULL);
    crls[1] = pkigen_crl_new(p.in, NULL, p.now - XT_DAY, p.now + 7 * XT_DAY, &lift, 1, NULL);
    crls[2] = pkigen_crl_new(p.root, NULL, p.now - XT_DAY, p.now + 7 * XT_DAY, NULL, 0, NULL);
    cr_assert_str_eq(xt_simple(&res, &p, crls, 3, NULL), "OK", "%s", res.message);
    /* Without the later CRL the hold stands. */
    {
        X509_CRL *two[2] = {crls[0], crls[2]};

        cr_assert_str_eq(xt_simple(&res, &p, two, 2, NULL), "CERT_REVOKED", "%s", res.message);
    }
    for (int i = 0; i < 3; i++) {
        X509_CRL_free(crls[i]);
    }
    xt_pki_free(&p);
}

Test(x509, stale_crl)
{
    xt_pki p;
    sign_x509_result res;
    X509_CRL *crls[2];

    xt_pki_make(&p, NULL);
    crls[0] = pkigen_crl_new(p.in, NULL, p.now - 10 * XT_DAY, p.now - XT_DAY, NULL, 0, NULL);
    crls[1] = pkigen_crl_new(p.root, NULL, p.now - XT_DAY, p.now + 7 * XT_DAY, NULL, 0, NULL);
    cr_assert_str_eq(xt_simple(&res, &p, crls, 2, NULL), "CRL_STALE", "%s", res.message);
    cr_assert_eq(res.code, SIGN_EEXPIRED);
    xt_crls_free(crls);
    xt_pki_free(&p);
}

Test(x509, crl_signed_by_another_issuer)
{
    xt_pki p, other;
    sign_x509_result res;
    X509_CRL *crls[2];

    xt_pki_make(&p, NULL);
    xt_pki_make(&other, NULL);
    /* Names our intermediate as issuer, signed by another key. */
    crls[0] = pkigen_crl_new(p.in, other.in, p.now - XT_DAY, p.now + 7 * XT_DAY, NULL, 0, NULL);
    crls[1] = pkigen_crl_new(p.root, NULL, p.now - XT_DAY, p.now + 7 * XT_DAY, NULL, 0, NULL);
    cr_assert_str_eq(xt_simple(&res, &p, crls, 2, NULL), "CRL_SIGNATURE_INVALID", "%s", res.message);
    cr_assert_eq(res.code, SIGN_EREVOKED);
    xt_crls_free(crls);
    xt_pki_free(&p);
    xt_pki_free(&other);
}

Test(x509, crl_missing_for_a_chain_certificate)
{
    xt_pki p;
    sign_x509_result res;
    X509_CRL *crl;

    xt_pki_make(&p, NULL);
    /* The intermediate's CRL (covering the leaf) but none from the root (covering the intermediate). */
    crl = pkigen_crl_new(p.in, NULL, p.now - XT_DAY, p.now + 7 * XT_DAY, NULL, 0, NULL);
    cr_assert_str_eq(xt_simple(&res, &p, &crl, 1, NULL), "CRL_MISSING", "%s", res.message);
    cr_assert(strstr(res.message, "Test Root") != NULL, "%s", res.message);
    X509_CRL_free(crl);
    xt_pki_free(&p);
}

Test(x509, subject_patterns)
{
    pkigen_cert_opts lo = {
        .cn = "Release Signing 1", .email = "release@example.com", .uri = "https://ci.example.com/release"};
    xt_pki p;
    sign_x509_result res;
    const pkigen_cert *chain[1], *ints[1];
    const char *dn[] = {"CN=Release Signing*"}, *mail[] = {"*@example.com"}, *uri[] = {"https://ci.example.com/*"},
               *none[] = {"CN=Other*", "*@other.org"};

    xt_pki_make(&p, &lo);
    chain[0] = p.leaf;
    ints[0] = p.in;
    cr_assert_str_eq(xt_verify(&res, chain, 1, p.root, ints, 1, NULL, 0, dn, 1, 0, NULL), "OK", "%s", res.message);
    cr_assert_str_eq(xt_verify(&res, chain, 1, p.root, ints, 1, NULL, 0, mail, 1, 0, NULL), "OK", "%s", res.message);
    cr_assert_str_eq(xt_verify(&res, chain, 1, p.root, ints, 1, NULL, 0, uri, 1, 0, NULL), "OK", "%s", res.message);
    cr_assert_str_eq(xt_verify(&res, chain, 1, p.root, ints, 1, NULL, 0, none, 2, 0, NULL), "SUBJECT_NOT_ALLOWED",
                     "%s", res.message);
    cr_assert_eq(res.code, SIGN_EUNTRUSTED);
    xt_pki_free(&p);
}

/* verify p's leaf (intermediate from the trust) with subject and issuer globs. */
static const char *xt_identity(sign_x509_result *res, xt_pki *p, const char *const *subjects, size_t ns,
                               const char *const *issuers, size_t ni)
{
    const pkigen_cert *leaf = p->leaf, *root = p->root, *in = p->in;
    sign_x509_certs *c = pkigen_certs(&leaf, 1), *r = pkigen_certs(&root, 1), *i = pkigen_certs(&in, 1);
    sign_x509_trust t = SIGN_X509_TRUST_INIT;

    t.roots = r;
    t.intermediates = i;
    t.subjects = subjects;
    t.nsubjects = ns;
    t.issuers = issuers;
    t.nissuers = ni;
    cr_assert_eq(sign_x509_verify(res, c, &t, NULL), res->code);
    sign_x509_certs_free(c);
    sign_x509_certs_free(r);
    sign_x509_certs_free(i);
    return res->reason;
}

/*
 * Fulcio identities: an empty subject DN, the identity in an email or URI SAN, the OIDC issuer in extension
 * 1.3.6.1.4.1.57264.1.8 (or the deprecated .1.1). Messages name the SAN; issuers globs must match.
 */
Test(x509, fulcio_identity_san_and_oidc_issuer)
{
    pkigen_cert_opts lo = {.cn = "fulcio",
                           .empty_subject = 1,
                           .email = "dev@example.com",
                           .oidc_issuer = "https://accounts.example.com"};
    pkigen_cert_opts wo = {.cn = "workflow",
                           .empty_subject = 1,
                           .uri = "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main",
                           .oidc_issuer_v1 = "https://token.actions.githubusercontent.com"};
    pkigen_cert_opts no = {.cn = "no issuer", .empty_subject = 1, .email = "dev@example.com"};
    const char *mail[] = {"dev@example.com"}, *other_mail[] = {"*@other.org"};
    const char *iss[] = {"https://accounts.example.com"}, *gh[] = {"https://token.actions.githubusercontent.com"};
    const char *wf[] = {"https://github.com/org/repo/.github/workflows/*"};
    sign_x509_result res;
    sign_x509_info info;
    sign_x509_certs *c;
    const pkigen_cert *leaf;
    xt_pki p;

    xt_pki_make(&p, &lo);
    cr_assert_str_eq(xt_identity(&res, &p, mail, 1, iss, 1), "OK", "%s", res.message);
    cr_assert_str_eq(res.subject, "dev@example.com", "the SAN names a certificate without a DN");
    leaf = p.leaf;
    c = pkigen_certs(&leaf, 1);
    cr_assert_eq(sign_x509_certs_info(&info, c, 0), 0);
    cr_assert_str_eq(info.subject, "dev@example.com");
    sign_x509_certs_free(c);
    cr_assert_str_eq(xt_identity(&res, &p, other_mail, 1, iss, 1), "SUBJECT_NOT_ALLOWED", "%s", res.message);
    cr_assert(strstr(res.message, "certificate dev@example.com ") != NULL, "%s", res.message);
    cr_assert_str_eq(xt_identity(&res, &p, mail, 1, gh, 1), "ISSUER_NOT_ALLOWED", "%s", res.message);
    cr_assert_eq(res.code, SIGN_EUNTRUSTED);
    cr_assert(strstr(res.message, "https://accounts.example.com") != NULL, "%s", res.message);
    xt_pki_free(&p);

    /* The deprecated raw extension, a URI identity (a CI workflow). */
    xt_pki_make(&p, &wo);
    cr_assert_str_eq(xt_identity(&res, &p, wf, 1, gh, 1), "OK", "%s", res.message);
    cr_assert_str_eq(xt_identity(&res, &p, wf, 1, iss, 1), "ISSUER_NOT_ALLOWED", "%s", res.message);
    xt_pki_free(&p);

    /* No issuer extension: refused when issuers are required, accepted when none are. */
    xt_pki_make(&p, &no);
    cr_assert_str_eq(xt_identity(&res, &p, mail, 1, iss, 1), "ISSUER_NOT_ALLOWED", "%s", res.message);
    cr_assert(strstr(res.message, "carries no OIDC issuer") != NULL, "%s", res.message);
    cr_assert_str_eq(xt_identity(&res, &p, mail, 1, NULL, 0), "OK", "%s", res.message);
    xt_pki_free(&p);
}

Test(x509, rsa1024_refused)
{
    pkigen_cert_opts lo = {.cn = "Weak", .key = PKIGEN_RSA1024};
    xt_pki p;
    sign_x509_result res;

    xt_pki_make(&p, &lo);
    cr_assert_str_eq(xt_simple(&res, &p, NULL, 0, NULL), "WEAK_ALGORITHM", "%s", res.message);
    cr_assert_eq(res.code, SIGN_EUNTRUSTED);
    cr_assert(strstr(res.message, "1024") != NULL, "%s", res.message);
    xt_pki_free(&p);
}

Test(x509, sha1_signature_refused)
{
    pkigen_cert_opts lo = {.cn = "SHA1 leaf", .md = "SHA1"};
    xt_pki p;
    sign_x509_result res;

    xt_pki_make(&p, &lo);
    cr_assert_str_eq(xt_simple(&res, &p, NULL, 0, NULL), "WEAK_ALGORITHM", "%s", res.message);
    cr_assert(strstr(res.message, "SHA1") != NULL, "%s", res.message);
    xt_pki_free(&p);
}

Test(x509, key_types_verify)
{
    const char *types[] = {PKIGEN_EC256, PKIGEN_EC384, PKIGEN_ED25519, PKIGEN_RSA2048};

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        pkigen_cert_opts lo = {.cn = "Release Signing 1", .key = types[i]};
        xt_pki p;
        sign_x509_result res;
        sign_x509_certs *c;
        sign_key *k = NULL;

        xt_pki_make(&p, &lo);
        cr_assert_str_eq(xt_simple(&res, &p, NULL, 0, NULL), "OK", "%s: %s", types[i], res.message);
        c = pkigen_certs((const pkigen_cert *const *)&p.leaf, 1);
        cr_assert_eq(sign_x509_certs_key(&k, c, 0), 0, "%s", sign_error_last());
        cr_assert_eq(sign_x509_key_matches(c, 0, k), 1);
        sign_key_free(k);
        sign_x509_certs_free(c);
        xt_pki_free(&p);
    }
}

Test(x509, load_pem_der_and_refuse_garbage)
{
    char *dir = tu_mkdtemp(), *pem = tu_path(dir, "c.pem"), *der = tu_path(dir, "c.der"),
         *crlp = tu_path(dir, "c.crl"), *bad = tu_path(dir, "bad.pem");
    xt_pki p;
    const pkigen_cert *two[2];
    sign_x509_certs *c = NULL;
    sign_x509_crls *l = NULL;
    X509_CRL *crl;
    char *text;
    size_t len;

    xt_pki_make(&p, NULL);
    two[0] = p.leaf;
    two[1] = p.in;
    pkigen_write_certs(pem, two, 2);
    cr_assert_eq(sign_x509_certs_load(&c, pem), 0, "%s", sign_error_last());
    cr_assert_eq(sign_x509_certs_count(c), 2);
    sign_x509_certs_free(c);
    pkigen_write_der(der, p.leaf);
    cr_assert_eq(sign_x509_certs_load(&c, der), 0, "%s", sign_error_last());
    cr_assert_eq(sign_x509_certs_count(c), 1);
    sign_x509_certs_free(c);
    crl = pkigen_crl_new(p.in, NULL, p.now, p.now + XT_DAY, NULL, 0, NULL);
    pkigen_write_crl(crlp, crl, 1);
    cr_assert_eq(sign_x509_crls_load(&l, crlp), 0, "%s", sign_error_last());
    sign_x509_crls_free(l);
    pkigen_write_crl(crlp, crl, 0);
    cr_assert_eq(sign_x509_crls_load(&l, crlp), 0, "%s", sign_error_last());
    cr_assert_eq(sign_x509_crls_count(l), 1);
    sign_x509_crls_free(l);
    /* A certificate is not a CRL, nor the reverse. */
    cr_assert_eq(sign_x509_crls_load(&l, pem), SIGN_EPARSE);
    cr_assert_null(l);
    cr_assert_eq(sign_x509_certs_load(&c, crlp), SIGN_EPARSE);
    /* DER with trailing bytes; a truncated PEM block; an empty file. */
    text = tu_read(der, &len);
    text = realloc(text, len + 3);
    memcpy(text + len, "xyz", 3);
    tu_write(bad, text, len + 3);
    cr_assert_eq(sign_x509_certs_load(&c, bad), SIGN_EPARSE);
    free(text);
    text = tu_read(pem, &len);
    tu_write(bad, text, len / 3);
    cr_assert_eq(sign_x509_certs_load(&c, bad), SIGN_EPARSE, "%s", sign_error_last());
    free(text);
    tu_write(bad, "", 0);
    cr_assert_eq(sign_x509_certs_load(&c, bad), SIGN_EPARSE);
    cr_assert_null(c);
    X509_CRL_free(crl);
    xt_pki_free(&p);
    tu_rmtree(dir);
    free(dir);
    free(pem);
    free(der);
    free(crlp);
    free(bad);
}

static int xt_pass_cb(char *buf, size_t size, int confirm, void *userdata)
{
    const char *pass = userdata;
    size_t n = strlen(pass);

    (void)confirm;
    if (n > size) {
        return -1;
    }
    memcpy(buf, pass, n);
    return (int)n;
}

Test(x509, pkcs12_load_and_wrong_passphrase)
{
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "signer.p12");
    xt_pki p;
    const pkigen_cert *extra[1];
    sign_key *k = NULL;
    sign_x509_certs *c = NULL;

    xt_pki_make(&p, NULL);
    extra[0] = p.in;
    pkigen_write_p12(path, p.leaf, extra, 1, "correct horse");
    cr_assert_eq(sign_x509_load_p12(&k, &c, path, xt_pass_cb, (void *)"correct horse"), 0, "%s", sign_error_last());
    cr_assert_eq(sign_x509_certs_count(c), 2);
    cr_assert_eq(sign_x509_key_matches(c, 0, k), 1);
    cr_assert_eq(sign_key_has_private(k), 1);
    sign_key_free(k);
    sign_x509_certs_free(c);
    k = NULL;
    c = NULL;
    cr_assert_eq(sign_x509_load_p12(&k, &c, path, xt_pass_cb, (void *)"wrong"), SIGN_EPASSPHRASE);
    cr_assert(strstr(sign_error_last(), "wrong passphrase") != NULL, "%s", sign_error_last());
    cr_assert_null(k);
    cr_assert_null(c);
    cr_assert_eq(sign_x509_load_p12(&k, &c, path, NULL, NULL), SIGN_EPASSPHRASE);
    xt_pki_free(&p);
    tu_rmtree(dir);
    free(dir);
    free(path);
}

Test(x509, key_mismatch_detected)
{
    xt_pki p;
    sign_x509_certs *c;
    sign_key *k = NULL;

    xt_pki_make(&p, NULL);
    c = pkigen_certs((const pkigen_cert *const *)&p.leaf, 1);
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ECDSA_P256, 0), 0);
    cr_assert_eq(sign_x509_key_matches(c, 0, k), 0);
    sign_key_free(k);
    sign_x509_certs_free(c);
    xt_pki_free(&p);
}

Test(x509, eku_names)
{
    cr_assert_str_eq(sign_x509_eku_oid(NULL), "1.3.6.1.5.5.7.3.3");
    cr_assert_str_eq(sign_x509_eku_oid("codeSigning"), "1.3.6.1.5.5.7.3.3");
    cr_assert_str_eq(sign_x509_eku_oid("1.2.3.4"), "1.2.3.4");
    cr_assert_null(sign_x509_eku_oid("codesigning"));
    cr_assert_null(sign_x509_eku_oid("1..2"));
    cr_assert_null(sign_x509_eku_oid("1."));
}

/* The one ASN1_TIME reader of the chain, CRL and timestamp checks. */
Test(x509, asn1_time_epoch_reads_utc_and_generalized_times)
{
    static const struct {
        const char *text;
        int utc;
        int rc;
        int64_t want;
    } cases[] = {
        {"700101000000Z", 1, 0, 0},
        {"691231235959Z", 1, 0, -1}, /* a real -1, not an error */
        {"491231235959Z", 1, 0, 2524607999},
        {"500101000000Z", 1, 0, -631152000},
        {"20260102030405Z", 0, 0, 1767323045},
        {"99991231235959Z", 0, 0, 253402300799},
        {"20261302030405Z", 0, -1, 0}, /* month 13 */
        {"2026010203Z", 0, -1, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ASN1_TIME *t = ASN1_TIME_new();
        int64_t got = 42;

        cr_assert_not_null(t);
        /* Set the string without OpenSSL's own check, as a hostile certificate would carry it. */
        t->type = cases[i].utc ? V_ASN1_UTCTIME : V_ASN1_GENERALIZEDTIME;
        cr_assert_eq(ASN1_STRING_set(t, cases[i].text, (int)strlen(cases[i].text)), 1);
        cr_assert_eq(sign__asn1_time_epoch(&got, t), cases[i].rc, "%s", cases[i].text);
        cr_assert_eq(got, cases[i].want, "%s: %lld", cases[i].text, (long long)got);
        ASN1_TIME_free(t);
    }
    cr_assert_eq(sign__asn1_time_epoch(&(int64_t){42}, NULL), -1);
}

/* ---- DER only (issue 14, item 6) ---- */

/* der with its outer SEQUENCE re-encoded with an indefinite length (BER); malloc'd. */
static unsigned char *xt_indefinite(const unsigned char *der, size_t len, size_t *outlen)
{
    size_t hdr = der[1] < 0x80 ? 2 : 2 + (der[1] & 0x7fu);
    unsigned char *o = malloc(len + 4);

    cr_assert_not_null(o);
    o[0] = der[0];
    o[1] = 0x80;
    memcpy(o + 2, der + hdr, len - hdr);
    o[2 + len - hdr] = 0;
    o[3 + len - hdr] = 0;
    *outlen = len - hdr + 4;
    return o;
}

static char *xt_pem(const char *label, const unsigned char *der, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL, *out;
    long n;

    cr_assert(PEM_write_bio(b, label, "", der, (long)len) > 0);
    n = BIO_get_mem_data(b, &data);
    out = calloc(1, (size_t)n + 1);
    memcpy(out, data, (size_t)n);
    BIO_free(b);
    return out;
}

Test(x509, certificates_and_crls_must_be_der)
{
    pkigen_cert_opts ro = {.cn = "DER Root", .ca = 1};
    pkigen_cert *root = pkigen_cert_new(&ro, NULL);
    X509_CRL *crl = pkigen_crl_new(root, NULL, time(NULL) - 60, time(NULL) + 3600, NULL, 0, NULL);
    unsigned char *der = NULL, *ber, *cder = NULL;
    size_t blen = 0;
    int len = i2d_X509(root->x, &der), clen = i2d_X509_CRL(crl, &cder);
    sign_x509_certs *c = NULL;
    sign_x509_crls *cl = NULL;
    char *pem;

    cr_assert_gt(len, 0);
    cr_assert_gt(clen, 0);
    cr_assert_eq(sign_x509_certs_parse(&c, der, (size_t)len, "root"), 0, "%s", sign_error_last());
    sign_x509_certs_free(c);
    c = NULL;
    ber = xt_indefinite(der, (size_t)len, &blen);
    cr_assert_eq(sign_x509_certs_parse(&c, ber, blen, "root"), SIGN_EPARSE);
    cr_assert_not_null(strstr(sign_error_last(), "not DER"), "%s", sign_error_last());
    pem = xt_pem("CERTIFICATE", ber, blen);
    cr_assert_eq(sign_x509_certs_parse(&c, pem, strlen(pem), "root.pem"), SIGN_EPARSE, "PEM of BER");
    cr_assert_not_null(strstr(sign_error_last(), "not DER"), "%s", sign_error_last());
    cr_assert_eq(sign_x509_certs_new(&c), 0);
    cr_assert_eq(sign_x509_certs_add_der(c, ber, blen), SIGN_EPARSE, "a bundle's chain certificate");
    sign_x509_certs_free(c);
    c = NULL;
    free(ber);
    free(pem);
    /* CRLs: DER accepted, BER refused (DER and PEM). */
    cr_assert_eq(sign_x509_crls_parse(&cl, cder, (size_t)clen, "crl"), 0, "%s", sign_error_last());
    sign_x509_crls_free(cl);
    cl = NULL;
    ber = xt_indefinite(cder, (size_t)clen, &blen);
    cr_assert_eq(sign_x509_crls_parse(&cl, ber, blen, "crl"), SIGN_EPARSE);
    cr_assert_not_null(strstr(sign_error_last(), "not DER"), "%s", sign_error_last());
    pem = xt_pem("X509 CRL", ber, blen);
    cr_assert_eq(sign_x509_crls_parse(&cl, pem, strlen(pem), "crl.pem"), SIGN_EPARSE);
    free(pem);
    free(ber);
    OPENSSL_free(der);
    OPENSSL_free(cder);
    X509_CRL_free(crl);
    pkigen_cert_free(root);
}

/* keyCompromise without invalidityDate revokes every signature, timestamped before it or not (issue 14, 8). */
Test(x509, key_compromise_without_invalidity_date_revokes_every_signature)
{
    static const int compromise[] = {CRL_REASON_KEY_COMPROMISE, CRL_REASON_CA_COMPROMISE, CRL_REASON_AA_COMPROMISE, 7,
                                     42};
    xt_pki p;
    sign_x509_result res;
    X509_CRL *crls[2];
    pkigen_crl_entry e = {.reason = CRL_REASON_KEY_COMPROMISE};
    int64_t before;

    xt_pki_make(&p, NULL);
    before = p.now - 3 * XT_DAY;
    for (size_t i = 0; i < sizeof(compromise) / sizeof(compromise[0]); i++) {
        e.serial = pkigen_serial(p.leaf);
        e.reason = compromise[i];
        e.revoked_at = p.now - 2 * XT_DAY; /* after the trusted signing time */
        e.invalidity = 0;
        xt_crls(crls, &p, &e, 1);
        cr_assert_str_eq(xt_simple(&res, &p, crls, 2, &before), "CERT_REVOKED", "reason %d: %s", compromise[i],
                         res.message);
        cr_assert_not_null(strstr(res.message, "compromised"), "%s", res.message);
        xt_crls_free(crls);
        /* With an invalidityDate after the signing time, that date is the cut-off: still valid. */
        e.invalidity = p.now - 2 * XT_DAY - 3600;
        xt_crls(crls, &p, &e, 1);
        cr_assert_str_eq(xt_simple(&res, &p, crls, 2, &before), "OK", "reason %d: %s", compromise[i], res.message);
        xt_crls_free(crls);
    }
    /* No reason and unspecified keep the date rule. */
    e.reason = -1;
    e.invalidity = 0;
    xt_crls(crls, &p, &e, 1);
    cr_assert_str_eq(xt_simple(&res, &p, crls, 2, &before), "OK", "%s", res.message);
    xt_crls_free(crls);
    e.reason = CRL_REASON_UNSPECIFIED;
    xt_crls(crls, &p, &e, 1);
    cr_assert_str_eq(xt_simple(&res, &p, crls, 2, &before), "OK", "%s", res.message);
    xt_crls_free(crls);
    xt_pki_free(&p);
}
