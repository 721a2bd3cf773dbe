/*
 * PKCS#11 tokens (issue 20), with SoftHSM2 as the token: a fresh token in a
 * temporary SOFTHSM2_CONF directory per test (never the system's token
 * directory). The RFC 7512 URI parser, keygen on the token, signing with
 * every key type and verifying with signet, a threshold of a file key and a
 * token key, the non-extractable check, and every error case: exit 2, one
 * line naming the URI and the cause, nothing written.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>
#include <unistd.h>

#include "pkigen.h"
#include "sign/sign.h"
#include "testutil.h"
#include "tsautil.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define PIN "1234"
#define SO_PIN "5678"

static char *p_dir;
static char *p_paths[64];
static size_t p_npaths;
static char *p_out, *p_err;
static char p_conf_env[600], p_module_env[600], p_pin_env[64];

static const char *pp(const char *name)
{
    cr_assert_lt(p_npaths, sizeof(p_paths) / sizeof(p_paths[0]));
    p_paths[p_npaths] = tu_path(p_dir, name);
    return p_paths[p_npaths++];
}

/*
 * The environment of every run: the test's token, SoftHSM2 as the module, the PIN. Under the sanitizers,
 * the slow unwinder, so that LeakSanitizer sees SoftHSM2's own frames through libcrypto (which has no
 * frame pointers) and tests/lsan.supp can name the module's leak.
 */
static const char *const *p_env(const char *pin)
{
    static const char *env[5];
    static char asan[512];
    const char *a = getenv("ASAN_OPTIONS");
    size_t n = 0;

    snprintf(p_pin_env, sizeof(p_pin_env), "SIGNET_PKCS11_PIN=%s", pin);
    env[n++] = p_conf_env;
    env[n++] = p_module_env;
    if (a != NULL) {
        snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s:fast_unwind_on_malloc=0", a);
        env[n++] = asan;
    }
    if (pin != NULL) {
        env[n++] = p_pin_env;
    }
    env[n] = NULL;
    return env;
}

static int p_runv(const char *const *env, const char *arg0, ...)
{
    const char *argv[64];
    size_t n = 0;
    va_list ap;

    free(p_out);
    free(p_err);
    p_out = p_err = NULL;
    argv[n++] = arg0;
    va_start(ap, arg0);
    while ((argv[n] = va_arg(ap, const char *)) != NULL) {
        n++;
        cr_assert_lt(n, 63);
    }
    va_end(ap);
    return tu_run(&p_out, &p_err, env, argv);
}

#define RUN(...) p_runv(p_env(PIN), "signet", __VA_ARGS__, (const char *)NULL)
#define RUN_PIN(pin, ...) p_runv(p_env(pin), "signet", __VA_ARGS__, (const char *)NULL)
#define TOOL(...) p_runv(p_env(NULL), __VA_ARGS__, (const char *)NULL)

static void p_init_token(const char *label)
{
    cr_assert_eq(
        TOOL("/usr/bin/softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SO_PIN),
        0, "softhsm2-util: %s%s", p_out, p_err);
}

static void p_setup(void)
{
    char conf[1024];

    p_dir = tu_mkdtemp();
    p_npaths = 0;
    snprintf(conf, sizeof(conf), "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
             p_dir);
    tu_write_str(pp("softhsm2.conf"), conf);
    cr_assert_eq(TOOL("/bin/mkdir", pp("tokens")), 0);
    snprintf(p_conf_env, sizeof(p_conf_env), "SOFTHSM2_CONF=%s/softhsm2.conf", p_dir);
    snprintf(p_module_env, sizeof(p_module_env), "SIGNET_PKCS11_MODULE=%s", SOFTHSM);
    /* for the in-process checks (each test is its own process) */
    cr_assert_eq(setenv("SOFTHSM2_CONF", strchr(p_conf_env, '=') + 1, 1), 0);
    p_init_token("release");
    tu_write_str(pp("a.txt"), "the artifact\n");
}

static void p_teardown(void)
{
    tu_rmtree(p_dir);
    free(p_dir);
    for (size_t i = 0; i < p_npaths; i++) {
        free(p_paths[i]);
    }
    p_npaths = 0;
    free(p_out);
    free(p_err);
    p_out = p_err = NULL;
}

static size_t p_lines(const char *s)
{
    size_t n = 0;

    for (; s != NULL && *s; s++) {
        n += *s == '\n';
    }
    return n;
}

/* The error contract: exit 2, one line on stderr naming the URI (or what) and the cause, no bundle. */
static void p_assert_refused(int rc, const char *names, const char *cause, const char *bundle)
{
    cr_assert_eq(rc, 2, "exit %d: %s%s", rc, p_out, p_err);
    cr_assert_eq(p_lines(p_err), 1, "one line on stderr: %s", p_err);
    cr_assert_not_null(strstr(p_err, names), "stderr names %s: %s", names, p_err);
    cr_assert_not_null(strstr(p_err, cause), "stderr says %s: %s", cause, p_err);
    if (bundle != NULL) {
        cr_assert_not(tu_exists(bundle), "%s was written", bundle);
    }
}

/* keygen --pkcs11 of type into PREFIX.pub; returns the key id it printed (static). */
static const char *p_keygen(const char *label, const char *type, const char *prefix)
{
    static char id[SIGN_KEYID_SIZE];
    char uri[256];
    const char *k;

    snprintf(uri, sizeof(uri), "pkcs11:token=release;object=%s", label);
    cr_assert_eq(RUN("keygen", "--pkcs11", uri, "-t", type, "-o", pp(prefix)), 0, "keygen %s: %s%s", type, p_out,
                 p_err);
    cr_assert_not_null(k = strstr(p_out, "key id: "), "%s", p_out);
    snprintf(id, sizeof(id), "%.44s", k + 8);
    return id;
}

static void p_policy(const char *name, const char *pub)
{
    char json[1024];

    snprintf(json, sizeof(json),
             "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"%s\", \"artifacts\": [\"*\"]}]}",
             pub);
    tu_write_str(pp(name), json);
}

/* ---- the URI parser ------------------------------------------------------- */

Test(pkcs11, uri_parses_rfc7512_attributes)
{
    sign_pkcs11_uri *u = NULL;

    cr_assert_eq(
        sign_pkcs11_uri_parse(&u, "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,"
                                  "%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;"
                                  "serial=;slot-id=7?module-path=/usr/lib/x.so&pin-value=12%2634"),
        0, "%s", sign_error_last());
    cr_assert_str_eq(u->token, "The Software PKCS#11 Softtoken");
    cr_assert_str_eq(u->manufacturer, "Snake Oil, Inc.");
    cr_assert_str_eq(u->model, "1.0");
    cr_assert_str_eq(u->object, "my-certificate");
    cr_assert_str_eq(u->type, "cert");
    cr_assert_str_eq(u->serial, "");
    cr_assert(u->has_id);
    cr_assert_eq(u->id_len, 8);
    cr_assert_eq(memcmp(u->id, "\x69\x95\x3e\x5c\xf4\xbd\xec\x91", 8), 0);
    cr_assert(u->has_slot_id);
    cr_assert_eq(u->slot_id, 7);
    cr_assert_str_eq(u->module_path, "/usr/lib/x.so");
    cr_assert_str_eq(u->pin_value, "12&34");
    sign_pkcs11_uri_free(u);
    cr_assert_eq(sign_pkcs11_uri_parse(&u, "PKCS11:object=a"), 0, "the scheme is case-insensitive");
    cr_assert_str_eq(u->object, "a");
    cr_assert_null(u->token);
    cr_assert_not(u->has_id);
    sign_pkcs11_uri_free(u);
    cr_assert_eq(sign_pkcs11_uri_parse(&u, "pkcs11:"), 0, "an empty URI names everything");
    sign_pkcs11_uri_free(u);
}

Test(pkcs11, uri_refuses_what_it_cannot_read_exactly)
{
    static const char *const bad[] = {
        "token=a",                                /* no scheme */
        "pkcs11:object=a;object=b",               /* repeated */
        "pkcs11:id=%01;id=%02",                   /* repeated binary */
        "pkcs11:object=%4",                       /* truncated escape */
        "pkcs11:object=%zz",                      /* not hex */
        "pkcs11:object=a%00b",                    /* NUL in text */
        "pkcs11:object=a b",                      /* must be encoded */
        "pkcs11:object=a/b",                      /* '/' only in a query */
        "pkcs11:x-vendor=1",                      /* unknown path attribute */
        "pkcs11:object=a?pin=1",                  /* unknown query attribute */
        "pkcs11:module-path=/x",                  /* a query attribute in the path */
        "pkcs11:object",                          /* no '=' */
        "pkcs11:object=a;;token=b",               /* empty attribute */
        "pkcs11:slot-id=-1",                      /* not a number */
        "pkcs11:slot-id=99999999999999999999999", /* overflow */
        "pkcs11:type=secret",                     /* unknown type */
    };
    sign_pkcs11_uri *u = (sign_pkcs11_uri *)1;
    char *big;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(sign_pkcs11_uri_parse(&u, bad[i]), SIGN_EPARSE, "%s", bad[i]);
        cr_assert_null(u, "%s", bad[i]);
    }
    big = malloc(5000);
    memcpy(big, "pkcs11:object=", 14);
    memset(big + 14, 'a', 4985);
    big[4999] = '\0';
    cr_assert_eq(sign_pkcs11_uri_parse(&u, big), SIGN_EPARSE, "oversize");
    free(big);
}

/* ---- keys on the token ------------------------------------------------------ */

Test(pkcs11, every_key_type_signs_and_verifies, .init = p_setup, .fini = p_teardown, .timeout = 120)
{
    static const char *const types[] = {"ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-3072"};

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        char uri[128], pub[64], bundle[64], policy[64], want[80];
        const char *id = p_keygen(types[i], types[i], types[i]);

        snprintf(want, sizeof(want), "key id %s", id);
        snprintf(uri, sizeof(uri), "pkcs11:token=release;object=%s", types[i]);
        snprintf(pub, sizeof(pub), "%s.pub", types[i]);
        snprintf(bundle, sizeof(bundle), "a-%s.json", types[i]);
        snprintf(policy, sizeof(policy), "policy-%s.json", types[i]);
        cr_assert_eq(RUN("sign", "--pkcs11", uri, "-o", pp(bundle), pp("a.txt")), 0, "%s: %s%s", types[i], p_out,
                     p_err);
        /* the key id is that of the same public key in a file */
        cr_assert_not_null(strstr(p_out, want), "%s: %s", want, p_out);
        p_policy(policy, pp(pub));
        cr_assert_eq(RUN("verify", "-p", pp(policy), "-b", pp(bundle), pp("a.txt")), 0, "%s: %s%s", types[i], p_out,
                     p_err);
        tu_write_str(pp("a.txt"), "changed\n");
        cr_assert_eq(RUN("verify", "-p", pp(policy), "-b", pp(bundle), pp("a.txt")), 1, "%s: tampered: %s", types[i],
                     p_err);
        tu_write_str(pp("a.txt"), "the artifact\n");
    }
}

Test(pkcs11, threshold_of_a_file_key_and_a_token_key, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    char policy[1024];

    p_keygen("tok", "ecdsa-p256", "tok");
    cr_assert_eq(RUN("keygen", "--no-passphrase", "-o", pp("file")), 0, "%s", p_err);
    snprintf(policy, sizeof(policy),
             "{\"version\": 1, \"keys\": [{\"name\": \"token\", \"public_key\": \"%s\"},"
             "{\"name\": \"file\", \"public_key\": \"%s\"}], \"require\": {\"threshold\": 2}}",
             pp("tok.pub"), pp("file.pub"));
    tu_write_str(pp("policy.json"), policy);
    cr_assert_eq(RUN("sign", "--pkcs11", "pkcs11:token=release;object=tok", "-o", pp("t.json"), pp("a.txt")), 0, "%s",
                 p_err);
    cr_assert_eq(RUN("sign", "-k", pp("file.key"), "-o", pp("f.json"), pp("a.txt")), 0, "%s", p_err);
    cr_assert_eq(RUN("verify", "-p", pp("policy.json"), "-b", pp("t.json"), pp("a.txt")), 4, "one signer: %s", p_err);
    cr_assert_eq(RUN("verify", "-p", pp("policy.json"), "-b", pp("t.json"), "-b", pp("f.json"), pp("a.txt")), 0,
                 "file + token: %s%s", p_out, p_err);
}

/* In-process: the module itself, to look at what keygen made. */
static CK_FUNCTION_LIST *p_module(void **dl)
{
    CK_C_GetFunctionList getfl;
    CK_FUNCTION_LIST *f = NULL;
    void *sym;

    cr_assert_not_null(*dl = dlopen(SOFTHSM, RTLD_NOW | RTLD_LOCAL));
    cr_assert_not_null(sym = dlsym(*dl, "C_GetFunctionList"));
    memcpy(&getfl, &sym, sizeof(getfl));
    cr_assert_eq(getfl(&f), CKR_OK);
    cr_assert_eq(f->C_Initialize(NULL), CKR_OK);
    return f;
}

/* A logged-in rw session on the test token. */
static CK_SESSION_HANDLE p_session(CK_FUNCTION_LIST *f)
{
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    CK_SESSION_HANDLE s;

    cr_assert_eq(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    cr_assert_geq(n, 1);
    cr_assert_eq(f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), CKR_OK);
    cr_assert_eq(f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)PIN, strlen(PIN)), CKR_OK);
    return s;
}

Test(pkcs11, generated_key_is_not_extractable, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE find[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, "nx", 2}};
    CK_BBOOL extractable = CK_TRUE, sensitive = CK_FALSE;
    CK_ATTRIBUTE flags[] = {{CKA_EXTRACTABLE, &extractable, sizeof(extractable)},
                            {CKA_SENSITIVE, &sensitive, sizeof(sensitive)}};
    unsigned char value[512];
    CK_ATTRIBUTE val = {CKA_VALUE, value, sizeof(value)};
    CK_OBJECT_HANDLE h;
    CK_ULONG n = 0;
    CK_FUNCTION_LIST *f;
    CK_SESSION_HANDLE s;
    void *dl;

    p_keygen("nx", "ecdsa-p256", "nx");
    f = p_module(&dl);
    s = p_session(f);
    cr_assert_eq(f->C_FindObjectsInit(s, find, 2), CKR_OK);
    cr_assert_eq(f->C_FindObjects(s, &h, 1, &n), CKR_OK);
    cr_assert_eq(f->C_FindObjectsFinal(s), CKR_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(f->C_GetAttributeValue(s, h, flags, 2), CKR_OK);
    cr_assert_eq(extractable, CK_FALSE);
    cr_assert_eq(sensitive, CK_TRUE);
    cr_assert_eq(f->C_GetAttributeValue(s, h, &val, 1), CKR_ATTRIBUTE_SENSITIVE, "the private value was readable");
    f->C_Logout(s);
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
}

/* ---- errors ------------------------------------------------------------------ */

/* The shim module (tests/pkcs11/shim.c), built beside signet. */
static const char *p_shim(void)
{
    static char path[600];
    const char *bin = getenv("SIGNET_BIN");
    const char *slash = bin != NULL ? strrchr(bin, '/') : NULL;

    cr_assert_not_null(slash);
    snprintf(path, sizeof(path), "%.*s/pkcs11-shim.so", (int)(slash - bin), bin);
    cr_assert(tu_exists(path), "%s is missing (make build/pkcs11-shim.so)", path);
    return path;
}

/* sign --pkcs11 uri through the shim with SIGNET_SHIM_FAIL=fail. */
static int p_sign_shim(const char *fail, const char *uri)
{
    const char *const *base = p_env(PIN);
    const char *env[8];
    char f[64];
    size_t n = 0;

    while (base[n] != NULL) {
        env[n] = base[n];
        n++;
    }
    snprintf(f, sizeof(f), "SIGNET_SHIM_FAIL=%s", fail);
    env[n++] = f;
    env[n] = NULL;
    return p_runv(env, "signet", "sign", "--pkcs11", uri, "--pkcs11-module", p_shim(), pp("a.txt"),
                  (const char *)NULL);
}

Test(pkcs11, wrong_pin_and_locked_token_are_refused, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    const char *uri = "pkcs11:token=release;object=k", *b = pp("a.txt.sigstore.json");

    p_keygen("k", "ed25519", "k");
    p_assert_refused(RUN_PIN("0000", "sign", "--pkcs11", uri, pp("a.txt")), uri, "wrong PIN", b);
    cr_assert_not_null(strstr(p_err, "CKR_PIN_INCORRECT"), "%s", p_err);
    cr_assert_not_null(strstr(p_err, "SIGNET_PKCS11_PIN"), "names where the PIN came from: %s", p_err);
    /* SoftHSM2 never locks its tokens: the shim says the token is locked, before and at C_Login */
    p_assert_refused(p_sign_shim("locked", uri), uri, "locked after too many wrong PINs", b);
    p_assert_refused(p_sign_shim("C_Login", uri), uri, "CKR_PIN_LOCKED", b);
}

Test(pkcs11, no_pin_is_refused, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    const char *uri = "pkcs11:token=release;object=k";

    p_keygen("k", "ed25519", "k");
    /* no SIGNET_PKCS11_PIN and no terminal (stdin is /dev/null, no controlling tty under the runner) */
    p_assert_refused(p_runv(p_env(NULL), "/usr/bin/setsid", getenv("SIGNET_BIN"), "sign", "--pkcs11", uri,
                            pp("a.txt"), (const char *)NULL),
                     uri, "needs a PIN", pp("a.txt.sigstore.json"));
}

Test(pkcs11, pin_file_is_read_and_pin_value_needs_a_flag, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    const char *withpin = "pkcs11:token=release;object=k?pin-value=" PIN;

    p_keygen("k", "ed25519", "k");
    tu_write_str(pp("pin"), PIN "\n");
    cr_assert_eq(p_runv(p_env(NULL), "/bin/chmod", "600", pp("pin"), (const char *)NULL), 0);
    cr_assert_eq(RUN_PIN("0000", "sign", "--pkcs11", "pkcs11:token=release;object=k", "--pin-file", pp("pin"), "-o",
                         pp("b1.json"), pp("a.txt")),
                 0, "--pin-file beats SIGNET_PKCS11_PIN: %s", p_err);
    p_assert_refused(RUN("sign", "--pkcs11", withpin, "-o", pp("b2.json"), pp("a.txt")),
                     "pkcs11:token=release;object=k", "--allow-pin-in-uri", pp("b2.json"));
    cr_assert_null(strstr(p_err, "pin-value=" PIN), "the PIN is never printed: %s", p_err);
    cr_assert_eq(RUN_PIN("0000", "sign", "--pkcs11", withpin, "--allow-pin-in-uri", "-o", pp("b3.json"), pp("a.txt")),
                 0, "%s", p_err);
}

Test(pkcs11, missing_token_object_and_ambiguous_uri_are_refused, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    const char *b = pp("a.txt.sigstore.json");

    cr_assert_eq(
        RUN("keygen", "--pkcs11", "pkcs11:token=release;object=one;id=%01", "-t", "ed25519", "-o", pp("one")), 0,
        "%s", p_err);
    cr_assert_eq(
        RUN("keygen", "--pkcs11", "pkcs11:token=release;object=two;id=%01", "-t", "ed25519", "-o", pp("two")), 0,
        "%s", p_err);
    p_assert_refused(RUN("sign", "--pkcs11", "pkcs11:token=nosuch;object=one", pp("a.txt")),
                     "pkcs11:token=nosuch;object=one", "no token matches", b);
    p_assert_refused(RUN("sign", "--pkcs11", "pkcs11:token=release;object=three", pp("a.txt")),
                     "pkcs11:token=release;object=three", "no private key object", b);
    p_assert_refused(RUN("sign", "--pkcs11", "pkcs11:token=release;id=%01", pp("a.txt")),
                     "pkcs11:token=release;id=%01", "more than one private key object matches", b);
    p_assert_refused(RUN("sign", "--pkcs11", "pkcs11:token=release;object=one;type=cert", pp("a.txt")),
                     "pkcs11:token=release;object=one;type=cert", "does not name a private key", b);
    p_assert_refused(RUN("sign", "--pkcs11", "pkcs11:token=release;object=%zz", pp("a.txt")), "PKCS#11 URI",
                     "percent-encoding", b);
    /* keygen does not overwrite a label */
    p_assert_refused(RUN("keygen", "--pkcs11", "pkcs11:token=release;object=one", "-o", pp("again")),
                     "pkcs11:token=release;object=one", "already has an object labelled", pp("again.pub"));
}

Test(pkcs11, bad_modules_are_refused, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    const char *uri = "pkcs11:token=release;object=k", *b = pp("a.txt.sigstore.json");
    char notp11[600];

    p_keygen("k", "ed25519", "k");
    p_assert_refused(RUN("sign", "--pkcs11", uri, "--pkcs11-module", pp("nosuch.so"), pp("a.txt")), uri,
                     "does not exist", b);
    /* a shared library that is not a PKCS#11 module: libcrypto, which signet itself links */
    snprintf(notp11, sizeof(notp11), "pkcs11:token=release;object=k?module-path=%s",
             "/usr/lib/x86_64-linux-gnu/libz.so.1");
    p_assert_refused(RUN("sign", "--pkcs11", notp11, pp("a.txt")), uri, "not a PKCS#11 module", b);
    /* a bare name: dlopen would search the library path, not the file signet checked */
    p_assert_refused(RUN("sign", "--pkcs11", uri, "--pkcs11-module", "libsofthsm2.so", pp("a.txt")), uri,
                     "give the PKCS#11 module as a path", b);
    tu_write_str(pp("text.so"), "not an ELF file\n");
    p_assert_refused(RUN("sign", "--pkcs11", uri, "--pkcs11-module", pp("text.so"), pp("a.txt")), uri,
                     "not a loadable PKCS#11 module", b);
}

Test(pkcs11, a_failing_module_writes_nothing, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    const char *uri = "pkcs11:token=release;object=k", *b = pp("a.txt.sigstore.json");

    p_keygen("k", "ecdsa-p256", "k");
    p_assert_refused(p_sign_shim("C_Sign", uri), uri, "C_Sign failed: CKR_DEVICE_ERROR", b);
    p_assert_refused(p_sign_shim("garbage", uri), "token", "does not verify with its public key", b);
    cr_assert_eq(p_sign_shim("none", uri), 0, "the shim forwards: %s", p_err);
    cr_assert(tu_exists(b));
}

Test(pkcs11, unsupported_key_type_is_refused, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    static const unsigned char secp256k1[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a};
    CK_BBOOL yes = CK_TRUE;
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_ATTRIBUTE pub[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                          {CKA_LABEL, "k1", 2},
                          {CKA_ID, "\x42", 1},
                          {CKA_EC_PARAMS, (void *)secp256k1, sizeof(secp256k1)}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                           {CKA_PRIVATE, &yes, sizeof(yes)},
                           {CKA_SIGN, &yes, sizeof(yes)},
                           {CKA_LABEL, "k1", 2},
                           {CKA_ID, "\x42", 1}};
    CK_OBJECT_HANDLE hpub, hpriv;
    CK_FUNCTION_LIST *f;
    CK_SESSION_HANDLE s;
    void *dl;

    f = p_module(&dl);
    s = p_session(f);
    cr_assert_eq(f->C_GenerateKeyPair(s, &mech, pub, 4, priv, 5, &hpub, &hpriv), CKR_OK);
    f->C_Logout(s);
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    p_assert_refused(RUN("sign", "--pkcs11", "pkcs11:token=release;object=k1", pp("a.txt")),
                     "pkcs11:token=release;object=k1", "curve is not supported", pp("a.txt.sigstore.json"));
}

Test(pkcs11, list_shows_keys_with_their_ids, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    const char *id = p_keygen("listed", "ed25519", "listed");
    char want[80];

    snprintf(want, sizeof(want), "\"keyid\":\"%s\"", id);
    cr_assert_eq(RUN("pkcs11", "list", "--json"), 0, "%s", p_err);
    cr_assert_not_null(strstr(p_out, "\"kind\":\"private\""), "logged in with SIGNET_PKCS11_PIN: %s", p_out);
    cr_assert_not_null(strstr(p_out, want), "%s", p_out);
    cr_assert_not_null(strstr(p_out, "object=listed;id="), "%s", p_out);
    /* without a PIN: the public objects only, no prompt */
    cr_assert_eq(p_runv(p_env(NULL), "signet", "pkcs11", "list", (const char *)NULL), 0, "%s", p_err);
    cr_assert_null(strstr(p_out, "private "), "%s", p_out);
    cr_assert_not_null(strstr(p_out, id), "the public key's id: %s", p_out);
}

/* ---- with the rest of signet: revocation lists, timestamps, certificates -------- */

Test(pkcs11, revocation_list_signed_by_a_token_key, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    const char *uri = "pkcs11:token=release;object=revoker";
    char policy[1024];

    p_keygen("revoker", "ed25519", "revoker");
    cr_assert_eq(RUN("keygen", "--no-passphrase", "-o", pp("release")), 0, "%s", p_err);
    cr_assert_eq(RUN("sign", "-k", pp("release.key"), pp("a.txt")), 0, "%s", p_err);
    cr_assert_eq(RUN("revoke", "init", "--pkcs11", uri, "-o", pp("revoked.json")), 0, "%s", p_err);
    snprintf(policy, sizeof(policy),
             "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"%s\"}],"
             "\"revocation\": [{\"name\": \"main\", \"list\": \"%s\", \"authorities\": [\"%s\"]}]}",
             pp("release.pub"), pp("revoked.json"), pp("revoker.pub"));
    tu_write_str(pp("policy.json"), policy);
    cr_assert_eq(RUN("verify", "-p", pp("policy.json"), "--state-dir", pp("state"), pp("a.txt")), 0, "%s%s", p_out,
                 p_err);
    cr_assert_eq(RUN("revoke", "key", "--pkcs11", uri, "--list", pp("revoked.json"), "--key", pp("release.pub"),
                     "--reason", "keyCompromise"),
                 0, "%s", p_err);
    cr_assert_eq(RUN("verify", "-p", pp("policy.json"), "--state-dir", pp("state"), pp("a.txt")), 5, "%s%s", p_out,
                 p_err);
    cr_assert(strstr(p_out, "KEY_REVOKED") != NULL || strstr(p_err, "KEY_REVOKED") != NULL, "%s%s", p_out, p_err);
}

Test(pkcs11, timestamped_signature_with_a_token_key, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    char *tsa = tsa_std_pki(), policy[1024];
    tsa_server srv;
    size_t len;
    char *bundle;

    p_keygen("k", "ecdsa-p384", "k");
    tsa_server_start(&srv, tsa, "tsa", NULL, NULL);
    sleep(2); /* the test TSA's certificate is made now, with 1 s accuracy */
    cr_assert_eq(
        RUN("sign", "--pkcs11", "pkcs11:token=release;object=k", "--tsa", srv.url, "-o", pp("b.json"), pp("a.txt")),
        0, "%s", p_err);
    tsa_server_stop(&srv);
    bundle = tu_read(pp("b.json"), &len);
    cr_assert_not_null(strstr(bundle, "rfc3161Timestamps"), "%s", bundle);
    free(bundle);
    snprintf(policy, sizeof(policy),
             "{\"version\": 1, \"keys\": [{\"name\": \"k\", \"public_key\": \"%s\"}],"
             "\"timestamp_authorities\": [{\"name\": \"tsa\", \"certificates\": \"%s/root.pem\"}]}",
             pp("k.pub"), tsa);
    tu_write_str(pp("policy.json"), policy);
    cr_assert_eq(RUN("verify", "-p", pp("policy.json"), "-b", pp("b.json"), pp("a.txt")), 0, "%s%s", p_out, p_err);
    tu_rmtree(tsa);
    free(tsa);
}

/* Put the certificate c on the token as a CKO_CERTIFICATE labelled label. */
static void p_put_cert(const pkigen_cert *c, const char *label)
{
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    unsigned char *der = NULL, *subj = NULL;
    int len = i2d_X509(c->x, &der), slen = i2d_X509_NAME(X509_get_subject_name(c->x), &subj);
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},  {CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
                        {CKA_TOKEN, &yes, sizeof(yes)},  {CKA_LABEL, (void *)label, strlen(label)},
                        {CKA_VALUE, der, (CK_ULONG)len}, {CKA_SUBJECT, subj, (CK_ULONG)slen}};
    CK_OBJECT_HANDLE h;
    CK_FUNCTION_LIST *f;
    CK_SESSION_HANDLE s;
    void *dl;

    cr_assert(len > 0 && slen > 0);
    f = p_module(&dl);
    s = p_session(f);
    cr_assert_eq(f->C_CreateObject(s, t, 6, &h), CKR_OK);
    f->C_Logout(s);
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    OPENSSL_free(der);
    OPENSSL_free(subj);
}

Test(pkcs11, certificate_on_the_token, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    pkigen_cert_opts ro = {.cn = "P11 Root", .ca = 1}, lo = {.cn = "P11 Signer"};
    pkigen_cert *root, *leaf;
    EVP_PKEY *pub;
    FILE *fp;
    char policy[512];

    p_keygen("k", "ecdsa-p256", "k");
    cr_assert_not_null(fp = fopen(pp("k.pub"), "r"));
    cr_assert_not_null(pub = PEM_read_PUBKEY(fp, NULL, NULL, NULL));
    fclose(fp);
    root = pkigen_cert_new(&ro, NULL);
    lo.use_key = pub;
    leaf = pkigen_cert_new(&lo, root);
    pkigen_write_certs(pp("root.pem"), (const pkigen_cert *const *)&root, 1);
    p_put_cert(leaf, "k-cert");
    cr_assert_eq(RUN("sign", "--pkcs11", "pkcs11:token=release;object=k", "--cert",
                     "pkcs11:token=release;object=k-cert;type=cert", "-o", pp("b.json"), pp("a.txt")),
                 0, "%s", p_err);
    cr_assert_not_null(strstr(p_out, "certificate CN=P11 Signer"), "%s", p_out);
    snprintf(policy, sizeof(policy), "{\"version\":1,\"roots\":[{\"name\":\"corp\",\"certificates\":\"%s\"}]}",
             pp("root.pem"));
    tu_write_str(pp("policy.json"), policy);
    cr_assert_eq(RUN("verify", "-p", pp("policy.json"), "-b", pp("b.json"), pp("a.txt")), 0, "%s%s", p_out, p_err);
    /* a certificate URI that names nothing */
    p_assert_refused(RUN("sign", "--pkcs11", "pkcs11:token=release;object=k", "--cert",
                         "pkcs11:token=release;object=nosuch", "-o", pp("c.json"), pp("a.txt")),
                     "pkcs11:token=release;object=nosuch", "no certificate object", pp("c.json"));
    EVP_PKEY_free(pub);
    pkigen_cert_free(leaf);
    pkigen_cert_free(root);
}

Test(pkcs11, a_file_key_moved_into_the_token_keeps_its_key_id, .init = p_setup, .fini = p_teardown, .timeout = 60)
{
    char want[80];
    const char *k;

    cr_assert_eq(RUN("keygen", "--no-passphrase", "-t", "ecdsa-p384", "-o", pp("file")), 0, "%s", p_err);
    cr_assert_not_null(k = strstr(p_out, "key id: "));
    snprintf(want, sizeof(want), "key id %.44s", k + 8);
    cr_assert_eq(TOOL("/usr/bin/softhsm2-util", "--import", pp("file.key"), "--token", "release", "--label", "moved",
                      "--id", "0102", "--pin", PIN),
                 0, "%s%s", p_out, p_err);
    cr_assert_eq(RUN("sign", "--pkcs11", "pkcs11:token=release;object=moved", "-o", pp("b.json"), pp("a.txt")), 0,
                 "%s", p_err);
    cr_assert_not_null(strstr(p_out, want), "%s: %s", want, p_out);
    p_policy("policy.json", pp("file.pub"));
    cr_assert_eq(RUN("verify", "-p", pp("policy.json"), "-b", pp("b.json"), pp("a.txt")), 0, "%s%s", p_out, p_err);
}

Test(pkcs11, a_key_that_wants_the_pin_at_every_signature_is_refused, .init = p_setup, .fini = p_teardown,
     .timeout = 60)
{
    static const unsigned char p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_BBOOL yes = CK_TRUE;
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_ATTRIBUTE pub[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                          {CKA_LABEL, "aa", 2},
                          {CKA_ID, "\x43", 1},
                          {CKA_EC_PARAMS, (void *)p256, sizeof(p256)}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                           {CKA_PRIVATE, &yes, sizeof(yes)},
                           {CKA_SIGN, &yes, sizeof(yes)},
                           {CKA_LABEL, "aa", 2},
                           {CKA_ID, "\x43", 1},
                           {CKA_ALWAYS_AUTHENTICATE, &yes, sizeof(yes)}};
    CK_OBJECT_HANDLE hpub, hpriv;
    CK_FUNCTION_LIST *f;
    CK_SESSION_HANDLE s;
    void *dl;

    f = p_module(&dl);
    s = p_session(f);
    cr_assert_eq(f->C_GenerateKeyPair(s, &mech, pub, 4, priv, 6, &hpub, &hpriv), CKR_OK);
    f->C_Logout(s);
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    p_assert_refused(RUN("sign", "--pkcs11", "pkcs11:token=release;object=aa", pp("a.txt")),
                     "pkcs11:token=release;object=aa", "CKA_ALWAYS_AUTHENTICATE", pp("a.txt.sigstore.json"));
}
