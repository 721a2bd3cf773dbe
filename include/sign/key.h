/* signet — keys: generate, load, write, key ids, sign and verify raw messages. */
#ifndef SIGN_KEY_H
#define SIGN_KEY_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SIGN_KEY_ED25519 = 1,
    SIGN_KEY_ECDSA_P256 = 2,
    SIGN_KEY_ECDSA_P384 = 3,
    SIGN_KEY_RSA = 4 /* RSA, at least 2048 bits: signs PKCS#1 v1.5 SHA-256; verifies that and PSS SHA-256 */
} sign_key_type;

typedef struct sign_key sign_key;

/*
 * Passphrase callback: write at most size bytes of passphrase into buf and
 * return its length, or a negative value to refuse. confirm is 1 when a new
 * passphrase is being set (the caller should ask twice). The library wipes buf.
 */
typedef int (*sign_passphrase_cb)(char *buf, size_t size, int confirm, void *userdata);

/* Key id: standard base64 of SHA-256 over the DER SubjectPublicKeyInfo (44 chars). */
#define SIGN_KEYID_SIZE 64
/* Fingerprint: "SHA256:" and the first 16 bytes of the same hash in hex. */
#define SIGN_FINGERPRINT_SIZE 48

/* Generate a new key. bits is used for RSA only (0: 3072; below 2048 refused). */
SIGN_EXTERN int sign_key_generate(sign_key **out, sign_key_type type, unsigned int bits);

/*
 * Write the private key as PKCS#8 PEM, encrypted (AES-256-CBC, scrypt) with
 * the passphrase, or unencrypted when pass is NULL. The file is created with
 * O_EXCL and mode 0600: an existing file is SIGN_EEXISTS and is left alone.
 */
SIGN_EXTERN int sign_key_write_private(const sign_key *key, const char *path, const char *pass, size_t passlen);
/* Write the public key as SPKI PEM, O_EXCL, mode 0644. */
SIGN_EXTERN int sign_key_write_public(const sign_key *key, const char *path);

/*
 * Load a private key (PKCS#8 PEM encrypted or not, or DER). cb is asked for
 * a passphrase only if the key is encrypted; a wrong one is SIGN_EPASSPHRASE.
 * Unsupported key types or sizes are SIGN_EUNSUPPORTED.
 */
SIGN_EXTERN int sign_key_load_private(sign_key **out, const char *path, sign_passphrase_cb cb, void *userdata);
SIGN_EXTERN int sign_key_parse_private(sign_key **out, const void *data, size_t len, sign_passphrase_cb cb,
                                       void *userdata);
/* Load a public key: SPKI PEM or DER. */
SIGN_EXTERN int sign_key_load_public(sign_key **out, const char *path);
SIGN_EXTERN int sign_key_parse_public(sign_key **out, const void *data, size_t len);

/* A new key object holding only the public half of key. */
SIGN_EXTERN int sign_key_public_copy(sign_key **out, const sign_key *key);

/* Frees and wipes. Accepts NULL. */
SIGN_EXTERN void sign_key_free(sign_key *key);

SIGN_EXTERN sign_key_type sign_key_get_type(const sign_key *key);
/* "ed25519", "ecdsa-p256", "ecdsa-p384", "rsa" */
SIGN_EXTERN const char *sign_key_type_name(sign_key_type type);
SIGN_EXTERN int sign_key_type_from_name(sign_key_type *out, const char *name);
SIGN_EXTERN int sign_key_has_private(const sign_key *key);

SIGN_EXTERN int sign_key_id(char *out, size_t outsize, const sign_key *key);
SIGN_EXTERN int sign_key_fingerprint(char *out, size_t outsize, const sign_key *key);
/*
 * The fingerprint of the key a key id names (the id is the SHA-256 of the
 * key, so its first 16 bytes are the fingerprint), without the key itself.
 * SIGN_EPARSE when keyid is not base64 of 32 bytes.
 */
SIGN_EXTERN int sign_keyid_fingerprint(char *out, size_t outsize, const char *keyid);
/* DER SubjectPublicKeyInfo, malloc'd. */
SIGN_EXTERN int sign_key_spki_der(unsigned char **out, size_t *outlen, const sign_key *key);

/*
 * Sign msg: Ed25519 over msg itself; ECDSA over SHA-256 (P-256) or SHA-384
 * (P-384), DER-encoded; RSA RSASSA-PKCS1-v1_5 over SHA-256 (issue 19; before it
 * RSA-PSS, which sign_key_verify still accepts). *sig is malloc'd.
 */
SIGN_EXTERN int sign_key_sign(unsigned char **sig, size_t *siglen, const sign_key *key, const void *msg,
                              size_t msglen);
/* 0 when sig is a valid signature of msg by key; SIGN_EBADSIG otherwise. */
SIGN_EXTERN SIGN_WARN_UNUSED int sign_key_verify(const sign_key *key, const void *msg, size_t msglen,
                                                 const unsigned char *sig, size_t siglen);

#ifdef __cplusplus
}
#endif
#endif
