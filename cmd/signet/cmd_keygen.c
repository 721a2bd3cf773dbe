/* signet keygen: create a key pair, PREFIX.key (0600, encrypted PKCS#8) and PREFIX.pub (SPKI). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "output.h"

/* Longest passphrase accepted for a new key. */
#define NEW_PASS_MAX 1024

static const char keygen_usage[] = "usage: signet keygen [-t TYPE] [--no-passphrase | --passphrase-file F] [--json]\n"
                                   "                     -o PREFIX\n"
                                   "       signet keygen --pkcs11 URI [-t TYPE] [--pkcs11-module M] [--pin-file F]\n"
                                   "                     [--json] -o PREFIX\n"
                                   "\n"
                                   "Create a key pair: PREFIX.key (private, PKCS#8 PEM, mode 0600, encrypted\n"
                                   "with AES-256-CBC under an scrypt-derived key) and PREFIX.pub (public, SPKI\n"
                                   "PEM). Refuses to overwrite either file. Prints the key id and fingerprint.\n"
                                   "\n"
                                   "  -t, --type TYPE          ed25519 (default), ecdsa-p256, ecdsa-p384, rsa-3072\n"
                                   "  -o, --output PREFIX      write PREFIX.key and PREFIX.pub\n"
                                   "      --no-passphrase      write the private key unencrypted\n"
                                   "      --passphrase-file F  read the new passphrase from the first line of F\n"
                                   "      --pkcs11 URI         generate the key pair on the PKCS#11 token the URI\n"
                                   "                           names, labelled with its object= (not extractable);\n"
                                   "                           only PREFIX.pub is written\n"
                                   "      --pkcs11-module M    the module when the URI has no module-path (default\n"
                                   "                           SIGNET_PKCS11_MODULE)\n"
                                   "      --pin-file F         the token's PIN (else SIGNET_PKCS11_PIN, else the\n"
                                   "                           terminal)\n"
                                   "      --json               print the result (or the error) as one JSON object\n"
                                   "  -h, --help               show this help\n"
                                   "\n"
                                   "The passphrase comes from --passphrase-file, then SIGNET_PASSPHRASE, then\n"
                                   "the terminal (asked twice); never from an argument. It may not be empty.\n";

static const struct {
    const char *name;
    sign_key_type type;
    unsigned int bits;
} keygen_types[] = {
    {"ed25519", SIGN_KEY_ED25519, 0},
    {"ecdsa-p256", SIGN_KEY_ECDSA_P256, 0},
    {"ecdsa-p384", SIGN_KEY_ECDSA_P384, 0},
    {"rsa-3072", SIGN_KEY_RSA, 3072},
};

/* prefix + suffix, malloc'd. */
static char *keygen_path(const char *prefix, const char *suffix)
{
    size_t n = strlen(prefix) + strlen(suffix) + 1;
    char *p = malloc(n);

    if (p != NULL) {
        snprintf(p, n, "%s%s", prefix, suffix);
    }
    return p;
}

/*
 * 1 when something (a file, a directory, even a dangling symlink) is at path.
 * Other errors (no such directory, no permission) are left to the write,
 * which reports them precisely.
 */
static int keygen_taken(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* 1 when this process has a controlling terminal to ask for a passphrase. */
static int keygen_have_tty(void)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

    if (fd < 0) {
        return 0;
    }
    close(fd);
    return 1;
}

/* keygen --json: the new key pair as one object (the same members as the text lines). */
static void keygen_print_json(const char *type, const char *keypath, const char *pubpath, int no_pass,
                              const char *keyid, const char *fpr)
{
    char *k = sign_text_safe(keypath), *p = sign_text_safe(pubpath), *text = NULL;
    json_t *o =
        json_pack("{s:i,s:s,s:s,s:s,s:s,s:s?,s:b,s:s?,s:s,s:s}", "format_version", SIGN_VERDICT_FORMAT_VERSION,
                  "signet_version", SIGN_VERSION_STRING, "command", "keygen", "code", "OK", "type", type,
                  "private_key", k, "encrypted", !no_pass, "public_key", p, "key_id", keyid, "fingerprint", fpr);

    if (o != NULL) {
        text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
    }
    puts(text != NULL ? text : "{\"code\":\"OK\",\"command\":\"keygen\"}");
    out_json_printed();
    free(text);
    json_decref(o);
    free(k);
    free(p);
}

/* One signet keygen run: the options given, then the files it names and the key it makes. */
typedef struct kargs {
    cli_pkcs11 p11;
    cli_passphrase pp;
    const char *p11uri, *prefix, *typename;
    size_t ti; /* keygen_types[ti] */
    int no_pass, help;
    char *keypath, *pubpath, *pass;
    int n; /* the passphrase's length */
    sign_key *key;
    int key_written;
} kargs;

/* getopt's error c for the option just read: the exit code after saying why. */
static int keygen_opt_error(int c, char **argv)
{
    if (c == ':') {
        return optopt != 0 ? out_usage_error("keygen", "option -%c needs a value", optopt)
                           : out_usage_error("keygen", "option %s needs a value", argv[optind - 1]);
    }
    /* Only short options get here (long ones were checked): name the letter, not the word. */
    if (strncmp(argv[optind - 1], "--", 2) == 0) {
        /* A full long name (checked above) given a value it does not take. */
        return out_usage_error("keygen", "option --%.*s takes no value", (int)strcspn(argv[optind - 1] + 2, "="),
                               argv[optind - 1] + 2);
    }
    return out_usage_error("keygen", "unknown option -%c", optopt);
}

/* The options, up to the first -h: 0, or the exit code after saying why. */
static int parse_args(kargs *a, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"type", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"no-passphrase", no_argument, NULL, 'N'},
        {"passphrase-file", required_argument, NULL, 'P'},
        {"json", no_argument, NULL, 'J'},
        {"pkcs11", required_argument, NULL, '1'},
        {"pkcs11-module", required_argument, NULL, '2'},
        {"pin-file", required_argument, NULL, '3'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    if (cli_getopt_start("keygen", argc, argv, ":t:o:h", longopts) != 0) {
        return EXIT_USAGE;
    }
    while ((c = getopt_long(argc, argv, ":t:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': a->typename = optarg; break;
        case 'o': a->prefix = optarg; break;
        case 'N': a->no_pass = 1; break;
        case 'P': a->pp.file = optarg; break;
        case 'J': break; /* out_json_active() */
        case '1': a->p11uri = optarg; break;
        case '2': a->p11.module = optarg; break;
        case '3': a->p11.pin_file = optarg; break;
        case 'h': a->help = 1; return 0;
        default: return keygen_opt_error(c, argv);
        }
    }
    return 0;
}

/* The arguments make sense together, and the type is known (a->ti): 0, or the exit code after saying why. */
static int check_args(kargs *a, int argc, char **argv)
{
    size_t ntypes = sizeof(keygen_types) / sizeof(keygen_types[0]);

    if (optind < argc) {
        return out_usage_error("keygen", "unexpected argument '%s'", argv[optind]);
    }
    if (a->prefix == NULL || a->prefix[0] == '\0') {
        return out_usage_error("keygen", "name the key files with -o PREFIX");
    }
    if (a->prefix[strlen(a->prefix) - 1] == '/') {
        return out_usage_error("keygen", "-o PREFIX names files, not a directory: try -o %skey", a->prefix);
    }
    if (a->no_pass && a->pp.file != NULL) {
        return out_usage_error("keygen", "--no-passphrase and --passphrase-file contradict each other");
    }
    for (a->ti = 0; a->ti < ntypes; a->ti++) {
        if (strcmp(a->typename, keygen_types[a->ti].name) == 0) {
            break;
        }
    }
    if (a->ti == ntypes) {
        return out_usage_error("keygen", "unknown key type '%s' (ed25519, ecdsa-p256, ecdsa-p384, rsa-3072)",
                               a->typename);
    }
    if (a->p11uri != NULL && (a->no_pass || a->pp.file != NULL)) {
        return out_usage_error("keygen", "a token key has no passphrase: --pkcs11 takes --pin-file, not "
                                         "--no-passphrase or --passphrase-file");
    }
    if (a->p11uri == NULL && (a->p11.module != NULL || a->p11.pin_file != NULL)) {
        return out_usage_error("keygen", "--pkcs11-module and --pin-file go with --pkcs11 URI");
    }
    return 0;
}

/* keygen --pkcs11: the key pair made on the token, its public key written beside. Returns the exit code. */
static int keygen_token(kargs *a)
{
    char *pubpath = keygen_path(a->prefix, ".pub");
    int rc = EXIT_USAGE;

    if (pubpath == NULL) {
        cli_error("out of memory");
    } else if (keygen_taken(pubpath)) {
        cli_error("%s already exists; refusing to overwrite it (choose another -o PREFIX)", pubpath);
    } else {
        rc = cli_pkcs11_keygen(a->p11uri, &a->p11, keygen_types[a->ti].type, keygen_types[a->ti].bits, pubpath);
    }
    free(pubpath);
    return rc;
}

/* The new key's passphrase (asked twice on a terminal), unless --no-passphrase: 0 or EXIT_USAGE. */
static int ask_passphrase(kargs *a)
{
    if (a->no_pass) {
        return 0;
    }
    if ((a->pass = malloc(NEW_PASS_MAX)) == NULL) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    a->pp.keyfile = a->keypath;
    a->n = cli_passphrase_cb(a->pass, NEW_PASS_MAX, 1, &a->pp);
    if (a->n < 0) {
        /* The callback says why when it had a source; say what to do when it had none. */
        if (getenv("SIGNET_PASSPHRASE") == NULL && a->pp.file == NULL && !keygen_have_tty()) {
            cli_error("no passphrase for the new key and no terminal to ask: set SIGNET_PASSPHRASE, use "
                      "--passphrase-file F, or --no-passphrase");
        }
        return EXIT_USAGE;
    }
    if (a->n == 0) {
        cli_error("refusing an empty passphrase; use --no-passphrase for an unencrypted key");
        return EXIT_USAGE;
    }
    return 0;
}

/* Generate the key and write the pair (a->key_written while the .key stands alone). Returns the exit code. */
static int write_pair(kargs *a, char *keyid, char *fpr)
{
    int r;

    if ((r = sign_key_generate(&a->key, keygen_types[a->ti].type, keygen_types[a->ti].bits)) != 0) {
        return cli_fail(r, "keygen");
    }
    if ((r = sign_key_id(keyid, SIGN_KEYID_SIZE, a->key)) != 0 ||
        (r = sign_key_fingerprint(fpr, SIGN_FINGERPRINT_SIZE, a->key)) != 0) {
        return cli_fail(r, "keygen");
    }
    if ((r = sign_key_write_private(a->key, a->keypath, a->no_pass ? NULL : a->pass, (size_t)a->n)) != 0) {
        return cli_fail(r, a->keypath);
    }
    a->key_written = 1;
    if ((r = sign_key_write_public(a->key, a->pubpath)) != 0) {
        return cli_fail(r, a->pubpath);
    }
    a->key_written = 0; /* complete: keep it */
    return 0;
}

/* A key pair in files: names checked, passphrase asked, pair written and described. Returns the exit code. */
static int keygen_files(kargs *a)
{
    char keyid[SIGN_KEYID_SIZE], fpr[SIGN_FINGERPRINT_SIZE];
    int rc;

    a->keypath = keygen_path(a->prefix, ".key");
    a->pubpath = keygen_path(a->prefix, ".pub");
    if (a->keypath == NULL || a->pubpath == NULL) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    /* Both names are checked before anything is written. */
    if (keygen_taken(a->keypath) || keygen_taken(a->pubpath)) {
        out_json_note("OUTPUT_EXISTS", "key", keygen_taken(a->keypath) ? a->keypath : a->pubpath, "already exists");
        cli_error("%s already exists; refusing to overwrite it (choose another -o PREFIX)",
                  keygen_taken(a->keypath) ? a->keypath : a->pubpath);
        return EXIT_USAGE;
    }
    if ((rc = ask_passphrase(a)) != 0 || (rc = write_pair(a, keyid, fpr)) != 0) {
        return rc;
    }
    if (out_json_active()) {
        keygen_print_json(a->typename, a->keypath, a->pubpath, a->no_pass, keyid, fpr);
    } else {
        printf("type: %s\n", a->typename);
        printf("private key: %s (%s)\n", a->keypath, a->no_pass ? "NOT encrypted" : "encrypted");
        printf("public key: %s\n", a->pubpath);
        printf("key id: %s\n", keyid);
        printf("fingerprint: %s\n", fpr);
    }
    if (fflush(stdout) != 0) {
        cli_error("writing to stdout failed");
        return EXIT_USAGE;
    }
    return 0;
}

int cmd_keygen(int argc, char **argv)
{
    kargs a;
    int rc;

    memset(&a, 0, sizeof(a));
    a.p11 = (cli_pkcs11){NULL, NULL, 0, CLI_PASSPHRASE_INIT};
    a.pp = (cli_passphrase)CLI_PASSPHRASE_INIT;
    a.typename = "ed25519";
    if ((rc = parse_args(&a, argc, argv)) != 0) {
        goto out;
    }
    if (a.help) {
        fputs(keygen_usage, stdout);
        goto out;
    }
    if ((rc = check_args(&a, argc, argv)) != 0) {
        goto out;
    }
    rc = a.p11uri != NULL ? keygen_token(&a) : keygen_files(&a);
out:
    /* Never leave half a key pair: the .key we created goes when the .pub failed. */
    if (a.key_written && unlink(a.keypath) != 0) {
        cli_error("%s: could not remove it after the failure: %s", a.keypath, strerror(errno));
    }
    if (a.pass != NULL) {
        OPENSSL_cleanse(a.pass, NEW_PASS_MAX);
        free(a.pass);
    }
    sign_key_free(a.key);
    free(a.keypath);
    free(a.pubpath);
    return rc;
}
