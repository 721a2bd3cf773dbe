/* The manifest: an in-toto Statement v1 whose predicate records every artifact. */
#include <stdlib.h>
#include <string.h>

#include "formats.h"
#include "text.h"

/* Most subjects read from one statement. */
#define STATEMENT_MAX_SUBJECTS 100000

typedef struct subject {
    const char *name; /* owned by root */
    unsigned char sha256[SIGN_SHA256_LEN];
    unsigned char sha384[48];
    unsigned char sha512[64];
    unsigned char has; /* SUBJ_SHA256 | SUBJ_SHA384 | SUBJ_SHA512: the digests it lists */
} subject;

#define SUBJ_SHA256 1u
#define SUBJ_SHA384 2u
#define SUBJ_SHA512 4u

struct sign_statement {
    json_t *root;
    subject *subjects;
    size_t nsubjects;
    const char *predicate_type; /* owned by root */
    const char *created;        /* owned by root, or NULL */
    const char *version;        /* predicate "version", owned by root, or NULL (downgrade protection) */
    json_t *artifacts;          /* borrowed from root: signet predicate's artifacts, or NULL */
    json_t *source;             /* borrowed from root: signet predicate's source, or NULL */
    unsigned char (*artifact_sha)[SIGN_SHA256_LEN];
    uint64_t max_entries; /* entries per recorded artifact: archive_max_entries, as signet sign walks */
    int more_holders;     /* holders beyond the first (sign__statement_ref); atomic */
};

void sign_statement_free(sign_statement *st)
{
    if (st == NULL || __atomic_fetch_sub(&st->more_holders, 1, __ATOMIC_ACQ_REL) > 0) {
        return;
    }
    json_decref(st->root);
    free(st->subjects);
    free(st->artifact_sha);
    free(st);
}

static json_t *digest_object(const unsigned char *sha256)
{
    char hex[2 * SIGN_SHA256_LEN + 1];

    sign_hex_encode(hex, sizeof(hex), sha256, SIGN_SHA256_LEN);
    return json_pack("{s:s}", "sha256", hex);
}

/* *out a JSON string of s: 0, SIGN_EUNSUPPORTED when s is not valid UTF-8 (JSON cannot carry it), or SIGN_ENOMEM. */
static int utf8_string(json_t **out, const char *s, const char *artifact, const char *what)
{
    if ((*out = json_string(s)) != NULL) {
        return 0;
    }
    if (sign__utf8_valid(s, strlen(s))) {
        return sign__oom(); /* jansson returns NULL for both; valid text fails only for memory */
    }
    return sign__error(SIGN_EUNSUPPORTED,
                       "%s: %s is not valid UTF-8 and cannot be recorded in the manifest; rename it and rebuild the "
                       "artifact",
                       artifact, what);
}

static int entry_json(json_t **out, const sign_entry *e, const char *artifact)
{
    char mode[8];
    json_t *o, *path = NULL, *target = NULL;
    int r;

    *out = NULL;
    snprintf(mode, sizeof(mode), "%04o", e->mode & 07777);
    if ((r = utf8_string(&path, e->path, artifact, "an entry name")) != 0) {
        return r;
    }
    if (e->link_target != NULL && (r = utf8_string(&target, e->link_target, artifact, "a link target")) != 0) {
        json_decref(path);
        return r;
    }
    o = json_pack("{s:o,s:s,s:s,s:I}", "path", path, "type", sign_entry_type_name(e->type), "mode", mode, "size",
                  (json_int_t)e->size);
    if (o == NULL) {
        json_decref(target);
        return sign__oom();
    }
    if (e->has_digest && json_object_set_new(o, "digest", digest_object(e->sha256)) != 0) {
        json_decref(target);
        json_decref(o);
        return sign__oom();
    }
    if (target != NULL && json_object_set_new(o, "target", target) != 0) {
        json_decref(o);
        return sign__oom();
    }
    if (e->has_owner && (json_object_set_new(o, "uid", json_integer((json_int_t)e->uid)) != 0 ||
                         json_object_set_new(o, "gid", json_integer((json_int_t)e->gid)) != 0)) {
        json_decref(o);
        return sign__oom();
    }
    *out = o;
    return 0;
}

static json_t *oci_digest_string(const unsigned char *sha256)
{
    char hex[2 * SIGN_SHA256_LEN + 1], s[8 + 2 * SIGN_SHA256_LEN + 1];

    sign_hex_encode(hex, sizeof(hex), sha256, SIGN_SHA256_LEN);
    snprintf(s, sizeof(s), "sha256:%s", hex);
    return json_string(s);
}

/* Image i of an OCI/docker artifact: {"name", "manifest", "mediaType", "config", "layers": [...]}. */
static int image_json(json_t *o, const sign_artifact *a, size_t i)
{
    sign_image_info im;
    json_t *layers;
    int r;

    if ((r = sign_artifact_image(&im, a, i)) != 0) {
        return r;
    }
    if ((im.manifest != NULL && json_object_set_new(o, "manifest", oci_digest_string(im.manifest)) != 0) ||
        json_object_set_new(o, "config", oci_digest_string(im.config)) != 0 ||
        (im.media_type != NULL && json_object_set_new(o, "mediaType", json_string(im.media_type)) != 0) ||
        (im.ref != NULL && json_object_set_new(o, "ref", json_string(im.ref)) != 0) ||
        (im.platform != NULL && json_object_set_new(o, "platform", json_string(im.platform)) != 0) ||
        (layers = json_array()) == NULL || json_object_set_new(o, "layers", layers) != 0) {
        return sign__oom();
    }
    for (size_t j = 0; j < im.layer_count; j++) {
        sign_layer_info li;
        json_t *lj, *entries;

        if ((r = sign_artifact_layer(&li, a, i, j)) != 0) {
            return r;
        }
        lj = json_pack("{s:o,s:I,s:o}", "digest", oci_digest_string(li.digest), "size", (json_int_t)li.size,
                       "entries", entries = json_array());
        if (lj == NULL || json_array_append_new(layers, lj) != 0) {
            return sign__oom();
        }
        if ((li.diff_id != NULL && json_object_set_new(lj, "diffID", oci_digest_string(li.diff_id)) != 0) ||
            (li.media_type != NULL && json_object_set_new(lj, "mediaType", json_string(li.media_type)) != 0)) {
            return sign__oom();
        }
        for (size_t k = 0; k < li.entry_count; k++) {
            json_t *e;

            if ((r = entry_json(&e, sign_artifact_layer_entry(a, i, j, k), sign_artifact_name(a))) != 0) {
                return r;
            }
            if (json_array_append_new(entries, e) != 0) {
                return sign__oom();
            }
        }
    }
    return 0;
}

static int images_json(json_t *o, const sign_artifact *a)
{
    size_t n = sign_artifact_image_count(a);
    json_t *list;
    int r;

    if (n == 1 && sign_artifact_index_sha256(a) == NULL) {
        return image_json(o, a, 0);
    }
    if ((list = json_array()) == NULL || json_object_set_new(o, "images", list) != 0) {
        return sign__oom();
    }
    for (size_t i = 0; i < n; i++) {
        sign_image_info im;
        json_t *ij;

        if ((r = sign_artifact_image(&im, a, i)) != 0) {
            return r;
        }
        if ((ij = json_pack("{s:s}", "name", im.name)) == NULL || json_array_append_new(list, ij) != 0) {
            return sign__oom();
        }
        if ((r = image_json(ij, a, i)) != 0) {
            return r;
        }
    }
    return 0;
}

static json_t *finding_json(const sign_finding *f)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "id", f->id, "severity", sign_severity_name(f->severity), "message",
                          f->message != NULL ? f->message : "");

    if (o != NULL && f->path != NULL && json_object_set_new(o, "path", json_string(f->path)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/*
 * ph != SIZE_MAX: the entries are not built; "entries" holds the placeholder
 * string "\0E<ph>" instead, for sign__statement_payload to replace with the
 * entries written as text.
 */
static int artifact_json(json_t **out, const sign_artifact *a, size_t ph)
{
    json_t *o, *list, *name = NULL, *e;
    size_t i;
    int r;

    *out = NULL;
    if ((r = utf8_string(&name, sign_artifact_name(a), sign_artifact_name(a), "the artifact name")) != 0) {
        return r;
    }
    r = SIGN_ENOMEM;
    o = json_pack("{s:o,s:s,s:I,s:o}", "name", name, "kind", sign_artifact_kind_name(sign_artifact_get_kind(a)),
                  "size", (json_int_t)sign_artifact_size(a), "digest", digest_object(sign_artifact_sha256(a)));
    if (o == NULL) {
        return sign__oom();
    }
    if (sign_artifact_get_kind(a) == SIGN_ARTIFACT_OCI || sign_artifact_get_kind(a) == SIGN_ARTIFACT_DOCKER) {
        if ((r = images_json(o, a)) != 0) {
            goto fail;
        }
        r = SIGN_ENOMEM;
    } else if (sign_artifact_get_kind(a) != SIGN_ARTIFACT_FILE) {
        sign_layer_info li;

        if (sign_artifact_get_kind(a) == SIGN_ARTIFACT_LAYER && sign_artifact_layer(&li, a, 0, 0) == 0 &&
            li.diff_id != NULL && json_object_set_new(o, "diffID", oci_digest_string(li.diff_id)) != 0) {
            goto fail;
        }
        if (ph != SIZE_MAX) {
            char t[32];
            int w = snprintf(t, sizeof(t), "%cE%zu", '\0', ph);

            if (w < 0 || (size_t)w >= sizeof(t) ||
                json_object_set_new(o, "entries", json_stringn_nocheck(t, (size_t)w)) != 0) {
                goto fail;
            }
        } else if ((list = json_array()) == NULL || json_object_set_new(o, "entries", list) != 0) {
            goto fail;
        }
        for (i = 0; ph == SIZE_MAX && i < sign_artifact_entry_count(a); i++) {
            if ((r = entry_json(&e, sign_artifact_entry(a, i), sign_artifact_name(a))) != 0) {
                goto fail;
            }
            r = SIGN_ENOMEM;
            if (json_array_append_new(list, e) != 0) {
                goto fail;
            }
        }
    }
    if (sign_artifact_finding_count(a) > 0) {
        if ((list = json_array()) == NULL || json_object_set_new(o, "findings", list) != 0) {
            goto fail;
        }
        for (i = 0; i < sign_artifact_finding_count(a); i++) {
            if (json_array_append_new(list, finding_json(sign_artifact_finding(a, i))) != 0) {
                goto fail;
            }
        }
    }
    *out = o;
    return 0;
fail:
    json_decref(o);
    return r;
}

static int statement_index(sign_statement *st, const char *what);

/* The statement's JSON; placeholders: entries as placeholders (see artifact_json). */
static int build_root(json_t **out, sign_artifact *const *artifacts, size_t n, const sign_manifest_options *opts,
                      int placeholders)
{
    json_t *root = NULL, *subjects = NULL, *arts = NULL, *pred = NULL;
    char created[32];
    int64_t when = opts != NULL && opts->created != 0 ? opts->created : sign__now();
    int r = SIGN_ENOMEM;

    *out = NULL;
    if (opts != NULL &&
        (r = sign__check_version(opts->version, SIGN_MANIFEST_OPTIONS_VERSION, "sign_manifest_options")) != 0) {
        return r;
    }
    if (n == 0) {
        return sign__error(SIGN_EINVAL, "no artifacts to put in the statement");
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(sign_artifact_name(artifacts[i]), sign_artifact_name(artifacts[j])) == 0) {
                return sign__error(SIGN_EINVAL, "two artifacts are named \"%s\"; names must be unique",
                                   sign_artifact_name(artifacts[i]));
            }
        }
    }
    if ((r = sign_format_time(created, sizeof(created), when)) != 0) {
        return r;
    }
    r = SIGN_ENOMEM;
    if ((subjects = json_array()) == NULL || (arts = json_array()) == NULL) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const sign_artifact *a = artifacts[i];

        json_t *aj = NULL;

        if ((r = artifact_json(&aj, a, placeholders ? i : SIZE_MAX)) != 0) {
            goto out;
        }
        r = SIGN_ENOMEM;
        if (json_array_append_new(arts, aj) != 0 ||
            json_array_append_new(subjects, json_pack("{s:s,s:o}", "name", sign_artifact_name(a), "digest",
                                                      digest_object(sign_artifact_sha256(a)))) != 0) {
            goto out;
        }
        /* An index signed whole (--all): each of its image manifests is a subject too. */
        for (size_t k = 0; sign_artifact_index_sha256(a) != NULL && k < sign_artifact_image_count(a); k++) {
            sign_image_info im;

            if (sign_artifact_image(&im, a, k) != 0 || im.manifest == NULL) {
                continue;
            }
            if (json_array_append_new(
                    subjects, json_pack("{s:s,s:o}", "name", im.name, "digest", digest_object(im.manifest))) != 0) {
                goto out;
            }
        }
    }
    pred = json_pack("{s:s,s:{s:s,s:s},s:o}", "created", created, "tool", "name", "signet", "version",
                     SIGN_VERSION_STRING, "artifacts", arts);
    arts = NULL; /* transferred */
    if (pred == NULL) {
        goto out;
    }
    if (opts != NULL && opts->version >= 2 && opts->source != NULL) {
        json_t *src = NULL;

        if ((r = sign__source_to_json(&src, opts->source)) != 0) {
            goto out;
        }
        r = SIGN_ENOMEM;
        if (json_object_set_new(pred, "source", src) != 0) {
            goto out;
        }
    }
    /* downgrade protection: the artifacts' version */
    if (opts != NULL && opts->version >= 2 && opts->artifact_version != NULL) {
        if ((r = sign_version_check(opts->artifact_version)) != 0) {
            goto out;
        }
        r = SIGN_ENOMEM;
        if (json_object_set_new(pred, "version", json_string(opts->artifact_version)) != 0) {
            goto out;
        }
    }
    root = json_pack("{s:s,s:o,s:s,s:o}", "_type", SIGN_STATEMENT_TYPE, "subject", subjects, "predicateType",
                     SIGN_PREDICATE_TYPE, "predicate", pred);
    subjects = NULL;
    pred = NULL; /* transferred */
    if (root == NULL) {
        goto out;
    }
    *out = root;
    root = NULL; /* transferred */
    r = 0;
out:
    if (r == SIGN_ENOMEM) {
        sign__error(SIGN_ENOMEM, "out of memory building the statement");
    }
    json_decref(root);
    json_decref(subjects);
    json_decref(arts);
    json_decref(pred);
    return r;
}

/* The same as SIGN_MANIFEST_OPTIONS_INIT: the version, every other byte zero. */
void sign_manifest_options_init(sign_manifest_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->version = SIGN_MANIFEST_OPTIONS_VERSION;
}

int sign_statement_build(sign_statement **out, sign_artifact *const *artifacts, size_t n,
                         const sign_manifest_options *opts)
{
    sign_statement *st = NULL;
    json_t *root = NULL;
    int r;

    *out = NULL;
    if ((r = build_root(&root, artifacts, n, opts, 0)) != 0) {
        return r;
    }
    if ((st = calloc(1, sizeof(*st))) == NULL) {
        json_decref(root);
        return sign__error(SIGN_ENOMEM, "out of memory building the statement");
    }
    st->root = root;
    if ((r = statement_index(st, "statement")) != 0) {
        sign_statement_free(st);
        return r;
    }
    *out = st;
    return 0;
}

/* ---- the payload written directly ---------------------------------------------
 *
 * Signing a zip of 20,000 entries spent about 80 ms after the walk building
 * 20,000 jansson objects, dumping them and freeing them. The entries are
 * written here as the text jansson would write for them (compact, keys
 * sorted, the same escapes), and put in place of placeholders in the text of
 * the rest of the statement, which jansson still builds and writes.
 */

typedef struct tbuf {
    char *s;
    size_t n, cap;
    int failed;
} tbuf;

static void tb_put(tbuf *b, const char *p, size_t len)
{
    if (b->failed || len == 0) {
        return;
    }
    if (len > b->cap - b->n) {
        size_t ncap = b->cap != 0 ? b->cap : 4096;
        char *ns;

        while (len > ncap - b->n) {
            if (ncap > SIZE_MAX / 2) {
                b->failed = 1;
                return;
            }
            ncap *= 2;
        }
        if ((ns = realloc(b->s, ncap)) == NULL) {
            b->failed = 1;
            return;
        }
        b->s = ns;
        b->cap = ncap;
    }
    memcpy(b->s + b->n, p, len);
    b->n += len;
}

static void tb_lit(tbuf *b, const char *p)
{
    tb_put(b, p, strlen(p));
}

/* A JSON string as jansson 2.14 writes it without JSON_ENSURE_ASCII or JSON_ESCAPE_SLASH. */
static void tb_str(tbuf *b, const char *s)
{
    const char *run = s, *p;

    tb_put(b, "\"", 1);
    for (p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        char esc[8];

        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        tb_put(b, run, (size_t)(p - run));
        switch (c) {
        case '"': tb_lit(b, "\\\""); break;
        case '\\': tb_lit(b, "\\\\"); break;
        case '\b': tb_lit(b, "\\b"); break;
        case '\f': tb_lit(b, "\\f"); break;
        case '\n': tb_lit(b, "\\n"); break;
        case '\r': tb_lit(b, "\\r"); break;
        case '\t': tb_lit(b, "\\t"); break;
        default: snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)c); tb_lit(b, esc);
        }
        run = p + 1;
    }
    tb_put(b, run, (size_t)(p - run));
    tb_put(b, "\"", 1);
}

/* UTF-8 as json_string() requires (jansson decides when a byte is not ASCII); 0, SIGN_EUNSUPPORTED or SIGN_ENOMEM. */
static int tb_utf8_ok(const char *s, const char *artifact, const char *what)
{
    json_t *j = NULL;
    int r;

    for (const char *p = s; *p != '\0'; p++) {
        if ((unsigned char)*p >= 0x80) {
            r = utf8_string(&j, s, artifact, what);
            json_decref(j);
            return r;
        }
    }
    return 0;
}

/* The entries array of a, as entry_json() and a compact sorted dump would write it. */
static int entries_text(tbuf *b, const sign_artifact *a)
{
    const char *an = sign_artifact_name(a);
    char num[64];
    int r;

    tb_put(b, "[", 1);
    for (size_t i = 0; i < sign_artifact_entry_count(a); i++) {
        const sign_entry *e = sign_artifact_entry(a, i);

        if ((r = tb_utf8_ok(e->path, an, "an entry name")) != 0 ||
            (e->link_target != NULL && (r = tb_utf8_ok(e->link_target, an, "a link target")) != 0)) {
            return r;
        }
        tb_lit(b, i > 0 ? ",{" : "{");
        /* Keys in strcmp order: digest gid mode path size target type uid. */
        if (e->has_digest) {
            char hex[2 * SIGN_SHA256_LEN + 1];

            sign_hex_encode(hex, sizeof(hex), e->sha256, SIGN_SHA256_LEN);
            tb_lit(b, "\"digest\":{\"sha256\":\"");
            tb_lit(b, hex);
            tb_lit(b, "\"},");
        }
        if (e->has_owner) {
            snprintf(num, sizeof(num), "\"gid\":%" JSON_INTEGER_FORMAT ",", (json_int_t)e->gid);
            tb_lit(b, num);
        }
        snprintf(num, sizeof(num), "\"mode\":\"%04o\",\"path\":", e->mode & 07777);
        tb_lit(b, num);
        tb_str(b, e->path);
        snprintf(num, sizeof(num), ",\"size\":%" JSON_INTEGER_FORMAT, (json_int_t)e->size);
        tb_lit(b, num);
        if (e->link_target != NULL) {
            tb_lit(b, ",\"target\":");
            tb_str(b, e->link_target);
        }
        tb_lit(b, ",\"type\":");
        tb_str(b, sign_entry_type_name(e->type));
        if (e->has_owner) {
            snprintf(num, sizeof(num), ",\"uid\":%" JSON_INTEGER_FORMAT, (json_int_t)e->uid);
            tb_lit(b, num);
        }
        tb_put(b, "}", 1);
    }
    tb_put(b, "]", 1);
    return 0;
}

int sign__statement_payload(char **out, size_t *outlen, sign_artifact *const *artifacts, size_t n,
                            const sign_manifest_options *opts)
{
    json_t *root = NULL;
    char *text = NULL;
    size_t len = 0, at = 0;
    tbuf b = {NULL, 0, 0, 0};
    int r;

    *out = NULL;
    *outlen = 0;
    if ((r = build_root(&root, artifacts, n, opts, 1)) != 0) {
        return r;
    }
    /* What statement_index() checks of a statement built here and could fail: the number of subjects. */
    if (json_array_size(json_object_get(root, "subject")) > STATEMENT_MAX_SUBJECTS) {
        r = sign__error(SIGN_ELIMIT, "statement: more than %d subjects", STATEMENT_MAX_SUBJECTS);
        goto out;
    }
    if ((r = sign__json_dump(&text, &len, root, 0)) != 0) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char ph[48];
        const char *p;
        int w = snprintf(ph, sizeof(ph), "\"\\u0000E%zu\"", i);

        if (w < 0 || (size_t)w >= sizeof(ph)) {
            r = sign__error(SIGN_EINVAL, "statement: placeholder");
            goto out;
        }
        if ((p = memmem(text + at, len - at, ph, (size_t)w)) == NULL) {
            continue; /* a plain file: no entries */
        }
        tb_put(&b, text + at, (size_t)(p - (text + at)));
        if ((r = entries_text(&b, artifacts[i])) != 0) {
            goto out;
        }
        at = (size_t)(p - text) + (size_t)w;
    }
    tb_put(&b, text + at, len - at);
    tb_put(&b, "", 1); /* the terminating NUL */
    if (b.failed) {
        r = sign__error(SIGN_ENOMEM, "out of memory writing the statement");
        goto out;
    }
    *out = b.s;
    *outlen = b.n - 1;
    b.s = NULL;
    r = 0;
out:
    free(b.s);
    free(text);
    json_decref(root);
    return r;
}

int sign_statement_serialize(char **out, size_t *outlen, const sign_statement *st)
{
    return sign__json_dump(out, outlen, st->root, 0);
}

int sign_statement_serialize_pretty(char **out, const sign_statement *st)
{
    return sign__json_dump(out, NULL, st->root, 1);
}

/* Parse {"sha256": "<64 hex>"} (other algorithms ignored). */
static int sha256_of(unsigned char *out, const json_t *digest, const char *what)
{
    const char *hex = NULL;
    int r;

    if (!json_is_object(digest)) {
        return sign__error(SIGN_EPARSE, "%s: \"digest\" must be an object", what);
    }
    if ((r = sign__json_get_string(&hex, digest, "sha256", 0, what)) != 0) {
        return r;
    }
    if (hex == NULL) {
        return sign__error(SIGN_EPARSE, "%s: no sha256 digest (other algorithms are not accepted)", what);
    }
    if (strlen(hex) != 2 * SIGN_SHA256_LEN || sign_hex_decode(out, SIGN_SHA256_LEN, hex) != 0) {
        return sign__error(SIGN_EPARSE, "%s: sha256 must be 64 hex digits", what);
    }
    return 0;
}

/*
 * A subject's digest set: sha256, sha384 and sha512 (lowercase or uppercase
 * hex of the right length) are read; other algorithms are ignored. At least
 * one of the three must be present: a subject with only unknown or weak
 * algorithms (sha1, md5, gitCommit, ...) cannot be matched to bytes and is
 * refused.
 */
static int subject_digests(subject *sj, const json_t *digest, const char *what)
{
    static const struct {
        const char *alg;
        size_t len;
        unsigned int bit;
    } algs[] = {{"sha256", SIGN_SHA256_LEN, SUBJ_SHA256}, {"sha384", 48, SUBJ_SHA384}, {"sha512", 64, SUBJ_SHA512}};
    unsigned char *outs[3];

    outs[0] = sj->sha256;
    outs[1] = sj->sha384;
    outs[2] = sj->sha512;
    if (!json_is_object(digest)) {
        return sign__error(SIGN_EPARSE, "%s: \"digest\" must be an object", what);
    }
    sj->has = 0;
    for (size_t k = 0; k < 3; k++) {
        const char *hex = NULL;
        int r;

        if ((r = sign__json_get_string(&hex, digest, algs[k].alg, 0, what)) != 0) {
            return r;
        }
        if (hex == NULL) {
            continue;
        }
        if (strlen(hex) != 2 * algs[k].len || sign_hex_decode(outs[k], algs[k].len, hex) != 0) {
            return sign__error(SIGN_EPARSE, "%s: %s must be %zu hex digits", what, algs[k].alg, 2 * algs[k].len);
        }
        sj->has |= algs[k].bit;
    }
    if (sj->has == 0) {
        return sign__error(SIGN_EPARSE, "%s: no sha256, sha384 or sha512 digest (other algorithms are not accepted)",
                           what);
    }
    return 0;
}

/* "sha256:<64 lowercase hex>" into out (may be NULL). */
static int oci_digest_of(unsigned char *out, const json_t *v)
{
    unsigned char tmp[SIGN_SHA256_LEN];
    const char *s = json_string_value(v);

    if (s == NULL || strncmp(s, "sha256:", 7) != 0 || strlen(s + 7) != 2 * SIGN_SHA256_LEN ||
        strspn(s + 7, "0123456789abcdef") != 2 * SIGN_SHA256_LEN) {
        return -1;
    }
    return sign_hex_decode(out != NULL ? out : tmp, SIGN_SHA256_LEN, s + 7) == 0 ? 0 : -1;
}

/* Layer entries: as artifact entries, plus integer uid/gid. */
static int check_layer_entries(const json_t *v, const char *what)
{
    json_t *e;
    size_t j;

    if (!json_is_array(v)) {
        return sign__error(SIGN_EPARSE, "%s: \"entries\" must be an array", what);
    }
    json_array_foreach(v, j, e)
    {
        json_t *sz = json_object_get(e, "size"), *uid = json_object_get(e, "uid"), *gid = json_object_get(e, "gid");

        if (!json_is_object(e) || !json_is_string(json_object_get(e, "path")) ||
            !json_is_string(json_object_get(e, "type")) || !json_is_string(json_object_get(e, "mode")) ||
            !json_is_integer(sz) || json_integer_value(sz) < 0 ||
            (json_object_get(e, "target") != NULL && !json_is_string(json_object_get(e, "target"))) ||
            (uid != NULL && (!json_is_integer(uid) || json_integer_value(uid) < 0)) ||
            (gid != NULL && (!json_is_integer(gid) || json_integer_value(gid) < 0))) {
            return sign__error(SIGN_EPARSE,
                               "%s.entries[%zu]: needs string path, type, mode (and target), non-negative size, "
                               "uid, gid",
                               what, j);
        }
    }
    return 0;
}

/* The image fields of an oci-image / docker-archive record (or of one of its images[]). */
static int check_image_record(const json_t *o, const char *what)
{
    const json_t *layers = json_object_get(o, "layers"), *l;
    size_t j;
    int r;

    if ((json_object_get(o, "manifest") != NULL && oci_digest_of(NULL, json_object_get(o, "manifest")) != 0) ||
        (json_object_get(o, "config") != NULL && oci_digest_of(NULL, json_object_get(o, "config")) != 0) ||
        (json_object_get(o, "diffID") != NULL && oci_digest_of(NULL, json_object_get(o, "diffID")) != 0)) {
        return sign__error(SIGN_EPARSE, "%s: manifest, config and diffID must be \"sha256:<64 hex>\"", what);
    }
    if (layers == NULL) {
        return 0;
    }
    if (!json_is_array(layers)) {
        return sign__error(SIGN_EPARSE, "%s: \"layers\" must be an array", what);
    }
    json_array_foreach(layers, j, l)
    {
        char lw[96];
        const json_t *sz = json_object_get(l, "size");

        snprintf(lw, sizeof(lw), "%s.layers[%zu]", what, j);
        if (!json_is_object(l) || oci_digest_of(NULL, json_object_get(l, "digest")) != 0 ||
            (json_object_get(l, "diffID") != NULL && oci_digest_of(NULL, json_object_get(l, "diffID")) != 0) ||
            (json_object_get(l, "mediaType") != NULL && !json_is_string(json_object_get(l, "mediaType"))) ||
            !json_is_integer(sz) || json_integer_value(sz) < 0) {
            return sign__error(SIGN_EPARSE,
                               "%s: needs digest (and diffID) \"sha256:<64 hex>\", a string mediaType and a "
                               "non-negative size",
                               lw);
        }
        if ((r = check_layer_entries(json_object_get(l, "entries"), lw)) != 0) {
            return r;
        }
    }
    return 0;
}

static int check_predicate_artifact(const json_t *a, size_t i, uint64_t max_entries)
{
    char what[64];
    const char *s = NULL;
    json_t *v;
    size_t j;
    int r;

    snprintf(what, sizeof(what), "predicate.artifacts[%zu]", i);
    if (!json_is_object(a)) {
        return sign__error(SIGN_EPARSE, "%s must be an object", what);
    }
    if ((r = sign__json_get_string(&s, a, "name", 1, what)) != 0 ||
        (r = sign__json_get_string(&s, a, "kind", 1, what)) != 0) {
        return r;
    }
    v = json_object_get(a, "size");
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return sign__error(SIGN_EPARSE, "%s: \"size\" must be a non-negative integer", what);
    }
    v = json_object_get(a, "entries");
    if (v != NULL) {
        json_t *e;

        if (!json_is_array(v)) {
            return sign__error(SIGN_EPARSE, "%s: \"entries\" must be an array", what);
        }
        if (max_entries != 0 && json_array_size(v) > max_entries) {
            /* signet sign never records more: its walk stops at archive_max_entries. */
            return sign__error(SIGN_ELIMIT, "%s: more than %llu entries (archive_max_entries)", what,
                               (unsigned long long)max_entries);
        }
        json_array_foreach(v, j, e)
        {
            json_t *sz;

            if (!json_is_object(e) || !json_is_string(json_object_get(e, "path")) ||
                !json_is_string(json_object_get(e, "type")) || !json_is_string(json_object_get(e, "mode"))) {
                return sign__error(SIGN_EPARSE, "%s.entries[%zu]: needs string path, type and mode", what, j);
            }
            sz = json_object_get(e, "size");
            if (!json_is_integer(sz) || json_integer_value(sz) < 0) {
                return sign__error(SIGN_EPARSE, "%s.entries[%zu]: \"size\" must be a non-negative integer", what, j);
            }
            if (json_object_get(e, "target") != NULL && !json_is_string(json_object_get(e, "target"))) {
                return sign__error(SIGN_EPARSE, "%s.entries[%zu]: \"target\" must be a string", what, j);
            }
        }
    }
    if ((r = check_image_record(a, what)) != 0) {
        return r;
    }
    v = json_object_get(a, "images");
    if (v != NULL) {
        json_t *im;

        if (!json_is_array(v)) {
            return sign__error(SIGN_EPARSE, "%s: \"images\" must be an array", what);
        }
        json_array_foreach(v, j, im)
        {
            char iw[96];

            snprintf(iw, sizeof(iw), "%s.images[%zu]", what, j);
            if (!json_is_object(im) || !json_is_string(json_object_get(im, "name"))) {
                return sign__error(SIGN_EPARSE, "%s: needs a string name", iw);
            }
            if ((r = check_image_record(im, iw)) != 0) {
                return r;
            }
        }
    }
    v = json_object_get(a, "findings");
    if (v != NULL) {
        json_t *f;

        if (!json_is_array(v)) {
            return sign__error(SIGN_EPARSE, "%s: \"findings\" must be an array", what);
        }
        json_array_foreach(v, j, f)
        {
            if (!json_is_object(f) || !json_is_string(json_object_get(f, "id")) ||
                !json_is_string(json_object_get(f, "severity"))) {
                return sign__error(SIGN_EPARSE, "%s.findings[%zu]: needs string id and severity", what, j);
            }
        }
    }
    return 0;
}

/* Check the shape of st->root and fill the indexes. */
static int statement_index(sign_statement *st, const char *what)
{
    const char *type = NULL;
    json_t *subjects, *s, *pred;
    size_t i;
    int r;

    if (!json_is_object(st->root)) {
        return sign__error(SIGN_EPARSE, "%s: must be a JSON object", what);
    }
    if ((r = sign__json_get_string(&type, st->root, "_type", 1, what)) != 0) {
        return r;
    }
    if (strcmp(type, SIGN_STATEMENT_TYPE) != 0 && strcmp(type, SIGN_STATEMENT_TYPE_V01) != 0) {
        return sign__error(SIGN_EPARSE, "%s: _type \"%s\" is not an in-toto Statement", what, type);
    }
    if ((r = sign__json_get_string(&st->predicate_type, st->root, "predicateType", 1, what)) != 0) {
        return r;
    }
    subjects = json_object_get(st->root, "subject");
    if (!json_is_array(subjects)) {
        return sign__error(SIGN_EPARSE, "%s: \"subject\" must be an array", what);
    }
    if (json_array_size(subjects) == 0) {
        return sign__error(SIGN_EPARSE, "%s: the statement has no subjects", what);
    }
    if (json_array_size(subjects) > STATEMENT_MAX_SUBJECTS) {
        return sign__error(SIGN_ELIMIT, "%s: more than %d subjects", what, STATEMENT_MAX_SUBJECTS);
    }
    st->nsubjects = json_array_size(subjects);
    if ((st->subjects = calloc(st->nsubjects, sizeof(*st->subjects))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_array_foreach(subjects, i, s)
    {
        char sw[48];

        snprintf(sw, sizeof(sw), "%s: subject[%zu]", what, i);
        if (!json_is_object(s)) {
            return sign__error(SIGN_EPARSE, "%s must be an object", sw);
        }
        if ((r = sign__json_get_string(&st->subjects[i].name, s, "name", 0, sw)) != 0) {
            return r;
        }
        if (st->subjects[i].name == NULL) {
            st->subjects[i].name = "";
        }
        if ((r = subject_digests(&st->subjects[i], json_object_get(s, "digest"), sw)) != 0) {
            return r;
        }
    }
    pred = json_object_get(st->root, "predicate");
    if (strcmp(st->predicate_type, SIGN_PREDICATE_TYPE) != 0) {
        return 0; /* another tool's predicate: verified by its subjects only */
    }
    if (!json_is_object(pred)) {
        return sign__error(SIGN_EPARSE, "%s: \"predicate\" must be an object", what);
    }
    if ((r = sign__json_get_string(&st->created, pred, "created", 0, "predicate")) != 0 ||
        (r = sign__json_get_string(&st->version, pred, "version", 0, "predicate")) != 0) {
        return r;
    }
    st->source = json_object_get(pred, "source");
    if (st->source != NULL && !json_is_object(st->source)) {
        return sign__error(SIGN_EPARSE, "%s: predicate.source must be an object", what);
    }
    if (st->version != NULL && sign_version_check(st->version) != 0) {
        return sign__error_context(SIGN_EPARSE, "%s: predicate.version", what);
    }
    st->artifacts = json_object_get(pred, "artifacts");
    if (st->artifacts == NULL) {
        return 0;
    }
    if (!json_is_array(st->artifacts)) {
        return sign__error(SIGN_EPARSE, "%s: predicate.artifacts must be an array", what);
    }
    if (json_array_size(st->artifacts) > 0 &&
        (st->artifact_sha = calloc(json_array_size(st->artifacts), SIGN_SHA256_LEN)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_array_foreach(st->artifacts, i, s)
    {
        if ((r = check_predicate_artifact(s, i, st->max_entries)) != 0 ||
            (r = sha256_of(st->artifact_sha[i], json_object_get(s, "digest"), "predicate.artifacts")) != 0) {
            return sign__error_context(r, "%s", what);
        }
    }
    return 0;
}

int sign_statement_parse(sign_statement **out, const void *data, size_t len, const sign_limits *limits)
{
    sign_statement *st;
    sign_limits lim;
    int r;

    *out = NULL;
    if ((r = sign__limits(&lim, limits)) != 0) {
        return r;
    }
    if ((st = calloc(1, sizeof(*st))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    st->max_entries = lim.archive_max_entries;
    if ((r = sign__json_parse(&st->root, data, len, limits, "statement")) != 0 ||
        (r = statement_index(st, "statement")) != 0) {
        sign_statement_free(st);
        return r;
    }
    *out = st;
    return 0;
}

sign_statement *sign__statement_ref(sign_statement *st)
{
    __atomic_add_fetch(&st->more_holders, 1, __ATOMIC_RELAXED);
    return st;
}

/* The recorded entries of an image's layers, removed. */
static void drop_layer_entries(json_t *im)
{
    json_t *l;
    size_t j;

    json_array_foreach(json_object_get(im, "layers"), j, l)
    {
        json_object_del(l, "entries");
    }
}

void sign__statement_drop_entries(sign_statement *st)
{
    json_t *a, *im;
    size_t i, k;

    if (st == NULL || st->artifacts == NULL) {
        return;
    }
    json_array_foreach(st->artifacts, i, a)
    {
        json_object_del(a, "entries");
        drop_layer_entries(a); /* an artifact that records one image's layers */
        json_array_foreach(json_object_get(a, "images"), k, im)
        {
            drop_layer_entries(im);
        }
    }
}

const char *sign_statement_predicate_type(const sign_statement *st)
{
    return st->predicate_type;
}

size_t sign_statement_subject_count(const sign_statement *st)
{
    return st->nsubjects;
}

int sign_statement_subject(const char **name, const unsigned char **sha256, const sign_statement *st, size_t i)
{
    if (i >= st->nsubjects) {
        return sign__error(SIGN_EINVAL, "no subject %zu", i);
    }
    *name = st->subjects[i].name;
    *sha256 = st->subjects[i].sha256;
    if (!(st->subjects[i].has & SUBJ_SHA256)) {
        *sha256 = NULL;
        return sign__error(SIGN_ENOTFOUND, "subject %zu (\"%s\") lists no sha256 digest", i, st->subjects[i].name);
    }
    return 0;
}

int sign__statement_subject_digests(const char **name, const unsigned char **sha256, const unsigned char **sha384,
                                    const unsigned char **sha512, const sign_statement *st, size_t i)
{
    const subject *sj;

    if (i >= st->nsubjects) {
        return sign__error(SIGN_EINVAL, "no subject %zu", i);
    }
    sj = &st->subjects[i];
    *name = sj->name;
    *sha256 = (sj->has & SUBJ_SHA256) ? sj->sha256 : NULL;
    *sha384 = (sj->has & SUBJ_SHA384) ? sj->sha384 : NULL;
    *sha512 = (sj->has & SUBJ_SHA512) ? sj->sha512 : NULL;
    return 0;
}

const char *sign_statement_created(const sign_statement *st)
{
    return st->created;
}

const char *sign_statement_version(const sign_statement *st)
{
    return st->version;
}

size_t sign_statement_artifact_count(const sign_statement *st)
{
    return st->artifacts != NULL ? json_array_size(st->artifacts) : 0;
}

int sign_statement_artifact_info(sign_statement_artifact *out, const sign_statement *st, size_t i)
{
    json_t *a;

    memset(out, 0, sizeof(*out));
    if (i >= sign_statement_artifact_count(st)) {
        return sign__error(SIGN_EINVAL, "no artifact %zu in the statement", i);
    }
    a = json_array_get(st->artifacts, i);
    out->name = json_string_value(json_object_get(a, "name"));
    out->kind = json_string_value(json_object_get(a, "kind"));
    out->size = (uint64_t)json_integer_value(json_object_get(a, "size"));
    out->sha256 = st->artifact_sha[i];
    out->entry_count = json_array_size(json_object_get(a, "entries"));
    out->finding_count = json_array_size(json_object_get(a, "findings"));
    return 0;
}

static int entry_type_of(sign_entry_type *out, const char *s)
{
    static const sign_entry_type types[] = {SIGN_ENTRY_FILE,     SIGN_ENTRY_DIR,   SIGN_ENTRY_SYMLINK,
                                            SIGN_ENTRY_HARDLINK, SIGN_ENTRY_OTHER, SIGN_ENTRY_WHITEOUT,
                                            SIGN_ENTRY_OPAQUE};

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(sign_entry_type_name(types[i]), s) == 0) {
            *out = types[i];
            return 0;
        }
    }
    return sign__error(SIGN_EPARSE, "unknown entry type \"%s\"", s);
}

/* An entry object (already shape-checked) into out; strings owned by the statement. */
static int entry_from_json(sign_entry *out, const json_t *e)
{
    const json_t *d;
    const char *mode;
    unsigned long m = 0;
    char *end = NULL;
    int r;

    out->path = json_string_value(json_object_get(e, "path"));
    if ((r = entry_type_of(&out->type, json_string_value(json_object_get(e, "type")))) != 0) {
        return r;
    }
    mode = json_string_value(json_object_get(e, "mode"));
    m = strtoul(mode, &end, 8);
    if (mode[0] == '\0' || *end != '\0' || m > 07777) {
        return sign__error(SIGN_EPARSE, "entry %s: invalid mode \"%s\"", out->path, mode);
    }
    out->mode = (unsigned int)m;
    out->size = (uint64_t)json_integer_value(json_object_get(e, "size"));
    out->link_target = json_string_value(json_object_get(e, "target"));
    if (json_is_integer(json_object_get(e, "uid")) && json_is_integer(json_object_get(e, "gid"))) {
        out->has_owner = 1;
        out->uid = (uint64_t)json_integer_value(json_object_get(e, "uid"));
        out->gid = (uint64_t)json_integer_value(json_object_get(e, "gid"));
    }
    d = json_object_get(e, "digest");
    if (d != NULL) {
        if ((r = sha256_of(out->sha256, d, out->path)) != 0) {
            return r;
        }
        out->has_digest = 1;
    }
    return 0;
}

int sign_statement_artifact_entry(sign_entry *out, const sign_statement *st, size_t i, size_t j)
{
    json_t *e;

    memset(out, 0, sizeof(*out));
    if (i >= sign_statement_artifact_count(st)) {
        return sign__error(SIGN_EINVAL, "no artifact %zu in the statement", i);
    }
    e = json_array_get(json_object_get(json_array_get(st->artifacts, i), "entries"), j);
    if (e == NULL) {
        return sign__error(SIGN_EINVAL, "no entry %zu in artifact %zu", j, i);
    }
    return entry_from_json(out, e);
}

/* Image k of artifact i: images[k], or the artifact itself when it records one image's layers. */
static const json_t *statement_image(const sign_statement *st, size_t i, size_t k)
{
    const json_t *a = json_array_get(st->artifacts, i);
    const json_t *images = json_object_get(a, "images");

    if (images != NULL) {
        return json_array_get(images, k);
    }
    return k == 0 && json_object_get(a, "layers") != NULL ? a : NULL;
}

size_t sign_statement_artifact_image_count(const sign_statement *st, size_t i)
{
    const json_t *a = i < sign_statement_artifact_count(st) ? json_array_get(st->artifacts, i) : NULL;

    if (a == NULL) {
        return 0;
    }
    if (json_object_get(a, "images") != NULL) {
        return json_array_size(json_object_get(a, "images"));
    }
    return json_object_get(a, "layers") != NULL ? 1 : 0;
}

int sign_statement_artifact_layer(sign_statement_layer *out, const sign_statement *st, size_t i, size_t k, size_t j)
{
    const json_t *im, *l;

    memset(out, 0, sizeof(*out));
    if (i >= sign_statement_artifact_count(st) || (im = statement_image(st, i, k)) == NULL) {
        return sign__error(SIGN_EINVAL, "no image %zu in artifact %zu of the statement", k, i);
    }
    out->layer_count = json_array_size(json_object_get(im, "layers"));
    if ((l = json_array_get(json_object_get(im, "layers"), j)) == NULL) {
        return sign__error(SIGN_EINVAL, "no layer %zu in image %zu of artifact %zu", j, k, i);
    }
    out->media_type = json_string_value(json_object_get(l, "mediaType"));
    (void)oci_digest_of(out->digest, json_object_get(l, "digest"));
    out->has_diff_id = oci_digest_of(out->diff_id, json_object_get(l, "diffID")) == 0;
    out->size = (uint64_t)json_integer_value(json_object_get(l, "size"));
    out->entry_count = json_array_size(json_object_get(l, "entries"));
    return 0;
}

int sign_statement_artifact_layer_entry(sign_entry *out, const sign_statement *st, size_t i, size_t k, size_t j,
                                        size_t e)
{
    const json_t *im, *en;

    memset(out, 0, sizeof(*out));
    if (i >= sign_statement_artifact_count(st) || (im = statement_image(st, i, k)) == NULL ||
        (en = json_array_get(json_object_get(json_array_get(json_object_get(im, "layers"), j), "entries"), e)) ==
            NULL) {
        return sign__error(SIGN_EINVAL, "no entry %zu in layer %zu of image %zu of artifact %zu", e, j, k, i);
    }
    return entry_from_json(out, en);
}

int sign_statement_artifact_finding(sign_finding *out, const sign_statement *st, size_t i, size_t j)
{
    json_t *f;
    const char *sev;

    memset(out, 0, sizeof(*out));
    if (i >= sign_statement_artifact_count(st)) {
        return sign__error(SIGN_EINVAL, "no artifact %zu in the statement", i);
    }
    f = json_array_get(json_object_get(json_array_get(st->artifacts, i), "findings"), j);
    if (f == NULL) {
        return sign__error(SIGN_EINVAL, "no finding %zu in artifact %zu", j, i);
    }
    out->id = json_string_value(json_object_get(f, "id"));
    out->path = json_string_value(json_object_get(f, "path"));
    out->message = json_string_value(json_object_get(f, "message"));
    sev = json_string_value(json_object_get(f, "severity"));
    if (strcmp(sev, "danger") == 0) {
        out->severity = SIGN_SEVERITY_DANGER;
    } else if (strcmp(sev, "warning") == 0) {
        out->severity = SIGN_SEVERITY_WARNING;
    } else {
        out->severity = SIGN_SEVERITY_INFO;
    }
    return 0;
}

const json_t *sign__statement_source(const sign_statement *st)
{
    return st != NULL ? st->source : NULL;
}

int sign_statement_source(char **out, const sign_statement *st)
{
    *out = NULL;
    if (st == NULL || st->source == NULL) {
        return sign__error(SIGN_ENOTFOUND, "the statement records no source");
    }
    return sign__json_dump(out, NULL, st->source, 0);
}
