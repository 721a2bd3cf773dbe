/*
 * Transparency-log entries of a bundle (Rekor v1 and v2), offline.
 *
 * Every entry's canonicalized body must record this bundle: its signature, its certificate or key, and the
 * digest of what was signed (hashedrekord 0.0.1/0.0.2 over the DSSE PAE; dsse 0.0.1/0.0.2 and intoto 0.0.2
 * over the payload). With a trusted root that lists the entry's log, the entry must also carry an inclusion
 * proof (RFC 9162 audit path from the leaf SHA-256(0x00 || body) to the root hash) that agrees with a
 * checkpoint (signed note) signed by that log's key under the log's name, and its inclusion promise (the SET
 * over {body, integratedTime, logID, logIndex}), when present, must verify under that key. An entry that fails
 * any of this is TLOG_INVALID whatever the policy. The integrated time becomes a trusted signing time only
 * when its SET verifies: the proof covers the body, not the time. SHA-256 and the signatures are OpenSSL's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "pki.h"
#include "verify_internal.h"

/* What the bundle signed, as the log entries must record it. */
typedef struct tl_signed {
    const unsigned char *sig; /* the envelope's signature, or the messageSignature's */
    size_t siglen;
    int message;                      /* a messageSignature bundle: no envelope, no payload */
    unsigned char signed_digest[64];  /* what a hashedrekord records: SHA-256 of the DSSE PAE, or the */
    size_t signed_len;                /* messageSignature's digest (32, 48 or 64 bytes) */
    unsigned char payload_sha256[32]; /* SHA-256 of the payload (DSSE only) */
    const char *payload_type;
    const unsigned char *cert; /* the leaf certificate's DER, or NULL */
    size_t certlen;
    unsigned char *spki; /* the signing key's SubjectPublicKeyInfo DER */
    size_t spkilen;
} tl_signed;

/* One entry, read. */
typedef struct tl_entry {
    int64_t log_index, integrated_time;
    int has_time;
    unsigned char log_id[32];
    const char *kind, *version;
    unsigned char *body;
    size_t bodylen;
    const json_t *promise, *proof;
} tl_entry;

/*
 * The fault that is not a verdict: memory ran out. OpenSSL and jansson also report a failed allocation inside
 * them as a decode or verification failure (or queue nothing), so vfy_tlog checks a failing entry a second
 * time: an entry that passes then was refused the first time for want of memory, and the verify fails with
 * SIGN_ENOMEM rather than calling the bundle altered. Either way it fails: the second check never lets an entry
 * through.
 */
static const char tl_oom[] = "out of memory";

static int64_t tl_int(const json_t *v)
{
    if (json_is_integer(v)) {
        return json_integer_value(v);
    }
    return json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : -1;
}

/* Base64 member into buf (exactly want bytes when want > 0, at most cap): 1 when it is. */
static int tl_b64(unsigned char *buf, size_t cap, size_t *len, const json_t *v, size_t want)
{
    const char *s = json_string_value(v);
    size_t n = 0;

    if (s == NULL || sign__b64_decode_buf(buf, cap, &n, s, strlen(s)) != 0 || n == 0 || (want > 0 && n != want)) {
        sign__error_clear();
        return 0;
    }
    if (len != NULL) {
        *len = n;
    }
    return 1;
}

/* Base64 member decoded to a fresh buffer (NULL when absent or not base64). */
static unsigned char *tl_b64_dup(const json_t *v, size_t *len)
{
    const char *s = json_string_value(v);
    unsigned char *out = NULL;

    if (s == NULL || sign__b64_decode(&out, len, s, strlen(s)) != 0) {
        sign__error_clear();
        free(out);
        return NULL;
    }
    return out;
}

/* Lower-case hex of an n-byte digest (n <= 64) equals text. */
static int tl_hex_eq(const char *text, const unsigned char *d, size_t n)
{
    char hex[129];

    if (text == NULL || n > 64) {
        return 0;
    }
    hex[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    }
    return strcmp(text, hex) == 0;
}

/* 1 when der (decoded bytes) is the signer's certificate or its key. */
static int tl_is_signer(const tl_signed *s, const unsigned char *der, size_t len)
{
    return der != NULL && ((s->cert != NULL && len == s->certlen && memcmp(der, s->cert, len) == 0) ||
                           (len == s->spkilen && memcmp(der, s->spki, len) == 0));
}

/* A base64 PEM (certificate or public key), as Rekor v1 records a verifier: 1 when it is the signer's. */
static int tl_pem_is_signer(const tl_signed *s, const json_t *v)
{
    size_t len = 0;
    unsigned char *pem = tl_b64_dup(v, &len), *der = NULL;
    char *name = NULL, *header = NULL;
    long n = 0;
    BIO *bio;
    int ok = 0;

    if (pem == NULL || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
        free(pem);
        return 0;
    }
    if (PEM_read_bio(bio, &name, &header, &der, &n) == 1 && n > 0) {
        ok = tl_is_signer(s, der, (size_t)n);
    }
    ERR_clear_error();
    BIO_free(bio);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    free(pem);
    return ok;
}

/* 1 when a base64 signature member is the bundle's signature (twice: base64 of base64, intoto 0.0.2). */
static int tl_sig_is(const tl_signed *s, const json_t *v, int twice)
{
    size_t len = 0;
    unsigned char *d = tl_b64_dup(v, &len);
    int ok;

    if (d != NULL && twice) {
        json_t *inner = json_stringn((const char *)d, len);

        free(d);
        d = inner != NULL ? tl_b64_dup(inner, &len) : NULL;
        json_decref(inner);
    }
    ok = d != NULL && len == s->siglen && memcmp(d, s->sig, len) == 0;
    free(d);
    return ok;
}

/* The names Rekor v1 (lower case) and v2 (the protobuf enum) give the signed digest's algorithm. */
static const char *tl_alg_name(const tl_signed *s, int v2)
{
    switch (s->signed_len) {
    case 48: return v2 ? "SHA2_384" : "sha384";
    case 64: return v2 ? "SHA2_512" : "sha512";
    default: return v2 ? "SHA2_256" : "sha256";
    }
}

/* hashedrekord 0.0.1 and 0.0.2: the digest of the signed bytes, the signature and the verifier. */
static const char *tl_hashedrekord(const json_t *spec, const tl_signed *s, int v2)
{
    unsigned char d[64], *der = NULL;
    size_t len = 0;
    const json_t *data, *sig;
    int ok;

    if (!v2) {
        const json_t *h = json_object_get(json_object_get(spec, "data"), "hash");

        sig = json_object_get(spec, "signature");
        if (strcmp(json_string_value(json_object_get(h, "algorithm"))
                       ? json_string_value(json_object_get(h, "algorithm"))
                       : "",
                   tl_alg_name(s, 0)) != 0 ||
            !tl_hex_eq(json_string_value(json_object_get(h, "value")), s->signed_digest, s->signed_len)) {
            return "its hashedrekord entry records the digest of other signed bytes";
        }
        if (!tl_sig_is(s, json_object_get(sig, "content"), 0)) {
            return "its hashedrekord entry records another signature";
        }
        return tl_pem_is_signer(s, json_object_get(json_object_get(sig, "publicKey"), "content"))
                   ? NULL
                   : "its hashedrekord entry records another certificate or key";
    }
    spec = json_object_get(spec, "hashedRekordV002");
    data = json_object_get(spec, "data");
    sig = json_object_get(spec, "signature");
    if (strcmp(json_string_value(json_object_get(data, "algorithm"))
                   ? json_string_value(json_object_get(data, "algorithm"))
                   : "",
               tl_alg_name(s, 1)) != 0 ||
        !tl_b64(d, sizeof(d), NULL, json_object_get(data, "digest"), s->signed_len) ||
        memcmp(d, s->signed_digest, s->signed_len) != 0) {
        return "its hashedrekord entry records the digest of other signed bytes";
    }
    if (!tl_sig_is(s, json_object_get(sig, "content"), 0)) {
        return "its hashedrekord entry records another signature";
    }
    sig = json_object_get(sig, "verifier");
    der = tl_b64_dup(json_object_get(json_object_get(sig, "x509Certificate"), "rawBytes"), &len);
    if (der == NULL) {
        der = tl_b64_dup(json_object_get(json_object_get(sig, "publicKey"), "rawBytes"), &len);
    }
    ok = tl_is_signer(s, der, len);
    free(der);
    return ok ? NULL : "its hashedrekord entry records another certificate or key";
}

/* dsse 0.0.1/0.0.2 and intoto 0.0.2: the payload's digest and exactly the bundle's one signature and signer. */
static const char *tl_envelope_kind(const json_t *spec, const tl_signed *s, const char *kind, const char *version)
{
    const json_t *ph, *sigs, *one;
    int intoto = strcmp(kind, "intoto") == 0, v2 = strcmp(version, "0.0.2") == 0 && !intoto, ok;
    unsigned char d[32];
    size_t len = 0;

    if (s->message) {
        return "its entry records a DSSE envelope; the bundle holds a message signature";
    }
    if (intoto) {
        spec = json_object_get(spec, "content");
        ph = json_object_get(spec, "payloadHash");
        sigs = json_object_get(json_object_get(spec, "envelope"), "signatures");
    } else {
        spec = v2 ? json_object_get(spec, "dsseV002") : spec;
        ph = json_object_get(spec, "payloadHash");
        sigs = json_object_get(spec, "signatures");
    }
    if (v2 ? strcmp(json_string_value(json_object_get(ph, "algorithm"))
                        ? json_string_value(json_object_get(ph, "algorithm"))
                        : "",
                    "SHA2_256") != 0 ||
                 !tl_b64(d, sizeof(d), NULL, json_object_get(ph, "digest"), 32) ||
                 memcmp(d, s->payload_sha256, 32) != 0
           : strcmp(json_string_value(json_object_get(ph, "algorithm"))
                        ? json_string_value(json_object_get(ph, "algorithm"))
                        : "",
                    "sha256") != 0 ||
                 !tl_hex_eq(json_string_value(json_object_get(ph, "value")), s->payload_sha256, 32)) {
        return "its entry records the digest of another payload";
    }
    if (!json_is_array(sigs) || json_array_size(sigs) != 1) {
        return "its entry records another number of signatures than the envelope's one";
    }
    one = json_array_get(sigs, 0);
    if (!tl_sig_is(s, json_object_get(one, intoto ? "sig" : v2 ? "content" : "signature"), intoto)) {
        return "its entry records another signature";
    }
    if (v2) {
        const json_t *vf = json_object_get(one, "verifier");
        unsigned char *der = tl_b64_dup(json_object_get(json_object_get(vf, "x509Certificate"), "rawBytes"), &len);

        if (der == NULL) {
            der = tl_b64_dup(json_object_get(json_object_get(vf, "publicKey"), "rawBytes"), &len);
        }
        ok = tl_is_signer(s, der, len);
        free(der);
    } else {
        ok = tl_pem_is_signer(s, json_object_get(one, intoto ? "publicKey" : "verifier"));
    }
    return ok ? NULL : "its entry records another certificate or key";
}

/* The body must be the kind the entry names, and record this bundle. */
static const char *tl_body_fault(const tl_entry *e, const tl_signed *s, const sign_limits *limits)
{
    json_t *body = NULL;
    const char *fault = "its canonicalized body is not a JSON object of the kind and version it names";
    const char *kind = e->kind, *version = e->version;

    if (sign__json_parse(&body, e->body, e->bodylen, limits, "canonicalizedBody") != 0) {
        sign__error_clear();
        return fault;
    }
    if (json_is_object(body) && json_is_object(json_object_get(body, "spec")) &&
        strcmp(json_string_value(json_object_get(body, "kind")) ? json_string_value(json_object_get(body, "kind"))
                                                                : "",
               kind) == 0 &&
        strcmp(json_string_value(json_object_get(body, "apiVersion"))
                   ? json_string_value(json_object_get(body, "apiVersion"))
                   : "",
               version) == 0) {
        const json_t *spec = json_object_get(body, "spec");

        if (strcmp(kind, "hashedrekord") == 0 && (strcmp(version, "0.0.1") == 0 || strcmp(version, "0.0.2") == 0)) {
            fault = tl_hashedrekord(spec, s, version[4] == '2');
        } else if ((strcmp(kind, "dsse") == 0 && (strcmp(version, "0.0.1") == 0 || strcmp(version, "0.0.2") == 0)) ||
                   (strcmp(kind, "intoto") == 0 && strcmp(version, "0.0.2") == 0)) {
            fault = tl_envelope_kind(spec, s, kind, version);
        } else {
            fault = "its kind and version are not ones signet reads (hashedrekord 0.0.1/0.0.2, dsse 0.0.1/0.0.2, "
                    "intoto 0.0.2)";
        }
    }
    json_decref(body);
    return fault;
}

/* 1, or 0 when SHA-256 itself failed (out of memory): out is then not a hash. */
static int tl_node(unsigned char out[32], const unsigned char *l, const unsigned char *r)
{
    unsigned char buf[65];

    buf[0] = 0x01;
    memcpy(buf + 1, l, 32);
    memcpy(buf + 33, r, 32);
    return SHA256(buf, sizeof(buf), out) != NULL;
}

/* RFC 9162 2.1.3.2: the audit path from leaf `index` of a tree of `size` leaves to `root`. 1 when it holds, 0 when
   it does not, -1 when SHA-256 failed (out of memory). */
static int tl_merkle(const unsigned char leaf[32], uint64_t index, uint64_t size, const json_t *hashes,
                     const unsigned char root[32])
{
    unsigned char r[32], p[32];
    uint64_t fn = index, sn;
    size_t i;
    const json_t *h;

    if (size == 0 || index >= size) {
        return 0;
    }
    sn = size - 1;
    memcpy(r, leaf, 32);
    json_array_foreach(hashes, i, h)
    {
        if (sn == 0 || !tl_b64(p, sizeof(p), NULL, h, 32)) {
            return 0;
        }
        if ((fn & 1) != 0 || fn == sn) {
            if (!tl_node(r, p, r)) {
                return -1;
            }
            while ((fn & 1) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else if (!tl_node(r, r, p)) {
            return -1;
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && CRYPTO_memcmp(r, root, 32) == 0;
}

/* 1 when hint (4 bytes) names key k for a signature line under `name`. */
static int tl_hint_matches(const sign__tlog_key *k, const unsigned char *hint, const char *name, size_t namelen)
{
    unsigned char h[32];

    if (memcmp(hint, k->log_id, 4) == 0 || memcmp(hint, k->spki_sha256, 4) == 0 ||
        (k->has_checkpoint_id && memcmp(hint, k->checkpoint_id, 4) == 0)) {
        return 1;
    }
    if (k->type == SIGN__TLOG_ED25519 && namelen < 256) {
        unsigned char buf[256 + 2 + 32];

        memcpy(buf, name, namelen);
        buf[namelen] = '\n';
        buf[namelen + 1] = 0x01;
        memcpy(buf + namelen + 2, k->raw, 32);
        /* SHA-256 failing (out of memory) names no key: the line is not taken as the log's */
        return SHA256(buf, namelen + 34, h) != NULL && memcmp(hint, h, 4) == 0;
    }
    return 0;
}

/* The checkpoint's signature lines: one by key k under its name over the note's text. */
static int tl_note_signed(const sign__tlog_key *k, const char *note, size_t textlen, const char *sigs)
{
    static const char dash[] = "\xe2\x80\x94 ";
    const char *line = sigs;

    while (*line != '\0') {
        const char *end = strchr(line, '\n'), *name = line + sizeof(dash) - 1, *sp;
        unsigned char sig[600];
        size_t n = 0;
        json_t *b64;
        int ok = 0;

        if (end == NULL || strncmp(line, dash, sizeof(dash) - 1) != 0 ||
            (sp = memchr(name, ' ', (size_t)(end - name))) == NULL) {
            return 0;
        }
        b64 = json_stringn(sp + 1, (size_t)(end - sp - 1));
        if (b64 != NULL && tl_b64(sig, sizeof(sig), &n, b64, 0) && n > 4 &&
            (size_t)(sp - name) == strlen(k->origin) && memcmp(name, k->origin, (size_t)(sp - name)) == 0 &&
            tl_hint_matches(k, sig, name, (size_t)(sp - name))) {
            ok = sign__tlog_key_verify(k, note, textlen, sig + 4, n - 4) == 0;
            sign__error_clear();
        }
        json_decref(b64);
        if (ok) {
            return 1;
        }
        line = end + 1;
    }
    return 0;
}

/* The inclusion proof and its checkpoint, under log key k. NULL when both hold, else what is wrong. */
static const char *tl_proof_fault(const tl_entry *e, const sign__tlog_key *k)
{
    const json_t *pf = e->proof;
    const char *note = json_string_value(json_object_get(json_object_get(pf, "checkpoint"), "envelope"));
    const char *blank, *l1, *l2;
    unsigned char leaf[32], root[32], croot[32], *buf;
    int64_t index = tl_int(json_object_get(pf, "logIndex")), size = tl_int(json_object_get(pf, "treeSize"));
    size_t olen;
    json_t *rh;
    int ok, held = 0;

    if ((buf = malloc(e->bodylen + 1)) == NULL) {
        return tl_oom;
    }
    buf[0] = 0x00;
    memcpy(buf + 1, e->body, e->bodylen);
    ok = SHA256(buf, e->bodylen + 1, leaf) != NULL;
    free(buf);
    if (ok && tl_b64(root, sizeof(root), NULL, json_object_get(pf, "rootHash"), 32) && index >= 0 && size > 0) {
        held = tl_merkle(leaf, (uint64_t)index, (uint64_t)size, json_object_get(pf, "hashes"), root);
    }
    if (!ok || held < 0) {
        ERR_clear_error();
        return tl_oom;
    }
    if (held == 0) {
        return "its inclusion proof does not lead from the entry to the root hash";
    }
    /* The note: origin, tree size, root hash (and extension lines), a blank line, signature lines. */
    if (note == NULL || (blank = strstr(note, "\n\n")) == NULL || (l1 = strchr(note, '\n')) == NULL ||
        (l2 = strchr(l1 + 1, '\n')) == NULL || l2 > blank) {
        return "its checkpoint is not a signed note with an origin, a tree size and a root hash";
    }
    olen = (size_t)(l1 - note);
    if (!(olen == strlen(k->origin) ||
          (olen > strlen(k->origin) + 3 && strncmp(note + strlen(k->origin), " - ", 3) == 0)) ||
        strncmp(note, k->origin, strlen(k->origin)) != 0) {
        return "its checkpoint's origin is not the log's";
    }
    if ((int64_t)strtoll(l1 + 1, NULL, 10) != size || l1[1] < '0' || l1[1] > '9' ||
        strspn(l1 + 1, "0123456789") != (size_t)(l2 - l1 - 1)) {
        return "its checkpoint's tree size is not the proof's";
    }
    {
        const char *l3 = strchr(l2 + 1, '\n');

        rh = json_stringn(l2 + 1, (size_t)(l3 - l2 - 1));
        ok = rh != NULL && tl_b64(croot, sizeof(croot), NULL, rh, 32) && memcmp(croot, root, 32) == 0;
        json_decref(rh);
    }
    if (!ok) {
        return "its checkpoint's root hash is not the proof's";
    }
    return tl_note_signed(k, note, (size_t)(blank - note) + 1, blank + 2)
               ? NULL
               : "its checkpoint carries no signature of the log's key under the log's name";
}

/* The SET: the log's signature over the canonical JSON of body, integratedTime, logID (hex) and logIndex. */
static const char *tl_promise_fault(const tl_entry *e, const sign__tlog_key *k)
{
    char *b64 = NULL, *msg = NULL, hex[65];
    size_t siglen = 0, n;
    unsigned char *sig = tl_b64_dup(json_object_get(e->promise, "signedEntryTimestamp"), &siglen);
    int ok = 0;

    for (size_t i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", e->log_id[i]);
    }
    if (sig != NULL && e->has_time && sign__b64_encode(&b64, e->body, e->bodylen) == 0) {
        n = strlen(b64) + 160;
        if ((msg = malloc(n)) != NULL) {
            snprintf(msg, n, "{\"body\":\"%s\",\"integratedTime\":%lld,\"logID\":\"%s\",\"logIndex\":%lld}", b64,
                     (long long)e->integrated_time, hex, (long long)e->log_index);
            ok = sign__tlog_key_verify(k, msg, strlen(msg), sig, siglen) == 0;
        }
    }
    sign__error_clear();
    free(sig);
    free(b64);
    free(msg);
    return ok ? NULL : "its inclusion promise (SET) does not verify under the log's key";
}

static const sign__tlog_key *tl_find_log(const sign__trusted_root *tr, const unsigned char id[32])
{
    for (size_t i = 0; tr != NULL && i < tr->nlogs; i++) {
        if (!tr->logs[i].ct && memcmp(tr->logs[i].log_id, id, 32) == 0) {
            return &tr->logs[i];
        }
    }
    return NULL;
}

/* 1 when tr lists a transparency log: entries are then verified against it (else reported, not used). */
static int tl_has_logs(const sign__trusted_root *tr)
{
    for (size_t i = 0; tr != NULL && i < tr->nlogs; i++) {
        if (!tr->logs[i].ct) {
            return 1;
        }
    }
    return 0;
}

static int tl_read(tl_entry *e, const json_t *j)
{
    const json_t *kv = json_object_get(j, "kindVersion"), *t = json_object_get(j, "integratedTime");

    memset(e, 0, sizeof(*e));
    e->log_index = tl_int(json_object_get(j, "logIndex"));
    e->has_time = t != NULL && !json_is_null(t);
    e->integrated_time = e->has_time ? tl_int(t) : 0;
    e->kind = json_string_value(json_object_get(kv, "kind"));
    e->version = json_string_value(json_object_get(kv, "version"));
    e->promise = json_object_get(j, "inclusionPromise");
    e->proof = json_object_get(j, "inclusionProof");
    e->promise = json_is_null(e->promise) ? NULL : e->promise;
    e->proof = json_is_null(e->proof) ? NULL : e->proof;
    if (!tl_b64(e->log_id, sizeof(e->log_id), NULL, json_object_get(json_object_get(j, "logId"), "keyId"), 32)) {
        return 0;
    }
    e->body = tl_b64_dup(json_object_get(j, "canonicalizedBody"), &e->bodylen);
    return e->body != NULL && e->kind != NULL && e->version != NULL;
}

/* The log checks of one entry whose body matched: NULL, or what is wrong. *time_ok when the SET verified. */
static const char *tl_log_fault(const vctx *c, const tl_entry *e, const sign__tlog_key *k, int *time_ok)
{
    const char *fault;
    int64_t when = e->has_time ? e->integrated_time : c->at;

    *time_ok = 0;
    if (e->proof == NULL) {
        return "it carries no inclusion proof";
    }
    if ((fault = tl_proof_fault(e, k)) != NULL) {
        return fault;
    }
    if (e->promise != NULL) {
        if ((fault = tl_promise_fault(e, k)) != NULL) {
            return fault;
        }
        *time_ok = 1;
    }
    if (e->has_time && (c->has_at ? e->integrated_time > c->at : e->integrated_time - VERIFY_CLOCK_SKEW > c->at)) {
        *time_ok = 0;
        return "its integrated time is after the time judged";
    }
    if (!sign__tr_window_holds(&k->valid, when)) {
        *time_ok = 0;
        return "the log's key was not valid (trusted root validFor) at its integrated time";
    }
    return NULL;
}

static int tl_prepare(tl_signed *s, const vctx *c, const vb *b, const sign_envelope *env)
{
    const sign_key *key = b->cert_key != NULL ? b->cert_key : c->policy->keys[b->key].key;
    const unsigned char *payload;
    unsigned char *pae = NULL, *p;
    size_t len = 0, paelen = 0;
    int n, r, ok;

    memset(s, 0, sizeof(*s));
    if (env == NULL) {
        sign__bundle_msg m;

        /* A messageSignature: the signature over the artifact's digest, which the hashedrekord records
           (the verifier checks that digest against the artifact and the signature over it). */
        if (!sign__bundle_message(b->bundle, &m) || m.digestlen > sizeof(s->signed_digest) ||
            (m.digestlen != 32 && m.digestlen != 48 && m.digestlen != 64)) {
            return sign__error(SIGN_EINVAL, "a bundle without content");
        }
        s->message = 1;
        s->sig = m.sig;
        s->siglen = m.siglen;
        memcpy(s->signed_digest, m.digest, m.digestlen);
        s->signed_len = m.digestlen;
    } else {
        s->sig = sign_envelope_signature(env, 0, &s->siglen);
        s->payload_type = sign_envelope_payload_type(env);
        payload = sign_envelope_payload(env, &len);
        if (SHA256(payload, len, s->payload_sha256) == NULL) {
            return sign__ossl_error(SIGN_ENOMEM, "out of memory (SHA-256 failed)");
        }
        if ((r = sign_dsse_pae(&pae, &paelen, s->payload_type, payload, len)) != 0) {
            return r;
        }
        ok = SHA256(pae, paelen, s->signed_digest) != NULL;
        s->signed_len = 32;
        free(pae);
        if (!ok) {
            return sign__ossl_error(SIGN_ENOMEM, "out of memory (SHA-256 failed)");
        }
    }
    s->cert = sign_bundle_certificate(b->bundle, &s->certlen);
    n = i2d_PUBKEY((EVP_PKEY *)sign__key_pkey(key), NULL);
    if (n <= 0 || (s->spki = malloc((size_t)n)) == NULL) {
        ERR_clear_error();
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    p = s->spki;
    s->spkilen = (size_t)i2d_PUBKEY((EVP_PKEY *)sign__key_pkey(key), &p);
    return 0;
}

/* One entry: NULL when it verified (or only its log is unknown: *checked 0), else what is wrong. */
static const char *tl_entry_fault(const vctx *c, const json_t *j, const tl_signed *s, int *checked, int *time_ok,
                                  int64_t *when)
{
    const sign__trusted_root *tr = c->policy->trusted_root;
    const sign__tlog_key *k;
    const char *fault;
    tl_entry e;

    *checked = *time_ok = 0;
    if (!tl_read(&e, j)) {
        free(e.body);
        return "it cannot be read (logId, kindVersion, canonicalizedBody)";
    }
    if ((fault = tl_body_fault(&e, s, c->limits)) == NULL && tl_has_logs(tr)) {
        if ((k = tl_find_log(tr, e.log_id)) == NULL) {
            fault = "its log is not one of the trusted root's transparency logs";
        } else {
            fault = tl_log_fault(c, &e, k, time_ok);
            *checked = fault == NULL;
            *when = e.integrated_time;
        }
    }
    free(e.body);
    return fault;
}

/* A verified integrated time must fall inside the leaf certificate's validity: NULL, or what is wrong. */
static const char *tl_cert_time_fault(const vb *b, int64_t when)
{
    sign_x509_info info;

    if (b->certs == NULL || sign_x509_certs_info(&info, b->certs, 0) != 0) {
        sign__error_clear();
        return NULL; /* a key bundle: the key's window is judged later */
    }
    if (when < info.not_before) {
        return "before its certificate's validity began";
    }
    return when > info.not_after ? "after its certificate expired" : NULL;
}

int vfy_tlog(vctx *c, vb *b, const sign_envelope *env, int *go_on)
{
    const char *fault = NULL, *art = b->for_artifact;
    size_t n = sign__bundle_tlog(b->bundle, &fault), verified = 0;
    tl_signed s;
    int r = 0;

    *go_on = 0;
    if (fault != NULL) {
        return vfy_add_check(c, "tlog", SIGN_CHECK_FAIL, "TLOG_INVALID", SIGN_EBADSIG,
                             (vwhere){art, b->path, b->signer},
                             "bundle %s: its transparency-log entry is malformed (%s): it was altered or written "
                             "wrongly - re-sign, or remove the entry",
                             b->path, fault);
    }
    if (n > 0 && (r = tl_prepare(&s, c, b, env)) != 0) {
        free(s.spki);
        return r;
    }
    for (size_t i = 0; i < n; i++) {
        int checked = 0, time_ok = 0;
        int64_t when = 0;

        fault = tl_entry_fault(c, sign__bundle_tlog_entry(b->bundle, i), &s, &checked, &time_ok, &when);
        if (fault != NULL && (fault == tl_oom || tl_entry_fault(c, sign__bundle_tlog_entry(b->bundle, i), &s,
                                                                &checked, &time_ok, &when) == NULL)) {
            free(s.spki);
            return sign__error(SIGN_ENOMEM, "out of memory (checking transparency-log entry %zu)", i);
        }
        if (fault != NULL) {
            free(s.spki);
            return vfy_add_check(c, "tlog", SIGN_CHECK_FAIL, "TLOG_INVALID", SIGN_EBADSIG,
                                 (vwhere){art, b->path, b->signer},
                                 "bundle %s: transparency-log entry %zu does not verify: %s; the bundle was altered "
                                 "or assembled from another signing - re-sign, or remove the entry",
                                 b->path, i, fault);
        }
        verified += (size_t)checked;
        if (time_ok && (fault = tl_cert_time_fault(b, when)) != NULL) {
            free(s.spki);
            return vfy_add_check(c, "tlog", SIGN_CHECK_FAIL, "TLOG_INVALID", SIGN_EBADSIG,
                                 (vwhere){art, b->path, b->signer},
                                 "bundle %s: transparency-log entry %zu was integrated %s; the certificate did not "
                                 "sign it - re-sign with a current certificate",
                                 b->path, i, fault);
        }
        if (time_ok && (!b->has_tlog_time || when < b->tlog_time)) {
            b->has_tlog_time = 1;
            b->tlog_time = when;
        }
    }
    free(n > 0 ? s.spki : NULL);
    if (verified < (size_t)c->policy->require_tlog) {
        return vfy_add_check(c, "tlog", SIGN_CHECK_FAIL, "TLOG_MISSING", SIGN_EPOLICY,
                             (vwhere){art, b->path, b->signer},
                             "bundle %s: %zu transparency-log entr%s verified, the policy requires %d "
                             "(require.tlog); log the signing, and give the log's key in trusted_root",
                             b->path, verified, verified == 1 ? "y" : "ies", c->policy->require_tlog);
    }
    *go_on = 1;
    if (n == 0) {
        return 0;
    }
    if (verified < n) {
        return vfy_add_check(c, "tlog", SIGN_CHECK_SKIP, "OK", 0, (vwhere){art, b->path, b->signer},
                             "bundle %s: %zu transparency-log entr%s record%s this signature, but no trusted root "
                             "gives %s log's key: %s not verified and %s integrated time is not used",
                             b->path, n, n == 1 ? "y" : "ies", n == 1 ? "s" : "", n == 1 ? "its" : "their",
                             n == 1 ? "it is" : "they are", n == 1 ? "its" : "their");
    }
    return vfy_add_check(c, "tlog", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, b->signer},
                         "bundle %s: %zu transparency-log entr%s verified (inclusion proof, checkpoint%s)", b->path,
                         n, n == 1 ? "y" : "ies", b->has_tlog_time ? ", signed entry timestamp" : "");
}
