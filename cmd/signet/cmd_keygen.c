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

int cmd_keygen(int argc, char **argv)
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
    cli_pkcs11 p11 = {NULL, NULL, 0, CLI_PASSPHRASE_INIT};
    const char *p11uri = NULL;
    cli_passphrase pp = CLI_PASSPHRASE_INIT;
    const char *prefix = NULL, *typename = "ed25519";
    char *keypath = NULL, *pubpath = NULL, *pass = NULL;
    char keyid[SIGN_KEYID_SIZE], fpr[SIGN_FINGERPRINT_SIZE];
    sign_key *key = NULL;
    size_t ti, ntypes = sizeof(keygen_types) / sizeof(keygen_types[0]);
    int c, r, n = 0, no_pass = 0, key_written = 0, rc = EXIT_USAGE;

    if (out_check_long_options("keygen", argc, argv, ":t:o:h", longopts) != 0) {
        goto out;
    }
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":t:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': typename = optarg; break;
        case 'o': prefix = optarg; break;
        case 'N': no_pass = 1; break;
        case 'P': pp.file = optarg; break;
        case 'J': break; /* out_json_active() */
        case '1': p11uri = optarg; break;
        case '2': p11.module = optarg; break;
        case '3': p11.pin_file = optarg; break;
        case 'h':
            fputs(keygen_usage, stdout);
            rc = 0;
            goto out;
        case ':':
            rc = optopt != 0 ? out_usage_error("keygen", "option -%c needs a value", optopt)
                             : out_usage_error("keygen", "option %s needs a value", argv[optind - 1]);
            goto out;
        default:
            /* Only short options get here (long ones were checked): name the letter, not the word. */
            if (strncmp(argv[optind - 1], "--", 2) == 0) {
                /* A full long name (checked above) given a value it does not take. */
                rc = out_usage_error("keygen", "option --%.*s takes no value",
                                     (int)strcspn(argv[optind - 1] + 2, "="), argv[optind - 1] + 2);
            } else {
                rc = out_usage_error("keygen", "unknown option -%c", optopt);
            }
            goto out;
        }
    }
    if (optind < argc) {
        rc = out_usage_error("keygen", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (prefix == NULL || prefix[0] == '\0') {
        rc = out_usage_error("keygen", "name the key files with -o PREFIX");
        goto out;
    }
    if (prefix[strlen(prefix) - 1] == '/') {
        rc = out_usage_error("keygen", "-o PREFIX names files, not a directory: try -o %skey", prefix);
        goto out;
    }
    if (no_pass && pp.file != NULL) {
        rc = out_usage_error("keygen", "--no-passphrase and --passphrase-file contradict each other");
        goto out;
    }
    for (ti = 0; ti < ntypes; ti++) {
        if (strcmp(typename, keygen_types[ti].name) == 0) {
            break;
        }
    }
    if (ti == ntypes) {
        rc = out_usage_error("keygen", "unknown key type '%s' (ed25519, ecdsa-p256, ecdsa-p384, rsa-3072)", typename);
        goto out;
    }
    if (p11uri != NULL) {
        if (no_pass || pp.file != NULL) {
            rc = out_usage_error("keygen", "a token key has no passphrase: --pkcs11 takes --pin-file, not "
                                           "--no-passphrase or --passphrase-file");
            goto out;
        }
        if ((pubpath = keygen_path(prefix, ".pub")) == NULL) {
            cli_error("out of memory");
            goto out;
        }
        if (keygen_taken(pubpath)) {
            cli_error("%s already exists; refusing to overwrite it (choose another -o PREFIX)", pubpath);
            goto out;
        }
        rc = cli_pkcs11_keygen(p11uri, &p11, keygen_types[ti].type, keygen_types[ti].bits, pubpath);
        goto out;
    } else if (p11.module != NULL || p11.pin_file != NULL) {
        rc = out_usage_error("keygen", "--pkcs11-module and --pin-file go with --pkcs11 URI");
        goto out;
    }
    keypath = keygen_path(prefix, ".key");
    pubpath = keygen_path(prefix, ".pub");
    if (keypath == NULL || pubpath == NULL) {
        cli_error("out of memory");
        goto out;
    }
    /* Both names are checked before anything is written. */
    if (keygen_taken(keypath) || keygen_taken(pubpath)) {
        out_json_note("OUTPUT_EXISTS", "key", keygen_taken(keypath) ? keypath : pubpath, "already exists");
        cli_error("%s already exists; refusing to overwrite it (choose another -o PREFIX)",
                  keygen_taken(keypath) ? keypath : pubpath);
        goto out;
    }
    if (!no_pass) {
        if ((pass = malloc(NEW_PASS_MAX)) == NULL) {
            cli_error("out of memory");
            goto out;
        }
        pp.keyfile = keypath;
        n = cli_passphrase_cb(pass, NEW_PASS_MAX, 1, &pp);
        if (n < 0) {
            /* The callback says why when it had a source; say what to do when it had none. */
            if (getenv("SIGNET_PASSPHRASE") == NULL && pp.file == NULL && !keygen_have_tty()) {
                cli_error("no passphrase for the new key and no terminal to ask: set SIGNET_PASSPHRASE, use "
                          "--passphrase-file F, or --no-passphrase");
            }
            goto out;
        }
        if (n == 0) {
            cli_error("refusing an empty passphrase; use --no-passphrase for an unencrypted key");
            goto out;
        }
    }
    if ((r = sign_key_generate(&key, keygen_types[ti].type, keygen_types[ti].bits)) != 0) {
        rc = cli_fail(r, "keygen");
        goto out;
    }
    if ((r = sign_key_id(keyid, sizeof(keyid), key)) != 0 || (r = sign_key_fingerprint(fpr, sizeof(fpr), key)) != 0) {
        rc = cli_fail(r, "keygen");
        goto out;
    }
    if ((r = sign_key_write_private(key, keypath, no_pass ? NULL : pass, (size_t)n)) != 0) {
        rc = cli_fail(r, keypath);
        goto out;
    }
    key_written = 1;
    if ((r = sign_key_write_public(key, pubpath)) != 0) {
        rc = cli_fail(r, pubpath);
        goto out;
    }
    key_written = 0; /* complete: keep it */
    if (out_json_active()) {
        keygen_print_json(typename, keypath, pubpath, no_pass, keyid, fpr);
    } else {
        printf("type: %s\n", typename);
        printf("private key: %s (%s)\n", keypath, no_pass ? "NOT encrypted" : "encrypted");
        printf("public key: %s\n", pubpath);
        printf("key id: %s\n", keyid);
        printf("fingerprint: %s\n", fpr);
    }
    if (fflush(stdout) != 0) {
        cli_error("writing to stdout failed");
        rc = EXIT_USAGE;
        goto out;
    }
    rc = 0;
out:
    /* Never leave half a key pair: the .key we created goes when the .pub failed. */
    if (key_written && unlink(keypath) != 0) {
        cli_error("%s: could not remove it after the failure: %s", keypath, strerror(errno));
    }
    if (pass != NULL) {
        OPENSSL_cleanse(pass, NEW_PASS_MAX);
        free(pass);
    }
    sign_key_free(key);
    free(keypath);
    free(pubpath);
    return rc;
}
