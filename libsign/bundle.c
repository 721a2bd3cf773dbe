/* Sigstore bundle JSON: v0.3 written; v0.1, v0.2 and v0.3 read strictly. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats.h"

typedef struct blob {
    unsigned char *data;
    size_t len;
} blob;

struct sign_bundle {
    char *media_type;
    sign_envelope *env;
    char *hint;  /* publicKey.hint, or NULL */
    blob cert;   /* certificate.rawBytes (v0.3) or chain[0] */
    blob *chain; /* x509CertificateChain.certificates (v0.1/v0.2), leaf first */
    size_t nchain;
    blob *timestamps; /* rfc3161Timestamps[].signedTimestamp, DER TimeStampResp */
    size_t ntimestamps;
    size_t ntlog;     /* tlogEntries */
    char *tlog_error; /* the first structural fault of a tlogEntries element, or NULL */
    json_t *tlog;     /* tlogEntries as read (verify/tlog.c checks them), or NULL */
    /* A messageSignature bundle (read by sign__bundle_read_message only): env is NULL. */
    int message;
    blob msg_sig;            /* messageSignature.signature */
    blob msg_digest;         /* messageSignature.messageDigest.digest: a hint, recomputed by the verifier */
    sign_digest_alg msg_alg; /* messageSignature.messageDigest.algorithm */
};

/* The largest number of timestamps or chain certificates read from a bundle. */
#define BUNDLE_MAX_ITEMS 16

static void blobs_free(blob *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(b[i].data);
    }
    free(b);
}

void sign_bundle_free(sign_bundle *b)
{
    if (b == NULL) {
        return;
    }
    free(b->media_type);
    sign_envelope_free(b->env);
    free(b->hint);
    if (b->nchain == 0) {
        free(b->cert.data);
    }
    blobs_free(b->chain, b->nchain);
    blobs_free(b->timestamps, b->ntimestamps);
    free(b->tlog_error);
    json_decref(b->tlog);
    free(b->msg_sig.data);
    free(b->msg_digest.data);
    free(b);
}

int sign_bundle_new(sign_bundle **out, sign_envelope *env, const sign_key *signer)
{
    sign_bundle *b = NULL;
    char keyid[SIGN_KEYID_SIZE];
    int r;

    *out = NULL;
    if (sign_envelope_signature_count(env) != 1) {
        return sign__error(SIGN_EINVAL, "a bundle carries exactly one signature, not %zu",
                           sign_envelope_signature_count(env));
    }
    if ((r = sign_key_id(keyid, sizeof(keyid), signer)) != 0) {
        return r;
    }
    if (strcmp(keyid, sign_envelope_signature_keyid(env, 0)) != 0) {
        return sign__error(SIGN_EINVAL, "the envelope's signature was not made by this key");
    }
    if ((b = calloc(1, sizeof(*b))) == NULL || (b->media_type = sign__strdup(SIGN_BUNDLE_MEDIA_TYPE_V03)) == NULL ||
        (b->hint = sign__strdup(keyid)) == NULL) {
        sign_bundle_free(b);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    b->env = env; /* transferred */
    *out = b;
    return 0;
}

static json_t *b64_string(const unsigned char *data, size_t len)
{
    char *s = NULL;
    json_t *j;

    if (sign__b64_encode(&s, data, len) != 0) {
        return NULL;
    }
    j = json_string(s);
    free(s);
    return j;
}

/* The bundle as JSON; with placeholder, its payload is SIGN__PAYLOAD_PLACEHOLDER (see splice_find). */
static json_t *bundle_to_json(const sign_bundle *b, int placeholder)
{
    json_t *root = NULL, *vm = NULL, *env = NULL, *ts = NULL;

    if ((root = json_object()) == NULL || (vm = json_object()) == NULL) {
        goto fail;
    }
    if ((env = placeholder ? sign__envelope_to_json_placeholder(b->env) : sign__envelope_to_json(b->env)) == NULL) {
        goto fail;
    }
    if (json_object_set_new(root, "mediaType", json_string(b->media_type)) != 0) {
        goto fail; /* env is still ours */
    }
    if (json_object_set_new(root, "dsseEnvelope", env) != 0) {
        env = NULL; /* consumed, also on failure */
        goto fail;
    }
    env = NULL; /* transferred */
    if (b->hint != NULL) {
        if (json_object_set_new(vm, "publicKey", json_pack("{s:s}", "hint", b->hint)) != 0) {
            goto fail;
        }
    } else if (b->nchain > 0) {
        json_t *certs = json_array();

        if (certs == NULL) {
            goto fail;
        }
        for (size_t i = 0; i < b->nchain; i++) {
            if (json_array_append_new(
                    certs, json_pack("{s:o}", "rawBytes", b64_string(b->chain[i].data, b->chain[i].len))) != 0) {
                json_decref(certs);
                goto fail;
            }
        }
        if (json_object_set_new(vm, "x509CertificateChain", json_pack("{s:o}", "certificates", certs)) != 0) {
            goto fail;
        }
    } else if (b->cert.data != NULL) {
        if (json_object_set_new(vm, "certificate",
                                json_pack("{s:o}", "rawBytes", b64_string(b->cert.data, b->cert.len))) != 0) {
            goto fail;
        }
    }
    if (json_object_set_new(vm, "tlogEntries", json_array()) != 0) {
        goto fail;
    }
    if (b->ntimestamps > 0) {
        if ((ts = json_array()) == NULL) {
            goto fail;
        }
        for (size_t i = 0; i < b->ntimestamps; i++) {
            if (json_array_append_new(ts, json_pack("{s:o}", "signedTimestamp",
                                                    b64_string(b->timestamps[i].data, b->timestamps[i].len))) != 0) {
                goto fail;
            }
        }
        if (json_object_set_new(vm, "timestampVerificationData", json_pack("{s:o}", "rfc3161Timestamps", ts)) != 0) {
            ts = NULL;
            goto fail;
        }
        ts = NULL;
    }
    if (json_object_set_new(root, "verificationMaterial", vm) != 0) {
        vm = NULL;
        goto fail;
    }
    return root;
fail:
    sign__error(SIGN_ENOMEM, "out of memory");
    json_decref(ts);
    json_decref(env);
    json_decref(vm);
    json_decref(root);
    return NULL;
}

/*
 * The bundle's text is jansson's dump of the bundle with the payload's value a
 * placeholder, and the payload's base64 put in its place: jansson escapes a
 * string one character at a time and checks it as UTF-8, which for a payload
 * of a few MB (base64: nothing to escape or check) cost more than the rest of
 * the bundle, and the base64 text never needs to be held whole when written.
 */
typedef struct {
    char *text; /* the dump with the placeholder */
    size_t n;   /* its length */
    size_t at;  /* where the placeholder starts in it */
    const unsigned char *payload;
    size_t plen;
    char *buf; /* SPLICE_BUF bytes for splice_write */
} spliced;

static const char splice_ph[] = "\"\\u0000signet-payload\""; /* how jansson writes the placeholder */

/* 0 (sp filled; free sp->text), 1 to dump as usual (the placeholder not found exactly once), or a negative code. */
static int splice_find(spliced *sp, const sign_bundle *b)
{
    json_t *j;
    const char *at;
    int r;

    memset(sp, 0, sizeof(*sp));
    if ((j = bundle_to_json(b, 1)) == NULL) {
        return sign__oom();
    }
    r = sign__json_dump(&sp->text, &sp->n, j, 0);
    json_decref(j);
    if (r != 0) {
        return r;
    }
    if ((at = memmem(sp->text, sp->n, splice_ph, sizeof(splice_ph) - 1)) == NULL ||
        memmem(at + 1, sp->n - (size_t)(at + 1 - sp->text), splice_ph, sizeof(splice_ph) - 1) != NULL) {
        free(sp->text);
        sp->text = NULL;
        return 1;
    }
    sp->at = (size_t)(at - sp->text);
    sp->payload = sign_envelope_payload(b->env, &sp->plen);
    return 0;
}

/* The text after the placeholder, and its length. */
static const char *splice_post(const spliced *sp, size_t *len)
{
    *len = sp->n - sp->at - (sizeof(splice_ph) - 1);
    return sp->text + sp->at + sizeof(splice_ph) - 1;
}

/* The whole text, NUL-terminated (one byte more than *outlen is allocated beyond it: room for a newline). */
static int splice_join(char **out, size_t *outlen, const spliced *sp)
{
    size_t b64 = (sp->plen + 2) / 3 * 4, plen, o;
    const char *post = splice_post(sp, &plen);
    char *s;

    if ((s = malloc(sp->at + b64 + plen + 4)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    memcpy(s, sp->text, sp->at);
    o = sp->at;
    s[o++] = '"';
    o += sign__b64_encode_into(s + o, sp->payload, sp->plen);
    s[o++] = '"';
    memcpy(s + o, post, plen);
    o += plen;
    s[o] = '\0';
    *out = s;
    *outlen = o;
    return 0;
}

int sign_bundle_serialize(char **out, size_t *outlen, const sign_bundle *b)
{
    spliced sp;
    json_t *j;
    size_t n = 0;
    int r;

    *out = NULL;
    if ((r = splice_find(&sp, b)) == 0) {
        r = splice_join(out, &n, &sp);
        free(sp.text);
    } else if (r == 1) {
        if ((j = bundle_to_json(b, 0)) == NULL) {
            return sign__oom();
        }
        r = sign__json_dump(out, &n, j, 0);
        json_decref(j);
    }
    if (r == 0 && outlen != NULL) {
        *outlen = n;
    }
    return r;
}

/* A 64 KiB buffer in front of write(2), for the spliced text. */
#define SPLICE_BUF 65536
typedef struct {
    int fd;
    size_t n;
    char *buf;
} obuf;

static int ob_flush(obuf *o)
{
    int r = sign__write_all(o->fd, o->buf, o->n);

    o->n = 0;
    return r;
}

static int ob_put(obuf *o, const char *s, size_t len)
{
    while (len > 0) {
        size_t k = len < SPLICE_BUF - o->n ? len : SPLICE_BUF - o->n;

        memcpy(o->buf + o->n, s, k);
        o->n += k;
        s += k;
        len -= k;
        if (o->n == SPLICE_BUF && ob_flush(o) != 0) {
            return -1;
        }
    }
    return 0;
}

/* The payload as a JSON string: '"', its base64, '"'. */
static int splice_payload(obuf *o, const unsigned char *payload, size_t plen)
{
    size_t done = 0;

    if (ob_put(o, "\"", 1) != 0) {
        return -1;
    }
    while (done < plen) {
        /* A whole number of 3-byte groups that fits the room left (at least 4 characters after a flush). */
        size_t room = (SPLICE_BUF - o->n) / 4 * 3, k = plen - done < room ? plen - done : room;

        if (k == 0) {
            if (ob_flush(o) != 0) {
                return -1;
            }
            continue;
        }
        o->n += sign__b64_encode_into(o->buf + o->n, payload + done, k);
        done += k;
    }
    return ob_put(o, "\"", 1);
}

/* The text after the payload and a newline, and what is left in o, written. */
static int splice_rest(obuf *o, const spliced *sp)
{
    size_t plen;
    const char *post = splice_post(sp, &plen);

    if (ob_put(o, post, plen) != 0 || ob_put(o, "\n", 1) != 0) {
        return -1;
    }
    return ob_flush(o);
}

/* sign__write_file_atomic_with's writer: the text as splice_join makes it, and a newline, 64 KiB at a time. */
static int splice_write(int fd, void *ctx)
{
    const spliced *sp = ctx;
    obuf o = {fd, 0, sp->buf};

    if (ob_put(&o, sp->text, sp->at) != 0 || splice_payload(&o, sp->payload, sp->plen) != 0) {
        return -1;
    }
    return splice_rest(&o, sp);
}

/*
 * What comes before the payload in every bundle written here (the keys are sorted and dsseEnvelope's
 * payload is the first string): sign__bundle_out_begin writes it before the bundle exists, and
 * sign__bundle_out_finish checks it against the bundle's real text.
 */
static const char out_head[] = "{\"dsseEnvelope\":{\"payload\":";

int sign__bundle_out_begin(sign__bundle_out *bo, const sign_envelope *env, const char *path)
{
    size_t plen = 0;
    const unsigned char *payload = sign_envelope_payload(env, &plen);
    obuf o = {-1, 0, NULL};
    int r;

    memset(bo, 0, sizeof(*bo));
    bo->af.fd = -1;
    if ((bo->buf = malloc(SPLICE_BUF)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if ((r = sign__atomic_open(&bo->af, path, 0644)) != 0) {
        free(bo->buf);
        bo->buf = NULL;
        return r;
    }
    o.fd = bo->af.fd;
    o.buf = bo->buf;
    if (ob_put(&o, out_head, sizeof(out_head) - 1) != 0 || splice_payload(&o, payload, plen) != 0 ||
        ob_flush(&o) != 0) {
        r = sign__atomic_failed(&bo->af);
        sign__bundle_out_abort(bo);
        return r;
    }
    bo->payload = payload;
    bo->open = 1;
    return 0;
}

void sign__bundle_out_abort(sign__bundle_out *bo)
{
    if (bo->open) {
        sign__atomic_abort(&bo->af);
    }
    free(bo->buf);
    memset(bo, 0, sizeof(*bo));
}

/* The whole text again from the start of the file: what was written before was not the bundle's. */
static int out_rewrite(sign__bundle_out *bo, const spliced *sp)
{
    if (lseek(bo->af.fd, 0, SEEK_SET) != 0 || ftruncate(bo->af.fd, 0) != 0) {
        return -1;
    }
    return splice_write(bo->af.fd, (void *)sp);
}

int sign__bundle_out_finish(sign__bundle_out *bo, const sign_bundle *b)
{
    spliced sp;
    obuf o = {bo->af.fd, 0, bo->buf};
    int r, w;

    if ((r = splice_find(&sp, b)) != 0) {
        const char *path = bo->af.path;

        sign__bundle_out_abort(bo);
        return r == 1 ? sign_bundle_write(b, path) : r; /* no placeholder found: as jansson dumps it */
    }
    sp.buf = bo->buf;
    if (sp.at == sizeof(out_head) - 1 && memcmp(sp.text, out_head, sp.at) == 0 && sp.payload == bo->payload) {
        w = splice_rest(&o, &sp);
    } else {
        w = out_rewrite(bo, &sp);
    }
    free(sp.text);
    r = w != 0 ? sign__atomic_failed(&bo->af) : sign__atomic_commit(&bo->af);
    bo->open = 0;
    sign__bundle_out_abort(bo);
    return r;
}

int sign_bundle_write(const sign_bundle *b, const char *path)
{
    spliced sp;
    char *text = NULL;
    size_t len = 0;
    int r;

    if ((r = splice_find(&sp, b)) == 0) {
        r = (sp.buf = malloc(SPLICE_BUF)) == NULL ? sign__error(SIGN_ENOMEM, "out of memory")
                                                  : sign__write_file_atomic_with(path, splice_write, &sp, 0644);
        free(sp.buf);
        free(sp.text);
        return r;
    }
    if (r != 1 || (r = sign_bundle_serialize(&text, &len, b)) != 0) {
        return r;
    }
    /* A trailing newline keeps the file friendly to tools; JSON readers ignore it. */
    text[len] = '\n';
    r = sign__write_file_atomic(path, text, len + 1, 0644);
    free(text);
    return r;
}

/*
 * The member key of obj, NULL when absent or JSON null: proto3 JSON writers
 * (sigstore-js 2.x) write null for an unset field, which means absent.
 */
static json_t *member(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_null(v) ? NULL : v;
}

static int decode_bytes(blob *out, const json_t *obj, const char *field, const char *what)
{
    const char *s = NULL;
    int r;

    out->data = NULL;
    out->len = 0;
    if (!json_is_object(obj)) {
        return sign__error(SIGN_EPARSE, "%s must be an object", what);
    }
    if ((r = sign__json_get_string(&s, obj, field, 1, what)) != 0) {
        return r;
    }
    if ((r = sign__b64_decode(&out->data, &out->len, s, strlen(s))) != 0) {
        return sign__error_context(r, "%s.%s", what, field);
    }
    if (out->len == 0) {
        free(out->data);
        out->data = NULL;
        return sign__error(SIGN_EPARSE, "%s.%s is empty", what, field);
    }
    return 0;
}

static int decode_list(blob **out, size_t *n, const json_t *arr, const char *field, const char *what)
{
    size_t i, count;
    json_t *item;
    blob *list;
    int r;

    *out = NULL;
    *n = 0;
    if (!json_is_array(arr)) {
        return sign__error(SIGN_EPARSE, "%s must be an array", what);
    }
    count = json_array_size(arr);
    if (count > BUNDLE_MAX_ITEMS) {
        return sign__error(SIGN_ELIMIT, "%s has %zu items, more than %d", what, count, BUNDLE_MAX_ITEMS);
    }
    if (count == 0) {
        return 0;
    }
    if ((list = calloc(count, sizeof(*list))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_array_foreach(arr, i, item)
    {
        if ((r = decode_bytes(&list[i], item, field, what)) != 0) {
            blobs_free(list, count);
            return r;
        }
    }
    *out = list;
    *n = count;
    return 0;
}

static int known_media_type(const char *mt, int *version)
{
    if (strcmp(mt, SIGN_BUNDLE_MEDIA_TYPE_V03) == 0 ||
        strcmp(mt, "application/vnd.dev.sigstore.bundle+json;version=0.3") == 0) {
        *version = 3;
    } else if (strcmp(mt, SIGN_BUNDLE_MEDIA_TYPE_V02) == 0) {
        *version = 2;
    } else if (strcmp(mt, SIGN_BUNDLE_MEDIA_TYPE_V01) == 0) {
        *version = 1;
    } else {
        return 0;
    }
    return 1;
}

/* verificationMaterial.publicKey: the hint, or "" when absent. */
static int material_public_key(sign_bundle *b, const json_t *pk, const char *what)
{
    const char *hint = NULL;
    int r;

    if (!json_is_object(pk)) {
        return sign__error(SIGN_EPARSE, "%s: verificationMaterial.publicKey must be an object", what);
    }
    if (member(pk, "hint") != NULL &&
        (r = sign__json_get_string(&hint, pk, "hint", 0, "verificationMaterial.publicKey")) != 0) {
        return sign__error_context(r, "%s", what);
    }
    if ((b->hint = sign__strdup(hint != NULL ? hint : "")) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    return 0;
}

/* verificationMaterial.x509CertificateChain (v0.1 and v0.2 only): the leaf first. */
static int material_chain(sign_bundle *b, const json_t *chain, int version, const char *what)
{
    int r;

    if (version >= 3) {
        return sign__error(SIGN_EPARSE, "%s: x509CertificateChain is not allowed in a v0.3 bundle", what);
    }
    if (!json_is_object(chain)) {
        return sign__error(SIGN_EPARSE, "%s: x509CertificateChain must be an object", what);
    }
    if ((r = decode_list(&b->chain, &b->nchain, json_object_get(chain, "certificates"), "rawBytes",
                         "verificationMaterial.x509CertificateChain.certificates")) != 0) {
        return sign__error_context(r, "%s", what);
    }
    if (b->nchain == 0) {
        return sign__error(SIGN_EPARSE, "%s: empty x509CertificateChain", what);
    }
    b->cert = b->chain[0];
    return 0;
}

/* The key material: exactly one of publicKey, certificate (v0.3), x509CertificateChain (before v0.3). */
static int bundle_material(sign_bundle *b, const json_t *vm, int version, const char *what)
{
    json_t *pk = member(vm, "publicKey"), *cert = member(vm, "certificate"),
           *chain = member(vm, "x509CertificateChain");
    int r;

    if ((pk != NULL) + (cert != NULL) + (chain != NULL) != 1) {
        return sign__error(SIGN_EPARSE,
                           "%s: verificationMaterial must hold exactly one of publicKey, certificate, "
                           "x509CertificateChain",
                           what);
    }
    if (pk != NULL) {
        return material_public_key(b, pk, what);
    }
    if (chain != NULL) {
        return material_chain(b, chain, version, what);
    }
    if (version < 3) {
        return sign__error(SIGN_EPARSE, "%s: verificationMaterial.certificate needs a v0.3 bundle", what);
    }
    if ((r = decode_bytes(&b->cert, cert, "rawBytes", "verificationMaterial.certificate")) != 0) {
        return sign__error_context(r, "%s", what);
    }
    return 0;
}

/* An int64 as proto3 JSON writes it (a decimal string) or a JSON integer, >= 0. */
static int tlog_int(const json_t *v, int required)
{
    const char *str = json_string_value(v);

    if (v == NULL || json_is_null(v)) {
        return !required;
    }
    if (json_is_integer(v)) {
        return json_integer_value(v) >= 0;
    }
    return str != NULL && str[0] != '\0' && strlen(str) <= 19 && strspn(str, "0123456789") == strlen(str);
}

/* Base64 that decodes to at least one byte (exactly want bytes when want > 0): 1, 0 when it is not, -1 when
   memory ran out decoding it. */
static int tlog_b64(const json_t *v, size_t want)
{
    const char *str = json_string_value(v);
    unsigned char *d = NULL;
    size_t n = 0;
    int ok = 0;

    if (str == NULL || (ok = sign__b64_decode(&d, &n, str, strlen(str))) != 0) {
        sign__error_clear();
        return str != NULL && ok == SIGN_ENOMEM ? -1 : 0;
    }
    ok = n > 0 && (want == 0 || n == want);
    free(d);
    return ok;
}

/* The fault that is no verdict on the entry (bundle_tlog returns SIGN_ENOMEM for it). */
static const char tlog_oom[] = "out of memory";

/* NULL when v is base64 of want bytes (any number above 0 when want is 0), else fault (tlog_oom: no memory). */
static const char *b64_fault(const json_t *v, size_t want, const char *fault)
{
    int ok = tlog_b64(v, want);

    return ok > 0 ? NULL : ok < 0 ? tlog_oom : fault;
}

/* The inclusion proof: indexes, a SHA-256 root, SHA-256 path hashes, a checkpoint note. */
static const char *tlog_proof_fault(const json_t *pf)
{
    const json_t *hashes = member(pf, "hashes"), *h;
    const char *f;
    size_t i;

    if (!json_is_object(pf)) {
        return "inclusionProof must be an object";
    }
    if (!tlog_int(member(pf, "logIndex"), 1) || !tlog_int(member(pf, "treeSize"), 1)) {
        return "inclusionProof needs logIndex and treeSize (non-negative integers)";
    }
    if ((f = b64_fault(member(pf, "rootHash"), 32, "inclusionProof.rootHash must be a base64 SHA-256 hash")) !=
        NULL) {
        return f;
    }
    if (hashes != NULL && (!json_is_array(hashes) || json_array_size(hashes) > 64)) {
        return "inclusionProof.hashes must be an array of at most 64 hashes";
    }
    json_array_foreach(hashes, i, h)
    {
        if ((f = b64_fault(h, 32, "inclusionProof.hashes[] must be base64 SHA-256 hashes")) != NULL) {
            return f;
        }
    }
    if (!json_is_string(json_object_get(member(pf, "checkpoint"), "envelope"))) {
        return "inclusionProof.checkpoint.envelope must be a string";
    }
    return NULL;
}

/* The structural fault of one tlogEntries element (Sigstore's TransparencyLogEntry), or NULL. */
static const char *tlog_entry_fault(const json_t *e)
{
    const json_t *kv = member(e, "kindVersion"), *promise = member(e, "inclusionPromise"),
                 *proof = member(e, "inclusionProof");
    const char *f;

    if (!json_is_object(e)) {
        return "an entry must be an object";
    }
    if (!tlog_int(member(e, "logIndex"), 1) || !tlog_int(member(e, "integratedTime"), 0)) {
        return "logIndex (and integratedTime) must be non-negative integers";
    }
    if ((f = b64_fault(json_object_get(member(e, "logId"), "keyId"), 0, "logId.keyId must be base64")) != NULL) {
        return f;
    }
    if (!json_is_object(kv) || json_string_length(json_object_get(kv, "kind")) == 0 ||
        json_string_length(json_object_get(kv, "version")) == 0) {
        return "kindVersion needs kind and version";
    }
    if ((f = b64_fault(member(e, "canonicalizedBody"), 0, "canonicalizedBody must be base64")) != NULL) {
        return f;
    }
    if (promise == NULL && proof == NULL) {
        return "an entry needs an inclusionPromise or an inclusionProof";
    }
    if (promise != NULL && (f = b64_fault(json_object_get(promise, "signedEntryTimestamp"), 0,
                                          "inclusionPromise.signedEntryTimestamp must be base64")) != NULL) {
        return f;
    }
    return proof != NULL ? tlog_proof_fault(proof) : NULL;
}

/* tlogEntries: at most BUNDLE_MAX_ITEMS; the first structural fault is kept for the verifier (TLOG_INVALID). */
static int bundle_tlog(sign_bundle *b, const json_t *tlog, const char *what)
{
    const json_t *e;
    size_t i;

    if (tlog == NULL) {
        return 0;
    }
    if (!json_is_array(tlog)) {
        return sign__error(SIGN_EPARSE, "%s: tlogEntries must be an array", what);
    }
    if (json_array_size(tlog) > BUNDLE_MAX_ITEMS) {
        return sign__error(SIGN_ELIMIT, "%s: tlogEntries has %zu items, more than %d", what, json_array_size(tlog),
                           BUNDLE_MAX_ITEMS);
    }
    b->ntlog = json_array_size(tlog);
    b->tlog = json_incref((json_t *)tlog);
    json_array_foreach(tlog, i, e)
    {
        const char *fault = tlog_entry_fault(e);
        char buf[160];

        if (fault == tlog_oom) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        if (fault != NULL) {
            snprintf(buf, sizeof(buf), "tlogEntries[%zu]: %s", i, fault);
            if ((b->tlog_error = sign__strdup(buf)) == NULL) {
                return sign__error(SIGN_ENOMEM, "out of memory");
            }
            break;
        }
    }
    return 0;
}

size_t sign__bundle_tlog(const sign_bundle *b, const char **error)
{
    *error = b->tlog_error;
    return b->ntlog;
}

const json_t *sign__bundle_tlog_entry(const sign_bundle *b, size_t i)
{
    return i < b->ntlog ? json_array_get(b->tlog, i) : NULL;
}

/* timestampVerificationData and tlogEntries. */
static int bundle_evidence(sign_bundle *b, const json_t *vm, const char *what)
{
    json_t *tvd = member(vm, "timestampVerificationData"), *tlog = member(vm, "tlogEntries");
    int r;

    if (tvd != NULL) {
        json_t *ts;

        if (!json_is_object(tvd)) {
            return sign__error(SIGN_EPARSE, "%s: timestampVerificationData must be an object", what);
        }
        ts = member(tvd, "rfc3161Timestamps");
        if (ts != NULL && (r = decode_list(&b->timestamps, &b->ntimestamps, ts, "signedTimestamp",
                                           "timestampVerificationData.rfc3161Timestamps")) != 0) {
            return sign__error_context(r, "%s", what);
        }
    }
    return bundle_tlog(b, tlog, what);
}

/*
 * messageSignature (a hashedrekord-style bundle): the signature over the
 * artifact itself, and the artifact's digest as a hint. The digest is
 * required here: signet matches the artifact by it, after recomputing it.
 */
static int bundle_message(sign_bundle *b, const json_t *ms, const char *what)
{
    static const struct {
        const char *name;
        sign_digest_alg alg;
        size_t len;
    } algs[] = {{"SHA2_256", SIGN_DIGEST_SHA256, 32},
                {"SHA2_384", SIGN_DIGEST_SHA384, 48},
                {"SHA2_512", SIGN_DIGEST_SHA512, 64}};
    const json_t *md = member(ms, "messageDigest");
    const char *alg = NULL;
    size_t k;
    int r;

    if (!json_is_object(ms)) {
        return sign__error(SIGN_EPARSE, "%s: messageSignature must be an object", what);
    }
    if ((r = decode_bytes(&b->msg_sig, ms, "signature", "messageSignature")) != 0) {
        return sign__error_context(r, "%s", what);
    }
    if (md == NULL) {
        return sign__error(SIGN_EPARSE,
                           "%s: messageSignature has no messageDigest; signet matches the artifact by its digest",
                           what);
    }
    if ((r = decode_bytes(&b->msg_digest, md, "digest", "messageSignature.messageDigest")) != 0 ||
        (r = sign__json_get_string(&alg, md, "algorithm", 1, "messageSignature.messageDigest")) != 0) {
        return sign__error_context(r, "%s", what);
    }
    for (k = 0; k < sizeof(algs) / sizeof(algs[0]) && strcmp(algs[k].name, alg) != 0; k++) {
    }
    if (k == sizeof(algs) / sizeof(algs[0])) {
        return sign__error(SIGN_EUNSUPPORTED,
                           "%s: messageDigest.algorithm \"%s\" is not supported (SHA2_256, "
                           "SHA2_384, SHA2_512)",
                           what, alg);
    }
    if (b->msg_digest.len != algs[k].len) {
        return sign__error(SIGN_EPARSE, "%s: messageDigest.digest is %zu bytes, not the %zu of %s", what,
                           b->msg_digest.len, algs[k].len, alg);
    }
    b->msg_alg = algs[k].alg;
    b->message = 1;
    return 0;
}

/* The content: a DSSE envelope with exactly one signature, or (allow_message) a messageSignature. */
static int bundle_content(sign_bundle *b, const json_t *root, const sign__json_doc *doc, int allow_message,
                          const char *what)
{
    json_t *env = member(root, "dsseEnvelope"), *ms = member(root, "messageSignature");
    int r;

    if (ms != NULL && !allow_message) {
        return sign__error(SIGN_EUNSUPPORTED,
                           "%s: bundles with a messageSignature are read only by signet verify; this command "
                           "takes DSSE bundles",
                           what);
    }
    if (ms != NULL && env != NULL) {
        return sign__error(SIGN_EPARSE, "%s: a bundle holds a dsseEnvelope or a messageSignature, not both", what);
    }
    if (ms != NULL) {
        return bundle_message(b, ms, what);
    }
    if (env == NULL) {
        return sign__error(SIGN_EPARSE, "%s: missing \"dsseEnvelope\"", what);
    }
    if ((r = sign__envelope_from_json(&b->env, env, doc, what)) != 0) {
        return r;
    }
    if (sign_envelope_signature_count(b->env) != 1) {
        return sign__error(SIGN_EPARSE, "%s: the DSSE envelope must carry exactly one signature, not %zu", what,
                           sign_envelope_signature_count(b->env));
    }
    return 0;
}

/* The bundle of doc's tree (doc->root). */
static int bundle_from_json(sign_bundle **out, const sign__json_doc *doc, int allow_message, const char *what)
{
    const json_t *root = doc->root;
    sign_bundle *b = NULL;
    const char *mt = NULL;
    json_t *vm;
    int version = 0, r;

    *out = NULL;
    if (!json_is_object(root)) {
        return sign__error(SIGN_EPARSE, "%s: a bundle must be a JSON object", what);
    }
    if ((r = sign__json_get_string(&mt, root, "mediaType", 1, what)) != 0) {
        return r;
    }
    if (!known_media_type(mt, &version)) {
        return sign__error(SIGN_EPARSE, "%s: unknown bundle media type \"%s\"", what, mt);
    }
    if ((b = calloc(1, sizeof(*b))) == NULL || (b->media_type = sign__strdup(mt)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    if ((r = bundle_content(b, root, doc, allow_message, what)) != 0) {
        goto out;
    }
    vm = json_object_get(root, "verificationMaterial");
    if (!json_is_object(vm)) {
        r = sign__error(SIGN_EPARSE, "%s: missing \"verificationMaterial\" object", what);
        goto out;
    }
    if ((r = bundle_material(b, vm, version, what)) != 0 || (r = bundle_evidence(b, vm, what)) != 0) {
        goto out;
    }
    *out = b;
    b = NULL; /* transferred */
    r = 0;
out:
    sign_bundle_free(b);
    return r;
}

/*
 * The members of a bundle that any reader may use: Sigstore's Bundle, its DSSE envelope and its
 * VerificationMaterial, as the protobuf-specs define them. Every other member is ignored (the profile) and is
 * never built: its value is checked as JSON and read as null (sign__json_parse_known), so an unauthenticated
 * bundle cannot make the reader build a large tree nobody reads. A field read from a bundle must be listed here.
 */
static const sign__json_field bundle_bytes[] = {{"rawBytes", NULL, NULL}, {NULL, NULL, NULL}};
static const sign__json_field bundle_chain[] = {{"certificates", NULL, bundle_bytes}, {NULL, NULL, NULL}};
static const sign__json_field bundle_public_key[] = {{"hint", NULL, NULL}, {NULL, NULL, NULL}};
static const sign__json_field bundle_stamp[] = {{"signedTimestamp", NULL, NULL}, {NULL, NULL, NULL}};
static const sign__json_field bundle_tsdata[] = {{"rfc3161Timestamps", NULL, bundle_stamp}, {NULL, NULL, NULL}};
static const sign__json_field bundle_log_id[] = {{"keyId", NULL, NULL}, {NULL, NULL, NULL}};
static const sign__json_field bundle_kind[] = {{"kind", NULL, NULL}, {"version", NULL, NULL}, {NULL, NULL, NULL}};
static const sign__json_field bundle_promise[] = {{"signedEntryTimestamp", NULL, NULL}, {NULL, NULL, NULL}};
static const sign__json_field bundle_checkpoint[] = {{"envelope", NULL, NULL}, {NULL, NULL, NULL}};
static const sign__json_field bundle_proof[] = {{"logIndex", NULL, NULL},
                                                {"rootHash", NULL, NULL},
                                                {"treeSize", NULL, NULL},
                                                {"hashes", NULL, NULL},
                                                {"checkpoint", bundle_checkpoint, NULL},
                                                {NULL, NULL, NULL}};
static const sign__json_field bundle_tlog_entry[] = {{"logIndex", NULL, NULL},
                                                     {"logId", bundle_log_id, NULL},
                                                     {"kindVersion", bundle_kind, NULL},
                                                     {"integratedTime", NULL, NULL},
                                                     {"inclusionPromise", bundle_promise, NULL},
                                                     {"inclusionProof", bundle_proof, NULL},
                                                     {"canonicalizedBody", NULL, NULL},
                                                     {NULL, NULL, NULL}};
static const sign__json_field bundle_material_fields[] = {{"publicKey", bundle_public_key, NULL},
                                                          {"x509CertificateChain", bundle_chain, NULL},
                                                          {"certificate", bundle_bytes, NULL},
                                                          {"tlogEntries", NULL, bundle_tlog_entry},
                                                          {"timestampVerificationData", bundle_tsdata, NULL},
                                                          {NULL, NULL, NULL}};
static const sign__json_field bundle_fields[] = {{"mediaType", NULL, NULL},
                                                 {"verificationMaterial", bundle_material_fields, NULL},
                                                 {"dsseEnvelope", sign__envelope_fields, NULL},
                                                 {"messageSignature", NULL, NULL},
                                                 {NULL, NULL, NULL}};

int sign_bundle_parse(sign_bundle **out, const void *data, size_t len, const sign_limits *limits)
{
    sign__json_doc doc;
    int r;

    *out = NULL;
    if ((r = sign__json_parse_doc(&doc, data, len, limits, "bundle", bundle_fields)) != 0) {
        return r;
    }
    r = bundle_from_json(out, &doc, 0, "bundle");
    sign__json_doc_free(&doc);
    return r;
}

int sign_bundle_read(sign_bundle **out, const char *path, const sign_limits *limits)
{
    sign__json_doc doc;
    int r;

    *out = NULL;
    if ((r = sign__json_read_file_doc(&doc, path, limits, bundle_fields)) != 0) {
        return r;
    }
    r = bundle_from_json(out, &doc, 0, path);
    sign__json_doc_free(&doc);
    return r;
}

int sign__bundle_parse_message(sign_bundle **out, const void *data, size_t len, const sign_limits *limits)
{
    sign__json_doc doc;
    int r;

    *out = NULL;
    if ((r = sign__json_parse_doc(&doc, data, len, limits, "bundle", bundle_fields)) != 0) {
        return r;
    }
    r = bundle_from_json(out, &doc, 1, "bundle");
    sign__json_doc_free(&doc);
    return r;
}

int sign__bundle_read_message(sign_bundle **out, const char *path, const sign_limits *limits)
{
    sign__json_doc doc;
    int r;

    *out = NULL;
    if ((r = sign__json_read_file_doc(&doc, path, limits, bundle_fields)) != 0) {
        return r;
    }
    r = bundle_from_json(out, &doc, 1, path);
    sign__json_doc_free(&doc);
    return r;
}

int sign__bundle_message(const sign_bundle *b, sign__bundle_msg *out)
{
    memset(out, 0, sizeof(*out));
    if (!b->message) {
        return 0;
    }
    out->sig = b->msg_sig.data;
    out->siglen = b->msg_sig.len;
    out->alg = b->msg_alg;
    out->digest = b->msg_digest.data;
    out->digestlen = b->msg_digest.len;
    return 1;
}

const char *sign_bundle_media_type(const sign_bundle *b)
{
    return b->media_type;
}

const sign_envelope *sign_bundle_envelope(const sign_bundle *b)
{
    return b->env;
}

const char *sign_bundle_key_hint(const sign_bundle *b)
{
    return b->hint;
}

const unsigned char *sign_bundle_certificate(const sign_bundle *b, size_t *len)
{
    *len = b->cert.len;
    return b->cert.data;
}

static int blob_copy(blob *out, const unsigned char *data, size_t len)
{
    if (len == 0 || (out->data = malloc(len)) == NULL) {
        return len == 0 ? sign__error(SIGN_EINVAL, "empty certificate or timestamp")
                        : sign__error(SIGN_ENOMEM, "out of memory");
    }
    memcpy(out->data, data, len);
    out->len = len;
    return 0;
}

int sign_bundle_new_x509(sign_bundle **out, sign_envelope *env, const unsigned char *leaf, size_t leaflen,
                         const unsigned char *const *chain, const size_t *chainlens, size_t nchain)
{
    sign_bundle *b = NULL;
    int r;

    *out = NULL;
    if (sign_envelope_signature_count(env) != 1) {
        return sign__error(SIGN_EINVAL, "a bundle carries exactly one signature, not %zu",
                           sign_envelope_signature_count(env));
    }
    if (nchain >= BUNDLE_MAX_ITEMS) {
        return sign__error(SIGN_EINVAL, "a certificate chain of %zu intermediates is too long (at most %d)", nchain,
                           BUNDLE_MAX_ITEMS - 1);
    }
    if ((b = calloc(1, sizeof(*b))) == NULL ||
        (b->media_type = sign__strdup(nchain > 0 ? SIGN_BUNDLE_MEDIA_TYPE_V02 : SIGN_BUNDLE_MEDIA_TYPE_V03)) ==
            NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto fail;
    }
    if (nchain == 0) {
        if ((r = blob_copy(&b->cert, leaf, leaflen)) != 0) {
            goto fail;
        }
    } else {
        if ((b->chain = calloc(nchain + 1, sizeof(*b->chain))) == NULL) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i <= nchain; i++) {
            if ((r = blob_copy(&b->chain[i], i == 0 ? leaf : chain[i - 1], i == 0 ? leaflen : chainlens[i - 1])) !=
                0) {
                goto fail;
            }
            b->nchain = i + 1;
        }
        b->cert = b->chain[0]; /* aliases chain[0], as the reader does */
    }
    b->env = env; /* transferred */
    *out = b;
    return 0;
fail:
    sign_bundle_free(b);
    return r;
}

size_t sign_bundle_chain_count(const sign_bundle *b)
{
    return b->nchain;
}

const unsigned char *sign_bundle_chain_cert(const sign_bundle *b, size_t i, size_t *len)
{
    if (i >= b->nchain) {
        *len = 0;
        return NULL;
    }
    *len = b->chain[i].len;
    return b->chain[i].data;
}

size_t sign_bundle_timestamp_count(const sign_bundle *b)
{
    return b->ntimestamps;
}

const unsigned char *sign_bundle_timestamp(const sign_bundle *b, size_t i, size_t *len)
{
    if (i >= b->ntimestamps) {
        *len = 0;
        return NULL;
    }
    *len = b->timestamps[i].len;
    return b->timestamps[i].data;
}

int sign_bundle_add_timestamp(sign_bundle *b, const unsigned char *der, size_t len)
{
    blob *grown;
    int r;

    if (b->ntimestamps >= BUNDLE_MAX_ITEMS) {
        return sign__error(SIGN_EINVAL, "a bundle holds at most %d timestamps", BUNDLE_MAX_ITEMS);
    }
    if ((grown = realloc(b->timestamps, (b->ntimestamps + 1) * sizeof(*grown))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    b->timestamps = grown;
    if ((r = blob_copy(&b->timestamps[b->ntimestamps], der, len)) != 0) {
        return r;
    }
    b->ntimestamps++;
    return 0;
}
