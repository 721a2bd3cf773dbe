/*
 * A recorded source checked against a clone: the commit exists, its tree is the recorded one, and each
 * recorded ref still leads to it (a branch reaches it, a tag points at it). What this proves: the clone's
 * history contains the signed source unchanged. What it does not: that the clone is complete or current
 * (a branch that was never fetched is reported, not assumed).
 */
#include <string.h>

#include "git.h"
#include "sign/source.h"

typedef struct recorded {
    const char *commit, *tree, *branch;
    const json_t *tags;
} recorded;

static int parse_recorded(recorded *rec, json_t *o)
{
    static const char *const keys[] = {
        "vcs",        "commit",  "tree",  "commit_time",        "uri", "branch", "tags",
        "submodules", "shallow", "dirty", "dirty_paths_sha256", NULL};
    const char *vcs = NULL;
    int r;

    memset(rec, 0, sizeof(*rec));
    if (!json_is_object(o)) {
        return sign__error(SIGN_EPARSE, "source: not a JSON object");
    }
    if ((r = sign__json_only_keys(o, keys, "source")) != 0 ||
        (r = sign__json_get_string(&vcs, o, "vcs", 1, "source")) != 0 ||
        (r = sign__json_get_string(&rec->commit, o, "commit", 1, "source")) != 0 ||
        (r = sign__json_get_string(&rec->tree, o, "tree", 1, "source")) != 0 ||
        (r = sign__json_get_string(&rec->branch, o, "branch", 0, "source")) != 0) {
        return r;
    }
    if (strcmp(vcs, "git") != 0) {
        return sign__error(SIGN_EUNSUPPORTED, "source: vcs \"%.40s\" is not git", vcs);
    }
    rec->tags = json_object_get(o, "tags");
    if (rec->tags != NULL && !json_is_array(rec->tags)) {
        return sign__error(SIGN_EPARSE, "source.tags: not an array");
    }
    return 0;
}

/* 1 when commit is tip or an ancestor of it. */
static int reaches(git_repository *repo, const git_oid *tip, const git_oid *ancestor)
{
    return git_oid_cmp(tip, ancestor) == 0 || git_graph_descendant_of(repo, tip, ancestor) == 1;
}

/* The commit a ref peels to; SIGN_ENOTFOUND when the clone has no such ref. */
static int ref_commit(git_oid *out, git_repository *repo, const char *name)
{
    git_reference *ref = NULL;
    git_object *obj = NULL;
    int rc = git_reference_lookup(&ref, repo, name);

    if (rc == 0) {
        rc = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
    }
    if (rc == 0) {
        git_oid_cpy(out, git_object_id(obj));
    }
    git_object_free(obj);
    git_reference_free(ref);
    if (rc < 0) {
        return sign__git_error(rc, SIGN_EIO, name);
    }
    return 0;
}

static int check_branch(git_repository *repo, const char *branch, const git_oid *commit, const char *hex)
{
    char remote_ref[512];
    git_oid tip;
    int r;

    if (strncmp(branch, "refs/heads/", 11) != 0) {
        return sign__error(SIGN_EPARSE, "source.branch \"%.200s\" is not under refs/heads/", branch);
    }
    r = ref_commit(&tip, repo, branch);
    if (r == SIGN_ENOTFOUND) {
        /* a clone has the branches it fetched as origin's */
        snprintf(remote_ref, sizeof(remote_ref), "refs/remotes/origin/%s", branch + 11);
        r = ref_commit(&tip, repo, remote_ref);
    }
    if (r == SIGN_ENOTFOUND) {
        return sign__error(SIGN_EVERIFY, "the clone has no branch %s; fetch it to check the source", branch);
    }
    if (r != 0) {
        return r;
    }
    if (!reaches(repo, &tip, commit)) {
        git_error_clear();
        return sign__error(SIGN_EVERIFY,
                           "commit %s is not reachable from %s in the clone (its history was "
                           "rewritten)",
                           hex, branch);
    }
    return 0;
}

static int check_tags(git_repository *repo, const json_t *tags, const git_oid *commit, const char *hex)
{
    size_t i;
    json_t *t;

    json_array_foreach(tags, i, t)
    {
        const char *name = NULL;
        git_oid at;
        int r;

        if ((r = sign__json_get_string(&name, t, "name", 1, "source.tags[]")) != 0) {
            return r;
        }
        if (strncmp(name, "refs/tags/", 10) != 0) {
            return sign__error(SIGN_EPARSE, "source.tags[]: \"%.200s\" is not under refs/tags/", name);
        }
        r = ref_commit(&at, repo, name);
        if (r == SIGN_ENOTFOUND) {
            return sign__error(SIGN_EVERIFY,
                               "the clone has no tag %s; fetch tags to check the "
                               "source",
                               name);
        }
        if (r != 0) {
            return r;
        }
        if (git_oid_cmp(&at, commit) != 0) {
            char now[GIT_OID_HEXSZ + 1];

            sign__git_oid_hex(now, &at);
            return sign__error(SIGN_EVERIFY,
                               "tag %s points at %s in the clone, not at the signed "
                               "commit %s (the tag was moved)",
                               name, now, hex);
        }
    }
    return 0;
}

int sign_source_check(const char *dir, const char *source_json, size_t len)
{
    git_repository *repo = NULL;
    git_commit *commit = NULL;
    json_t *o = NULL;
    recorded rec;
    git_oid id, tree;
    char now[GIT_OID_HEXSZ + 1];
    int r, rc;

    if ((r = sign__json_parse(&o, source_json, len, NULL, "source")) != 0 || (r = parse_recorded(&rec, o)) != 0 ||
        (r = sign__git_oid_parse(&id, rec.commit)) != 0 || (r = sign__git_oid_parse(&tree, rec.tree)) != 0 ||
        (r = sign__git_open(&repo, dir)) != 0) {
        goto out;
    }
    if ((rc = git_commit_lookup(&commit, repo, &id)) < 0) {
        r = rc == GIT_ENOTFOUND ? sign__error(SIGN_EVERIFY,
                                              "commit %s is not in the clone at %s (history rewritten, "
                                              "or not fetched)",
                                              rec.commit, dir)
                                : sign__git_error(rc, SIGN_EIO, "reading the recorded commit");
        git_error_clear();
        goto out;
    }
    if (git_oid_cmp(git_commit_tree_id(commit), &tree) != 0) {
        sign__git_oid_hex(now, git_commit_tree_id(commit));
        r = sign__error(SIGN_EVERIFY, "commit %s has tree %s in the clone, the signature recorded %s", rec.commit,
                        now, rec.tree);
        goto out;
    }
    if (rec.branch != NULL && (r = check_branch(repo, rec.branch, &id, rec.commit)) != 0) {
        goto out;
    }
    if (rec.tags != NULL) {
        r = check_tags(repo, rec.tags, &id, rec.commit);
    }
out:
    git_commit_free(commit);
    git_repository_free(repo);
    json_decref(o);
    return r;
}
