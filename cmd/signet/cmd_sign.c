/* signet sign: artifacts -> statement -> DSSE -> Sigstore bundle. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "output.h"

static const char sign_usage[] =
    "usage: signet sign ((-k KEY | --pkcs11 URI) [--cert CERT] | --p12 FILE) [--embed-chain]\n"
    "                   [--passphrase-file F] [--pkcs11-module M] [--pin-file F]\n"
    "                   [--allow-pin-in-uri] [--allow FINDING]... [-o BUNDLE] [--force]\n"
    "                   [--kind file|zip|tar|oci|docker]\n"
    "                   [--name NAME]... [--ref NAME] [--all] [--follow-symlink] [--tsa URL]...\n"
    "                   [--tsa-optional] [--tsa-policy OID] [--tsa-timeout SECONDS]\n"
    "                   [--git DIR [--git-remote NAME] [--allow-dirty]] [--log DIR]\n"
    "                   [--event-log FILE] [--syslog] [--jobs N] [--version V | --version-from-tag]\n"
    "                   [--json] ARTIFACT...\n"
    "\n"
    "Sign files, zips, tar layers, OCI image layouts and docker save archives into\n"
    "one Sigstore bundle (default ARTIFACT.sigstore.json for a single artifact;\n"
    "-o is required for several).\n"
    "\n"
    "  -k, --key KEY            private key (PKCS#8 PEM); passphrase from\n"
    "                           --passphrase-file, SIGNET_PASSPHRASE or the terminal\n"
    "      --cert CERT          sign as the X.509 certificate of KEY (PEM or DER; the\n"
    "                           leaf, optionally followed by intermediates)\n"
    "      --p12 FILE           key and certificates from a PKCS#12 file instead of -k\n"
    "      --pkcs11 URI         the key in a PKCS#11 token (RFC 7512 URI, pkcs11:token=..;\n"
    "                           object=..); --cert may be a pkcs11: URI too\n"
    "      --pkcs11-module M    the PKCS#11 module (.so) when the URI has no module-path\n"
    "                           (default SIGNET_PKCS11_MODULE)\n"
    "      --pin-file F         the token's PIN from the first line of F (else\n"
    "                           SIGNET_PKCS11_PIN, else the terminal)\n"
    "      --allow-pin-in-uri   accept a pin-value in the URI (it shows in process lists)\n"
    "      --embed-chain        put the intermediates in the bundle (v0.2; never the root)\n"
    "      --passphrase-file F  read the key's passphrase from the first line of F\n"
    "      --allow FINDING      sign despite a dangerous finding with this id\n"
    "  -o, --output BUNDLE      write the bundle here (atomically); never over an\n"
    "                           existing file unless --force\n"
    "      --force              replace an existing bundle\n"
    "      --kind KIND          read the artifacts as this kind, whatever the content\n"
    "                           suggests: file (hashed whole), zip (also with a stub\n"
    "                           before it), tar (one layer, any name), oci or docker;\n"
    "                           bytes that cannot be read so are refused (exit 2).\n"
    "                           Without it the content decides (a warning when the name\n"
    "                           says otherwise)\n"
    "      --name NAME          name of the next artifact in the manifest (once per\n"
    "                           artifact, in order; default: the path given)\n"
    "      --ref NAME           OCI layout: the image with this ref name\n"
    "      --all                OCI layout: every manifest of the index, and the index\n"
    "      --platform OS/ARCH  docker:// multi-platform index: that platform's image\n"
    "      --tls-verify BOOL   docker://: false: no certificate check (or plain HTTP), that registry only\n"
    "      --follow-symlink     an ARTIFACT that is a symlink: sign its target under the\n"
    "                           link's name (default: the target's name, with a warning)\n"
    "      --git DIR            record the git source of the work tree DIR: remote, commit,\n"
    "                           tree, branch, tags, submodules (a dirty tree is refused)\n"
    "      --git-remote NAME    the remote whose URL is recorded (default origin)\n"
    "      --allow-dirty        record a work tree with uncommitted changes as dirty\n"
    "      --log DIR            append the bundle to the signing log DIR (signet log init)\n"
    "      --tsa URL            timestamp the signature at this RFC 3161 TSA (http or\n"
    "                           https; repeat for several); any failure writes nothing\n"
    "      --tsa-optional       sign anyway when TSAs fail (said on stderr)\n"
    "      --tsa-policy OID     ask the TSAs for this policy\n"
    "      --tsa-timeout SECONDS  connect and answer timeout per TSA, 1 to 600\n"
    "                           (default 10)\n"
    "      --version V          record the artifacts' version (integer or semantic\n"
    "                           version): a verify that keeps state refuses a downgrade\n"
    "      --version-from-tag   with --git: the version of the release tag v<version>\n"
    "                           that points at HEAD\n"
    "      --event-log FILE     append one JSON event line for this decision to FILE\n"
    "      --syslog             send the event to syslog (facility auth)\n"
    "      --jobs N             at most N threads at once (default: one per core)\n"
    "      --json               print the result (bundle, key id, artifacts) or the\n"
    "                           error as one JSON object on stdout\n"
    "  -h, --help               show this help\n";

static int same_path(const char *a, const char *b)
{
    struct stat sa, sb;

    if (strcmp(a, b) == 0) {
        return 1;
    }
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0) {
        return 0;
    }
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* 1 when path ends with one of the suffixes (a NULL-terminated list), case-insensitively. */
static int ends_with_any(const char *path, const char *const *suffixes)
{
    size_t n = strlen(path);

    for (size_t i = 0; suffixes[i] != NULL; i++) {
        size_t m = strlen(suffixes[i]);

        if (n > m && strcasecmp(path + n - m, suffixes[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static const char *const zip_names[] = {".zip", ".jar", ".war", ".ear", ".apk", ".whl", ".nupkg", NULL};
static const char *const tar_names[] = {".tar", ".tar.gz", ".tgz", ".tar.zst", NULL};

/*
 * Content decides the kind; say so when the name says otherwise (an empty or
 * text file named *.zip, a zip named *.sh, a zip with no entries), so that
 * nothing is signed as something else silently. Warnings only: --kind
 * states the intent.
 */
static void warn_kind_mismatch(sign_artifact *const *arts, size_t n, const char *kind_opt)
{
    for (size_t i = 0; arts != NULL && i < n; i++) {
        sign_artifact_kind k = arts[i] != NULL ? sign_artifact_get_kind(arts[i]) : SIGN_ARTIFACT_FILE;
        const char *path = arts[i] != NULL ? sign_artifact_path(arts[i]) : NULL;
        char *p;

        if (path == NULL || kind_opt != NULL) {
            continue;
        }
        p = sign_text_safe(path);
        if (ends_with_any(path, zip_names) && k != SIGN_ARTIFACT_ZIP) {
            cli_error("warning: %s is named like a zip but is %s; signed as a %s, not a zip", p != NULL ? p : "?",
                      sign_artifact_size(arts[i]) == 0 ? "empty" : "not one", sign_artifact_kind_name(k));
        } else if (ends_with_any(path, tar_names) && k == SIGN_ARTIFACT_FILE) {
            cli_error("warning: %s is named like a tar archive but is %s; signed as a plain file (say --kind file if "
                      "that is meant)",
                      p != NULL ? p : "?", sign_artifact_size(arts[i]) == 0 ? "empty" : "not one");
        } else if (k == SIGN_ARTIFACT_ZIP && !ends_with_any(path, zip_names)) {
            cli_error("warning: %s holds a zip archive: signed as a zip, its entries recorded (say --kind file to "
                      "sign it as a plain file, --kind zip to mean the zip)",
                      p != NULL ? p : "?");
        }
        if (k == SIGN_ARTIFACT_ZIP && sign_artifact_entry_count(arts[i]) == 0) {
            cli_error("warning: %s is a zip with no entries", p != NULL ? p : "?");
        }
        free(p);
    }
}

/*
 * --kind K: every artifact must be of that kind (the library forced it, or refused bytes not of it; this is
 * the last guard). Returns 0, or 1 after saying why.
 */
static int check_kind(sign_artifact *const *arts, size_t n, const char *kind_opt)
{
    static const struct {
        const char *opt;
        sign_artifact_kind kind;
    } kinds[] = {{"zip", SIGN_ARTIFACT_ZIP},
                 {"tar", SIGN_ARTIFACT_LAYER},
                 {"oci", SIGN_ARTIFACT_OCI},
                 {"docker", SIGN_ARTIFACT_DOCKER}};
    sign_artifact_kind want = SIGN_ARTIFACT_FILE;

    for (size_t k = 0; kind_opt != NULL && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        if (strcmp(kinds[k].opt, kind_opt) == 0) {
            want = kinds[k].kind;
        }
    }
    for (size_t i = 0; arts != NULL && kind_opt != NULL && i < n; i++) {
        const char *got = sign_artifact_kind_name(sign_artifact_get_kind(arts[i]));

        if (sign_artifact_get_kind(arts[i]) != want) {
            char *p = sign_text_safe(sign_artifact_path(arts[i]));

            out_json_note("ARTIFACT_KIND_REFUSED", "artifact", sign_artifact_path(arts[i]),
                          "not of the --kind given");
            cli_error("artifact %s is a %s, not a %s (--kind %s); nothing was written", p != NULL ? p : "?", got,
                      kind_opt, kind_opt);
            free(p);
            return 1;
        }
    }
    return 0;
}

/* The SIGN_ARTIFACT_AS_* flag of --kind K (0 without it). */
static unsigned int kind_flag(const char *kind_opt)
{
    static const struct {
        const char *opt;
        unsigned int flag;
    } flags[] = {{"file", SIGN_ARTIFACT_AS_FILE},
                 {"zip", SIGN_ARTIFACT_AS_ZIP},
                 {"tar", SIGN_ARTIFACT_AS_TAR},
                 {"oci", SIGN_ARTIFACT_AS_OCI},
                 {"docker", SIGN_ARTIFACT_AS_DOCKER}};

    for (size_t i = 0; kind_opt != NULL && i < sizeof(flags) / sizeof(flags[0]); i++) {
        if (strcmp(flags[i].opt, kind_opt) == 0) {
            return flags[i].flag;
        }
    }
    return 0;
}

static int is_allowed(const char *id, char *const *allow, size_t nallow)
{
    for (size_t i = 0; i < nallow; i++) {
        if (strcmp(allow[i], id) == 0) {
            return 1;
        }
    }
    return 0;
}

/* "--allow a --allow b" for every dangerous finding not yet allowed (ids once). */
static void print_refusal(sign_artifact *const *arts, size_t n, char *const *allow, size_t nallow)
{
    const char **seen = NULL;
    size_t nseen = 0, cap = 0;

    out_json_note("FINDING_REFUSED", "artifact", NULL,
                  "refusing to sign: dangerous findings (on standard error); sign with --allow ID if intended");
    fputs("signet: refusing to sign: dangerous findings (listed above); if they are intended, add", stderr);
    for (size_t i = 0; arts != NULL && i < n; i++) {
        size_t nf = arts[i] != NULL ? sign_artifact_finding_count(arts[i]) : 0;
        for (size_t j = 0; j < nf; j++) {
            const sign_finding *fd = sign_artifact_finding(arts[i], j);
            int dup = 0;
            if (fd->severity != SIGN_SEVERITY_DANGER || is_allowed(fd->id, allow, nallow)) {
                continue;
            }
            for (size_t k = 0; k < nseen; k++) {
                dup |= strcmp(seen[k], fd->id) == 0;
            }
            if (dup) {
                continue;
            }
            if (nseen == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                const char **ns = realloc(seen, ncap * sizeof(*ns));
                if (ns == NULL) {
                    break;
                }
                seen = ns;
                cap = ncap;
            }
            seen[nseen++] = fd->id;
            fprintf(stderr, " --allow %s", fd->id);
        }
    }
    if (nseen == 0) {
        fputs(" --allow for each dangerous finding", stderr);
    }
    fputc('\n', stderr);
    free(seen);
}

/* Push the bundle to the registry as a referrer of the signed image (its manifest, or its index with --all). */
static int push_bundle(char **pushed, const sign_bundle *bundle, const sign_artifact *a, const char *reference,
                       unsigned int artifact_flags)
{
    sign_registry_options ro = SIGN_REGISTRY_OPTIONS_INIT;
    sign_image_info info;
    char *text = NULL, dg[80], hex[2 * SIGN_SHA256_LEN + 1];
    size_t len = 0;
    const char *mt = "application/vnd.oci.image.index.v1+json";
    int r;

    if (sign_artifact_index_sha256(a) == NULL) {
        if (sign_artifact_image(&info, a, 0) != 0 || info.media_type == NULL) {
            return sign_artifact_image_count(a) == 0 ? SIGN_EINVAL : SIGN_EPARSE;
        }
        mt = info.media_type;
    }
    ro.flags = (artifact_flags & SIGN_ARTIFACT_REGISTRY_INSECURE) != 0 ? SIGN_REGISTRY_INSECURE : 0;
    if ((r = sign_bundle_serialize(&text, &len, bundle)) != 0) {
        return r;
    }
    (void)sign_hex_encode(hex, sizeof(hex), sign_artifact_sha256(a), SIGN_SHA256_LEN);
    snprintf(dg, sizeof(dg), "sha256:%s", hex);
    r = sign_registry_attach_bundle(pushed, reference, dg, sign_artifact_size(a), mt, text, len, &ro);
    free(text);
    return r;
}

/* sign --json: what was signed, as one object (the text line's facts, and each artifact). */
static void sign_print_json(const char *output, sign_artifact *const *arts, size_t nart, const char *keyid,
                            const char *subject, const sign_bundle *bundle)
{
    json_t *o, *list = json_array();
    char *text = NULL, *out_safe = sign_text_safe(output), *subj = subject != NULL ? sign_text_safe(subject) : NULL;

    for (size_t i = 0; list != NULL && i < nart; i++) {
        char hex[2 * SIGN_SHA256_LEN + 1], *name = sign_text_safe(sign_artifact_name(arts[i])),
                                           *path = sign_text_safe(sign_artifact_path(arts[i]));

        for (size_t k = 0; k < SIGN_SHA256_LEN; k++) {
            snprintf(hex + 2 * k, 3, "%02x", sign_artifact_sha256(arts[i])[k]);
        }
        (void)json_array_append_new(list,
                                    json_pack("{s:s?,s:s?,s:s,s:s,s:I}", "name", name, "path", path, "sha256", hex,
                                              "kind", sign_artifact_kind_name(sign_artifact_get_kind(arts[i])),
                                              "size", (json_int_t)sign_artifact_size(arts[i])));
        free(name);
        free(path);
    }
    o = json_pack("{s:i,s:s,s:s,s:s,s:s?,s:s,s:s?,s:I,s:o?}", "format_version", SIGN_VERDICT_FORMAT_VERSION,
                  "signet_version", SIGN_VERSION_STRING, "command", "sign", "code", "OK", "bundle", out_safe,
                  "key_id", keyid, "certificate_subject", subj, "timestamps",
                  (json_int_t)sign_bundle_timestamp_count(bundle), "artifacts", list);
    if (o != NULL) {
        text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
    }
    puts(text != NULL ? text : "{\"code\":\"OK\",\"command\":\"sign\"}");
    out_json_printed();
    free(text);
    json_decref(o);
    free(out_safe);
    free(subj);
}

int cmd_sign(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},
        {"passphrase-file", required_argument, NULL, 'P'},
        {"allow", required_argument, NULL, 'A'},
        {"output", required_argument, NULL, 'o'},
        {"name", required_argument, NULL, 'N'},
        {"event-log", required_argument, NULL, 'L'},
        {"syslog", no_argument, NULL, 'S'},
        {"cert", required_argument, NULL, 'C'},
        {"p12", required_argument, NULL, 'p'},
        {"embed-chain", no_argument, NULL, 'E'},
        {"tsa", required_argument, NULL, 'T'},
        {"tsa-optional", no_argument, NULL, 'O'},
        {"tsa-policy", required_argument, NULL, 'Y'},
        {"tsa-timeout", required_argument, NULL, 'W'},
        {"ref", required_argument, NULL, 'R'},
        {"all", no_argument, NULL, 'a'},
        {"platform", required_argument, NULL, OPT_PLATFORM},
        {"tls-verify", required_argument, NULL, OPT_TLS_VERIFY},
        {"follow-symlink", no_argument, NULL, 'F'},
        {"git", required_argument, NULL, 'G'},
        {"git-remote", required_argument, NULL, 'M'},
        {"allow-dirty", no_argument, NULL, 'D'},
        {"log", required_argument, NULL, 'l'},
        {"jobs", required_argument, NULL, 'j'},
        {"force", no_argument, NULL, 'f'},
        {"kind", required_argument, NULL, 'K'},
        {"version", required_argument, NULL, 'V'}, /* downgrade protection (issue 15) */
        {"version-from-tag", no_argument, NULL, 'X'},
        {"json", no_argument, NULL, 'J'},
        {"pkcs11", required_argument, NULL, '1'}, /* PKCS#11 tokens (issue 20) */
        {"pkcs11-module", required_argument, NULL, '2'},
        {"pin-file", required_argument, NULL, '3'},
        {"allow-pin-in-uri", no_argument, NULL, '4'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sign_sign_options opts = SIGN_SIGN_OPTIONS_INIT;
    cli_pkcs11 p11 = {NULL, NULL, 0, CLI_PASSPHRASE_INIT};
    const char *p11uri = NULL;
    cli_passphrase pp = CLI_PASSPHRASE_INIT;
    int to_registry = 0;
    char *pushed = NULL, where[1200];
    const char *keypath = NULL, *output = NULL, *event_log = NULL, *certpath = NULL, *p12path = NULL;
    const char *keyfile, *git_dir = NULL, *git_remote = NULL, *log_dir = NULL;
    int version_from_tag = 0;
    int event_fd = -1, use_syslog = 0, embed_chain = 0, allow_dirty = 0, force = 0;
    sign_source *source = NULL;
    const char *kind_opt = NULL;
    int kind_refused = 0;
    sign_x509_certs *certs = NULL;
    sign_x509_info info;
    char **allow = NULL, **names = NULL, *defout = NULL, **tsas = NULL;
    size_t nallow = 0, nnames = 0, nart = 0, ntsas = 0;
    sign_tsa_options topts = SIGN_TSA_OPTIONS_INIT;
    sign_key *key = NULL;
    sign_bundle *bundle = NULL;
    sign_artifact **arts = NULL;
    char keyid[SIGN_KEYID_SIZE];
    int c, r, rc = EXIT_USAGE;

    memset(&info, 0, sizeof(info));
    allow = calloc((size_t)argc + 1, sizeof(*allow));
    names = calloc((size_t)argc + 1, sizeof(*names));
    tsas = calloc((size_t)argc + 1, sizeof(*tsas));
    if (allow == NULL || names == NULL || tsas == NULL) {
        cli_error("out of memory");
        goto out;
    }
    if (out_check_long_options("sign", argc, argv, ":k:o:h", longopts) != 0) {
        goto out;
    }
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":k:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k': keypath = optarg; break;
        case 'P': pp.file = optarg; break;
        case 'A': allow[nallow++] = optarg; break;
        case 'o': output = optarg; break;
        case 'N': names[nnames++] = optarg; break;
        case 'R':          /* an OCI layout's ref name, or */
        case OPT_PLATFORM: /* a registry index's platform: both choose the image (sign_artifact_options) */
            opts.ref = optarg;
            break;
        case OPT_TLS_VERIFY: {
            int insecure = 0;

            if (out_parse_tls_verify(&insecure, "sign", optarg) != 0) {
                goto out;
            }
            if (insecure) {
                opts.artifact_flags |= SIGN_ARTIFACT_REGISTRY_INSECURE;
            }
            break;
        }
        case 'a': opts.artifact_flags |= SIGN_ARTIFACT_ALL_IMAGES; break;
        case 'F': opts.artifact_flags |= SIGN_ARTIFACT_FOLLOW_SYMLINK; break;
        case 'G': git_dir = optarg; break;
        case 'M': git_remote = optarg; break;
        case 'D': allow_dirty = 1; break;
        case 'l': log_dir = optarg; break;
        case 'X': version_from_tag = 1; break;
        case 'V':
            if (opts.artifact_version != NULL || sign_version_check(optarg) != 0) {
                rc = out_usage_error("sign",
                                     "--version %s: give it once, as a plain integer or a semantic version "
                                     "(1.2.3, 1.2.3-rc.1)",
                                     optarg);
                goto out;
            }
            opts.artifact_version = optarg;
            break;
        case 'L': event_log = optarg; break;
        case 'S': use_syslog = 1; break;
        case 'C': certpath = optarg; break;
        case '1': p11uri = optarg; break;
        case '2': p11.module = optarg; break;
        case '3': p11.pin_file = optarg; break;
        case '4': p11.allow_pin_in_uri = 1; break;
        case 'p': p12path = optarg; break;
        case 'E': embed_chain = 1; break;
        case 'f': force = 1; break;
        case 'J': break; /* out_json_active() */
        case 'K':
            if (strcmp(optarg, "file") != 0 && strcmp(optarg, "zip") != 0 && strcmp(optarg, "tar") != 0 &&
                strcmp(optarg, "oci") != 0 && strcmp(optarg, "docker") != 0) {
                rc = out_usage_error("sign", "--kind %s: give file, zip, tar, oci or docker", optarg);
                goto out;
            }
            kind_opt = optarg;
            break;
        case 'T': tsas[ntsas++] = optarg; break;
        case 'O': topts.flags |= SIGN_TSA_BEST_EFFORT; break;
        case 'Y': topts.policy_oid = optarg; break;
        case 'W':
            if (out_parse_seconds(&topts.timeout, "sign", "--tsa-timeout", optarg) != 0) {
                goto out;
            }
            topts.connect_timeout = topts.timeout;
            break;
        case 'j':
            if (out_parse_jobs("sign", optarg) != 0) {
                goto out;
            }
            break;
        case 'h':
            fputs(sign_usage, stdout);
            rc = 0;
            goto out;
        default: rc = out_getopt_error("sign", c, argv); goto out;
        }
    }
    nart = (size_t)(argc - optind);
    if (ntsas == 0 && (topts.flags != 0 || topts.policy_oid != NULL || topts.timeout != 0)) {
        rc = out_usage_error("sign", "--tsa-optional, --tsa-policy and --tsa-timeout need --tsa URL");
        goto out;
    }
    if (p12path != NULL && (keypath != NULL || certpath != NULL)) {
        rc = out_usage_error("sign", "--p12 holds the key and certificate: give it instead of -k and --cert");
        goto out;
    }
    if (p11uri != NULL && (keypath != NULL || p12path != NULL)) {
        rc = out_usage_error("sign", "--pkcs11 names the key: give it instead of -k and --p12");
        goto out;
    }
    if (keypath == NULL && p12path == NULL && p11uri == NULL) {
        rc = out_usage_error("sign", "a private key is required (-k KEY, --pkcs11 URI or --p12 FILE)");
        goto out;
    }
    if (embed_chain && certpath == NULL && p12path == NULL) {
        rc = out_usage_error("sign", "--embed-chain needs a certificate (--cert or --p12)");
        goto out;
    }
    keyfile = p12path != NULL ? p12path : p11uri != NULL ? p11uri : keypath;
    if (nart == 0) {
        rc = out_usage_error("sign", "no artifact given");
        goto out;
    }
    if (nnames != 0 && nnames != nart) {
        rc = out_usage_error("sign", "%zu --name for %zu artifacts: give one per artifact or none", nnames, nart);
        goto out;
    }
    to_registry = nart == 1 && sign_registry_is_reference(argv[optind]);
    if (output == NULL && !to_registry) {
        size_t n;
        if (nart > 1) {
            rc = out_usage_error("sign", "several artifacts go into one bundle: name it with -o BUNDLE");
            goto out;
        }
        n = strlen(argv[optind]) + sizeof(".sigstore.json");
        if ((defout = malloc(n)) == NULL) {
            cli_error("out of memory");
            goto out;
        }
        snprintf(defout, n, "%s.sigstore.json", argv[optind]);
        output = defout;
    }
    for (size_t i = 0; output != NULL && i < nart; i++) {
        if (same_path(output, argv[optind + (int)i]) || same_path(keyfile, argv[optind + (int)i]) ||
            same_path(output, keyfile) || (certpath != NULL && same_path(output, certpath))) {
            out_json_note("USAGE", "bundle", output, "refusing to write the bundle over an input");
            cli_error("%s: refusing to write the bundle over an input; choose another -o",
                      same_path(output, keyfile) ? keyfile : argv[optind + (int)i]);
            goto out;
        }
    }
    /* Another signer's bundle (a threshold) must not vanish under a second sign: gpg refuses too. */
    if (output != NULL && !force && access(output, F_OK) == 0) {
        char *o = sign_text_safe(output);

        out_json_note("OUTPUT_EXISTS", "bundle", output, "already exists; name another with -o, or --force");
        cli_error("bundle %s already exists; refusing to overwrite it: name another with -o, or replace it "
                  "with --force",
                  o != NULL ? o : "?");
        free(o);
        goto out;
    }
    if (out_source_date_epoch(&opts.created) != 0) {
        goto out;
    }
    if ((rc = cli_git_source(&source, git_dir, git_remote, allow_dirty)) != 0) {
        goto out;
    }
    rc = EXIT_USAGE;
    opts.source = source;
    if (version_from_tag) {
        const char *v = NULL;

        if (source == NULL || opts.artifact_version != NULL) {
            cli_error("--version-from-tag needs --git DIR, and no --version");
            goto out;
        }
        if (sign_source_version_tag(&v, source) != 0 || sign_version_check(v) != 0) {
            cli_error("--version-from-tag: %s",
                      sign_source_version_tag(&v, source) != 0
                          ? sign_error_last()
                          : "the release tag's version is not an integer or a semantic version");
            goto out;
        }
        opts.artifact_version = v;
    }
    if ((event_fd = out_event_open("sign", event_log)) == -2) {
        goto out;
    }
    pp.keyfile = keyfile;
    if (p11uri != NULL) {
        if ((r = cli_pkcs11_key(&key, p11uri, &p11)) != 0) {
            rc = r; /* an exit code, the error said */
            goto out;
        }
    } else if (p12path != NULL) {
        if ((r = sign_x509_load_p12(&key, &certs, p12path, cli_passphrase_cb, &pp)) != 0) {
            rc = cli_key_fail(r, NULL, &pp);
            goto out;
        }
    } else if ((r = sign_key_load_private(&key, keypath, cli_passphrase_cb, &pp)) != 0) {
        rc = cli_key_fail(r, keypath, &pp);
        goto out;
    }
    if (certpath != NULL && cli_is_pkcs11_uri(certpath)) {
        if ((r = cli_pkcs11_certs(&certs, certpath, &p11)) != 0) {
            rc = r; /* an exit code, the error said */
            goto out;
        }
    } else if (certpath != NULL && (r = sign_x509_certs_load(&certs, certpath)) != 0) {
        out_json_note(r == SIGN_ENOTFOUND ? "CERTIFICATE_MISSING" : "CERTIFICATE_MALFORMED", "certificate", certpath,
                      sign_error_last());
        rc = cli_fail(r, NULL);
        goto out;
    }
    if (certs != NULL && sign_x509_certs_info(&info, certs, 0) == 0) {
        char *subj = sign_text_safe(info.subject);

        if (!info.code_signing) {
            fprintf(stderr,
                    "signet: warning: certificate %s has no codeSigning extended key usage; a verifier's policy "
                    "requires it by default (EKU_MISSING) - ask your CA for a code-signing certificate\n",
                    subj != NULL ? subj : "");
        }
        if (info.is_ca) {
            fprintf(stderr,
                    "signet: warning: certificate %s is a CA certificate; verifiers will refuse it (LEAF_IS_CA) - "
                    "sign with an end-entity code-signing certificate\n",
                    subj != NULL ? subj : "");
        }
        if (!info.digital_signature) {
            fprintf(stderr,
                    "signet: warning: certificate %s does not allow digital signatures (keyUsage); verifiers will "
                    "refuse it (KEY_USAGE_INVALID)\n",
                    subj != NULL ? subj : "");
        }
        free(subj);
    }
    opts.certs = certs;
    opts.embed_chain = embed_chain;
    opts.key = key;
    opts.artifacts = (const char *const *)(argv + optind);
    opts.names = nnames > 0 ? (const char *const *)names : NULL;
    opts.nartifacts = nart;
    opts.allow = (const char *const *)allow;
    opts.nallow = nallow;
    opts.artifact_flags |= kind_flag(kind_opt); /* --kind forces the kind; bytes not of it are refused */
    /*
     * With TSAs the bundle is written only once its timestamps are in: nothing on a TSA failure; with
     * --kind only once every artifact is of that kind.
     */
    opts.output = ntsas > 0 || kind_opt != NULL ? NULL : output;
    if (out_progress_wanted()) {
        opts.progress = out_progress_cb;
    }
    r = sign_sign(&bundle, &arts, &opts);
    out_progress_end();
    if (r == 0 && check_kind(arts, nart, kind_opt) != 0) {
        r = SIGN_EINVAL;
        kind_refused = 1; /* said already */
    }
    if (r == 0 && ntsas > 0) {
        size_t added = 0;

        r = sign_timestamp_bundle(&added, bundle, (const char *const *)tsas, ntsas, &topts);
        if (r == 0 && added < ntsas) {
            if (added == 0) {
                cli_error("warning: %s; signing WITHOUT a timestamp (--tsa-optional)", sign_error_last());
            } else {
                cli_error("warning: %s; the bundle has %zu of %zu timestamps (--tsa-optional)", sign_error_last(),
                          added, ntsas);
            }
        }
    }
    if (r == 0 && output != NULL && (ntsas > 0 || kind_opt != NULL)) {
        r = sign_bundle_write(bundle, output);
    }
    if (r == 0 && to_registry) {
        r = push_bundle(&pushed, bundle, arts[0], argv[optind], opts.artifact_flags);
    }
    opts.output = output;
    if (event_fd >= 0 || use_syslog) {
        char *ev = NULL;
        int er = sign_event_sign(&ev, r, &opts, arts, key, 0);

        if (er != 0 || out_event_emit(event_fd, event_log, use_syslog, r != 0, ev) != 0) {
            if (er != 0) {
                cli_fail(er, "event");
            }
            free(ev);
            rc = EXIT_USAGE;
            goto out;
        }
        free(ev);
    }
    out_findings(stderr, arts, nart);
    if (r == 0) {
        warn_kind_mismatch(arts, nart, kind_opt);
    }
    if (r == SIGN_EFINDING) {
        print_refusal(arts, nart, allow, nallow);
        rc = EXIT_USAGE;
        goto out;
    }
    if (r != 0) {
        if (kind_opt != NULL && r == SIGN_EPARSE && strstr(sign_error_last(), "(--kind ") != NULL) {
            out_json_note("ARTIFACT_KIND_REFUSED", "artifact", NULL, sign_error_last());
        } else if (r == SIGN_ENOTFOUND || r == SIGN_EPARSE || (r == SIGN_EINVAL && !kind_refused)) {
            out_json_note("ARTIFACT_UNREADABLE", "artifact", NULL, sign_error_last());
        }
        rc = kind_refused ? EXIT_USAGE : cli_fail(r, NULL);
        goto out;
    }
    if (sign_key_id(keyid, sizeof(keyid), key) != 0) {
        keyid[0] = '\0';
    }
    if (pushed != NULL) {
        snprintf(where, sizeof(where), "%s%s%s (referrer %s)", output != NULL ? output : "",
                 output != NULL ? " and " : "", argv[optind], pushed);
    } else {
        snprintf(where, sizeof(where), "%s", output);
    }
    if (out_json_active()) {
        rc = log_dir != NULL && output != NULL ? cli_log_bundle(log_dir, output) : 0;
        if (rc == 0) {
            sign_print_json(output, arts, nart, keyid, certs != NULL ? info.subject : NULL, bundle);
        }
        goto out;
    }
    if (certs != NULL) {
        char *subj = sign_text_safe(info.subject);

        printf("signed %zu artifact(s) -> %s (certificate %s, key id %s%s)\n", nart, where, subj != NULL ? subj : "",
               keyid, embed_chain ? ", chain embedded" : "");
        free(subj);
    } else {
        printf("signed %zu artifact(s) -> %s (key id %s)\n", nart, where, keyid);
    }
    rc = log_dir != NULL && output != NULL ? cli_log_bundle(log_dir, output) : 0;
out:
    sign_source_free(source);
    if (arts != NULL) {
        for (size_t i = 0; i < nart; i++) {
            sign_artifact_free(arts[i]);
        }
        free(arts);
    }
    if (event_fd >= 0) {
        close(event_fd);
    }
    sign_bundle_free(bundle);
    sign_key_free(key);
    sign_x509_certs_free(certs);
    free(defout);
    free(pushed);
    free(allow);
    free(names);
    free(tsas);
    return rc;
}
