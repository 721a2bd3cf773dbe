/*
 * Sharing a signing log through an ordinary git remote (sign_log_sync). The remote's history is only ever
 * extended: when both sides have new entries, the local ones are appended again on top of the remote's
 * head, the local branch moves there (its old commits stay in the object store), and that is pushed as a
 * fast-forward. A push the remote refuses is an error, never forced.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log_internal.h"

typedef struct push_status {
    int refused;
    char why[256];
} push_status;

static int push_update(const char *refname, const char *status, void *data)
{
    push_status *ps = data;

    if (status != NULL) {
        ps->refused = 1;
        snprintf(ps->why, sizeof(ps->why), "%s: %s", refname, status);
    }
    return 0;
}

static int fetch_remote(git_oid *theirs, int *have, git_remote *remote, git_repository *repo)
{
    char *spec = "+" LOG_BRANCH ":" LOG_SYNC_REF;
    git_strarray specs = {&spec, 1};
    git_fetch_options fo;
    int rc;

    *have = 0;
    if ((rc = git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION)) < 0 ||
        (rc = git_remote_fetch(remote, &specs, &fo, "signet log sync")) < 0) {
        return sign__git_error(rc, SIGN_ENETWORK, "log sync: fetching the remote's log");
    }
    rc = git_reference_name_to_id(theirs, repo, LOG_SYNC_REF);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear(); /* the remote has no entries yet */
        return 0;
    }
    if (rc < 0) {
        return sign__git_error(rc, SIGN_EIO, "log sync: reading the fetched head");
    }
    *have = 1;
    return 0;
}

static int push_remote(git_remote *remote)
{
    char *spec = LOG_BRANCH ":" LOG_BRANCH;
    git_strarray specs = {&spec, 1};
    git_push_options po;
    push_status ps = {0, ""};
    int rc;

    if ((rc = git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION)) < 0) {
        return sign__git_error(rc, SIGN_ERROR, "log sync: push options");
    }
    po.callbacks.push_update_reference = push_update;
    po.callbacks.payload = &ps;
    if ((rc = git_remote_push(remote, &specs, &po)) < 0) {
        return sign__git_error(rc, SIGN_ENETWORK, "log sync: pushing the log");
    }
    if (ps.refused) {
        return sign__error(SIGN_EIO, "log sync: the remote refused the push (%s); run signet log sync again", ps.why);
    }
    return 0;
}

/* The entry bundle a commit added (its blob). */
static int commit_entry(git_blob **out, git_repository *repo, git_commit *c)
{
    git_oid id;
    int r, rc;

    *out = NULL;
    if ((r = sign__log_commit_entry(&id, repo, c)) != 0) {
        return r;
    }
    if ((rc = git_blob_lookup(out, repo, &id)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "log sync: reading an entry");
    }
    return 0;
}

/* Append the local entries after base again on top of theirs; *tip the new head. */
static int replay(git_oid *tip, size_t *added, git_repository *repo, const git_oid *local, const git_oid *base,
                  const git_oid *theirs)
{
    git_revwalk *walk = NULL;
    git_commit *top = NULL, *c = NULL;
    git_oid id;
    int r = 0, rc;

    git_oid_cpy(tip, theirs);
    if ((rc = git_revwalk_new(&walk, repo)) < 0 ||
        (rc = git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE)) < 0 ||
        (rc = git_revwalk_push(walk, local)) < 0 || (rc = git_revwalk_hide(walk, base)) < 0) {
        git_revwalk_free(walk);
        return sign__git_error(rc, SIGN_EIO, "log sync: walking the local entries");
    }
    while (r == 0 && git_revwalk_next(&id, walk) == 0) {
        git_blob *blob = NULL;
        log_entry e;
        char now[32];

        git_commit_free(top);
        top = NULL;
        if ((rc = git_commit_lookup(&c, repo, &id)) < 0 || (rc = git_commit_lookup(&top, repo, tip)) < 0) {
            r = sign__git_error(rc, SIGN_EIO, "log sync: reading a commit");
            break;
        }
        if ((r = commit_entry(&blob, repo, c)) == 0 && (r = sign_format_time(now, sizeof(now), sign__now())) == 0 &&
            (r = sign__log_entry_from_bundle(&e, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), now)) ==
                0) {
            r = sign__log_append(tip, repo, top, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), &e, 0);
            if (r == SIGN_EEXISTS) {
                r = 0; /* the remote has it already */
                sign__error_clear();
            } else if (r == 0) {
                (*added)++;
            }
            sign__log_entry_free(&e);
        }
        git_blob_free(blob);
        git_commit_free(c);
        c = NULL;
    }
    git_commit_free(top);
    git_revwalk_free(walk);
    return r;
}

/* Move the local branch from *expect (NULL: absent) to to. */
static int move_branch(git_repository *repo, const git_oid *to, const git_oid *expect)
{
    git_reference *ref = NULL;
    int rc = expect != NULL ? git_reference_create_matching(&ref, repo, LOG_BRANCH, to, 1, expect, "signet log sync")
                            : git_reference_create(&ref, repo, LOG_BRANCH, to, 0, "signet log sync");

    git_reference_free(ref);
    return rc < 0 ? sign__git_error(rc, SIGN_EIO, "log sync: moving the local head") : 0;
}

static int sync_locked(size_t *added, git_repository *repo, git_remote *remote)
{
    git_commit *head = NULL;
    git_oid theirs, local, base, tip;
    log_pack lp;
    int have = 0, r, rc;

    if ((r = fetch_remote(&theirs, &have, remote, repo)) != 0 || (r = sign__log_head(&head, repo)) != 0) {
        return r;
    }
    if (head == NULL) {
        return have ? move_branch(repo, &theirs, NULL) : 0;
    }
    git_oid_cpy(&local, git_commit_id(head));
    git_commit_free(head);
    if (!have || git_graph_descendant_of(repo, &local, &theirs) == 1) {
        return push_remote(remote); /* the remote is behind (or empty) */
    }
    if (git_oid_cmp(&local, &theirs) == 0) {
        return 0;
    }
    if (git_graph_descendant_of(repo, &theirs, &local) == 1) {
        return move_branch(repo, &theirs, &local); /* we are behind */
    }
    if ((rc = git_merge_base(&base, repo, &local, &theirs)) < 0) {
        return rc == GIT_ENOTFOUND ? sign__error(SIGN_EINVAL, "log sync: the remote holds another log (no common "
                                                              "history); refusing to mix them")
                                   : sign__git_error(rc, SIGN_EIO, "log sync: finding the common history");
    }
    /* the re-appended entries are written as one pack, on disk before the branch moves */
    if ((r = sign__log_pack_open(&lp, repo)) == 0 && (r = replay(&tip, added, repo, &local, &base, &theirs)) == 0 &&
        (r = *added > 0 ? sign__log_pack_write(&lp, repo) : 0) == 0) {
        r = move_branch(repo, &tip, &local);
    }
    sign__log_pack_close(&lp);
    return r != 0 ? r : push_remote(remote);
}

/*
 * The directory a remote names when libgit2 reaches it on this machine (a file:// URL or an existing directory, its
 * local transport), into out; 0 when it is reached over the network. libgit2's local push moves the remote's branch
 * by force, without checking that it still names what was fetched: an append to that log between the fetch and the
 * push would be dropped from its branch. So such a remote's log is locked as well (log_lock.c).
 */
static int local_remote(char *out, size_t outsize, const char *remote)
{
    const char *path = strncmp(remote, "file://", 7) == 0 ? remote + 7 : remote;
    struct stat st;

    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode) || strlen(path) >= outsize) {
        return 0;
    }
    snprintf(out, outsize, "%s", path);
    return 1;
}

int sign_log_sync(size_t *out_added, const char *dir, const char *remote)
{
    return sign_log_sync_ext(out_added, dir, remote, NULL);
}

int sign_log_sync_ext(size_t *out_added, const char *dir, const char *remote, const sign_log_options *opts)
{
    git_repository *repo = NULL;
    git_remote *rem = NULL;
    size_t added = 0;
    char rdir[4096];
    int r, rc, fd = -1, rfd = -1;

    if (out_added != NULL) {
        *out_added = 0;
    }
    if ((r = sign__log_options_check(opts)) != 0 || (r = sign__log_open(&repo, dir)) != 0) {
        goto out;
    }
    r = local_remote(rdir, sizeof(rdir), remote) ? sign__log_lock_pair(&fd, &rfd, dir, rdir, opts)
                                                 : sign__log_lock(&fd, dir, LOG_WRITER_SYNC, opts);
    if (r != 0) {
        goto out;
    }
    if ((rc = git_remote_create_anonymous(&rem, repo, remote)) < 0) {
        r = sign__git_error(rc, SIGN_EINVAL, remote);
        goto out;
    }
    r = sync_locked(&added, repo, rem);
    if (out_added != NULL) {
        *out_added = added;
    }
out:
    git_error_clear();
    git_remote_free(rem);
    if (rfd >= 0) {
        close(rfd);
    }
    if (fd >= 0) {
        close(fd);
    }
    git_repository_free(repo);
    return r;
}
