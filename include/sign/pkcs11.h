/* signet — keys and certificates in PKCS#11 tokens and HSMs (RFC 7512 URIs). */
#ifndef SIGN_PKCS11_H
#define SIGN_PKCS11_H

#include "common.h"
#include "key.h"
#include "x509.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The URI's pin-value is used; without this flag a URI carrying one is refused (SIGN_EINVAL). */
#define SIGN_PKCS11_ALLOW_PIN_IN_URI 0x1u

typedef struct sign_pkcs11_options {
    unsigned int version;
    const char *module;        /* the module (a .so path) when the URI has no module-path, or NULL */
    sign_passphrase_cb pin_cb; /* asked for the user PIN (confirm 0) when the token needs a login; NULL: none */
    void *pin_userdata;
    unsigned int flags; /* SIGN_PKCS11_ALLOW_PIN_IN_URI */
} sign_pkcs11_options;

#define SIGN_PKCS11_OPTIONS_VERSION 1
#define SIGN_PKCS11_OPTIONS_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_PKCS11_OPTIONS_VERSION)

/*
 * A parsed RFC 7512 URI (sign_pkcs11_uri_parse). Text attributes are
 * percent-decoded, NUL-free and NULL when absent; id is binary (id_len
 * bytes, has_id says whether it was given). slot_id is valid when
 * has_slot_id. pin_value is wiped by sign_pkcs11_uri_free.
 */
typedef struct sign_pkcs11_uri {
    char *token, *manufacturer, *serial, *model;
    char *object, *type; /* type: "private", "public", "cert", "secret-key" or "data" */
    unsigned char *id;
    size_t id_len;
    int has_id;
    unsigned long slot_id;
    int has_slot_id;
    char *slot_description, *slot_manufacturer;
    char *library_manufacturer, *library_description, *library_version;
    char *module_path, *module_name, *pin_value, *pin_source;
} sign_pkcs11_uri;

/*
 * Parse an RFC 7512 URI ("pkcs11:" path attributes separated by ';', then
 * '?' and query attributes separated by '&'). Unknown or repeated
 * attributes, bad percent-encoding, NUL bytes in text and oversize input
 * (4 KiB) are SIGN_EPARSE. *out is freed with sign_pkcs11_uri_free.
 */
SIGN_EXTERN int sign_pkcs11_uri_parse(sign_pkcs11_uri **out, const char *uri);
SIGN_EXTERN void sign_pkcs11_uri_free(sign_pkcs11_uri *u);

/*
 * Open the token the URI names, log in (the PIN from the URI's pin-value
 * when allowed, else opts->pin_cb) and find the one private key object it
 * names. The public key is read from the token; key ids are those of the
 * same key in a file. *out signs through the token (sign_key_sign; the key
 * never leaves it) and holds one session, logged out and closed by
 * sign_key_free. Errors name the URI and the cause: SIGN_ENOTFOUND (no
 * token or object, no module), SIGN_EINVAL (several match, bad module),
 * SIGN_EPASSPHRASE (wrong, missing or locked PIN), SIGN_EUNSUPPORTED (key
 * type), SIGN_ECRYPTO (the module failed, with the function and CKR code).
 */
SIGN_EXTERN int sign_pkcs11_key_load(sign_key **out, const char *uri, const sign_pkcs11_options *opts);

/* The one certificate object the URI names (CKA_VALUE, DER). */
SIGN_EXTERN int sign_pkcs11_certs_load(sign_x509_certs **out, const char *uri, const sign_pkcs11_options *opts);

/*
 * Generate a key pair on the token the URI names, labelled with the URI's
 * object (required) and its id (or 16 random bytes): the private key is
 * CKA_SENSITIVE and not CKA_EXTRACTABLE. An existing object with that label
 * is SIGN_EEXISTS. *out is the public key (no private half). bits: RSA only
 * (0: 3072).
 */
SIGN_EXTERN int sign_pkcs11_keygen(sign_key **out, const char *uri, sign_key_type type, unsigned int bits,
                                   const sign_pkcs11_options *opts);

/* One row of sign_pkcs11_list. */
typedef struct sign_pkcs11_entry {
    char *uri;                   /* a URI naming it (without module-path) */
    const char *kind;            /* "token", "private", "public" or "cert" */
    char *label;                 /* token label or object label (may be "") */
    char *key_type;              /* "ed25519", ... or NULL (unknown, tokens) */
    char keyid[SIGN_KEYID_SIZE]; /* "" when unknown */
} sign_pkcs11_entry;

/*
 * The tokens of module (or opts->module) and their key and certificate
 * objects. Logs in only when opts->pin_cb is set (private objects are
 * hidden otherwise). Free with sign_pkcs11_list_free.
 */
SIGN_EXTERN int sign_pkcs11_list(sign_pkcs11_entry **out, size_t *nout, const char *module,
                                 const sign_pkcs11_options *opts);
SIGN_EXTERN void sign_pkcs11_list_free(sign_pkcs11_entry *list, size_t n);

#ifdef __cplusplus
}
#endif
#endif
