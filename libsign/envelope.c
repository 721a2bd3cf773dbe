/* DSSE envelopes: pre-authentication encoding, signing, verification, JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats.h"

typedef struct dsse_sig {
    char *keyid;
    unsigned char *sig;
    size_t siglen;
} dsse_sig;

struct sign_envelope {
    char *payload_type;
    unsigned char *pae; /* the pre-authentication encoding, which holds the payload: signed and verified in place */
    size_t pae_len;
    unsigned char *payload; /* inside pae */
    size_t payload_len;
    dsse_sig *sigs;
    size_t nsigs;
};

int sign_dsse_pae(unsigned char **out, size_t *outlen, const char *type, const void *body, size_t bodylen)
{
    char head[96];
    size_t tlen = strlen(type), hlen, total;
    unsigned char *buf;
    int n;

    *out = NULL;
    *outlen = 0;
    /* "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body */
    n = snprintf(head, sizeof(head), "DSSEv1 %zu ", tlen);
    if (n < 0 || (size_t)n >= sizeof(head)) {
        return sign__error(SIGN_ERROR, "PAE header too long");
    }
    hlen = (size_t)n;
    {
        char mid[48];
        int m = snprintf(mid, sizeof(mid), " %zu ", bodylen);
        size_t mlen;

        if (m < 0 || (size_t)m >= sizeof(mid)) {
            return sign__error(SIGN_ERROR, "PAE length too long");
        }
        mlen = (size_t)m;
        if (!sign__add(&total, hlen, tlen) || !sign__add(&total, total, mlen) || !sign__add(&total, total, bodylen)) {
            return sign__error(SIGN_ELIMIT, "PAE too large");
        }
        if ((buf = malloc(total ? total : 1)) == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        memcpy(buf, head, hlen);
        /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): PAE bytes, not a C string */
        memcpy(buf + hlen, type, tlen);
        memcpy(buf + hlen + tlen, mid, mlen);
        if (bodylen > 0) {
            memcpy(buf + hlen + tlen + mlen, body, bodylen);
        }
    }
    *out = buf;
    *outlen = total;
    return 0;
}

/*
 * A new envelope of payload_type whose PAE buffer has room for a payload of len bytes (plus extra bytes of
 * slack), its header written: the payload is then written in place (copied, or base64-decoded straight into
 * it), and signing or verifying needs no copy of it (the 40 MB payload of a large bundle was copied twice).
 */
static int envelope_alloc(sign_envelope **out, const char *payload_type, size_t len, size_t extra)
{
    sign_envelope *e;
    char head[48], mid[48];
    size_t tlen = strlen(payload_type), total;
    /* As sign_dsse_pae: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body */
    int h = snprintf(head, sizeof(head), "DSSEv1 %zu ", tlen), m = snprintf(mid, sizeof(mid), " %zu ", len);

    *out = NULL;
    if (h < 0 || (size_t)h >= sizeof(head) || m < 0 || (size_t)m >= sizeof(mid) ||
        !sign__add(&total, (size_t)h, tlen) || !sign__add(&total, total, (size_t)m) ||
        !sign__add(&total, total, len) || !sign__add(&total, total, extra)) {
        return sign__error(SIGN_ELIMIT, "PAE too large");
    }
    if ((e = calloc(1, sizeof(*e))) == NULL || (e->payload_type = sign__strdup(payload_type)) == NULL ||
        (e->pae = malloc(total ? total : 1)) == NULL) {
        sign_envelope_free(e);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    memcpy(e->pae, head, (size_t)h);
    memcpy(e->pae + h, payload_type, tlen);
    memcpy(e->pae + (size_t)h + tlen, mid, (size_t)m);
    e->payload = e->pae + (size_t)h + tlen + (size_t)m;
    e->payload_len = len;
    e->pae_len = (size_t)h + tlen + (size_t)m + len;
    *out = e;
    return 0;
}

int sign_envelope_new(sign_envelope **out, const char *payload_type, const void *payload, size_t len)
{
    sign_envelope *e = NULL;
    int r = envelope_alloc(&e, payload_type, len, 0);

    *out = e;
    if (r == 0 && e != NULL && len > 0) {
        memcpy(e->payload, payload, len);
    }
    return r;
}

void sign_envelope_free(sign_envelope *env)
{
    if (env == NULL) {
        return;
    }
    for (size_t i = 0; i < env->nsigs; i++) {
        free(env->sigs[i].keyid);
        free(env->sigs[i].sig);
    }
    free(env->sigs);
    free(env->payload_type);
    free(env->pae);
    free(env);
}

static int add_sig(sign_envelope *env, const char *keyid, const unsigned char *sig, size_t siglen)
{
    dsse_sig *n;
    dsse_sig s = {NULL, NULL, 0};

    if ((s.keyid = sign__strdup(keyid)) == NULL || (s.sig = malloc(siglen ? siglen : 1)) == NULL) {
        free(s.keyid);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    memcpy(s.sig, sig, siglen);
    s.siglen = siglen;
    /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): env is set; sign__error() never returns 0 */
    if ((n = realloc(env->sigs, (env->nsigs + 1) * sizeof(*n))) == NULL) {
        free(s.keyid);
        free(s.sig);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    env->sigs = n;
    env->sigs[env->nsigs++] = s;
    return 0;
}

int sign__envelope_signature_make(unsigned char **sig, size_t *siglen, const sign_envelope *env, const sign_key *key)
{
    return sign_key_sign(sig, siglen, key, env->pae, env->pae_len);
}

int sign__envelope_signature_add(sign_envelope *env, const sign_key *key, const unsigned char *sig, size_t siglen)
{
    char keyid[SIGN_KEYID_SIZE];
    int r;

    if ((r = sign_key_id(keyid, sizeof(keyid), key)) != 0) {
        return r;
    }
    return add_sig(env, keyid, sig, siglen);
}

int sign_envelope_sign(sign_envelope *env, const sign_key *key)
{
    unsigned char *sig = NULL;
    size_t siglen = 0;
    char keyid[SIGN_KEYID_SIZE];
    int r;

    if ((r = sign_key_id(keyid, sizeof(keyid), key)) != 0) {
        return r;
    }
    if ((r = sign__envelope_signature_make(&sig, &siglen, env, key)) != 0) {
        goto out;
    }
    r = add_sig(env, keyid, sig, siglen);
out:
    free(sig);
    return r;
}

const char *sign_envelope_payload_type(const sign_envelope *env)
{
    return env->payload_type;
}

const unsigned char *sign_envelope_payload(const sign_envelope *env, size_t *len)
{
    *len = env->payload_len;
    return env->payload;
}

size_t sign_envelope_signature_count(const sign_envelope *env)
{
    return env->nsigs;
}

const char *sign_envelope_signature_keyid(const sign_envelope *env, size_t i)
{
    return i < env->nsigs ? env->sigs[i].keyid : NULL;
}

const unsigned char *sign_envelope_signature(const sign_envelope *env, size_t i, size_t *len)
{
    if (i >= env->nsigs) {
        *len = 0;
        return NULL;
    }
    *len = env->sigs[i].siglen;
    return env->sigs[i].sig;
}

int sign_envelope_verify(const sign_envelope *env, size_t i, const sign_key *pub)
{
    if (i >= env->nsigs) {
        return sign__error(SIGN_EINVAL, "no signature %zu in the envelope", i);
    }
    return sign_key_verify(pub, env->pae, env->pae_len, env->sigs[i].sig, env->sigs[i].siglen);
}

/*
 * The envelope as JSON; with placeholder, its payload is the string "\0signet-payload" (which no decoded
 * JSON can hold) for the caller to replace with the payload's base64 in the text (sign__bundle_splice).
 */
static json_t *envelope_json(const sign_envelope *env, int placeholder)
{
    json_t *o = NULL, *sigs = NULL, *pl = NULL;
    char *b64 = NULL;

    if ((sigs = json_array()) == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < env->nsigs; i++) {
        json_t *s;

        if (sign__b64_encode(&b64, env->sigs[i].sig, env->sigs[i].siglen) != 0) {
            goto fail;
        }
        s = json_pack("{s:s,s:s}", "keyid", env->sigs[i].keyid, "sig", b64);
        free(b64);
        b64 = NULL;
        if (s == NULL || json_array_append_new(sigs, s) != 0) {
            goto fail;
        }
    }
    if (placeholder) {
        pl = json_stringn_nocheck(SIGN__PAYLOAD_PLACEHOLDER, sizeof(SIGN__PAYLOAD_PLACEHOLDER) - 1);
    } else if (sign__b64_encode(&b64, env->payload, env->payload_len) == 0) {
        pl = json_stringn_nocheck(b64, strlen(b64)); /* base64: ASCII, nothing for jansson to check */
        free(b64);
        b64 = NULL;
    }
    if (pl == NULL) {
        goto fail;
    }
    o = json_pack("{s:o,s:s,s:o}", "payload", pl, "payloadType", env->payload_type, "signatures", sigs);
    sigs = NULL; /* transferred (json_pack "o" steals, also on failure) */
    if (o == NULL) {
        sign__error(SIGN_ENOMEM, "out of memory");
    }
    return o;
fail:
    sign__error(SIGN_ENOMEM, "out of memory");
    free(b64);
    json_decref(sigs);
    return NULL;
}

json_t *sign__envelope_to_json(const sign_envelope *env)
{
    return envelope_json(env, 0);
}

json_t *sign__envelope_to_json_placeholder(const sign_envelope *env)
{
    return envelope_json(env, 1);
}

int sign__envelope_from_json(sign_envelope **out, const json_t *obj, const sign__json_doc *doc, const char *what)
{
    sign_envelope *e = NULL;
    const char *payload = NULL, *ptype = NULL;
    unsigned char *bytes = NULL;
    size_t nbytes = 0, i, plen, b64len = 0;
    json_t *sigs, *s;
    int r;

    *out = NULL;
    if (!json_is_object(obj)) {
        return sign__error(SIGN_EPARSE, "%s: DSSE envelope must be an object", what);
    }
    if ((r = sign__json_get_string(&payload, obj, "payload", 1, what)) != 0 ||
        (r = sign__json_get_string(&ptype, obj, "payloadType", 1, what)) != 0) {
        return r;
    }
    if (ptype[0] == '\0') {
        return sign__error(SIGN_EPARSE, "%s: empty payloadType", what);
    }
    /*
     * Decoded straight into the envelope's PAE buffer from the document's text (a SIGN__JSON_SPAN member): one
     * pass over the payload, never copied into the tree.
     */
    if (sign__json_doc_string(doc, json_object_get(obj, "payload"), &payload, &b64len) != 0) {
        return sign__error(SIGN_EPARSE, "%s: field \"payload\" must be a string", what);
    }
    if ((plen = sign__b64_decoded_len(payload, b64len)) == SIZE_MAX) {
        return sign__error_context(SIGN_EPARSE, "%s: payload", what);
    }
    if ((r = envelope_alloc(&e, ptype, plen, 3)) != 0 || e == NULL) {
        return r != 0 ? r : sign__oom();
    }
    if ((r = sign__b64_decode_into(e->payload, plen + 3, &nbytes, payload, b64len)) != 0 ||
        (nbytes != plen && (r = sign__error(SIGN_EPARSE, "base64 payload of unexpected length")) != 0)) {
        sign__error_context(r, "%s: payload", what);
        goto out;
    }
    sigs = json_object_get(obj, "signatures");
    if (!json_is_array(sigs)) {
        r = sign__error(SIGN_EPARSE, "%s: \"signatures\" must be an array", what);
        goto out;
    }
    json_array_foreach(sigs, i, s)
    {
        const char *sig = NULL, *keyid = NULL;

        if (!json_is_object(s)) {
            r = sign__error(SIGN_EPARSE, "%s: signatures[%zu] must be an object", what, i);
            goto out;
        }
        if ((r = sign__json_get_string(&sig, s, "sig", 1, what)) != 0 ||
            (!json_is_null(json_object_get(s, "keyid")) && /* proto3 JSON's null: absent */
             (r = sign__json_get_string(&keyid, s, "keyid", 0, what)) != 0)) {
            goto out;
        }
        if ((r = sign__b64_decode(&bytes, &nbytes, sig, strlen(sig))) != 0) {
            sign__error_context(r, "%s: signatures[%zu].sig", what, i);
            goto out;
        }
        if (nbytes == 0) {
            r = sign__error(SIGN_EPARSE, "%s: signatures[%zu].sig is empty", what, i);
            goto out;
        }
        if (nbytes > SIGN_MAX_SIGNATURE) {
            r = sign__error(SIGN_ELIMIT, "%s: signatures[%zu].sig is %zu bytes, more than %d", what, i, nbytes,
                            SIGN_MAX_SIGNATURE);
            goto out;
        }
        if ((r = add_sig(e, keyid != NULL ? keyid : "", bytes, nbytes)) != 0) {
            goto out;
        }
        free(bytes);
        bytes = NULL;
    }
    *out = e;
    e = NULL; /* transferred */
    r = 0;
out:
    free(bytes);
    sign_envelope_free(e);
    return r;
}

int sign_envelope_serialize(char **out, size_t *outlen, const sign_envelope *env)
{
    json_t *j = sign__envelope_to_json(env);
    int r;

    *out = NULL;
    if (j == NULL) {
        return sign__oom();
    }
    r = sign__json_dump(out, outlen, j, 0);
    json_decref(j);
    return r;
}

/* The members of a DSSE envelope (and of its signatures) that are read; any other is ignored and never built. */
static const sign__json_field envelope_signature[] = {{"sig", NULL, NULL}, {"keyid", NULL, NULL}, {NULL, NULL, NULL}};
const sign__json_field sign__envelope_fields[] = {{"payload", SIGN__JSON_SPAN, NULL},
                                                  {"payloadType", NULL, NULL},
                                                  {"signatures", NULL, envelope_signature},
                                                  {NULL, NULL, NULL}};

int sign_envelope_parse(sign_envelope **out, const void *data, size_t len, const sign_limits *limits)
{
    sign__json_doc doc;
    int r;

    *out = NULL;
    if ((r = sign__json_parse_doc(&doc, data, len, limits, "DSSE envelope", sign__envelope_fields)) != 0) {
        return r;
    }
    r = sign__envelope_from_json(out, doc.root, &doc, "DSSE envelope");
    sign__json_doc_free(&doc);
    return r;
}
