/*
 * The one boundary with the PKCS#11 C API (headers from p11-kit; the module
 * loaded with dlopen). Every CK_RV is translated here into a SIGN_E* code
 * and a message naming the URI, the function and the CKR code. A token key
 * is a sign_key whose signing goes through the token (key.c's backend):
 * the session is opened once, logged in once, and logged out and closed by
 * sign_key_free; the PIN is wiped as soon as C_Login has it.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include "sign/pkcs11.h"
#include "pki.h"

/* Largest attribute read (a certificate, an RSA modulus). */
#define ATTR_MAX (64u * 1024u)
/* Most slots and objects looked at. */
#define SLOTS_MAX 1024
#define OBJECTS_MAX 4096
/* Longest PIN asked from the callback. */
#define PIN_MAX 256
/* Longer than any signature of a supported key. */
#define SIG_BUF 4096

struct module {
    void *dl;
    CK_FUNCTION_LIST *f;
    int finalize; /* we initialised it: C_Finalize on close */
};

/* An open session on one token: the backend context of a token key. */
struct token {
    struct module mod;
    CK_SESSION_HANDLE session;
    int has_session, logged_in;
    CK_OBJECT_HANDLE key;
    CK_TOKEN_INFO info;
    char *what; /* the URI without its query (never a PIN), safe to print */
};

/* ---- errors -------------------------------------------------------------- */

static const char *rv_name(CK_RV rv)
{
    switch (rv) {
    case CKR_OK: return "CKR_OK";
    case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
    case CKR_SLOT_ID_INVALID: return "CKR_SLOT_ID_INVALID";
    case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
    case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
    case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
    case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
    case CKR_ATTRIBUTE_TYPE_INVALID: return "CKR_ATTRIBUTE_TYPE_INVALID";
    case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_DATA_LEN_RANGE: return "CKR_DATA_LEN_RANGE";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_DEVICE_MEMORY: return "CKR_DEVICE_MEMORY";
    case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
    case CKR_FUNCTION_NOT_SUPPORTED: return "CKR_FUNCTION_NOT_SUPPORTED";
    case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
    case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
    case CKR_KEY_FUNCTION_NOT_PERMITTED: return "CKR_KEY_FUNCTION_NOT_PERMITTED";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_MECHANISM_PARAM_INVALID: return "CKR_MECHANISM_PARAM_INVALID";
    case CKR_OPERATION_ACTIVE: return "CKR_OPERATION_ACTIVE";
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE";
    case CKR_PIN_EXPIRED: return "CKR_PIN_EXPIRED";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_SESSION_READ_ONLY: return "CKR_SESSION_READ_ONLY";
    case CKR_TEMPLATE_INCOMPLETE: return "CKR_TEMPLATE_INCOMPLETE";
    case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_TOKEN_NOT_RECOGNIZED: return "CKR_TOKEN_NOT_RECOGNIZED";
    case CKR_TOKEN_WRITE_PROTECTED: return "CKR_TOKEN_WRITE_PROTECTED";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
    case CKR_BUFFER_TOO_SMALL: return "CKR_BUFFER_TOO_SMALL";
    case CKR_CRYPTOKI_NOT_INITIALIZED: return "CKR_CRYPTOKI_NOT_INITIALIZED";
    case CKR_CRYPTOKI_ALREADY_INITIALIZED: return "CKR_CRYPTOKI_ALREADY_INITIALIZED";
    case CKR_DOMAIN_PARAMS_INVALID: return "CKR_DOMAIN_PARAMS_INVALID";
    default: return "CKR_VENDOR_OR_UNKNOWN";
    }
}

/* What the user should know about rv, and the SIGN_E* it is. */
static int rv_code(CK_RV rv, const char **hint)
{
    *hint = "";
    switch (rv) {
    case CKR_PIN_INCORRECT: *hint = ": wrong PIN"; return SIGN_EPASSPHRASE;
    case CKR_PIN_LEN_RANGE: *hint = ": wrong PIN (bad length)"; return SIGN_EPASSPHRASE;
    case CKR_PIN_EXPIRED: *hint = ": the PIN has expired; set a new one"; return SIGN_EPASSPHRASE;
    case CKR_PIN_LOCKED:
        *hint = ": the token is locked after too many wrong PINs; unlock it with the SO PIN";
        return SIGN_EPASSPHRASE;
    case CKR_USER_PIN_NOT_INITIALIZED: *hint = ": the token's user PIN is not set"; return SIGN_EPASSPHRASE;
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_REMOVED:
    case CKR_SLOT_ID_INVALID: *hint = ": the token is not there"; return SIGN_ENOTFOUND;
    case CKR_MECHANISM_INVALID:
    case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_DOMAIN_PARAMS_INVALID: *hint = ": the token does not support this"; return SIGN_EUNSUPPORTED;
    default: return SIGN_ECRYPTO;
    }
}

static int p11_error(CK_RV rv, const char *fn, const char *what)
{
    const char *hint;
    int code = rv_code(rv, &hint);

    return sign__error(code, "%s: %s failed: %s (0x%lx)%s", what, fn, rv_name(rv), (unsigned long)rv, hint);
}

/* ---- the module ---------------------------------------------------------- */

static void module_close(struct module *m)
{
    if (m->f != NULL && m->finalize) {
        (void)m->f->C_Finalize(NULL);
    }
    if (m->dl != NULL) {
        dlclose(m->dl);
    }
    memset(m, 0, sizeof(*m));
}

static int module_open(struct module *m, const char *path, const char *what)
{
    CK_C_INITIALIZE_ARGS args;
    CK_C_GetFunctionList getfl;
    struct stat st;
    void *sym;
    CK_RV rv;

    memset(m, 0, sizeof(*m));
    if (path == NULL || *path == '\0') {
        return sign__error(SIGN_ENOTFOUND,
                           "%s: no PKCS#11 module: give module-path in the URI, --pkcs11-module or "
                           "SIGNET_PKCS11_MODULE",
                           what);
    }
    if (strchr(path, '/') == NULL) {
        /* dlopen would search the library path for a bare name, not the file that was checked */
        return sign__error(SIGN_EINVAL, "%s: give the PKCS#11 module as a path (./%.200s or /usr/lib/...)", what,
                           path);
    }
    if (stat(path, &st) != 0) {
        return sign__error(SIGN_ENOTFOUND, "%s: PKCS#11 module %.512s does not exist", what, path);
    }
    if (!S_ISREG(st.st_mode)) {
        return sign__error(SIGN_EINVAL, "%s: PKCS#11 module %.512s is not a regular file", what, path);
    }
    /*
     * RTLD_NODELETE: dlclose drops the reference but leaves the code mapped. Modules start threads and
     * register exit handlers (SoftHSM2, OpenSC do) that must not outlive their code.
     */
    if ((m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) == NULL) {
        const char *e = dlerror();

        return sign__error(SIGN_EINVAL, "%s: %.512s is not a loadable PKCS#11 module (%.200s)", what, path,
                           e != NULL ? e : "dlopen failed");
    }
    sym = dlsym(m->dl, "C_GetFunctionList");
    if (sym == NULL) {
        module_close(m);
        return sign__error(SIGN_EINVAL, "%s: %.512s is not a PKCS#11 module (no C_GetFunctionList)", what, path);
    }
    memcpy(&getfl, &sym, sizeof(getfl));
    if ((rv = getfl(&m->f)) != CKR_OK || m->f == NULL) {
        module_close(m);
        return p11_error(rv != CKR_OK ? rv : CKR_GENERAL_ERROR, "C_GetFunctionList", what);
    }
    if (m->f->version.major != 2 && m->f->version.major != 3) {
        unsigned int major = m->f->version.major;

        module_close(m);
        return sign__error(SIGN_EUNSUPPORTED, "%s: %.512s speaks PKCS#11 %u, not 2.x or 3.x", what, path, major);
    }
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    rv = m->f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        module_close(m);
        return p11_error(rv, "C_Initialize", what);
    }
    m->finalize = rv == CKR_OK;
    return 0;
}

/* ---- tokens -------------------------------------------------------------- */

/* A fixed-size blank-padded CK_UTF8CHAR field equals want. */
static int padded_eq(const unsigned char *field, size_t size, const char *want)
{
    size_t n = size;

    while (n > 0 && (field[n - 1] == ' ' || field[n - 1] == '\0')) {
        n--;
    }
    return strlen(want) == n && memcmp(field, want, n) == 0;
}

static int token_matches(const CK_SLOT_INFO *si, const CK_TOKEN_INFO *ti, const sign_pkcs11_uri *u)
{
    return (u->token == NULL || padded_eq(ti->label, sizeof(ti->label), u->token)) &&
           (u->manufacturer == NULL || padded_eq(ti->manufacturerID, sizeof(ti->manufacturerID), u->manufacturer)) &&
           (u->serial == NULL || padded_eq(ti->serialNumber, sizeof(ti->serialNumber), u->serial)) &&
           (u->model == NULL || padded_eq(ti->model, sizeof(ti->model), u->model)) &&
           (u->slot_description == NULL ||
            padded_eq(si->slotDescription, sizeof(si->slotDescription), u->slot_description)) &&
           (u->slot_manufacturer == NULL ||
            padded_eq(si->manufacturerID, sizeof(si->manufacturerID), u->slot_manufacturer));
}

/* The slots with a token; *out malloc'd. */
static int slot_list(CK_SLOT_ID **out, CK_ULONG *n, struct module *m, const char *what)
{
    CK_SLOT_ID *slots = NULL;
    CK_ULONG count = 0;
    CK_RV rv;

    *out = NULL;
    *n = 0;
    if ((rv = m->f->C_GetSlotList(CK_TRUE, NULL, &count)) != CKR_OK) {
        return p11_error(rv, "C_GetSlotList", what);
    }
    if (count > SLOTS_MAX) {
        return sign__error(SIGN_ELIMIT, "%s: the module reports %lu slots (at most %d are read)", what,
                           (unsigned long)count, SLOTS_MAX);
    }
    if ((slots = calloc(count + 1, sizeof(*slots))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if ((rv = m->f->C_GetSlotList(CK_TRUE, slots, &count)) != CKR_OK) {
        free(slots);
        return p11_error(rv, "C_GetSlotList", what);
    }
    *out = slots;
    *n = count;
    return 0;
}

static int library_matches(struct module *m, const sign_pkcs11_uri *u, const char *what)
{
    CK_INFO info;
    char ver[32];
    CK_RV rv;

    if (u->library_manufacturer == NULL && u->library_description == NULL && u->library_version == NULL) {
        return 0;
    }
    if ((rv = m->f->C_GetInfo(&info)) != CKR_OK) {
        return p11_error(rv, "C_GetInfo", what);
    }
    snprintf(ver, sizeof(ver), "%u.%u", info.libraryVersion.major, info.libraryVersion.minor);
    if ((u->library_manufacturer != NULL &&
         !padded_eq(info.manufacturerID, sizeof(info.manufacturerID), u->library_manufacturer)) ||
        (u->library_description != NULL &&
         !padded_eq(info.libraryDescription, sizeof(info.libraryDescription), u->library_description)) ||
        (u->library_version != NULL && strcmp(ver, u->library_version) != 0)) {
        return sign__error(SIGN_ENOTFOUND, "%s: the module's library-* attributes do not match the URI", what);
    }
    return 0;
}

/* The one slot whose token the URI names. */
static int find_slot(CK_SLOT_ID *out, struct token *t, const sign_pkcs11_uri *u)
{
    CK_SLOT_ID *slots = NULL;
    CK_ULONG n = 0;
    size_t matches = 0;
    int r;

    if ((r = library_matches(&t->mod, u, t->what)) != 0 || (r = slot_list(&slots, &n, &t->mod, t->what)) != 0) {
        return r;
    }
    for (CK_ULONG i = 0; i < n; i++) {
        CK_SLOT_INFO si;
        CK_TOKEN_INFO ti;

        if (u->has_slot_id && slots[i] != u->slot_id) {
            continue;
        }
        if (t->mod.f->C_GetSlotInfo(slots[i], &si) != CKR_OK || t->mod.f->C_GetTokenInfo(slots[i], &ti) != CKR_OK) {
            continue; /* a slot that went away is not the one meant */
        }
        if ((ti.flags & CKF_TOKEN_INITIALIZED) == 0 || !token_matches(&si, &ti, u)) {
            continue;
        }
        if (matches++ == 0) {
            *out = slots[i];
            t->info = ti;
        }
    }
    free(slots);
    if (matches == 0) {
        return sign__error(SIGN_ENOTFOUND,
                           "%s: no token matches (%lu token%s present; `signet pkcs11 list` shows them)", t->what,
                           (unsigned long)n, n == 1 ? "" : "s");
    }
    if (matches > 1) {
        return sign__error(SIGN_EINVAL, "%s: %zu tokens match; add token=, serial= or slot-id= to the URI", t->what,
                           matches);
    }
    return 0;
}

/* ---- the PIN --------------------------------------------------------------- */

static int login(struct token *t, const sign_pkcs11_uri *u, const sign_pkcs11_options *opts)
{
    char pin[PIN_MAX];
    int n = -1;
    CK_RV rv;

    if ((t->info.flags & CKF_LOGIN_REQUIRED) == 0) {
        return 0;
    }
    if (t->info.flags & CKF_USER_PIN_LOCKED) {
        return sign__error(SIGN_EPASSPHRASE,
                           "%s: the token is locked after too many wrong PINs; unlock it with the SO PIN", t->what);
    }
    if (u->pin_value == NULL && (t->info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0) {
        /* a PIN pad or a fingerprint reader on the token: it asks, not signet */
        rv = t->mod.f->C_Login(t->session, CKU_USER, NULL, 0);
        if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
            return p11_error(rv, "C_Login", t->what);
        }
        t->logged_in = rv == CKR_OK;
        return 0;
    }
    if (u->pin_value != NULL) {
        size_t len = strlen(u->pin_value);

        if (len > sizeof(pin)) {
            return sign__error(SIGN_EPASSPHRASE, "%s: the PIN is longer than %d bytes", t->what, PIN_MAX);
        }
        memcpy(pin, u->pin_value, len);
        n = (int)len;
    } else if (opts->pin_cb != NULL) {
        n = opts->pin_cb(pin, sizeof(pin), 0, opts->pin_userdata);
    }
    if (n < 0 || (size_t)n > sizeof(pin)) {
        OPENSSL_cleanse(pin, sizeof(pin));
        return sign__error(SIGN_EPASSPHRASE,
                           "%s: the token needs a PIN and none was given (SIGNET_PKCS11_PIN, --pin-file or the "
                           "terminal)",
                           t->what);
    }
    rv = t->mod.f->C_Login(t->session, CKU_USER, (CK_UTF8CHAR *)pin, (CK_ULONG)n);
    OPENSSL_cleanse(pin, sizeof(pin));
    if (rv == CKR_USER_ALREADY_LOGGED_IN) {
        return 0; /* another session of ours did: that one logs out */
    }
    if (rv != CKR_OK) {
        return p11_error(rv, "C_Login", t->what);
    }
    t->logged_in = 1;
    return 0;
}

/* ---- open and close -------------------------------------------------------- */

static void token_close(struct token *t)
{
    if (t == NULL) {
        return;
    }
    if (t->logged_in) {
        (void)t->mod.f->C_Logout(t->session);
    }
    if (t->has_session) {
        (void)t->mod.f->C_CloseSession(t->session);
    }
    module_close(&t->mod);
    free(t->what);
    OPENSSL_cleanse(t, sizeof(*t));
    free(t);
}

/* The URI as printed in messages: up to its query (a pin-value is never printed), made safe. */
static char *uri_what(const char *uri)
{
    const char *q = strchr(uri, '?');
    size_t n = q != NULL ? (size_t)(q - uri) : strlen(uri);
    char *cut, *safe;

    if (n > 512) {
        n = 512;
    }
    if ((cut = malloc(n + 1)) == NULL) {
        return NULL;
    }
    memcpy(cut, uri, n);
    cut[n] = '\0';
    safe = sign_text_safe(cut);
    free(cut);
    return safe;
}

static int check_uri_secrets(const sign_pkcs11_uri *u, const sign_pkcs11_options *opts, const char *what)
{
    if (u->pin_value != NULL && (opts->flags & SIGN_PKCS11_ALLOW_PIN_IN_URI) == 0) {
        return sign__error(SIGN_EINVAL,
                           "%s: the URI carries pin-value; a PIN in a URI ends up in shell history and process "
                           "lists: use SIGNET_PKCS11_PIN or --pin-file (or --allow-pin-in-uri)",
                           what);
    }
    if (u->pin_source != NULL) {
        return sign__error(SIGN_EUNSUPPORTED, "%s: pin-source is not supported; use --pin-file", what);
    }
    if (u->module_name != NULL && u->module_path == NULL) {
        return sign__error(SIGN_EUNSUPPORTED,
                           "%s: module-name is not supported; give module-path, --pkcs11-module or "
                           "SIGNET_PKCS11_MODULE",
                           what);
    }
    return 0;
}

/*
 * Parse uri, load its module, find its token, open a session (rw for
 * keygen) and, with do_login, log in. *out_uri is the parsed URI.
 */
static int token_open(struct token **out, sign_pkcs11_uri **out_uri, const char *uri, const sign_pkcs11_options *opts,
                      int rw, int do_login)
{
    static const sign_pkcs11_options none = SIGN_PKCS11_OPTIONS_INIT;
    sign_pkcs11_uri *u = NULL;
    struct token *t = NULL;
    CK_SLOT_ID slot = 0;
    CK_RV rv;
    int r;

    *out = NULL;
    *out_uri = NULL;
    if (opts == NULL) {
        opts = &none;
    }
    if ((r = sign__check_version(opts->version, SIGN_PKCS11_OPTIONS_VERSION, "sign_pkcs11_options")) != 0) {
        return r;
    }
    if ((r = sign_pkcs11_uri_parse(&u, uri)) != 0) {
        return r;
    }
    if ((t = calloc(1, sizeof(*t))) == NULL || (t->what = uri_what(uri)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    if ((r = check_uri_secrets(u, opts, t->what)) != 0 ||
        (r = module_open(&t->mod, u->module_path != NULL ? u->module_path : opts->module, t->what)) != 0 ||
        (r = find_slot(&slot, t, u)) != 0) {
        goto out;
    }
    rv = t->mod.f->C_OpenSession(slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), NULL, NULL, &t->session);
    if (rv != CKR_OK) {
        r = p11_error(rv, "C_OpenSession", t->what);
        goto out;
    }
    t->has_session = 1;
    if (do_login && (r = login(t, u, opts)) != 0) {
        goto out;
    }
    *out = t;
    *out_uri = u; /* transferred */
    return 0;
out:
    token_close(t);
    sign_pkcs11_uri_free(u);
    return r != 0 ? r : SIGN_ERROR; /* sign__error() never returns 0: said for the analyzer */
}

/* ---- objects and attributes ------------------------------------------------- */

/* An attribute's value, malloc'd (one NUL byte after it). */
static int get_attr(unsigned char **out, size_t *len, struct token *t, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
                    const char *name)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    const char *hint = "";
    unsigned char *buf;
    int code;
    CK_RV rv;

    *out = NULL;
    *len = 0;
    if ((rv = t->mod.f->C_GetAttributeValue(t->session, h, &a, 1)) != CKR_OK) {
        code = rv_code(rv, &hint);
        return sign__error(code, "%s: C_GetAttributeValue(%s) failed: %s (0x%lx)%s", t->what, name, rv_name(rv),
                           (unsigned long)rv, rv == CKR_ATTRIBUTE_SENSITIVE ? ": it never leaves the token" : hint);
    }
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > ATTR_MAX) {
        return sign__error(SIGN_ELIMIT, "%s: attribute %s is unavailable or larger than %u bytes", t->what, name,
                           ATTR_MAX);
    }
    if ((buf = calloc(1, a.ulValueLen + 1)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    a.pValue = buf;
    if ((rv = t->mod.f->C_GetAttributeValue(t->session, h, &a, 1)) != CKR_OK || a.ulValueLen > ATTR_MAX) {
        free(buf);
        return sign__error(SIGN_ECRYPTO, "%s: C_GetAttributeValue(%s) failed: %s (0x%lx)", t->what, name, rv_name(rv),
                           (unsigned long)rv);
    }
    *out = buf;
    *len = a.ulValueLen;
    return 0;
}

static int get_ulong(CK_ULONG *out, struct token *t, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, const char *name)
{
    CK_ATTRIBUTE a = {type, out, sizeof(*out)};
    CK_RV rv;

    *out = 0;
    if ((rv = t->mod.f->C_GetAttributeValue(t->session, h, &a, 1)) != CKR_OK) {
        return sign__error(SIGN_ECRYPTO, "%s: C_GetAttributeValue(%s) failed: %s (0x%lx)", t->what, name, rv_name(rv),
                           (unsigned long)rv);
    }
    return 0;
}

static const char *class_name(CK_OBJECT_CLASS cls)
{
    switch (cls) {
    case CKO_PRIVATE_KEY: return "private key";
    case CKO_PUBLIC_KEY: return "public key";
    case CKO_CERTIFICATE: return "certificate";
    default: return "object";
    }
}

/*
 * The objects of class cls with the label and id given (either may be
 * NULL), at most max of them, into hs; *n how many (max + 1 means more).
 */
static int find_objects(CK_OBJECT_HANDLE *hs, CK_ULONG max, CK_ULONG *n, struct token *t, CK_OBJECT_CLASS cls,
                        const char *label, const unsigned char *id, size_t idlen)
{
    CK_ATTRIBUTE tmpl[3];
    CK_ULONG nt = 0, got = 0;
    CK_RV rv;

    *n = 0;
    tmpl[nt++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof(cls)};
    if (label != NULL) {
        tmpl[nt++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)label, strlen(label)};
    }
    if (id != NULL) {
        tmpl[nt++] = (CK_ATTRIBUTE){CKA_ID, (void *)id, idlen};
    }
    if ((rv = t->mod.f->C_FindObjectsInit(t->session, tmpl, nt)) != CKR_OK) {
        return p11_error(rv, "C_FindObjectsInit", t->what);
    }
    rv = t->mod.f->C_FindObjects(t->session, hs, max, &got);
    (void)t->mod.f->C_FindObjectsFinal(t->session);
    if (rv != CKR_OK) {
        return p11_error(rv, "C_FindObjects", t->what);
    }
    *n = got;
    return 0;
}

/* The one object of class cls that the URI names. */
static int find_one(CK_OBJECT_HANDLE *out, struct token *t, CK_OBJECT_CLASS cls, const sign_pkcs11_uri *u)
{
    static const struct {
        const char *type;
        CK_OBJECT_CLASS cls;
    } types[] = {{"private", CKO_PRIVATE_KEY}, {"public", CKO_PUBLIC_KEY}, {"cert", CKO_CERTIFICATE}};
    CK_OBJECT_HANDLE hs[2];
    CK_ULONG n = 0;
    int r;

    for (size_t i = 0; u->type != NULL && i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(u->type, types[i].type) == 0 && types[i].cls != cls) {
            return sign__error(SIGN_EINVAL, "%s: type=%s does not name a %s", t->what, u->type, class_name(cls));
        }
    }
    if (u->object == NULL && !u->has_id) {
        return sign__error(SIGN_EINVAL, "%s: the URI names no object (add object= or id=)", t->what);
    }
    if ((r = find_objects(hs, 2, &n, t, cls, u->object, u->has_id ? u->id : NULL, u->id_len)) != 0) {
        return r;
    }
    if (n == 0) {
        return sign__error(SIGN_ENOTFOUND, "%s: no %s object on the token matches%s", t->what, class_name(cls),
                           t->logged_in || (t->info.flags & CKF_LOGIN_REQUIRED) == 0 ? "" : " (not logged in)");
    }
    if (n > 1) {
        return sign__error(SIGN_EINVAL, "%s: more than one %s object matches; add id= to the URI", t->what,
                           class_name(cls));
    }
    *out = hs[0];
    return 0;
}

/* ---- public keys ------------------------------------------------------------ */

static const unsigned char oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const unsigned char oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const unsigned char str_ed25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'};

#define SAME(p, n, arr) ((n) == sizeof(arr) && memcmp((p), (arr), sizeof(arr)) == 0)

/* CKA_EC_POINT: a DER OCTET STRING holding the point (as the standard says) or, from some modules, the bare point. */
static int ec_point(const unsigned char **pt, size_t *ptlen, const unsigned char *v, size_t n, size_t want)
{
    if (n == want + 2 && v[0] == 0x04 && v[1] == want && want < 128) {
        *pt = v + 2;
        *ptlen = want;
        return 1;
    }
    if (n == want + 3 && v[0] == 0x04 && v[1] == 0x81 && v[2] == want) {
        *pt = v + 3;
        *ptlen = want;
        return 1;
    }
    if (n == want) {
        *pt = v;
        *ptlen = want;
        return 1;
    }
    return 0;
}

static int ec_pkey(EVP_PKEY **out, const char *group, const unsigned char *pt, size_t ptlen)
{
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx;
    int ok;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, ptlen);
    params[2] = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    ok = ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
         EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static int rsa_pkey(EVP_PKEY **out, const unsigned char *mod, size_t modlen, const unsigned char *exp, size_t explen)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *n = BN_bin2bn(mod, (int)modlen, NULL), *e = BN_bin2bn(exp, (int)explen, NULL);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    int ok = bld != NULL && n != NULL && e != NULL && ctx != NULL &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1 &&
             (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
             EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1;

    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* The EC or Ed25519 public key from CKA_EC_PARAMS and CKA_EC_POINT. */
static int ec_public(EVP_PKEY **out, const unsigned char *par, size_t parlen, const unsigned char *v, size_t n)
{
    const unsigned char *pt = NULL;
    size_t ptlen = 0;

    *out = NULL;
    if (SAME(par, parlen, oid_ed25519) || SAME(par, parlen, str_ed25519)) {
        if (!ec_point(&pt, &ptlen, v, n, 32)) {
            return 0;
        }
        *out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pt, ptlen);
        return *out != NULL;
    }
    if (SAME(par, parlen, oid_p256)) {
        return ec_point(&pt, &ptlen, v, n, 65) && ec_pkey(out, "prime256v1", pt, ptlen);
    }
    if (SAME(par, parlen, oid_p384)) {
        return ec_point(&pt, &ptlen, v, n, 97) && ec_pkey(out, "secp384r1", pt, ptlen);
    }
    return 0;
}

/*
 * CKA_EC_POINT of obj, or of the public key object with obj's CKA_ID (private
 * EC keys seldom carry the point); when several share the id, the one that
 * also has obj's label. The signature check after every C_Sign (key.c)
 * catches a module that pairs them wrongly.
 */
static int ec_point_of(unsigned char **out, size_t *len, struct token *t, CK_OBJECT_HANDLE obj)
{
    CK_OBJECT_HANDLE hs[2];
    unsigned char *id = NULL, *label = NULL;
    size_t idlen = 0, labellen = 0;
    CK_ULONG n = 0;
    int r;

    if (get_attr(out, len, t, obj, CKA_EC_POINT, "CKA_EC_POINT") == 0) {
        return 0;
    }
    sign__error_clear();
    if ((r = get_attr(&id, &idlen, t, obj, CKA_ID, "CKA_ID")) != 0) {
        return r;
    }
    r = find_objects(hs, 2, &n, t, CKO_PUBLIC_KEY, NULL, id, idlen);
    if (r == 0 && n > 1 && (r = get_attr(&label, &labellen, t, obj, CKA_LABEL, "CKA_LABEL")) == 0) {
        r = find_objects(hs, 2, &n, t, CKO_PUBLIC_KEY, (const char *)label, id, idlen);
    }
    free(id);
    free(label);
    if (r != 0) {
        return r;
    }
    if (n != 1) {
        return sign__error(SIGN_ENOTFOUND,
                           "%s: the public key of an EC key is read from the public key object with the same "
                           "CKA_ID (and label), and %s found",
                           t->what, n == 0 ? "none was" : "several were");
    }
    return get_attr(out, len, t, hs[0], CKA_EC_POINT, "CKA_EC_POINT");
}

/* The public key of obj (a private or public key object), as a sign_key without a private half. */
static int public_key(sign_key **out, struct token *t, CK_OBJECT_HANDLE obj)
{
    unsigned char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    EVP_PKEY *pkey = NULL;
    CK_KEY_TYPE kt = 0;
    int r, ok = 0;

    *out = NULL;
    if ((r = get_ulong(&kt, t, obj, CKA_KEY_TYPE, "CKA_KEY_TYPE")) != 0) {
        return r;
    }
    if (kt == CKK_RSA) {
        if ((r = get_attr(&a, &alen, t, obj, CKA_MODULUS, "CKA_MODULUS")) != 0 ||
            (r = get_attr(&b, &blen, t, obj, CKA_PUBLIC_EXPONENT, "CKA_PUBLIC_EXPONENT")) != 0) {
            goto out;
        }
        ok = rsa_pkey(&pkey, a, alen, b, blen);
    } else if (kt == CKK_EC || kt == CKK_EC_EDWARDS) {
        if ((r = get_attr(&a, &alen, t, obj, CKA_EC_PARAMS, "CKA_EC_PARAMS")) != 0 ||
            (r = ec_point_of(&b, &blen, t, obj)) != 0) {
            goto out;
        }
        if (!SAME(a, alen, oid_p256) && !SAME(a, alen, oid_p384) && !SAME(a, alen, oid_ed25519) &&
            !SAME(a, alen, str_ed25519)) {
            r = sign__error(SIGN_EUNSUPPORTED, "%s: the key's curve is not supported (ed25519, P-256 and P-384 are)",
                            t->what);
            goto out;
        }
        ok = ec_public(&pkey, a, alen, b, blen);
    } else {
        r = sign__error(SIGN_EUNSUPPORTED,
                        "%s: key type 0x%lx is not supported (ed25519, ecdsa-p256, ecdsa-p384 and rsa are)", t->what,
                        (unsigned long)kt);
        goto out;
    }
    if (!ok) {
        /* OpenSSL's key builders often queue nothing when an allocation fails: bytes that make a key the
           second time made none the first for lack of memory */
        EVP_PKEY *again = NULL;
        int twice = kt == CKK_RSA ? rsa_pkey(&again, a, alen, b, blen) : ec_public(&again, a, alen, b, blen);

        EVP_PKEY_free(again);
        r = twice ? sign__ossl_error(SIGN_ENOMEM, "%s: out of memory reading the token's public key", t->what)
                  : sign__ossl_error(SIGN_EPARSE, "%s: the token's public key cannot be read", t->what);
        goto out;
    }
    r = sign__key_adopt(out, pkey, 0, t->what);
out:
    free(a);
    free(b);
    return r;
}

/* ---- signing ------------------------------------------------------------------ */

/* ECDSA's raw r || s (as PKCS#11 returns it) as DER, the encoding signet and OpenSSL use. */
static int ecdsa_der(unsigned char **out, size_t *outlen, const unsigned char *rs, size_t n)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *br = BN_bin2bn(rs, (int)(n / 2), NULL), *bs = BN_bin2bn(rs + n / 2, (int)(n / 2), NULL);
    unsigned char *der = NULL;
    int len = -1;

    if (es != NULL && br != NULL && bs != NULL && ECDSA_SIG_set0(es, br, bs) == 1) {
        br = bs = NULL; /* transferred */
        len = i2d_ECDSA_SIG(es, &der);
    }
    BN_free(br);
    BN_free(bs);
    ECDSA_SIG_free(es);
    if (len <= 0) {
        return sign__ossl_error(SIGN_ECRYPTO, "cannot encode the ECDSA signature");
    }
    /* OPENSSL_malloc'd: copied so that the caller can free() it */
    if ((*out = malloc((size_t)len)) == NULL) {
        OPENSSL_free(der);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    memcpy(*out, der, (size_t)len);
    *outlen = (size_t)len;
    OPENSSL_free(der);
    return 0;
}

static int token_sign(void *ctx, sign_key_type type, const void *msg, size_t msglen, unsigned char **sig,
                      size_t *siglen)
{
    struct token *t = ctx;
    /* DER DigestInfo of a SHA-256 hash (RFC 8017 section 9.2, note 1): RSASSA-PKCS1-v1_5 through CKM_RSA_PKCS. */
    static const unsigned char sha256_info[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                                  0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    CK_MECHANISM mech = {CKM_EDDSA, NULL, 0};
    unsigned char md[sizeof(sha256_info) + EVP_MAX_MD_SIZE], buf[SIG_BUF];
    const unsigned char *data = msg;
    CK_ULONG len = sizeof(buf);
    unsigned int mdlen = 0;
    size_t half = 0;
    CK_RV rv;

    *sig = NULL;
    *siglen = 0;
    if (type != SIGN_KEY_ED25519) {
        const EVP_MD *h = type == SIGN_KEY_ECDSA_P384 ? EVP_sha384() : EVP_sha256();

        if (EVP_Digest(msg, msglen, md, &mdlen, h, NULL) != 1) {
            return sign__ossl_error(SIGN_ENOMEM, "out of memory (hashing for the token failed)"); /* built-in SHA-2 */
        }
        data = md;
        msglen = mdlen;
        mech = (CK_MECHANISM){CKM_ECDSA, NULL, 0};
        half = type == SIGN_KEY_ECDSA_P384 ? 48 : 32;
        if (type == SIGN_KEY_RSA) {
            /* PKCS#1 v1.5 with SHA-256, as sign_key_sign signs RSA (issue 19). */
            memmove(md + sizeof(sha256_info), md, mdlen);
            memcpy(md, sha256_info, sizeof(sha256_info));
            msglen = sizeof(sha256_info) + mdlen;
            mech = (CK_MECHANISM){CKM_RSA_PKCS, NULL, 0};
            half = 0;
        }
    }
    if ((rv = t->mod.f->C_SignInit(t->session, &mech, t->key)) != CKR_OK) {
        return p11_error(rv, "C_SignInit", t->what);
    }
    if ((rv = t->mod.f->C_Sign(t->session, (CK_BYTE *)data, (CK_ULONG)msglen, buf, &len)) != CKR_OK) {
        return p11_error(rv, "C_Sign", t->what);
    }
    if (len > sizeof(buf) || (half != 0 && len != 2 * half) || (type == SIGN_KEY_ED25519 && len != 64)) {
        return sign__error(SIGN_ECRYPTO, "%s: C_Sign returned a %s signature of %lu bytes", t->what,
                           sign_key_type_name(type), (unsigned long)len);
    }
    if (half != 0) {
        return ecdsa_der(sig, siglen, buf, len);
    }
    if ((*sig = malloc(len)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    memcpy(*sig, buf, len);
    *siglen = len;
    return 0;
}

static void token_free(void *ctx)
{
    token_close(ctx);
}

static const sign__key_backend token_backend = {token_sign, token_free};

/* A key that wants the PIN again for every signature (CKA_ALWAYS_AUTHENTICATE, PIV slot 9c) is refused. */
static int check_usable(struct token *t)
{
    CK_BBOOL always = CK_FALSE, can_sign = CK_TRUE;
    CK_ATTRIBUTE a[] = {{CKA_ALWAYS_AUTHENTICATE, &always, sizeof(always)}, {CKA_SIGN, &can_sign, sizeof(can_sign)}};

    for (size_t i = 0; i < 2; i++) {
        if (t->mod.f->C_GetAttributeValue(t->session, t->key, &a[i], 1) != CKR_OK) {
            a[i].ulValueLen = 0; /* not there: the defaults above */
        }
    }
    if (always == CK_TRUE) {
        return sign__error(SIGN_EUNSUPPORTED,
                           "%s: the key asks for the PIN at every signature (CKA_ALWAYS_AUTHENTICATE, e.g. PIV slot "
                           "9c), which signet does not support; use a key without it (PIV slot 9a)",
                           t->what);
    }
    if (can_sign != CK_TRUE) {
        return sign__error(SIGN_EUNSUPPORTED, "%s: the key may not sign (CKA_SIGN is false)", t->what);
    }
    return 0;
}

int sign_pkcs11_key_load(sign_key **out, const char *uri, const sign_pkcs11_options *opts)
{
    sign_pkcs11_uri *u = NULL;
    struct token *t = NULL;
    sign_key *k = NULL;
    int r;

    *out = NULL;
    if ((r = token_open(&t, &u, uri, opts, 0, 1)) != 0 || (r = find_one(&t->key, t, CKO_PRIVATE_KEY, u)) != 0 ||
        (r = check_usable(t)) != 0 || (r = public_key(&k, t, t->key)) != 0) {
        goto out;
    }
    sign__key_set_backend(k, &token_backend, t);
    t = NULL; /* transferred */
    *out = k;
    r = 0;
out:
    token_close(t);
    sign_pkcs11_uri_free(u);
    return r;
}

int sign_pkcs11_certs_load(sign_x509_certs **out, const char *uri, const sign_pkcs11_options *opts)
{
    sign_pkcs11_uri *u = NULL;
    struct token *t = NULL;
    CK_OBJECT_HANDLE h = 0;
    unsigned char *der = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    /* Certificates are public objects: no login, no PIN asked for them. */
    if ((r = token_open(&t, &u, uri, opts, 0, 0)) == 0 && (r = find_one(&h, t, CKO_CERTIFICATE, u)) == 0 &&
        (r = get_attr(&der, &len, t, h, CKA_VALUE, "CKA_VALUE")) == 0) {
        r = sign_x509_certs_parse(out, der, len, t->what);
    }
    free(der);
    token_close(t);
    sign_pkcs11_uri_free(u);
    return r;
}

/* ---- keygen ------------------------------------------------------------------- */

/* 1 when an object of any class carries label. */
static int label_taken(int *taken, struct token *t, const char *label)
{
    static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE, CKO_SECRET_KEY};
    CK_OBJECT_HANDLE h;
    CK_ULONG n = 0;
    int r;

    *taken = 0;
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        if ((r = find_objects(&h, 1, &n, t, classes[i], label, NULL, 0)) != 0) {
            return r;
        }
        *taken |= n > 0;
    }
    return 0;
}

struct gen_params {
    CK_MECHANISM mech;
    const unsigned char *ec_params;
    size_t ec_params_len;
    CK_ULONG bits;
};

static int gen_params(struct gen_params *g, sign_key_type type, unsigned int bits)
{
    memset(g, 0, sizeof(*g));
    switch (type) {
    case SIGN_KEY_ED25519:
        g->mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
        g->ec_params = oid_ed25519;
        g->ec_params_len = sizeof(oid_ed25519);
        return 0;
    case SIGN_KEY_ECDSA_P256:
    case SIGN_KEY_ECDSA_P384:
        g->mech.mechanism = CKM_EC_KEY_PAIR_GEN;
        g->ec_params = type == SIGN_KEY_ECDSA_P256 ? oid_p256 : oid_p384;
        g->ec_params_len = type == SIGN_KEY_ECDSA_P256 ? sizeof(oid_p256) : sizeof(oid_p384);
        return 0;
    case SIGN_KEY_RSA:
        if (bits != 0 && (bits < 2048 || bits > 16384)) {
            return sign__error(SIGN_EUNSUPPORTED, "RSA keys of %u bits are not supported (2048 to 16384)", bits);
        }
        g->mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
        g->bits = bits != 0 ? bits : 3072;
        return 0;
    }
    return sign__error(SIGN_EUNSUPPORTED, "unknown key type");
}

/* C_GenerateKeyPair with the private key sensitive and never extractable. */
static int generate(CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv, struct token *t, const struct gen_params *g,
                    const char *label, const unsigned char *id, size_t idlen)
{
    static const CK_BYTE e65537[] = {0x01, 0x00, 0x01};
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE pt[6], kt[8];
    CK_ULONG np = 0, nk = 0;
    CK_MECHANISM mech = g->mech;
    CK_RV rv;

    pt[np++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
    pt[np++] = (CK_ATTRIBUTE){CKA_VERIFY, &yes, sizeof(yes)};
    pt[np++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)label, strlen(label)};
    pt[np++] = (CK_ATTRIBUTE){CKA_ID, (void *)id, idlen};
    if (g->ec_params != NULL) {
        pt[np++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)g->ec_params, g->ec_params_len};
    } else {
        pt[np++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, (void *)&g->bits, sizeof(g->bits)};
        pt[np++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, (void *)e65537, sizeof(e65537)};
    }
    kt[nk++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
    kt[nk++] = (CK_ATTRIBUTE){CKA_PRIVATE, &yes, sizeof(yes)};
    kt[nk++] = (CK_ATTRIBUTE){CKA_SENSITIVE, &yes, sizeof(yes)};
    kt[nk++] = (CK_ATTRIBUTE){CKA_EXTRACTABLE, &no, sizeof(no)};
    kt[nk++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, sizeof(yes)};
    kt[nk++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)label, strlen(label)};
    kt[nk++] = (CK_ATTRIBUTE){CKA_ID, (void *)id, idlen};
    rv = t->mod.f->C_GenerateKeyPair(t->session, &mech, pt, np, kt, nk, pub, priv);
    if (rv != CKR_OK) {
        return p11_error(rv, "C_GenerateKeyPair", t->what);
    }
    return 0;
}

int sign_pkcs11_keygen(sign_key **out, const char *uri, sign_key_type type, unsigned int bits,
                       const sign_pkcs11_options *opts)
{
    sign_pkcs11_uri *u = NULL;
    struct token *t = NULL;
    struct gen_params g;
    CK_OBJECT_HANDLE pub = 0, priv = 0;
    unsigned char rid[16];
    int r, taken = 0, made = 0;

    *out = NULL;
    if ((r = gen_params(&g, type, bits)) != 0 || (r = token_open(&t, &u, uri, opts, 1, 1)) != 0) {
        goto out;
    }
    if (u->object == NULL || *u->object == '\0') {
        r = sign__error(SIGN_EINVAL, "%s: name the new key with object= in the URI", t->what);
        goto out;
    }
    if ((r = label_taken(&taken, t, u->object)) != 0) {
        goto out;
    }
    if (taken) {
        r = sign__error(SIGN_EEXISTS,
                        "%s: the token already has an object labelled \"%s\"; choose another object=", t->what,
                        u->object);
        goto out;
    }
    if (!u->has_id && RAND_bytes(rid, sizeof(rid)) != 1) {
        r = sign__ossl_error(SIGN_ECRYPTO, "no random bytes for the key's CKA_ID");
        goto out;
    }
    if ((r = generate(&pub, &priv, t, &g, u->object, u->has_id ? u->id : rid, u->has_id ? u->id_len : sizeof(rid))) !=
        0) {
        goto out;
    }
    made = 1;
    r = public_key(out, t, pub); /* the pair's own public object: no pairing by id */
out:
    if (r != 0 && made) {
        /* a key whose public half cannot be read is of no use: leave nothing behind */
        (void)t->mod.f->C_DestroyObject(t->session, priv);
        (void)t->mod.f->C_DestroyObject(t->session, pub);
    }
    token_close(t);
    sign_pkcs11_uri_free(u);
    return r;
}

/* ---- list ----------------------------------------------------------------------- */

struct list {
    sign_pkcs11_entry *e;
    size_t n, cap;
};

void sign_pkcs11_list_free(sign_pkcs11_entry *list, size_t n)
{
    for (size_t i = 0; list != NULL && i < n; i++) {
        free(list[i].uri);
        free(list[i].label);
        free(list[i].key_type);
    }
    free(list);
}

/* Append "name=" and the percent-encoded value to buf (size cap), returning the new length or cap on overflow. */
static size_t put_attr(char *buf, size_t cap, size_t used, const char *name, const unsigned char *v, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    int w = snprintf(buf + used, cap - used, "%s%s=", used > 7 ? ";" : "", name);

    if (w < 0 || (size_t)w >= cap - used) {
        return cap;
    }
    used += (size_t)w;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = v[i];
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '~';

        if (used + 4 > cap) {
            return cap;
        }
        if (plain) {
            buf[used++] = (char)c;
        } else {
            buf[used++] = '%';
            buf[used++] = hex[c >> 4];
            buf[used++] = hex[c & 15];
        }
    }
    buf[used] = '\0';
    return used;
}

static size_t padded_len(const unsigned char *field, size_t size)
{
    while (size > 0 && (field[size - 1] == ' ' || field[size - 1] == '\0')) {
        size--;
    }
    return size;
}

/* A new entry: the token's URI, then the object's label, id and type when obj is set. */
static int list_add(struct list *l, struct token *t, const char *kind, const unsigned char *label, size_t labellen,
                    const unsigned char *id, size_t idlen, const char *type)
{
    char uri[1024] = "pkcs11:";
    size_t used = 7;
    sign_pkcs11_entry *e;

    used = put_attr(uri, sizeof(uri), used, "token", t->info.label, padded_len(t->info.label, 32));
    used = put_attr(uri, sizeof(uri), used, "manufacturer", t->info.manufacturerID,
                    padded_len(t->info.manufacturerID, 32));
    used = put_attr(uri, sizeof(uri), used, "serial", t->info.serialNumber, padded_len(t->info.serialNumber, 16));
    if (type != NULL) {
        used = put_attr(uri, sizeof(uri), used, "object", label, labellen);
        used = put_attr(uri, sizeof(uri), used, "id", id, idlen);
        used = put_attr(uri, sizeof(uri), used, "type", (const unsigned char *)type, strlen(type));
    }
    if (used >= sizeof(uri)) {
        return sign__error(SIGN_ELIMIT, "%s: a URI would be longer than %zu bytes", t->what, sizeof(uri));
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        sign_pkcs11_entry *ne = realloc(l->e, cap * sizeof(*ne));

        if (ne == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        l->e = ne;
        l->cap = cap;
    }
    e = &l->e[l->n];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    if ((e->uri = sign__strdup(uri)) == NULL || (e->label = calloc(1, labellen + 1)) == NULL) {
        free(e->uri);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    memcpy(e->label, label, labellen);
    l->n++;
    return 0;
}

/* The key type and key id of the last entry, from key (freed). */
static int list_key(struct list *l, sign_key *key)
{
    sign_pkcs11_entry *e;
    int r = 0;

    if (l->e == NULL || l->n == 0) {
        sign_key_free(key);
        return SIGN_EINVAL; /* never: list_add made the entry */
    }
    e = &l->e[l->n - 1];

    if (key != NULL) {
        if ((e->key_type = sign__strdup(sign_key_type_name(sign_key_get_type(key)))) == NULL) {
            r = SIGN_ENOMEM;
        } else if (sign_key_id(e->keyid, sizeof(e->keyid), key) != 0) {
            e->keyid[0] = '\0';
        }
    }
    sign_key_free(key);
    sign__error_clear();
    return r;
}

static int list_object(struct list *l, struct token *t, CK_OBJECT_HANDLE h, CK_OBJECT_CLASS cls)
{
    unsigned char *label = NULL, *id = NULL, *der = NULL;
    size_t labellen = 0, idlen = 0, derlen = 0;
    sign_x509_certs *certs = NULL;
    sign_key *key = NULL;
    int r;

    (void)get_attr(&label, &labellen, t, h, CKA_LABEL, "CKA_LABEL");
    (void)get_attr(&id, &idlen, t, h, CKA_ID, "CKA_ID");
    r = list_add(l, t,
                 cls == CKO_CERTIFICATE  ? "cert"
                 : cls == CKO_PUBLIC_KEY ? "public"
                                         : "private",
                 label != NULL ? label : (const unsigned char *)"", labellen, id, idlen,
                 cls == CKO_CERTIFICATE  ? "cert"
                 : cls == CKO_PUBLIC_KEY ? "public"
                                         : "private");
    if (r == 0 && cls == CKO_CERTIFICATE) {
        if (get_attr(&der, &derlen, t, h, CKA_VALUE, "CKA_VALUE") == 0 &&
            sign_x509_certs_parse(&certs, der, derlen, t->what) == 0) {
            (void)sign_x509_certs_key(&key, certs, 0);
        }
    } else if (r == 0) {
        (void)public_key(&key, t, h);
    }
    if (r == 0 && (r = list_key(l, key)) != 0) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
    }
    sign_x509_certs_free(certs);
    free(der);
    free(label);
    free(id);
    return r;
}

static int list_token(struct list *l, struct token *t, const sign_pkcs11_options *opts)
{
    static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE};
    static const sign_pkcs11_uri nouri;
    CK_OBJECT_HANDLE *hs = NULL;
    CK_ULONG n = 0;
    int r;

    if ((r = list_add(l, t, "token", t->info.label, padded_len(t->info.label, 32), NULL, 0, NULL)) != 0) {
        return r;
    }
    if (opts->pin_cb != NULL && (r = login(t, &nouri, opts)) != 0) {
        return r;
    }
    if ((hs = calloc(OBJECTS_MAX, sizeof(*hs))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t c = 0; r == 0 && c < sizeof(classes) / sizeof(classes[0]); c++) {
        if ((r = find_objects(hs, OBJECTS_MAX, &n, t, classes[c], NULL, NULL, 0)) != 0) {
            break;
        }
        for (CK_ULONG i = 0; r == 0 && i < n; i++) {
            r = list_object(l, t, hs[i], classes[c]);
        }
    }
    free(hs);
    return r;
}

int sign_pkcs11_list(sign_pkcs11_entry **out, size_t *nout, const char *module, const sign_pkcs11_options *opts)
{
    static const sign_pkcs11_options none = SIGN_PKCS11_OPTIONS_INIT;
    struct list l = {NULL, 0, 0};
    CK_SLOT_ID *slots = NULL;
    struct token *t = NULL;
    CK_ULONG n = 0;
    int r;

    *out = NULL;
    *nout = 0;
    if (opts == NULL) {
        opts = &none;
    }
    if ((r = sign__check_version(opts->version, SIGN_PKCS11_OPTIONS_VERSION, "sign_pkcs11_options")) != 0) {
        return r;
    }
    if ((t = calloc(1, sizeof(*t))) == NULL || (t->what = sign__strdup("pkcs11 list")) == NULL) {
        free(t);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if ((r = module_open(&t->mod, module != NULL ? module : opts->module, t->what)) != 0 ||
        (r = slot_list(&slots, &n, &t->mod, t->what)) != 0) {
        goto out;
    }
    for (CK_ULONG i = 0; i < n && r == 0; i++) {
        CK_RV rv;

        if (t->mod.f->C_GetTokenInfo(slots[i], &t->info) != CKR_OK || (t->info.flags & CKF_TOKEN_INITIALIZED) == 0) {
            continue;
        }
        if ((rv = t->mod.f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &t->session)) != CKR_OK) {
            r = p11_error(rv, "C_OpenSession", t->what);
            break;
        }
        t->has_session = 1;
        r = list_token(&l, t, opts);
        if (t->logged_in) {
            (void)t->mod.f->C_Logout(t->session);
        }
        (void)t->mod.f->C_CloseSession(t->session);
        t->logged_in = t->has_session = 0;
    }
    if (r == 0) {
        *out = l.e;
        *nout = l.n;
        l.e = NULL; /* transferred */
    }
out:
    sign_pkcs11_list_free(l.e, l.n);
    free(slots);
    token_close(t);
    return r;
}
