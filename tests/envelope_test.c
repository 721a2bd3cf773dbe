/* DSSE: the spec's PAE vector, sign/verify, and hostile envelopes. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sign/sign.h"
#include "util.h"
#include "testutil.h"

Test(envelope, pae_spec_vector)
{
    unsigned char *pae = NULL;
    size_t n = 0, vlen = 0;
    char *vpath = tu_path(tu_src(), "tests/vectors/dsse-pae-helloworld.bin");
    char *expect = tu_read(vpath, &vlen);

    cr_assert_eq(sign_dsse_pae(&pae, &n, "http://example.com/HelloWorld", "hello world", 11), 0);
    cr_assert_eq(n, vlen);
    cr_assert_eq(memcmp(pae, expect, n), 0);
    free(pae);
    cr_assert_eq(sign_dsse_pae(&pae, &n, "", "", 0), 0);
    cr_assert_eq(n, strlen("DSSEv1 0  0 "));
    cr_assert_eq(memcmp(pae, "DSSEv1 0  0 ", n), 0);
    free(pae);
    free(expect);
    free(vpath);
}

Test(envelope, sign_verify_roundtrip_and_tampering)
{
    sign_key *k = NULL, *other = NULL;
    sign_envelope *e = NULL, *p = NULL;
    char *json = NULL;
    size_t len = 0, n = 0;

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_key_generate(&other, SIGN_KEY_ECDSA_P256, 0), 0);
    cr_assert_eq(sign_envelope_new(&e, "application/vnd.in-toto+json", "{\"a\":1}", 7), 0);
    cr_assert_eq(sign_envelope_sign(e, k), 0);
    cr_assert_eq(sign_envelope_signature_count(e), 1);
    cr_assert_eq(sign_envelope_verify(e, 0, k), 0);
    cr_assert_eq(sign_envelope_verify(e, 0, other), SIGN_EBADSIG, "another key");
    cr_assert_eq(sign_envelope_serialize(&json, &len, e), 0);
    cr_assert_eq(sign_envelope_parse(&p, json, len, NULL), 0);
    cr_assert_eq(sign_envelope_verify(p, 0, k), 0, "verifies after a JSON roundtrip");
    cr_assert_str_eq(sign_envelope_payload_type(p), "application/vnd.in-toto+json");
    cr_assert_eq(memcmp(sign_envelope_payload(p, &n), "{\"a\":1}", 7), 0);
    sign_envelope_free(p);
    free(json);

    /* The same signature over another payload type or payload must fail. */
    {
        size_t slen = 0;
        const unsigned char *sig = sign_envelope_signature(e, 0, &slen);
        char *b64 = NULL, *doc;
        size_t cap = 4096;

        cr_assert_eq(sign__b64_encode(&b64, sig, slen), 0);
        doc = malloc(cap);
        /* payloadType swapped, payload identical */
        snprintf(doc, cap,
                 "{\"payload\":\"eyJhIjoxfQ==\",\"payloadType\":\"text/plain\",\"signatures\":[{\"sig\":\"%s\"}]}",
                 b64);
        cr_assert_eq(sign_envelope_parse(&p, doc, strlen(doc), NULL), 0);
        cr_assert_eq(sign_envelope_verify(p, 0, k), SIGN_EBADSIG, "payloadType is authenticated");
        sign_envelope_free(p);
        /* payload edited ({"a":2}) */
        snprintf(doc, cap,
                 "{\"payload\":\"eyJhIjoyfQ==\",\"payloadType\":\"application/"
                 "vnd.in-toto+json\",\"signatures\":[{\"sig\":\"%s\"}]}",
                 b64);
        cr_assert_eq(sign_envelope_parse(&p, doc, strlen(doc), NULL), 0);
        cr_assert_eq(sign_envelope_verify(p, 0, k), SIGN_EBADSIG, "payload is authenticated");
        sign_envelope_free(p);
        free(doc);
        free(b64);
    }
    sign_envelope_free(e);
    sign_key_free(k);
    sign_key_free(other);
}

static int parse_env(const char *doc)
{
    sign_envelope *p = NULL;
    int r = sign_envelope_parse(&p, doc, strlen(doc), NULL);

    sign_envelope_free(p);
    return r;
}

Test(envelope, hostile_json)
{
    cr_assert_eq(parse_env("{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"\"}]}"),
                 SIGN_EPARSE, "empty signature");
    cr_assert_eq(parse_env("{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":{}}"), SIGN_EPARSE,
                 "signatures not an array");
    cr_assert_eq(parse_env("{\"payload\":\"e3 0=\",\"payloadType\":\"t\",\"signatures\":[]}"), SIGN_EPARSE,
                 "whitespace in base64");
    cr_assert_eq(parse_env("{\"payload\":\"e30=\",\"payloadType\":\"\",\"signatures\":[]}"), SIGN_EPARSE,
                 "empty payload type");
    cr_assert_eq(parse_env("{\"payload\":\"e30=\",\"payload\":\"e31=\",\"payloadType\":\"t\",\"signatures\":[]}"),
                 SIGN_EPARSE, "duplicate key");
    cr_assert_eq(parse_env("{\"payloadType\":\"t\",\"signatures\":[]}"), SIGN_EPARSE, "no payload");
    cr_assert_eq(parse_env("{\"payload\":1,\"payloadType\":\"t\",\"signatures\":[]}"), SIGN_EPARSE,
                 "payload not a string");
    cr_assert_eq(parse_env("[]"), SIGN_EPARSE, "not an object");
    cr_assert_eq(parse_env("{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"}]}  x"),
                 SIGN_EPARSE, "trailing garbage");
}

/*
 * The bytes signed and verified are exactly sign_dsse_pae's, for an envelope made here and for one parsed
 * from JSON (its payload base64-decoded straight into the PAE buffer), at every base64 tail length.
 */
Test(envelope, signs_and_verifies_exactly_the_pae)
{
    static const size_t lens[] = {0, 1, 2, 3, 4, 5, 1000, 70001};
    sign_key *k = NULL;

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    for (size_t t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
        unsigned char *body = malloc(lens[t] + 1), *pae = NULL, *sig = NULL;
        const unsigned char *got, *esig;
        sign_envelope *e = NULL, *p = NULL;
        size_t n = 0, siglen = 0, glen = 0, elen = 0, jlen = 0;
        char *json = NULL;

        for (size_t i = 0; i < lens[t]; i++) {
            body[i] = (unsigned char)(i * 7 + t);
        }
        cr_assert_eq(sign_envelope_new(&e, "application/x-test", body, lens[t]), 0);
        cr_assert_eq(sign_envelope_sign(e, k), 0, "%s", sign_error_last());
        cr_assert_eq(sign_dsse_pae(&pae, &n, "application/x-test", body, lens[t]), 0);
        cr_assert_eq(sign_key_sign(&sig, &siglen, k, pae, n), 0);
        esig = sign_envelope_signature(e, 0, &elen);
        cr_assert_eq(elen, siglen);
        cr_assert_eq(memcmp(esig, sig, siglen), 0, "the envelope signed other bytes than the PAE (%zu)", lens[t]);
        cr_assert_eq(sign_envelope_serialize(&json, &jlen, e), 0);
        cr_assert_eq(sign_envelope_parse(&p, json, jlen, NULL), 0, "%s", sign_error_last());
        got = sign_envelope_payload(p, &glen);
        cr_assert_eq(glen, lens[t]);
        cr_assert(lens[t] == 0 || memcmp(got, body, lens[t]) == 0);
        cr_assert_eq(sign_envelope_verify(p, 0, k), 0, "%zu: %s", lens[t], sign_error_last());
        cr_assert_eq(sign_key_verify(k, pae, n, sign_envelope_signature(p, 0, &elen), elen), 0);
        sign_envelope_free(e);
        sign_envelope_free(p);
        free(json);
        free(pae);
        free(sig);
        free(body);
    }
    sign_key_free(k);
}
