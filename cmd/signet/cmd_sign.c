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

/* Everything one signet sign run holds: the options given, then what it loaded and made. */
typedef struct sargs {
    sign_sign_options o;
    sign_tsa_options topts;
    cli_pkcs11 p11;
    cli_passphrase pp;
    cli_input in; /* --ref, --platform, --tls-verify, --all, --jobs, --follow-symlink, --git... */
    const char *keypath, *output, *event_log, *certpath, *p12path, *p11uri, *keyfile;
    const char *log_dir, *kind_opt;
    char **allow, **names, **tsas, *defout, *pushed;
    size_t nallow, nnames, ntsas, nart;
    int version_from_tag, use_syslog, embed_chain, force, to_registry, help;
    /* the run */
    sign_source *source;
    sign_x509_certs *certs;
    sign_x509_info info;
    sign_key *key;
    sign_bundle *bundle;
    sign_artifact **arts;
    int event_fd, kind_refused;
} sargs;

/* The options that take a checked value: 0, or the exit code after saying why. */
static int take_value_opt(sargs *a, int c)
{
    switch (c) {
    case 'V':
        if (a->o.artifact_version != NULL || sign_version_check(optarg) != 0) {
            return out_usage_error("sign",
                                   "--version %s: give it once, as a plain integer or a semantic version "
                                   "(1.2.3, 1.2.3-rc.1)",
                                   optarg);
        }
        a->o.artifact_version = optarg;
        return 0;
    case 'K':
        if (strcmp(optarg, "file") != 0 && strcmp(optarg, "zip") != 0 && strcmp(optarg, "tar") != 0 &&
            strcmp(optarg, "oci") != 0 && strcmp(optarg, "docker") != 0) {
            return out_usage_error("sign", "--kind %s: give file, zip, tar, oci or docker", optarg);
        }
        a->kind_opt = optarg;
        return 0;
    case 'W':
        if (out_parse_seconds(&a->topts.timeout, "sign", "--tsa-timeout", optarg) != 0) {
            return EXIT_USAGE;
        }
        a->topts.connect_timeout = a->topts.timeout;
        return 0;
    default: return EXIT_USAGE;
    }
}

/* One option: 0, or the exit code after saying why. */
static int take_opt(sargs *a, int c, char **argv)
{
    int taken = cli_input_opt(&a->in, "sign", c, optarg);

    if (taken != 0) {
        return taken < 0 ? EXIT_USAGE : 0;
    }
    switch (c) {
    case 'k': a->keypath = optarg; break;
    case 'P': a->pp.file = optarg; break;
    case 'A': a->allow[a->nallow++] = optarg; break;
    case 'o': a->output = optarg; break;
    case 'N': a->names[a->nnames++] = optarg; break;
    case 'l': a->log_dir = optarg; break;
    case 'X': a->version_from_tag = 1; break;
    case 'L': a->event_log = optarg; break;
    case 'S': a->use_syslog = 1; break;
    case 'C': a->certpath = optarg; break;
    case '1': a->p11uri = optarg; break;
    case '2': a->p11.module = optarg; break;
    case '3': a->p11.pin_file = optarg; break;
    case '4': a->p11.allow_pin_in_uri = 1; break;
    case 'p': a->p12path = optarg; break;
    case 'E': a->embed_chain = 1; break;
    case 'f': a->force = 1; break;
    case 'J': break; /* out_json_active() */
    case 'T': a->tsas[a->ntsas++] = optarg; break;
    case 'O': a->topts.flags |= SIGN_TSA_BEST_EFFORT; break;
    case 'Y': a->topts.policy_oid = optarg; break;
    case 'h': a->help = 1; break;
    case 'V':
    case 'K':
    case 'W': return take_value_opt(a, c);
    default: return out_getopt_error("sign", c, argv);
    }
    return 0;
}

/* The options, up to the first -h (which stops there, as the usage is all it prints): 0 or an exit code. */
static int parse_args(sargs *a, int argc, char **argv)
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
        CLI_INPUT_LONGOPTS,
        CLI_SOURCE_LONGOPTS,
        {"log", required_argument, NULL, 'l'},
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
    int c, rc;

    a->allow = calloc((size_t)argc + 1, sizeof(*a->allow));
    a->names = calloc((size_t)argc + 1, sizeof(*a->names));
    a->tsas = calloc((size_t)argc + 1, sizeof(*a->tsas));
    if (a->allow == NULL || a->names == NULL || a->tsas == NULL) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    if (cli_getopt_start("sign", argc, argv, ":k:o:h", longopts) != 0) {
        return EXIT_USAGE;
    }
    while ((c = getopt_long(argc, argv, ":k:o:h", longopts, NULL)) != -1) {
        if ((rc = take_opt(a, c, argv)) != 0 || a->help) {
            return rc;
        }
    }
    a->nart = (size_t)(argc - optind);
    a->o.ref = a->in.ref;
    a->o.artifact_flags |= cli_input_artifact_flags(&a->in);
    return 0;
}

/* Which key, which certificate, how many names: 0, or the exit code after saying why. */
static int check_key_args(sargs *a)
{
    if (a->ntsas == 0 && (a->topts.flags != 0 || a->topts.policy_oid != NULL || a->topts.timeout != 0)) {
        return out_usage_error("sign", "--tsa-optional, --tsa-policy and --tsa-timeout need --tsa URL");
    }
    if (a->p12path != NULL && (a->keypath != NULL || a->certpath != NULL)) {
        return out_usage_error("sign", "--p12 holds the key and certificate: give it instead of -k and --cert");
    }
    if (a->p11uri != NULL && (a->keypath != NULL || a->p12path != NULL)) {
        return out_usage_error("sign", "--pkcs11 names the key: give it instead of -k and --p12");
    }
    if (a->keypath == NULL && a->p12path == NULL && a->p11uri == NULL) {
        return out_usage_error("sign", "a private key is required (-k KEY, --pkcs11 URI or --p12 FILE)");
    }
    if (a->embed_chain && a->certpath == NULL && a->p12path == NULL) {
        return out_usage_error("sign", "--embed-chain needs a certificate (--cert or --p12)");
    }
    a->keyfile = a->p12path != NULL ? a->p12path : a->p11uri != NULL ? a->p11uri : a->keypath;
    if (a->nart == 0) {
        return out_usage_error("sign", "no artifact given");
    }
    if (a->nnames != 0 && a->nnames != a->nart) {
        return out_usage_error("sign", "%zu --name for %zu artifacts: give one per artifact or none", a->nnames,
                               a->nart);
    }
    return 0;
}

/* Where the bundle goes: never over an input, nor over an existing bundle without --force. */
static int check_output(sargs *a, char *const *inputs)
{
    a->to_registry = a->nart == 1 && sign_registry_is_reference(inputs[0]);
    if (a->output == NULL && !a->to_registry) {
        size_t n;
        if (a->nart > 1) {
            return out_usage_error("sign", "several artifacts go into one bundle: name it with -o BUNDLE");
        }
        n = strlen(inputs[0]) + sizeof(".sigstore.json");
        if ((a->defout = malloc(n)) == NULL) {
            cli_error("out of memory");
            return EXIT_USAGE;
        }
        snprintf(a->defout, n, "%s.sigstore.json", inputs[0]);
        a->output = a->defout;
    }
    for (size_t i = 0; a->output != NULL && i < a->nart; i++) {
        if (same_path(a->output, inputs[i]) || same_path(a->keyfile, inputs[i]) || same_path(a->output, a->keyfile) ||
            (a->certpath != NULL && same_path(a->output, a->certpath))) {
            out_json_note("USAGE", "bundle", a->output, "refusing to write the bundle over an input");
            cli_error("%s: refusing to write the bundle over an input; choose another -o",
                      same_path(a->output, a->keyfile) ? a->keyfile : inputs[i]);
            return EXIT_USAGE;
        }
    }
    /* Another signer's bundle (a threshold) must not vanish under a second sign: gpg refuses too. */
    if (a->output != NULL && !a->force && access(a->output, F_OK) == 0) {
        char *o = sign_text_safe(a->output);

        out_json_note("OUTPUT_EXISTS", "bundle", a->output, "already exists; name another with -o, or --force");
        cli_error("bundle %s already exists; refusing to overwrite it: name another with -o, or replace it "
                  "with --force",
                  o != NULL ? o : "?");
        free(o);
        return EXIT_USAGE;
    }
    return 0;
}

/* SOURCE_DATE_EPOCH, the git source and its release tag's version, the event log: 0 or an exit code. */
static int prepare(sargs *a)
{
    int rc;

    if (out_source_date_epoch(&a->o.created) != 0) {
        return EXIT_USAGE;
    }
    if ((rc = cli_git_source(&a->source, a->in.git_dir, a->in.git_remote, a->in.allow_dirty)) != 0) {
        return rc;
    }
    a->o.source = a->source;
    if (a->version_from_tag) {
        const char *v = NULL;

        if (a->source == NULL || a->o.artifact_version != NULL) {
            cli_error("--version-from-tag needs --git DIR, and no --version");
            return EXIT_USAGE;
        }
        if (sign_source_version_tag(&v, a->source) != 0 || sign_version_check(v) != 0) {
            cli_error("--version-from-tag: %s",
                      sign_source_version_tag(&v, a->source) != 0
                          ? sign_error_last()
                          : "the release tag's version is not an integer or a semantic version");
            return EXIT_USAGE;
        }
        a->o.artifact_version = v;
    }
    if ((a->event_fd = out_event_open("sign", a->event_log)) == -2) {
        return EXIT_USAGE;
    }
    return 0;
}

/* What a verifier's policy will say of this certificate, said before signing with it. */
static void warn_certificate(const sign_x509_info *info)
{
    char *subj = sign_text_safe(info->subject);

    if (!info->code_signing) {
        fprintf(stderr,
                "signet: warning: certificate %s has no codeSigning extended key usage; a verifier's policy "
                "requires it by default (EKU_MISSING) - ask your CA for a code-signing certificate\n",
                subj != NULL ? subj : "");
    }
    if (info->is_ca) {
        fprintf(stderr,
                "signet: warning: certificate %s is a CA certificate; verifiers will refuse it (LEAF_IS_CA) - "
                "sign with an end-entity code-signing certificate\n",
                subj != NULL ? subj : "");
    }
    if (!info->digital_signature) {
        fprintf(stderr,
                "signet: warning: certificate %s does not allow digital signatures (keyUsage); verifiers will "
                "refuse it (KEY_USAGE_INVALID)\n",
                subj != NULL ? subj : "");
    }
    free(subj);
}

/* The key (-k, --p12 or --pkcs11) and the certificate: 0, or the exit code after saying why. */
static int load_signer(sargs *a)
{
    int r;

    a->pp.keyfile = a->keyfile;
    if (a->p11uri != NULL) {
        if ((r = cli_pkcs11_key(&a->key, a->p11uri, &a->p11)) != 0) {
            return r; /* an exit code, the error said */
        }
    } else if (a->p12path != NULL) {
        if ((r = sign_x509_load_p12(&a->key, &a->certs, a->p12path, cli_passphrase_cb, &a->pp)) != 0) {
            return cli_key_fail(r, NULL, &a->pp);
        }
    } else if ((r = sign_key_load_private(&a->key, a->keypath, cli_passphrase_cb, &a->pp)) != 0) {
        return cli_key_fail(r, a->keypath, &a->pp);
    }
    if (a->certpath != NULL && cli_is_pkcs11_uri(a->certpath)) {
        if ((r = cli_pkcs11_certs(&a->certs, a->certpath, &a->p11)) != 0) {
            return r; /* an exit code, the error said */
        }
    } else if (a->certpath != NULL && (r = sign_x509_certs_load(&a->certs, a->certpath)) != 0) {
        out_json_note(r == SIGN_ENOTFOUND ? "CERTIFICATE_MISSING" : "CERTIFICATE_MALFORMED", "certificate",
                      a->certpath, sign_error_last());
        return cli_fail(r, NULL);
    }
    if (a->certs != NULL && sign_x509_certs_info(&a->info, a->certs, 0) == 0) {
        warn_certificate(&a->info);
    }
    return 0;
}

/* Timestamp the bundle at the TSAs; with --tsa-optional, say what is missing. */
static int stamp(sargs *a)
{
    size_t added = 0;
    int r = sign_timestamp_bundle(&added, a->bundle, (const char *const *)a->tsas, a->ntsas, &a->topts);

    if (r == 0 && added < a->ntsas) {
        if (added == 0) {
            cli_error("warning: %s; signing WITHOUT a timestamp (--tsa-optional)", sign_error_last());
        } else {
            cli_error("warning: %s; the bundle has %zu of %zu timestamps (--tsa-optional)", sign_error_last(), added,
                      a->ntsas);
        }
    }
    return r;
}

/* Sign, check the kinds, timestamp, write and push: the library's code (0 when signed). */
static int run_sign(sargs *a, char **inputs)
{
    int r;

    a->o.certs = a->certs;
    a->o.embed_chain = a->embed_chain;
    a->o.key = a->key;
    a->o.artifacts = (const char *const *)inputs;
    a->o.names = a->nnames > 0 ? (const char *const *)a->names : NULL;
    a->o.nartifacts = a->nart;
    a->o.allow = (const char *const *)a->allow;
    a->o.nallow = a->nallow;
    a->o.artifact_flags |= kind_flag(a->kind_opt); /* --kind forces the kind; bytes not of it are refused */
    /*
     * With TSAs the bundle is written only once its timestamps are in: nothing on a TSA failure; with
     * --kind only once every artifact is of that kind.
     */
    a->o.output = a->ntsas > 0 || a->kind_opt != NULL ? NULL : a->output;
    if (out_progress_wanted()) {
        a->o.progress = out_progress_cb;
    }
    r = sign_sign(&a->bundle, &a->arts, &a->o);
    out_progress_end();
    if (r == 0 && check_kind(a->arts, a->nart, a->kind_opt) != 0) {
        r = SIGN_EINVAL;
        a->kind_refused = 1; /* said already */
    }
    if (r == 0 && a->ntsas > 0) {
        r = stamp(a);
    }
    if (r == 0 && a->output != NULL && (a->ntsas > 0 || a->kind_opt != NULL)) {
        r = sign_bundle_write(a->bundle, a->output);
    }
    if (r == 0 && a->to_registry) {
        r = push_bundle(&a->pushed, a->bundle, a->arts[0], inputs[0], a->o.artifact_flags);
    }
    a->o.output = a->output;
    return r;
}

/* The event of this decision (r) to the event log and/or syslog: 0, or an exit code after saying why. */
static int emit_event(sargs *a, int r)
{
    char *ev = NULL;
    int er;

    if (a->event_fd < 0 && !a->use_syslog) {
        return 0;
    }
    er = sign_event_sign(&ev, r, &a->o, a->arts, a->key, 0);
    if (er != 0 || out_event_emit(a->event_fd, a->event_log, a->use_syslog, r != 0, ev) != 0) {
        if (er != 0) {
            cli_fail(er, "event");
        }
        free(ev);
        return EXIT_USAGE;
    }
    free(ev);
    return 0;
}

/* A refused or failed sign (r != 0): the exit code, after saying why. */
static int sign_failed(const sargs *a, int r)
{
    if (r == SIGN_EFINDING) {
        print_refusal(a->arts, a->nart, a->allow, a->nallow);
        return EXIT_USAGE;
    }
    if (a->kind_opt != NULL && r == SIGN_EPARSE && strstr(sign_error_last(), "(--kind ") != NULL) {
        out_json_note("ARTIFACT_KIND_REFUSED", "artifact", NULL, sign_error_last());
    } else if (r == SIGN_ENOTFOUND || r == SIGN_EPARSE || (r == SIGN_EINVAL && !a->kind_refused)) {
        out_json_note("ARTIFACT_UNREADABLE", "artifact", NULL, sign_error_last());
    }
    return a->kind_refused ? EXIT_USAGE : cli_fail(r, NULL);
}

/* Signed: say where, with which key, and append to the signing log (--log). Returns the exit code. */
static int print_signed(const sargs *a, const char *artifact)
{
    char keyid[SIGN_KEYID_SIZE], where[1200];
    int rc;

    if (sign_key_id(keyid, sizeof(keyid), a->key) != 0) {
        keyid[0] = '\0';
    }
    if (a->pushed != NULL) {
        snprintf(where, sizeof(where), "%s%s%s (referrer %s)", a->output != NULL ? a->output : "",
                 a->output != NULL ? " and " : "", artifact, a->pushed);
    } else {
        snprintf(where, sizeof(where), "%s", a->output);
    }
    if (out_json_active()) {
        rc = a->log_dir != NULL && a->output != NULL ? cli_log_bundle(a->log_dir, a->output) : 0;
        if (rc == 0) {
            sign_print_json(a->output, a->arts, a->nart, keyid, a->certs != NULL ? a->info.subject : NULL, a->bundle);
        }
        return rc;
    }
    if (a->certs != NULL) {
        char *subj = sign_text_safe(a->info.subject);

        printf("signed %zu artifact(s) -> %s (certificate %s, key id %s%s)\n", a->nart, where,
               subj != NULL ? subj : "", keyid, a->embed_chain ? ", chain embedded" : "");
        free(subj);
    } else {
        printf("signed %zu artifact(s) -> %s (key id %s)\n", a->nart, where, keyid);
    }
    return a->log_dir != NULL && a->output != NULL ? cli_log_bundle(a->log_dir, a->output) : 0;
}

static void sargs_free(sargs *a)
{
    sign_source_free(a->source);
    if (a->arts != NULL) {
        for (size_t i = 0; i < a->nart; i++) {
            sign_artifact_free(a->arts[i]);
        }
        free(a->arts);
    }
    if (a->event_fd >= 0) {
        close(a->event_fd);
    }
    sign_bundle_free(a->bundle);
    sign_key_free(a->key);
    sign_x509_certs_free(a->certs);
    free(a->defout);
    free(a->pushed);
    free(a->allow);
    free(a->names);
    free(a->tsas);
}

int cmd_sign(int argc, char **argv)
{
    sargs a;
    int r, rc;

    memset(&a, 0, sizeof(a));
    a.o = (sign_sign_options)SIGN_SIGN_OPTIONS_INIT;
    a.topts = (sign_tsa_options)SIGN_TSA_OPTIONS_INIT;
    a.p11 = (cli_pkcs11){NULL, NULL, 0, CLI_PASSPHRASE_INIT};
    a.pp = (cli_passphrase)CLI_PASSPHRASE_INIT;
    a.in.with_source = 1;
    a.event_fd = -1;
    if ((rc = parse_args(&a, argc, argv)) != 0) {
        goto out;
    }
    if (a.help) {
        fputs(sign_usage, stdout);
        goto out;
    }
    if ((rc = check_key_args(&a)) != 0 || (rc = check_output(&a, argv + optind)) != 0 || (rc = prepare(&a)) != 0 ||
        (rc = load_signer(&a)) != 0) {
        goto out;
    }
    r = run_sign(&a, argv + optind);
    if ((rc = emit_event(&a, r)) != 0) {
        goto out;
    }
    out_findings(stderr, a.arts, a.nart);
    if (r == 0) {
        warn_kind_mismatch(a.arts, a.nart, a.kind_opt);
    }
    rc = r != 0 ? sign_failed(&a, r) : print_signed(&a, argv[optind]);
out:
    sargs_free(&a);
    return rc;
}
