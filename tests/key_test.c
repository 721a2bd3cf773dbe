/* Tests of keys: generate, write, load, refusals, key ids, sign/verify, interop with the openssl CLI; signet keygen.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "sign/sign.h"
#include "testutil.h"

#define OPENSSL_BIN "/usr/bin/openssl"

static const sign_key_type kt_types[] = {SIGN_KEY_ED25519, SIGN_KEY_ECDSA_P256, SIGN_KEY_ECDSA_P384, SIGN_KEY_RSA};
#define KT_NTYPES (sizeof(kt_types) / sizeof(kt_types[0]))

/* A passphrase callback that gives a fixed passphrase (or refuses with NULL) and counts calls. */
typedef struct {
    const char *pass;
    int calls;
} kt_pass;

static int kt_cb(char *buf, size_t size, int confirm, void *userdata)
{
    kt_pass *p = userdata;
    size_t n;

    (void)confirm;
    p->calls++;
    if (p->pass == NULL) {
        return -1;
    }
    n = strlen(p->pass);
    cr_assert_leq(n, size);
    memcpy(buf, p->pass, n);
    return (int)n;
}

/* Run a shell command line; returns its exit status. */
static int kt_sh(char **out, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return tu_run(out, NULL, NULL, argv);
}

static mode_t kt_mode(const char *path)
{
    struct stat st;

    cr_assert_eq(stat(path, &st), 0, "stat %s", path);
    return st.st_mode & 07777;
}

static sign_key *kt_gen(sign_key_type t)
{
    sign_key *k = NULL;

    /* RSA at 2048 bits keeps the suite quick; the 3072 default is tested on its own. */
    cr_assert_eq(sign_key_generate(&k, t, t == SIGN_KEY_RSA ? 2048 : 0), 0, "%s", sign_error_last());
    cr_assert_not_null(k);
    return k;
}

static void kt_id(char *id, const sign_key *k)
{
    cr_assert_eq(sign_key_id(id, SIGN_KEYID_SIZE, k), 0, "%s", sign_error_last());
}

Test(key, roundtrip_every_type_encrypted_and_not)
{
    char *dir = tu_mkdtemp();

    for (size_t i = 0; i < KT_NTYPES; i++) {
        sign_key *k = kt_gen(kt_types[i]), *enc = NULL, *plain = NULL, *pub = NULL;
        char *kenc = tu_path(dir, "enc.key"), *kplain = tu_path(dir, "plain.key"), *kpub = tu_path(dir, "k.pub");
        char id0[SIGN_KEYID_SIZE], id1[SIGN_KEYID_SIZE], id2[SIGN_KEYID_SIZE], id3[SIGN_KEYID_SIZE];
        kt_pass pw = {"correct horse", 0}, none = {NULL, 0};
        unsigned char *sig = NULL;
        size_t siglen = 0;
        char *text;

        cr_assert_eq(sign_key_get_type(k), kt_types[i]);
        cr_assert(sign_key_has_private(k));
        cr_assert_eq(sign_key_write_private(k, kenc, "correct horse", 13), 0, "%s", sign_error_last());
        cr_assert_eq(sign_key_write_private(k, kplain, NULL, 0), 0, "%s", sign_error_last());
        cr_assert_eq(sign_key_write_public(k, kpub), 0, "%s", sign_error_last());
        cr_assert_eq(kt_mode(kenc), 0600);
        cr_assert_eq(kt_mode(kplain), 0600);
        cr_assert_eq(kt_mode(kpub), 0644);
        text = tu_read(kenc, NULL);
        cr_assert(strncmp(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 38) == 0, "%s", text);
        free(text);
        text = tu_read(kplain, NULL);
        cr_assert(strncmp(text, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
        free(text);
        text = tu_read(kpub, NULL);
        cr_assert(strncmp(text, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
        free(text);

        cr_assert_eq(sign_key_load_private(&enc, kenc, kt_cb, &pw), 0, "%s", sign_error_last());
        cr_assert_eq(pw.calls, 1, "asked once for an encrypted key");
        cr_assert_eq(sign_key_load_private(&plain, kplain, kt_cb, &none), 0, "%s", sign_error_last());
        cr_assert_eq(none.calls, 0, "never asked for an unencrypted key");
        cr_assert_eq(sign_key_load_public(&pub, kpub), 0, "%s", sign_error_last());
        cr_assert_eq(sign_key_get_type(enc), kt_types[i]);
        cr_assert_eq(sign_key_get_type(plain), kt_types[i]);
        cr_assert_eq(sign_key_get_type(pub), kt_types[i]);
        cr_assert(sign_key_has_private(enc));
        cr_assert(!sign_key_has_private(pub));
        kt_id(id0, k);
        kt_id(id1, enc);
        kt_id(id2, plain);
        kt_id(id3, pub);
        cr_assert_str_eq(id0, id1);
        cr_assert_str_eq(id0, id2);
        cr_assert_str_eq(id0, id3);
        cr_assert_eq(strlen(id0), 44);

        /* The loaded private key signs what the written public key verifies. */
        cr_assert_eq(sign_key_sign(&sig, &siglen, enc, "payload", 7), 0, "%s", sign_error_last());
        cr_assert_eq(sign_key_verify(pub, "payload", 7, sig, siglen), 0);
        free(sig);

        sign_key_free(k);
        sign_key_free(enc);
        sign_key_free(plain);
        sign_key_free(pub);
        remove(kenc);
        remove(kplain);
        remove(kpub);
        free(kenc);
        free(kplain);
        free(kpub);
    }
    tu_rmtree(dir);
    free(dir);
}

Test(key, refuses_to_overwrite)
{
    char *dir = tu_mkdtemp();
    char *kp = tu_path(dir, "a.key"), *pp = tu_path(dir, "a.pub");
    sign_key *k = kt_gen(SIGN_KEY_ED25519);
    char *text;

    tu_write_str(kp, "precious\n");
    tu_write_str(pp, "precious too\n");
    chmod(kp, 0640);
    cr_assert_eq(sign_key_write_private(k, kp, "pw", 2), SIGN_EEXISTS);
    cr_assert_eq(sign_key_write_private(k, kp, NULL, 0), SIGN_EEXISTS);
    cr_assert_eq(sign_key_write_public(k, pp), SIGN_EEXISTS);
    cr_assert(strstr(sign_error_last(), pp) != NULL, "%s", sign_error_last());
    text = tu_read(kp, NULL);
    cr_assert_str_eq(text, "precious\n");
    free(text);
    text = tu_read(pp, NULL);
    cr_assert_str_eq(text, "precious too\n");
    free(text);
    cr_assert_eq(kt_mode(kp), 0640, "mode untouched");

    /* A dangling symlink is not followed either. */
    remove(kp);
    cr_assert_eq(symlink("/tmp/signet-key-test-nowhere", kp), 0);
    cr_assert_eq(sign_key_write_private(k, kp, NULL, 0), SIGN_EEXISTS);
    cr_assert(!tu_exists("/tmp/signet-key-test-nowhere"));

    sign_key_free(k);
    tu_rmtree(dir);
    free(dir);
    free(kp);
    free(pp);
}

Test(key, passphrase_errors)
{
    char *dir = tu_mkdtemp();
    char *kp = tu_path(dir, "a.key");
    sign_key *k = kt_gen(SIGN_KEY_ECDSA_P256), *l = NULL;
    kt_pass wrong = {"wrong", 0}, refuse = {NULL, 0}, empty = {"", 0};

    cr_assert_eq(sign_key_write_private(k, kp, "", 0), SIGN_EPASSPHRASE, "an empty passphrase encrypts nothing");
    cr_assert(!tu_exists(kp));
    cr_assert_eq(sign_key_write_private(k, kp, "right", 5), 0);
    cr_assert_eq(sign_key_load_private(&l, kp, kt_cb, &wrong), SIGN_EPASSPHRASE);
    cr_assert_null(l);
    cr_assert(strstr(sign_error_last(), "wrong passphrase for") != NULL, "%s", sign_error_last());
    cr_assert(strstr(sign_error_last(), kp) != NULL, "%s", sign_error_last());
    cr_assert_eq(sign_key_load_private(&l, kp, kt_cb, &empty), SIGN_EPASSPHRASE);
    cr_assert_eq(sign_key_load_private(&l, kp, kt_cb, &refuse), SIGN_EPASSPHRASE);
    cr_assert_eq(refuse.calls, 1);
    cr_assert_eq(sign_key_load_private(&l, kp, NULL, NULL), SIGN_EPASSPHRASE);
    cr_assert(strstr(sign_error_last(), "no passphrase") != NULL, "%s", sign_error_last());
    cr_assert_null(l);
    cr_assert_eq(ERR_peek_error(), 0, "OpenSSL's error queue is left clean");
    sign_key_free(k);
    tu_rmtree(dir);
    free(dir);
    free(kp);
}

/* Write data to dir/name and expect both loaders to refuse it with code, naming the file. */
static void kt_expect_refusal(const char *dir, const char *name, const void *data, size_t len, int code_priv,
                              int code_pub)
{
    char *p = tu_path(dir, name);
    sign_key *k = NULL;
    kt_pass pw = {"pw", 0};
    int r;

    tu_write(p, data, len);
    r = sign_key_load_private(&k, p, kt_cb, &pw);
    cr_assert_eq(r, code_priv, "%s as private key: %d (%s)", name, r, sign_error_last());
    cr_assert_null(k);
    cr_assert(strstr(sign_error_last(), p) != NULL, "%s: message names the file: %s", name, sign_error_last());
    r = sign_key_load_public(&k, p);
    cr_assert_eq(r, code_pub, "%s as public key: %d (%s)", name, r, sign_error_last());
    cr_assert_null(k);
    cr_assert(strstr(sign_error_last(), p) != NULL, "%s: message names the file: %s", name, sign_error_last());
    cr_assert_eq(ERR_peek_error(), 0);
    free(p);
}

Test(key, malformed_files)
{
    char *dir = tu_mkdtemp();
    char *kp = tu_path(dir, "good.key"), *ep = tu_path(dir, "good-enc.key"), *pp = tu_path(dir, "good.pub");
    sign_key *k = kt_gen(SIGN_KEY_ED25519), *l = NULL;
    size_t klen, elen, plen;
    char *ktext, *etext, *ptext, *buf, *b64;

    cr_assert_eq(sign_key_write_private(k, kp, NULL, 0), 0);
    cr_assert_eq(sign_key_write_private(k, ep, "pw", 2), 0);
    cr_assert_eq(sign_key_write_public(k, pp), 0);
    ktext = tu_read(kp, &klen);
    etext = tu_read(ep, &elen);
    ptext = tu_read(pp, &plen);

    kt_expect_refusal(dir, "empty", "", 0, SIGN_EPARSE, SIGN_EPARSE);
    kt_expect_refusal(dir, "garbage", "this is not a key at all\n", 25, SIGN_EPARSE, SIGN_EPARSE);
    kt_expect_refusal(dir, "binary", "\x30\x82\xff\xff\x00\x01", 6, SIGN_EPARSE, SIGN_EPARSE);
    kt_expect_refusal(dir, "trunc.key", ktext, klen / 2, SIGN_EPARSE, SIGN_EPARSE);
    kt_expect_refusal(dir, "trunc-enc.key", etext, elen - 30, SIGN_EPARSE, SIGN_EPARSE);
    kt_expect_refusal(dir, "trunc.pub", ptext, plen - 30, SIGN_EPARSE, SIGN_EPARSE);

    /* Trailing garbage after a complete block. */
    buf = malloc(klen + 32);
    memcpy(buf, ktext, klen);
    memcpy(buf + klen, "trailing garbage\n", 17);
    kt_expect_refusal(dir, "trailing.key", buf, klen + 17, SIGN_EPARSE, SIGN_EPARSE);
    /* Leading garbage before it. */
    memcpy(buf, "junk\n", 5);
    memcpy(buf + 5, ktext, klen);
    kt_expect_refusal(dir, "leading.key", buf, klen + 5, SIGN_EPARSE, SIGN_EPARSE);
    /* A NUL byte inside. */
    memcpy(buf, ktext, klen);
    buf[40] = '\0';
    kt_expect_refusal(dir, "nul.key", buf, klen, SIGN_EPARSE, SIGN_EPARSE);
    /* A base64 character replaced by one outside the alphabet. */
    memcpy(buf, ktext, klen);
    buf[35] = '*';
    kt_expect_refusal(dir, "badb64.key", buf, klen, SIGN_EPARSE, SIGN_EPARSE);
    free(buf);

    /* Valid base64 of a structure that is not a key, inside a key's PEM armour. */
    b64 = "-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n";
    kt_expect_refusal(dir, "notkey.key", b64, strlen(b64), SIGN_EPARSE, SIGN_EINVAL);
    b64 = "-----BEGIN PUBLIC KEY-----\nMAMCAQA=\n-----END PUBLIC KEY-----\n";
    kt_expect_refusal(dir, "notkey.pub", b64, strlen(b64), SIGN_EINVAL, SIGN_EPARSE);
    /* A certificate or anything else is not a key. */
    b64 = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";
    kt_expect_refusal(dir, "cert.pem", b64, strlen(b64), SIGN_EUNSUPPORTED, SIGN_EUNSUPPORTED);

    /* Oversize: a key file is never megabytes. */
    buf = calloc(1, 1024 * 1024 + 1);
    kt_expect_refusal(dir, "huge", buf, 1024 * 1024 + 1, SIGN_ELIMIT, SIGN_ELIMIT);
    free(buf);

    /* Missing file. */
    {
        char *missing = tu_path(dir, "missing.key");

        cr_assert_eq(sign_key_load_private(&l, missing, NULL, NULL), SIGN_ENOTFOUND);
        cr_assert_eq(sign_key_load_public(&l, missing), SIGN_ENOTFOUND);
        free(missing);
    }

    /* Private and public keys are not interchangeable. */
    cr_assert_eq(sign_key_load_public(&l, kp), SIGN_EINVAL);
    cr_assert(strstr(sign_error_last(), "private key where a public key is expected") != NULL, "%s",
              sign_error_last());
    cr_assert_eq(sign_key_load_public(&l, ep), SIGN_EINVAL);
    cr_assert_eq(sign_key_load_private(&l, pp, NULL, NULL), SIGN_EINVAL);
    cr_assert(strstr(sign_error_last(), "public key where a private key is expected") != NULL, "%s",
              sign_error_last());

    /* In-memory parsers refuse the same and accept the good ones. */
    cr_assert_eq(sign_key_parse_private(&l, ktext, klen / 2, NULL, NULL), SIGN_EPARSE);
    cr_assert_eq(sign_key_parse_public(&l, ptext, 0), SIGN_EPARSE);
    cr_assert_eq(sign_key_parse_private(&l, ktext, klen, NULL, NULL), 0);
    sign_key_free(l);
    cr_assert_eq(sign_key_parse_public(&l, ptext, plen), 0);
    sign_key_free(l);

    sign_key_free(k);
    free(ktext);
    free(etext);
    free(ptext);
    free(kp);
    free(ep);
    free(pp);
    tu_rmtree(dir);
    free(dir);
}

/* Make a key with the openssl CLI into dir/name.key (PKCS#8) and dir/name.pub; asserts success. */
static void kt_openssl_key(const char *dir, const char *name, const char *genpkey_args)
{
    int r = kt_sh(NULL,
                  "cd '%s' && " OPENSSL_BIN " genpkey %s -out %s.key 2>/dev/null && " OPENSSL_BIN
                  " pkey -in %s.key -pubout -out %s.pub 2>/dev/null",
                  dir, genpkey_args, name, name, name);

    cr_assert_eq(r, 0, "openssl genpkey %s", genpkey_args);
}

static void kt_expect_unsupported(const char *dir, const char *name)
{
    char *kp, *pp, file[256];
    sign_key *k = NULL;

    snprintf(file, sizeof(file), "%s.key", name);
    kp = tu_path(dir, file);
    snprintf(file, sizeof(file), "%s.pub", name);
    pp = tu_path(dir, file);
    cr_assert_eq(sign_key_load_private(&k, kp, NULL, NULL), SIGN_EUNSUPPORTED, "%s: %s", name, sign_error_last());
    cr_assert(strstr(sign_error_last(), kp) != NULL, "%s", sign_error_last());
    cr_assert_eq(sign_key_load_public(&k, pp), SIGN_EUNSUPPORTED, "%s: %s", name, sign_error_last());
    cr_assert_null(k);
    cr_assert_eq(ERR_peek_error(), 0);
    free(kp);
    free(pp);
}

Test(key, unsupported_key_types, .timeout = 120)
{
    char *dir = tu_mkdtemp();
    sign_key *k = NULL;
    char *p;
    int r;

    r = kt_sh(NULL,
              "cd '%s' && " OPENSSL_BIN " genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:1024 "
              "-out dsa.param 2>/dev/null && " OPENSSL_BIN
              " genpkey -paramfile dsa.param -out dsa.key 2>/dev/null && " OPENSSL_BIN
              " pkey -in dsa.key -pubout -out dsa.pub",
              dir);
    cr_assert_eq(r, 0);
    kt_expect_unsupported(dir, "dsa");
    kt_openssl_key(dir, "rsa1024", "-algorithm RSA -pkeyopt rsa_keygen_bits:1024");
    kt_expect_unsupported(dir, "rsa1024");
    cr_assert(strstr(sign_error_last(), "1024") != NULL, "%s", sign_error_last());
    kt_openssl_key(dir, "k1", "-algorithm EC -pkeyopt ec_paramgen_curve:secp256k1");
    kt_expect_unsupported(dir, "k1");
    kt_openssl_key(dir, "p521", "-algorithm EC -pkeyopt ec_paramgen_curve:P-521");
    kt_expect_unsupported(dir, "p521");
    kt_openssl_key(dir, "x25519", "-algorithm X25519");
    kt_expect_unsupported(dir, "x25519");
    kt_openssl_key(dir, "ed448", "-algorithm ED448");
    kt_expect_unsupported(dir, "ed448");
    kt_openssl_key(dir, "pss", "-algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048");
    kt_expect_unsupported(dir, "pss");

    /* A traditional (non-PKCS#8) key is refused with the way out. */
    cr_assert_eq(kt_sh(NULL, "cd '%s' && " OPENSSL_BIN " ecparam -name prime256v1 -genkey -noout -out trad.key", dir),
                 0);
    p = tu_path(dir, "trad.key");
    cr_assert_eq(sign_key_load_private(&k, p, NULL, NULL), SIGN_EUNSUPPORTED, "%s", sign_error_last());
    cr_assert(strstr(sign_error_last(), "pkcs8") != NULL, "%s", sign_error_last());
    free(p);

    /* Generation refuses weak or absurd sizes and unknown types. */
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_RSA, 1024), SIGN_EUNSUPPORTED);
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_RSA, 2047), SIGN_EUNSUPPORTED);
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_RSA, 1u << 20), SIGN_EUNSUPPORTED);
    cr_assert_eq(sign_key_generate(&k, (sign_key_type)99, 0), SIGN_EUNSUPPORTED);
    cr_assert_null(k);
    tu_rmtree(dir);
    free(dir);
}

Test(key, openssl_made_keys_and_der_forms)
{
    char *dir = tu_mkdtemp();
    char id_pem[SIGN_KEYID_SIZE], id[SIGN_KEYID_SIZE];
    const char *names[] = {"p8.der", "p8enc.der", "p8enc-pbkdf2.pem", "pub.der"};
    sign_key *k = NULL, *ref = NULL;
    kt_pass pw = {"s3cret", 0};
    char *p;

    kt_openssl_key(dir, "ec", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384");
    cr_assert_eq(
        kt_sh(NULL,
              "cd '%s' && " OPENSSL_BIN " pkcs8 -topk8 -nocrypt -in ec.key -outform DER -out p8.der && " OPENSSL_BIN
              " pkcs8 -topk8 -in ec.key -outform DER -scrypt -passout pass:s3cret -out p8enc.der && " OPENSSL_BIN
              " pkcs8 -topk8 -in ec.key -v2 aes-128-cbc -passout pass:s3cret -out p8enc-pbkdf2.pem && " OPENSSL_BIN
              " pkey -in ec.key -pubout -outform DER -out pub.der",
              dir),
        0);
    p = tu_path(dir, "ec.key");
    cr_assert_eq(sign_key_load_private(&ref, p, NULL, NULL), 0, "%s", sign_error_last());
    free(p);
    cr_assert_eq(sign_key_get_type(ref), SIGN_KEY_ECDSA_P384);
    kt_id(id_pem, ref);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        p = tu_path(dir, names[i]);
        if (strcmp(names[i], "pub.der") == 0) {
            cr_assert_eq(sign_key_load_public(&k, p), 0, "%s: %s", names[i], sign_error_last());
        } else {
            cr_assert_eq(sign_key_load_private(&k, p, kt_cb, &pw), 0, "%s: %s", names[i], sign_error_last());
        }
        kt_id(id, k);
        cr_assert_str_eq(id, id_pem, "%s", names[i]);
        sign_key_free(k);
        k = NULL;
        free(p);
    }
    /* Wrong passphrase on a PBKDF2-encrypted key too. */
    pw.pass = "nope";
    p = tu_path(dir, "p8enc-pbkdf2.pem");
    cr_assert_eq(sign_key_load_private(&k, p, kt_cb, &pw), SIGN_EPASSPHRASE, "%s", sign_error_last());
    free(p);
    /* DER with one byte more is refused. */
    cr_assert_eq(kt_sh(NULL, "cd '%s' && cat pub.der > pub2.der && printf x >> pub2.der", dir), 0);
    p = tu_path(dir, "pub2.der");
    cr_assert_eq(sign_key_load_public(&k, p), SIGN_EPARSE, "%s", sign_error_last());
    free(p);
    sign_key_free(ref);
    tu_rmtree(dir);
    free(dir);
}

Test(key, openssl_reads_our_encrypted_key_which_uses_scrypt_and_aes256)
{
    char *dir = tu_mkdtemp();
    char *kp = tu_path(dir, "a.key");
    sign_key *k = kt_gen(SIGN_KEY_ECDSA_P256);
    char *out = NULL;

    cr_assert_eq(sign_key_write_private(k, kp, "pw", 2), 0);
    cr_assert_eq(kt_sh(NULL, OPENSSL_BIN " pkey -in '%s' -passin pass:pw -noout", kp), 0);
    cr_assert_neq(kt_sh(NULL, OPENSSL_BIN " pkey -in '%s' -passin pass:pX -noout 2>/dev/null", kp), 0);
    cr_assert_eq(kt_sh(&out, OPENSSL_BIN " asn1parse -in '%s'", kp), 0);
    cr_assert(strstr(out, ":scrypt") != NULL, "%s", out);
    cr_assert(strstr(out, ":aes-256-cbc") != NULL, "%s", out);
    cr_assert(strstr(out, ":4000") != NULL, "N = 2^14: %s", out);
    free(out);
    sign_key_free(k);
    tu_rmtree(dir);
    free(dir);
    free(kp);
}

/* RFC 8032 section 7.1, test 1: fixed key, signature of the empty message. */
static const unsigned char kt_rfc8032_pub_spki[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21,
                                                    0x00, 0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b,
                                                    0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda,
                                                    0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};
static const unsigned char kt_rfc8032_priv_p8[] = {
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
static const unsigned char kt_rfc8032_sig[] = {
    0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86, 0xe2, 0xcc, 0x80, 0x6e, 0x82, 0x8a,
    0x84, 0x87, 0x7f, 0x1e, 0xb8, 0xe5, 0xd9, 0x74, 0xd8, 0x73, 0xe0, 0x65, 0x22, 0x49, 0x01, 0x55,
    0x5f, 0xb8, 0x82, 0x15, 0x90, 0xa3, 0x3b, 0xac, 0xc6, 0x1e, 0x39, 0x70, 0x1c, 0xf9, 0xb4, 0x6b,
    0xd2, 0x5b, 0xf5, 0xf0, 0x59, 0x5b, 0xbe, 0x24, 0x65, 0x51, 0x41, 0x43, 0x8e, 0x7a, 0x10, 0x0b};

Test(key, known_answers_rfc8032_and_key_id)
{
    sign_key *pub = NULL, *priv = NULL;
    char id[SIGN_KEYID_SIZE], fp[SIGN_FINGERPRINT_SIZE];
    unsigned char *sig = NULL, *der = NULL;
    size_t siglen = 0, derlen = 0;

    cr_assert_eq(sign_key_parse_public(&pub, kt_rfc8032_pub_spki, sizeof(kt_rfc8032_pub_spki)), 0, "%s",
                 sign_error_last());
    cr_assert_eq(sign_key_parse_private(&priv, kt_rfc8032_priv_p8, sizeof(kt_rfc8032_priv_p8), NULL, NULL), 0);
    /* Computed independently: openssl dgst -sha256 -binary spki.der | base64 */
    kt_id(id, pub);
    cr_assert_str_eq(id, "BuP9j9opu2CrWVV95h7bCuzbIxE0vjDnW0Vfjht5L6k=");
    kt_id(id, priv);
    cr_assert_str_eq(id, "BuP9j9opu2CrWVV95h7bCuzbIxE0vjDnW0Vfjht5L6k=");
    cr_assert_eq(sign_key_fingerprint(fp, sizeof(fp), pub), 0);
    cr_assert_str_eq(fp, "SHA256:06e3fd8fda29bb60ab59557de61edb0a");
    cr_assert_eq(sign_key_fingerprint(fp, 39, pub), SIGN_EINVAL, "buffer one byte short");
    cr_assert_eq(sign_key_id(id, 44, pub), SIGN_EINVAL, "buffer one byte short");
    cr_assert_eq(sign_key_spki_der(&der, &derlen, priv), 0);
    cr_assert_eq(derlen, sizeof(kt_rfc8032_pub_spki));
    cr_assert_eq(memcmp(der, kt_rfc8032_pub_spki, derlen), 0);
    free(der);

    cr_assert_eq(sign_key_sign(&sig, &siglen, priv, "", 0), 0);
    cr_assert_eq(siglen, sizeof(kt_rfc8032_sig));
    cr_assert_eq(memcmp(sig, kt_rfc8032_sig, siglen), 0, "deterministic Ed25519 signature of RFC 8032 test 1");
    free(sig);
    cr_assert_eq(sign_key_verify(pub, "", 0, kt_rfc8032_sig, sizeof(kt_rfc8032_sig)), 0);
    cr_assert_eq(sign_key_verify(pub, NULL, 0, kt_rfc8032_sig, sizeof(kt_rfc8032_sig)), 0);
    cr_assert_eq(sign_key_verify(pub, "x", 1, kt_rfc8032_sig, sizeof(kt_rfc8032_sig)), SIGN_EBADSIG);
    sign_key_free(pub);
    sign_key_free(priv);
}

Test(key, key_id_matches_openssl_cli_for_every_type)
{
    char *dir = tu_mkdtemp();
    char *pp = tu_path(dir, "k.pub");

    for (size_t i = 0; i < KT_NTYPES; i++) {
        sign_key *k = kt_gen(kt_types[i]);
        char id[SIGN_KEYID_SIZE], fp[SIGN_FINGERPRINT_SIZE], expect[128];
        char *out = NULL;

        remove(pp);
        cr_assert_eq(sign_key_write_public(k, pp), 0);
        kt_id(id, k);
        cr_assert_eq(kt_sh(&out,
                           OPENSSL_BIN " pkey -pubin -in '%s' -outform DER | " OPENSSL_BIN
                                       " dgst -sha256 -binary | base64",
                           pp),
                     0);
        cr_assert_str_eq(strtok(out, "\n"), id, "%s", sign_key_type_name(kt_types[i]));
        free(out);
        cr_assert_eq(kt_sh(&out,
                           OPENSSL_BIN " pkey -pubin -in '%s' -outform DER | " OPENSSL_BIN
                                       " dgst -sha256 -r | cut -c1-32",
                           pp),
                     0);
        snprintf(expect, sizeof(expect), "SHA256:%s", strtok(out, "\n"));
        cr_assert_eq(sign_key_fingerprint(fp, sizeof(fp), k), 0);
        cr_assert_str_eq(fp, expect);
        free(out);
        sign_key_free(k);
    }
    tu_rmtree(dir);
    free(dir);
    free(pp);
}

Test(key, sign_verify_and_every_forgery_refused)
{
    static const char msg[] = "DSSEv1 28 application/vnd.in-toto+json 2 {}";
    unsigned char *huge = calloc(1, 1 << 20);

    cr_assert_not_null(huge);
    for (size_t i = 0; i < KT_NTYPES; i++) {
        sign_key *k = kt_gen(kt_types[i]), *other = kt_gen(kt_types[i]), *pub = NULL;
        unsigned char *sig = NULL, *osig = NULL, *bad;
        size_t siglen = 0, osiglen = 0;
        const char *tn = sign_key_type_name(kt_types[i]);

        cr_assert_eq(sign_key_public_copy(&pub, k), 0);
        cr_assert(!sign_key_has_private(pub));
        cr_assert_eq(sign_key_sign(&sig, &siglen, pub, msg, sizeof(msg) - 1), SIGN_EINVAL, "public keys cannot sign");
        cr_assert_null(sig);
        cr_assert_eq(sign_key_sign(&sig, &siglen, k, msg, sizeof(msg) - 1), 0, "%s: %s", tn, sign_error_last());
        cr_assert_eq(sign_key_sign(&osig, &osiglen, other, msg, sizeof(msg) - 1), 0);
        cr_assert_eq(sign_key_verify(pub, msg, sizeof(msg) - 1, sig, siglen), 0, "%s", tn);
        cr_assert_eq(sign_key_verify(k, msg, sizeof(msg) - 1, sig, siglen), 0, "%s", tn);
        /* Empty message signs and verifies too. */
        {
            unsigned char *esig = NULL;
            size_t elen = 0;

            cr_assert_eq(sign_key_sign(&esig, &elen, k, NULL, 0), 0);
            cr_assert_eq(sign_key_verify(pub, "", 0, esig, elen), 0);
            free(esig);
        }

        cr_assert_eq(sign_key_verify(pub, msg, sizeof(msg) - 2, sig, siglen), SIGN_EBADSIG, "%s: shorter msg", tn);
        cr_assert_eq(sign_key_verify(pub, "EVIL", 4, sig, siglen), SIGN_EBADSIG, "%s: other msg", tn);
        {
            char m2[sizeof(msg)];

            memcpy(m2, msg, sizeof(msg));
            m2[10] ^= 1;
            cr_assert_eq(sign_key_verify(pub, m2, sizeof(msg) - 1, sig, siglen), SIGN_EBADSIG, "%s: one bit", tn);
        }
        /* Every single flipped byte of the signature is refused. */
        bad = malloc(siglen + 1);
        for (size_t j = 0; j < siglen; j++) {
            memcpy(bad, sig, siglen);
            bad[j] ^= 0x01;
            cr_assert_eq(sign_key_verify(pub, msg, sizeof(msg) - 1, bad, siglen), SIGN_EBADSIG, "%s: byte %zu", tn,
                         j);
        }
        memcpy(bad, sig, siglen);
        bad[siglen] = 0;
        cr_assert_eq(sign_key_verify(pub, msg, sizeof(msg) - 1, bad, siglen + 1), SIGN_EBADSIG, "%s: extra byte", tn);
        free(bad);
        cr_assert_eq(sign_key_verify(pub, msg, sizeof(msg) - 1, sig, siglen - 1), SIGN_EBADSIG, "%s: truncated", tn);
        cr_assert_eq(sign_key_verify(pub, msg, sizeof(msg) - 1, sig, 1), SIGN_EBADSIG, "%s: one byte", tn);
        cr_assert_eq(sign_key_verify(pub, msg, sizeof(msg) - 1, sig, 0), SIGN_EBADSIG, "%s: empty", tn);
        cr_assert_eq(sign_key_verify(pub, msg, sizeof(msg) - 1, NULL, 0), SIGN_EBADSIG, "%s: NULL", tn);
        cr_assert_eq(sign_key_verify(pub, msg, sizeof(msg) - 1, huge, 1 << 20), SIGN_EBADSIG, "%s: huge", tn);
        cr_assert_eq(sign_key_verify(pub, msg, sizeof(msg) - 1, huge, siglen), SIGN_EBADSIG, "%s: zeros", tn);
        cr_assert_eq(sign_key_verify(pub, msg, sizeof(msg) - 1, osig, osiglen), SIGN_EBADSIG, "%s: other key", tn);
        cr_assert_eq(ERR_peek_error(), 0, "%s: error queue cleared", tn);
        free(sig);
        free(osig);
        sign_key_free(k);
        sign_key_free(other);
        sign_key_free(pub);
    }
    /* A signature by a key of another type never verifies. */
    {
        sign_key *e = kt_gen(SIGN_KEY_ED25519), *p = kt_gen(SIGN_KEY_ECDSA_P256);
        unsigned char *sig = NULL;
        size_t siglen = 0;

        cr_assert_eq(sign_key_sign(&sig, &siglen, p, "m", 1), 0);
        cr_assert_eq(sign_key_verify(e, "m", 1, sig, siglen), SIGN_EBADSIG);
        free(sig);
        cr_assert_eq(sign_key_sign(&sig, &siglen, e, "m", 1), 0);
        cr_assert_eq(sign_key_verify(p, "m", 1, sig, siglen), SIGN_EBADSIG);
        free(sig);
        sign_key_free(e);
        sign_key_free(p);
    }
    free(huge);
}

/*
 * A signature that verified is remembered by its key (audit verifies a bundle once per artifact it signs):
 * the memory answers only the same message and signature under the same key object, however many
 * signatures come and go.
 */
Test(key, remembered_signatures_answer_only_themselves)
{
    sign_key *k = kt_gen(SIGN_KEY_ED25519), *other = kt_gen(SIGN_KEY_ED25519);
    unsigned char *sig[20] = {NULL}, *osig = NULL;
    size_t len[20] = {0}, olen = 0;
    char m[32];

    for (int i = 0; i < 20; i++) {
        snprintf(m, sizeof(m), "message %d", i);
        cr_assert_eq(sign_key_sign(&sig[i], &len[i], k, m, strlen(m)), 0);
    }
    cr_assert_eq(sign_key_sign(&osig, &olen, other, "message 0", 9), 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20; i++) {
            snprintf(m, sizeof(m), "message %d", i);
            cr_assert_eq(sign_key_verify(k, m, strlen(m), sig[i], len[i]), 0, "round %d, signature %d", round, i);
            /* remembered under k, not under another key */
            cr_assert_eq(sign_key_verify(other, m, strlen(m), sig[i], len[i]), SIGN_EBADSIG);
            /* nor for another message, nor another signature of the same message */
            cr_assert_eq(sign_key_verify(k, "message X", 9, sig[i], len[i]), SIGN_EBADSIG);
            cr_assert_eq(sign_key_verify(k, m, strlen(m), sig[(i + 1) % 20], len[(i + 1) % 20]), SIGN_EBADSIG);
            /* the message and signature split elsewhere: not the same pair */
            cr_assert_eq(sign_key_verify(k, m, strlen(m) - 1, sig[i], len[i]), SIGN_EBADSIG);
        }
    }
    cr_assert_eq(sign_key_verify(k, "message 0", 9, osig, olen), SIGN_EBADSIG);
    cr_assert_eq(sign_key_verify(other, "message 0", 9, osig, olen), 0);
    for (int i = 0; i < 20; i++) {
        free(sig[i]);
    }
    free(osig);
    sign_key_free(k);
    sign_key_free(other);
}

Test(key, rsa_default_size_and_pss_parameters)
{
    char *dir = tu_mkdtemp();
    char *kp = tu_path(dir, "rsa.key"), *pp = tu_path(dir, "rsa.pub"), *mp = tu_path(dir, "msg"),
         *sp = tu_path(dir, "sig");
    sign_key *k = NULL, *pub = NULL;
    unsigned char *der = NULL, *sig = NULL, *other = NULL;
    const unsigned char *p;
    size_t derlen = 0, siglen = 0;
    size_t olen;
    EVP_PKEY *pk;
    int r;

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_RSA, 0), 0);
    cr_assert_eq(sign_key_spki_der(&der, &derlen, k), 0);
    p = der;
    pk = d2i_PUBKEY(NULL, &p, (long)derlen);
    cr_assert_not_null(pk);
    cr_assert_eq(EVP_PKEY_get_bits(pk), 3072, "bits 0 means 3072");
    EVP_PKEY_free(pk);
    free(der);
    cr_assert_eq(sign_key_write_private(k, kp, NULL, 0), 0);
    cr_assert_eq(sign_key_write_public(k, pp), 0);
    cr_assert_eq(sign_key_public_copy(&pub, k), 0);

    /*
     * Since issue 19 signet signs RSA with RSASSA-PKCS1-v1_5 and SHA-256 (Sigstore's PKIX_RSA_PKCS1V15_*_SHA256),
     * the form every verifier infers from the rsaEncryption key: openssl verifies it so, and not as PSS.
     */
    tu_write_str(mp, "release 1.2.3");
    cr_assert_eq(sign_key_sign(&sig, &siglen, k, "release 1.2.3", 13), 0);
    cr_assert_eq(siglen, 384);
    tu_write(sp, sig, siglen);
    r = kt_sh(NULL, OPENSSL_BIN " dgst -sha256 -verify '%s' -signature '%s' '%s' >/dev/null", pp, sp, mp);
    cr_assert_eq(r, 0, "openssl verifies our RSA PKCS#1 v1.5 SHA-256 signature");
    r = kt_sh(NULL,
              OPENSSL_BIN " dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt "
                          "rsa_mgf1_md:sha256 -verify '%s' -signature '%s' '%s' >/dev/null 2>&1",
              pp, sp, mp);
    cr_assert_neq(r, 0, "it is not a PSS signature");
    r = kt_sh(NULL, OPENSSL_BIN " dgst -sha384 -verify '%s' -signature '%s' '%s' >/dev/null 2>&1", pp, sp, mp);
    cr_assert_neq(r, 0, "the digest is really SHA-256");
    free(sig);

    /*
     * PSS with another salt length is refused. A PKCS#1 v1.5 SHA-256 signature verifies since issue 19
     * (Sigstore's registry has PKIX_RSA_PKCS1V15_*_SHA256); over other bytes it does not.
     */
    r = kt_sh(NULL, OPENSSL_BIN " dgst -sha256 -sign '%s' -out '%s' '%s'", kp, sp, mp);
    cr_assert_eq(r, 0);
    other = (unsigned char *)tu_read(sp, &olen);
    cr_assert_eq(sign_key_verify(pub, "release 1.2.3", 13, other, olen), 0, "PKCS#1 v1.5");
    cr_assert_eq(sign_key_verify(pub, "release 1.2.4", 13, other, olen), SIGN_EBADSIG, "PKCS#1 v1.5, other bytes");
    free(other);
    r = kt_sh(NULL,
              OPENSSL_BIN
              " dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:20 -sign '%s' -out '%s' "
              "'%s'",
              kp, sp, mp);
    cr_assert_eq(r, 0);
    other = (unsigned char *)tu_read(sp, &olen);
    cr_assert_eq(sign_key_verify(pub, "release 1.2.3", 13, other, olen), SIGN_EBADSIG, "salt 20");
    free(other);
    r = kt_sh(NULL,
              OPENSSL_BIN " dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt "
                          "rsa_mgf1_md:sha256 -sign '%s' -out '%s' '%s'",
              kp, sp, mp);
    cr_assert_eq(r, 0);
    other = (unsigned char *)tu_read(sp, &olen);
    cr_assert_eq(sign_key_verify(pub, "release 1.2.3", 13, other, olen), 0,
                 "openssl's PSS-32 signature (signet's RSA signatures before issue 19) still verifies");
    free(other);

    sign_key_free(k);
    sign_key_free(pub);
    tu_rmtree(dir);
    free(dir);
    free(kp);
    free(pp);
    free(mp);
    free(sp);
}

Test(key, ecdsa_and_ed25519_interop_with_openssl)
{
    char *dir = tu_mkdtemp();
    char *kp = tu_path(dir, "k.key"), *pp = tu_path(dir, "k.pub"), *mp = tu_path(dir, "msg"),
         *sp = tu_path(dir, "sig");
    static const char msg[] = "the bytes that were signed";

    tu_write_str(mp, msg);
    for (size_t i = 0; i < 3; i++) {
        sign_key *k = kt_gen(kt_types[i]), *pub = NULL;
        unsigned char *sig = NULL;
        size_t siglen = 0, olen;
        char *other;
        const char *verify_cmd, *sign_cmd;

        remove(kp);
        remove(pp);
        cr_assert_eq(sign_key_write_private(k, kp, NULL, 0), 0);
        cr_assert_eq(sign_key_write_public(k, pp), 0);
        cr_assert_eq(sign_key_load_public(&pub, pp), 0);
        cr_assert_eq(sign_key_sign(&sig, &siglen, k, msg, sizeof(msg) - 1), 0);
        tu_write(sp, sig, siglen);
        free(sig);
        switch (kt_types[i]) {
        case SIGN_KEY_ED25519:
            verify_cmd = OPENSSL_BIN " pkeyutl -verify -pubin -inkey '%s' -rawin -in '%s' -sigfile '%s' >/dev/null";
            sign_cmd = OPENSSL_BIN " pkeyutl -sign -inkey '%s' -rawin -in '%s' -out '%s'";
            break;
        case SIGN_KEY_ECDSA_P256:
            verify_cmd = OPENSSL_BIN " dgst -sha256 -verify '%1$s' -signature '%3$s' '%2$s' >/dev/null";
            sign_cmd = OPENSSL_BIN " dgst -sha256 -sign '%1$s' -out '%3$s' '%2$s'";
            break;
        default:
            verify_cmd = OPENSSL_BIN " dgst -sha384 -verify '%1$s' -signature '%3$s' '%2$s' >/dev/null";
            sign_cmd = OPENSSL_BIN " dgst -sha384 -sign '%1$s' -out '%3$s' '%2$s'";
            break;
        }
        cr_assert_eq(kt_sh(NULL, verify_cmd, pp, mp, sp), 0, "openssl verifies our %s signature",
                     sign_key_type_name(kt_types[i]));
        cr_assert_eq(kt_sh(NULL, sign_cmd, kp, mp, sp), 0);
        other = tu_read(sp, &olen);
        cr_assert_eq(sign_key_verify(pub, msg, sizeof(msg) - 1, (unsigned char *)other, olen), 0,
                     "we verify openssl's %s signature", sign_key_type_name(kt_types[i]));
        free(other);
        sign_key_free(k);
        sign_key_free(pub);
    }
    tu_rmtree(dir);
    free(dir);
    free(kp);
    free(pp);
    free(mp);
    free(sp);
}

Test(key, type_names)
{
    sign_key_type t;

    for (size_t i = 0; i < KT_NTYPES; i++) {
        cr_assert_eq(sign_key_type_from_name(&t, sign_key_type_name(kt_types[i])), 0);
        cr_assert_eq(t, kt_types[i]);
    }
    cr_assert_str_eq(sign_key_type_name(SIGN_KEY_ECDSA_P256), "ecdsa-p256");
    cr_assert_eq(sign_key_type_from_name(&t, "dsa"), SIGN_EUNSUPPORTED);
    cr_assert_eq(sign_key_type_from_name(&t, ""), SIGN_EUNSUPPORTED);
    cr_assert_eq(sign_key_type_from_name(&t, "ED25519x"), SIGN_EUNSUPPORTED);
    sign_key_free(NULL);
}

Test(key, public_key_cannot_write_a_private_key)
{
    char *dir = tu_mkdtemp();
    char *kp = tu_path(dir, "x.key");
    sign_key *k = kt_gen(SIGN_KEY_ED25519), *pub = NULL;

    cr_assert_eq(sign_key_public_copy(&pub, k), 0);
    cr_assert_eq(sign_key_write_private(pub, kp, NULL, 0), SIGN_EINVAL);
    cr_assert(!tu_exists(kp));
    sign_key_free(k);
    sign_key_free(pub);
    tu_rmtree(dir);
    free(dir);
    free(kp);
}

/* ---- signet keygen ----------------------------------------------------- */

/* The value of "label: value" in out (static buffer), or NULL. */
static const char *kt_field(const char *out, const char *label)
{
    static char val[256];
    const char *p = out;
    size_t ll = strlen(label);

    while (p != NULL && *p != '\0') {
        if (strncmp(p, label, ll) == 0 && p[ll] == ':' && p[ll + 1] == ' ') {
            size_t n = strcspn(p + ll + 2, "\n");

            if (n >= sizeof(val)) {
                return NULL;
            }
            memcpy(val, p + ll + 2, n);
            val[n] = '\0';
            return val;
        }
        p = strchr(p, '\n');
        if (p != NULL) {
            p++;
        }
    }
    return NULL;
}

/* Environment for the CLI: a passphrase, and SIGNET_PASSPHRASE cleared from ours. */
static void kt_no_env_passphrase(void)
{
    unsetenv("SIGNET_PASSPHRASE");
}

Test(keygen_cli, with_env_passphrase_prints_id_and_writes_both_files)
{
    char *dir = tu_mkdtemp();
    char *prefix = tu_path(dir, "release"), *kp = tu_path(dir, "release.key"), *pp = tu_path(dir, "release.pub");
    const char *env[] = {"SIGNET_PASSPHRASE=hunter2 with spaces", NULL};
    const char *argv[] = {"signet", "keygen", "-o", prefix, NULL};
    char *out = NULL, *err = NULL, id[SIGN_KEYID_SIZE], fp[SIGN_FINGERPRINT_SIZE], line[512];
    sign_key *k = NULL, *pub = NULL;
    kt_pass pw = {"hunter2 with spaces", 0};

    cr_assert_eq(tu_run(&out, &err, env, argv), 0, "stderr: %s", err);
    cr_assert_eq(kt_mode(kp), 0600);
    cr_assert_eq(kt_mode(pp), 0644);
    cr_assert_eq(sign_key_load_private(&k, kp, kt_cb, &pw), 0, "%s", sign_error_last());
    cr_assert_eq(sign_key_get_type(k), SIGN_KEY_ED25519, "ed25519 by default");
    cr_assert_eq(sign_key_load_public(&pub, pp), 0);
    kt_id(id, pub);
    cr_assert_eq(sign_key_fingerprint(fp, sizeof(fp), pub), 0);
    /* The documented output, line by line. */
    snprintf(line, sizeof(line),
             "type: ed25519\nprivate key: %s (encrypted)\npublic key: %s\nkey id: %s\nfingerprint: %s\n", kp, pp, id,
             fp);
    cr_assert_str_eq(out, line);
    cr_assert_str_eq(err, "");
    free(out);
    free(err);

    /* Running it again refuses and changes nothing. */
    {
        char *before = tu_read(kp, NULL), *after;

        cr_assert_eq(tu_run(&out, &err, env, argv), 2);
        cr_assert(strstr(err, "already exists") != NULL, "%s", err);
        cr_assert_str_eq(out, "");
        after = tu_read(kp, NULL);
        cr_assert_str_eq(before, after);
        free(before);
        free(after);
        free(out);
        free(err);
    }
    sign_key_free(k);
    sign_key_free(pub);
    tu_rmtree(dir);
    free(dir);
    free(prefix);
    free(kp);
    free(pp);
}

Test(keygen_cli, every_type)
{
    static const struct {
        const char *arg;
        sign_key_type t;
    } types[] = {{"ed25519", SIGN_KEY_ED25519},
                 {"ecdsa-p256", SIGN_KEY_ECDSA_P256},
                 {"ecdsa-p384", SIGN_KEY_ECDSA_P384},
                 {"rsa-3072", SIGN_KEY_RSA}};
    char *dir = tu_mkdtemp();
    const char *env[] = {"SIGNET_PASSPHRASE=pw", NULL};

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        char *prefix = tu_path(dir, types[i].arg), *kp, file[64];
        const char *argv[] = {"signet", "keygen", "--type", types[i].arg, "-o", prefix, NULL};
        char *out = NULL, *err = NULL, id[SIGN_KEYID_SIZE];
        sign_key *k = NULL;
        kt_pass pw = {"pw", 0};

        cr_assert_eq(tu_run(&out, &err, env, argv), 0, "%s: %s", types[i].arg, err);
        snprintf(file, sizeof(file), "%s.key", types[i].arg);
        kp = tu_path(dir, file);
        cr_assert_eq(sign_key_load_private(&k, kp, kt_cb, &pw), 0, "%s", sign_error_last());
        cr_assert_eq(sign_key_get_type(k), types[i].t);
        cr_assert_str_eq(kt_field(out, "type"), types[i].arg);
        kt_id(id, k);
        cr_assert_str_eq(kt_field(out, "key id"), id);
        sign_key_free(k);
        free(out);
        free(err);
        free(kp);
        free(prefix);
    }
    {
        char *prefix = tu_path(dir, "x");
        const char *argv[] = {"signet", "keygen", "--type", "dsa", "-o", prefix, NULL};
        char *err = NULL, *kp;

        cr_assert_eq(tu_run(NULL, &err, env, argv), 2);
        cr_assert(strstr(err, "dsa") != NULL, "%s", err);
        free(err);
        kp = tu_path(dir, "x.key");
        cr_assert(!tu_exists(kp));
        free(kp);
        kp = tu_path(dir, "x.pub");
        cr_assert(!tu_exists(kp));
        free(kp);
        free(prefix);
    }
    tu_rmtree(dir);
    free(dir);
}

Test(keygen_cli, passphrase_file)
{
    char *dir = tu_mkdtemp();
    char *prefix = tu_path(dir, "k"), *kp = tu_path(dir, "k.key"), *pf = tu_path(dir, "pass");
    char *prefix2 = tu_path(dir, "k2"), *kp2 = tu_path(dir, "k2.key");
    const char *argv[] = {"signet", "keygen", "-t", "ecdsa-p256", "--passphrase-file", pf, "-o", prefix, NULL};
    const char *argv2[] = {"signet", "keygen", "--passphrase-file", pf, "-o", prefix2, NULL};
    char *out = NULL, *err = NULL;
    sign_key *k = NULL;
    kt_pass right = {"from a file", 0}, with_nl = {"from a file\n", 0};

    kt_no_env_passphrase();
    tu_write_str(pf, "from a file\nsecond line ignored\n");
    chmod(pf, 0600);
    cr_assert_eq(tu_run(&out, &err, NULL, argv), 0, "%s", err);
    cr_assert_str_eq(err, "", "no warning for a 0600 file");
    cr_assert_eq(sign_key_load_private(&k, kp, kt_cb, &with_nl), SIGN_EPASSPHRASE, "the newline is not part of it");
    cr_assert_eq(sign_key_load_private(&k, kp, kt_cb, &right), 0, "%s", sign_error_last());
    sign_key_free(k);
    k = NULL;
    free(out);
    free(err);

    /* CRLF line end, and a file others can read: used, with a warning. */
    tu_write_str(pf, "from a file\r\n");
    chmod(pf, 0644);
    cr_assert_eq(tu_run(&out, &err, NULL, argv2), 0, "%s", err);
    cr_assert(strstr(err, "warning") != NULL, "%s", err);
    cr_assert_eq(sign_key_load_private(&k, kp2, kt_cb, &right), 0, "%s", sign_error_last());
    sign_key_free(k);
    free(out);
    free(err);

    /* A missing passphrase file: exit 2, nothing written. */
    {
        char *missing = tu_path(dir, "nope"), *p3 = tu_path(dir, "k3");
        const char *argv3[] = {"signet", "keygen", "--passphrase-file", missing, "-o", p3, NULL};
        char *k3 = tu_path(dir, "k3.key"), *pub3 = tu_path(dir, "k3.pub");

        cr_assert_eq(tu_run(NULL, &err, NULL, argv3), 2);
        cr_assert(strstr(err, missing) != NULL, "%s", err);
        cr_assert(!tu_exists(k3));
        cr_assert(!tu_exists(pub3));
        free(err);
        free(missing);
        free(p3);
        free(k3);
        free(pub3);
    }
    /* An empty first line is an empty passphrase: refused. */
    {
        char *p4 = tu_path(dir, "k4"), *k4 = tu_path(dir, "k4.key");
        const char *argv4[] = {"signet", "keygen", "--passphrase-file", pf, "-o", p4, NULL};

        tu_write_str(pf, "\nsecret on line two\n");
        chmod(pf, 0600);
        cr_assert_eq(tu_run(NULL, &err, NULL, argv4), 2);
        cr_assert(strstr(err, "empty passphrase") != NULL, "%s", err);
        cr_assert(!tu_exists(k4));
        free(err);
        free(p4);
        free(k4);
    }
    tu_rmtree(dir);
    free(dir);
    free(prefix);
    free(prefix2);
    free(kp);
    free(kp2);
    free(pf);
}

Test(keygen_cli, no_passphrase_writes_an_unencrypted_key)
{
    char *dir = tu_mkdtemp();
    char *prefix = tu_path(dir, "k"), *kp = tu_path(dir, "k.key");
    const char *argv[] = {"signet", "keygen", "--no-passphrase", "-o", prefix, NULL};
    char *out = NULL, *text;
    sign_key *k = NULL;

    kt_no_env_passphrase();
    cr_assert_eq(tu_run(&out, NULL, NULL, argv), 0);
    cr_assert(strstr(out, "(NOT encrypted)") != NULL, "%s", out);
    text = tu_read(kp, NULL);
    cr_assert(strncmp(text, "-----BEGIN PRIVATE KEY-----", 27) == 0);
    cr_assert_eq(kt_mode(kp), 0600);
    cr_assert_eq(sign_key_load_private(&k, kp, NULL, NULL), 0);
    sign_key_free(k);
    free(text);
    free(out);
    tu_rmtree(dir);
    free(dir);
    free(prefix);
    free(kp);
}

Test(keygen_cli, no_passphrase_available_leaves_nothing)
{
    char *dir = tu_mkdtemp();
    char *prefix = tu_path(dir, "k"), *kp = tu_path(dir, "k.key"), *pp = tu_path(dir, "k.pub");
    const char *sigbin = getenv("SIGNET_BIN");
    /* setsid: no controlling terminal even when the suite runs in one; stdin is /dev/null. */
    const char *argv[] = {"/usr/bin/setsid", "-w", sigbin, "keygen", "-o", prefix, NULL};
    const char *empty_env[] = {"SIGNET_PASSPHRASE=", NULL};
    const char *argv_env[] = {"signet", "keygen", "-o", prefix, NULL};
    char *out = NULL, *err = NULL;

    cr_assert_not_null(sigbin);
    kt_no_env_passphrase();
    cr_assert_eq(tu_run(&out, &err, NULL, argv), 2, "%s", err);
    cr_assert(strstr(err, "no passphrase") != NULL, "%s", err);
    cr_assert(strncmp(err, "signet: ", 8) == 0, "%s", err);
    cr_assert_str_eq(out, "");
    cr_assert(!tu_exists(kp));
    cr_assert(!tu_exists(pp));
    free(out);
    free(err);

    cr_assert_eq(tu_run(NULL, &err, empty_env, argv_env), 2);
    cr_assert(strstr(err, "empty passphrase") != NULL, "%s", err);
    cr_assert(!tu_exists(kp));
    cr_assert(!tu_exists(pp));
    free(err);
    tu_rmtree(dir);
    free(dir);
    free(prefix);
    free(kp);
    free(pp);
}

Test(keygen_cli, refuses_to_overwrite_either_file)
{
    char *dir = tu_mkdtemp();
    char *prefix = tu_path(dir, "k"), *kp = tu_path(dir, "k.key"), *pp = tu_path(dir, "k.pub");
    const char *argv[] = {"signet", "keygen", "--no-passphrase", "-o", prefix, NULL};
    char *err = NULL, *text;

    tu_write_str(pp, "old public key\n");
    cr_assert_eq(tu_run(NULL, &err, NULL, argv), 2);
    cr_assert(strstr(err, pp) != NULL, "%s", err);
    cr_assert(!tu_exists(kp), "nothing written when the .pub exists");
    text = tu_read(pp, NULL);
    cr_assert_str_eq(text, "old public key\n");
    free(text);
    free(err);
    remove(pp);

    tu_write_str(kp, "old private key\n");
    cr_assert_eq(tu_run(NULL, &err, NULL, argv), 2);
    cr_assert(strstr(err, kp) != NULL, "%s", err);
    cr_assert(!tu_exists(pp), "nothing written when the .key exists");
    text = tu_read(kp, NULL);
    cr_assert_str_eq(text, "old private key\n");
    free(text);
    free(err);
    tu_rmtree(dir);
    free(dir);
    free(prefix);
    free(kp);
    free(pp);
}

Test(keygen_cli, passphrase_is_never_an_argument)
{
    char *dir = tu_mkdtemp();
    char *prefix = tu_path(dir, "k"), *kp = tu_path(dir, "k.key");
    const char *forms[][3] = {
        {"--passphrase", "TopSecret42", NULL}, {"--passphrase=TopSecret42", NULL, NULL},
        {"--pass", "TopSecret42", NULL},       {"--passphrase-f=TopSecret42", NULL, NULL},
        {"-p", "TopSecret42", NULL},
    };

    kt_no_env_passphrase();
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        const char *argv[8] = {"signet", "keygen", "-o", prefix};
        char *out = NULL, *err = NULL;
        size_t n = 4;

        for (size_t j = 0; j < 3 && forms[i][j] != NULL; j++) {
            argv[n++] = forms[i][j];
        }
        argv[n] = NULL;
        cr_assert_eq(tu_run(&out, &err, NULL, argv), 2, "%s", forms[i][0]);
        cr_assert(strstr(err, "TopSecret42") == NULL, "the secret is not echoed: %s", err);
        cr_assert(strstr(out, "TopSecret42") == NULL);
        cr_assert(!tu_exists(kp), "%s", forms[i][0]);
        free(out);
        free(err);
    }
    tu_rmtree(dir);
    free(dir);
    free(prefix);
    free(kp);
}

Test(keygen_cli, usage_errors_and_help)
{
    const char *help[] = {"signet", "keygen", "--help", NULL};
    const char *noout[] = {"signet", "keygen", "--no-passphrase", NULL};
    const char *extra[] = {"signet", "keygen", "--no-passphrase", "-o", "/tmp/signet-kt-never", "stray", NULL};
    const char *both[] = {"signet",    "keygen", "--no-passphrase",      "--passphrase-file",
                          "/dev/null", "-o",     "/tmp/signet-kt-never", NULL};
    char *out = NULL, *err = NULL;
    static const char *const mentioned[] = {"--type",     "--no-passphrase", "--passphrase-file",
                                            "-o",         "ed25519",         "ecdsa-p256",
                                            "ecdsa-p384", "rsa-3072",        "SIGNET_PASSPHRASE"};

    cr_assert_eq(tu_run(&out, NULL, NULL, help), 0);
    for (size_t i = 0; i < sizeof(mentioned) / sizeof(mentioned[0]); i++) {
        cr_assert(strstr(out, mentioned[i]) != NULL, "--help mentions %s", mentioned[i]);
    }
    free(out);
    cr_assert_eq(tu_run(NULL, &err, NULL, noout), 2);
    cr_assert(strstr(err, "-o PREFIX") != NULL, "%s", err);
    free(err);
    cr_assert_eq(tu_run(NULL, &err, NULL, extra), 2);
    cr_assert(strstr(err, "stray") != NULL, "%s", err);
    free(err);
    cr_assert_eq(tu_run(NULL, &err, NULL, both), 2);
    free(err);
    cr_assert(!tu_exists("/tmp/signet-kt-never.key"));
    cr_assert(!tu_exists("/tmp/signet-kt-never.pub"));
}

/*
 * Found by fuzzing (tests/fuzz/regressions/key/): an RSA PKCS#8 key whose
 * private components were corrupted loaded and signed, and its signatures
 * never verified. A private key must match its public half.
 */
Test(key, refuses_private_key_not_matching_its_public_half)
{
    char *path = tu_path(tu_src(), "tests/fuzz/regressions/key/rsa-pkcs8-corrupt-private-component.pem");
    size_t len;
    char *text = tu_read(path, &len);
    sign_key *k = NULL;

    cr_assert_eq(sign_key_parse_private(&k, text, len, NULL, NULL), SIGN_EPARSE);
    cr_assert_null(k);
    cr_assert(strstr(sign_error_last(), "does not match its public key") != NULL, "%s", sign_error_last());
    cr_assert_eq(sign_key_load_private(&k, path, NULL, NULL), SIGN_EPARSE);
    free(text);
    free(path);
}

/* A crafted RSA modulus that OpenSSL's randomised public check accepted on some runs only (found by fuzzing). */
Test(key, rsa_public_check_is_deterministic)
{
    char *path = tu_path(tu_src(), "tests/fuzz/regressions/key/rsa-modulus-random-check.der");
    size_t len = 0;
    char *der = tu_read(path, &len);
    sign_key *k = NULL;
    int first = sign_key_parse_public(&k, der, len);

    sign_key_free(k);
    for (int i = 0; i < 64; i++) {
        k = NULL;
        cr_assert_eq(sign_key_parse_public(&k, der, len), first, "run %d answered differently", i);
        sign_key_free(k);
    }
    free(der);
    free(path);
}

Test(key, fingerprint_from_a_key_id_matches_the_key)
{
    sign_key *k = NULL;
    char id[SIGN_KEYID_SIZE], a[SIGN_FINGERPRINT_SIZE], b[SIGN_FINGERPRINT_SIZE];

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ECDSA_P256, 0), 0);
    cr_assert_eq(sign_key_id(id, sizeof(id), k), 0);
    cr_assert_eq(sign_key_fingerprint(a, sizeof(a), k), 0);
    cr_assert_eq(sign_keyid_fingerprint(b, sizeof(b), id), 0);
    cr_assert_str_eq(a, b);
    cr_assert_eq(sign_keyid_fingerprint(b, sizeof(b), "not base64!"), SIGN_EPARSE);
    cr_assert_eq(sign_keyid_fingerprint(b, sizeof(b), "AAAA"), SIGN_EPARSE, "3 bytes are no SHA-256");
    cr_assert_eq(sign_keyid_fingerprint(b, 8, id), SIGN_EINVAL, "buffer too small");
    sign_key_free(k);
}

/* ---- weak public keys (issue 14, item 1) ---- */

static void kt_expect_weak(const unsigned char *der, size_t len, const char *what)
{
    sign_key *k = NULL;
    int r = sign_key_parse_public(&k, der, len);

    cr_assert_eq(r, SIGN_EUNSUPPORTED, "%s: %d %s", what, r, sign_error_last());
    cr_assert_null(k, "%s", what);
    cr_assert(strstr(sign_error_last(), "WEAK_KEY") != NULL, "%s: %s", what, sign_error_last());
}

static size_t kt_ed25519_spki(unsigned char out[44], const unsigned char y[32], int sign)
{
    static const unsigned char prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

    memcpy(out, prefix, sizeof(prefix));
    memcpy(out + 12, y, 32);
    if (sign) {
        out[12 + 31] |= 0x80;
    }
    return 44;
}

Test(key, small_order_ed25519_keys_are_weak_in_every_encoding)
{
    /* The y coordinates (little endian) of the eight small-order points, and y + p for the two below 19. */
    static const char *ys[] = {
        "0000000000000000000000000000000000000000000000000000000000000000", /* order 4 (x = +-i) */
        "0100000000000000000000000000000000000000000000000000000000000000", /* identity */
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* order 2 */
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", /* order 8 */
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", /* order 8 */
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p: y = 0, non-canonical */
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p + 1: identity, non-canonical */
        "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p + 3: any y >= p */
    };
    unsigned char y[32], der[44];
    sign_key *k = NULL;
    size_t len;

    for (size_t i = 0; i < sizeof(ys) / sizeof(ys[0]); i++) {
        for (size_t j = 0; j < 32; j++) {
            unsigned int b;

            cr_assert_eq(sscanf(ys[i] + 2 * j, "%2x", &b), 1);
            y[j] = (unsigned char)b;
        }
        for (int sign = 0; sign < 2; sign++) {
            char what[96];

            snprintf(what, sizeof(what), "%s sign %d", ys[i], sign);
            len = kt_ed25519_spki(der, y, sign);
            kt_expect_weak(der, len, what);
        }
    }
    /* A real key still loads: the check is not a blanket refusal. */
    k = kt_gen(SIGN_KEY_ED25519);
    {
        unsigned char *spki = NULL;
        size_t slen = 0;
        sign_key *pub = NULL;

        cr_assert_eq(sign_key_spki_der(&spki, &slen, k), 0);
        cr_assert_eq(sign_key_parse_public(&pub, spki, slen), 0, "%s", sign_error_last());
        sign_key_free(pub);
        free(spki);
    }
    sign_key_free(k);
}

Test(key, ecdsa_points_off_the_curve_or_at_infinity_are_weak)
{
    static const unsigned char inf[] = {0x30, 0x19, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                        0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                        0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x02, 0x00, 0x00};
    sign_key *k = kt_gen(SIGN_KEY_ECDSA_P256);
    unsigned char *spki = NULL;
    size_t len = 0;
    char *dir = tu_mkdtemp(), *p;
    FILE *f;

    kt_expect_weak(inf, sizeof(inf), "P-256 point at infinity");
    cr_assert_eq(sign_key_spki_der(&spki, &len, k), 0);
    spki[len - 1] ^= 0x01; /* y + 1: not on the curve */
    kt_expect_weak(spki, len, "P-256 point off the curve");
    /* The same from a file, as a policy names it. */
    p = tu_path(dir, "off.der");
    cr_assert_not_null(f = fopen(p, "wb"));
    cr_assert_eq(fwrite(spki, 1, len, f), len);
    fclose(f);
    sign_key_free(k);
    k = NULL;
    cr_assert_eq(sign_key_load_public(&k, p), SIGN_EUNSUPPORTED, "%s", sign_error_last());
    cr_assert(strstr(sign_error_last(), "WEAK_KEY") != NULL && strstr(sign_error_last(), p) != NULL, "%s",
              sign_error_last());
    free(p);
    free(spki);
    tu_rmtree(dir);
    free(dir);
}

/* An RSA SPKI with modulus n (hex) and exponent e, built with OpenSSL's public API. */
static size_t kt_rsa_spki(unsigned char **out, const char *nhex, unsigned long e)
{
    BIGNUM *n = NULL, *be = BN_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pk = NULL;
    int len;

    cr_assert(BN_hex2bn(&n, nhex) > 0 && be != NULL && BN_set_word(be, e) == 1);
    cr_assert(OSSL_PARAM_BLD_push_BN(bld, "n", n) == 1 && OSSL_PARAM_BLD_push_BN(bld, "e", be) == 1);
    cr_assert_not_null(params = OSSL_PARAM_BLD_to_param(bld));
    cr_assert(EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) == 1);
    *out = NULL;
    len = i2d_PUBKEY(pk, out);
    cr_assert_gt(len, 0);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(be);
    return (size_t)len;
}

Test(key, rsa_tiny_or_even_modulus_and_small_exponents_are_weak)
{
    char n2048[513], n512[129], even[513];
    unsigned char *der = NULL;
    size_t len;

    /* Odd 2048-bit and 512-bit moduli (not products of primes: only their shape is judged). */
    memset(n2048, 'c', 512);
    n2048[511] = 'b';
    n2048[512] = '\0';
    memset(n512, 'c', 128);
    n512[127] = 'b';
    n512[128] = '\0';
    memcpy(even, n2048, sizeof(even));
    even[511] = 'a';
    len = kt_rsa_spki(&der, n2048, 65537);
    {
        sign_key *k = NULL;

        cr_assert_eq(sign_key_parse_public(&k, der, len), 0, "the shape itself is accepted: %s", sign_error_last());
        sign_key_free(k);
    }
    OPENSSL_free(der);
    len = kt_rsa_spki(&der, n2048, 1);
    kt_expect_weak(der, len, "exponent 1");
    OPENSSL_free(der);
    len = kt_rsa_spki(&der, n2048, 3);
    kt_expect_weak(der, len, "exponent 3");
    OPENSSL_free(der);
    len = kt_rsa_spki(&der, n2048, 65536);
    kt_expect_weak(der, len, "even exponent");
    OPENSSL_free(der);
    len = kt_rsa_spki(&der, even, 65537);
    kt_expect_weak(der, len, "even modulus");
    OPENSSL_free(der);
    len = kt_rsa_spki(&der, n512, 65537);
    kt_expect_weak(der, len, "512-bit modulus");
    OPENSSL_free(der);
}

/* sign's input: a private key whose public half is weak (RSA e = 3) is refused when loaded, as WEAK_KEY. */
Test(key, private_key_with_a_weak_public_half_is_refused)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pk = NULL;
    BIGNUM *e = BN_new();
    unsigned char *der = NULL;
    sign_key *k = NULL;
    int len;

    cr_assert(e != NULL && BN_set_word(e, 3) == 1);
    cr_assert(EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) == 1 &&
              EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) == 1 && EVP_PKEY_keygen(ctx, &pk) == 1);
    len = i2d_PrivateKey(pk, &der);
    cr_assert_gt(len, 0);
    {
        PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);
        unsigned char *p8der = NULL;
        int p8len = i2d_PKCS8_PRIV_KEY_INFO(p8, &p8der);

        cr_assert_gt(p8len, 0);
        cr_assert_eq(sign_key_parse_private(&k, p8der, (size_t)p8len, NULL, NULL), SIGN_EUNSUPPORTED, "%s",
                     sign_error_last());
        cr_assert_not_null(strstr(sign_error_last(), "WEAK_KEY"), "%s", sign_error_last());
        OPENSSL_free(p8der);
        PKCS8_PRIV_KEY_INFO_free(p8);
    }
    OPENSSL_free(der);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(ctx);
    BN_free(e);
}

/*
 * RSA signatures from other Sigstore signers: RSASSA-PKCS1-v1_5 with SHA-256
 * (PKIX_RSA_PKCS1V15_*_SHA256) verifies beside signet's own PSS; the same
 * signature over other bytes, with another digest, or by another key does not.
 */
Test(key, rsa_pkcs1v15_signatures_verify)
{
    char *dir = tu_mkdtemp(), *p, *sig, *sig512, *sigother;
    size_t siglen = 0, sig512len = 0, otherlen = 0;
    sign_key *k = NULL;

    kt_openssl_key(dir, "rsa", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048");
    kt_openssl_key(dir, "other", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048");
    cr_assert_eq(kt_sh(NULL,
                       "cd '%s' && printf 'hello' > msg && " OPENSSL_BIN
                       " dgst -sha256 -sign rsa.key -out msg.sig msg && " OPENSSL_BIN
                       " dgst -sha512 -sign rsa.key -out msg.sig512 msg && " OPENSSL_BIN
                       " dgst -sha256 -sign other.key -out msg.other msg",
                       dir),
                 0);
    p = tu_path(dir, "rsa.pub");
    cr_assert_eq(sign_key_load_public(&k, p), 0, "%s", sign_error_last());
    free(p);
    p = tu_path(dir, "msg.sig");
    sig = tu_read(p, &siglen);
    free(p);
    p = tu_path(dir, "msg.sig512");
    sig512 = tu_read(p, &sig512len);
    free(p);
    p = tu_path(dir, "msg.other");
    sigother = tu_read(p, &otherlen);
    free(p);
    cr_assert_eq(sign_key_verify(k, "hello", 5, (const unsigned char *)sig, siglen), 0, "%s", sign_error_last());
    cr_assert_eq(sign_key_verify(k, "hellO", 5, (const unsigned char *)sig, siglen), SIGN_EBADSIG);
    cr_assert_eq(sign_key_verify(k, "hello", 5, (const unsigned char *)sig512, sig512len), SIGN_EBADSIG,
                 "PKCS#1 v1.5 is accepted with SHA-256 only");
    cr_assert_eq(sign_key_verify(k, "hello", 5, (const unsigned char *)sigother, otherlen), SIGN_EBADSIG);
    free(sig);
    free(sig512);
    free(sigother);
    sign_key_free(k);
    tu_rmtree(dir);
    free(dir);
}
