/*
 * Source provenance from git: the remote, commit, tree, branch and tags, submodules and whether the work
 * tree was clean when an artifact was signed; and the check of such a record against a clone.
 */
#include <stdlib.h>
#include <string.h>

#include "git.h"
#include "sign/source.h"

/* Changed paths named in the refusal of a dirty work tree. */
#define SOURCE_DIRTY_LISTED 20
/* Tags pointing at one commit that are recorded; more is refused as not a real release tree. */
#define SOURCE_MAX_TAGS 256
#define SOURCE_MAX_SUBMODULES 4096

typedef struct source_tag {
    char *name; /* refs/tags/... */
    int annotated;
    int is_signed;
    char object[GIT_OID_HEXSZ + 1]; /* the tag object, annotated tags only */
} source_tag;

typedef struct source_submodule {
    char *path;
    char commit[GIT_OID_HEXSZ + 1];
} source_submodule;

struct sign_source {
    char *uri;
    char commit[GIT_OID_HEXSZ + 1];
    char tree[GIT_OID_HEXSZ + 1];
    int64_t commit_time;
    char *branch; /* refs/heads/..., NULL for a detached HEAD */
    source_tag *tags;
    size_t ntags;
    source_submodule *subs;
    size_t nsubs;
    int shallow;
    int dirty;
    char dirty_sha256[2 * SIGN_SHA256_LEN + 1];
    char **dirty_paths;
    size_t ndirty;
};

void sign_source_free(sign_source *s)
{
    if (s == NULL) {
        return;
    }
    free(s->uri);
    free(s->branch);
    for (size_t i = 0; i < s->ntags; i++) {
        free(s->tags[i].name);
    }
    free(s->tags);
    for (size_t i = 0; i < s->nsubs; i++) {
        free(s->subs[i].path);
    }
    free(s->subs);
    for (size_t i = 0; i < s->ndirty; i++) {
        free(s->dirty_paths[i]);
    }
    free(s->dirty_paths);
    free(s);
}

const char *sign_source_commit(const sign_source *s)
{
    return s != NULL ? s->commit : NULL;
}

const char *sign_source_uri(const sign_source *s)
{
    return s != NULL ? s->uri : NULL;
}

int sign_source_dirty(const sign_source *s)
{
    return s != NULL && s->dirty;
}

/* Grow *arr (of *n elements of size sz) by one zeroed element; NULL when out of memory. */
static void *grow(void *arr_ptr, size_t *n, size_t sz)
{
    void **arr = arr_ptr;
    size_t bytes;
    unsigned char *p;

    if (!sign__mul(&bytes, *n + 1, sz) || (p = realloc(*arr, bytes)) == NULL) {
        return NULL;
    }
    *arr = p;
    memset(p + *n * sz, 0, sz);
    return p + (*n)++ * sz;
}

/*
 * A remote URL as it may be published: credentials ("https://user:token@host/..."), the query and the
 * fragment removed. scp-style "git@host:path" keeps its user, which is not a secret.
 */
static char *strip_url(const char *url)
{
    const char *scheme = strstr(url, "://"), *host, *at, *slash;
    size_t n;
    char *out;

    if (scheme != NULL) {
        host = scheme + 3;
        slash = host + strcspn(host, "/?#");
        at = memchr(host, '@', (size_t)(slash - host));
        /* the last '@' before the path ends the userinfo */
        while (at != NULL) {
            const char *next = memchr(at + 1, '@', (size_t)(slash - at - 1));

            if (next == NULL) {
                break;
            }
            at = next;
        }
        n = strcspn(url, "?#");
        if (at != NULL) {
            size_t pre = (size_t)(host - url), rest = n - (size_t)(at + 1 - url);

            if ((out = malloc(pre + rest + 1)) == NULL) {
                return NULL;
            }
            memcpy(out, url, pre);
            memcpy(out + pre, at + 1, rest);
            out[pre + rest] = '\0';
            return out;
        }
        return strndup(url, n);
    }
    return sign__strdup(url);
}

/*
 * The remote's URL from the configuration (remote.NAME.url). Read from a configuration snapshot rather than
 * with git_remote_lookup, which in libgit2 1.5 leaks a PCRE2 match block on every call.
 */
static int read_remote(sign_source *s, git_repository *repo, const char *name)
{
    git_config *cfg = NULL;
    const char *url = NULL;
    char key[300];
    int rc, r = 0;

    if (name != NULL && (strlen(name) > 200 || strchr(name, '\n') != NULL)) {
        return sign__error(SIGN_EINVAL, "git remote name \"%.200s\" is not valid", name);
    }
    snprintf(key, sizeof(key), "remote.%s.url", name != NULL ? name : "origin");
    if ((rc = git_repository_config_snapshot(&cfg, repo)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "reading the repository's configuration");
    }
    rc = git_config_get_string(&url, cfg, key);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        /* no origin: no URL recorded; a remote asked for by name must exist */
        r = name == NULL ? 0 : sign__error(SIGN_ENOTFOUND, "the repository has no remote \"%s\"", name);
    } else if (rc < 0) {
        r = sign__git_error(rc, SIGN_EIO, key);
    } else if ((s->uri = strip_url(url)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
    }
    git_config_free(cfg);
    return r;
}

typedef struct tag_walk {
    sign_source *s;
    git_repository *repo;
    git_oid head;
    int r;
} tag_walk;

static int tag_signed(const char *msg)
{
    return msg != NULL && (strstr(msg, "-----BEGIN PGP SIGNATURE-----") != NULL ||
                           strstr(msg, "-----BEGIN SSH SIGNATURE-----") != NULL ||
                           strstr(msg, "-----BEGIN SIGNED MESSAGE-----") != NULL);
}

static int tag_cb(const char *name, git_oid *oid, void *payload)
{
    tag_walk *w = payload;
    git_object *obj = NULL, *peeled = NULL;
    source_tag *t;

    if (git_object_lookup(&obj, w->repo, oid, GIT_OBJECT_ANY) < 0 ||
        git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0) {
        /* a tag of a tree or a blob, or a dangling one, names no commit */
        git_error_clear();
        git_object_free(obj);
        return 0;
    }
    if (git_oid_cmp(git_object_id(peeled), &w->head) == 0) {
        if (w->s->ntags == SOURCE_MAX_TAGS) {
            w->r = sign__error(SIGN_ELIMIT, "more than %d tags point at commit %s", SOURCE_MAX_TAGS, w->s->commit);
        } else if ((t = grow(&w->s->tags, &w->s->ntags, sizeof(*t))) == NULL ||
                   (t->name = sign__strdup(name)) == NULL) {
            w->r = sign__error(SIGN_ENOMEM, "out of memory");
        } else if (git_object_type(obj) == GIT_OBJECT_TAG) {
            t->annotated = 1;
            t->is_signed = tag_signed(git_tag_message((const git_tag *)obj));
            sign__git_oid_hex(t->object, git_object_id(obj));
        }
    }
    git_object_free(peeled);
    git_object_free(obj);
    return w->r != 0 ? -1 : 0;
}

static int cmp_tag(const void *a, const void *b)
{
    return strcmp(((const source_tag *)a)->name, ((const source_tag *)b)->name);
}

static int read_tags(sign_source *s, git_repository *repo, const git_oid *head)
{
    tag_walk w = {s, repo, *head, 0};
    int rc = git_tag_foreach(repo, tag_cb, &w);

    if (w.r != 0) {
        git_error_clear();
        return w.r;
    }
    if (rc < 0) {
        return sign__git_error(rc, SIGN_EIO, "reading the repository's tags");
    }
    if (s->ntags > 1) {
        qsort(s->tags, s->ntags, sizeof(*s->tags), cmp_tag);
    }
    return 0;
}

typedef struct sub_walk {
    sign_source *s;
    int r;
} sub_walk;

static int sub_cb(git_submodule *sm, const char *name, void *payload)
{
    sub_walk *w = payload;
    const git_oid *id = git_submodule_head_id(sm);
    source_submodule *m;

    (void)name;
    if (id == NULL) {
        return 0; /* configured but not in HEAD's tree */
    }
    if (w->s->nsubs == SOURCE_MAX_SUBMODULES) {
        w->r = sign__error(SIGN_ELIMIT, "more than %d submodules", SOURCE_MAX_SUBMODULES);
        return -1;
    }
    if ((m = grow(&w->s->subs, &w->s->nsubs, sizeof(*m))) == NULL ||
        (m->path = sign__strdup(git_submodule_path(sm))) == NULL) {
        w->r = sign__error(SIGN_ENOMEM, "out of memory");
        return -1;
    }
    sign__git_oid_hex(m->commit, id);
    return 0;
}

static int read_submodules(sign_source *s, git_repository *repo)
{
    sub_walk w = {s, 0};
    int rc = git_submodule_foreach(repo, sub_cb, &w);

    if (w.r != 0) {
        git_error_clear();
        return w.r;
    }
    if (rc < 0) {
        return sign__git_error(rc, SIGN_EIO, "reading the repository's submodules");
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Modified, staged and untracked paths that are not ignored, sorted; their SHA-256 over "path\n"... */
static int read_status(sign_source *s, git_repository *repo)
{
    git_status_options so;
    git_status_list *list = NULL;
    sign_digest_ctx *ctx = NULL;
    unsigned char md[SIGN_SHA256_LEN];
    size_t n, mdlen = 0;
    int rc, r = 0;

    if ((rc = git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION)) < 0) {
        return sign__git_error(rc, SIGN_ERROR, "git status options");
    }
    so.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
    so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
    if ((rc = git_status_list_new(&list, repo, &so)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "reading the work tree's status");
    }
    n = git_status_list_entrycount(list);
    for (size_t i = 0; i < n && r == 0; i++) {
        const git_status_entry *e = git_status_byindex(list, i);
        const git_diff_delta *d = e->index_to_workdir != NULL ? e->index_to_workdir : e->head_to_index;
        const char *path;
        char **slot;

        if (e->status == GIT_STATUS_CURRENT || (e->status & GIT_STATUS_IGNORED) || d == NULL) {
            continue;
        }
        path = d->new_file.path != NULL ? d->new_file.path : d->old_file.path;
        if ((slot = grow(&s->dirty_paths, &s->ndirty, sizeof(*slot))) == NULL ||
            (*slot = sign__strdup(path != NULL ? path : "")) == NULL) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
        }
    }
    git_status_list_free(list);
    if (r != 0 || s->ndirty == 0) {
        return r;
    }
    s->dirty = 1;
    qsort(s->dirty_paths, s->ndirty, sizeof(*s->dirty_paths), cmp_str);
    if ((r = sign_digest_new(&ctx, SIGN_DIGEST_SHA256)) != 0) {
        return r;
    }
    for (size_t i = 0; i < s->ndirty && r == 0; i++) {
        if ((r = sign_digest_update(ctx, s->dirty_paths[i], strlen(s->dirty_paths[i]))) == 0) {
            r = sign_digest_update(ctx, "\n", 1);
        }
    }
    if (r == 0) {
        r = sign_digest_final(md, sizeof(md), &mdlen, ctx);
    }
    sign_digest_free(ctx);
    if (r == 0) {
        r = sign_hex_encode(s->dirty_sha256, sizeof(s->dirty_sha256), md, mdlen);
    }
    return r;
}

static int dirty_refusal(const sign_source *s, const char *dir)
{
    char list[4096];
    size_t used = 0;

    list[0] = '\0';
    for (size_t i = 0; i < s->ndirty && i < SOURCE_DIRTY_LISTED; i++) {
        int w = snprintf(list + used, sizeof(list) - used, "%s%s", i > 0 ? ", " : "", s->dirty_paths[i]);

        if (w < 0 || (size_t)w >= sizeof(list) - used) {
            break;
        }
        used += (size_t)w;
    }
    return sign__error(SIGN_EFINDING,
                       "source-dirty: the work tree %s has %zu uncommitted change(s) (%s%s); commit them or add "
                       "build outputs to .gitignore, or pass --allow-dirty to record the source as dirty",
                       dir, s->ndirty, list, s->ndirty > SOURCE_DIRTY_LISTED ? ", ..." : "");
}

static int read_head(sign_source *s, git_repository *repo, git_oid *head, const char *dir)
{
    git_reference *ref = NULL;
    git_commit *commit = NULL;
    int rc;

    if (git_repository_is_bare(repo)) {
        return sign__error(SIGN_EINVAL,
                           "%s is a bare repository: --git records the work tree an artifact was built "
                           "from; give that work tree's directory",
                           dir);
    }
    if ((rc = git_repository_head_unborn(repo)) == 1) {
        return sign__error(SIGN_EINVAL, "the repository at %s has no commits yet: commit the source first", dir);
    }
    if (rc < 0 || (rc = git_repository_head(&ref, repo)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "reading HEAD");
    }
    if (git_reference_is_branch(ref) && (s->branch = sign__strdup(git_reference_name(ref))) == NULL) {
        git_reference_free(ref);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    git_reference_free(ref);
    if ((rc = git_reference_name_to_id(head, repo, "HEAD")) < 0 ||
        (rc = git_commit_lookup(&commit, repo, head)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "reading HEAD's commit");
    }
    sign__git_oid_hex(s->commit, head);
    sign__git_oid_hex(s->tree, git_commit_tree_id(commit));
    s->commit_time = (int64_t)git_commit_time(commit);
    git_commit_free(commit);
    s->shallow = git_repository_is_shallow(repo) == 1;
    return 0;
}

void sign_source_options_init(sign_source_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->version = SIGN_SOURCE_OPTIONS_VERSION;
}

int sign_source_collect(sign_source **out, const char *dir, const sign_source_options *opts)
{
    sign_source_options defaults = SIGN_SOURCE_OPTIONS_INIT;
    git_repository *repo = NULL;
    sign_source *s = NULL;
    git_oid head;
    int r;

    *out = NULL;
    if (opts == NULL) {
        opts = &defaults;
    }
    if ((r = sign__check_version(opts->version, SIGN_SOURCE_OPTIONS_VERSION, "sign_source_options")) != 0) {
        return r;
    }
    if (dir == NULL) {
        return sign__error(SIGN_EINVAL, "no repository directory given");
    }
    if ((r = sign__git_open(&repo, dir)) != 0) {
        return r;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    if ((r = read_head(s, repo, &head, dir)) != 0 || (r = read_remote(s, repo, opts->remote)) != 0 ||
        (r = read_tags(s, repo, &head)) != 0 || (r = read_submodules(s, repo)) != 0 ||
        (r = read_status(s, repo)) != 0) {
        goto out;
    }
    if (s->dirty && !(opts->flags & SIGN_SOURCE_ALLOW_DIRTY)) {
        r = dirty_refusal(s, dir);
        goto out;
    }
    *out = s;
    s = NULL; /* transferred */
out:
    sign_source_free(s);
    git_repository_free(repo);
    return r;
}

/* "v" followed by a digit: a release tag. */
static const char *release_version(const char *tagref)
{
    const char *name = tagref + strlen("refs/tags/");

    return strncmp(tagref, "refs/tags/v", 11) == 0 && name[1] >= '0' && name[1] <= '9' ? name + 1 : NULL;
}

int sign_source_version_tag(const char **out, const sign_source *s)
{
    const char *found = NULL, *other = NULL;

    *out = NULL;
    for (size_t i = 0; i < s->ntags; i++) {
        const char *v = release_version(s->tags[i].name);

        if (v == NULL) {
            continue;
        }
        if (found != NULL) {
            other = v;
            break;
        }
        found = v;
    }
    if (found == NULL) {
        return sign__error(SIGN_ENOTFOUND, "no tag v<version> points at commit %s; tag the release or pass --version",
                           s->commit);
    }
    if (other != NULL) {
        return sign__error(SIGN_EINVAL, "several release tags point at commit %s (v%s, v%s); pass --version",
                           s->commit, found, other);
    }
    *out = found;
    return 0;
}

static int set_str(json_t *o, const char *key, const char *v)
{
    json_t *j = sign__json_text(v);

    return j == NULL || json_object_set_new(o, key, j) != 0 ? -1 : 0;
}

static json_t *tags_json(const sign_source *s)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < s->ntags; i++) {
        const source_tag *t = &s->tags[i];
        json_t *o = json_object();

        if (o == NULL || set_str(o, "name", t->name) != 0 || json_array_append_new(arr, o) != 0) {
            json_decref(o);
            json_decref(arr);
            return NULL;
        }
        if (t->annotated && (set_str(o, "object", t->object) != 0 ||
                             json_object_set_new(o, "signed", json_boolean(t->is_signed)) != 0)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *subs_json(const sign_source *s)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < s->nsubs; i++) {
        json_t *o = json_object();

        if (o == NULL || set_str(o, "path", s->subs[i].path) != 0 || set_str(o, "commit", s->subs[i].commit) != 0 ||
            json_array_append_new(arr, o) != 0) {
            json_decref(o);
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int sign__source_to_json(json_t **out, const sign_source *s)
{
    json_t *o = json_object();
    char when[32];

    *out = NULL;
    if (sign_format_time(when, sizeof(when), s->commit_time) != 0) {
        json_decref(o);
        return sign__error(SIGN_EINVAL, "commit %s has a time that cannot be written: %lld", s->commit,
                           (long long)s->commit_time);
    }
    if (o == NULL || set_str(o, "vcs", "git") != 0 || set_str(o, "commit", s->commit) != 0 ||
        set_str(o, "tree", s->tree) != 0 || set_str(o, "commit_time", when) != 0 ||
        (s->uri != NULL && set_str(o, "uri", s->uri) != 0) ||
        (s->branch != NULL && set_str(o, "branch", s->branch) != 0) ||
        json_object_set_new(o, "tags", tags_json(s)) != 0 ||
        (s->nsubs > 0 && json_object_set_new(o, "submodules", subs_json(s)) != 0) ||
        (s->shallow && json_object_set_new(o, "shallow", json_true()) != 0) ||
        json_object_set_new(o, "dirty", json_boolean(s->dirty)) != 0 ||
        (s->dirty && set_str(o, "dirty_paths_sha256", s->dirty_sha256) != 0)) {
        json_decref(o);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    *out = o;
    return 0;
}

int sign_source_json(char **out, const sign_source *s)
{
    json_t *o = NULL;
    int r;

    *out = NULL;
    if ((r = sign__source_to_json(&o, s)) != 0) {
        return r;
    }
    r = sign__json_dump(out, NULL, o, 0);
    json_decref(o);
    return r;
}
