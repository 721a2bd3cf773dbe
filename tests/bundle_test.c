/* Sigstore bundles: roundtrip, profile, and strict refusals. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sign/sign.h"
#include "formats.h"
#include "util.h"
#include "testutil.h"

static sign_bundle *make_bundle(sign_key **key_out)
{
    sign_key *k = NULL;
    sign_envelope *e = NULL;
    sign_bundle *b = NULL;

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_envelope_new(&e, SIGN_INTOTO_PAYLOAD_TYPE, "{}", 2), 0);
    cr_assert_eq(sign_envelope_sign(e, k), 0);
    cr_assert_eq(sign_bundle_new(&b, e, k), 0);
    *key_out = k;
    return b;
}

Test(bundle, roundtrip_profile)
{
    sign_key *k = NULL;
    sign_bundle *b = make_bundle(&k), *p = NULL;
    char *text = NULL, keyid[SIGN_KEYID_SIZE];
    size_t len = 0;
    json_t *j;

    cr_assert_eq(sign_key_id(keyid, sizeof(keyid), k), 0);
    cr_assert_eq(sign_bundle_serialize(&text, &len, b), 0);
    j = json_loads(text, 0, NULL);
    cr_assert_not_null(j);
    cr_assert_str_eq(json_string_value(json_object_get(j, "mediaType")), SIGN_BUNDLE_MEDIA_TYPE_V03);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(j, "verificationMaterial"), "publicKey"), "hint")),
                     keyid, "publicKey.hint is the key id");
    cr_assert(json_is_array(json_object_get(json_object_get(j, "verificationMaterial"), "tlogEntries")));
    cr_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(j, "dsseEnvelope"), "signatures"), 0), "keyid")),
        keyid, "DSSE keyid equals the hint");
    json_decref(j);
    cr_assert_eq(sign_bundle_parse(&p, text, len, NULL), 0);
    cr_assert_str_eq(sign_bundle_key_hint(p), keyid);
    cr_assert_eq(sign_envelope_verify(sign_bundle_envelope(p), 0, k), 0);
    sign_bundle_free(p);
    free(text);
    sign_bundle_free(b);
    sign_key_free(k);
}

Test(bundle, write_is_atomic_and_readable)
{
    sign_key *k = NULL;
    sign_bundle *b = make_bundle(&k), *p = NULL;
    char *dir = tu_mkdtemp();
    char *path = tu_path(dir, "x.sigstore.json");

    cr_assert_eq(sign_bundle_write(b, path), 0);
    cr_assert_eq(sign_bundle_read(&p, path, NULL), 0);
    sign_bundle_free(p);
    free(path);
    path = tu_path(dir, "nodir/x.sigstore.json");
    cr_assert_neq(sign_bundle_write(b, path), 0);
    cr_assert(!tu_exists(path));
    free(path);
    tu_rmtree(dir);
    free(dir);
    sign_bundle_free(b);
    sign_key_free(k);
}

static int parse_bundle(const char *doc)
{
    sign_bundle *b = NULL;
    int r = sign_bundle_parse(&b, doc, strlen(doc), NULL);

    sign_bundle_free(b);
    return r;
}

#define ENV1                                                                                                         \
    "{\"payload\":\"e30=\",\"payloadType\":\"application/"                                                           \
    "vnd.in-toto+json\",\"signatures\":[{\"keyid\":\"k\",\"sig\":\"AAAA\"}]}"
#define ENV2                                                                                                         \
    "{\"payload\":\"e30=\",\"payloadType\":\"application/"                                                           \
    "vnd.in-toto+json\",\"signatures\":[{\"sig\":\"AAAA\"},{\"sig\":\"AAAB\"}]}"
#define ENV0 "{\"payload\":\"e30=\",\"payloadType\":\"application/vnd.in-toto+json\",\"signatures\":[]}"
#define VM "\"verificationMaterial\":{\"publicKey\":{\"hint\":\"k\"},\"tlogEntries\":[]}"

Test(bundle, strict_refusals)
{
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV1 "," VM
                     "}"),
        0, "baseline is accepted");
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV1 "," VM
                     ",\"futureField\":{\"x\":1}}"),
        0, "unknown fields are ignored");
    cr_assert_eq(parse_bundle("{\"mediaType\":\"application/vnd.example+json\",\"dsseEnvelope\":" ENV1 "," VM "}"),
                 SIGN_EPARSE, "unknown media type");
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV2 "," VM
                     "}"),
        SIGN_EPARSE, "two signatures");
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV0 "," VM
                     "}"),
        SIGN_EPARSE, "zero signatures");
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV1 "}"),
        SIGN_EPARSE, "no verification material");
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV1
                     ",\"verificationMaterial\":{\"publicKey\":{\"hint\":\"k\"},\"certificate\":{\"rawBytes\":"
                     "\"AAAA\"}}}"),
        SIGN_EPARSE, "two kinds of verification material");
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV1
                     ",\"verificationMaterial\":{\"x509CertificateChain\":{\"certificates\":[{\"rawBytes\":"
                     "\"AAAA\"}]}}}"),
        SIGN_EPARSE, "a chain in v0.3");
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV1 "," VM
                     ",\"mediaType\":\"x\"}"),
        SIGN_EPARSE, "duplicate keys");
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"messageSignature\":{},"
                     "\"dsseEnvelope\":" ENV1 "," VM "}"),
        SIGN_EUNSUPPORTED, "message signatures");
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV1
                     ",\"verificationMaterial\":{\"publicKey\":{\"hint\":\"k\"},\"timestampVerificationData\":"
                     "{\"rfc3161Timestamps\":[{\"signedTimestamp\":\"%%%\"}]}}}"),
        SIGN_EPARSE, "invalid base64 in a timestamp");
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV1 "," VM
                     "} garbage"),
        SIGN_EPARSE, "trailing garbage");
    cr_assert_eq(parse_bundle(""), SIGN_EPARSE, "empty document");
}

Test(bundle, oversize_document_refused)
{
    sign_limits l = SIGN_LIMITS_INIT;
    sign_bundle *b = NULL;
    const char *doc =
        "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV1 "," VM "}";

    l.json_max_bytes = 64;
    cr_assert_eq(sign_bundle_parse(&b, doc, strlen(doc), &l), SIGN_ELIMIT);
    cr_assert_null(b);
}

/* X.509 bundles: v0.3 with the leaf alone, v0.2 with the chain; timestamps roundtrip. */
Test(bundle, x509_material_and_timestamps_roundtrip)
{
    static const unsigned char leaf[] = {0x30, 0x03, 0x02, 0x01, 0x01}, inter[] = {0x30, 0x03, 0x02, 0x01, 0x02};
    const unsigned char *chain[1] = {inter};
    const size_t chainlen[1] = {sizeof(inter)};
    static const unsigned char ts1[] = {0x30, 0x01, 0x00}, ts2[] = {0x30, 0x02, 0x05, 0x00};
    sign_key *k = NULL;
    sign_envelope *e = NULL;
    sign_bundle *b = NULL, *p = NULL;
    char *text = NULL;
    size_t len = 0, n = 0;
    const unsigned char *d;

    for (size_t withchain = 0; withchain < 2; withchain++) {
        cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
        cr_assert_eq(sign_envelope_new(&e, SIGN_INTOTO_PAYLOAD_TYPE, "{}", 2), 0);
        cr_assert_eq(sign_envelope_sign(e, k), 0);
        cr_assert_eq(sign_bundle_new_x509(&b, e, leaf, sizeof(leaf), chain, chainlen, withchain), 0);
        cr_assert_eq(sign_bundle_add_timestamp(b, ts1, sizeof(ts1)), 0);
        cr_assert_eq(sign_bundle_add_timestamp(b, ts2, sizeof(ts2)), 0);
        cr_assert_eq(sign_bundle_serialize(&text, &len, b), 0);
        cr_assert_eq(sign_bundle_parse(&p, text, len, NULL), 0, "%s", sign_error_last());
        cr_assert_str_eq(sign_bundle_media_type(p),
                         withchain ? SIGN_BUNDLE_MEDIA_TYPE_V02 : SIGN_BUNDLE_MEDIA_TYPE_V03);
        cr_assert_null(sign_bundle_key_hint(p));
        d = sign_bundle_certificate(p, &n);
        cr_assert(n == sizeof(leaf) && memcmp(d, leaf, n) == 0, "the leaf comes back");
        cr_assert_eq(sign_bundle_chain_count(p), withchain ? 2u : 0u);
        if (withchain) {
            d = sign_bundle_chain_cert(p, 1, &n);
            cr_assert(n == sizeof(inter) && memcmp(d, inter, n) == 0, "the intermediate follows the leaf");
        }
        cr_assert_null(sign_bundle_chain_cert(p, 2, &n));
        cr_assert_eq(sign_bundle_timestamp_count(p), 2u);
        d = sign_bundle_timestamp(p, 1, &n);
        cr_assert(n == sizeof(ts2) && memcmp(d, ts2, n) == 0, "timestamps keep their order");
        cr_assert_null(sign_bundle_timestamp(p, 2, &n));
        sign_bundle_free(p);
        free(text);
        sign_bundle_free(b);
        sign_key_free(k);
    }
}

Test(bundle, timestamp_count_is_bounded)
{
    sign_key *k = NULL;
    sign_bundle *b = make_bundle(&k);
    static const unsigned char ts[] = {0x30, 0x00};
    int r = 0;

    for (int i = 0; i < 17 && r == 0; i++) {
        r = sign_bundle_add_timestamp(b, ts, sizeof(ts));
    }
    cr_assert_eq(r, SIGN_EINVAL, "the 17th timestamp is refused");
    cr_assert_eq(sign_bundle_timestamp_count(b), 16u);
    sign_bundle_free(b);
    sign_key_free(k);
}

/* A large payload is put into the serialised bundle without jansson's escaping: the text is the same. */
Test(bundle, large_payload_serialises_like_jansson)
{
    const size_t n = 60000;
    sign_key *k = NULL;
    sign_envelope *e = NULL;
    sign_bundle *b = NULL, *p = NULL;
    char *payload = malloc(n), *text = NULL, *plain = NULL;
    size_t len = 0, plen = 0, got = 0;
    json_t *j;

    cr_assert_not_null(payload);
    for (size_t i = 0; i < n; i++) {
        payload[i] = (char)(i * 131u >> 2);
    }
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_envelope_new(&e, SIGN_INTOTO_PAYLOAD_TYPE, payload, n), 0);
    cr_assert_eq(sign_envelope_sign(e, k), 0);
    cr_assert_eq(sign_bundle_new(&b, e, k), 0);
    cr_assert_eq(sign_bundle_serialize(&text, &len, b), 0);
    cr_assert_eq(strlen(text), len);
    j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    cr_assert_not_null(j);
    cr_assert_eq(sign__json_dump(&plain, &plen, j, 0), 0);
    cr_assert_eq(plen, len);
    cr_assert_str_eq(text, plain, "the spliced text is what jansson writes");
    cr_assert_eq(sign_bundle_parse(&p, text, len, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_envelope_verify(sign_bundle_envelope(p), 0, k), 0);
    cr_assert_eq(memcmp(sign_envelope_payload(sign_bundle_envelope(p), &got), payload, n), 0);
    cr_assert_eq(got, n);
    json_decref(j);
    sign_bundle_free(p);
    sign_bundle_free(b);
    sign_key_free(k);
    free(plain);
    free(text);
    free(payload);
}

/*
 * sign_bundle_write streams the payload's base64 through a 64 KiB buffer: the file is the serialised text and a
 * newline for every payload length around the buffer's boundaries (49,152 bytes encode to 65,536 characters).
 */
Test(bundle, written_file_is_the_serialised_text_at_every_chunk_boundary)
{
    static const size_t sizes[] = {1,     2,     3,     4,     5,     49150,  49151,  49152, 49153,
                                   49154, 49155, 98300, 98304, 98305, 147456, 147457, 250001};
    sign_key *k = NULL;
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "x.sigstore.json");

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t n = sizes[s], len = 0, flen = 0, plen = 0;
        char *payload = malloc(n), *text = NULL, *file, *plain = NULL;
        json_t *j;
        sign_envelope *e = NULL;
        sign_bundle *b = NULL;

        cr_assert_not_null(payload);
        for (size_t i = 0; i < n; i++) {
            payload[i] = (char)(i * 7919u >> 3 ^ s);
        }
        cr_assert_eq(sign_envelope_new(&e, SIGN_INTOTO_PAYLOAD_TYPE, payload, n), 0);
        cr_assert_eq(sign_envelope_sign(e, k), 0);
        cr_assert_eq(sign_bundle_new(&b, e, k), 0);
        cr_assert_eq(sign_bundle_serialize(&text, &len, b), 0);
        j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        cr_assert_not_null(j);
        cr_assert_eq(sign__json_dump(&plain, &plen, j, 0), 0);
        cr_assert(plen == len && memcmp(plain, text, len) == 0, "payload of %zu bytes: the text is jansson's", n);
        json_decref(j);
        free(plain);
        cr_assert_eq(sign_bundle_write(b, path), 0, "%s", sign_error_last());
        file = tu_read(path, &flen);
        cr_assert_eq(flen, len + 1, "payload of %zu bytes: file %zu, text %zu", n, flen, len);
        cr_assert_eq(memcmp(file, text, len), 0, "payload of %zu bytes: the file is the text", n);
        cr_assert_eq(file[len], '\n');
        free(file);
        free(text);
        sign_bundle_free(b);
        free(payload);
    }
    sign_key_free(k);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

/* proto3 JSON (sigstore-js 2.x) writes null for unset fields: null is absent, never a value. */
Test(bundle, null_is_absent)
{
    sign_bundle *b = NULL;
    const char *doc =
        "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"messageSignature\":null,"
        "\"dsseEnvelope\":{\"payload\":\"e30=\",\"payloadType\":\"application/vnd.in-toto+json\","
        "\"signatures\":[{\"keyid\":null,\"sig\":\"AAAA\"}]},\"verificationMaterial\":{\"publicKey\":{\"hint\":null},"
        "\"certificate\":null,\"x509CertificateChain\":null,\"tlogEntries\":null,\"timestampVerificationData\":null}"
        "}";

    cr_assert_eq(sign_bundle_parse(&b, doc, strlen(doc), NULL), 0, "%s", sign_error_last());
    cr_assert_str_eq(sign_bundle_key_hint(b), "");
    cr_assert_str_eq(sign_envelope_signature_keyid(sign_bundle_envelope(b), 0), "");
    cr_assert_eq(sign_bundle_timestamp_count(b), 0);
    sign_bundle_free(b);
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV1
                     ",\"verificationMaterial\":{\"publicKey\":{\"hint\":\"k\"},\"timestampVerificationData\":"
                     "{\"rfc3161Timestamps\":null}}}"),
        0, "null timestamps list");
    /* The twins: null where a value is required is missing, and a wrong type is still refused. */
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":null,"
                     "" VM "}"),
        SIGN_EPARSE, "null envelope");
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV1
                     ",\"verificationMaterial\":{\"publicKey\":null,\"certificate\":null}}"),
        SIGN_EPARSE, "no material left once nulls are absent");
    cr_assert_eq(
        parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":" ENV1
                     ",\"verificationMaterial\":{\"publicKey\":{\"hint\":\"k\"},\"tlogEntries\":false}}"),
        SIGN_EPARSE, "tlogEntries of the wrong type");
    cr_assert_eq(parse_bundle("{\"mediaType\":null,\"dsseEnvelope\":" ENV1 "," VM "}"), SIGN_EPARSE,
                 "null media type");
    cr_assert_eq(parse_bundle("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"dsseEnvelope\":"
                              "{\"payload\":\"e30=\",\"payloadType\":\"application/vnd.in-toto+json\","
                              "\"signatures\":[{\"keyid\":\"k\",\"sig\":null}]}," VM "}"),
                 SIGN_EPARSE, "null signature");
}

/*
 * sign__bundle_out_finish checks the text written before the signature against the bundle's: a bundle whose
 * head differs from what was written (here another envelope's payload) is written again whole.
 */
Test(bundle, out_finish_rewrites_a_head_that_is_not_the_bundles)
{
    sign_key *k = NULL;
    sign_envelope *e1 = NULL, *e2 = NULL;
    sign_bundle *b = NULL;
    sign__bundle_out bo;
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "x.sigstore.json"), *text = NULL, *file;
    size_t len = 0, flen = 0;

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_envelope_new(&e1, SIGN_INTOTO_PAYLOAD_TYPE, "{\"first\":\"a much longer payload\"}", 34), 0);
    cr_assert_eq(sign_envelope_new(&e2, SIGN_INTOTO_PAYLOAD_TYPE, "{}", 2), 0);
    cr_assert_eq(sign_envelope_sign(e2, k), 0);
    cr_assert_eq(sign_bundle_new(&b, e2, k), 0);
    cr_assert_eq(sign__bundle_out_begin(&bo, e1, path), 0, "%s", sign_error_last());
    cr_assert_eq(sign__bundle_out_finish(&bo, b), 0, "%s", sign_error_last());
    cr_assert_eq(sign_bundle_serialize(&text, &len, b), 0);
    file = tu_read(path, &flen);
    cr_assert(flen == len + 1 && memcmp(file, text, len) == 0 && file[len] == '\n', "the file is the bundle");
    free(file);
    free(text);
    sign_bundle_free(b);
    sign_envelope_free(e1);
    sign_key_free(k);
    tu_rmtree(dir);
    free(path);
    free(dir);
}
