/* signet inspect: what a bundle says (signer, subjects, artifacts), without verifying it. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

static const char inspect_usage[] =
    "usage: signet inspect [--json] BUNDLE\n"
    "       signet inspect [--json] [--tls-verify BOOL] docker://HOST/REPO[:TAG|@DIGEST]\n"
    "\n"
    "Show what a Sigstore bundle claims: media type, signer key id and\n"
    "fingerprint, RFC 3161 timestamps (TSA, genTime, policy, serial), payload\n"
    "type, subjects, created time, artifacts with their\n"
    "kind, size, entry counts and findings. Nothing is verified: use\n"
    "'signet verify' for that.\n"
    "A registry reference shows the image: its digest, media type, platform(s),\n"
    "config and layers, and every bundle attached to it (referrers API or\n"
    "fallback tag), each as above.\n"
    "\n"
    "      --json             one JSON object with the same fields\n"
    "      --tls-verify BOOL  docker://: false for HTTPS without the certificate\n"
    "                         check (or plain HTTP) to that registry only\n"
    "  -h, --help             show this help\n";

/*
 * What the bundle's leaf certificate says of itself (not verified): subject,
 * validity, key id; or {"error": ...} when it cannot be read. Text from the
 * certificate is made printable first.
 */
static json_t *certificate_json(const unsigned char *der, size_t len, size_t nchain)
{
    sign_x509_certs *c = NULL;
    sign_x509_info info;
    sign_key *key = NULL;
    char keyid[SIGN_KEYID_SIZE] = "", nb[32] = "", na[32] = "", *subject = NULL;
    json_t *j = NULL;

    if (sign_x509_certs_new(&c) != 0 || sign_x509_certs_add_der(c, der, len) != 0 ||
        sign_x509_certs_info(&info, c, 0) != 0) {
        char *why = sign_text_safe(sign_error_last());

        j = json_pack("{s:s}", "error", why != NULL ? why : "cannot read the certificate");
        free(why);
        sign_x509_certs_free(c);
        return j;
    }
    if (sign_x509_certs_key(&key, c, 0) != 0 || sign_key_id(keyid, sizeof(keyid), key) != 0) {
        keyid[0] = '\0'; /* a key signet does not accept: verify says why */
    }
    sign_format_time(nb, sizeof(nb), info.not_before);
    sign_format_time(na, sizeof(na), info.not_after);
    subject = sign_text_safe(info.subject);
    j = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:I}", "subject", subject != NULL ? subject : "?", "not_before", nb,
                  "not_after", na, "key_id", keyid, "code_signing", info.code_signing, "ca", info.is_ca, "chain",
                  (json_int_t)nchain);
    free(subject);
    sign_key_free(key);
    sign_x509_certs_free(c);
    return j;
}

/* Everything inspect shows, as a JSON object (also the source of the human form). */
/* The bundle's timestamps: TSA, time, policy, serial and hash of each (an error member when unreadable). */
static json_t *timestamps_json(const sign_bundle *b)
{
    json_t *ts = json_array();

    for (size_t i = 0; ts != NULL && i < sign_bundle_timestamp_count(b); i++) {
        sign_timestamp_info info;
        size_t tlen = 0;
        const unsigned char *der = sign_bundle_timestamp(b, i, &tlen);
        char when[32] = "";
        json_t *t;

        if (sign_timestamp_parse(&info, der, tlen) != 0) {
            t = json_pack("{s:s}", "error", sign_error_last());
        } else {
            sign_format_time(when, sizeof(when), info.gen_time);
            t = json_pack("{s:s,s:s,s:s,s:s,s:s}", "tsa", info.tsa, "gen_time", when, "policy", info.policy, "serial",
                          info.serial, "hash_algorithm", info.hash);
        }
        json_array_append_new(ts, t);
    }
    return ts;
}

/* What the bundle says of itself, before its payload: path, media type, key, certificate, timestamps. */
static void inspect_header(json_t *o, const char *path, const sign_bundle *b)
{
    const sign_envelope *env = sign_bundle_envelope(b);
    const char *hint = sign_bundle_key_hint(b);
    const unsigned char *cder;
    size_t certlen = 0;
    char fp[SIGN_FINGERPRINT_SIZE];
    /* The path as given may not be UTF-8; JSON carries its printable form. */
    char *safe = sign_text_safe(path);

    /* Other tools may leave publicKey.hint empty and name the key only in the DSSE keyid, or nowhere. */
    if (hint != NULL && hint[0] == '\0' && sign_envelope_signature_count(env) > 0 &&
        sign_envelope_signature_keyid(env, 0) != NULL) {
        hint = sign_envelope_signature_keyid(env, 0);
    }
    json_object_set_new(o, "bundle", json_string(safe != NULL ? safe : "?"));
    free(safe);
    json_object_set_new(o, "media_type", json_string(sign_bundle_media_type(b)));
    json_object_set_new(o, "verified", json_false());
    if (hint != NULL) {
        json_object_set_new(o, "key_id", json_string(hint));
        if (sign_keyid_fingerprint(fp, sizeof(fp), hint) == 0) {
            json_object_set_new(o, "fingerprint", json_string(fp));
        }
    }
    if ((cder = sign_bundle_certificate(b, &certlen)) != NULL) {
        json_object_set_new(o, "certificate_bytes", json_integer((json_int_t)certlen));
        json_object_set_new(o, "certificate", certificate_json(cder, certlen, sign_bundle_chain_count(b)));
    }
    if (sign_bundle_timestamp_count(b) > 0) {
        json_object_set_new(o, "timestamps", timestamps_json(b));
    }
    if (sign_envelope_signature_count(env) > 0) {
        json_object_set_new(o, "signature_key_id", json_string(sign_envelope_signature_keyid(env, 0)));
    }
    json_object_set_new(o, "payload_type", json_string(sign_envelope_payload_type(env)));
}

/* The statement's subjects (name and sha256) into the array subjects: 0 or the library's code. */
static int subjects_json(json_t *subjects, const sign_statement *st)
{
    char hex[2 * SIGN_SHA256_LEN + 1];

    for (size_t i = 0; i < sign_statement_subject_count(st); i++) {
        const char *name = NULL;
        const unsigned char *md = NULL;
        int r = sign_statement_subject(&name, &md, st, i);

        if (r == SIGN_ENOTFOUND && name != NULL) {
            /* A subject with only a sha384/sha512 (npm provenance): named, without a sha256. */
            json_array_append_new(subjects, json_pack("{s:s}", "name", name));
            continue;
        }
        if (r != 0) {
            return r;
        }
        (void)sign_hex_encode(hex, sizeof(hex), md, SIGN_SHA256_LEN);
        json_array_append_new(subjects, json_pack("{s:s, s:s}", "name", name, "sha256", hex));
    }
    return 0;
}

/* Artifact i's findings, as an array in *out: 0 or the library's code. */
static int findings_json(json_t **out, const sign_statement *st, size_t i, size_t count)
{
    json_t *findings = json_array();

    *out = NULL;
    if (findings == NULL) {
        return SIGN_ENOMEM;
    }
    for (size_t j = 0; j < count; j++) {
        sign_finding f;
        json_t *jf;
        int r;

        if ((r = sign_statement_artifact_finding(&f, st, i, j)) != 0) {
            json_decref(findings);
            return r;
        }
        jf = json_pack("{s:s, s:s, s:s}", "id", f.id, "severity", sign_severity_name(f.severity), "message",
                       f.message != NULL ? f.message : "");
        if (jf != NULL && f.path != NULL) {
            json_object_set_new(jf, "path", json_string(f.path));
        }
        json_array_append_new(findings, jf);
    }
    *out = findings;
    return 0;
}

/* Container images: images and layers; their entries are counted over every layer. */
static void images_json(json_t *ja, const sign_statement *st, size_t i)
{
    size_t nimg = sign_statement_artifact_image_count(st, i), nlayers = 0, nentries = 0;
    sign_statement_layer sl;

    for (size_t k = 0; k < nimg; k++) {
        for (size_t j = 0; sign_statement_artifact_layer(&sl, st, i, k, j) == 0; j++) {
            nlayers++;
            nentries += sl.entry_count;
        }
    }
    json_object_set_new(ja, "images", json_integer((json_int_t)nimg));
    json_object_set_new(ja, "layers", json_integer((json_int_t)nlayers));
    json_object_set_new(ja, "entries", json_integer((json_int_t)nentries));
}

/* The statement's artifacts (name, kind, size, entries, findings, digest, images) into arts: 0 or a code. */
static int artifacts_json(json_t *arts, const sign_statement *st)
{
    char hex[2 * SIGN_SHA256_LEN + 1];

    for (size_t i = 0; i < sign_statement_artifact_count(st); i++) {
        sign_statement_artifact a;
        json_t *ja, *findings;
        int r;

        if ((r = sign_statement_artifact_info(&a, st, i)) != 0 ||
            (r = findings_json(&findings, st, i, a.finding_count)) != 0) {
            return r;
        }
        ja = json_pack("{s:s, s:s, s:I, s:I, s:o}", "name", a.name != NULL ? a.name : "", "kind",
                       a.kind != NULL ? a.kind : "", "size", (json_int_t)a.size, "entries", (json_int_t)a.entry_count,
                       "findings", findings);
        if (ja != NULL && a.sha256 != NULL) {
            (void)sign_hex_encode(hex, sizeof(hex), a.sha256, SIGN_SHA256_LEN);
            json_object_set_new(ja, "sha256", json_string(hex));
        }
        if (ja != NULL && sign_statement_artifact_image_count(st, i) > 0) {
            images_json(ja, st, i);
        }
        json_array_append_new(arts, ja);
    }
    return 0;
}

static int inspect_build(json_t **out, const char *path, const sign_bundle *b)
{
    const sign_envelope *env = sign_bundle_envelope(b);
    const char *ptype = sign_envelope_payload_type(env);
    const unsigned char *payload;
    size_t plen = 0;
    sign_statement *st = NULL;
    json_t *o = json_object(), *subjects = NULL, *arts = NULL;
    int r = SIGN_ENOMEM;

    *out = NULL;
    if (o == NULL) {
        goto out;
    }
    inspect_header(o, path, b);
    if (strcmp(ptype, SIGN_INTOTO_PAYLOAD_TYPE) != 0) {
        /* Not a statement: say what it is and stop there. */
        *out = o;
        o = NULL;
        r = 0;
        goto out;
    }
    payload = sign_envelope_payload(env, &plen);
    if ((r = sign_statement_parse(&st, payload, plen, NULL)) != 0) {
        sign_statement_free(st);
        st = NULL;
        goto out;
    }
    json_object_set_new(o, "predicate_type", json_string(sign_statement_predicate_type(st)));
    if (sign_statement_created(st) != NULL) {
        json_object_set_new(o, "created", json_string(sign_statement_created(st)));
    }
    r = SIGN_ENOMEM;
    if ((subjects = json_array()) == NULL || (arts = json_array()) == NULL) {
        goto out;
    }
    if ((r = subjects_json(subjects, st)) != 0 || (r = artifacts_json(arts, st)) != 0) {
        goto out;
    }
    json_object_set_new(o, "subjects", subjects);
    json_object_set_new(o, "artifacts", arts);
    subjects = arts = NULL;
    *out = o;
    o = NULL;
    r = 0;
out:
    json_decref(subjects);
    json_decref(arts);
    json_decref(o);
    sign_statement_free(st);
    return r;
}

/*
 * A string field made printable: inspect shows a bundle it has not verified,
 * whose names and messages may carry terminal escapes or forged lines.
 * Rotating buffers, so one printf may show several fields.
 */
static const char *jstr(const json_t *o, const char *key)
{
    static char bufs[8][4096];
    static unsigned next;
    const char *s = json_string_value(json_object_get(o, key));

    if (s == NULL) {
        return "-";
    }
    return out_clean_text(bufs[next++ % 8], sizeof(bufs[0]), s);
}

static void inspect_print(const json_t *o)
{
    const json_t *subjects = json_object_get(o, "subjects");
    const json_t *arts = json_object_get(o, "artifacts");
    size_t i;
    json_t *v;

    printf("bundle:        %s (not verified: use 'signet verify')\n", jstr(o, "bundle"));
    printf("media type:    %s\n", jstr(o, "media_type"));
    if (json_object_get(o, "key_id") != NULL && jstr(o, "key_id")[0] == '\0') {
        printf("signer key id: (none: the bundle does not name its key; verify tries the policy's keys)\n");
    } else if (json_object_get(o, "key_id") != NULL) {
        printf("signer key id: %s\n", jstr(o, "key_id"));
        printf("fingerprint:   %s\n", jstr(o, "fingerprint"));
    }
    if (json_object_get(o, "certificate_bytes") != NULL) {
        const json_t *cert = json_object_get(o, "certificate");

        printf("signer:        X.509 certificate (%lld bytes)\n",
               (long long)json_integer_value(json_object_get(o, "certificate_bytes")));
        if (json_object_get(cert, "error") != NULL) {
            printf("certificate:   cannot be read: %s\n", jstr(cert, "error"));
        } else if (cert != NULL) {
            printf("subject:       %s\n", jstr(cert, "subject"));
            printf("valid:         %s to %s\n", jstr(cert, "not_before"), jstr(cert, "not_after"));
            if (jstr(cert, "key_id")[0] != '\0') {
                printf("signer key id: %s\n", jstr(cert, "key_id"));
            }
            if (json_integer_value(json_object_get(cert, "chain")) > 0) {
                printf("chain:         %lld certificate(s) in the bundle, leaf first\n",
                       (long long)json_integer_value(json_object_get(cert, "chain")));
            }
        }
    }
    if (json_array_size(json_object_get(o, "timestamps")) > 0) {
        const json_t *ts = json_object_get(o, "timestamps");
        size_t ti;
        json_t *t;

        printf("timestamps:    %zu (RFC 3161, not verified)\n", json_array_size(ts));
        json_array_foreach(ts, ti, t)
        {
            if (json_object_get(t, "error") != NULL) {
                printf("  %zu: unreadable: %s\n", ti + 1, jstr(t, "error"));
            } else {
                printf("  %zu: %s  TSA %s  policy %s  serial 0x%s\n", ti + 1, jstr(t, "gen_time"), jstr(t, "tsa"),
                       jstr(t, "policy"), jstr(t, "serial"));
            }
        }
    }
    printf("payload type:  %s\n", jstr(o, "payload_type"));
    if (json_object_get(o, "predicate_type") == NULL) {
        return;
    }
    printf("predicate:     %s\n", jstr(o, "predicate_type"));
    printf("created:       %s (the signer's clock, not a trusted time)\n", jstr(o, "created"));
    printf("subjects:      %zu\n", json_array_size(subjects));
    json_array_foreach(subjects, i, v)
    {
        if (json_object_get(v, "sha256") == NULL) {
            printf("  %s  (no sha256: sha384/sha512 only)\n", jstr(v, "name"));
        } else {
            printf("  %s  sha256:%s\n", jstr(v, "name"), jstr(v, "sha256"));
        }
    }
    if (json_array_size(arts) == 0) {
        return;
    }
    printf("artifacts:     %zu\n", json_array_size(arts));
    json_array_foreach(arts, i, v)
    {
        const json_t *findings = json_object_get(v, "findings");
        size_t j;
        json_t *f;
        printf("  %s  %s  %lld bytes  ", jstr(v, "name"), jstr(v, "kind"),
               (long long)json_integer_value(json_object_get(v, "size")));
        if (json_object_get(v, "layers") != NULL) {
            printf("%lld image(s)  %lld layers  ", (long long)json_integer_value(json_object_get(v, "images")),
                   (long long)json_integer_value(json_object_get(v, "layers")));
        }
        printf("%lld entries  %zu findings\n", (long long)json_integer_value(json_object_get(v, "entries")),
               json_array_size(findings));
        json_array_foreach(findings, j, f)
        {
            if (json_object_get(f, "path") != NULL) {
                printf("    finding: %s %s %s: %s\n", jstr(f, "severity"), jstr(f, "id"), jstr(f, "path"),
                       jstr(f, "message"));
            } else {
                printf("    finding: %s %s: %s\n", jstr(f, "severity"), jstr(f, "id"), jstr(f, "message"));
            }
        }
    }
}

/* ---- an image in a registry ------------------------------------------------------------------ */

/* "docker://HOST/REPO" of a reference (its tag or digest cut). */
static void repo_of(char *out, size_t size, const char *reference)
{
    const char *last = strrchr(reference + strlen("docker://"), '/');
    size_t n = last != NULL ? (size_t)(last - reference) + strcspn(last, ":@") : strlen(reference);

    snprintf(out, size, "%.*s", (int)n, reference);
}

/* The bundles attached to digest, each as inspect shows a bundle file (or {"error": ...}). */
static json_t *attached_bundles(const char *repo, const char *digest, const sign_registry_options *ro)
{
    unsigned char **b = NULL;
    size_t *lens = NULL, nb = 0;
    char pinned[1400], name[1500];
    json_t *arr = json_array();

    if (arr == NULL) {
        return NULL;
    }
    snprintf(pinned, sizeof(pinned), "%s@%s", repo, digest);
    if (sign_registry_fetch_bundles(&b, &lens, &nb, pinned, digest, ro) != 0) {
        json_array_append_new(arr, json_pack("{s:s}", "error", sign_error_last()));
        return arr;
    }
    for (size_t i = 0; i < nb; i++) {
        sign_bundle *bu = NULL;
        json_t *o = NULL;

        snprintf(name, sizeof(name), "%s (referrer %zu)", pinned, i + 1);
        if (sign_bundle_parse(&bu, b[i], lens[i], NULL) != 0 || inspect_build(&o, name, bu) != 0) {
            o = json_pack("{s:s,s:s}", "bundle", name, "error", sign_error_last());
        }
        json_array_append_new(arr, o);
        sign_bundle_free(bu);
    }
    sign_registry_bundles_free(b, lens, nb);
    return arr;
}

/* "os/arch[/variant]" of a platform object, or NULL. */
static json_t *platform_of(const json_t *p)
{
    const char *os = json_string_value(json_object_get(p, "os"));
    const char *arch = json_string_value(json_object_get(p, "architecture"));
    const char *variant = json_string_value(json_object_get(p, "variant"));
    char buf[300];

    if (os == NULL || arch == NULL) {
        return NULL;
    }
    snprintf(buf, sizeof(buf), "%.100s/%.100s%s%.60s", os, arch, variant != NULL ? "/" : "",
             variant != NULL ? variant : "");
    return json_string(buf);
}

/* An image manifest: config (and the platform its config names) and layers. */
static void describe_manifest(json_t *o, const json_t *m, const char *repo, const sign_registry_options *ro)
{
    const char *cfg = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
    json_t *layers = json_array(), *l;
    size_t i;

    if (cfg != NULL) {
        unsigned char *data = NULL;
        size_t len = 0;
        json_t *c = NULL;

        json_object_set_new(o, "config", json_string(cfg));
        if (sign_registry_get_blob(&data, &len, repo, cfg, 0, ro) == 0 &&
            (c = json_loadb((const char *)data, len, 0, NULL)) != NULL) {
            json_t *p = platform_of(c);

            if (p != NULL) {
                json_object_set_new(o, "platform", p);
            }
            json_decref(c);
        } else {
            json_object_set_new(o, "config_error", json_string(data != NULL ? "not JSON" : sign_error_last()));
        }
        free(data);
    }
    json_array_foreach(json_object_get(m, "layers"), i, l)
    {
        json_array_append_new(layers,
                              json_pack("{s:s?,s:I,s:s?}", "digest", json_string_value(json_object_get(l, "digest")),
                                        "size", json_integer_value(json_object_get(l, "size")), "media_type",
                                        json_string_value(json_object_get(l, "mediaType"))));
    }
    json_object_set_new(o, "layers", layers);
}

/* An index: its manifests with their platforms and the bundles attached to each (the first 64 looked up). */
static void describe_index(json_t *o, const json_t *m, const char *repo, const sign_registry_options *ro)
{
    json_t *arr = json_array(), *e;
    size_t i;

    json_array_foreach(json_object_get(m, "manifests"), i, e)
    {
        const char *dg = json_string_value(json_object_get(e, "digest"));
        json_t *j = json_pack("{s:s?,s:I,s:s?}", "digest", dg, "size", json_integer_value(json_object_get(e, "size")),
                              "media_type", json_string_value(json_object_get(e, "mediaType")));
        json_t *p = platform_of(json_object_get(e, "platform"));

        if (j == NULL) {
            json_decref(p);
            continue;
        }
        if (p != NULL) {
            json_object_set_new(j, "platform", p);
        }
        if (dg != NULL && i < 64 && strncmp(dg, "sha256:", 7) == 0) {
            json_object_set_new(j, "bundles", attached_bundles(repo, dg, ro));
        }
        json_array_append_new(arr, j);
    }
    json_object_set_new(o, "manifests", arr);
}

/* Everything inspect shows of an image in a registry (nothing verified). */
static int inspect_registry_build(json_t **out, const char *reference, const sign_registry_options *ro)
{
    unsigned char *data = NULL;
    char *mt = NULL, *digest = NULL, repo[1200], pinned[1400];
    size_t len = 0;
    json_t *m, *o;
    int r;

    *out = NULL;
    repo_of(repo, sizeof(repo), reference);
    if ((r = sign_registry_get_manifest(&data, &len, &mt, &digest, reference, ro)) != 0) {
        return r;
    }
    snprintf(pinned, sizeof(pinned), "%s@%s", repo, digest);
    m = json_loadb((const char *)data, len, 0, NULL);
    o = json_pack("{s:s,s:s,s:s,s:b}", "reference", reference, "image", pinned, "digest", digest, "verified", 0);
    if (m == NULL || o == NULL) {
        r = m == NULL ? SIGN_EPARSE : SIGN_ENOMEM;
        cli_error("%s: %s", reference, m == NULL ? "the manifest is not JSON" : "out of memory");
    } else {
        const char *dmt = json_string_value(json_object_get(m, "mediaType"));

        json_object_set_new(o, "media_type", json_string(dmt != NULL ? dmt : mt != NULL ? mt : ""));
        if (json_object_get(m, "artifactType") != NULL) {
            json_object_set(o, "artifact_type", json_object_get(m, "artifactType"));
        }
        if (json_is_array(json_object_get(m, "manifests"))) {
            describe_index(o, m, repo, ro);
        } else {
            describe_manifest(o, m, repo, ro);
        }
        json_object_set_new(o, "bundles", attached_bundles(repo, digest, ro));
        *out = o;
        o = NULL;
    }
    json_decref(m);
    json_decref(o);
    free(data);
    free(mt);
    free(digest);
    return r;
}

static void print_bundles(const json_t *arr, const char *indent)
{
    size_t i;
    json_t *b;

    json_array_foreach(arr, i, b)
    {
        if (json_object_get(b, "error") != NULL) {
            printf("%sbundle:        cannot be read: %s\n", indent, jstr(b, "error"));
            continue;
        }
        printf("\n");
        inspect_print(b);
    }
}

static void inspect_registry_print(const json_t *o)
{
    const json_t *layers = json_object_get(o, "layers"), *mans = json_object_get(o, "manifests");
    size_t i;
    json_t *v;

    printf("image:         %s (not verified: use 'signet verify')\n", jstr(o, "image"));
    printf("media type:    %s\n", jstr(o, "media_type"));
    if (json_object_get(o, "artifact_type") != NULL) {
        printf("artifact type: %s\n", jstr(o, "artifact_type"));
    }
    if (json_object_get(o, "platform") != NULL) {
        printf("platform:      %s\n", jstr(o, "platform"));
    }
    if (json_object_get(o, "config") != NULL) {
        printf("config:        %s\n", jstr(o, "config"));
    }
    if (json_object_get(o, "config_error") != NULL) {
        printf("config:        cannot be read: %s\n", jstr(o, "config_error"));
    }
    if (layers != NULL) {
        printf("layers:        %zu\n", json_array_size(layers));
        json_array_foreach(layers, i, v)
        {
            printf("  %s  %lld bytes  %s\n", jstr(v, "digest"),
                   (long long)json_integer_value(json_object_get(v, "size")), jstr(v, "media_type"));
        }
    }
    if (mans != NULL) {
        printf("manifests:     %zu\n", json_array_size(mans));
        json_array_foreach(mans, i, v)
        {
            printf("  %s  %s  %zu bundle(s)\n", jstr(v, "digest"), jstr(v, "platform"),
                   json_array_size(json_object_get(v, "bundles")));
        }
    }
    printf("bundles:       %zu attached\n", json_array_size(json_object_get(o, "bundles")));
    print_bundles(json_object_get(o, "bundles"), "");
    json_array_foreach(mans, i, v)
    {
        if (json_array_size(json_object_get(v, "bundles")) > 0) {
            printf("\nbundles of %s (%s):\n", jstr(v, "digest"), jstr(v, "platform"));
            print_bundles(json_object_get(v, "bundles"), "  ");
        }
    }
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'J'},
        {"tls-verify", required_argument, NULL, OPT_TLS_VERIFY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sign_bundle *b = NULL;
    json_t *o = NULL;
    char *text = NULL;
    sign_registry_options ro = SIGN_REGISTRY_OPTIONS_INIT;
    int json = 0, insecure = 0, c, r, rc = EXIT_USAGE;

    if (out_json_wanted(argc, argv)) {
        out_json_mode("inspect"); /* an error is an object on stdout too */
    }
    if (out_check_long_options("inspect", argc, argv, ":h", longopts) != 0) {
        return EXIT_USAGE;
    }
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'J': json = 1; break;
        case OPT_TLS_VERIFY:
            if (out_parse_tls_verify(&insecure, "inspect", optarg) != 0) {
                return EXIT_USAGE;
            }
            break;
        case 'h': fputs(inspect_usage, stdout); return 0;
        default: return out_getopt_error("inspect", c, argv);
        }
    }
    if (argc - optind != 1) {
        return out_usage_error("inspect", "give exactly one BUNDLE or docker:// reference");
    }
    ro.flags = insecure ? SIGN_REGISTRY_INSECURE : 0;
    if (sign_registry_is_reference(argv[optind])) {
        if ((r = inspect_registry_build(&o, argv[optind], &ro)) != 0) {
            rc = cli_fail(r, argv[optind]);
            goto out;
        }
    } else if ((r = sign_bundle_read(&b, argv[optind], NULL)) != 0) {
        rc = out_role_fail(r, "inspect", "bundle", argv[optind]);
        goto out;
    }
    if (o == NULL && (r = inspect_build(&o, argv[optind], b)) != 0) {
        rc = cli_fail(r, argv[optind]);
        goto out;
    }
    if (json) {
        if ((text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT)) == NULL) {
            cli_error("out of memory");
            goto out;
        }
        puts(text);
    } else if (b == NULL) {
        inspect_registry_print(o);
    } else {
        inspect_print(o);
    }
    rc = fflush(stdout) == 0 ? 0 : EXIT_USAGE;
out:
    free(text);
    json_decref(o);
    sign_bundle_free(b);
    return rc;
}
