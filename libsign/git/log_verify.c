/*
 * Proving a signing log only grew (sign_log_verify) and finding entries in it (sign_log_search). Every
 * commit after the checkpoint is checked against its parent: one parent, one bundle added under its own
 * SHA-256, its index paths added and nothing else, the count one higher. A removed or edited entry, an
 * index that does not match its bundle, a merge or a reset all show as the first commit that breaks this.
 */
#include <stdlib.h>
#include <string.h>

#include "log_internal.h"

typedef struct added {
    char entry_id[SIGN_LOG_ID_SIZE];
    char entry_path[512];
    git_oid entry_blob;
    int nentries;
    char **index_paths; /* by-key/ and by-digest/ paths added */
    size_t nindex, capindex;
    int count_changed;
} added;

/*
 * The trees the walk read last, by id, one per slot (a slot's next tree replaces it): a commit's parent tree and
 * the subtrees along the paths it changed are, most of the time, the trees the commits just before it read as
 * theirs. Its size is fixed, so a long log costs no more memory than a short one (libgit2's own cache is off,
 * git.c).
 */
#define TREE_CACHE_SLOTS 8192

typedef struct tree_cache {
    git_oid id[TREE_CACHE_SLOTS];
    git_tree *tree[TREE_CACHE_SLOTS];
} tree_cache;

static void tree_cache_free(tree_cache *tc)
{
    if (tc != NULL) {
        for (size_t i = 0; i < TREE_CACHE_SLOTS; i++) {
            git_tree_free(tc->tree[i]);
        }
        free(tc);
    }
}

/* The tree id, from the cache (tc NULL: none) or read and kept there; *out is the caller's to free. */
static int tree_get(git_tree **out, tree_cache *tc, git_repository *repo, const git_oid *id)
{
    size_t slot = ((size_t)id->id[0] << 8 | id->id[1]) % TREE_CACHE_SLOTS;
    int rc;

    *out = NULL;
    if (tc != NULL && tc->tree[slot] != NULL && git_oid_equal(&tc->id[slot], id)) {
        return git_tree_dup(out, tc->tree[slot]);
    }
    if ((rc = git_tree_lookup(out, repo, id)) < 0 || tc == NULL) {
        return rc;
    }
    git_tree_free(tc->tree[slot]);
    tc->tree[slot] = NULL;
    if ((rc = git_tree_dup(&tc->tree[slot], *out)) == 0) {
        git_oid_cpy(&tc->id[slot], id);
    }
    return rc;
}

static void added_free(added *a)
{
    for (size_t i = 0; i < a->nindex; i++) {
        free(a->index_paths[i]);
    }
    free(a->index_paths);
    memset(a, 0, sizeof(*a));
}

static int rewritten(char *out_bad, const git_oid *commit, const char *why)
{
    char hex[GIT_OID_HEXSZ + 1];

    sign__git_oid_hex(hex, commit);
    if (out_bad != NULL) {
        memcpy(out_bad, hex, sizeof(hex));
    }
    return sign__error(SIGN_EVERIFY, "LOG_REWRITTEN: commit %s %s", hex, why);
}

/* One path a commit changed, sorted into entry, index paths and count; first: the log's first commit. */
static int note_change(added *a, const char **why, int first, git_delta_t status, const char *path, const git_oid *id)
{
    if (strcmp(path, "count") == 0 && (status == GIT_DELTA_MODIFIED || (first && status == GIT_DELTA_ADDED))) {
        a->count_changed = 1;
    } else if (strcmp(path, "format") == 0 && first && status == GIT_DELTA_ADDED) {
        /* the first commit of a log in format 2 or later says so; its value is read by check_commit */
    } else if (status != GIT_DELTA_ADDED) {
        *why = "changes or removes what an earlier commit recorded";
    } else if (strncmp(path, "entries/", 8) == 0) {
        const char *base = strrchr(path, '/') + 1;

        if (a->nentries++ > 0 || strlen(base) != 64 + 5 || strcmp(base + 64, ".json") != 0) {
            *why = "adds more than one entry, or an entry under a name that is not a SHA-256";
        } else {
            memcpy(a->entry_id, base, 64);
            a->entry_id[64] = '\0';
            snprintf(a->entry_path, sizeof(a->entry_path), "%s", path);
            git_oid_cpy(&a->entry_blob, id);
        }
    } else if (strncmp(path, "by-key/", 7) == 0 || strncmp(path, "by-digest/", 10) == 0) {
        if (a->nindex == a->capindex) {
            size_t ncap = a->capindex ? a->capindex * 2 : 8;
            char **v = realloc(a->index_paths, ncap * sizeof(*v));

            if (v == NULL) {
                return sign__oom();
            }
            a->index_paths = v;
            a->capindex = ncap;
        }
        if ((a->index_paths[a->nindex] = sign__strdup(path)) == NULL) {
            return sign__oom();
        }
        a->nindex++;
    } else {
        *why = "adds a file that is not an entry, an index path or the count";
    }
    return 0;
}

#define LOG_TREE_DEPTH 12

/*
 * The paths below prefix that differ between before (NULL: none) and after, to note_change. A subtree whose
 * id did not change is skipped without reading it, so a commit costs the trees along the paths it added, not
 * the whole log (git_diff_tree_to_tree walked every entry of both trees: quadratic over a log's history).
 */
/* NOLINTNEXTLINE(misc-no-recursion): bounded by LOG_TREE_DEPTH */
static int tree_changes(added *a, const char **why, int first, git_repository *repo, tree_cache *tc,
                        const git_tree *before, const git_tree *after, const char *prefix, int depth)
{
    size_t nb = before != NULL ? git_tree_entrycount(before) : 0, na = git_tree_entrycount(after);
    char path[512];
    int r = 0, rc;

    if (depth > LOG_TREE_DEPTH) {
        *why = "nests trees deeper than the log's layout";
        return 0;
    }
    for (size_t i = 0; i < nb && *why == NULL; i++) {
        if (git_tree_entry_byname(after, git_tree_entry_name(git_tree_entry_byindex(before, i))) == NULL) {
            *why = "changes or removes what an earlier commit recorded";
        }
    }
    for (size_t i = 0; i < na && *why == NULL && r == 0; i++) {
        const git_tree_entry *te = git_tree_entry_byindex(after, i);
        const git_tree_entry *old = before != NULL ? git_tree_entry_byname(before, git_tree_entry_name(te)) : NULL;
        int is_tree = git_tree_entry_type(te) == GIT_OBJECT_TREE;
        git_tree *sub_before = NULL, *sub_after = NULL;

        if (old != NULL && git_oid_equal(git_tree_entry_id(old), git_tree_entry_id(te)) &&
            git_tree_entry_filemode(old) == git_tree_entry_filemode(te)) {
            continue; /* unchanged, whatever it holds */
        }
        if ((size_t)snprintf(path, sizeof(path), "%s%s/", prefix, git_tree_entry_name(te)) >= sizeof(path)) {
            *why = "adds a path longer than the log's layout allows";
            break;
        }
        if (!is_tree) {
            path[strlen(path) - 1] = '\0'; /* a blob's path has no trailing slash */
        }
        if (old != NULL && (git_tree_entry_type(old) == GIT_OBJECT_TREE) != is_tree) {
            *why = "changes or removes what an earlier commit recorded";
        } else if (!is_tree) {
            r = note_change(a, why, first, old != NULL ? GIT_DELTA_MODIFIED : GIT_DELTA_ADDED, path,
                            git_tree_entry_id(te));
        } else if ((rc = tree_get(&sub_after, tc, repo, git_tree_entry_id(te))) < 0 ||
                   (old != NULL && (rc = tree_get(&sub_before, tc, repo, git_tree_entry_id(old))) < 0)) {
            r = sign__git_error(rc, SIGN_EIO, "log: reading a tree");
        } else {
            r = tree_changes(a, why, first, repo, tc, sub_before, sub_after, path,
                             depth + 1); /* NOLINT(misc-no-recursion) */
        }
        git_tree_free(sub_before);
        git_tree_free(sub_after);
    }
    return r;
}

/* What a commit changed against its parent's tree, sorted into entry, index paths and count. */
static int collect(added *a, const char **why, git_repository *repo, tree_cache *tc, const git_tree *before,
                   const git_tree *after)
{
    int r;

    memset(a, 0, sizeof(*a));
    *why = NULL;
    if ((r = tree_changes(a, why, before == NULL, repo, tc, before, after, "", 0)) != 0) {
        return r;
    }
    if (*why == NULL && (a->nentries != 1 || !a->count_changed)) {
        *why = "does not add exactly one entry and count it";
    }
    return 0;
}

static int has_path(const added *a, const char *path)
{
    for (size_t i = 0; i < a->nindex; i++) {
        if (strcmp(a->index_paths[i], path) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The added entry parses as a bundle, is stored under its SHA-256 and is indexed exactly as it should be. */
static int check_entry(const char **why, git_repository *repo, const added *a, int format)
{
    git_blob *blob = NULL;
    log_entry e;
    char path[512];
    int r, rc;

    *why = NULL;
    if ((rc = git_blob_lookup(&blob, repo, &a->entry_blob)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "log: reading an entry");
    }
    r = sign__log_entry_from_bundle(&e, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), "-");
    git_blob_free(blob);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r != 0) {
        sign__error_clear();
        *why = "adds an entry that is not a readable bundle";
        return 0;
    }
    sign__log_entry_path(path, sizeof(path), format, e.id);
    if (strcmp(e.id, a->entry_id) != 0) {
        *why = "adds an entry whose name is not the SHA-256 of its bytes";
    } else if (strcmp(path, a->entry_path) != 0) {
        *why = "adds an entry outside its directory in the log's layout";
    } else if (a->nindex != e.ndigests + 1) {
        *why = "adds index paths that do not match its entry";
    } else {
        sign__log_key_path(path, sizeof(path), format, e.key_hash, e.id);
        if (!has_path(a, path)) {
            *why = "does not index its entry under the entry's signer";
        }
        for (size_t i = 0; *why == NULL && i < e.ndigests; i++) {
            sign__log_digest_path(path, sizeof(path), format, e.digests[i], e.id);
            if (!has_path(a, path)) {
                *why = "does not index its entry under each of the entry's subjects";
            }
        }
    }
    sign__log_entry_free(&e);
    return 0;
}

/*
 * One commit against its parent (NULL for the first). *format (0: not known yet) is read once, from the parent
 * (the checkpoint) or else the first commit: a later commit that adds, changes or removes the `format` file
 * breaks the rules above.
 */
static int check_commit(char *out_bad, git_repository *repo, tree_cache *tc, git_commit *c, git_commit *parent,
                        uint64_t *count, int *format)
{
    git_tree *before = NULL, *after = NULL;
    uint64_t now = 0;
    const char *why = NULL;
    added a;
    int r, rc;

    memset(&a, 0, sizeof(a));
    if ((parent != NULL && (rc = tree_get(&before, tc, repo, git_commit_tree_id(parent))) < 0) ||
        (rc = tree_get(&after, tc, repo, git_commit_tree_id(c))) < 0) {
        r = sign__git_error(rc, SIGN_EIO, "log: reading a tree");
        goto out;
    }
    if (*format == 0 && (r = sign__log_tree_format(format, repo, before != NULL ? before : after)) != 0) {
        if (r != SIGN_EPARSE) {
            goto out; /* a newer format: not ours to judge */
        }
        sign__error_clear();
        why = "records a format that is not valid";
    }
    if (why == NULL && (r = collect(&a, &why, repo, tc, before, after)) != 0) {
        goto out;
    }
    if (why == NULL && (r = check_entry(&why, repo, &a, *format)) != 0) {
        goto out;
    }
    if (why == NULL) {
        r = sign__log_tree_count(&now, repo, after);
        if (r == SIGN_ENOMEM) {
            goto out;
        }
        if (r != 0 || now != *count + 1) {
            sign__error_clear();
            why = "does not count its entry (count is not one higher)";
        }
        *count = now;
    }
    r = why != NULL ? rewritten(out_bad, git_commit_id(c), why) : 0;
out:
    added_free(&a);
    git_tree_free(before);
    git_tree_free(after);
    return r;
}

/* The checkpoint is the head or one of its ancestors. */
static int check_since(char *out_bad, git_repository *repo, git_commit *head, const char *since, git_oid *since_id,
                       uint64_t *count)
{
    git_commit *cp = NULL;
    git_tree *tree = NULL;
    int r, rc;

    if ((r = sign__git_oid_parse(since_id, since)) != 0) {
        return r;
    }
    if (head == NULL || git_commit_lookup(&cp, repo, since_id) < 0) {
        git_error_clear();
        return rewritten(out_bad, head != NULL ? git_commit_id(head) : since_id,
                         "is the head, and the checkpoint is not in the log any more");
    }
    if (git_oid_cmp(since_id, git_commit_id(head)) != 0 &&
        git_graph_descendant_of(repo, git_commit_id(head), since_id) != 1) {
        git_commit_free(cp);
        git_error_clear();
        return rewritten(out_bad, git_commit_id(head), "is the head, and the checkpoint is not one of its ancestors");
    }
    if ((rc = git_commit_tree(&tree, cp)) < 0) {
        git_commit_free(cp);
        return sign__git_error(rc, SIGN_EIO, "log: reading the checkpoint's tree");
    }
    r = sign__log_tree_count(count, repo, tree);
    git_tree_free(tree);
    git_commit_free(cp);
    return r;
}

int sign_log_verify(char *out_bad, const char *dir, const char *since_commit)
{
    git_repository *repo = NULL;
    git_commit *head = NULL, *c = NULL, *prev = NULL;
    git_revwalk *walk = NULL;
    tree_cache *tc = NULL;
    git_oid id, since_id;
    uint64_t count = 0;
    int r, rc, format = 0;

    if (out_bad != NULL) {
        out_bad[0] = '\0';
    }
    if ((r = sign__log_open(&repo, dir)) != 0 || (r = sign__log_head(&head, repo)) != 0) {
        goto out;
    }
    if (since_commit != NULL && (r = check_since(out_bad, repo, head, since_commit, &since_id, &count)) != 0) {
        goto out;
    }
    if (head == NULL) {
        goto out; /* an empty log, no checkpoint: nothing to prove */
    }
    if ((tc = calloc(1, sizeof(*tc))) == NULL) {
        r = sign__oom();
        goto out;
    }
    if ((rc = git_revwalk_new(&walk, repo)) < 0 ||
        (rc = git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE)) < 0 ||
        (rc = git_revwalk_push(walk, git_commit_id(head))) < 0 ||
        (since_commit != NULL && (rc = git_revwalk_hide(walk, &since_id)) < 0)) {
        r = sign__git_error(rc, SIGN_EIO, "log: walking its history");
        goto out;
    }
    if (since_commit != NULL && (rc = git_commit_lookup(&prev, repo, &since_id)) < 0) {
        r = sign__git_error(rc, SIGN_EIO, "log: reading the checkpoint");
        goto out;
    }
    while (r == 0 && (rc = git_revwalk_next(&id, walk)) == 0) {
        if ((rc = git_commit_lookup(&c, repo, &id)) < 0) {
            r = sign__git_error(rc, SIGN_EIO, "log: reading a commit");
            break;
        }
        if (git_commit_parentcount(c) != (prev != NULL ? 1u : 0u) ||
            (prev != NULL && git_oid_cmp(git_commit_parent_id(c, 0), git_commit_id(prev)) != 0)) {
            r = rewritten(out_bad, &id, "does not extend the commit before it (a merge or a replaced history)");
        } else {
            r = check_commit(out_bad, repo, tc, c, prev, &count, &format);
        }
        git_commit_free(prev);
        prev = c;
        c = NULL;
    }
    if (r == 0 && rc != GIT_ITEROVER) {
        r = sign__git_error(rc, SIGN_EIO, "log: walking its history");
    }
out:
    git_error_clear();
    git_commit_free(c);
    git_commit_free(prev);
    git_revwalk_free(walk);
    tree_cache_free(tc);
    git_commit_free(head);
    git_repository_free(repo);
    return r;
}

int sign__log_commit_entry(git_oid *out, git_repository *repo, git_commit *c)
{
    git_commit *parent = NULL;
    git_tree *before = NULL, *after = NULL;
    const char *why = NULL;
    char hex[GIT_OID_HEXSZ + 1];
    added a;
    int r = 0, rc;

    memset(&a, 0, sizeof(a));
    sign__git_oid_hex(hex, git_commit_id(c));
    if ((git_commit_parentcount(c) > 0 &&
         ((rc = git_commit_parent(&parent, c, 0)) < 0 || (rc = git_commit_tree(&before, parent)) < 0)) ||
        (rc = git_commit_tree(&after, c)) < 0) {
        r = sign__git_error(rc, SIGN_EIO, "log: reading a commit");
    } else if ((r = collect(&a, &why, repo, NULL, before, after)) == 0) {
        if (why != NULL) {
            r = sign__error(SIGN_EPARSE, "log: commit %s %s; run signet log verify", hex, why);
        } else {
            git_oid_cpy(out, &a.entry_blob);
        }
    }
    added_free(&a);
    git_tree_free(after);
    git_tree_free(before);
    git_commit_free(parent);
    return r;
}
