/* signet revoke: signed revocation lists of keys and artifacts (init, key, artifact, renew, show). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "output.h"

static const char revoke_usage[] =
    "usage: signet revoke init     -k AUTHORITY.key [--expires DURATION] -o LIST\n"
    "       signet revoke key      -k AUTHORITY.key --list LIST (--key PUB | --key-id ID)\n"
    "                              --reason R [--effective TIME] [--comment TEXT] [--expires DURATION]\n"
    "       signet revoke artifact -k AUTHORITY.key --list LIST (ARTIFACT | --digest sha256:HEX)\n"
    "                              --reason R [--name NAME] [--comment TEXT] [--expires DURATION]\n"
    "       signet revoke renew    -k AUTHORITY.key --list LIST [--expires DURATION]\n"
    "       signet revoke show     [--json] [--authority PUB] LIST\n"
    "\n"
    "A revocation list is a Sigstore bundle signed by a revocation authority. Each\n"
    "change writes the next version atomically; a key is never un-revoked and an\n"
    "effective time never moves later. See signet-revoke(1) and docs/revocation.md.\n"
    "\n"
    "  -k, --key-file KEY     the authority's private key (PKCS#8 PEM), or --p12 FILE\n"
    "      --p12 FILE         the authority's key from a PKCS#12 file\n"
    "      --pkcs11 URI       the authority's key in a PKCS#11 token (instead of -k)\n"
    "      --pkcs11-module M  the module when the URI has no module-path\n"
    "                         (default SIGNET_PKCS11_MODULE)\n"
    "      --pin-file F       the token's PIN (else SIGNET_PKCS11_PIN, else the terminal)\n"
    "      --passphrase-file F  read the key's passphrase from the first line of F\n"
    "  -o, --output LIST      init: the new list (an existing file is refused)\n"
    "      --list LIST        the list to change (replaced atomically)\n"
    "      --key PUB          revoke this public key (PEM or DER)\n"
    "      --key-id ID        revoke this key id (base64 SHA-256 of the SPKI, as in bundles)\n"
    "      --digest sha256:HEX  revoke these artifact bytes (instead of ARTIFACT)\n"
    "      --reason R         keyCompromise, superseded, cessationOfOperation or other\n"
    "      --effective TIME   signatures from TIME on are void (RFC 3339 UTC); default: the\n"
    "                         time of this version, except keyCompromise: every signature\n"
    "      --name NAME        the artifact's name, for people (default: the path given)\n"
    "      --comment TEXT     a note kept in the list\n"
    "      --expires DURATION  validity of the new version, <n>s|m|h|d (default: init 30d,\n"
    "                         later versions that of the previous one)\n"
    "      --authority PUB    show: check the list's signature with this public key\n"
    "      --json             show: the list's payload as JSON\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 done, 2 usage or input error (nothing written), 3 the list is not\n"
    "signed by the key given.\n";

#define DEFAULT_EXPIRES (30 * 86400)

typedef struct rv_args {
    const char *sub;
    const char *keypath, *p12path, *output, *list, *pubkey, *key_id, *digest, *reason, *effective, *name;
    const char *comment, *expires, *authority;
    int json;
    cli_passphrase pp;
    const char *positional; /* ARTIFACT (artifact) or LIST (show) */
    const char *p11uri;     /* --pkcs11 */
    cli_pkcs11 p11;
} rv_args;

static int parse_args(rv_args *a, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"key-file", required_argument, NULL, 'k'},
        {"p12", required_argument, NULL, 'p'},
        {"pkcs11", required_argument, NULL, '1'},
        {"pkcs11-module", required_argument, NULL, '2'},
        {"pin-file", required_argument, NULL, '3'},
        {"passphrase-file", required_argument, NULL, 'P'},
        {"output", required_argument, NULL, 'o'},
        {"list", required_argument, NULL, 'l'},
        {"key", required_argument, NULL, 'K'},
        {"key-id", required_argument, NULL, 'I'},
        {"digest", required_argument, NULL, 'd'},
        {"reason", required_argument, NULL, 'r'},
        {"effective", required_argument, NULL, 'e'},
        {"name", required_argument, NULL, 'n'},
        {"comment", required_argument, NULL, 'c'},
        {"expires", required_argument, NULL, 'x'},
        {"authority", required_argument, NULL, 'A'},
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char **slot;
    int c;

    if (out_check_long_options("revoke", argc, argv, ":k:o:h", longopts) != 0) {
        return EXIT_USAGE;
    }
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":k:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k': slot = &a->keypath; break;
        case 'p': slot = &a->p12path; break;
        case '1': slot = &a->p11uri; break;
        case '2': slot = &a->p11.module; break;
        case '3': slot = &a->p11.pin_file; break;
        case 'P': slot = &a->pp.file; break;
        case 'o': slot = &a->output; break;
        case 'l': slot = &a->list; break;
        case 'K': slot = &a->pubkey; break;
        case 'I': slot = &a->key_id; break;
        case 'd': slot = &a->digest; break;
        case 'r': slot = &a->reason; break;
        case 'e': slot = &a->effective; break;
        case 'n': slot = &a->name; break;
        case 'c': slot = &a->comment; break;
        case 'x': slot = &a->expires; break;
        case 'A': slot = &a->authority; break;
        case 'J': a->json = 1; continue;
        case 'h': fputs(revoke_usage, stdout); return -1;
        default: return out_getopt_error("revoke", c, argv);
        }
        if (*slot != NULL) {
            return out_usage_error("revoke", "%s given twice", argv[optind - 1]);
        }
        *slot = optarg;
    }
    if (optind < argc) {
        a->positional = argv[optind++];
    }
    if (optind < argc) {
        return out_usage_error("revoke", "unexpected argument %s", argv[optind]);
    }
    return 0;
}

static int load_authority(sign_key **key, rv_args *a)
{
    sign_x509_certs *certs = NULL;
    int r;

    if ((a->keypath != NULL) + (a->p12path != NULL) + (a->p11uri != NULL) != 1) {
        return out_usage_error("revoke",
                               "the authority's private key is required (-k KEY, --p12 FILE or --pkcs11 URI, one)");
    }
    if (a->p11uri != NULL) {
        return cli_pkcs11_key(key, a->p11uri, &a->p11);
    }
    if (a->p12path != NULL) {
        r = sign_x509_load_p12(key, &certs, a->p12path, cli_passphrase_cb, &a->pp);
        sign_x509_certs_free(certs);
        return r != 0 ? cli_fail(r, a->p12path) : 0;
    }
    r = sign_key_load_private(key, a->keypath, cli_passphrase_cb, &a->pp);
    return r != 0 ? cli_fail(r, a->keypath) : 0;
}

static int expiry(int64_t *out, const char *text, int64_t dflt, int64_t now)
{
    int64_t d = dflt;

    if (text != NULL && (sign_parse_duration(&d, text) != 0 || d <= 0)) {
        return out_usage_error("revoke", "--expires %s: give a duration such as 7d, 12h", text);
    }
    if (d > INT64_C(100) * 365 * 86400) {
        return out_usage_error("revoke", "--expires %s: at most 100 years",
                               text != NULL ? text : "(the previous version's validity)");
    }
    *out = now + d;
    return 0;
}

/* Write the bundle of l signed by key to path atomically; "init" refuses to replace a file. */
static int write_list(const sign_revocation_list *l, const sign_key *key, const char *path)
{
    sign_bundle *b = NULL;
    int r;

    if ((r = sign_revocation_list_sign(&b, l, key)) == 0) {
        r = sign_bundle_write(b, path);
    }
    sign_bundle_free(b);
    return r != 0 ? cli_fail(r, path) : 0;
}

static void print_version(const char *path, const sign_revocation_list *l)
{
    char te[32] = "", clean[1024];

    sign_format_time(te, sizeof(te), sign_revocation_list_expires(l));
    printf("%s: version %lld, expires %s, %zu key(s) and %zu artifact(s) revoked\n",
           out_clean_text(clean, sizeof(clean), path), (long long)sign_revocation_list_version(l), te,
           sign_revocation_list_key_count(l), sign_revocation_list_artifact_count(l));
}

static int do_init(rv_args *a, int64_t now)
{
    sign_revocation_list *l = NULL;
    sign_key *key = NULL;
    struct stat st;
    int64_t exp = 0;
    int rc;

    if (a->output == NULL) {
        return out_usage_error("revoke", "init: the new list's path is required (-o LIST)");
    }
    if (lstat(a->output, &st) == 0) {
        cli_error("%s exists; revoke init starts a new list and never replaces one (use revoke renew)", a->output);
        return EXIT_USAGE;
    }
    if ((rc = expiry(&exp, a->expires, DEFAULT_EXPIRES, now)) != 0 || (rc = load_authority(&key, a)) != 0) {
        return rc;
    }
    if ((rc = sign_revocation_list_new(&l, now, exp)) != 0) {
        rc = cli_fail(rc, "revoke init");
    } else if ((rc = write_list(l, key, a->output)) == 0) {
        printf("created ");
        print_version(a->output, l);
    }
    sign_revocation_list_free(l);
    sign_key_free(key);
    return rc;
}

/* The current list at a->list, signed by key (the same authority continues it), and the next version of it. */
static int open_next(sign_revocation_list **next, const sign_key *key, rv_args *a, int64_t now)
{
    sign_revocation_list *cur = NULL;
    sign_bundle *b = NULL;
    sign_key *pub = NULL;
    unsigned char sha[32];
    int64_t exp = 0;
    int r, rc = EXIT_USAGE;

    *next = NULL;
    if ((r = sign_bundle_read(&b, a->list, NULL)) != 0 || (r = sign_key_public_copy(&pub, key)) != 0) {
        rc = cli_fail(r, a->list);
        goto out;
    }
    r = sign_revocation_bundle_open(&cur, sha, NULL, b, (const sign_key *const *)&pub, 1, NULL);
    if (r != 0) {
        rc = cli_fail(r, a->list);
        goto out;
    }
    if ((rc = expiry(&exp, a->expires, sign_revocation_list_expires(cur) - sign_revocation_list_issued(cur), now)) !=
        0) {
        goto out;
    }
    /* Versions are issued in order: a clock behind the last issue time would make the new one look older. */
    if (now < sign_revocation_list_issued(cur)) {
        now = sign_revocation_list_issued(cur);
        if ((rc = expiry(&exp, a->expires, sign_revocation_list_expires(cur) - sign_revocation_list_issued(cur),
                         now)) != 0) {
            goto out;
        }
    }
    if ((r = sign_revocation_list_next(next, cur, sha, now, exp)) != 0) {
        rc = cli_fail(r, a->list);
        goto out;
    }
    rc = 0;
out:
    sign_revocation_list_free(cur);
    sign_bundle_free(b);
    sign_key_free(pub);
    return rc;
}

static int key_id_of(char out[SIGN_KEYID_SIZE], rv_args *a)
{
    sign_key *k = NULL;
    char fp[SIGN_FINGERPRINT_SIZE];
    int r;

    if ((a->pubkey == NULL) == (a->key_id == NULL)) {
        return out_usage_error("revoke", "key: name the key to revoke with --key PUB or --key-id ID (one)");
    }
    if (a->key_id != NULL) {
        if (strlen(a->key_id) >= SIGN_KEYID_SIZE || sign_keyid_fingerprint(fp, sizeof(fp), a->key_id) != 0) {
            return out_usage_error("revoke", "--key-id: not a key id (base64 of the SHA-256 of a public key)");
        }
        snprintf(out, SIGN_KEYID_SIZE, "%s", a->key_id);
        return 0;
    }
    if ((r = sign_key_load_public(&k, a->pubkey)) == 0) {
        r = sign_key_id(out, SIGN_KEYID_SIZE, k);
    }
    sign_key_free(k);
    return r != 0 ? cli_fail(r, a->pubkey) : 0;
}

/* The change one subcommand makes to the next version; *changed and a line saying what. */
static int apply_change(sign_revocation_list *l, rv_args *a, int64_t now, int *changed, char *what, size_t wsize)
{
    sign_revocation_reason reason;
    char kid[SIGN_KEYID_SIZE], te[32] = "", hex[65];
    unsigned char sha[32];
    int64_t eff = now;
    int r, has_eff;

    *changed = 0;
    if (strcmp(a->sub, "renew") == 0) {
        *changed = 1;
        snprintf(what, wsize, "renewed: same revocations");
        return 0;
    }
    if (a->reason == NULL || sign_revocation_reason_from_name(&reason, a->reason) != 0) {
        return out_usage_error("revoke", "--reason: one of keyCompromise, superseded, cessationOfOperation, other");
    }
    if (strcmp(a->sub, "key") == 0) {
        if ((r = key_id_of(kid, a)) != 0) {
            return r;
        }
        if (a->effective != NULL && sign_parse_time(&eff, a->effective) != 0) {
            return out_usage_error("revoke", "--effective %s: not an RFC 3339 UTC time", a->effective);
        }
        has_eff = a->effective != NULL || reason != SIGN_REVOKE_KEY_COMPROMISE;
        if ((r = sign_revocation_list_add_key(l, changed, kid, has_eff, eff, reason, a->comment)) != 0) {
            return cli_fail(r, a->list);
        }
        sign_format_time(te, sizeof(te), eff);
        snprintf(what, wsize, "key %s %s (%s, %s%s)", kid, *changed ? "revoked" : "already revoked so", a->reason,
                 has_eff ? "signatures from " : "every signature", has_eff ? te : "");
        return 0;
    }
    if ((a->positional == NULL) == (a->digest == NULL)) {
        return out_usage_error("revoke", "artifact: give the ARTIFACT or --digest sha256:HEX (one)");
    }
    if (a->digest != NULL) {
        if (strncmp(a->digest, "sha256:", 7) != 0 || strlen(a->digest + 7) != 64 ||
            sign_hex_decode(sha, sizeof(sha), a->digest + 7) != 0) {
            return out_usage_error("revoke", "--digest %s: give sha256: and 64 hex digits", a->digest);
        }
    } else if ((r = sign_digest_file(sha, sizeof(sha), NULL, NULL, SIGN_DIGEST_SHA256, a->positional)) != 0) {
        return cli_fail(r, a->positional);
    }
    if ((r = sign_revocation_list_add_artifact(l, changed, sha, a->name != NULL ? a->name : a->positional, reason,
                                               a->comment)) != 0) {
        return cli_fail(r, a->list);
    }
    sign_hex_encode(hex, sizeof(hex), sha, 32);
    snprintf(what, wsize, "artifact sha256:%s %s (%s)", hex, *changed ? "revoked" : "already revoked", a->reason);
    return 0;
}

static int do_change(rv_args *a, int64_t now)
{
    sign_revocation_list *next = NULL;
    sign_key *key = NULL;
    char what[512], clean[1024];
    int rc, changed = 0;

    if (a->list == NULL) {
        return out_usage_error("revoke", "%s: the list is required (--list LIST)", a->sub);
    }
    if ((rc = load_authority(&key, a)) != 0 || (rc = open_next(&next, key, a, now)) != 0 ||
        (rc = apply_change(next, a, sign_revocation_list_issued(next), &changed, what, sizeof(what))) != 0) {
        goto out;
    }
    if (!changed) {
        printf("%s; %s unchanged\n", out_clean_text(clean, sizeof(clean), what), a->list);
        goto out;
    }
    if ((rc = write_list(next, key, a->list)) == 0) {
        printf("%s\n", out_clean_text(clean, sizeof(clean), what));
        print_version(a->list, next);
    }
out:
    sign_revocation_list_free(next);
    sign_key_free(key);
    return rc;
}

static void show_human(const sign_revocation_list *l, const char *path, const char *trust)
{
    char t1[32] = "", t2[32] = "", hex[65] = "", clean[2048];
    const unsigned char *prev = sign_revocation_list_previous(l);

    sign_format_time(t1, sizeof(t1), sign_revocation_list_issued(l));
    sign_format_time(t2, sizeof(t2), sign_revocation_list_expires(l));
    if (prev != NULL) {
        sign_hex_encode(hex, sizeof(hex), prev, 32);
    }
    printf("list:     %s (%s)\nversion:  %lld\nissued:   %s\nexpires:  %s\n",
           out_clean_text(clean, sizeof(clean), path), trust, (long long)sign_revocation_list_version(l), t1, t2);
    printf("previous: %s\n", prev != NULL ? hex : "(none: version 1)");
    for (size_t i = 0; i < sign_revocation_list_key_count(l); i++) {
        sign_revoked_key k;

        if (sign_revocation_list_key(&k, l, i) != 0) {
            continue;
        }
        if (k.has_effective) {
            sign_format_time(t1, sizeof(t1), k.effective);
        }
        printf("key       %s %s %s%s\n", k.key_id, sign_revocation_reason_name(k.reason),
               k.has_effective ? "from " : "every-signature", k.has_effective ? t1 : "");
        if (k.comment != NULL) {
            printf("          comment: %s\n", out_clean_text(clean, sizeof(clean), k.comment));
        }
    }
    for (size_t i = 0; i < sign_revocation_list_artifact_count(l); i++) {
        sign_revoked_artifact r;

        if (sign_revocation_list_artifact(&r, l, i) != 0) {
            continue;
        }
        sign_hex_encode(hex, sizeof(hex), r.sha256, 32);
        printf("artifact  sha256:%s %s %s\n", hex, sign_revocation_reason_name(r.reason),
               r.name != NULL ? out_clean_text(clean, sizeof(clean), r.name) : "");
    }
}

static int do_show(rv_args *a)
{
    sign_revocation_list *l = NULL;
    sign_bundle *b = NULL;
    sign_key *pub = NULL;
    char *js = NULL;
    int r, rc = EXIT_USAGE;

    if (a->positional == NULL) {
        return out_usage_error("revoke", "show: the list is required");
    }
    if ((r = sign_bundle_read(&b, a->positional, NULL)) != 0 ||
        (a->authority != NULL && (r = sign_key_load_public(&pub, a->authority)) != 0)) {
        rc = cli_fail(r, a->authority != NULL && b != NULL ? a->authority : a->positional);
        goto out;
    }
    r = sign_revocation_bundle_open(&l, NULL, NULL, b, (const sign_key *const *)&pub, pub != NULL ? 1 : 0, NULL);
    if (r != 0) {
        rc = cli_fail(r, a->positional);
        goto out;
    }
    if (a->json) {
        if ((r = sign_revocation_list_serialize(&js, NULL, l)) != 0) {
            rc = cli_fail(r, "revoke show");
            goto out;
        }
        printf("%s\n", js);
    } else {
        show_human(l, a->positional,
                   pub != NULL ? "signature verified with the authority given"
                               : "signature NOT checked: give --authority PUB");
    }
    rc = 0;
out:
    free(js);
    sign_revocation_list_free(l);
    sign_bundle_free(b);
    sign_key_free(pub);
    return rc;
}

int cmd_revoke(int argc, char **argv)
{
    rv_args a;
    int64_t now;
    int rc;

    memset(&a, 0, sizeof(a));
    a.pp = (cli_passphrase)CLI_PASSPHRASE_INIT;
    a.p11.pp = (cli_passphrase)CLI_PASSPHRASE_INIT;
    if (argc < 2) {
        fputs(revoke_usage, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(revoke_usage, stdout);
        return argc == 2 ? 0 : EXIT_USAGE;
    }
    a.sub = argv[1];
    if ((rc = parse_args(&a, argc - 1, argv + 1)) != 0) {
        return rc < 0 ? 0 : rc;
    }
    now = (int64_t)time(NULL);
    if (strcmp(a.sub, "init") == 0) {
        return do_init(&a, now);
    }
    if (strcmp(a.sub, "key") == 0 || strcmp(a.sub, "artifact") == 0 || strcmp(a.sub, "renew") == 0) {
        return do_change(&a, now);
    }
    if (strcmp(a.sub, "show") == 0) {
        return do_show(&a);
    }
    cli_error("revoke: unknown subcommand '%s' (init, key, artifact, renew, show)", a.sub);
    return EXIT_USAGE;
}
