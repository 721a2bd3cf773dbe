/*
 * Keys: generate, write (encrypted PKCS#8 / SPKI PEM), load, key ids,
 * sign and verify raw messages. The only place in libsign that turns key
 * material into EVP_PKEY objects.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "sign/digest.h"
#include "pki.h"

/*
 * Signatures that verified under a key are remembered (issue 17): an audit
 * verifies the same bundle once for every artifact it signs (a bundle that
 * signs ten artifacts lies beside each of them). Checking a signature is a
 * function of the key, the message and the signature alone, so a repeat is
 * answered by the SHA-256 of (message, signature), length-prefixed, found
 * in a table of KEY_SEEN slots of the key object (the slot chosen by the
 * digest; a newer signature takes an older one's slot), allocated on the
 * first success: 128 KiB per key at most, whatever the store. Only successes
 * are kept; a false answer would need a SHA-256 collision.
 */
#define KEY_SEEN 4096u

struct sign_key {
    EVP_PKEY *pkey;
    sign_key_type type;
    int has_private;
    const sign__key_backend *backend; /* the private key lives in a token: it signs there */
    void *backend_ctx;
    unsigned char (*seen)[32]; /* KEY_SEEN slots, or NULL; under key_seen_mu */
};

static pthread_mutex_t key_seen_mu = PTHREAD_MUTEX_INITIALIZER;

/* Largest key file read: real keys are a few KiB. */
#define KEY_FILE_MAX (1024u * 1024u)
/* Largest passphrase asked from the callback. */
#define KEY_PASS_MAX 1024
#define RSA_MIN_BITS 2048
/* Above this, a verifier could be made to spend seconds per signature. */
#define RSA_MAX_BITS 16384
#define RSA_DEFAULT_BITS 3072
#define RSA_PSS_SALT 32
/* Longer than any signature of a supported key (RSA-16384: 2048 bytes). */
#define SIG_MAX 4096

/*
 * scrypt parameters for encrypted private keys: N = 2^14, r = 8, p = 1
 * (16 MiB of memory, about 50 ms on a current CPU). N = 2^15 would double
 * the attacker's cost but needs 32 MiB + 1 KiB, just above the 32 MiB limit
 * that OpenSSL applies when it decrypts PKCS#8 (so `openssl pkey` and our own
 * loader would both refuse such a file). 2^14 is also what `openssl pkcs8
 * -scrypt` writes, so keys stay interoperable.
 */
#define SCRYPT_N 16384
#define SCRYPT_R 8
#define SCRYPT_P 1

const char *sign_key_type_name(sign_key_type type)
{
    switch (type) {
    case SIGN_KEY_ED25519: return "ed25519";
    case SIGN_KEY_ECDSA_P256: return "ecdsa-p256";
    case SIGN_KEY_ECDSA_P384: return "ecdsa-p384";
    case SIGN_KEY_RSA: return "rsa";
    }
    return "unknown";
}

int sign_key_type_from_name(sign_key_type *out, const char *name)
{
    static const sign_key_type all[] = {SIGN_KEY_ED25519, SIGN_KEY_ECDSA_P256, SIGN_KEY_ECDSA_P384, SIGN_KEY_RSA};

    *out = 0;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(name, sign_key_type_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return sign__error(SIGN_EUNSUPPORTED, "unknown key type \"%s\" (supported: ed25519, ecdsa-p256, ecdsa-p384, rsa)",
                       name);
}

sign_key_type sign_key_get_type(const sign_key *key)
{
    return key->type;
}

int sign_key_has_private(const sign_key *key)
{
    return key->has_private;
}

void sign_key_free(sign_key *key)
{
    if (key == NULL) {
        return;
    }
    if (key->backend != NULL) {
        key->backend->free(key->backend_ctx); /* logs out, closes the session */
    }
    EVP_PKEY_free(key->pkey); /* clears the key material */
    free(key->seen);
    OPENSSL_cleanse(key, sizeof(*key));
    free(key);
}

/* Wrap pkey (taken over, also on failure) in a new sign_key. */
static int key_wrap(sign_key **out, EVP_PKEY *pkey, sign_key_type type, int has_private)
{
    sign_key *k;

    *out = NULL;
    if ((k = calloc(1, sizeof(*k))) == NULL) {
        EVP_PKEY_free(pkey);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    k->pkey = pkey;
    k->type = type;
    k->has_private = has_private;
    *out = k;
    return 0;
}

/*
 * Decide whether pkey is a key signet supports, and which. what names the
 * input in messages. Refuses DSA, X25519/X448, Ed448, EC curves other than
 * P-256/P-384 (and explicit curve parameters), RSA-PSS-restricted keys and
 * RSA outside 2048..16384 bits.
 */
static int key_classify(sign_key_type *out, EVP_PKEY *pkey, const char *what)
{
    char group[64];
    size_t glen = 0;
    int bits;

    *out = 0;
    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        *out = SIGN_KEY_ED25519;
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        /* Asked twice: OpenSSL 3.0 fails it, queueing nothing, when an allocation fails inside (the torture's
           verify-sigstore); a key with explicit parameters has no name either time. */
        int named = EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) == 1;

        if (!named) {
            ERR_clear_error();
            named = EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) == 1;
        }
        if (!named) {
            ERR_clear_error();
            return sign__error(SIGN_EUNSUPPORTED,
                               "%s: EC key with explicit or unknown curve parameters is not supported", what);
        }
        if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
            *out = SIGN_KEY_ECDSA_P256;
        } else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
            *out = SIGN_KEY_ECDSA_P384;
        } else {
            return sign__error(SIGN_EUNSUPPORTED, "%s: EC curve %s is not supported (use P-256 or P-384)", what,
                               group);
        }
    } else if (EVP_PKEY_is_a(pkey, "RSA")) {
        bits = EVP_PKEY_get_bits(pkey);
        if (bits < RSA_MIN_BITS) {
            return sign__error(SIGN_EUNSUPPORTED,
                               "%s: WEAK_KEY: RSA key of %d bits is too weak (at least %d are required)", what, bits,
                               RSA_MIN_BITS);
        }
        if (bits > RSA_MAX_BITS) {
            return sign__error(SIGN_EUNSUPPORTED, "%s: RSA key of %d bits is larger than the supported %d", what,
                               bits, RSA_MAX_BITS);
        }
        *out = SIGN_KEY_RSA;
    } else if (EVP_PKEY_is_a(pkey, "RSA-PSS")) {
        return sign__error(SIGN_EUNSUPPORTED,
                           "%s: RSA-PSS-restricted keys are not supported; use a plain RSA key (signet always "
                           "signs with PSS)",
                           what);
    } else {
        const char *name = EVP_PKEY_get0_type_name(pkey);

        if (name != NULL && (strcmp(name, "ED25519") == 0 || strcmp(name, "EC") == 0 || strcmp(name, "RSA") == 0)) {
            return sign__oom(); /* EVP_PKEY_is_a could not look its own name up (OpenSSL 3.0 queues nothing) */
        }
        return sign__error(SIGN_EUNSUPPORTED,
                           "%s: %s keys are not supported (supported: ed25519, ecdsa-p256, ecdsa-p384, rsa)", what,
                           name != NULL ? name : "this kind of");
    }
    return 0;
}

/*
 * Weak public keys are refused wherever a key enters signet (policy load,
 * keygen, sign, a certificate's key), as WEAK_KEY naming the key, so that
 * no later step has to remember them:
 *
 * - Ed25519: a point of small order (the identity, the point of order 2,
 *   the two of order 4 and the four of order 8) lets a signature with
 *   R = identity and S = 0 (or another forged pair) verify over any
 *   message, and OpenSSL's verify accepts it. Every encoding of them is
 *   refused, the non-canonical ones too (y >= p, or the sign bit set where
 *   x = 0), and so is any non-canonical y: one key must have one encoding.
 *   The test is on y alone: the small-order points are exactly those with
 *   y in {0, 1, p-1, y8, p-y8} (x = +-sqrt((y^2-1)/(d y^2+1))).
 * - ECDSA: a point not on the curve, or the point at infinity (OpenSSL's
 *   public check, which also checks the order).
 * - RSA: deterministic checks of our own (OpenSSL's public check runs
 *   Miller-Rabin on the modulus with random bases, so a crafted modulus was
 *   accepted on some runs and refused on others, found by fuzzing; a
 *   verifier must answer the same for the same bytes): an even or short
 *   modulus, an exponent that is 1, even, below 65537 or not below n.
 */
static const unsigned char ED25519_SMALL_Y[5][32] = {
    {0}, /* y = 0: the two points of order 4 */
    {1}, /* y = 1: the identity */
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, /* p-1: order 2 */
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
     0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a}, /* order 8 */
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
     0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05}, /* order 8 */
};

/* 1 when the little-endian 255-bit y (sign bit cleared) is p = 2^255 - 19 or more. */
static int ed25519_y_noncanonical(const unsigned char y[32])
{
    if (y[0] < 0xed) {
        return 0;
    }
    for (int i = 1; i < 31; i++) {
        if (y[i] != 0xff) {
            return 0;
        }
    }
    return y[31] == 0x7f;
}

static int ed25519_weak(EVP_PKEY *pkey, const char *what)
{
    unsigned char enc[32], y[32];
    size_t len = sizeof(enc);

    if (EVP_PKEY_get_raw_public_key(pkey, enc, &len) != 1 || len != sizeof(enc)) {
        /* a decoded Ed25519 key always has its 32 bytes: reading them failed for memory (nothing queued) */
        return sign__ossl_error(SIGN_ENOMEM, "%s: out of memory reading the Ed25519 public key", what);
    }
    memcpy(y, enc, sizeof(y));
    y[31] &= 0x7f;
    if (ed25519_y_noncanonical(y)) {
        return sign__error(SIGN_EUNSUPPORTED,
                           "%s: WEAK_KEY: the Ed25519 public key is not canonically encoded (y >= 2^255-19); a key "
                           "has one encoding, and this one also hides a small-order point when y-p is 0 or 1",
                           what);
    }
    for (size_t i = 0; i < sizeof(ED25519_SMALL_Y) / sizeof(ED25519_SMALL_Y[0]); i++) {
        if (memcmp(y, ED25519_SMALL_Y[i], sizeof(y)) == 0) {
            return sign__error(SIGN_EUNSUPPORTED,
                               "%s: WEAK_KEY: the Ed25519 public key is a point of small order, under which forged "
                               "signatures verify over any message; generate a real key",
                               what);
        }
    }
    return 0;
}

/*
 * An Ed25519 private key matches its public key: the public key derived again from the private bytes. OpenSSL
 * 3.0's pairwise check derives it too but answers "no match" without queuing anything when its SHA-512
 * context cannot be allocated; here each step that can only fail for memory says so.
 */
static int ed25519_pair(EVP_PKEY *pkey, const char *what)
{
    unsigned char priv[32], pub[32], again[32];
    size_t plen = sizeof(priv), len = sizeof(pub), alen = sizeof(again);
    EVP_PKEY *derived = NULL;
    int ok;

    if (EVP_PKEY_get_raw_private_key(pkey, priv, &plen) != 1 || plen != sizeof(priv) ||
        EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 || len != sizeof(pub)) {
        OPENSSL_cleanse(priv, sizeof(priv));
        return sign__ossl_error(SIGN_ENOMEM, "%s: out of memory reading the Ed25519 key", what);
    }
    derived = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, sizeof(priv));
    OPENSSL_cleanse(priv, sizeof(priv));
    if (derived == NULL || EVP_PKEY_get_raw_public_key(derived, again, &alen) != 1 || alen != sizeof(again)) {
        EVP_PKEY_free(derived);
        /* any 32 bytes are an Ed25519 private key: deriving its public key fails only for memory */
        return sign__ossl_error(SIGN_ENOMEM, "%s: out of memory deriving the Ed25519 public key", what);
    }
    EVP_PKEY_free(derived);
    ok = CRYPTO_memcmp(pub, again, sizeof(pub)) == 0;
    ERR_clear_error();
    return ok ? 0
              : sign__error(SIGN_EPARSE, "%s: the private key does not match its public key (corrupted key?)", what);
}

/* Why an RSA public key is refused, or NULL when it is acceptable. */
static const char *rsa_public_weakness(EVP_PKEY *pkey)
{
    BIGNUM *n = NULL, *e = NULL;
    const char *why = NULL;

    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
        why = "its modulus or exponent cannot be read";
    } else if (!BN_is_odd(n)) {
        why = "the modulus is even";
    } else if (BN_num_bits(n) < RSA_MIN_BITS) {
        why = "the modulus is shorter than 2048 bits";
    } else if (BN_is_one(e)) {
        why = "the public exponent is 1 (a signature is its own message)";
    } else if (!BN_is_odd(e)) {
        why = "the public exponent is even";
    } else if (BN_num_bits(e) < 17) {
        why = "the public exponent is below 65537";
    } else if (BN_num_bits(e) > 256 || BN_cmp(e, n) >= 0) {
        why = "the public exponent is too large";
    }
    BN_free(n);
    BN_free(e);
    return why;
}

/*
 * The public key must be valid and not weak (above) and, for a private key,
 * match the private half: a corrupted private component (an RSA d or CRT
 * value, an EC scalar) would otherwise load and make signatures that never
 * verify.
 */
static int key_check(EVP_PKEY *pkey, sign_key_type type, int has_private, const char *what)
{
    EVP_PKEY_CTX *ctx = NULL;
    const char *why;
    int ok, pair = 1, r;

    if (type == SIGN_KEY_ED25519 &&
        ((r = ed25519_weak(pkey, what)) != 0 || (has_private && (r = ed25519_pair(pkey, what)) != 0))) {
        return r;
    }
    if (type == SIGN_KEY_RSA && (why = rsa_public_weakness(pkey)) != NULL) {
        ERR_clear_error();
        return sign__error(SIGN_EUNSUPPORTED, "%s: WEAK_KEY: RSA public key refused: %s", what, why);
    }
    if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
        return sign__ossl_error(SIGN_ENOMEM, "%s: out of memory", what);
    }
    ok = type == SIGN_KEY_RSA ? 1 : EVP_PKEY_public_check(ctx);
    if (ok == 1 && has_private && type != SIGN_KEY_ED25519) {
        pair = EVP_PKEY_pairwise_check(ctx);
    }
    EVP_PKEY_CTX_free(ctx);
    if (ok != 1 && type != SIGN_KEY_ED25519) {
        return sign__ossl_error(SIGN_EUNSUPPORTED,
                                "%s: WEAK_KEY: the EC public key is not a valid point of the curve (off the curve, "
                                "the point at infinity or of the wrong order)",
                                what);
    }
    if (ok != 1) {
        return sign__ossl_error(SIGN_EPARSE, "%s: invalid public key", what);
    }
    if (pair != 1) {
        return sign__ossl_error(SIGN_EPARSE, "%s: the private key does not match its public key (corrupted key?)",
                                what);
    }
    return 0;
}

/* Take over pkey: classify, check and wrap it. */
static int key_adopt(sign_key **out, EVP_PKEY *pkey, int has_private, const char *what)
{
    sign_key_type type;
    int r;

    *out = NULL;
    if ((r = key_classify(&type, pkey, what)) != 0 || (r = key_check(pkey, type, has_private, what)) != 0) {
        EVP_PKEY_free(pkey);
        return r;
    }
    return key_wrap(out, pkey, type, has_private);
}

int sign_key_generate(sign_key **out, sign_key_type type, unsigned int bits)
{
    EVP_PKEY *pkey = NULL;

    *out = NULL;
    switch (type) {
    case SIGN_KEY_ED25519: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); break;
    case SIGN_KEY_ECDSA_P256: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); break;
    case SIGN_KEY_ECDSA_P384: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"); break;
    case SIGN_KEY_RSA:
        if (bits == 0) {
            bits = RSA_DEFAULT_BITS;
        }
        if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
            return sign__error(SIGN_EUNSUPPORTED, "RSA keys of %u bits are not supported (%d to %d)", bits,
                               RSA_MIN_BITS, RSA_MAX_BITS);
        }
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
        break;
    default: return sign__error(SIGN_EUNSUPPORTED, "unknown key type %d", (int)type);
    }
    if (pkey == NULL) {
        return sign__ossl_error(SIGN_ECRYPTO, "cannot generate a %s key", sign_key_type_name(type));
    }
    return key_wrap(out, pkey, type, 1);
}

/* ---- writing ----------------------------------------------------------- */

/* Write the contents of a memory BIO to path with O_EXCL, then wipe the BIO. */
static int write_bio_excl(BIO *bio, const char *path, mode_t mode)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    int r;

    if (n <= 0 || data == NULL) {
        return sign__error(SIGN_ECRYPTO, "%s: nothing was encoded", path);
    }
    r = sign__write_file_excl(path, data, (size_t)n, mode);
    OPENSSL_cleanse(data, (size_t)n);
    return r;
}

int sign_key_write_private(const sign_key *key, const char *path, const char *pass, size_t passlen)
{
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    X509_ALGOR *pbe = NULL;
    X509_SIG *enc = NULL;
    BIO *bio = NULL;
    int r = SIGN_ECRYPTO;

    if (!key->has_private) {
        return sign__error(SIGN_EINVAL, "%s: the key has no private part to write", path);
    }
    if (key->backend != NULL) {
        return sign__error(SIGN_EINVAL, "%s: the private key lives in a token and never leaves it", path);
    }
    if (pass != NULL && passlen == 0) {
        return sign__error(SIGN_EPASSPHRASE, "%s: refusing to encrypt with an empty passphrase", path);
    }
    if (passlen > INT_MAX) {
        return sign__error(SIGN_EINVAL, "%s: passphrase too long", path);
    }
    if ((bio = BIO_new(BIO_s_mem())) == NULL || (p8 = EVP_PKEY2PKCS8(key->pkey)) == NULL) {
        r = sign__ossl_error(SIGN_ECRYPTO, "%s: cannot encode the private key", path);
        goto out;
    }
    if (pass == NULL) {
        if (PEM_write_bio_PKCS8_PRIV_KEY_INFO(bio, p8) != 1) {
            r = sign__ossl_error(SIGN_ECRYPTO, "%s: cannot encode the private key", path);
            goto out;
        }
    } else {
        pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 0, NULL, SCRYPT_N, SCRYPT_R, SCRYPT_P);
        if (pbe == NULL) {
            r = sign__ossl_error(SIGN_ECRYPTO, "%s: cannot set up scrypt key encryption", path);
            goto out;
        }
        if ((enc = PKCS8_set0_pbe(pass, (int)passlen, p8, pbe)) == NULL) {
            r = sign__ossl_error(SIGN_ECRYPTO, "%s: cannot encrypt the private key", path);
            goto out;
        }
        pbe = NULL; /* transferred */
        if (PEM_write_bio_PKCS8(bio, enc) != 1) {
            r = sign__ossl_error(SIGN_ECRYPTO, "%s: cannot encode the private key", path);
            goto out;
        }
    }
    r = write_bio_excl(bio, path, 0600);
out:
    X509_SIG_free(enc);
    X509_ALGOR_free(pbe);
    PKCS8_PRIV_KEY_INFO_free(p8); /* wipes the key octets */
    BIO_free(bio);
    return r;
}

int sign_key_write_public(const sign_key *key, const char *path)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int r;

    if (bio == NULL || PEM_write_bio_PUBKEY(bio, key->pkey) != 1) {
        r = sign__ossl_error(SIGN_ECRYPTO, "%s: cannot encode the public key", path);
    } else {
        r = write_bio_excl(bio, path, 0644);
    }
    BIO_free(bio);
    return r;
}

/* ---- reading ----------------------------------------------------------- */

/* The kinds of DER blob a key file may hold. */
enum blob_kind { BLOB_PKCS8, BLOB_PKCS8_ENCRYPTED, BLOB_SPKI };

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int only_space(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_space(p[i])) {
            return 0;
        }
    }
    return 1;
}

/*
 * OpenSSL 3.0 reports an allocation failing inside PEM_read_bio_ex (its secure buffers) as nothing at all,
 * so a block that does not read is read once more from a fresh BIO: a malformed block fails again, and a
 * block that reads the second time is the block. 1 when it read; *bio is replaced (NULL when out of memory).
 */
static int pem_reread(BIO **bio, char **name, char **header, unsigned char **body, long *blen,
                      const unsigned char *data, size_t len)
{
    BIO_free(*bio);
    if ((*bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
        return 0;
    }
    if (PEM_read_bio_ex(*bio, name, header, body, blen, PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE) != 1) {
        return 0;
    }
    ERR_clear_error(); /* the first attempt's */
    return 1;
}

/*
 * If data is PEM, decode its single block: *der (secure heap, free with
 * OPENSSL_secure_clear_free), *derlen and *kind. Returns 1 when data is not
 * PEM at all (so the caller tries DER), 0 on success, or an error.
 */
static int pem_decode(unsigned char **der, long *derlen, enum blob_kind *kind, const unsigned char *data, size_t len,
                      const char *what)
{
    static const char begin[] = "-----BEGIN ";
    size_t skip = 0;
    BIO *bio = NULL;
    char *name = NULL, *header = NULL;
    unsigned char *body = NULL;
    long blen = 0;
    int r = SIGN_EPARSE;

    *der = NULL;
    *derlen = 0;
    while (skip < len && is_space(data[skip])) {
        skip++;
    }
    if (len - skip < sizeof(begin) - 1 || memcmp(data + skip, begin, sizeof(begin) - 1) != 0) {
        /* Text that is not PEM is garbage; binary may be DER (it starts with SEQUENCE). */
        return len > 0 && data[0] == 0x30 ? 1 : sign__error(SIGN_EPARSE, "%s: neither a PEM nor a DER key", what);
    }
    if (memchr(data, '\0', len) != NULL) {
        return sign__error(SIGN_EPARSE, "%s: NUL byte in a PEM file", what);
    }
    if (len > INT_MAX || (bio = BIO_new_mem_buf(data + skip, (int)(len - skip))) == NULL) {
        return sign__error(SIGN_ENOMEM, "%s: out of memory", what);
    }
    if (PEM_read_bio_ex(bio, &name, &header, &body, &blen, PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE) != 1 &&
        !pem_reread(&bio, &name, &header, &body, &blen, data + skip, len - skip)) {
        r = sign__ossl_error(SIGN_EPARSE, "%s: malformed or truncated PEM", what);
        goto out;
    }
    {
        char *rest = NULL;
        long nrest = BIO_get_mem_data(bio, &rest);

        if (nrest > 0 && !only_space((const unsigned char *)rest, (size_t)nrest)) {
            r = sign__error(SIGN_EPARSE, "%s: unexpected data after the PEM block", what);
            goto out;
        }
    }
    if (header != NULL && header[0] != '\0') {
        r = sign__error(SIGN_EUNSUPPORTED,
                        "%s: legacy PEM encryption headers are not supported; convert the key with "
                        "`openssl pkcs8 -topk8`",
                        what);
        goto out;
    }
    if (strcmp(name, "PRIVATE KEY") == 0) {
        *kind = BLOB_PKCS8;
    } else if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0) {
        *kind = BLOB_PKCS8_ENCRYPTED;
    } else if (strcmp(name, "PUBLIC KEY") == 0) {
        *kind = BLOB_SPKI;
    } else if (strstr(name, "PRIVATE KEY") != NULL) {
        r = sign__error(SIGN_EUNSUPPORTED,
                        "%s: \"%s\" is not PKCS#8; convert the key with `openssl pkcs8 -topk8` (or `ssh-keygen -p "
                        "-m PKCS8` for OpenSSH keys)",
                        what, name);
        goto out;
    } else {
        r = sign__error(SIGN_EUNSUPPORTED, "%s: PEM block \"%s\" is not a key signet reads", what, name);
        goto out;
    }
    *der = body;
    *derlen = blen;
    body = NULL; /* transferred */
    r = 0;
out:
    if (body != NULL) {
        OPENSSL_secure_clear_free(body, (size_t)blen);
    }
    OPENSSL_secure_free(name);
    OPENSSL_secure_free(header);
    BIO_free(bio);
    return r;
}

/* DER blobs must be consumed exactly: no trailing bytes. One decoder for every ASN.1 type (it). */
static void *der_exact(const unsigned char *der, long len, const ASN1_ITEM *it)
{
    const unsigned char *p = der;
    ASN1_VALUE *v = ASN1_item_d2i(NULL, &p, len, it);

    if (v != NULL && p != der + len) {
        ASN1_item_free(v, it);
        v = NULL;
    }
    return v;
}

static PKCS8_PRIV_KEY_INFO *der_pkcs8(const unsigned char *der, long len)
{
    return der_exact(der, len, ASN1_ITEM_rptr(PKCS8_PRIV_KEY_INFO));
}

static X509_SIG *der_pkcs8_encrypted(const unsigned char *der, long len)
{
    return der_exact(der, len, ASN1_ITEM_rptr(X509_SIG));
}

/* A SubjectPublicKeyInfo as a key (d2i_PUBKEY decodes and then loads the key: not an ASN.1 item). */
static EVP_PKEY *der_spki_once(const unsigned char *der, long len)
{
    const unsigned char *p = der;
    EVP_PKEY *k = d2i_PUBKEY(NULL, &p, len);

    if (k != NULL && p != der + len) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

/*
 * OpenSSL 3.0's key decoders report an allocation failing inside them as "decode error", like bytes that
 * are not a key (measured with the torture run). A key that does not decode is decoded once more: bytes
 * that are not a key fail again for the same reason, and a key that decodes the second time is the key.
 */
static EVP_PKEY *der_spki(const unsigned char *der, long len)
{
    EVP_PKEY *k = der_spki_once(der, len);

    if (k == NULL && (k = der_spki_once(der, len)) != NULL) {
        ERR_clear_error(); /* the first attempt's */
    }
    return k;
}

/*
 * 1 when der is a whole SubjectPublicKeyInfo of an EC key whose point
 * OpenSSL would not decode (not on the curve): the structure is sound, the
 * key is weak (WEAK_KEY), not a malformed file.
 */
static int spki_ec_undecodable(const unsigned char *der, long len)
{
    const unsigned char *p = der;
    X509_PUBKEY *xp = d2i_X509_PUBKEY(NULL, &p, len);
    ASN1_OBJECT *alg = NULL;
    int ec = 0;

    if (xp != NULL && p == der + len && X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, xp) == 1) {
        ec = OBJ_obj2nid(alg) == NID_X9_62_id_ecPublicKey;
    }
    X509_PUBKEY_free(xp);
    ERR_clear_error();
    return ec;
}

/* Which DER structure is this? Returns 0 and *kind, or SIGN_EPARSE. */
static int der_kind(enum blob_kind *kind, const unsigned char *der, long len, const char *what)
{
    PKCS8_PRIV_KEY_INFO *p8;
    X509_SIG *s;
    EVP_PKEY *k;

    if ((p8 = der_pkcs8(der, len)) != NULL) {
        PKCS8_PRIV_KEY_INFO_free(p8);
        *kind = BLOB_PKCS8;
    } else if ((s = der_pkcs8_encrypted(der, len)) != NULL) {
        X509_SIG_free(s);
        *kind = BLOB_PKCS8_ENCRYPTED;
    } else if ((k = der_spki(der, len)) != NULL) {
        EVP_PKEY_free(k);
        *kind = BLOB_SPKI;
    } else if (spki_ec_undecodable(der, len)) {
        *kind = BLOB_SPKI; /* refused as WEAK_KEY by parse_public */
    } else {
        return sign__ossl_error(SIGN_EPARSE, "%s: malformed DER: not a PKCS#8 or SubjectPublicKeyInfo key", what);
    }
    ERR_clear_error();
    return 0;
}

/* Whether OpenSSL's queue says a decryption failed at its padding check (what a wrong passphrase does); and
   that nothing says memory ran out. Empties the queue. */
static int failed_at_padding(void)
{
    unsigned long e;
    int padding = 0, oom = 0;

    while ((e = ERR_get_error()) != 0) {
        padding |= (ERR_GET_LIB(e) == ERR_LIB_EVP && ERR_GET_REASON(e) == EVP_R_BAD_DECRYPT) ||
                   (ERR_GET_LIB(e) == ERR_LIB_PKCS12 && ERR_GET_REASON(e) == PKCS12_R_PKCS12_CIPHERFINAL_ERROR);
        oom |= ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE;
    }
    return padding && !oom;
}

/*
 * Decrypt an encrypted PKCS#8 blob with a passphrase from cb. A failing
 * decryption is a wrong passphrase (the padding check or the DER inside
 * fails); an algorithm OpenSSL does not know is SIGN_EUNSUPPORTED.
 */
static int decrypt_pkcs8(PKCS8_PRIV_KEY_INFO **out, const unsigned char *der, long len, sign_passphrase_cb cb,
                         void *userdata, const char *what)
{
    X509_SIG *enc = NULL;
    char *pass = NULL;
    int n, r = SIGN_EPASSPHRASE;
    unsigned long e;

    *out = NULL;
    if ((enc = der_pkcs8_encrypted(der, len)) == NULL) {
        return sign__ossl_error(SIGN_EPARSE, "%s: malformed encrypted private key", what);
    }
    if (cb == NULL) {
        r = sign__error(SIGN_EPASSPHRASE, "%s: the key is encrypted and no passphrase was given", what);
        goto out;
    }
    if ((pass = OPENSSL_secure_zalloc(KEY_PASS_MAX + 1)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    n = cb(pass, KEY_PASS_MAX, 0, userdata);
    if (n < 0 || n > KEY_PASS_MAX) {
        r = sign__error(SIGN_EPASSPHRASE, "%s: the key is encrypted and no passphrase was given", what);
        goto out;
    }
    ERR_clear_error();
    if ((*out = PKCS8_decrypt(enc, pass, n)) == NULL) {
        e = ERR_peek_last_error();
        if (ERR_GET_REASON(e) == EVP_R_UNSUPPORTED_CIPHER || ERR_GET_REASON(e) == EVP_R_UNKNOWN_PBE_ALGORITHM ||
            ERR_GET_REASON(e) == EVP_R_UNSUPPORTED_KEY_DERIVATION_FUNCTION ||
            ERR_GET_REASON(e) == EVP_R_UNSUPPORTED_PRF || ERR_GET_REASON(e) == EVP_R_MEMORY_LIMIT_EXCEEDED) {
            r = sign__ossl_error(SIGN_EUNSUPPORTED, "%s: the key's encryption is not supported", what);
            goto out;
        }
        /* A wrong passphrase fails at the padding check; a failure anywhere before it (the key derivation,
           the cipher's set-up: an allocation failing there queues nothing in OpenSSL 3.0, the torture's
           key-load-encrypted) is decrypted once more, as is the rare wrong passphrase whose padding holds. */
        if (!failed_at_padding() && (*out = PKCS8_decrypt(enc, pass, n)) != NULL) {
            ERR_clear_error();
            r = 0;
            goto out;
        }
        r = sign__ossl_fail(SIGN_EPASSPHRASE, "wrong passphrase for %s", what);
        goto out;
    }
    r = 0;
out:
    OPENSSL_secure_clear_free(pass, KEY_PASS_MAX + 1);
    X509_SIG_free(enc);
    return r;
}

/*
 * The DER of a key file's len bytes: a PEM block decoded into *pem_der (which the caller frees with
 * OPENSSL_secure_clear_free, *derlen bytes), or the bytes themselves; *kind says what they hold (a PEM
 * block's label, else the DER's shape). Returns 0, or the code after sign__error.
 */
static int key_der(unsigned char **pem_der, const unsigned char **der, long *derlen, enum blob_kind *kind,
                   const void *data, size_t len, const char *what)
{
    int r;

    if (len == 0) {
        return sign__error(SIGN_EPARSE, "%s: empty key file", what);
    }
    if (len > KEY_FILE_MAX) {
        return sign__error(SIGN_ELIMIT, "%s: larger than %u bytes; not a key", what, KEY_FILE_MAX);
    }
    r = pem_decode(pem_der, derlen, kind, data, len, what);
    if (r < 0) {
        return r;
    }
    if (r == 1) {
        *der = data;
        *derlen = (long)len;
        return der_kind(kind, *der, *derlen, what);
    }
    *der = *pem_der;
    return 0;
}

static int parse_private(sign_key **out, const void *data, size_t len, sign_passphrase_cb cb, void *userdata,
                         const char *what)
{
    unsigned char *pem_der = NULL;
    const unsigned char *der = NULL;
    long derlen = 0;
    enum blob_kind kind = BLOB_PKCS8;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    EVP_PKEY *pkey = NULL;
    int r;

    *out = NULL;
    if ((r = key_der(&pem_der, &der, &derlen, &kind, data, len, what)) != 0) {
        goto out;
    }
    switch (kind) {
    case BLOB_SPKI:
        r = sign__error(SIGN_EINVAL, "%s: holds a public key where a private key is expected", what);
        goto out;
    case BLOB_PKCS8:
        if ((p8 = der_pkcs8(der, derlen)) == NULL) {
            r = sign__ossl_error(SIGN_EPARSE, "%s: malformed PKCS#8 private key", what);
            goto out;
        }
        break;
    case BLOB_PKCS8_ENCRYPTED:
        if ((r = decrypt_pkcs8(&p8, der, derlen, cb, userdata, what)) != 0) {
            goto out;
        }
        break;
    }
    if ((pkey = EVP_PKCS82PKEY(p8)) == NULL) {
        /* Parsed, but OpenSSL has no key type for its algorithm (e.g. an unknown OID). */
        r = sign__ossl_error(SIGN_EUNSUPPORTED, "%s: unsupported or malformed private key", what);
        goto out;
    }
    r = key_adopt(out, pkey, 1, what);
    pkey = NULL; /* transferred */
out:
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (pem_der != NULL) {
        OPENSSL_secure_clear_free(pem_der, (size_t)derlen);
    }
    ERR_clear_error();
    return r;
}

int sign_key_parse_private(sign_key **out, const void *data, size_t len, sign_passphrase_cb cb, void *userdata)
{
    return parse_private(out, data, len, cb, userdata, "private key");
}

int sign_key_load_private(sign_key **out, const char *path, sign_passphrase_cb cb, void *userdata)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    if ((r = sign__read_file(&data, &len, path, KEY_FILE_MAX)) != 0) {
        return r;
    }
    r = parse_private(out, data, len, cb, userdata, path);
    sign__free_secret(data, len + 1);
    return r;
}

/*
 * Public keys: SPKI only. A private key file is refused rather than reduced
 * to its public half: a policy or trust store that points at a private key
 * is a mistake that would otherwise spread the secret (and it may need a
 * passphrase), so the user is told to give the .pub file.
 */
static int parse_public(sign_key **out, const void *data, size_t len, const char *what)
{
    unsigned char *pem_der = NULL;
    const unsigned char *der = NULL;
    long derlen = 0;
    enum blob_kind kind = BLOB_SPKI;
    EVP_PKEY *pkey = NULL;
    int r;

    *out = NULL;
    if ((r = key_der(&pem_der, &der, &derlen, &kind, data, len, what)) != 0) {
        goto out;
    }
    if (kind != BLOB_SPKI) {
        r = sign__error(SIGN_EINVAL, "%s: holds a private key where a public key is expected; give the .pub file",
                        what);
        goto out;
    }
    if ((pkey = der_spki(der, derlen)) == NULL) {
        unsigned long e = ERR_peek_last_error();

        /* A well-formed SPKI of an algorithm OpenSSL does not decode (e.g. an unknown OID). */
        r = ERR_GET_REASON(e) == EVP_R_UNSUPPORTED_ALGORITHM
                ? sign__ossl_error(SIGN_EUNSUPPORTED, "%s: unsupported public key", what)
                : sign__ossl_error(SIGN_EPARSE, "%s: malformed public key", what);
        if (r == SIGN_EPARSE && spki_ec_undecodable(der, derlen)) {
            r = sign__error(SIGN_EUNSUPPORTED, "%s: WEAK_KEY: the EC public key is not a point of its curve", what);
        }
        goto out;
    }
    r = key_adopt(out, pkey, 0, what);
out:
    if (pem_der != NULL) {
        OPENSSL_secure_clear_free(pem_der, (size_t)derlen);
    }
    ERR_clear_error();
    return r;
}

int sign_key_parse_public(sign_key **out, const void *data, size_t len)
{
    return parse_public(out, data, len, "public key");
}

int sign_key_load_public(sign_key **out, const char *path)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    if ((r = sign__read_file(&data, &len, path, KEY_FILE_MAX)) != 0) {
        return r;
    }
    /* Wiped too: the file may turn out to hold a private key. */
    r = parse_public(out, data, len, path);
    sign__free_secret(data, len + 1);
    return r;
}

/* ---- ids --------------------------------------------------------------- */

int sign_key_spki_der(unsigned char **out, size_t *outlen, const sign_key *key)
{
    unsigned char *buf = NULL, *p;
    int n;

    *out = NULL;
    *outlen = 0;
    n = i2d_PUBKEY(key->pkey, NULL);
    if (n <= 0) {
        /* a key signet has loaded and classified always encodes: OpenSSL 3.0 ran out of memory, often saying nothing
         */
        return sign__ossl_error(SIGN_ENOMEM, "out of memory (cannot encode the public key)");
    }
    if ((buf = malloc((size_t)n)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    p = buf;
    if (i2d_PUBKEY(key->pkey, &p) != n) {
        free(buf);
        return sign__ossl_error(SIGN_ENOMEM, "out of memory (cannot encode the public key)");
    }
    *out = buf;
    *outlen = (size_t)n;
    return 0;
}

static int spki_sha256(unsigned char md[32], const sign_key *key)
{
    unsigned char *der = NULL;
    size_t len = 0;
    int r;

    if ((r = sign_key_spki_der(&der, &len, key)) != 0) {
        return r;
    }
    if (EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL) != 1) {
        /* the built-in SHA-256 fails only when its context cannot be allocated (OpenSSL 3.0 queues no reason) */
        r = sign__ossl_error(SIGN_ENOMEM, "out of memory (SHA-256 failed)");
    }
    free(der);
    return r;
}

int sign_key_id(char *out, size_t outsize, const sign_key *key)
{
    unsigned char md[32];
    char *b64 = NULL;
    int r;

    if (outsize > 0) {
        out[0] = '\0';
    }
    if ((r = spki_sha256(md, key)) != 0 || (r = sign__b64_encode(&b64, md, sizeof(md))) != 0) {
        return r;
    }
    if (strlen(b64) + 1 > outsize) {
        r = sign__error(SIGN_EINVAL, "key id buffer too small");
    } else {
        memcpy(out, b64, strlen(b64) + 1);
    }
    free(b64);
    return r;
}

int sign__key_same(const sign_key *a, const sign_key *b)
{
    int same = EVP_PKEY_eq(a->pkey, b->pkey) == 1;

    ERR_clear_error();
    return same;
}

static int fingerprint_of(char *out, size_t outsize, const unsigned char *md);

int sign_key_fingerprint(char *out, size_t outsize, const sign_key *key)
{
    unsigned char md[32];
    int r;

    if (outsize > 0) {
        out[0] = '\0';
    }
    if ((r = spki_sha256(md, key)) != 0) {
        return r;
    }
    return fingerprint_of(out, outsize, md);
}

static int fingerprint_of(char *out, size_t outsize, const unsigned char *md)
{
    static const char prefix[] = "SHA256:";

    if (outsize < sizeof(prefix) + 32) {
        return sign__error(SIGN_EINVAL, "fingerprint buffer too small");
    }
    memcpy(out, prefix, sizeof(prefix) - 1);
    return sign_hex_encode(out + sizeof(prefix) - 1, outsize - (sizeof(prefix) - 1), md, 16);
}

int sign_keyid_fingerprint(char *out, size_t outsize, const char *keyid)
{
    unsigned char *md = NULL;
    size_t n = 0;
    int r;

    if (outsize > 0) {
        out[0] = '\0';
    }
    if (sign__b64_decode(&md, &n, keyid, strlen(keyid)) != 0) {
        return sign__error(SIGN_EPARSE, "key id \"%.64s\" is not base64", keyid);
    }
    if (n != 32) {
        free(md);
        return sign__error(SIGN_EPARSE, "key id \"%.64s\" is not a SHA-256 digest", keyid);
    }
    r = fingerprint_of(out, outsize, md);
    free(md);
    return r;
}

int sign_key_public_copy(sign_key **out, const sign_key *key)
{
    unsigned char *der = NULL;
    size_t len = 0;
    EVP_PKEY *pkey;
    int r;

    *out = NULL;
    if ((r = sign_key_spki_der(&der, &len, key)) != 0) {
        return r;
    }
    pkey = der_spki(der, (long)len);
    free(der);
    if (pkey == NULL) {
        return sign__ossl_error(SIGN_ECRYPTO, "cannot copy the public key");
    }
    return key_wrap(out, pkey, key->type, 0);
}

/* ---- sign and verify --------------------------------------------------- */

/*
 * Set up md for signing or verifying with key: the digest and, for RSA, PSS
 * with MGF1-SHA-256 and a fixed 32-byte salt (verification insists on the
 * same salt length rather than accepting any), or with pkcs1 (verification
 * only) RSASSA-PKCS1-v1_5 with SHA-256, the PKIX_RSA_PKCS1V15_*_SHA256
 * entries of Sigstore's algorithm registry.
 */
static int md_init(EVP_MD_CTX *md, const sign_key *key, int verify, int pkcs1)
{
    EVP_PKEY_CTX *pctx = NULL;
    const char *digest = NULL;
    int ok;

    switch (key->type) {
    case SIGN_KEY_ED25519: digest = NULL; break;
    case SIGN_KEY_ECDSA_P256: digest = "SHA256"; break;
    case SIGN_KEY_ECDSA_P384: digest = "SHA384"; break;
    case SIGN_KEY_RSA: digest = "SHA256"; break;
    default: return 0;
    }
    ok = verify ? EVP_DigestVerifyInit_ex(md, &pctx, digest, NULL, NULL, key->pkey, NULL)
                : EVP_DigestSignInit_ex(md, &pctx, digest, NULL, NULL, key->pkey, NULL);
    if (ok != 1) {
        return 0;
    }
    if (key->type == SIGN_KEY_RSA && pkcs1) {
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    }
    if (key->type == SIGN_KEY_RSA) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", NULL) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALT) != 1) {
            return 0;
        }
    }
    return 1;
}

/*
 * A token signs: the signature is checked with the public key read from the
 * token before it is used, so a module that pairs the wrong public key or
 * returns garbage never produces a bundle that fails later.
 */
static int backend_sign(unsigned char **sig, size_t *siglen, const sign_key *key, const void *msg, size_t msglen)
{
    unsigned char *s = NULL;
    size_t slen = 0;
    int r;

    if ((r = key->backend->sign(key->backend_ctx, key->type, msg, msglen, &s, &slen)) != 0) {
        return r;
    }
    if ((r = sign_key_verify(key, msg, msglen, s, slen)) != 0) {
        free(s);
        return r == SIGN_ENOMEM
                   ? r
                   : sign__error(SIGN_ECRYPTO, "the token's %s signature does not verify with its public key",
                                 sign_key_type_name(key->type));
    }
    *sig = s;
    *siglen = slen;
    return 0;
}

/*
 * A software signature that could not be made. Ed25519 signing with a loaded key (its pair checked) depends on
 * no input, and OpenSSL 3.0 queues nothing when its SHA-512 context cannot be allocated: out of memory.
 */
static int sign_failed(const sign_key *key)
{
    if (key->type == SIGN_KEY_ED25519) {
        return sign__ossl_error(SIGN_ENOMEM, "out of memory (ed25519 signing failed)");
    }
    return sign__ossl_error(SIGN_ECRYPTO, "%s signing failed", sign_key_type_name(key->type));
}

int sign_key_sign(unsigned char **sig, size_t *siglen, const sign_key *key, const void *msg, size_t msglen)
{
    static const unsigned char empty[1];
    EVP_MD_CTX *md = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    int r = SIGN_ECRYPTO;

    *sig = NULL;
    *siglen = 0;
    if (!key->has_private) {
        return sign__error(SIGN_EINVAL, "cannot sign with a public key");
    }
    if (msg == NULL) {
        msg = empty;
        msglen = 0;
    }
    if (key->backend != NULL) {
        return backend_sign(sig, siglen, key, msg, msglen);
    }
    /* RSA signs RSASSA-PKCS1-v1_5 with SHA-256 (issue 19): the form verifiers infer from an rsaEncryption key. */
    if ((md = EVP_MD_CTX_new()) == NULL || !md_init(md, key, 0, key->type == SIGN_KEY_RSA) ||
        EVP_DigestSign(md, NULL, &len, msg, msglen) != 1) {
        r = sign_failed(key);
        goto out;
    }
    if ((buf = malloc(len)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    if (EVP_DigestSign(md, buf, &len, msg, msglen) != 1) {
        r = sign_failed(key);
        goto out;
    }
    *sig = buf;
    *siglen = len;
    buf = NULL; /* transferred */
    r = 0;
out:
    free(buf);
    EVP_MD_CTX_free(md);
    return r;
}

/* One verification (pkcs1: RSA PKCS#1 v1.5 rather than PSS): 1 verifies, 0 does not, -1 out of memory. */
static int verify_once(const sign_key *key, const void *msg, size_t msglen, const unsigned char *sig, size_t siglen,
                       int pkcs1)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = 0;

    if (md == NULL) {
        return -1;
    }
    if (md_init(md, key, 1, pkcs1)) {
        ok = EVP_DigestVerify(md, sig, siglen, msg, msglen) == 1;
    }
    EVP_MD_CTX_free(md);
    return ok;
}

/* The SHA-256 of (message, signature), each length-prefixed; 0 when it cannot be computed (then nothing is
   remembered). */
static int seen_print(unsigned char out[32], const void *msg, size_t msglen, const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char len[16];
    unsigned int outlen = 0;
    int ok;

    for (int i = 0; i < 8; i++) {
        len[i] = (unsigned char)((uint64_t)msglen >> (56 - 8 * i));
        len[8 + i] = (unsigned char)((uint64_t)siglen >> (56 - 8 * i));
    }
    ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(md, len, 8) == 1 &&
         EVP_DigestUpdate(md, msg, msglen) == 1 && EVP_DigestUpdate(md, len + 8, 8) == 1 &&
         EVP_DigestUpdate(md, sig, siglen) == 1 && EVP_DigestFinal_ex(md, out, &outlen) == 1 && outlen == 32;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok;
}

static size_t seen_slot(const unsigned char print[32])
{
    return ((size_t)print[0] << 8 | print[1]) % KEY_SEEN;
}

static int seen_find(const sign_key *key, const unsigned char print[32])
{
    int found;

    pthread_mutex_lock(&key_seen_mu);
    found = key->seen != NULL && memcmp(key->seen[seen_slot(print)], print, 32) == 0;
    pthread_mutex_unlock(&key_seen_mu);
    return found;
}

static void seen_add(const sign_key *ckey, const unsigned char print[32])
{
    sign_key *key = (sign_key *)ckey; /* the memory of verified signatures only: not the key */

    pthread_mutex_lock(&key_seen_mu);
    if (key->seen == NULL) {
        key->seen = calloc(KEY_SEEN, sizeof(*key->seen)); /* out of memory: nothing remembered */
    }
    if (key->seen != NULL) {
        memcpy(key->seen[seen_slot(print)], print, 32);
    }
    pthread_mutex_unlock(&key_seen_mu);
}

int sign_key_verify(const sign_key *key, const void *msg, size_t msglen, const unsigned char *sig, size_t siglen)
{
    static const unsigned char empty[1];
    unsigned char print[32];
    int ok, printed;

    if (sig == NULL || siglen == 0 || siglen > SIG_MAX) {
        return sign__error(SIGN_EBADSIG, "%s signature of %zu bytes does not verify", sign_key_type_name(key->type),
                           siglen);
    }
    if (msg == NULL) {
        msg = empty;
        msglen = 0;
    }
    printed = seen_print(print, msg, msglen, sig, siglen);
    if (printed && seen_find(key, print)) {
        return 0; /* this very signature of this very message verified under this key before */
    }
    ERR_clear_error();
    ok = verify_once(key, msg, msglen, sig, siglen, 0);
    /* RSA: signet signs PSS; other Sigstore signers may use PKCS#1 v1.5 (both with SHA-256). */
    if (ok == 0 && key->type == SIGN_KEY_RSA) {
        ok = verify_once(key, msg, msglen, sig, siglen, 1);
    }
    /*
     * OpenSSL 3.0 often queues nothing, or no ERR_R_MALLOC_FAILURE, when an allocation fails inside a
     * verification (Ed25519's SHA-512 context, the ECDSA provider's context, its digest: the torture's
     * verify-sigstore): that failure and a forged signature look the same. A failure is confirmed once; a
     * signature that verifies the second time is valid (no failure makes a wrong signature verify). Only a
     * refused signature costs a second verification.
     */
    if (ok == 0) {
        ERR_clear_error();
        ok = verify_once(key, msg, msglen, sig, siglen, 0);
        if (ok == 0 && key->type == SIGN_KEY_RSA) {
            ok = verify_once(key, msg, msglen, sig, siglen, 1);
        }
    }
    if (ok < 0) {
        ERR_clear_error();
        return sign__oom();
    }
    if (ok == 0) {
        /* an allocation failure inside OpenSSL is not a verdict on the signature */
        return sign__ossl_fail(SIGN_EBADSIG, "%s signature does not verify", sign_key_type_name(key->type));
    }
    ERR_clear_error();
    if (printed) {
        seen_add(key, print);
    }
    return 0;
}

/* The digest a key's signatures are made over (Sigstore's registry pairing), or NULL for Ed25519. */
static const EVP_MD *key_md(const sign_key *key, sign_digest_alg *alg)
{
    switch (key->type) {
    case SIGN_KEY_ECDSA_P256:
    case SIGN_KEY_RSA: *alg = SIGN_DIGEST_SHA256; return EVP_sha256();
    case SIGN_KEY_ECDSA_P384: *alg = SIGN_DIGEST_SHA384; return EVP_sha384();
    default: return NULL;
    }
}

/* One EVP_PKEY_verify of sig over the digest dig; pad is the RSA padding (0: not RSA). */
static int verify_digest_once(const sign_key *key, const EVP_MD *md, int pad, const unsigned char *dig, size_t diglen,
                              const unsigned char *sig, size_t siglen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    int ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, md) == 1;

    if (ok && pad == RSA_PKCS1_PSS_PADDING) {
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, pad) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALT) == 1;
    } else if (ok && pad != 0) {
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, pad) == 1;
    }
    ok = ok && EVP_PKEY_verify(ctx, sig, siglen, dig, diglen) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

int sign__key_verify_digest(const sign_key *key, sign_digest_alg alg, const unsigned char *dig, size_t diglen,
                            const unsigned char *sig, size_t siglen)
{
    sign_digest_alg want = SIGN_DIGEST_SHA256;
    const EVP_MD *md = key_md(key, &want);
    int ok = 0;

    if (md == NULL) {
        return sign__error(SIGN_EUNSUPPORTED, "an %s signature is over the message itself, not over a digest of it",
                           sign_key_type_name(key->type));
    }
    if (alg != want || diglen != (size_t)EVP_MD_get_size(md)) {
        return sign__error(SIGN_EUNSUPPORTED, "an %s key signs over %s, not over the digest given",
                           sign_key_type_name(key->type), want == SIGN_DIGEST_SHA384 ? "SHA-384" : "SHA-256");
    }
    if (sig == NULL || siglen == 0 || siglen > SIG_MAX) {
        return sign__error(SIGN_EBADSIG, "%s signature of %zu bytes does not verify", sign_key_type_name(key->type),
                           siglen);
    }
    /* A refusal is confirmed once, as in sign_key_verify: an allocation failing inside OpenSSL looks like one. */
    for (int attempt = 0; attempt < 2 && !ok; attempt++) {
        if (key->type == SIGN_KEY_RSA) {
            ok = verify_digest_once(key, md, RSA_PKCS1_PADDING, dig, diglen, sig, siglen) ||
                 verify_digest_once(key, md, RSA_PKCS1_PSS_PADDING, dig, diglen, sig, siglen);
        } else {
            ok = verify_digest_once(key, md, 0, dig, diglen, sig, siglen);
        }
        ERR_clear_error();
    }
    if (!ok) {
        return sign__error(SIGN_EBADSIG, "%s signature does not verify", sign_key_type_name(key->type));
    }
    return 0;
}

/* ---- for x509.c -------------------------------------------------------- */

int sign__key_adopt(sign_key **out, struct evp_pkey_st *pkey, int has_private, const char *what)
{
    return key_adopt(out, pkey, has_private, what);
}

const struct evp_pkey_st *sign__key_pkey(const sign_key *key)
{
    return key->pkey;
}

int sign__key_has_backend(const sign_key *key)
{
    return key->backend != NULL;
}

void sign__key_set_backend(sign_key *key, const sign__key_backend *ops, void *ctx)
{
    key->backend = ops;
    key->backend_ctx = ctx;
    key->has_private = 1;
}
