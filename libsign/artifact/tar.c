/*
 * The layer walker: a tar layer blob (plain, gzip, zstd, xz, bzip2) read in
 * one pass.
 *
 * libarchive only decompresses: its raw format with the compression filters
 * turns the blob into the uncompressed tar stream. Its client read callback
 * (pread of the blob's range) hashes the blob's bytes as they are read; the
 * uncompressed stream is hashed (the diffID) and pushed through our own
 * bounded tar parser, which hashes every entry's content. So every byte is
 * read once, memory does not grow with the layer's size, and the tar headers
 * are read exactly as written: pax and GNU long names next to the ustar
 * name they override are compared instead of merged behind our back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>

#include "artifact_int.h"
#include "inflate.h"
#include "path.h"
#include "pool.h"
#include "text.h"

#define RAW_READ (1024 * 1024)
/* Ratios are only judged above this many uncompressed bytes. */
#define RATIO_FLOOR (1024u * 1024)

/* ---- tar headers ------------------------------------------------------------- */

typedef struct hdr {
    char name[257]; /* prefix "/" name, or name */
    char link[101];
    char type;
    unsigned int mode;
    uint64_t uid, gid, size;
    uint64_t mtime; /* seconds since the epoch (deploy sets it on what it writes) */
} hdr;

/* Octal (NUL/space terminated) or base-256 numeric field. 0 on success. */
static int tar_num(uint64_t *out, const unsigned char *f, size_t len)
{
    uint64_t v = 0;
    size_t i = 0;

    if (f[0] & 0x80) {
        if (f[0] != 0x80) {
            return -1; /* negative or too large */
        }
        for (i = 1; i < len; i++) {
            if (v > (UINT64_MAX >> 8)) {
                return -1;
            }
            v = (v << 8) | f[i];
        }
        *out = v;
        return 0;
    }
    while (i < len && f[i] == ' ') {
        i++;
    }
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v > (UINT64_MAX >> 3)) {
            return -1;
        }
        v = (v << 3) | (uint64_t)(f[i] - '0');
    }
    for (; i < len; i++) {
        if (f[i] != ' ' && f[i] != '\0') {
            return -1;
        }
    }
    *out = v;
    return 0;
}

static int all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* Parse a 512-byte header block. 0: ok; -1: not a valid header. */
static int hdr_parse(hdr *h, const unsigned char *b)
{
    uint64_t sum = 0, want = 0, mode = 0;
    size_t nl, pl;

    for (size_t i = 0; i < 512; i++) {
        sum += (i >= 148 && i < 156) ? ' ' : b[i];
    }
    if (tar_num(&want, b + 148, 8) != 0 || want != sum) {
        return -1;
    }
    memset(h, 0, sizeof(*h));
    nl = strnlen((const char *)b, 100);
    if (memcmp(b + 257, "ustar\0", 6) == 0 && b[345] != '\0') {
        pl = strnlen((const char *)b + 345, 155);
        memcpy(h->name, b + 345, pl);
        h->name[pl] = '/';
        memcpy(h->name + pl + 1, b, nl);
        h->name[pl + 1 + nl] = '\0';
    } else {
        memcpy(h->name, b, nl);
        h->name[nl] = '\0';
    }
    memcpy(h->link, b + 157, strnlen((const char *)b + 157, 100));
    h->type = (char)b[156];
    if (tar_num(&mode, b + 100, 8) != 0 || tar_num(&h->uid, b + 108, 8) != 0 || tar_num(&h->gid, b + 116, 8) != 0 ||
        tar_num(&h->size, b + 124, 12) != 0) {
        return -1;
    }
    if (tar_num(&h->mtime, b + 136, 12) != 0) {
        h->mtime = 0; /* not judged by any finding: a bad one is only not restored */
    }
    h->mode = (unsigned int)(mode & 07777);
    return 0;
}

/* Pax records "LEN key=value\n". Calls back per record; -1 when malformed. */
typedef struct pax {
    char *path, *link;
    int has_size, has_uid, has_gid, sparse;
    uint64_t size, uid, gid;
} pax;

static void pax_clear(pax *p)
{
    free(p->path);
    free(p->link);
    memset(p, 0, sizeof(*p));
}

static int pax_num(uint64_t *out, const char *v, size_t n)
{
    uint64_t x = 0;

    if (n == 0 || n > 20) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - 9) / 10) {
            return -1;
        }
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

static int pax_parse(pax *p, const unsigned char *d, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t len = 0, s = i, k, eq;
        const char *key, *val;
        size_t klen, vlen;

        if (d[i] == '\0' && all_zero(d + i, n - i)) {
            break;
        }
        while (i < n && d[i] >= '0' && d[i] <= '9') {
            if (len > SIGN__TAR_META_MAX) {
                return -1;
            }
            len = len * 10 + (size_t)(d[i] - '0');
            i++;
        }
        if (i >= n || d[i] != ' ' || len == 0 || len > n - s || d[s + len - 1] != '\n') {
            return -1;
        }
        k = i + 1;
        for (eq = k; eq < s + len - 1 && d[eq] != '='; eq++) {
        }
        if (eq >= s + len - 1) {
            return -1;
        }
        key = (const char *)d + k;
        klen = eq - k;
        val = (const char *)d + eq + 1;
        vlen = s + len - 1 - (eq + 1);
        if (memchr(val, '\0', vlen) != NULL) {
            return -1;
        }
        if (klen == 4 && memcmp(key, "path", 4) == 0) {
            free(p->path);
            if ((p->path = strndup(val, vlen)) == NULL) {
                return -2;
            }
        } else if (klen == 8 && memcmp(key, "linkpath", 8) == 0) {
            free(p->link);
            if ((p->link = strndup(val, vlen)) == NULL) {
                return -2;
            }
        } else if (klen == 4 && memcmp(key, "size", 4) == 0) {
            if (pax_num(&p->size, val, vlen) != 0) {
                return -1;
            }
            p->has_size = 1;
        } else if (klen == 3 && memcmp(key, "uid", 3) == 0) {
            if (pax_num(&p->uid, val, vlen) != 0) {
                return -1;
            }
            p->has_uid = 1;
        } else if (klen == 3 && memcmp(key, "gid", 3) == 0) {
            if (pax_num(&p->gid, val, vlen) != 0) {
                return -1;
            }
            p->has_gid = 1;
        } else if (klen > 11 && memcmp(key, "GNU.sparse.", 11) == 0) {
            p->sparse = 1;
        }
        i = s + len;
    }
    return 0;
}

/* ---- the push parser ------------------------------------------------------------ */

enum { ST_HEADER, ST_DATA, ST_META, ST_END };

typedef struct tarp {
    sign__layer *l;
    const sign_limits *lim;
    const char *what;
    int keep;
    int state;
    unsigned char blk[512];
    size_t blen;
    uint64_t remain, pad;
    hdr h;
    pax x;               /* pending pax extended header */
    char *gname, *glink; /* pending GNU long name / link */
    char meta_type;
    unsigned char *meta;
    size_t metalen, metasize;
    sign_entry *cur; /* regular file being read, or NULL */
    sign_digest_ctx *ctx;
    unsigned char *head;
    size_t headlen;
    uint64_t nentries;
    int zero_blocks, stop, trailing;
    const struct sign__entry_hook *hook; /* deploy: each entry and its content as it is read, or NULL */
} tarp;

static int finding(tarp *t, const char *id, sign_severity sev, const char *path, const char *fmt, ...)
    SIGN_PRINTF(5, 6);

static int finding(tarp *t, const char *id, sign_severity sev, const char *path, const char *fmt, ...)
{
    char msg[700];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sign__finding_add(&t->l->findings, id, sev, path, SIZE_MAX, "%s", msg);
}

static sign_entry *entry_new(sign__layer *l)
{
    if (l->n_entries == l->cap_entries) {
        size_t ncap = l->cap_entries ? l->cap_entries * 2 : 64, bytes;
        sign_entry *ne;

        if (!sign__mul(&bytes, ncap, sizeof(*ne)) || (ne = realloc(l->entries, bytes)) == NULL) {
            sign__error(SIGN_ENOMEM, "out of memory");
            return NULL;
        }
        l->entries = ne;
        l->cap_entries = ncap;
    }
    memset(&l->entries[l->n_entries], 0, sizeof(sign_entry));
    return &l->entries[l->n_entries++];
}

/*
 * A pax size record next to the ustar size it overrides: they must be
 * equal, unless the size does not fit the 11 octal digits of the header
 * (8 GiB and more), where writers put 0 (or the same value in base-256).
 */
static int pax_size_agrees(uint64_t pax_size, uint64_t ustar_size)
{
    return pax_size == ustar_size || (pax_size > 077777777777ull && ustar_size == 0);
}

/* Compare a long name with the ustar name it overrides; 1 when they tell different stories. */
static int names_disagree(const char *longname, const char *ustar)
{
    size_t ul = strlen(ustar), ai = 0;
    char ascii[257];

    if (ul == 0 || strcmp(longname, ustar) == 0) {
        return 0;
    }
    if (strncmp(longname, ustar, ul) == 0) {
        return 0; /* the ustar name is the long name cut to fit */
    }
    for (const char *q = longname; *q != '\0' && ai + 1 < sizeof(ascii); q++) {
        if ((unsigned char)*q < 0x80) {
            ascii[ai++] = *q;
        }
    }
    ascii[ai] = '\0';
    if (strncmp(ascii, ustar, ul) == 0) {
        return 0; /* non-ASCII letters dropped from the ustar copy (Go's writer) */
    }
    return strcmp(sign__path_base(longname, 0), sign__path_base(ustar, 0)) != 0;
}

static void check_name(tarp *t, const char *name)
{
    size_t len = strlen(name);
    /* POSIX names: '\\' and ':' are ordinary bytes in a layer (util/path). */
    unsigned int bits = sign__path_check(name, len, t->lim->name_max, 0);

    if (bits & SIGN__PATH_EMPTY) {
        finding(t, "tar-empty-name", SIGN_SEVERITY_DANGER, "",
                "%s: an entry has an empty name, which extractors treat differently: rebuild the layer", t->what);
        return;
    }
    if (bits & SIGN__PATH_TOO_LONG) {
        finding(t, "tar-limit-name", SIGN_SEVERITY_DANGER, name,
                "%s: entry name of %zu bytes exceeds the limit of %zu: shorten it or raise the limit", t->what, len,
                t->lim->name_max);
    } else if (bits & SIGN__PATH_COMPONENT_LONG) {
        finding(t, "tar-limit-name", SIGN_SEVERITY_DANGER, name,
                "%s: entry name has a component longer than %d bytes, which file systems cannot store: shorten it",
                t->what, SIGN__PATH_COMPONENT_MAX);
    }
    if (bits & SIGN__PATH_CONTROL) {
        finding(t, "tar-name-control-char", SIGN_SEVERITY_DANGER, name,
                "%s: entry name contains a control character: rename the file and rebuild the layer", t->what);
    }
    if (bits & SIGN__PATH_UTF8) {
        finding(t, "tar-name-invalid-utf8", SIGN_SEVERITY_DANGER, name,
                "%s: entry name is not valid UTF-8 and may extract under another name: rename it", t->what);
    }
    if (bits & SIGN__PATH_ABSOLUTE) {
        finding(t, "tar-absolute-path", SIGN_SEVERITY_DANGER, name,
                "%s: entry has an absolute path; runtimes differ on where it lands: store it relative", t->what);
    }
    if (bits & SIGN__PATH_DOTDOT) {
        finding(t, "tar-path-traversal", SIGN_SEVERITY_DANGER, name,
                "%s: entry name has a '..' component and can escape the root file system: rebuild the layer",
                t->what);
    }
}

static int symlink_escape(tarp *t, const char *name, const char *link)
{
    return finding(
        t, "tar-symlink-escape", SIGN_SEVERITY_DANGER, name,
        "%s: symlink to \"%.200s\" climbs above the root file system (or climbs after passing through another "
        "symlink of the layer): make it stay inside",
        t->what, link);
}

/*
 * A device node. Character devices under dev/ are what root file system
 * tarballs hold (mmdebstrap's output, `docker import` inputs: dev/null,
 * dev/zero, dev/tty...) and what runtimes hide under their own /dev: a
 * warning. Anywhere else, and block devices anywhere, a danger.
 */
static int check_device(tarp *t, const char *name, char type)
{
    char *n = sign__path_norm(name);
    int in_dev, r;

    if (n == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    in_dev = type == '3' && strncmp(n, "dev/", 4) == 0 && n[4] != '\0';
    free(n);
    if (in_dev) {
        r = finding(t, "tar-device-node", SIGN_SEVERITY_WARNING, name,
                    "%s: character device under dev/, as a root file system tarball holds; the runtime replaces "
                    "/dev",
                    t->what);
    } else {
        r = finding(t, "tar-device-node", SIGN_SEVERITY_DANGER, name,
                    "%s: %s device node outside dev/; an image should not ship devices: remove it", t->what,
                    type == '3' ? "character" : "block");
    }
    return r;
}

/* Setuid and setgid bits, named for what they do on that kind of entry. */
static void check_setid(tarp *t, const char *name, char type, unsigned int mode)
{
    if (type == '5') {
        if (mode & 02000) {
            finding(t, "tar-setgid-directory", SIGN_SEVERITY_INFO, name,
                    "%s: directory has the setgid bit (mode %04o): files created in it take its group", t->what,
                    mode);
        }
        if (mode & 04000) {
            finding(t, "tar-setuid", SIGN_SEVERITY_WARNING, name,
                    "%s: directory has the setuid bit (mode %04o), which Linux ignores on directories", t->what,
                    mode);
        }
        return;
    }
    finding(t, "tar-setuid", SIGN_SEVERITY_WARNING, name, "%s: %s has the %s (mode %04o)", t->what,
            type == '0' || type == '\0' || type == '7' ? "file" : "entry",
            (mode & 06000) == 06000 ? "setuid and setgid bits"
            : (mode & 04000)        ? "setuid bit"
                                    : "setgid bit",
            mode);
}

/* A header (with its pending extensions) becomes an entry. */
/* The extended (pax, GNU) header against the ustar header it overrides, and sparse entries. */
static void entry_check_ext(tarp *t, const char *name, const char *link)
{
    const hdr *h = &t->h;

    if ((t->x.path != NULL || t->gname != NULL) && names_disagree(name, h->name)) {
        finding(t, "tar-name-mismatch", SIGN_SEVERITY_DANGER, name,
                "%s: the %s name and the ustar header name \"%.200s\" differ; tar readers that ignore the "
                "extension extract another file: rebuild the layer",
                t->what, t->x.path != NULL ? "pax path" : "GNU long", h->name);
        check_name(t, h->name);
    }
    if ((t->x.link != NULL || t->glink != NULL) && h->link[0] != '\0' && names_disagree(link, h->link)) {
        finding(t, "tar-name-mismatch", SIGN_SEVERITY_DANGER, name,
                "%s: the %s link target and the ustar link target \"%.200s\" differ: rebuild the layer", t->what,
                t->x.link != NULL ? "pax" : "GNU long", h->link);
    }
    if (t->x.has_size && !pax_size_agrees(t->x.size, h->size)) {
        finding(t, "tar-size-mismatch", SIGN_SEVERITY_DANGER, name,
                "%s: the pax size %llu and the ustar header size %llu differ; readers without pax (or that prefer "
                "the header) see other members from here on: rebuild the layer",
                t->what, (unsigned long long)t->x.size, (unsigned long long)h->size);
    }
    if (t->x.sparse || h->type == 'S') {
        finding(t, "tar-unsupported-entry", SIGN_SEVERITY_DANGER, name,
                "%s: sparse entry; its content depends on the reader: rebuild the layer without sparse files",
                t->what);
    }
}

/* An OCI whiteout entry (its base name b starts with ".wh."): e (NULL when entries are not kept) gets its target. */
static int entry_whiteout(tarp *t, sign_entry *e, const char *name, const char *b)
{
    /* OCI whiteouts: ".wh..wh..opq" hides the directory's lower content, ".wh.NAME" removes NAME. */
    size_t dl = (size_t)(b - name);
    const char *rest = b + 4;
    int opaque = strcmp(rest, ".wh..opq") == 0;
    char *dir = strndup(name, dl), *target = NULL, *nt;
    size_t tl;

    if (dir == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (!opaque && strncmp(rest, ".wh.", 4) == 0) {
        finding(t, "tar-whiteout-invalid", SIGN_SEVERITY_DANGER, name,
                "%s: unknown whiteout metadata file: rebuild the layer", t->what);
    }
    tl = dl + strlen(rest) + 1;
    if ((target = malloc(tl + 1)) == NULL) {
        free(dir);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    snprintf(target, tl + 1, "%s%s", dir, opaque ? "" : rest);
    free(dir);
    /*
     * Recorded as stored, like every other entry of the layer (a "./" prefix is kept); only an opaque
     * marker's directory loses its trailing '/'. Judged on the normalised form.
     */
    for (size_t k = strlen(target); opaque && k > 0 && target[k - 1] == '/'; k--) {
        target[k - 1] = '\0';
    }
    nt = sign__path_norm(target);
    if (nt == NULL) {
        free(target);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if ((!opaque && (strcmp(rest, "") == 0 || strcmp(rest, ".") == 0 || strcmp(rest, "..") == 0)) || nt[0] == '\0' ||
        sign__path_has_dotdot(nt, 0)) {
        finding(t, "tar-whiteout-invalid", SIGN_SEVERITY_DANGER, name,
                "%s: whiteout names '..' or the root directory; applying it removes files outside the layer's "
                "directory or the whole file system: rebuild the layer",
                t->what);
    }
    free(nt);
    if (e != NULL) {
        e->type = opaque ? SIGN_ENTRY_OPAQUE : SIGN_ENTRY_WHITEOUT;
        e->path = target;
        e->size = 0;
    } else {
        free(target);
    }
    return 0;
}

/* The entry's kind from its type flag; a regular file starts its content digest. */
static int entry_type(tarp *t, sign_entry *e, const char *name, const char *link, uint64_t size)
{
    const hdr *h = &t->h;
    int r;

    switch (h->type) {
    case '0':
    case '\0':
    case '7':
        if (e != NULL) {
            e->type = SIGN_ENTRY_FILE;
        }
        t->cur = e;
        t->headlen = 0;
        sign_digest_free(t->ctx);
        t->ctx = NULL;
        /* (No entry kept: nothing is hashed, and no context is made per entry.) */
        if (e != NULL && (r = sign_digest_new(&t->ctx, SIGN_DIGEST_SHA256)) != 0) {
            return r;
        }
        break;
    case '1':
        if (e != NULL) {
            e->type = SIGN_ENTRY_HARDLINK;
            e->size = 0;
        }
        if (link[0] == '/' || sign__path_has_dotdot(link, 0) || link[0] == '\0') {
            finding(t, "tar-hardlink-escape", SIGN_SEVERITY_DANGER, name,
                    "%s: hardlink to \"%.200s\", outside the root file system: rebuild the layer", t->what, link);
        }
        t->remain = 0; /* a hardlink carries no data even when a size is declared */
        t->pad = 0;
        if (size > 0) {
            finding(t, "tar-hardlink-escape", SIGN_SEVERITY_DANGER, name,
                    "%s: hardlink with a declared size; readers disagree on its content: rebuild the layer", t->what);
        }
        break;
    case '2':
        if (e != NULL) {
            e->type = SIGN_ENTRY_SYMLINK;
            e->size = strlen(link);
        }
        /* One rule for zip, tar and --tree (util/path); links through other links: check_layer. */
        if ((r = sign__path_link_escapes(name, link, SIGN__LINK_ROOTFS, NULL, NULL)) < 0) {
            return r;
        }
        if (r == 1) {
            (void)symlink_escape(t, name, link); /* like the other findings of a header */
        }
        break;
    case '5':
        if (e != NULL) {
            e->type = SIGN_ENTRY_DIR;
        }
        break;
    case '3':
    case '4':
        if (e != NULL) {
            e->type = SIGN_ENTRY_OTHER;
        }
        if ((r = check_device(t, name, h->type)) != 0) {
            return r;
        }
        break;
    case '6':
        if (e != NULL) {
            e->type = SIGN_ENTRY_OTHER;
        }
        finding(t, "tar-special-file", SIGN_SEVERITY_WARNING, name, "%s: a FIFO is packaged", t->what);
        break;
    default:
        if (e != NULL) {
            e->type = SIGN_ENTRY_OTHER;
        }
        finding(t, "tar-unsupported-entry", SIGN_SEVERITY_DANGER, name,
                "%s: tar entry type '%c' is not a file, directory, link or device; readers disagree on it: "
                "rebuild the layer",
                t->what, h->type >= 0x20 && h->type < 0x7f ? h->type : '?');
        break;
    }
    return 0;
}

static int entry_begin(tarp *t)
{
    const hdr *h = &t->h;
    const char *name = t->x.path != NULL ? t->x.path : t->gname != NULL ? t->gname : h->name;
    const char *link = t->x.link != NULL ? t->x.link : t->glink != NULL ? t->glink : h->link;
    const char *b;
    sign_entry *e = NULL;
    uint64_t size = t->x.has_size ? t->x.size : h->size;
    int r = 0;

    t->cur = NULL;
    t->remain = size;
    t->pad = (512 - (size % 512)) % 512;
    if (++t->nentries > t->lim->archive_max_entries) {
        t->stop = 1;
        return finding(t, "tar-limit-entries", SIGN_SEVERITY_DANGER, NULL,
                       "%s: more than %llu entries; walking stopped: raise the limit only if this is expected",
                       t->what, (unsigned long long)t->lim->archive_max_entries);
    }
    entry_check_ext(t, name, link);
    check_name(t, name);
    if (t->keep && (e = entry_new(t->l)) == NULL) {
        return sign__oom();
    }
    b = sign__path_base(name, 0);
    if (e != NULL) {
        e->mode = h->mode;
        e->has_owner = 1;
        e->uid = t->x.has_uid ? t->x.uid : h->uid;
        e->gid = t->x.has_gid ? t->x.gid : h->gid;
        e->size = size;
    }
    if (strncmp(b, ".wh.", 4) == 0) {
        return entry_whiteout(t, e, name, b);
    }
    if (e != NULL && (e->path = sign__strdup(name)) == NULL) {
        return sign__oom();
    }
    if ((r = entry_type(t, e, name, link, size)) != 0) {
        return r;
    }
    if (h->type == '1' || h->type == '2') {
        if (e != NULL && (e->link_target = sign__strdup(link)) == NULL) {
            return sign__oom();
        }
    }
    if ((h->mode & 06000) != 0 && h->type != '2') {
        check_setid(t, name, h->type, h->mode);
    }
    if ((h->mode & 0002) != 0 &&
        (h->type == '0' || h->type == '\0' || h->type == '7' || (h->type == '5' && !(h->mode & 01000)))) {
        finding(t, "tar-world-writable", SIGN_SEVERITY_WARNING, name, "%s: %s is writable by every user (mode %04o)",
                t->what, h->type == '5' ? "directory without the sticky bit" : "file", h->mode);
    }
    return 0;
}

static int entry_end(tarp *t)
{
    sign_entry *e = t->cur;
    size_t mdlen = 0;
    int r;

    t->cur = NULL;
    if (e == NULL) {
        return 0;
    }
    if ((r = sign_digest_final(e->sha256, sizeof(e->sha256), &mdlen, t->ctx)) != 0) {
        return r;
    }
    e->has_digest = 1;
    if (t->hook != NULL && (r = t->hook->done(t->hook->ctx, e)) != 0) {
        return r;
    }
    return sign__secrets_check(&t->l->findings, e->path, t->head, t->headlen);
}

static void ext_clear(tarp *t)
{
    pax_clear(&t->x);
    free(t->gname);
    free(t->glink);
    t->gname = t->glink = NULL;
}

static int meta_end(tarp *t)
{
    int r;

    if (t->meta_type == 'x' || t->meta_type == 'g') {
        pax p;

        memset(&p, 0, sizeof(p));
        r = pax_parse(&p, t->meta, t->metalen);
        if (r == -2) {
            pax_clear(&p);
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        if (r != 0) {
            t->stop = 1;
            pax_clear(&p);
            return finding(t, "tar-bad-header", SIGN_SEVERITY_DANGER, NULL,
                           "%s: malformed pax extended header; walking stopped: rebuild the layer", t->what);
        }
        if (t->meta_type == 'g') {
            if (p.path != NULL || p.link != NULL || p.has_size) {
                finding(t, "tar-name-mismatch", SIGN_SEVERITY_DANGER, NULL,
                        "%s: a pax global header sets a path, link or size for the entries that follow; readers "
                        "disagree on it: rebuild the layer",
                        t->what);
            }
            pax_clear(&p);
            return 0;
        }
        /* Records of this header override those of an earlier one for the same entry. */
        if (p.path != NULL) {
            free(t->x.path);
            t->x.path = p.path;
            p.path = NULL;
        }
        if (p.link != NULL) {
            free(t->x.link);
            t->x.link = p.link;
            p.link = NULL;
        }
        if (p.has_size) {
            t->x.has_size = 1;
            t->x.size = p.size;
        }
        if (p.has_uid) {
            t->x.has_uid = 1;
            t->x.uid = p.uid;
        }
        if (p.has_gid) {
            t->x.has_gid = 1;
            t->x.gid = p.gid;
        }
        t->x.sparse |= p.sparse;
        pax_clear(&p);
        return 0;
    }
    /* GNU 'L' / 'K': the name is the data up to its first NUL. */
    {
        char *s = strndup((const char *)t->meta, t->metalen);

        if (s == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        if (t->meta_type == 'L') {
            free(t->gname);
            t->gname = s;
        } else {
            free(t->glink);
            t->glink = s;
        }
    }
    return 0;
}

static int on_header(tarp *t)
{
    int r;

    if (all_zero(t->blk, 512)) {
        if (++t->zero_blocks >= 2) {
            t->state = ST_END;
        }
        return 0;
    }
    if (t->zero_blocks > 0) {
        /* One zero block, then a member: Go fails, Python stops there, GNU tar warns and reads on. */
        t->zero_blocks = 0;
        finding(t, "tar-zero-block", SIGN_SEVERITY_DANGER, NULL,
                "%s: a single zero block is followed by another member after %llu entries; some readers end the "
                "archive there, others read on: rebuild the layer",
                t->what, (unsigned long long)t->nentries);
    }
    if (hdr_parse(&t->h, t->blk) != 0) {
        t->stop = 1;
        return finding(t, "tar-bad-header", SIGN_SEVERITY_DANGER, NULL,
                       "%s: invalid tar header (checksum or numeric field) after %llu entries; walking stopped: "
                       "the layer is damaged or not a tar",
                       t->what, (unsigned long long)t->nentries);
    }
    if (t->h.type == 'x' || t->h.type == 'g' || t->h.type == 'L' || t->h.type == 'K') {
        if (t->h.size > SIGN__TAR_META_MAX) {
            t->stop = 1;
            return finding(t, "tar-bad-header", SIGN_SEVERITY_DANGER, NULL,
                           "%s: extended header of %llu bytes (limit %u); walking stopped: rebuild the layer",
                           t->what, (unsigned long long)t->h.size, SIGN__TAR_META_MAX);
        }
        if ((t->h.type == 'L' && t->gname != NULL) || (t->h.type == 'K' && t->glink != NULL) ||
            (t->h.type == 'x' && (t->x.path != NULL || t->x.link != NULL))) {
            finding(t, "tar-name-mismatch", SIGN_SEVERITY_DANGER, NULL,
                    "%s: two extended headers for one entry; readers keep different ones: rebuild the layer",
                    t->what);
        }
        if (t->metasize < t->h.size + 1) {
            unsigned char *m = realloc(t->meta, (size_t)t->h.size + 1);

            if (m == NULL) {
                return sign__error(SIGN_ENOMEM, "out of memory");
            }
            t->meta = m;
            t->metasize = (size_t)t->h.size + 1;
        }
        t->meta_type = t->h.type;
        t->metalen = 0;
        t->remain = t->h.size;
        t->pad = (512 - (t->h.size % 512)) % 512;
        t->state = ST_META;
        if (t->remain == 0) {
            r = meta_end(t);
            t->state = t->pad ? ST_DATA : ST_HEADER;
            return r;
        }
        return 0;
    }
    {
        size_t before = t->l->n_entries;

        r = entry_begin(t);
        ext_clear(t);
        if (r == 0 && !t->stop && t->hook != NULL && t->l->n_entries > before) {
            r = t->hook->entry(t->hook->ctx, &t->l->entries[t->l->n_entries - 1], (int64_t)t->h.mtime);
        }
    }
    if (r != 0 || t->stop) {
        return r;
    }
    if (t->remain == 0) {
        if ((r = entry_end(t)) != 0) {
            return r;
        }
    }
    t->state = ST_DATA;
    return 0;
}

/* Push uncompressed bytes through the parser. */
static int tarp_push(tarp *t, const unsigned char *p, size_t n)
{
    int r;

    while (n > 0 && !t->stop) {
        size_t take;

        switch (t->state) {
        case ST_END:
            if (!t->trailing && !all_zero(p, n)) {
                t->trailing = 1;
                finding(t, "tar-data-after-end", SIGN_SEVERITY_DANGER, NULL,
                        "%s: data follows the end-of-archive marker; most tar readers ignore it, some (with "
                        "--ignore-zeros) read members from it: rebuild the layer",
                        t->what);
            }
            return 0;
        case ST_HEADER:
            take = 512 - t->blen < n ? 512 - t->blen : n;
            memcpy(t->blk + t->blen, p, take);
            t->blen += take;
            p += take;
            n -= take;
            if (t->blen == 512) {
                t->blen = 0;
                if ((r = on_header(t)) != 0) {
                    return r;
                }
            }
            break;
        case ST_META:
            take = t->remain < n ? (size_t)t->remain : n;
            memcpy(t->meta + t->metalen, p, take);
            t->metalen += take;
            t->remain -= take;
            p += take;
            n -= take;
            if (t->remain == 0) {
                t->meta[t->metalen] = '\0';
                if ((r = meta_end(t)) != 0) {
                    return r;
                }
                t->state = ST_DATA;
            }
            break;
        case ST_DATA:
            if (t->remain > 0) {
                take = t->remain < n ? (size_t)t->remain : n;
                if (t->cur != NULL) {
                    if ((r = sign_digest_update(t->ctx, p, take)) != 0 ||
                        (t->hook != NULL && (r = t->hook->data(t->hook->ctx, p, take)) != 0)) {
                        return r;
                    }
                    if (t->headlen < SIGN__SECRET_SCAN_MAX) {
                        size_t h =
                            SIGN__SECRET_SCAN_MAX - t->headlen < take ? SIGN__SECRET_SCAN_MAX - t->headlen : take;

                        memcpy(t->head + t->headlen, p, h);
                        t->headlen += h;
                    }
                }
                t->remain -= take;
                p += take;
                n -= take;
                if (t->remain == 0 && (r = entry_end(t)) != 0) {
                    return r;
                }
                break;
            }
            take = t->pad < n ? (size_t)t->pad : n;
            t->pad -= take;
            p += take;
            n -= take;
            if (t->pad == 0) {
                t->state = ST_HEADER;
            }
            break;
        default: return 0;
        }
        /* A header whose entry has no data and no padding goes straight back to headers. */
        if (t->state == ST_DATA && t->remain == 0 && t->pad == 0) {
            t->state = ST_HEADER;
        }
    }
    return 0;
}

/* ---- duplicates and hardlinks --------------------------------------------------- */

typedef struct npath {
    char *p;
    size_t i;
} npath;

static int cmp_npath(const void *a, const void *b)
{
    const npath *x = a, *y = b;
    int c = strcmp(x->p, y->p);

    return c != 0 ? c : (x->i < y->i ? -1 : x->i > y->i);
}

/* Index in v (sorted) of the first record with path p, or SIZE_MAX. */
static size_t npath_find(const npath *v, size_t n, const char *p)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(v[mid].p, p) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && strcmp(v[lo].p, p) == 0 ? lo : SIZE_MAX;
}

/* The first symlink among the parent directories of p (normalised), or NULL. */
static const sign_entry *symlink_parent(const sign__layer *l, const npath *v, size_t n, char *p)
{
    const sign_entry *hit = NULL;

    for (char *q = strchr(p, '/'); q != NULL && hit == NULL; q = strchr(q + 1, '/')) {
        size_t k;

        *q = '\0';
        k = npath_find(v, n, p);
        for (; k != SIZE_MAX && k < n && strcmp(v[k].p, p) == 0 && hit == NULL; k++) {
            if (l->entries[v[k].i].type == SIGN_ENTRY_SYMLINK) {
                hit = &l->entries[v[k].i];
            }
        }
        *q = '/';
    }
    return hit;
}

/* 1 when an entry with path p (normalised) is something other than a directory (whiteouts excepted). */
static int is_non_dir(const sign__layer *l, const npath *v, size_t n, const char *p)
{
    size_t k = npath_find(v, n, p);

    for (; k != SIZE_MAX && k < n && strcmp(v[k].p, p) == 0; k++) {
        sign_entry_type ty = l->entries[v[k].i].type;

        if (ty != SIGN_ENTRY_DIR && ty != SIGN_ENTRY_SYMLINK && ty != SIGN_ENTRY_WHITEOUT &&
            ty != SIGN_ENTRY_OPAQUE) {
            return 1;
        }
    }
    return 0;
}

/*
 * An entry below a symlink of the same layer: extracting it writes wherever
 * the link points. An entry below a file of the same layer: the path is a
 * file to one reader and a directory to another (which one lands depends on
 * the extractor: it fails, replaces the file, or skips the entry).
 */
static int check_through_symlink(tarp *t, const npath *v, size_t n)
{
    const sign__layer *l = t->l;
    int r = 0;

    for (size_t i = 0; i < n && r == 0; i++) {
        char *p = sign__strdup(v[i].p); /* cut in place: not the sorted array's copy */
        const sign_entry *e = &l->entries[v[i].i];

        if (p == NULL) {
            return sign__oom();
        }
        if (symlink_parent(l, v, n, p) != NULL) {
            r = finding(t, "tar-path-through-symlink", SIGN_SEVERITY_DANGER, e->path,
                        "%s: entry is stored below a symlink of the same layer; extracting it writes "
                        "wherever that link points: rebuild the layer",
                        t->what);
        }
        /* A whiteout acts on lower layers, below their own directories: not judged here. */
        for (char *q = e->type == SIGN_ENTRY_WHITEOUT || e->type == SIGN_ENTRY_OPAQUE ? NULL : strchr(p, '/');
             q != NULL && r == 0; q = strchr(q + 1, '/')) {
            *q = '\0';
            if (is_non_dir(l, v, n, p)) {
                r = finding(t, "tar-file-and-directory", SIGN_SEVERITY_DANGER, e->path,
                            "%s: entry is stored below \"%.200s\", which the layer also holds as a file; "
                            "extractors disagree on which one lands: rebuild the layer",
                            t->what, p);
                break;
            }
            *q = '/';
        }
        free(p);
    }
    return r;
}

/* sign__path_is_link_fn over the layer's sorted, normalised paths. */
typedef struct linkset {
    const sign__layer *l;
    const npath *v;
    size_t n;
} linkset;

static int linkset_has(void *ctx, const char *p)
{
    const linkset *s = ctx;

    for (size_t k = npath_find(s->v, s->n, p); k != SIZE_MAX && k < s->n && strcmp(s->v[k].p, p) == 0; k++) {
        if (s->l->entries[s->v[k].i].type == SIGN_ENTRY_SYMLINK) {
            return 1;
        }
    }
    return 0;
}

/* The symlink rule again with the whole layer known: ".." after passing through another symlink escapes too. */
static int check_links_via_links(tarp *t, const npath *v, size_t n)
{
    linkset s = {t->l, v, n};

    for (size_t i = 0; i < t->l->n_entries; i++) {
        const sign_entry *e = &t->l->entries[i];
        int r;

        if (e->type != SIGN_ENTRY_SYMLINK || e->link_target == NULL) {
            continue;
        }
        if ((r = sign__path_link_escapes(e->path, e->link_target, SIGN__LINK_ROOTFS, linkset_has, &s)) < 0) {
            return r;
        }
        if (r == 1 && (r = symlink_escape(t, e->path, e->link_target)) != 0) {
            return r;
        }
    }
    return 0;
}

/*
 * Entries with one normalised path. Two directories are fine. A whiteout
 * (or opaque marker) next to entries of its path is what the image spec
 * defines (it acts on lower layers only): a warning when it names a
 * non-directory entry of the same layer, nothing for an opaque directory.
 * Two other entries are a duplicate.
 */
static int check_same_path(tarp *t, const npath *v, size_t from, size_t to)
{
    const sign__layer *l = t->l;
    size_t real = 0, dirs = 0, whiteouts = 0;
    const sign_entry *last = NULL;

    for (size_t k = from; k < to; k++) {
        const sign_entry *e = &l->entries[v[k].i];

        if (e->type == SIGN_ENTRY_WHITEOUT) {
            whiteouts++;
        } else if (e->type != SIGN_ENTRY_OPAQUE) {
            real++;
            dirs += e->type == SIGN_ENTRY_DIR;
            last = e;
        }
    }
    if (real >= 2 && dirs != real) {
        return finding(t, "tar-duplicate-path", SIGN_SEVERITY_DANGER, last->path,
                       "%s: two entries of the layer have this path; which one wins depends on the runtime: "
                       "remove one",
                       t->what);
    }
    if (whiteouts > 0 && real > 0) {
        return finding(t, "tar-whiteout-and-entry", SIGN_SEVERITY_WARNING, last->path,
                       "%s: the layer both whites out and adds this path; the whiteout removes the lower layers' "
                       "copy only (OCI image spec)",
                       t->what);
    }
    return 0;
}

/* A hardlink whose target path goes through a symlink of the layer links whatever that path resolves to. */
static int check_hardlink_target(tarp *t, const npath *v, size_t n, const sign_entry *e, char *nt)
{
    const sign_entry *s = symlink_parent(t->l, v, n, nt);

    if (s == NULL) {
        return 0;
    }
    return finding(t, "tar-hardlink-through-symlink", SIGN_SEVERITY_DANGER, e->path,
                   "%s: hardlink to \"%.200s\" goes through the symlink \"%.200s\"; extractors that resolve it "
                   "link a file outside the layer: rebuild the layer",
                   t->what, e->link_target, s->path);
}

static int check_layer(tarp *t)
{
    sign__layer *l = t->l;
    npath *v = NULL;
    size_t n = 0;
    int r = 0;

    if (l->n_entries == 0) {
        return 0;
    }
    if ((v = calloc(l->n_entries, sizeof(*v))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < l->n_entries; i++, n++) {
        if ((v[n].p = sign__path_norm(l->entries[i].path)) == NULL) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
            goto out;
        }
        v[n].i = i;
    }
    qsort(v, n, sizeof(*v), cmp_npath);
    for (size_t i = 0, j; i < n && r == 0; i = j) {
        for (j = i + 1; j < n && strcmp(v[i].p, v[j].p) == 0; j++) {
        }
        if (j - i > 1) {
            r = check_same_path(t, v, i, j);
        }
    }
    if (r == 0) {
        r = check_through_symlink(t, v, n);
    }
    if (r == 0) {
        r = check_links_via_links(t, v, n);
    }
    for (size_t i = 0; i < l->n_entries && r == 0; i++) {
        const sign_entry *e = &l->entries[i];
        char *nt;

        if (e->type != SIGN_ENTRY_HARDLINK || e->link_target == NULL || e->link_target[0] == '/' ||
            sign__path_has_dotdot(e->link_target, 0)) {
            continue;
        }
        if ((nt = sign__path_norm(e->link_target)) == NULL) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
            break;
        }
        if ((r = check_hardlink_target(t, v, n, e, nt)) != 0) {
            free(nt);
            break;
        }
        /* Any entry with that path (lowest index first): it must come before the link. */
        {
            size_t lo = 0, hi = n;

            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(v[mid].p, nt) < 0) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            if (lo >= n || strcmp(v[lo].p, nt) != 0 || v[lo].i >= i) {
                r = finding(t, "tar-hardlink-dangling", SIGN_SEVERITY_WARNING, e->path,
                            "%s: hardlink to \"%.200s\", which no earlier entry of this layer provides", t->what,
                            e->link_target);
            }
        }
        free(nt);
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(v[i].p);
    }
    free(v);
    return r;
}

/* ---- the stream digests on a second thread (deploy) ----------------------------------- */

/*
 * Deploy's walk (the hook walk) runs alone, layer after layer in order, so the
 * pool's second thread would sit idle. It takes the walk's two stream digests
 * instead: the blob's (compressed bytes) and the diffID (uncompressed), in
 * order, while the walking thread inflates, parses, hashes each entry and
 * writes it. A job names a buffer of the walk; the walk waits for the job
 * before it refills that buffer (hashq_wait), so memory does not grow, and
 * every byte hashed is still the byte walked (one read, one buffer). Without
 * a helper (a budget of one thread, or before it starts) hashq_update hashes
 * on the walking thread, as before.
 */
#define HQ_JOBS 4

typedef struct hjob {
    sign_digest_ctx *ctx;
    const void *p;
    size_t n;
} hjob;

typedef struct hashq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    hjob job[HQ_JOBS];
    uint64_t pushed, hashed; /* jobs queued, jobs done */
    int helped;              /* a helper hashes the queued jobs (set once, before any is queued) */
    int done;                /* the walk ended: the helper returns once the queue is empty */
    int err;                 /* a queued update failed */
} hashq;

/* ctx += p[0..n): queued when a helper runs (*seq: the job's number, to wait for), else at once. */
static int hashq_update(hashq *q, sign_digest_ctx *ctx, const void *p, size_t n, uint64_t *seq)
{
    if (q == NULL) {
        return sign_digest_update(ctx, p, n);
    }
    pthread_mutex_lock(&q->mu);
    if (!q->helped) {
        pthread_mutex_unlock(&q->mu);
        return sign_digest_update(ctx, p, n);
    }
    while (q->pushed - q->hashed == HQ_JOBS) {
        pthread_cond_wait(&q->cv, &q->mu);
    }
    q->job[q->pushed % HQ_JOBS] = (hjob){ctx, p, n};
    *seq = ++q->pushed;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

/* Wait until job seq (and every one before it) is hashed: its buffer may be refilled. */
static int hashq_wait(hashq *q, uint64_t seq)
{
    int err;

    if (q == NULL) {
        return 0;
    }
    pthread_mutex_lock(&q->mu);
    while (q->hashed < seq && q->hashed < q->pushed) {
        pthread_cond_wait(&q->cv, &q->mu);
    }
    err = q->err;
    pthread_mutex_unlock(&q->mu);
    return err ? sign__error(SIGN_ENOMEM, "out of memory") : 0;
}

/* The walk ends: every queued job hashed, the helper released. */
static int hashq_finish(hashq *q)
{
    int r;

    if (q == NULL) {
        return 0;
    }
    r = hashq_wait(q, UINT64_MAX);
    pthread_mutex_lock(&q->mu);
    q->done = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return r;
}

/* The helper: hash the queued jobs in order until the walk ends (at once when it already has). */
static void hashq_help(hashq *q)
{
    pthread_mutex_lock(&q->mu);
    q->helped = !q->done;
    while (q->helped) {
        hjob j;

        while (q->hashed == q->pushed && !q->done) {
            pthread_cond_wait(&q->cv, &q->mu);
        }
        if (q->hashed == q->pushed) {
            break;
        }
        j = q->job[q->hashed % HQ_JOBS];
        pthread_mutex_unlock(&q->mu);
        if (sign_digest_update(j.ctx, j.p, j.n) != 0) {
            j.ctx = NULL;
        }
        pthread_mutex_lock(&q->mu);
        q->err |= j.ctx == NULL;
        q->hashed++;
        pthread_cond_broadcast(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
}

/* ---- driving libarchive ------------------------------------------------------------ */

typedef struct rawsrc {
    int fd;
    uint64_t off, len, pos;
    unsigned char *buf;
    sign_digest_ctx *ctx;
    int err;
    const char *what;
    sign__progress *pr; /* or NULL */
    int stream;         /* fd is a socket or pipe: read(), not pread() */
    size_t pending;     /* stream: bytes of buf read ahead by is_gzip, not yet hashed */
    hashq *hq;          /* or NULL: the digests queued for a helper thread */
    uint64_t bufseq;    /* the job hashing buf */
    uint64_t outseq;    /* the job hashing the last uncompressed chunk (the diffID) */
} rawsrc;

static la_ssize_t raw_read(struct archive *ar, void *ud, const void **buf)
{
    rawsrc *s = ud;
    size_t want;
    ssize_t n;

    (void)ar;
    *buf = s->buf;
    if (s->pos >= s->len) {
        return 0;
    }
    want = s->len - s->pos < RAW_READ ? (size_t)(s->len - s->pos) : RAW_READ;
    if (s->pending > 0) {
        n = (ssize_t)s->pending;
        s->pending = 0;
    } else if (hashq_wait(s->hq, s->bufseq) != 0) {
        s->err = ENOMEM;
        return -1;
    } else {
        do {
            n = s->stream ? read(s->fd, s->buf, want) : pread(s->fd, s->buf, want, (off_t)(s->off + s->pos));
        } while (n < 0 && errno == EINTR);
    }
    if (n < 0) {
        s->err = errno;
        return -1;
    }
    if (n == 0) {
        s->err = EIO; /* shorter than its size: changed while read */
        return -1;
    }
    if (hashq_update(s->hq, s->ctx, s->buf, (size_t)n, &s->bufseq) != 0) {
        s->err = ENOMEM;
        return -1;
    }
    s->pos += (uint64_t)n;
    if (s->pr != NULL && s->pr->cb != NULL) {
        uint64_t done = atomic_fetch_add(&s->pr->done, (uint64_t)n) + (uint64_t)n;

        s->pr->cb(s->pr->what, done, s->pr->total, s->pr->userdata);
    }
    return n;
}

/* Hash what libarchive did not read (after a stop): the blob digest covers every byte. */
static int raw_drain(rawsrc *s)
{
    const void *b;

    for (;;) {
        la_ssize_t n = raw_read(NULL, s, &b);

        if (n == 0) {
            return 0;
        }
        if (n < 0) {
            return sign__error(SIGN_EIO, "%s: read error at offset %llu: %s", s->what,
                               (unsigned long long)s->off + (unsigned long long)s->pos, strerror(s->err));
        }
    }
}

static const char *filter_name(struct archive *ar)
{
    switch (archive_filter_code(ar, 0)) {
    case ARCHIVE_FILTER_NONE: return "none";
    case ARCHIVE_FILTER_GZIP: return "gzip";
    case ARCHIVE_FILTER_ZSTD: return "zstd";
    case ARCHIVE_FILTER_XZ: return "xz";
    case ARCHIVE_FILTER_BZIP2: return "bzip2";
    default: return "other";
    }
}

static struct archive *open_filters(rawsrc *s)
{
    struct archive *ar = archive_read_new();

    if (ar == NULL) {
        return NULL;
    }
    archive_read_support_filter_gzip(ar);
    archive_read_support_filter_zstd(ar);
    archive_read_support_filter_xz(ar);
    archive_read_support_filter_bzip2(ar);
    archive_read_support_format_raw(ar);
    if (archive_read_open(ar, s, NULL, raw_read, NULL) != ARCHIVE_OK) {
        return ar; /* caller checks archive_errno / state */
    }
    return ar;
}

void sign__layer_clear(sign__layer *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->n_entries; i++) {
        free((char *)l->entries[i].path);
        free((char *)l->entries[i].link_target);
    }
    free(l->entries);
    free(l->media_type);
    sign__findings_clear(&l->findings);
    memset(l, 0, sizeof(*l));
}

/* One chunk of the uncompressed stream: diffID, limits, then the tar parser. *ok = 0 stops the walk. */
static int walk_chunk(tarp *t, rawsrc *s, sign_digest_ctx *uctx, const void *buf, size_t n, int *ok)
{
    sign__layer *l = t->l;
    const sign_limits *lim = t->lim;
    int r;

    if ((r = hashq_update(s->hq, uctx, buf, n, &s->outseq)) != 0) {
        return r;
    }
    l->usize += n;
    if (l->usize > lim->archive_max_total) {
        finding(t, "tar-limit-total", SIGN_SEVERITY_DANGER, NULL,
                "%s: decompresses to more than %llu bytes; walking stopped: raise the limit only if this is "
                "expected",
                t->what, (unsigned long long)lim->archive_max_total);
        *ok = 0;
        return 0;
    }
    if (l->usize > RATIO_FLOOR && s->pos > 0 && l->usize / s->pos > lim->archive_max_ratio) {
        finding(t, "tar-limit-ratio", SIGN_SEVERITY_DANGER, NULL,
                "%s: decompresses to more than %llu times its size (a bomb?); walking stopped", t->what,
                (unsigned long long)lim->archive_max_ratio);
        *ok = 0;
        return 0;
    }
    return tarp_push(t, buf, n);
}

/* The uncompressed stream through libarchive's filters (zstd, xz, bzip2, or none). */
static int walk_libarchive(tarp *t, rawsrc *s, sign_digest_ctx *uctx, int *ok)
{
    struct archive *ar = NULL;
    struct archive_entry *ae;
    int r = 0;

    if ((ar = open_filters(s)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (s->err != 0) {
        r = sign__error(SIGN_EIO, "%s: %s", t->what, strerror(s->err));
        goto out;
    }
    if (archive_read_next_header(ar, &ae) != ARCHIVE_OK) {
        if (s->err != 0) {
            r = sign__error(SIGN_EIO, "%s: %s", t->what, strerror(s->err));
            goto out;
        }
        finding(t, "tar-unreadable", SIGN_SEVERITY_DANGER, NULL, "%s: cannot be decompressed (%s)", t->what,
                archive_error_string(ar) != NULL ? archive_error_string(ar) : "unknown format");
        *ok = 0;
    }
    t->l->compression = filter_name(ar);
    while (*ok && !t->stop) {
        const void *buf;
        size_t n;
        la_int64_t o;
        int ar_r;

        if ((r = hashq_wait(s->hq, s->outseq)) != 0) {
            goto out;
        }
        ar_r = archive_read_data_block(ar, &buf, &n, &o);

        if (ar_r == ARCHIVE_EOF) {
            break;
        }
        if (ar_r != ARCHIVE_OK) {
            if (s->err != 0) {
                r = sign__error(SIGN_EIO, "%s: read error: %s", t->what, strerror(s->err));
                goto out;
            }
            finding(t, "tar-unreadable", SIGN_SEVERITY_DANGER, NULL,
                    "%s: decompression failed after %llu bytes (%s): the blob is damaged", t->what,
                    (unsigned long long)t->l->usize,
                    archive_error_string(ar) != NULL ? archive_error_string(ar) : "unknown error");
            *ok = 0;
            break;
        }
        if ((r = walk_chunk(t, s, uctx, buf, n, ok)) != 0) {
            goto out;
        }
    }
out:
    if (hashq_wait(s->hq, UINT64_MAX) != 0 && r == 0) {
        r = SIGN_ENOMEM;
    }
    archive_read_free(ar);
    return r;
}

/* 1 when the blob starts with the gzip magic (and the deflate method); a stream's first bytes are kept. */
static int is_gzip(rawsrc *s)
{
    unsigned char m[3];

    if (s->stream) {
        size_t want = s->len < RAW_READ ? (size_t)s->len : RAW_READ;

        while (s->pending < 3 && s->pending < want) {
            ssize_t n = read(s->fd, s->buf + s->pending, want - s->pending);

            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                break; /* short or failed: raw_read reports it */
            }
            s->pending += (size_t)n;
        }
        return s->pending >= 3 && s->buf[0] == 0x1f && s->buf[1] == 0x8b && s->buf[2] == 8;
    }
    return s->len >= 3 && pread(s->fd, m, 3, (off_t)s->off) == 3 && m[0] == 0x1f && m[1] == 0x8b && m[2] == 8;
}

/* Bytes after the last gzip member: zeros are padding (a warning), anything else is hidden data. */
static int gzip_trailing(tarp *t, rawsrc *s, const unsigned char *p, size_t n)
{
    uint64_t count = 0, at = s->pos - n;
    int nonzero = 0;

    for (;;) {
        const void *b;
        la_ssize_t k;

        count += n;
        nonzero |= !all_zero(p, n);
        if ((k = raw_read(NULL, s, &b)) < 0) {
            return sign__error(SIGN_EIO, "%s: read error: %s", t->what, strerror(s->err));
        }
        if (k == 0) {
            break;
        }
        p = b;
        n = (size_t)k;
    }
    if (nonzero) {
        return finding(t, "tar-gzip-trailing-data", SIGN_SEVERITY_DANGER, NULL,
                       "%s: %llu bytes after the last gzip member at offset %llu are not another member: some "
                       "readers ignore them, others (Go's gzip reader) fail; rebuild the blob",
                       t->what, (unsigned long long)count, (unsigned long long)at);
    }
    return finding(t, "tar-gzip-trailing-data", SIGN_SEVERITY_WARNING, NULL,
                   "%s: %llu zero bytes pad the blob after the last gzip member", t->what, (unsigned long long)count);
}

/*
 * The uncompressed stream of a gzip blob, inflated by util/inflate (ISA-L,
 * or zlib) rather than libarchive: libarchive neither checks a member's
 * CRC-32 and ISIZE trailer nor reports bytes after the last member, and
 * both make readers disagree. Members follow one another (RFC 1952); what
 * follows the last one must be nothing.
 */
typedef struct gzwalk {
    sign__inflate *z;
    unsigned char *out;
    const unsigned char *in, *mstart; /* next input; where the current member starts (in this chunk) */
    size_t inlen, mlen;
    int members;
    sign__inflate_status st;
} gzwalk;

/* A member ended in an error (st): a finding, or bytes after the last member that are not one. */
static int gzip_error(tarp *t, rawsrc *s, gzwalk *g)
{
    const char *m = sign__inflate_msg(g->z);

    if (g->st == SIGN__INFLATE_ENOMEM) {
        return sign__oom();
    }
    if (g->st == SIGN__INFLATE_ECRC || g->st == SIGN__INFLATE_ESIZE) {
        return finding(t, "tar-gzip-checksum", SIGN_SEVERITY_DANGER, NULL,
                       "%s: gzip member %d: its %s trailer does not match the data (%s); strict readers refuse "
                       "it, others take it: rebuild the blob",
                       t->what, g->members + 1, g->st == SIGN__INFLATE_ECRC ? "CRC-32" : "ISIZE", m);
    }
    if (g->members > 0 && sign__inflate_total_out(g->z) == 0) {
        /* Not another member after all: trailing data, counted from where the member would start. */
        return g->mstart != NULL ? gzip_trailing(t, s, g->mstart, g->mlen) : gzip_trailing(t, s, g->in, g->inlen);
    }
    return finding(t, "tar-unreadable", SIGN_SEVERITY_DANGER, NULL,
                   "%s: decompression failed in gzip member %d (%s): the blob is damaged", t->what, g->members + 1,
                   m);
}

static int walk_gzip(tarp *t, rawsrc *s, sign_digest_ctx *uctx, int *ok)
{
    gzwalk g;
    int r = 0;

    memset(&g, 0, sizeof(g));
    t->l->compression = "gzip";
    if ((g.out = malloc(RAW_READ)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if ((r = sign__inflate_new(&g.z, 1)) != 0) {
        goto out;
    }
    while (*ok && !t->stop) {
        size_t n = 0;

        if (g.inlen == 0) {
            const void *b = NULL;
            la_ssize_t got = raw_read(NULL, s, &b);

            if (got < 0) {
                r = sign__error(SIGN_EIO, "%s: read error: %s", t->what, strerror(s->err));
                goto out;
            }
            if (got == 0) {
                break;
            }
            g.in = b;
            g.inlen = (size_t)got;
            g.mstart = NULL;
        }
        if (g.st == SIGN__INFLATE_END) {
            /* Between members: another one starts with the magic, anything else is trailing data. */
            if (g.in[0] != 0x1f) {
                r = gzip_trailing(t, s, g.in, g.inlen);
                break;
            }
            if ((r = sign__inflate_reset(g.z)) != 0) {
                goto out;
            }
            g.mstart = g.in;
            g.mlen = g.inlen;
        }
        if ((r = hashq_wait(s->hq, s->outseq)) != 0) {
            goto out;
        }
        g.st = sign__inflate_run(g.z, &g.in, &g.inlen, g.out, RAW_READ, &n);
        g.members += g.st == SIGN__INFLATE_END;
        if (n > 0 && (r = walk_chunk(t, s, uctx, g.out, n, ok)) != 0) {
            goto out;
        }
        if (g.st != SIGN__INFLATE_MORE && g.st != SIGN__INFLATE_END) {
            r = gzip_error(t, s, &g);
            *ok = 0;
            break;
        }
    }
    if (*ok && !t->stop && g.st != SIGN__INFLATE_END && r == 0) {
        finding(t, "tar-unreadable", SIGN_SEVERITY_DANGER, NULL,
                "%s: the gzip stream ends inside member %d: the blob is truncated", t->what, g.members + 1);
        *ok = 0;
    }
out:
    if (hashq_wait(s->hq, UINT64_MAX) != 0 && r == 0) {
        r = SIGN_ENOMEM;
    }
    sign__inflate_free(g.z);
    free(g.out);
    return r;
}

static int layer_walk(sign__layer *l, int fd, int stream, uint64_t off, uint64_t len, const char *what,
                      const sign_limits *lim, int keep_entries, sign__progress *pr, const sign__entry_hook *hook,
                      hashq *hq)
{
    rawsrc s;
    tarp t;
    sign_digest_ctx *uctx = NULL;
    size_t mdlen;
    int r, ok = 1;

    memset(&s, 0, sizeof(s));
    memset(&t, 0, sizeof(t));
    s.fd = fd;
    s.stream = stream;
    s.off = off;
    s.len = len;
    s.what = what;
    s.pr = pr;
    s.hq = hq;
    t.l = l;
    t.lim = lim;
    t.what = what;
    t.keep = keep_entries || hook != NULL;
    t.hook = hook;
    if ((s.buf = malloc(RAW_READ)) == NULL || (t.head = malloc(SIGN__SECRET_SCAN_MAX)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    if ((r = sign_digest_new(&s.ctx, SIGN_DIGEST_SHA256)) != 0 ||
        (r = sign_digest_new(&uctx, SIGN_DIGEST_SHA256)) != 0) {
        goto out;
    }
    r = is_gzip(&s) ? walk_gzip(&t, &s, uctx, &ok) : walk_libarchive(&t, &s, uctx, &ok);
    if (r != 0) {
        goto out;
    }
    if (ok && !t.stop && t.state != ST_END) {
        if (t.state == ST_HEADER && t.blen == 0 && t.nentries > 0 && t.zero_blocks == 0) {
            finding(&t, "tar-truncated", SIGN_SEVERITY_WARNING, NULL,
                    "%s: the tar has no end-of-archive marker (two zero blocks)", what);
        } else if (!(t.state == ST_HEADER && t.blen == 0)) {
            finding(&t, "tar-truncated", SIGN_SEVERITY_DANGER, NULL,
                    "%s: the tar stream ends inside an entry or header: the layer is truncated", what);
        }
    }
    if (t.nentries == 0 && ok && !t.stop) {
        finding(&t, "tar-empty", SIGN_SEVERITY_INFO, NULL, "%s: the layer has no entries", what);
    }
    if ((r = raw_drain(&s)) != 0 || (r = hashq_finish(hq)) != 0) {
        goto out;
    }
    if ((r = sign_digest_final(l->digest, sizeof(l->digest), &mdlen, s.ctx)) != 0) {
        goto out;
    }
    l->size = s.pos;
    if (ok && !t.stop) {
        if ((r = sign_digest_final(l->diff_id, sizeof(l->diff_id), &mdlen, uctx)) != 0) {
            goto out;
        }
        l->has_diff_id = 1;
    }
    if ((r = check_layer(&t)) != 0) {
        goto out;
    }
    r = 0;
out:
    if (hashq_finish(hq) != 0 && r == 0) {
        r = SIGN_ENOMEM;
    }
    ext_clear(&t);
    free(t.meta);
    free(t.head);
    sign_digest_free(t.ctx);
    sign_digest_free(s.ctx);
    sign_digest_free(uctx);
    free(s.buf);
    return r;
}

int sign__layer_walk(sign__layer *l, int fd, uint64_t off, uint64_t len, const char *what, const sign_limits *lim,
                     int keep_entries, sign__progress *pr)
{
    return layer_walk(l, fd, 0, off, len, what, lim, keep_entries, pr, NULL, NULL);
}

int sign__layer_walk_stream(sign__layer *l, int fd, uint64_t len, const char *what, const sign_limits *lim,
                            int keep_entries, sign__progress *pr)
{
    return layer_walk(l, fd, 1, 0, len, what, lim, keep_entries, pr, NULL, NULL);
}

/* The hook walk as two pool items: the first to start walks, the other hashes for it (hashq above). */
typedef struct hwalk {
    sign__layer *l;
    int fd;
    uint64_t off, len;
    const char *what;
    const sign_limits *lim;
    const sign__entry_hook *hook;
    hashq q;
    atomic_int started;
    int rc;
    char msg[1024];
} hwalk;

static void hwalk_item(void *arg, size_t i)
{
    hwalk *w = arg;

    (void)i;
    if (atomic_fetch_add(&w->started, 1) != 0) {
        hashq_help(&w->q);
        return;
    }
    w->rc = layer_walk(w->l, w->fd, 0, w->off, w->len, w->what, w->lim, 1, NULL, w->hook, &w->q);
    if (w->rc != 0) {
        snprintf(w->msg, sizeof(w->msg), "%s", sign_error_last()); /* this thread's: the caller's may differ */
    }
}

int sign__layer_walk_hook(sign__layer *l, int fd, uint64_t off, uint64_t len, const char *what,
                          const sign_limits *lim, const sign__entry_hook *hook)
{
    hwalk w = {.l = l, .fd = fd, .off = off, .len = len, .what = what, .lim = lim, .hook = hook};

    if (sign__pool_budget() < 2) {
        return layer_walk(l, fd, 0, off, len, what, lim, 1, NULL, hook, NULL);
    }
    atomic_init(&w.started, 0);
    if (pthread_mutex_init(&w.q.mu, NULL) != 0) {
        return sign__oom();
    }
    if (pthread_cond_init(&w.q.cv, NULL) != 0) {
        pthread_mutex_destroy(&w.q.mu);
        return sign__oom();
    }
    sign__pool_for(2, hwalk_item, &w);
    pthread_cond_destroy(&w.q.cv);
    pthread_mutex_destroy(&w.q.mu);
    return w.rc != 0 ? sign__error(w.rc, "%s", w.msg) : 0;
}

/* ---- detection and indexing of uncompressed tars ------------------------------------ */

static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;

    while (got < n) {
        ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return -1;
        }
        got += (size_t)k;
    }
    return 0;
}

void sign__tar_members_free(sign__tar_member *m, size_t n)
{
    for (size_t i = 0; m != NULL && i < n; i++) {
        free(m[i].name);
    }
    free(m);
}

/* A pax ('x') or GNU long name ('L') member of an uncompressed tar at off: into *x or *gname. */
static int index_meta(pax *x, char **gname, const hdr *h, int fd, uint64_t off, const char *path)
{
    unsigned char *m;
    int r;

    if (h->size > SIGN__TAR_META_MAX) {
        return sign__error(SIGN_ELIMIT, "%s: extended tar header too large at offset %llu", path,
                           (unsigned long long)off);
    }
    if ((m = malloc((size_t)h->size + 1)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (pread_full(fd, m, (size_t)h->size, off) != 0) {
        free(m);
        return sign__error(SIGN_EIO, "%s: read error at offset %llu", path, (unsigned long long)off);
    }
    m[h->size] = '\0';
    if (h->type == 'L') {
        free(*gname);
        *gname = strndup((char *)m, (size_t)h->size);
        r = *gname == NULL ? sign__error(SIGN_ENOMEM, "out of memory") : 0;
    } else {
        r = pax_parse(x, m, (size_t)h->size);
        r = r == -2 ? sign__error(SIGN_ENOMEM, "out of memory")
            : r != 0
                ? sign__error(SIGN_EPARSE, "%s: malformed pax header at offset %llu", path, (unsigned long long)off)
                : 0;
    }
    free(m);
    return r;
}

/* Append the member name (normalised) of header h, its data at off of dsize bytes, to *v. */
static int index_add(sign__tar_member **v, size_t *cnt, size_t *cap, const char *name, const hdr *h, uint64_t off,
                     uint64_t dsize)
{
    sign__tar_member *m;

    if (*cnt == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        sign__tar_member *nv = realloc(*v, nc * sizeof(*nv));

        if (nv == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        *v = nv;
        *cap = nc;
    }
    m = &(*v)[*cnt];
    if ((m->name = sign__path_norm(name)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    m->type = h->type;
    if (m->type == '\0') {
        m->type = '0';
    }
    m->off = off;
    m->size = h->type == '1' || h->type == '2' || h->type == '5' ? 0 : dsize;
    (*cnt)++;
    return 0;
}

int sign__tar_index(sign__tar_member **out, size_t *n, int fd, uint64_t size, const char *path,
                    const sign_limits *lim)
{
    sign__tar_member *v = NULL;
    size_t cnt = 0, cap = 0;
    uint64_t off = 0;
    unsigned char blk[512];
    char *gname = NULL;
    pax x;
    int r;

    *out = NULL;
    *n = 0;
    memset(&x, 0, sizeof(x));
    while (off + 512 <= size) {
        hdr h;
        uint64_t dsize;

        if (pread_full(fd, blk, 512, off) != 0) {
            r = sign__error(SIGN_EIO, "%s: read error at offset %llu", path, (unsigned long long)off);
            goto out;
        }
        if (all_zero(blk, 512)) {
            /* The end marker is two zero blocks: one, then a member, is read differently by tar readers. */
            if (off + 1024 <= size && pread_full(fd, blk, 512, off + 512) == 0 && !all_zero(blk, 512)) {
                r = sign__error(SIGN_EPARSE, "%s: a single zero block at offset %llu is followed by more data", path,
                                (unsigned long long)off);
                goto out;
            }
            break;
        }
        if (hdr_parse(&h, blk) != 0) {
            r = sign__error(SIGN_EPARSE, "%s: invalid tar header at offset %llu", path, (unsigned long long)off);
            goto out;
        }
        off += 512;
        if (x.has_size && !pax_size_agrees(x.size, h.size)) {
            r = sign__error(SIGN_EPARSE, "%s: at offset %llu the pax size and the tar header size differ", path,
                            (unsigned long long)off);
            goto out;
        }
        dsize = x.has_size ? x.size : h.size;
        if (dsize > size - off) {
            r = sign__error(SIGN_EPARSE, "%s: tar member at offset %llu runs past the end of the file", path,
                            (unsigned long long)off);
            goto out;
        }
        if (h.type == 'x' || h.type == 'L') {
            if ((r = index_meta(&x, &gname, &h, fd, off, path)) != 0) {
                goto out;
            }
            off += (h.size + 511) / 512 * 512;
            continue;
        }
        if (h.type != 'g') {
            if (cnt >= lim->archive_max_entries) {
                r = sign__error(SIGN_ELIMIT, "%s: more than %llu members", path,
                                (unsigned long long)lim->archive_max_entries);
                goto out;
            }
            if ((r = index_add(&v, &cnt, &cap,
                               x.path != NULL  ? x.path
                               : gname != NULL ? gname
                                               : h.name,
                               &h, off, dsize)) != 0) {
                goto out;
            }
        }
        pax_clear(&x);
        free(gname);
        gname = NULL;
        off += (dsize + 511) / 512 * 512;
    }
    *out = v;
    *n = cnt;
    v = NULL;
    cnt = 0;
    r = 0;
out:
    pax_clear(&x);
    free(gname);
    sign__tar_members_free(v, cnt);
    return r;
}

/*
 * A ustar or GNU magic in a block whose header does not parse: an attempt at
 * a tar (a lenient reader takes it), never a plain file.
 */
static int ustar_magic(const unsigned char *b)
{
    return memcmp(b + 257, "ustar\0", 6) == 0 || memcmp(b + 257, "ustar  \0", 8) == 0;
}

int sign__tar_detect(int *kind, int fd, uint64_t size, const char *path)
{
    unsigned char b[512];

    *kind = 0;
    if (size < 6) {
        return 0;
    }
    memset(b, 0, sizeof(b));
    if (pread_full(fd, b, size < 512 ? (size_t)size : 512, 0) != 0) {
        return sign__error(SIGN_EIO, "%s: cannot read: %s", path, strerror(errno));
    }
    return sign__tar_detect_head(kind, b, fd, size, path);
}

int sign__tar_detect_head(int *kind, const unsigned char *head, int fd, uint64_t size, const char *path)
{
    unsigned char b[512];
    hdr h;

    *kind = 0;
    if (size < 6) {
        return 0;
    }
    memset(b, 0, sizeof(b));
    memcpy(b, head, size < 512 ? (size_t)size : 512);
    if ((b[0] == 0x1f && b[1] == 0x8b) || (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) ||
        (b[0] == 0xfd && memcmp(b + 1, "7zXZ", 4) == 0) || (b[0] == 'B' && b[1] == 'Z' && b[2] == 'h')) {
        /* Compressed: a layer when the first decompressed block is a tar header. */
        rawsrc s;
        struct archive *ar;
        struct archive_entry *ae;
        unsigned char first[512];
        size_t got = 0;
        int r = 0;

        memset(&s, 0, sizeof(s));
        s.fd = fd;
        s.len = size < 4 * RAW_READ ? size : 4 * RAW_READ;
        s.what = path;
        if ((s.buf = malloc(RAW_READ)) == NULL || sign_digest_new(&s.ctx, SIGN_DIGEST_SHA256) != 0) {
            free(s.buf);
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        ar = open_filters(&s);
        if (ar != NULL && archive_read_next_header(ar, &ae) == ARCHIVE_OK) {
            while (got < 512) {
                const void *buf;
                size_t n;
                la_int64_t o;

                if (archive_read_data_block(ar, &buf, &n, &o) != ARCHIVE_OK) {
                    break;
                }
                n = n < 512 - got ? n : 512 - got;
                memcpy(first + got, buf, n);
                got += n;
            }
        }
        if (got == 512 && (hdr_parse(&h, first) == 0 || ustar_magic(first))) {
            *kind = 1;
        }
        if (ar == NULL) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
        } else {
            archive_read_free(ar);
        }
        sign_digest_free(s.ctx);
        free(s.buf);
        return r;
    }
    if (size < 512) {
        return 0;
    }
    if (hdr_parse(&h, b) != 0) {
        /* A tar whose first header is damaged (checksum, a non-octal digit): a layer, which the walk refuses. */
        *kind = ustar_magic(b) ? 1 : 0;
        return 0;
    }
    *kind = 1;
    {
        /* An uncompressed tar: a docker save archive when it holds manifest.json or oci-layout at the top. */
        sign_limits idx_lim;
        sign__tar_member *m = NULL;
        size_t n = 0;

        sign_limits_default(&idx_lim);
        int ir = sign__tar_index(&m, &n, fd, size, path, &idx_lim);

        if (ir == SIGN_ENOMEM) {
            return ir; /* not a verdict on the archive: a docker save archive must not turn into a layer */
        }
        if (ir != 0) {
            sign__error_clear();
            return 0;
        }
        for (size_t i = 0; i < n; i++) {
            if (m[i].type == '0' &&
                (strcmp(m[i].name, "manifest.json") == 0 || strcmp(m[i].name, "oci-layout") == 0)) {
                *kind = 2;
            }
        }
        sign__tar_members_free(m, n);
    }
    return 0;
}
