/* signet audit: the store walk, one record per artifact, and the reports (cmd_audit.c, audit_walk.c,
   audit_report.c). */
#ifndef SIGNET_AUDIT_H
#define SIGNET_AUDIT_H

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "sign/sign.h"

/* What the walk found. */
typedef enum { ITEM_ARTIFACT, ITEM_ORPHAN, ITEM_UNREADABLE } item_kind;

typedef struct audit_item {
    item_kind kind;
    char path[4096]; /* as opened */
    char rel[4096];  /* relative to its store: the name in reports and bundles/ */
    char why[256];   /* ITEM_UNREADABLE */
    int bundle_seen; /* the walk read NAME.sigstore.json beside it, a regular file: no access() to look for it */
} audit_item;

#define WALK_MAX_DEPTH 64

/* An iterative walk of one store directory (no symlink followed), or of a list of paths. */
/* Entries of one directory, read ahead and sorted by name: records "<d_type byte><name>\0" packed in names. */
typedef struct walk_batch {
    char *names;
    size_t used, cap; /* bytes of names */
    uint32_t *order;  /* offsets of the records in names, sorted by name */
    size_t n, next, ocap;
    int at_end; /* the directory stream has no more entries */
} walk_batch;

typedef struct audit_walk {
    const char *const *stores;
    size_t nstores, store;
    const char *cur_root; /* the store being walked */
    const char *bundles;  /* --bundles DIR, or NULL: bundles beside the artifacts */
    FILE *list;           /* --from-list, or NULL */
    int in_bundles;       /* walking --bundles DIR for orphans */
    DIR *dirs[WALK_MAX_DEPTH];
    walk_batch batch[WALK_MAX_DEPTH]; /* each directory's entries, read in batches and sorted (audit_walk.c) */
    char dirpath[WALK_MAX_DEPTH][4096];
    size_t depth;
    unsigned shard_k, shard_n; /* n == 0: no sharding */
} audit_walk;

int audit_walk_init(audit_walk *w, const char *const *stores, size_t nstores, const char *bundles, FILE *list,
                    unsigned k, unsigned n);
/* The next item; 1 when there is one, 0 at the end. */
int audit_walk_next(audit_walk *w, audit_item *it);
void audit_walk_close(audit_walk *w);
/* The bundle path of an artifact: --bundles DIR/REL.sigstore.json, else PATH.sigstore.json. */
void audit_bundle_path(char *out, size_t size, const audit_walk *w, const audit_item *it);

/* One artifact's verdict. */
typedef struct audit_record {
    char *path;
    uint64_t size;
    char sha256[65];
    sign_audit_class cls;
    char reasons[512];
    char signers[512];
    int64_t signing_time;
    char warnings[512]; /* look-ahead: why it will not verify at the horizon */
    sign_audit_class future;
    char *message; /* the first failed check's message */
} audit_record;

void audit_record_free(audit_record *r);
/* The record as one JSON object (one line, no newline), malloc'd. */
char *audit_record_json(const audit_record *r);
/* Parse one record line of a JSON report (audit merge). */
int audit_record_parse(audit_record *r, const char *line);

/*
 * The records a text or HTML report lists at the end, spooled (audit_spool.c): sorted runs of at most
 * run_max bytes in memory, the full ones in an unlinked temporary file, read back merged in path order.
 */
#define AUDIT_SPOOL_RUN_MAX (1u << 20)

struct spool_run;

typedef struct audit_spool {
    unsigned char *buf; /* the run in memory: packed records */
    size_t used, cap, nmem, run_max;
    const unsigned char **sorted; /* the run in memory in path order (rewind without a file) */
    int fd;                       /* the temporary file, -1 until a run is written */
    uint64_t fsize, count;        /* count: every record added */
    struct spool_run *runs;
    size_t nruns;
    size_t *heap, nheap, next; /* reading: runs by their next record's path; next in memory */
    const unsigned char **head;
    unsigned char *cur; /* the record returned last (a run's buffer moves on) */
    size_t curcap;
} audit_spool;

/* run_max 0: AUDIT_SPOOL_RUN_MAX. */
void audit_spool_init(audit_spool *s, size_t run_max);
/* A copy of r; 0, or -1 (out of memory, or the temporary file cannot be written). */
int audit_spool_add(audit_spool *s, const audit_record *r);
/* Done adding: the records are read from now on, in path order. 0 or -1. */
int audit_spool_rewind(audit_spool *s);
/* The next record (its strings valid until the next call): 1, 0 at the end, -1 on a read error. */
int audit_spool_next(audit_spool *s, audit_record *out);
void audit_spool_free(audit_spool *s);

/* What a report needs besides the records. */
typedef struct audit_summary {
    uint64_t counts[SIGN_AUDIT_NCLASSES];
    uint64_t total, warned;
    char policy_sha256[65];
    char judged[32]; /* the time judged */
    int at_given;    /* --at: judged as of another time than now */
    char horizon[32];
    double seconds;
} audit_summary;

char *audit_summary_json(const audit_summary *s);
int audit_summary_parse(audit_summary *s, const char *line);
/* The text report: a summary table and one line per record that is not verified (bad, rewound: in path
   order, whatever order the threads finished in). 0, or -1 when the spool cannot be read back. */
int audit_write_text(FILE *f, const audit_summary *s, audit_spool *bad);
/* The HTML report: one self-contained page. 0 or -1. */
int audit_write_html(FILE *f, const audit_summary *s, audit_spool *bad, audit_spool *warned);

/*
 * audit docker://HOST/REPO[:TAG|@DIGEST] (audit_registry.c): the registry as the walk's source. Every tag
 * (or the one reference) resolved once, each digest once; the pinned references are the list the walk reads
 * (list), the bundles attached to them are fetched under dir, laid out as --bundles DIR expects.
 */
/* At most this many bundles attached to one image are read and judged (more: REFERRERS_TOO_MANY). */
#define AUDIT_REGISTRY_MAX_BUNDLES 64

/* What was attached to one image: nbundles fetched (written as REL.sigstore.json, the newest, then
   REL.sigstore.json.1 ... older), invalid referrers skipped (REFERRER_INVALID), or too many to read. */
typedef struct audit_attached {
    size_t nbundles, invalid;
    int too_many;
} audit_attached;

typedef struct audit_registry {
    char dir[4200];           /* a private mkdtemp directory, removed by audit_registry_close */
    FILE *list;               /* the pinned references, one per line */
    char **seen;              /* the digests listed */
    audit_attached *attached; /* per seen digest */
    size_t nseen, cap;        /* cap: the length of seen and attached */
    size_t *slots;            /* open addressing over seen: index + 1, 0 free; nslots a power of two */
    size_t nslots;
    int insecure; /* --tls-verify=false */
} audit_registry;

/* Resolve and fetch (progress and errors said); 0, or the exit status. */
int audit_registry_prepare(audit_registry *g, char *const *refs, size_t n, int insecure);
/* 1 when a walk item is an image in a registry. */
int audit_registry_is(const char *path);
/* 1 when it is a tag that was listed but gone when it was resolved (reported TAG_VANISHED). */
int audit_registry_vanished(const char *path);
/* What was attached to the pinned reference path (an item of the list), or NULL. */
const audit_attached *audit_registry_attached(const audit_registry *g, const char *path);
void audit_registry_close(audit_registry *g);

#endif
