/*
 * The signing log (include/sign/log.h, docs/log.md): bundles appended to a bare git repository, one commit
 * each, with an index by signer and by subject digest kept in the same tree so that lookups never walk
 * history, and a verifier that proves a log only grew since a checkpoint.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "git.h"
#include "log_internal.h"
#include "sign/log.h"

int sign__log_open(git_repository **out, const char *dir)
{
    int r, rc;

    *out = NULL;
    if ((r = sign__git_init()) != 0) {
        return r;
    }
    rc = git_repository_open_bare(out, dir);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return sign__error(SIGN_ENOTFOUND, "%s is not a signing log (make one with signet log init %s)", dir, dir);
    }
    if (rc < 0) {
        return sign__git_error(rc, SIGN_EIO, dir);
    }
    return 0;
}

int sign__log_head(git_commit **out, git_repository *repo)
{
    git_oid id;
    int rc;

    *out = NULL;
    rc = git_reference_name_to_id(&id, repo, LOG_BRANCH);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return 0; /* an empty log */
    }
    if (rc < 0 || (rc = git_commit_lookup(out, repo, &id)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "reading the log's head");
    }
    return 0;
}

int sign_log_init(const char *dir)
{
    git_repository *repo = NULL;
    git_repository_init_options io;
    int r, rc;

    if ((r = sign__git_init()) != 0) {
        return r;
    }
    if (git_repository_open_ext(&repo, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0) {
        git_repository_free(repo);
        return sign__error(SIGN_EEXISTS, "%s is already a git repository", dir);
    }
    git_error_clear();
    if ((rc = git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION)) < 0) {
        return sign__git_error(rc, SIGN_ERROR, "git init options");
    }
    io.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
    io.initial_head = "main";
    io.description = "signet signing log";
    if ((rc = git_repository_init_ext(&repo, dir, &io)) < 0) {
        return sign__git_error(rc, SIGN_EIO, dir);
    }
    git_repository_free(repo);
    return 0;
}

/* ---- one entry: what a bundle is indexed under ------------------------------------------------------ */

void sign__log_entry_free(log_entry *e)
{
    free(e->digests);
    json_decref(e->summary);
    memset(e, 0, sizeof(*e));
}

static int hex_sha256(char out[SIGN_LOG_ID_SIZE], const void *data, size_t len)
{
    unsigned char md[SIGN_SHA256_LEN];
    size_t mdlen = 0;
    int r;

    if ((r = sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, data, len)) != 0) {
        return r;
    }
    return sign_hex_encode(out, SIGN_LOG_ID_SIZE, md, mdlen);
}

/* The signer's key id: the certificate's key, else the signature's keyid, else the bundle's hint. */
static int bundle_key_id(char *out, size_t outsize, const sign_bundle *b)
{
    const sign_envelope *env = sign_bundle_envelope(b);
    const unsigned char *der;
    const char *kid;
    size_t len = 0;
    int r;

    if ((der = sign_bundle_certificate(b, &len)) != NULL) {
        sign_x509_certs *certs = NULL;
        sign_key *key = NULL;

        if ((r = sign_x509_certs_parse(&certs, der, len, "the bundle's certificate")) == 0 &&
            (r = sign_x509_certs_key(&key, certs, 0)) == 0) {
            r = sign_key_id(out, outsize, key);
        }
        sign_key_free(key);
        sign_x509_certs_free(certs);
        return r;
    }
    kid = sign_envelope_signature_keyid(env, 0);
    if (kid == NULL || kid[0] == '\0') {
        kid = sign_bundle_key_hint(b);
    }
    if (kid == NULL || kid[0] == '\0') {
        return sign__error(SIGN_EPARSE, "the bundle names no signer key (no keyid, hint or certificate)");
    }
    snprintf(out, outsize, "%s", kid);
    return 0;
}

static int add_subjects(log_entry *e, const sign_bundle *b)
{
    const sign_envelope *env = sign_bundle_envelope(b);
    sign_statement *st = NULL;
    const unsigned char *payload;
    size_t len = 0, n;
    json_t *arr;
    int r;

    payload = sign_envelope_payload(env, &len);
    if ((r = sign_statement_parse(&st, payload, len, NULL)) != 0) {
        return sign__error_context(r, "the bundle's statement");
    }
    n = sign_statement_subject_count(st);
    if ((arr = json_array()) == NULL || json_object_set_new(e->summary, "subjects", arr) != 0 ||
        (e->digests = calloc(n > 0 ? n : 1, sizeof(*e->digests))) == NULL) {
        sign_statement_free(st);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const char *name;
        const unsigned char *sha;
        char hex[SIGN_LOG_ID_SIZE];
        size_t k;

        if ((r = sign_statement_subject(&name, &sha, st, i)) != 0 ||
            (r = sign_hex_encode(hex, sizeof(hex), sha, SIGN_SHA256_LEN)) != 0) {
            break;
        }
        if (json_array_append_new(arr, json_pack("{s:o,s:s}", "name", sign__json_text(name), "sha256", hex)) != 0) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
            break;
        }
        for (k = 0; k < e->ndigests && strcmp(e->digests[k], hex) != 0; k++) {
        }
        if (k == e->ndigests) {
            memcpy(e->digests[e->ndigests++], hex, sizeof(hex));
        }
    }
    sign_statement_free(st);
    return r;
}

int sign__log_entry_from_bundle(log_entry *e, const void *data, size_t len, const char *logged)
{
    sign_bundle *b = NULL;
    int r;

    memset(e, 0, sizeof(*e));
    if ((r = hex_sha256(e->id, data, len)) != 0) {
        return r;
    }
    if ((r = sign_bundle_parse(&b, data, len, NULL)) != 0) {
        return r;
    }
    if ((r = bundle_key_id(e->key_id, sizeof(e->key_id), b)) != 0 ||
        (r = hex_sha256(e->key_hash, e->key_id, strlen(e->key_id))) != 0) {
        goto out;
    }
    if ((e->summary = json_pack("{s:s,s:s,s:s}", "id", e->id, "logged", logged, "key_id", e->key_id)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    r = add_subjects(e, b);
out:
    sign_bundle_free(b);
    if (r != 0) {
        sign__log_entry_free(e);
    }
    return r;
}

void sign__log_entry_path(char *out, size_t outsize, const char *id)
{
    snprintf(out, outsize, "entries/%.2s/%s.json", id, id);
}

void sign__log_key_path(char *out, size_t outsize, const char *key_hash, const char *id)
{
    snprintf(out, outsize, "by-key/%s/%.2s/%s", key_hash, id, id);
}

void sign__log_digest_path(char *out, size_t outsize, const char *digest, const char *id)
{
    snprintf(out, outsize, "by-digest/%.2s/%s/%s", digest, digest, id);
}

/* ---- appending --------------------------------------------------------------------------------------- */

#define LOG_MAX_DEPTH 8

/* One level of a path: the component's name and the tree it lives in (NULL: a new tree). */
typedef struct level {
    char name[128];
    git_tree *tree;
} level;

/*
 * A tree like base (NULL: empty) with a blob at path (a/b/c), written to *out. Only the trees along the
 * path are rebuilt, bottom-up; an existing blob at path is an error unless replace.
 */
static int tree_put(git_oid *out, git_repository *repo, const git_tree *base, const char *path, const git_oid *blob,
                    int replace)
{
    level lv[LOG_MAX_DEPTH];
    size_t n = 0;
    const char *at = path;
    git_oid id;
    int r = 0, rc;

    memset(lv, 0, sizeof(lv));
    /* down: the existing tree at each level */
    while (r == 0) {
        size_t len = strcspn(at, "/");
        const git_tree *parent = n == 0 ? base : lv[n - 1].tree;
        const git_tree_entry *te;

        if (n == LOG_MAX_DEPTH || len == 0 || len >= sizeof(lv[n].name)) {
            r = sign__error(SIGN_EINVAL, "log: bad path %s", path);
            break;
        }
        memcpy(lv[n].name, at, len);
        lv[n].name[len] = '\0';
        if (at[len] == '\0') {
            n++;
            break;
        }
        te = parent != NULL ? git_tree_entry_byname(parent, lv[n].name) : NULL;
        if (te != NULL && git_tree_entry_type(te) == GIT_OBJECT_TREE &&
            (rc = git_tree_lookup(&lv[n].tree, repo, git_tree_entry_id(te))) < 0) {
            r = sign__git_error(rc, SIGN_EIO, "log: reading a tree");
        }
        n++;
        at += len + 1;
    }
    /* up: each level's tree rebuilt with the new entry */
    git_oid_cpy(&id, blob);
    for (size_t k = n; r == 0 && k-- > 0;) {
        const git_tree *parent = k == 0 ? base : lv[k - 1].tree;
        int is_blob = k == n - 1;
        git_treebuilder *bld = NULL;

        if ((rc = git_treebuilder_new(&bld, repo, parent)) < 0) {
            r = sign__git_error(rc, SIGN_EIO, "log: building a tree");
            break;
        }
        if (is_blob && !replace && git_treebuilder_get(bld, lv[k].name) != NULL) {
            r = sign__error(SIGN_EEXISTS, "log: %s is already present", path);
        } else if ((rc = git_treebuilder_insert(NULL, bld, lv[k].name, &id,
                                                is_blob ? GIT_FILEMODE_BLOB : GIT_FILEMODE_TREE)) < 0 ||
                   (rc = git_treebuilder_write(&id, bld)) < 0) {
            r = sign__git_error(rc, SIGN_EIO, "log: writing a tree");
        }
        git_treebuilder_free(bld);
    }
    for (size_t k = 0; k < n; k++) {
        git_tree_free(lv[k].tree);
    }
    if (r == 0) {
        git_oid_cpy(out, &id);
    }
    return r;
}

/* The count blob of a tree (0 when absent). */
int sign__log_tree_count(uint64_t *out, git_repository *repo, const git_tree *tree)
{
    git_tree_entry *te = NULL;
    git_blob *blob = NULL;
    char buf[32];
    char *end;
    size_t n;
    int rc;

    *out = 0;
    if (tree == NULL) {
        return 0;
    }
    rc = git_tree_entry_bypath(&te, tree, "count");
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return 0;
    }
    if (rc < 0 || (rc = git_blob_lookup(&blob, repo, git_tree_entry_id(te))) < 0) {
        git_tree_entry_free(te);
        return sign__git_error(rc, SIGN_EIO, "log: reading the count");
    }
    n = (size_t)git_blob_rawsize(blob);
    if (n == 0 || n >= sizeof(buf)) {
        n = 0;
    }
    memcpy(buf, git_blob_rawcontent(blob), n);
    buf[n] = '\0';
    git_blob_free(blob);
    git_tree_entry_free(te);
    *out = strtoull(buf, &end, 10);
    if (n == 0 || buf[0] < '0' || buf[0] > '9' || strcmp(end, "\n") != 0) {
        return sign__error(SIGN_EPARSE, "log: the count is not a number followed by a newline");
    }
    return 0;
}

static int put_blob(git_oid *tree, git_repository *repo, const git_tree *base, const char *path, const void *data,
                    size_t len, int replace)
{
    git_oid blob;
    int rc = git_blob_create_from_buffer(&blob, repo, data, len);

    if (rc < 0) {
        return sign__git_error(rc, SIGN_EIO, "log: writing a blob");
    }
    return tree_put(tree, repo, base, path, &blob, replace);
}

/* The tree of head (NULL) plus one entry, its index paths and the count + 1. */
static int entry_tree(git_oid *out, git_repository *repo, const git_tree *head, const log_entry *e, const void *data,
                      size_t len, uint64_t count)
{
    git_tree *cur = NULL;
    git_oid id;
    char path[512], num[32], *summary = NULL;
    size_t slen = 0;
    int r;

    if ((r = sign__json_dump(&summary, &slen, e->summary, 0)) != 0) {
        return r;
    }
    sign__log_entry_path(path, sizeof(path), e->id);
    r = put_blob(&id, repo, head, path, data, len, 0);
    for (size_t i = 0; r == 0 && i <= e->ndigests + 1; i++) {
        git_tree_free(cur);
        cur = NULL;
        if ((r = git_tree_lookup(&cur, repo, &id)) < 0) {
            r = sign__git_error(r, SIGN_EIO, "log: reading a tree");
            break;
        }
        if (i == 0) {
            sign__log_key_path(path, sizeof(path), e->key_hash, e->id);
            r = put_blob(&id, repo, cur, path, summary, slen, 0);
        } else if (i <= e->ndigests) {
            sign__log_digest_path(path, sizeof(path), e->digests[i - 1], e->id);
            r = put_blob(&id, repo, cur, path, summary, slen, 0);
        } else {
            snprintf(num, sizeof(num), "%llu\n", (unsigned long long)count + 1);
            r = put_blob(&id, repo, cur, "count", num, strlen(num), 1);
        }
    }
    git_tree_free(cur);
    free(summary);
    if (r == 0) {
        git_oid_cpy(out, &id);
    }
    return r;
}

/* Lock file in the log's directory: appends and syncs run one at a time. */
int sign__log_lock(int *fd, const char *dir)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/signet-log.lock", dir);
    if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0) {
        return sign__error(SIGN_EIO, "%s: cannot open the log's lock file", path);
    }
    if (flock(*fd, LOCK_EX) != 0) {
        close(*fd);
        *fd = -1;
        return sign__error(SIGN_EIO, "%s: cannot lock the log", path);
    }
    return 0;
}

int sign__log_append(git_oid *out_commit, git_repository *repo, git_commit *parent, const void *data, size_t len,
                     log_entry *e, int move_branch)
{
    git_tree *head_tree = NULL, *tree = NULL;
    git_signature *sig = NULL;
    git_reference *ref = NULL;
    git_tree_entry *te = NULL;
    const git_commit *parents[1];
    git_oid tree_id, commit_id;
    char path[512], msg[1024], *summary = NULL;
    const char *first = NULL;
    uint64_t count = 0;
    int r, rc;

    if (parent != NULL && (rc = git_commit_tree(&head_tree, parent)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "log: reading the head's tree");
    }
    sign__log_entry_path(path, sizeof(path), e->id);
    if (head_tree != NULL && git_tree_entry_bypath(&te, head_tree, path) == 0) {
        git_tree_entry_free(te);
        git_tree_free(head_tree);
        return sign__error(SIGN_EEXISTS, "the bundle is already in the log (entry %s)", e->id);
    }
    git_error_clear();
    if ((r = sign__log_tree_count(&count, repo, head_tree)) != 0 ||
        (r = entry_tree(&tree_id, repo, head_tree, e, data, len, count)) != 0 ||
        (r = sign__json_dump(&summary, NULL, e->summary, 0)) != 0) {
        goto out;
    }
    first = json_string_value(json_object_get(json_array_get(json_object_get(e->summary, "subjects"), 0), "name"));
    snprintf(msg, sizeof(msg), "log: %s%s signed by %s\n\n%s\n", first != NULL ? first : "(no subject)",
             json_array_size(json_object_get(e->summary, "subjects")) > 1 ? " and others" : "", e->key_id,
             strlen(summary) < 700 ? summary : "{}");
    parents[0] = parent;
    if ((rc = git_tree_lookup(&tree, repo, &tree_id)) < 0 ||
        (rc = git_signature_now(&sig, "signet", "signet@localhost")) < 0 ||
        (rc = git_commit_create(&commit_id, repo, NULL, sig, sig, NULL, msg, tree, parent != NULL ? 1 : 0, parents)) <
            0) {
        r = sign__git_error(rc, SIGN_EIO, "log: writing the commit");
        goto out;
    }
    rc = !move_branch     ? 0
         : parent != NULL ? git_reference_create_matching(&ref, repo, LOG_BRANCH, &commit_id, 1,
                                                          git_commit_id(parent), "signet log add")
                          : git_reference_create(&ref, repo, LOG_BRANCH, &commit_id, 0, "signet log add");
    if (rc < 0) {
        r = sign__git_error(rc, SIGN_EIO, "log: moving the head (another writer without the lock?)");
        goto out;
    }
    git_oid_cpy(out_commit, &commit_id);
out:
    free(summary);
    git_reference_free(ref);
    git_signature_free(sig);
    git_tree_free(tree);
    git_tree_free(head_tree);
    return r;
}

int sign_log_add(char *out_id, const char *dir, const void *bundle, size_t len)
{
    git_repository *repo = NULL;
    git_commit *head = NULL;
    log_entry e;
    git_oid commit;
    char now[32];
    int r, fd = -1;

    memset(&e, 0, sizeof(e));
    if (out_id != NULL) {
        out_id[0] = '\0';
    }
    if ((r = sign_format_time(now, sizeof(now), sign__now())) != 0 ||
        (r = sign__log_entry_from_bundle(&e, bundle, len, now)) != 0) {
        return r;
    }
    if (out_id != NULL) {
        memcpy(out_id, e.id, SIGN_LOG_ID_SIZE);
    }
    if ((r = sign__log_open(&repo, dir)) != 0 || (r = sign__log_lock(&fd, dir)) != 0 ||
        (r = sign__log_head(&head, repo)) != 0) {
        goto out;
    }
    r = sign__log_append(&commit, repo, head, bundle, len, &e, 1);
out:
    if (fd >= 0) {
        close(fd); /* releases the lock */
    }
    git_commit_free(head);
    git_repository_free(repo);
    sign__log_entry_free(&e);
    return r;
}

int sign_log_checkpoint(char *out_commit, uint64_t *out_count, const char *dir)
{
    git_repository *repo = NULL;
    git_commit *head = NULL;
    git_tree *tree = NULL;
    int r, rc;

    out_commit[0] = '\0';
    *out_count = 0;
    if ((r = sign__log_open(&repo, dir)) != 0 || (r = sign__log_head(&head, repo)) != 0) {
        goto out;
    }
    if (head == NULL) {
        r = sign__error(SIGN_ENOTFOUND, "the log %s has no entries yet", dir);
        goto out;
    }
    if ((rc = git_commit_tree(&tree, head)) < 0) {
        r = sign__git_error(rc, SIGN_EIO, "log: reading the head's tree");
        goto out;
    }
    sign__git_oid_hex(out_commit, git_commit_id(head));
    r = sign__log_tree_count(out_count, repo, tree);
out:
    git_tree_free(tree);
    git_commit_free(head);
    git_repository_free(repo);
    return r;
}

int sign_log_contains(const char *dir, const void *bundle, size_t len)
{
    git_repository *repo = NULL;
    git_commit *head = NULL;
    git_tree *tree = NULL;
    git_tree_entry *te = NULL;
    char id[SIGN_LOG_ID_SIZE], path[512];
    int r, rc;

    if ((r = hex_sha256(id, bundle, len)) != 0 || (r = sign__log_open(&repo, dir)) != 0 ||
        (r = sign__log_head(&head, repo)) != 0) {
        goto out;
    }
    if (head != NULL && (rc = git_commit_tree(&tree, head)) < 0) {
        r = sign__git_error(rc, SIGN_EIO, "log: reading the head's tree");
        goto out;
    }
    r = sign__error(SIGN_ENOTFOUND, "the bundle (entry %s) is not in the log %s", id, dir);
    if (head == NULL) {
        goto out;
    }
    sign__log_entry_path(path, sizeof(path), id);
    if (git_tree_entry_bypath(&te, tree, path) == 0) {
        r = 0;
    }
    git_error_clear();
out:
    git_tree_entry_free(te);
    git_tree_free(tree);
    git_commit_free(head);
    git_repository_free(repo);
    return r;
}
