/* Checks of one bundle, in order: well-formed, signature and signer (policy key or certificate), timestamps, key
 * validity, statement, signature age. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pki.h"
#include "verify_internal.h"

/*
 * The bundle's signature under key: a DSSE signature over the PAE, or a messageSignature over the artifact, checked
 * against the digest the bundle names (which the artifact check then recomputes and requires: the two together are
 * the signature over the artifact's bytes). 0, SIGN_EBADSIG, or SIGN_EUNSUPPORTED for a key that signs the message
 * itself (Ed25519) or a digest its algorithm is not paired with.
 */
static int bundle_sig_verify(const vb *b, const sign_envelope *env, const sign_key *key)
{
    sign__bundle_msg m;

    if (env != NULL) {
        return sign_envelope_verify(env, 0, key);
    }
    if (!sign__bundle_message(b->bundle, &m)) {
        return sign__error(SIGN_EINVAL, "a bundle without content");
    }
    return sign__key_verify_digest(key, m.alg, m.digest, m.digestlen, m.sig, m.siglen);
}

/* The signature bytes of the bundle (what an RFC 3161 timestamp's imprint covers). */
static const unsigned char *bundle_sig_bytes(const vb *b, size_t *len)
{
    const sign_envelope *env = sign_bundle_envelope(b->bundle);
    sign__bundle_msg m;

    if (env != NULL) {
        return sign_envelope_signature(env, 0, len);
    }
    (void)sign__bundle_message(b->bundle, &m);
    *len = m.siglen;
    return m.sig;
}

/* A messageSignature under a key whose algorithm cannot check it (Ed25519: the signature is over the artifact's
   bytes, which signet does not keep), recorded as SIGNATURE_INVALID with that reason. */
static int message_unsupported(vctx *c, vb *b, const char *who)
{
    return vfy_add_check(c, "signature", SIGN_CHECK_FAIL, "SIGNATURE_INVALID", SIGN_EBADSIG,
                         (vwhere){b->for_artifact, b->path, who},
                         "bundle %s: its messageSignature cannot be checked under %s: %s; signet checks "
                         "messageSignature bundles of ECDSA and RSA keys (over the artifact's SHA-256, or SHA-384 "
                         "for P-384) - sign a DSSE bundle instead",
                         b->path, who, sign_error_last());
}

/*
 * A bundle with a certificate: the leaf (and the bundle's chain) are read,
 * and the signature must verify under the leaf's key. *go_on is set when
 * it does; otherwise the failure was recorded.
 */
static int cert_signature(vctx *c, vb *b, const sign_envelope *env, int *go_on)
{
    const char *art = b->for_artifact;
    const unsigned char *der;
    size_t len = 0, n = sign_bundle_chain_count(b->bundle);
    sign_x509_info info;
    int r;

    *go_on = 0;
    if ((r = sign_x509_certs_new(&b->certs)) != 0) {
        return r;
    }
    for (size_t i = 0; i < (n > 0 ? n : 1) && r == 0; i++) {
        der = n > 0 ? sign_bundle_chain_cert(b->bundle, i, &len) : sign_bundle_certificate(b->bundle, &len);
        r = sign_x509_certs_add_der(b->certs, der, len);
    }
    if (r == 0) {
        r = sign_x509_certs_info(&info, b->certs, 0);
    }
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r != 0) {
        return vfy_add_check(c, "signer", SIGN_CHECK_FAIL, "CERTIFICATE_MALFORMED", SIGN_EPARSE,
                             (vwhere){art, b->path, NULL},
                             "bundle %s: its certificate cannot be read: %s; re-sign with signet sign --cert",
                             b->path, sign_error_last());
    }
    snprintf(b->subject, sizeof(b->subject), "%s", info.subject);
    b->signer = b->subject;
    b->signer_kind = "certificate";
    r = sign_x509_certs_key(&b->cert_key, b->certs, 0);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r != 0) {
        /* A weak key of an accepted algorithm (small order, off the curve, tiny modulus) is WEAK_KEY. */
        return vfy_add_check(
            c, "signature", SIGN_CHECK_FAIL,
            strstr(sign_error_last(), "WEAK_KEY") != NULL ? "WEAK_KEY" : "WEAK_ALGORITHM", SIGN_EUNTRUSTED,
            (vwhere){art, b->path, b->signer},
            "bundle %s: the key of certificate %s is not accepted: %s; sign with an ECDSA P-256/P-384, "
            "Ed25519 or RSA (2048 bits or more) certificate",
            b->path, b->signer, sign_error_last());
    }
    if ((r = sign_key_id(b->signer_id, sizeof(b->signer_id), b->cert_key)) != 0) {
        return r;
    }
    /* The same key listed as a raw policy key counts once with it. */
    for (size_t i = 0; i < c->policy->nkeys; i++) {
        if (sign__key_same(c->policy->keys[i].key, b->cert_key)) {
            snprintf(b->signer_id, sizeof(b->signer_id), "%s", c->policy->keys[i].keyid);
        }
    }
    if ((r = bundle_sig_verify(b, env, b->cert_key)) == SIGN_ENOMEM) {
        return r; /* not a verdict on the signature */
    }
    if (r != 0) {
        if (r == SIGN_EUNSUPPORTED) {
            return message_unsupported(c, b, b->signer);
        }
        sign__error_clear();
        return vfy_add_check(
            c, "signature", SIGN_CHECK_FAIL, "SIGNATURE_INVALID", SIGN_EBADSIG, (vwhere){art, b->path, b->signer},
            "bundle %s: the signature does not verify under the key of its certificate %s; the bundle "
            "was altered or signed by another key - re-sign the artifacts",
            b->path, b->signer);
    }
    *go_on = 1;
    return vfy_add_check(c, "signature", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, b->signer},
                         "bundle %s: signature verifies under the key of certificate %s (key id %s)", b->path,
                         b->signer, b->signer_id);
}

/* The check a sign_x509_verify reason belongs to. */
static const char *cert_check_name(const char *reason)
{
    if (strcmp(reason, "CERT_EXPIRED") == 0 || strcmp(reason, "CERT_NOT_YET_VALID") == 0) {
        return "key-validity";
    }
    if (strncmp(reason, "CRL_", 4) == 0 || strcmp(reason, "CERT_REVOKED") == 0) {
        return "revocation";
    }
    return "signer";
}

static int chain_not_built(const char *reason)
{
    return strcmp(reason, "ROOT_UNKNOWN") == 0 || strcmp(reason, "CHAIN_INCOMPLETE") == 0 ||
           strcmp(reason, "CHAIN_INVALID") == 0;
}

/*
 * sign_x509_verify at the trusted signing time: at genTime + accuracy first (the latest moment the signature may
 * have been made: validity ends and revocations count from there), then, when the token has an accuracy, at
 * genTime itself (not yet valid). The start is judged at genTime, as Sigstore's verifiers do, not at genTime -
 * accuracy: a token whose genTime is the certificate's notBefore (a Fulcio certificate stamped in the second it
 * was issued) proves a signature made while the certificate was valid; one before it is CERT_NOT_YET_VALID.
 */
static int x509_over_interval(sign_x509_result *res, const vb *b, const sign_x509_trust *t,
                              const sign_x509_verify_options *opts)
{
    sign_x509_verify_options o = *opts;
    int64_t hi = b->signing_time + b->signing_accuracy, lo = b->signing_time;
    int r;

    if (!b->has_signing_time) {
        return sign_x509_verify(res, b->certs, t, &o);
    }
    o.signing_time = &hi;
    r = sign_x509_verify(res, b->certs, t, &o);
    if (r == 0 && b->signing_accuracy > 0) {
        o.signing_time = &lo;
        r = sign_x509_verify(res, b->certs, t, &o);
    }
    return r;
}

/* The index of the first authority of the trusted root that holds the chain and is valid at `when` (tr->ncas:
   none), and in *held how many held it outside their validity. */
static size_t ca_valid_at(X509 **issuer, size_t *held, const sign__trusted_root *tr, const sign_x509_certs *certs,
                          X509 *leaf, int64_t when)
{
    size_t i = 0;

    *held = 0;
    for (; sign__trusted_root_ca_for(&i, issuer, tr, certs, leaf) == 0; i++, (*held)++) {
        if (sign__tr_window_holds(&tr->cas[i].valid, when)) {
            break;
        }
    }
    sign__error_clear();
    return i;
}

/*
 * A chain that built to the certificate authorities of the trusted root (a roots[] entry without certificates):
 * the authority it ends in must be valid (validFor) at the signing time (the trusted time, else the time judged),
 * and when the trusted root lists CT logs, the leaf must carry an SCT of one of them (as cosign and sigstore-go
 * require). 0 with *ok set, or the failure recorded.
 */
static int trusted_root_checks(vctx *c, vb *b, const sign__policy_root *rt, int *ok)
{
    const sign__trusted_root *tr = c->policy->trusted_root;
    X509 *leaf = sign__x509_cert_at(b->certs, 0), *issuer = NULL;
    int64_t when = b->has_signing_time ? b->signing_time : c->at;
    sign__sct_check sct;
    size_t i = 0, held = 0, again = 0;
    char at[32] = "";
    int r;

    *ok = 0;
    if (tr == NULL || rt->certificates != NULL) {
        *ok = 1;
        return 0;
    }
    i = ca_valid_at(&issuer, &held, tr, b->certs, leaf, when);
    /* Matching issuers allocates inside OpenSSL, which reports a failure as no match: a chain no authority
       holds is matched once more, and a different answer then means memory ran out the first time (the
       verify fails either way). */
    if (i >= tr->ncas && (ca_valid_at(&issuer, &again, tr, b->certs, leaf, when) < tr->ncas || again != held)) {
        return sign__error(SIGN_ENOMEM, "out of memory (matching the chain to the trusted root)");
    }
    sign_format_time(at, sizeof(at), when);
    if (i >= tr->ncas) {
        return vfy_add_check(
            c, held > 0 ? "key-validity" : "signer", SIGN_CHECK_FAIL,
            held > 0 ? "CA_OUTSIDE_VALIDITY" : "CHAIN_INVALID", held > 0 ? SIGN_EEXPIRED : SIGN_EUNTRUSTED,
            (vwhere){b->for_artifact, b->path, b->signer},
            held > 0 ? "bundle %s: certificate %s was issued by a certificate authority of the trusted root that is "
                       "not valid (validFor) at the signing time %s (policy root \"%s\"); the CA was retired, or the "
                       "trusted root is out of date"
                     : "bundle %s: the chain of certificate %s does not end in the certificates of one certificate "
                       "authority of the trusted root (signing time %s, policy root \"%s\")",
            b->path, b->signer, at, rt->name);
    }
    if (!sign__trusted_root_has_ctlogs(tr)) {
        *ok = 1;
        return 0;
    }
    if ((r = sign__sct_verify(&sct, leaf, issuer, tr)) == SIGN_ENOMEM) {
        return r;
    }
    if (r != 0 && sign__sct_verify(&sct, leaf, issuer, tr) == 0) {
        /* refused, then verified: an allocation failed inside OpenSSL the first time (as above) */
        return sign__error(SIGN_ENOMEM, "out of memory (verifying the certificate's SCT)");
    }
    if (r != 0) {
        return vfy_add_check(c, "signer", SIGN_CHECK_FAIL, sct.reason, sct.code,
                             (vwhere){b->for_artifact, b->path, b->signer},
                             "bundle %s: certificate %s: %s (policy root \"%s\"); a certificate of a CA that logs "
                             "to certificate transparency must carry an SCT of a CT log of the trusted root",
                             b->path, b->signer, sct.message, rt->name);
    }
    *ok = 1;
    return vfy_add_check(
        c, "signer", SIGN_CHECK_PASS, "OK", 0, (vwhere){b->for_artifact, b->path, b->signer},
        "bundle %s: certificate %s carries a signed certificate timestamp of a CT log of the trusted "
        "root, valid at its time",
        b->path, b->signer);
}

/*
 * The certificate must chain to a policy root with every check passing,
 * judged at the trusted signing time when there is one, else at now (--at).
 * The first root the chain builds to decides. *go_on is set when the
 * statement should still be read (trusted, or only expired/revoked).
 */
static int cert_trust(vctx *c, vb *b, int *go_on)
{
    const sign_policy *p = c->policy;
    const char *art = b->for_artifact;
    sign_x509_verify_options o = SIGN_X509_VERIFY_OPTIONS_INIT;
    sign_x509_result res, first;
    char when[32];
    size_t chosen = SIZE_MAX;
    int r;

    *go_on = 0;
    if (p->nroots == 0) {
        return vfy_add_check(
            c, "signer", SIGN_CHECK_FAIL, "ROOT_UNKNOWN", SIGN_EUNTRUSTED, (vwhere){art, b->path, b->signer},
            "bundle %s is signed with certificate %s, but the policy names no roots; add its root CA "
            "to the policy's roots, or sign with a policy key",
            b->path, b->signer);
    }
    o.at = c->at;
    o.flags |= SIGN_X509_AT; /* c->at is the time judged, the epoch included */
    o.signing_time = b->has_signing_time ? &b->signing_time : NULL;
    if (c->fetch_crl) {
        o.flags |= SIGN_X509_FETCH_CRL;
        o.crl_cache_dir = c->crl_cache_dir;
        o.crl_timeout_ms = c->crl_timeout_ms;
    }
    memset(&first, 0, sizeof(first));
    for (size_t i = 0; i < p->nroots; i++) {
        const sign__policy_root *rt = &p->roots[i];
        sign_x509_trust t = SIGN_X509_TRUST_INIT;

        t.roots = rt->root_certs;
        t.intermediates = rt->intermediate_certs;
        t.crls = rt->crl_list;
        t.eku = rt->eku;
        t.subjects = (const char *const *)rt->subjects;
        t.nsubjects = rt->nsubjects;
        t.issuers = (const char *const *)rt->issuers;
        t.nissuers = rt->nissuers;
        r = x509_over_interval(&res, b, &t, &o);
        if (r != 0 && strcmp(res.reason, "ERROR") == 0) {
            return r;
        }
        if (i == 0) {
            first = res;
        }
        if (r == 0 || !chain_not_built(res.reason)) {
            chosen = i;
            break;
        }
    }
    sign__error_clear();
    if (chosen == SIZE_MAX) {
        return vfy_add_check(c, "signer", SIGN_CHECK_FAIL, first.reason, first.code,
                             (vwhere){art, b->path, b->signer}, "bundle %s: %s%s", b->path, first.message,
                             p->nroots > 1 ? " (reported for the first root; no other root accepts it either)" : "");
    }
    b->globs = p->roots[chosen].artifacts;
    b->nglobs = p->roots[chosen].nartifacts;
    b->ptypes = p->roots[chosen].predicate_types;
    b->nptypes = p->roots[chosen].npredicate_types;
    if (sign_format_time(when, sizeof(when), res.judged_at) != 0) {
        snprintf(when, sizeof(when), "%lld", (long long)res.judged_at);
    }
    if (res.code != 0) {
        const char *check = cert_check_name(res.reason);

        r = vfy_add_check(c, check, SIGN_CHECK_FAIL, res.reason, res.code, (vwhere){art, b->path, b->signer},
                          "bundle %s: %s (policy root \"%s\")", b->path, res.message, p->roots[chosen].name);
        /* Trusted but expired or revoked: the statement is still read and reported, never counted. */
        *go_on = r == 0 && strcmp(check, "signer") != 0;
        return r;
    }
    if ((r = trusted_root_checks(c, b, &p->roots[chosen], go_on)) != 0 || !*go_on) {
        *go_on = 0;
        return r;
    }
    b->in_window = 1;
    if ((r = vfy_add_check(c, "signer", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, b->signer},
                           "bundle %s is signed by certificate %s, which chains to policy root \"%s\" (%zu "
                           "certificates)",
                           b->path, b->signer, p->roots[chosen].name, res.chain_len)) != 0 ||
        (r = vfy_check_facts(c, (vfact_in){.key_id = b->signer_id, .subject = b->subject})) != 0) {
        return r;
    }
    if (res.note[0] != '\0' &&
        (r = vfy_add_check(c, "revocation", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, b->signer},
                           "bundle %s: %s", b->path, res.note)) != 0) {
        return r;
    }
    return vfy_add_check(c, "key-validity", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, b->signer},
                         "certificate chain of %s is valid%s at %s%s", b->signer,
                         p->roots[chosen].crl_list != NULL ? " and not revoked" : "", when,
                         b->has_signing_time ? " (the trusted signing time)" : "");
}

/* ---- per bundle -------------------------------------------------------- */

/*
 * RFC 3161 timestamps of a bundle whose signature verified: each must verify
 * against the policy's timestamp_authorities; the earliest genTime becomes
 * the trusted signing time. A timestamp that cannot be checked (no
 * authorities in the policy) fails: an unverifiable time is never ignored.
 */
static int verify_timestamps(vctx *c, vb *b, const char *art, const char *signer)
{
    const sign_policy *p = c->policy;
    size_t n = sign_bundle_timestamp_count(b->bundle), siglen = 0;
    const unsigned char *sig = bundle_sig_bytes(b, &siglen);
    int r = 0;

    if (n == 0) {
        if (!p->require_timestamp) {
            return 0;
        }
        return vfy_add_check(
            c, "timestamp", SIGN_CHECK_FAIL, "TIMESTAMP_MISSING", SIGN_EPOLICY, (vwhere){art, b->path, signer},
            "bundle %s carries no RFC 3161 timestamp but the policy requires one (require.timestamp); "
            "sign with --tsa URL, or add one with 'signet timestamp --tsa URL %s'",
            b->path, b->path);
    }
    if (p->ntsas == 0 || p->tsa_roots == NULL) {
        return vfy_add_check(c, "timestamp", SIGN_CHECK_FAIL, "TIMESTAMP_UNTRUSTED", SIGN_EUNTRUSTED,
                             (vwhere){art, b->path, signer},
                             "bundle %s carries %zu RFC 3161 timestamp(s) but the policy lists no "
                             "timestamp_authorities, so their time cannot be checked; add the TSA's root certificate "
                             "to timestamp_authorities",
                             b->path, n);
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        sign_timestamp_info info;
        sign_timestamp_failure why = SIGN_TS_INVALID;
        size_t len = 0;
        const unsigned char *der = sign_bundle_timestamp(b->bundle, i, &len);
        int64_t acc = 0;
        /* "now" for the TSA chain's CRLs is the time judged, as for signers. */
        int vr = sign__timestamp_verify_at(&info, &acc, &why, der, len, sig, siglen, p->tsa_roots, c->at);
        char reason[64], when[32] = "";

        if (vr == SIGN_ENOMEM || vr == SIGN_EINVAL) {
            return vr;
        }
        if (vr != 0) {
            snprintf(reason, sizeof(reason), "TIMESTAMP_%s", sign_timestamp_failure_name(why));
            r = vfy_add_check(c, "timestamp", SIGN_CHECK_FAIL, reason, vfy_class_rank(vr) == 0 ? SIGN_EBADSIG : vr,
                              (vwhere){art, b->path, signer}, "bundle %s: timestamp %zu does not verify: %s", b->path,
                              i + 1, sign_error_last());
            if (r != 0) {
                /* Out of memory: the next timestamp's check must not hide that this failure went unrecorded. */
                return r;
            }
            continue;
        }
        if (!b->has_signing_time || info.gen_time < b->signing_time) {
            b->signing_time = info.gen_time;
            b->signing_accuracy = acc;
            b->has_signing_time = 1;
        }
        sign_format_time(when, sizeof(when), info.gen_time);
        r = vfy_add_check(
            c, "timestamp", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, signer},
            "bundle %s: timestamp %zu from %s (timestamp authority \"%s\") proves the signature existed "
            "at %s",
            b->path, i + 1, info.tsa, info.authority, when);
        if (r == 0) {
            r = vfy_check_facts(c, (vfact_in){.time = when});
        }
        if (r != 0) {
            return r;
        }
    }
    sign__error_clear();
    /*
     * A signature cannot have been made after the time judged: not after
     * --at, nor after now (beyond a small clock skew; a TSA whose clock is
     * ahead, or this host's behind). Such a time is refused and not used.
     */
    /*
     * With --at the signature must provably have existed then: genTime + accuracy, the latest moment the token
     * allows, must not be after it. Against now, a token is refused only when even its earliest moment is in the
     * future (beyond the clock skew): a TSA cannot vouch for a signature that does not exist yet.
     */
    if (r == 0 && b->has_signing_time &&
        (c->has_at ? b->signing_time + b->signing_accuracy > c->at
                   : b->signing_time - b->signing_accuracy - VERIFY_CLOCK_SKEW > c->at)) {
        char when[32] = "", at[32] = "";

        sign_format_time(when, sizeof(when), b->signing_time);
        sign_format_time(at, sizeof(at), c->at);
        b->has_signing_time = 0;
        r = vfy_add_check(c, "timestamp", SIGN_CHECK_FAIL, "SIGNED_AFTER_AT", SIGN_EEXPIRED,
                          (vwhere){art, b->path, signer},
                          c->has_at ? "bundle %s was signed at %s (trusted timestamp), after the time judged "
                                      "(%s): it did not exist then; judge at a later --at"
                                    : "bundle %s was signed at %s (trusted timestamp), after the time judged "
                                      "(%s, now): the TSA's clock or this host's is wrong; check the clocks "
                                      "and re-stamp the bundle",
                          b->path, when, at);
    }
    return r;
}

/* 1. Well-formed: parsed within limits, payload type, exactly one signature. *go_on is 0 when nothing
   further can be checked. */
static int bundle_wellformed(vctx *c, vb *b, const sign_envelope **env, int *type_ok, int *go_on)
{
    const char *ptype, *art = b->for_artifact;
    int r;

    *go_on = 0;
    r = sign__bundle_read_message(&b->bundle, b->path, c->limits);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r == SIGN_ENOTFOUND && b->owned_path != NULL) {
        /* No bundle beside the artifact and none given: the artifact is unsigned, a verification failure. */
        return vfy_add_check(c, "bundle", SIGN_CHECK_FAIL, "NO_BUNDLE", SIGN_EVERIFY, (vwhere){art, b->path, NULL},
                             "no bundle: %s does not exist and no bundle was given, so nothing signs the "
                             "artifact; sign it with signet sign, or pass its bundle with -b",
                             b->path);
    }
    if (r == SIGN_ENOTFOUND) {
        return vfy_add_check(c, "bundle", SIGN_CHECK_FAIL, "BUNDLE_MISSING", SIGN_ENOTFOUND,
                             (vwhere){art, b->path, NULL}, "bundle %s does not exist; check the path given", b->path);
    }
    if (r != 0) {
        return vfy_add_check(c, "bundle", SIGN_CHECK_FAIL, "BUNDLE_MALFORMED",
                             vfy_class_rank(r) == 0 ? r : SIGN_EPARSE, (vwhere){art, b->path, NULL},
                             "bundle %s cannot be used: %s; pass the bundle that signet sign wrote", b->path,
                             sign_error_last());
    }
    if ((r = vfy_add_check(c, "bundle", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, NULL},
                           "bundle %s is well-formed (%s)", b->path, sign_bundle_media_type(b->bundle))) != 0) {
        return r;
    }
    *env = sign_bundle_envelope(b->bundle);
    if (*env == NULL) {
        /* A messageSignature: no payload; its statement is made from its digest (bundle_statement). */
        *type_ok = 1;
        *go_on = 1;
        return 0;
    }
    ptype = sign_envelope_payload_type(*env);
    *type_ok = ptype != NULL && strcmp(ptype, SIGN_INTOTO_PAYLOAD_TYPE) == 0;
    if (!*type_ok &&
        (r = vfy_add_check(
             c, "bundle", SIGN_CHECK_FAIL, "PAYLOAD_TYPE_WRONG", SIGN_EVERIFY, (vwhere){art, b->path, NULL},
             "bundle %s: payloadType is \"%s\", not \"%s\"; only signed in-toto statements are accepted "
             "- re-sign the artifacts",
             b->path, ptype != NULL ? ptype : "", SIGN_INTOTO_PAYLOAD_TYPE)) != 0) {
        return r;
    }
    if (sign_envelope_signature_count(*env) != 1) {
        return vfy_add_check(c, "bundle", SIGN_CHECK_FAIL, "BUNDLE_MALFORMED", SIGN_EPARSE,
                             (vwhere){art, b->path, NULL},
                             "bundle %s carries %zu signatures where exactly one is required", b->path,
                             sign_envelope_signature_count(*env));
    }
    *go_on = 1;
    return 0;
}

/* 2. A raw-key signer: the signature under the policy key the bundle names, else under any policy key. */
static int key_signature(vctx *c, vb *b, const sign_envelope *env, int *go_on)
{
    const sign_policy *p = c->policy;
    const sign__policy_key *k;
    const char *keyid, *hint, *art = b->for_artifact;
    size_t ki;
    int r;

    *go_on = 0;
    keyid = env != NULL ? sign_envelope_signature_keyid(env, 0) : NULL;
    hint = sign_bundle_key_hint(b->bundle);
    ki = vfy_find_key(p, keyid);
    if (ki == SIZE_MAX) {
        ki = vfy_find_key(p, hint);
    }
    if (ki != SIZE_MAX) {
        /* The bundle names a trusted key: the signature must verify under exactly that key. */
        k = &p->keys[ki];
        if ((r = bundle_sig_verify(b, env, k->key)) == SIGN_ENOMEM) {
            return r; /* not a verdict on the signature */
        }
        if (r == SIGN_EUNSUPPORTED) {
            return message_unsupported(c, b, k->name);
        }
        if (r != 0) {
            return vfy_add_check(
                c, "signature", SIGN_CHECK_FAIL, "SIGNATURE_INVALID", SIGN_EBADSIG, (vwhere){art, b->path, k->name},
                "bundle %s: the signature does not verify under policy key \"%s\" (key id %s) that it "
                "names; the bundle was altered or signed by another key - re-sign the artifacts",
                b->path, k->name, k->keyid);
        }
    } else {
        /* Another tool may leave the key id empty or different: try every trusted key. */
        for (size_t i = 0; i < p->nkeys; i++) {
            if ((r = bundle_sig_verify(b, env, p->keys[i].key)) == 0) {
                ki = i;
                break;
            }
            if (r == SIGN_ENOMEM) {
                return r; /* not a verdict on the signature */
            }
        }
        sign__error_clear();
        if (ki == SIZE_MAX) {
            const char *who = keyid != NULL && keyid[0] != '\0' ? keyid : hint;

            int rr = vfy_add_check(
                c, "signer", SIGN_CHECK_FAIL, "KEY_UNTRUSTED", SIGN_EUNTRUSTED, (vwhere){art, b->path, who},
                "bundle %s is signed by key id %s, which no key in the policy matches; add its public "
                "key to the policy's keys, or sign with a trusted key",
                b->path, who != NULL && who[0] != '\0' ? who : "(none)");

            return rr != 0 ? rr : vfy_check_facts(c, (vfact_in){.key_id = who});
        }
        k = &p->keys[ki];
    }
    b->key = ki;
    b->signer = k->name;
    b->signer_kind = "policy key";
    b->globs = k->artifacts;
    b->nglobs = k->nartifacts;
    b->ptypes = k->predicate_types;
    b->nptypes = k->npredicate_types;
    snprintf(b->signer_id, sizeof(b->signer_id), "%s", k->keyid);
    if ((r = vfy_add_check(c, "signature", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, k->name},
                           "bundle %s: signature verifies under policy key \"%s\" (key id %s)", b->path, k->name,
                           k->keyid)) != 0 ||
        (r = vfy_check_facts(c, (vfact_in){.key_id = k->keyid})) != 0 ||
        (r = vfy_add_check(c, "signer", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, k->name},
                           "bundle %s is signed by policy key \"%s\"", b->path, k->name)) != 0 ||
        (r = vfy_check_facts(c, (vfact_in){.key_id = k->keyid})) != 0) {
        return r;
    }
    *go_on = 1;
    return 0;
}

/* 4. The validity window of a policy key, judged at the trusted signing time, else at opts->at or now. */
static int key_window(vctx *c, vb *b)
{
    const sign__policy_key *k = &c->policy->keys[b->key];
    const char *art = b->for_artifact;
    char tbuf[32] = "", wbuf[64] = "";
    int64_t when, acc;
    int r;

    when = b->has_signing_time ? b->signing_time : c->at;
    /* A token's accuracy widens the trusted time into an interval: all of it must be inside the window. */
    acc = b->has_signing_time ? b->signing_accuracy : 0;
    if (sign_format_time(wbuf, sizeof(wbuf), when) != 0) {
        snprintf(wbuf, sizeof(wbuf), "%lld", (long long)when);
    }
    if (b->has_signing_time) {
        size_t used = strlen(wbuf);

        snprintf(wbuf + used, sizeof(wbuf) - used,
                 acc > 0 ? ", the trusted signing time +-%llds" : ", the trusted signing time", (long long)acc);
    }
    if (k->has_not_before && when - acc < k->not_before) {
        sign_format_time(tbuf, sizeof(tbuf), k->not_before);
        r = vfy_add_check(c, "key-validity", SIGN_CHECK_FAIL, "KEY_NOT_YET_VALID", SIGN_EEXPIRED,
                          (vwhere){art, b->path, k->name},
                          "policy key \"%s\" is valid only from %s (judged at %s); sign with a current key or fix "
                          "keys[].not_before",
                          k->name, tbuf, wbuf);
    } else if (k->has_not_after && when + acc > k->not_after) {
        sign_format_time(tbuf, sizeof(tbuf), k->not_after);
        r = vfy_add_check(
            c, "key-validity", SIGN_CHECK_FAIL, "KEY_EXPIRED", SIGN_EEXPIRED, (vwhere){art, b->path, k->name},
            "policy key \"%s\" expired at %s (judged at %s); re-sign with a current key", k->name, tbuf, wbuf);
    } else {
        b->in_window = 1;
        r = vfy_add_check(c, "key-validity", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, k->name},
                          "policy key \"%s\" is valid at %s", k->name, wbuf);
    }
    return r;
}

/*
 * The statement a messageSignature bundle stands for: one subject, the digest its signature verified over, and the
 * pseudo predicate type SIGN_MESSAGE_PREDICATE_TYPE (docs/bundle-profile.md). The subject has no name (the
 * signature binds none); the artifact check matches it by the recomputed digest alone.
 */
static int message_statement(sign_statement **out, const vb *b, const sign_limits *limits)
{
    static const char *const alg_names[] = {"", "sha256", "sha384", "sha512"};
    char hex[2 * SIGN_DIGEST_MAX_LEN + 1], text[512];
    sign__bundle_msg m;
    int n;

    *out = NULL;
    if (!sign__bundle_message(b->bundle, &m) || m.alg < SIGN_DIGEST_SHA256 || m.alg > SIGN_DIGEST_SHA512 ||
        sign_hex_encode(hex, sizeof(hex), m.digest, m.digestlen) != 0) {
        return sign__error(SIGN_EINVAL, "not a messageSignature bundle");
    }
    n = snprintf(text, sizeof(text),
                 "{\"_type\":\"" SIGN_STATEMENT_TYPE "\",\"predicateType\":\"" SIGN_MESSAGE_PREDICATE_TYPE
                 "\",\"subject\":[{\"name\":\"\",\"digest\":{\"%s\":\"%s\"}}]}",
                 alg_names[m.alg], hex);
    if (n < 0 || (size_t)n >= sizeof(text)) {
        return sign__error(SIGN_EINVAL, "messageSignature digest too long");
    }
    return sign_statement_parse(out, text, (size_t)n, limits);
}

/* 5. The statement: parsed from the verified bytes only. */
static int bundle_statement(vctx *c, vb *b, const sign_envelope *env, int *go_on)
{
    const unsigned char *payload;
    const char *art = b->for_artifact;
    size_t len = 0;
    int r;

    *go_on = 0;
    if (env != NULL) {
        payload = sign_envelope_payload(env, &len);
        /* The same bytes as another bundle of this verify: its statement (vshare). Else parsed, its entries
           dropped unless compared. */
        r = vfy_share_take(c, b, payload, len) ? 0 : vfy_statement_parse(&b->st, c, payload, len);
    } else if ((r = message_statement(&b->st, b, c->limits)) == 0 && !c->entries) {
        sign__statement_drop_entries(b->st);
    }
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r != 0) {
        return vfy_add_check(c, "statement", SIGN_CHECK_FAIL, "STATEMENT_MALFORMED", SIGN_EPARSE,
                             (vwhere){art, b->path, b->signer},
                             "bundle %s: the signed payload is not a usable in-toto Statement v1: %s; re-sign with "
                             "signet sign",
                             b->path, sign_error_last());
    }
    if (sign_statement_subject_count(b->st) == 0) {
        return vfy_add_check(c, "statement", SIGN_CHECK_FAIL, "NO_SUBJECTS", SIGN_EPARSE,
                             (vwhere){art, b->path, b->signer},
                             "bundle %s: the signed statement names no subjects; re-sign the artifacts", b->path);
    }
    b->usable = 1;
    b->message = env == NULL;
    for (size_t i = 0; i < sign_statement_subject_count(b->st); i++) {
        const char *sname;
        const unsigned char *d256, *d384, *d512;

        if (sign__statement_subject_digests(&sname, &d256, &d384, &d512, b->st, i) == 0) {
            b->wide |= (d384 != NULL ? 2 : 0) | (d512 != NULL ? 4 : 0); /* artifact_checks.c's WIDE_SHA384/512 */
            b->nosha256 |= d256 == NULL;
        }
    }
    /* Its nameless subject may stand for any artifact given: a candidate of each (vfy_index_candidates). */
    b->nosha256 |= b->message;
    if ((r = vfy_add_check(c, "statement", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, b->signer},
                           "bundle %s: signed statement with %zu subject(s), predicate %s", b->path,
                           sign_statement_subject_count(b->st),
                           sign_statement_predicate_type(b->st) != NULL ? sign_statement_predicate_type(b->st)
                                                                        : "(none)")) != 0) {
        return r;
    }
    *go_on = 1;
    return 0;
}

/*
 * 5b. The predicate type must be one the signer's policy entry accepts
 * (keys[]/roots[] predicate_types, default signet's manifest only): a build
 * attestation signed by a release key is not a release approval. A refused
 * statement makes the bundle unusable: it covers nothing.
 */
static int predicate_type_allowed(vctx *c, vb *b)
{
    const char *ptype = sign_statement_predicate_type(b->st), *art = b->for_artifact;

    if (sign__policy_predicate_allowed(b->ptypes, b->nptypes, ptype)) {
        return 0;
    }
    b->usable = 0;
    return vfy_add_check(c, "statement", SIGN_CHECK_FAIL, "PREDICATE_TYPE_NOT_ALLOWED", SIGN_EPOLICY,
                         (vwhere){art, b->path, b->signer},
                         "bundle %s: the signed statement's predicate type is \"%s\", which %s \"%s\" is not "
                         "allowed to sign (its predicate_types%s); a statement of another kind is not a release "
                         "approval - add the type to the signer's predicate_types if it should count",
                         b->path, ptype != NULL ? ptype : "", b->signer_kind, b->signer,
                         b->nptypes == 1 && strcmp(b->ptypes[0], SIGN_PREDICATE_TYPE) == 0
                             ? " default to signet's manifest " SIGN_PREDICATE_TYPE
                             : "");
}

/* 6. Signature age, when the policy limits it. */
static int signature_age(vctx *c, vb *b)
{
    const sign_policy *p = c->policy;
    const char *art = b->for_artifact;
    char tbuf[32] = "";
    int r = 0;

    if (p->has_max_signature_age) {
        if (!b->has_signing_time) {
            r = vfy_add_check(
                c, "signature-age", SIGN_CHECK_FAIL, "SIGNATURE_AGE_UNPROVEN", SIGN_EPOLICY,
                (vwhere){art, b->path, b->signer},
                "bundle %s: the policy limits signature age (require.max_signature_age) but no trusted "
                "timestamp proves when it was signed; sign with --tsa URL or add one with signet timestamp",
                b->path);
        } else if (c->at - (b->signing_time - b->signing_accuracy) > p->max_signature_age) {
            sign_format_time(tbuf, sizeof(tbuf), b->signing_time);
            r = vfy_add_check(c, "signature-age", SIGN_CHECK_FAIL, "SIGNATURE_AGE_EXCEEDED", SIGN_EEXPIRED,
                              (vwhere){art, b->path, b->signer},
                              "bundle %s was signed at %s, %lld s before the time judged, more than the %lld s that "
                              "require.max_signature_age allows; re-sign the artifacts",
                              b->path, tbuf, (long long)(c->at - b->signing_time), (long long)p->max_signature_age);
        } else {
            sign_format_time(tbuf, sizeof(tbuf), b->signing_time);
            r = vfy_add_check(c, "signature-age", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, b->signer},
                              "bundle %s: signed at %s, within require.max_signature_age", b->path, tbuf);
        }
    }
    return r;
}

/* One bundle, in order: well-formed, signature and signer, timestamps, validity (certificate chain or key
   window), statement, signature age. Each stage records its checks; a stage that leaves nothing to build on
   ends the bundle's checks. */
int vfy_bundle(vctx *c, vb *b)
{
    const sign_envelope *env = NULL;
    size_t len = 0;
    int r, type_ok = 0, is_cert, go_on = 0;

    if ((r = bundle_wellformed(c, b, &env, &type_ok, &go_on)) != 0 || !go_on) {
        return r;
    }
    /* An X.509 signer: the signature under the leaf's key now, its chain at the key-validity point. */
    is_cert = sign_bundle_certificate(b->bundle, &len) != NULL;
    r = is_cert ? cert_signature(c, b, env, &go_on) : key_signature(c, b, env, &go_on);
    if (r != 0 || !go_on || (r = vfy_tlog(c, b, env, &go_on)) != 0 || !go_on) {
        return r;
    }
    if ((r = verify_timestamps(c, b, b->for_artifact, b->signer)) != 0) {
        return r;
    }
    if (!b->has_signing_time && b->has_tlog_time) {
        /* No RFC 3161 time: a verified SET's integrated time is the trusted signing time. */
        b->has_signing_time = 1;
        b->signing_time = b->tlog_time;
        b->signing_accuracy = 0;
    }
    if (is_cert) {
        /* Chain to a policy root, validity and revocation at the trusted signing time or now. */
        r = cert_trust(c, b, &go_on);
        if (r != 0 || !go_on) {
            return r;
        }
    } else if ((r = key_window(c, b)) != 0) {
        return r;
    }
    /* ---- revocation lists (issue 15): the signing key, judged at the trusted signing time ---- */
    if ((r = vfy_revocation_key(c, b)) != 0) {
        return r;
    }
    if (!type_ok) {
        return 0;
    }
    if ((r = bundle_statement(c, b, env, &go_on)) != 0 || !go_on) {
        return r;
    }
    if ((r = predicate_type_allowed(c, b)) != 0 || !b->usable) {
        return r;
    }
    if ((r = vfy_source(c, b)) != 0 || (r = vfy_logged(c, b)) != 0) {
        return r;
    }
    return signature_age(c, b);
}
