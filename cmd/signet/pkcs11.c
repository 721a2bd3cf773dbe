/* PKCS#11 in the CLI: module and PIN sources, token keys for sign and keygen, `signet pkcs11 list`. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "output.h"

int cli_is_pkcs11_uri(const char *s)
{
    return s != NULL && strncasecmp(s, "pkcs11:", 7) == 0;
}

void cli_pkcs11_options(sign_pkcs11_options *o, cli_pkcs11 *p, const char *uri)
{
    const char *env = getenv("SIGNET_PKCS11_MODULE");

    *o = (sign_pkcs11_options)SIGN_PKCS11_OPTIONS_INIT;
    /* An explicit flag beats the environment. */
    o->module = p->module != NULL ? p->module : (env != NULL && *env != '\0' ? env : NULL);
    p->pp.file = p->pin_file;
    p->pp.env = "SIGNET_PKCS11_PIN";
    p->pp.label = "PIN";
    p->pp.keyfile = uri;
    o->pin_cb = cli_passphrase_cb;
    o->pin_userdata = &p->pp;
    o->flags = p->allow_pin_in_uri ? SIGN_PKCS11_ALLOW_PIN_IN_URI : 0;
}

/* One line: the library's message (it names the URI and the cause), and where a refused PIN came from. */
static int pkcs11_fail(int code, const cli_pkcs11 *p)
{
    const char *msg = sign_error_last();

    if (msg == NULL || *msg == '\0') {
        msg = sign_strerror(code);
    }
    if (code == SIGN_EPASSPHRASE && p->pp.source != NULL && strstr(msg, "none was given") == NULL) {
        char *f = p->pin_file != NULL ? sign_text_safe(p->pin_file) : NULL;
        int isfile = f != NULL && strcmp(p->pp.source, "--passphrase-file") == 0;

        cli_error("%s (the PIN came from %s%s)", msg, isfile ? "--pin-file " : p->pp.source, isfile ? f : "");
        free(f);
    } else {
        cli_error("%s", msg);
    }
    return cli_exit_code(code);
}

int cli_pkcs11_key(sign_key **out, const char *uri, cli_pkcs11 *p)
{
    sign_pkcs11_options o;
    int r;

    cli_pkcs11_options(&o, p, uri);
    if ((r = sign_pkcs11_key_load(out, uri, &o)) != 0) {
        return pkcs11_fail(r, p);
    }
    return 0;
}

int cli_pkcs11_certs(sign_x509_certs **out, const char *uri, cli_pkcs11 *p)
{
    sign_pkcs11_options o;
    int r;

    cli_pkcs11_options(&o, p, uri);
    if ((r = sign_pkcs11_certs_load(out, uri, &o)) != 0) {
        return pkcs11_fail(r, p);
    }
    return 0;
}

int cli_pkcs11_keygen(const char *uri, cli_pkcs11 *p, sign_key_type type, unsigned int bits, const char *pubpath)
{
    char keyid[SIGN_KEYID_SIZE], fpr[SIGN_FINGERPRINT_SIZE];
    sign_pkcs11_options o;
    sign_key *key = NULL;
    char *u = NULL;
    int r;

    cli_pkcs11_options(&o, p, uri);
    if ((r = sign_pkcs11_keygen(&key, uri, type, bits, &o)) != 0) {
        return pkcs11_fail(r, p);
    }
    if ((r = sign_key_id(keyid, sizeof(keyid), key)) != 0 || (r = sign_key_fingerprint(fpr, sizeof(fpr), key)) != 0 ||
        (r = sign_key_write_public(key, pubpath)) != 0) {
        sign_key_free(key);
        /* the key pair stays on the token: say so, so that the next try picks another label or reuses it */
        cli_error("%s (the key pair was generated on the token)", sign_error_last());
        return cli_exit_code(r);
    }
    sign_key_free(key);
    u = sign_text_safe(uri);
    printf("type: %s\n", sign_key_type_name(type));
    printf("private key: %s (on the token, not extractable)\n", u != NULL ? u : "");
    printf("public key: %s\n", pubpath);
    printf("key id: %s\n", keyid);
    printf("fingerprint: %s\n", fpr);
    free(u);
    return fflush(stdout) != 0 ? EXIT_USAGE : 0;
}

/* ---- signet pkcs11 list ---------------------------------------------------- */

static const char pkcs11_usage[] = "usage: signet pkcs11 list [--module M] [--pin-file F] [--json]\n"
                                   "\n"
                                   "List the tokens of a PKCS#11 module and their key and certificate objects,\n"
                                   "each with a URI for --pkcs11 and --cert and the key id a policy names.\n"
                                   "\n"
                                   "      --module M       the module (.so); default SIGNET_PKCS11_MODULE\n"
                                   "      --pin-file F     log in with the PIN on the first line of F (private keys\n"
                                   "                       are listed only after a login; SIGNET_PKCS11_PIN too)\n"
                                   "      --json           one JSON object on stdout\n"
                                   "  -h, --help           show this help\n";

static void list_print(const sign_pkcs11_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *uri = sign_text_safe(e[i].uri), *label = sign_text_safe(e[i].label);

        if (strcmp(e[i].kind, "token") == 0) {
            printf("token %s\n  %s\n", label != NULL ? label : "", uri != NULL ? uri : "");
        } else {
            printf("  %-8s %s%s%s%s%s%s\n    %s\n", e[i].kind, label != NULL ? label : "",
                   e[i].key_type != NULL ? " (" : "", e[i].key_type != NULL ? e[i].key_type : "",
                   e[i].keyid[0] != '\0' ? ", key id " : "", e[i].keyid[0] != '\0' ? e[i].keyid : "",
                   e[i].key_type != NULL ? ")" : "", uri != NULL ? uri : "");
        }
        free(uri);
        free(label);
    }
}

static int list_json(const sign_pkcs11_entry *e, size_t n)
{
    json_t *arr = json_array(), *root;
    char *text = NULL;
    int rc = EXIT_USAGE;

    for (size_t i = 0; arr != NULL && i < n; i++) {
        char *uri = sign_text_safe(e[i].uri), *label = sign_text_safe(e[i].label);
        json_t *o = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?}", "kind", e[i].kind, "uri", uri, "label", label, "key_type",
                              e[i].key_type, "keyid", e[i].keyid[0] != '\0' ? e[i].keyid : NULL);

        free(uri);
        free(label);
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    root = arr != NULL ? json_pack("{s:o}", "objects", arr) : NULL;
    if (root != NULL && (text = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII)) != NULL) {
        puts(text);
        rc = 0;
    } else {
        cli_error("out of memory");
    }
    free(text);
    json_decref(root);
    return rc;
}

static int pkcs11_list(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"module", required_argument, NULL, 'm'},
        {"pin-file", required_argument, NULL, 'P'},
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_pkcs11 p;
    sign_pkcs11_options o;
    sign_pkcs11_entry *e = NULL;
    size_t n = 0;
    int c, r, json = 0;

    memset(&p, 0, sizeof(p));
    p.pp = (cli_passphrase)CLI_PASSPHRASE_INIT;
    if (out_check_long_options("pkcs11", argc, argv, ":h", longopts) != 0) {
        return EXIT_USAGE;
    }
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': p.module = optarg; break;
        case 'P': p.pin_file = optarg; break;
        case 'J': json = 1; break;
        case 'h': fputs(pkcs11_usage, stdout); return 0;
        default: return out_getopt_error("pkcs11", c, argv);
        }
    }
    if (optind < argc) {
        return out_usage_error("pkcs11", "unexpected argument '%s'", argv[optind]);
    }
    cli_pkcs11_options(&o, &p, NULL);
    if (p.pin_file == NULL && getenv("SIGNET_PKCS11_PIN") == NULL) {
        o.pin_cb = NULL; /* no login, no prompt: public objects only */
    }
    if ((r = sign_pkcs11_list(&e, &n, NULL, &o)) != 0) {
        return pkcs11_fail(r, &p);
    }
    if (json) {
        r = list_json(e, n);
    } else {
        list_print(e, n);
        r = 0;
    }
    sign_pkcs11_list_free(e, n);
    return r;
}

int cmd_pkcs11(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(pkcs11_usage, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "list") != 0) {
        return out_usage_error("pkcs11", "give a subcommand: list");
    }
    return pkcs11_list(argc - 1, argv + 1);
}
