/* Finding entries in a signing log: by signer and by subject through the index in the head's tree, by time
   through the commits' messages (newest first, stopping at the first older one). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "log_internal.h"

/* One index blob (the entry's summary) to the callback. */
static int emit(git_repository *repo, const git_oid *blob_id, sign_log_cb cb, void *userdata)
{
    git_blob *blob = NULL;
    json_t *o = NULL;
    sign_log_entry e;
    int r, rc;

    if ((rc = git_blob_lookup(&blob, repo, blob_id)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "log: reading an index entry");
    }
    r = sign__json_parse(&o, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), NULL, "log index entry");
    git_blob_free(blob);
    if (r != 0) {
        return r;
    }
    e.id = json_string_value(json_object_get(o, "id"));
    e.logged = json_string_value(json_object_get(o, "logged"));
    e.key_id = json_string_value(json_object_get(o, "key_id"));
    if (e.id == NULL || e.logged == NULL || e.key_id == NULL) {
        json_decref(o);
        return sign__error(SIGN_EPARSE, "log: an index entry lacks id, logged or key_id");
    }
    r = sign__json_dump((char **)&e.summary_json, NULL, o, 0);
    if (r == 0) {
        r = cb(&e, userdata);
        free((char *)e.summary_json);
    }
    json_decref(o);
    return r;
}

#define LOG_INDEX_DEPTH 5

/* Every blob in a tree and in its subtrees: the index leaves below a key's or a digest's directory, one fan-out
   level down in format 1, four in format 2. */
/* NOLINTNEXTLINE(misc-no-recursion): bounded by LOG_INDEX_DEPTH */
static int walk_tree(git_repository *repo, const git_tree *tree, int depth, sign_log_cb cb, void *userdata)
{
    size_t n = git_tree_entrycount(tree);
    int r = 0;

    for (size_t i = 0; i < n && r == 0; i++) {
        const git_tree_entry *te = git_tree_entry_byindex(tree, i);
        git_tree *sub = NULL;
        int rc;

        if (git_tree_entry_type(te) != GIT_OBJECT_TREE) {
            r = emit(repo, git_tree_entry_id(te), cb, userdata);
            continue;
        }
        if (depth >= LOG_INDEX_DEPTH) {
            return sign__error(SIGN_EPARSE, "log: the index is deeper than the layout allows");
        }
        if ((rc = git_tree_lookup(&sub, repo, git_tree_entry_id(te))) < 0) {
            return sign__git_error(rc, SIGN_EIO, "log: reading the index");
        }
        r = walk_tree(repo, sub, depth + 1, cb, userdata); /* NOLINT(misc-no-recursion) */
        git_tree_free(sub);
    }
    return r;
}

/* The entries under a key's (hex: the key id's SHA-256) or a digest's directory of the head's tree. */
static int search_index(git_repository *repo, git_commit *head, int by, const char *hex, sign_log_cb cb,
                        void *userdata)
{
    git_tree *root = NULL, *sub = NULL;
    git_tree_entry *te = NULL;
    char path[512];
    int r, rc, format = LOG_FORMAT;

    if ((rc = git_commit_tree(&root, head)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "log: reading the head's tree");
    }
    if ((r = sign__log_tree_format(&format, repo, root)) != 0) {
        git_tree_free(root);
        return r;
    }
    if (by == SIGN_LOG_BY_DIGEST) {
        sign__log_digest_dir(path, sizeof(path), format, hex);
    } else {
        snprintf(path, sizeof(path), "by-key/%s", hex);
    }
    rc = git_tree_entry_bypath(&te, root, path);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear(); /* nothing indexed there */
    } else if (rc < 0 || (rc = git_tree_lookup(&sub, repo, git_tree_entry_id(te))) < 0) {
        r = sign__git_error(rc, SIGN_EIO, "log: reading the index");
    } else {
        r = walk_tree(repo, sub, 0, cb, userdata);
    }
    git_tree_free(sub);
    git_tree_entry_free(te);
    git_tree_free(root);
    return r;
}

/* Commits newer than since, newest first: each message's last line is the entry's summary. */
static int search_since(git_repository *repo, git_commit *head, int64_t since, sign_log_cb cb, void *userdata)
{
    git_commit *c = head, *parent = NULL;
    int r = 0, rc, format = LOG_FORMAT;

    while (c != NULL && r == 0 && (int64_t)git_commit_time(c) >= since) {
        const char *msg = git_commit_message(c), *nl = strstr(msg, "\n\n");
        json_t *o = NULL;
        git_tree *tree = NULL;
        git_tree_entry *te = NULL;
        char path[512];
        const char *id, *kid;

        if (nl == NULL || sign__json_parse(&o, nl + 2, strcspn(nl + 2, "\n"), NULL, "log commit message") != 0 ||
            (id = json_string_value(json_object_get(o, "id"))) == NULL ||
            (kid = json_string_value(json_object_get(o, "key_id"))) == NULL) {
            json_decref(o);
            return sign__error(SIGN_EPARSE, "log: a commit message does not carry its entry's summary");
        }
        if ((rc = git_commit_tree(&tree, c)) < 0) {
            r = sign__git_error(rc, SIGN_EIO, "log: reading a tree");
        } else if ((r = sign__log_tree_format(&format, repo, tree)) == 0) {
            /* the summary as indexed in that commit's tree: found through the key's directory */
            unsigned char md[SIGN_SHA256_LEN];
            char kh[SIGN_LOG_ID_SIZE];
            size_t mdlen = 0;

            if ((r = sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, kid, strlen(kid))) == 0 &&
                (r = sign_hex_encode(kh, sizeof(kh), md, mdlen)) == 0) {
                sign__log_key_path(path, sizeof(path), format, kh, id);
                if (git_tree_entry_bypath(&te, tree, path) == 0) {
                    r = emit(repo, git_tree_entry_id(te), cb, userdata);
                } else {
                    r = sign__git_error(GIT_ENOTFOUND, SIGN_EPARSE, "log: an entry missing from its own index");
                }
            }
        }
        git_tree_entry_free(te);
        git_tree_free(tree);
        json_decref(o);
        parent = NULL;
        if (r == 0 && git_commit_parentcount(c) > 0 && git_commit_parent(&parent, c, 0) < 0) {
            r = sign__git_error(-1, SIGN_EIO, "log: reading a parent commit");
        }
        if (c != head) {
            git_commit_free(c);
        }
        c = parent;
    }
    if (c != head) {
        git_commit_free(c);
    }
    return r;
}

int sign_log_search(const char *dir, int by, const char *value, sign_log_cb cb, void *userdata)
{
    git_repository *repo = NULL;
    git_commit *head = NULL;
    unsigned char md[SIGN_SHA256_LEN];
    char hex[SIGN_LOG_ID_SIZE];
    size_t mdlen = 0;
    int64_t since = 0;
    int r;

    if (value == NULL || cb == NULL) {
        return sign__error(SIGN_EINVAL, "log search: nothing to search for");
    }
    if (by == SIGN_LOG_BY_DIGEST) {
        const char *h = strncmp(value, "sha256:", 7) == 0 ? value + 7 : value;
        size_t i;

        for (i = 0; i < 64 && h[i] != '\0' && isxdigit((unsigned char)h[i]); i++) {
            hex[i] = (char)tolower((unsigned char)h[i]);
        }
        if (i != 64 || h[64] != '\0') {
            return sign__error(SIGN_EINVAL, "log search: %s is not sha256:<64 hex digits>", value);
        }
        hex[64] = '\0';
    } else if (by == SIGN_LOG_BY_KEY) {
        if ((r = sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, value, strlen(value))) != 0 ||
            (r = sign_hex_encode(hex, sizeof(hex), md, mdlen)) != 0) {
            return r;
        }
    } else if (by == SIGN_LOG_SINCE) {
        if ((r = sign_parse_time(&since, value)) != 0) {
            return r;
        }
    } else {
        return sign__error(SIGN_EINVAL, "log search: unknown kind of search %d", by);
    }
    if ((r = sign__log_open(&repo, dir)) != 0 || (r = sign__log_head(&head, repo)) != 0 || head == NULL) {
        goto out;
    }
    r = by == SIGN_LOG_SINCE ? search_since(repo, head, since, cb, userdata)
                             : search_index(repo, head, by, hex, cb, userdata);
out:
    git_commit_free(head);
    git_repository_free(repo);
    return r;
}
