/* Private to libsign/verify/: the result object, one bundle and one verify run. */
#ifndef SIGN_VERIFY_INTERNAL_H
#define SIGN_VERIFY_INTERNAL_H

#include <pthread.h>

#include "artifact_int.h"
#include "formats.h"
#include "sign/revocation.h"
#include "sign/verify.h"
#include "path.h"
#include "sign/x509.h"
#include "text.h"

/* Entry mismatches reported one by one before they are summarised. */
#define VERIFY_MAX_ENTRY_CHECKS 1000
/* How far a trusted signing time may be ahead of this host's clock (verifying at now, not --at). */
#define VERIFY_CLOCK_SKEW 300

typedef struct vr_artifact {
    char *name;
    char *path;
    int has_digest;
    char sha256[2 * SIGN_SHA256_LEN + 1];
    int verified;
    char **signers; /* policy key names counted for the threshold */
    size_t nsigners;
    int has_signing_time; /* a counted bundle has a trusted signing time */
    int64_t signing_time; /* the earliest of them */
    const char **reasons; /* distinct reasons of its failed or warned checks (the checks own the strings) */
    char **key_ids;       /* the key id of each signer (signing key's, also for a certificate) */
    size_t nreasons;
} vr_artifact;

/* Structured facts of one check (the JSON verdict's "facts"), each NULL when not known. */
typedef struct vfacts {
    char *key_id;          /* the signing key's id */
    char *subject;         /* the certificate's subject DN */
    char *expected_sha256; /* the signed digest */
    char *actual_sha256;   /* the artifact's digest */
    char *time;            /* a timestamp's genTime, RFC 3339 */
} vfacts;

struct sign_verify_result {
    sign_policy_mode mode;
    int code;
    int ok;
    sign_check *checks;
    size_t nchecks, capchecks;
    vr_artifact *artifacts;
    size_t nartifacts;
    size_t decisive; /* index of the check that decided the code, or SIZE_MAX */
    int64_t at;      /* the time judged */
    vfacts *facts;   /* one per check, same index (capchecks of them) */
    unsigned char policy_sha256[SIGN_SHA256_LEN];
};

/*
 * The signed entries of one record of a statement, read out of its JSON and sorted by path. The bundle
 * jobs prepare them (vfy_entries_prepare) while the artifacts are still being walked, so that the entries
 * check after the walk is the sorted merge alone. Prepared, they are the compact form: their strings are
 * copied into text, and the statement's JSON entries are dropped on the bundle's thread (about 150 bytes an
 * entry instead of 1.2 KiB, and their freeing off the end of the verify).
 */
typedef struct vsigned {
    sign_entry *sent;         /* strings in text (compact form), else owned by the statement */
    const sign_entry **signd; /* sorted by path */
    char *text;               /* the compact form's paths and link targets, or NULL */
    size_t n;
    size_t recorded;   /* the record's entry count in the statement, read before its entries were dropped */
    size_t unreadable; /* SIZE_MAX, or the first entry that cannot be read */
    char *msg;         /* then why */
    char *dup;         /* a path recorded twice (exactly or after normalisation), or NULL */
    int ready;         /* read (the fields above are set) */
} vsigned;

/*
 * The signed entries of layer j of image k of record idx, prepared: only their count and the SHA-256 of their
 * sorted canonical form (entries_digest), so that a bundle's layers cost 40 bytes each once the statement's
 * JSON entries are dropped (six bundles of an image of 15,000 entries would otherwise keep six copies).
 */
typedef struct vlayer {
    size_t idx, k, j;
    size_t n;
    int unreadable; /* the record's entries could not be read: the check reads and reports them */
    unsigned char digest[SIGN_SHA256_LEN];
} vlayer;

/* One bundle being verified. */
typedef struct vb {
    const char *path;
    char *owned_path;         /* the default "<artifact>.sigstore.json" */
    const char *for_artifact; /* artifact name when this is its default bundle, else NULL */
    sign_bundle *bundle;
    sign_statement *st;       /* parsed from the verified payload, or NULL */
    size_t key;               /* index of the policy key whose signature verified */
    int usable;               /* signature verified by a policy key and statement parsed */
    int in_window;            /* that key is within its validity window */
    int used;                 /* covers (or name-matches) one of the given artifacts */
    int message;              /* a messageSignature bundle: its statement stands for its digest (issue 19) */
    int wide;                 /* 2: a subject lists sha384, 4: sha512 (the artifact's are computed to compare them) */
    int nosha256;             /* a subject lists no sha256: a candidate of every artifact (not in the index) */
    int has_signing_time;     /* a trusted RFC 3161 time was proven (timestamp check) */
    int64_t signing_time;     /* that time: the earliest verified genTime */
    int64_t signing_accuracy; /* its token's accuracy (s): the signature was made in signing_time +- this */
    int has_tlog_time;        /* a transparency-log entry's SET verified (tlog.c) */
    int64_t tlog_time;        /* its integrated time: the signing time when no RFC 3161 timestamp gives one */
    /* The signer, whether a policy key or a certificate under a policy root. */
    const char *signer;      /* policy key name or the leaf's subject DN */
    const char *signer_kind; /* "policy key" or "certificate" */
    char *const *globs;      /* artifact globs of the key or of the root */
    size_t nglobs;
    char *const *ptypes; /* predicate types of the key or of the root */
    size_t nptypes;
    char signer_id[SIGN_KEYID_SIZE]; /* counted once for the threshold: key id of the signing key */
    sign_x509_certs *certs;          /* the bundle's leaf (and chain) */
    sign_key *cert_key;              /* the leaf's public key */
    char subject[512];               /* the leaf's subject DN */
    vsigned *pre;                    /* per record of st: its signed entries, when prepared (or NULL) */
    size_t npre;
    vlayer *prel; /* the records' layers' signed entries, when prepared (or NULL) */
    size_t nprel;
    int dropped; /* the statement's JSON entries were dropped once prepared */
    /* With sharing: the signed payload it parses for the other bundles of the same bytes (vshare; in bundle's
       envelope, kept to the run's end). */
    const unsigned char *payload;
    size_t payload_len;
    int borrowed; /* st (a reference), pre and prel are another bundle's of the same payload bytes: not freed */
    int sharing;  /* parses for the others of its payload bytes: vfy_share_publish must be called once it is done */
} vb;

/*
 * Bundles of one verify that sign the same payload bytes (several signers of one statement, the design's
 * threshold case): the first to reach its statement parses and prepares it, and a bundle whose payload is
 * byte-for-byte the same takes a reference to that statement and borrows its prepared entries instead of parsing
 * and reading them again (vfy_share_take; one arriving while the first is still parsing waits for it). Only the
 * parse is shared: each bundle's signature, signer and policy are checked on their own, and every bundle's record
 * is compared with the artifacts as before.
 */
typedef struct vshared {
    const vb *owner; /* its payload is the key; its statement and prepared entries are borrowed once ready */
    int state;       /* VSHARE_PARSING, _READY, or _FAILED (no statement: the others parse their own) */
    uint64_t key;    /* share_key of the payload: bytes are compared only when keys agree */
} vshared;

typedef struct vshare {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a parse ended (state no longer VSHARE_PARSING) */
    vshared *v;        /* one per distinct payload, in the order first reached */
    size_t n, cap;
} vshare;

/* The layers of one artifact as read, each sorted and digested once for all the bundles judged against it. */
typedef struct vlfound {
    size_t k, j, n;
    unsigned char digest[SIGN_SHA256_LEN];
} vlfound;

typedef struct vlcache {
    const void *artifact; /* whose layers (the run's artifacts live to its end), or NULL */
    vlfound *v;
    size_t n;
} vlcache;

/* Deploy: the signed entries of one layer of an image, sorted by path; strings malloc'd. */
typedef struct vclayer {
    sign_entry *v;
    size_t n;
} vclayer;

/* Deploy: the signed entries of the artifact, copied from the first statement whose entries check passed. */
typedef struct vcapture {
    sign_entry *v; /* sorted by path; strings malloc'd */
    size_t n;
    int set;
    /* An image (one, its layers matching the statement's): each layer's signed entries, in layer order. */
    vclayer *layers;
    size_t nlayers;
    int image;
    /* In: an OCI layout that deploy extracts in one walk, its layers not read here (SIGN__ARTIFACT_LAYERS_UNREAD). */
    int layers_unread;
    /*
     * In: a zip that deploy extracts in one walk: its entries are not read here (SIGN_ARTIFACT_NO_ENTRIES), the
     * signed ones are captured without comparing, and its findings are left to the extraction walk. Out: differ,
     * two signers' records of the entries (or of an image's layers' entries) are not the same, or the artifact was
     * not read as a zip (deploy then verifies with the entries read).
     */
    int entries_unread;
    int differ;
} vcapture;

typedef struct vctx {
    struct vcapture *capture; /* deploy (vfy_verify_fd_capture), or NULL */
    const sign_policy *policy;
    const sign_verify_options *opts;
    const sign_limits *limits; /* &limits_buf: the caller's with defaults filled in */
    sign_limits limits_buf;
    sign_verify_result *res;
    int has_at; /* judging at a time the caller gave (SIGN_VERIFY_AT or at != 0), not now */
    int64_t at;
    int entries;
    const char *tree;            /* --tree DIR, or NULL */
    int fetch_crl;               /* SIGN_VERIFY_FETCH_CRL (options version 3) */
    const char *crl_cache_dir;   /* with fetch_crl */
    unsigned int crl_timeout_ms; /* with fetch_crl */
    const char *git_dir;         /* verify --git DIR (options version 4), or NULL */
    const char *log_dir;         /* verify --log DIR (options version 4), or NULL */
    /* ---- revocation lists and downgrade protection (issue 15, revocation_checks.c) ---- */
    struct vrev *rev;                 /* the policy's lists, loaded before the bundles are checked (then only read) */
    const char *state_dir;            /* NULL: no state (also with --at) */
    int allow_downgrade;              /* SIGN_VERIFY_ALLOW_DOWNGRADE */
    int fetch;                        /* SIGN_VERIFY_FETCH_REVOCATION */
    const char *revocation_cache_dir; /* with fetch: fetched lists, or NULL */
    vshare *share;                    /* the run's statements shared by payload bytes, or NULL */
    vlcache *lcache;                  /* the run's layer digests (run_match, one thread), or NULL */
} vctx;

/*
 * Which bundles can concern an artifact: those with a subject of its digest, or a subject
 * whose last name component is the artifact's (vfy_names_match implies it). Looking them up in
 * two sorted arrays keeps one verify over N artifacts and N bundles at N log N instead of
 * N * N subject comparisons; the candidates are visited in bundle order, as before.
 */
typedef struct subj_ix {
    const unsigned char *dig;
    const char *base;
    size_t bi;
} subj_ix;

typedef struct vindex {
    subj_ix *by_dig, *by_base;
    size_t n;
    size_t *cand;
    size_t *always; /* bundles with a subject without sha256 (nosha256): candidates of every artifact */
    size_t nalways;
} vindex;

/* Shared between the files of libsign/verify/ (the vfy_ prefix; none is exported). */
/* Where a check applies: artifact name, bundle path and signer, each NULL when not known. */
typedef struct vwhere {
    const char *artifact;
    const char *bundle;
    const char *signer;
} vwhere;

/* Structured facts of the check just added, by name: vfy_check_facts(c, (vfact_in){.key_id = id}). */
typedef struct vfact_in {
    const char *key_id;
    const char *subject;
    const char *expected_sha256;
    const char *actual_sha256;
    const char *time;
} vfact_in;

/* Record one check. Returns 0 or SIGN_ENOMEM. */
int vfy_add_check(vctx *c, const char *check, sign_check_status status, const char *reason, int code, vwhere w,
                  const char *fmt, ...) SIGN_PRINTF(7, 8);
/* Attach f to the last check recorded (the JSON verdict's "facts"). Returns 0 or SIGN_ENOMEM. */
int vfy_check_facts(vctx *c, vfact_in in);
int vfy_class_rank(int code);
/*
 * The bundle's transparency-log entries (tlog.c), after its signature verified: each must record this
 * signature and signer; with the policy's trusted root, its proof, checkpoint and SET must verify under the
 * log's key (TLOG_INVALID otherwise), and a verified SET's integrated time becomes the trusted signing time.
 * require.tlog counts the entries verified (TLOG_MISSING). *go_on is 0 after a failure.
 */
int vfy_tlog(vctx *c, vb *b, const sign_envelope *env, int *go_on);
void vfy_mark_bundle_failures(sign_verify_result *res);
void vfy_decide(sign_verify_result *res, int enforce);
/* After vfy_decide: each artifact's reasons (sign_verify_result_artifact_reason). Returns 0 or SIGN_ENOMEM. */
int vfy_artifact_reasons(sign_verify_result *res);
int vfy_move_checks(sign_verify_result *dst, sign_verify_result *src);
int vfy_bundle(vctx *c, vb *b);
/* With c->entries: every record's signed entries of b's statement, read and sorted now (b->pre). Never fails:
   what cannot be prepared is read again by the entries check, which reports it. With drop (the statement is
   b's alone), once every record is prepared the statement's JSON entries are freed (nothing else reads them). */
void vfy_entries_prepare(vb *b, int drop);
void vfy_entries_release(vb *b);
/* The layer digests of c->lcache, freed. */
void vfy_layer_cache_free(vlcache *lc);
/* vshare: set up, freed; b's statement taken from the bundle of the same payload bytes that parsed it (1; waiting
   while it parses), or b to parse it for the others (0); once b is done (parsed and prepared, or not), publish
   says so to those waiting. */
int vfy_share_init(vshare *sh);
void vfy_share_free(vshare *sh);
int vfy_share_take(vctx *c, vb *b, const unsigned char *payload, size_t len);
void vfy_share_publish(vctx *c, vb *b);
/* How many bundles took another bundle's parse since the process started (tests). */
size_t sign__verify_shared_parses(void);
/*
 * The statement of a signed payload (sign_statement_parse; its entries dropped unless c->entries). With
 * SIGN_VERIFY_SHARE_STATEMENTS, one parsed before from the same bytes under the same limits when there is one
 * (statement_cache.c). The caller owns a reference either way (sign_statement_free).
 */
int vfy_statement_parse(sign_statement **out, const vctx *c, const unsigned char *payload, size_t len);
/* The recorded source against require.source and verify --git (source_checks.c). */
int vfy_source(vctx *c, vb *b);
/* The bundle is in the signing log (verify --log DIR, require.logged). */
int vfy_logged(vctx *c, vb *b);
int vfy_image_problems(vctx *c, const sign_artifact *a);
void vfy_index_free(vindex *ix);
int vfy_index_build(vindex *ix, const vb *bundles, size_t nb);
size_t vfy_index_candidates(vindex *ix, const unsigned char *dig, const char *art);
int vfy_artifact(vctx *c, const sign_artifact *a, vr_artifact *ra, vb *bundles, const size_t *cand, size_t ncand);
int vfy_names_match(const char *subject, const char *artifact);
int vfy_keyid_eq(const char *a, const char *b);
size_t vfy_find_key(const sign_policy *p, const char *keyid);
void vfy_hex32(char out[2 * SIGN_SHA256_LEN + 1], const unsigned char *d);
void vfy_globs_text(char *out, size_t outsize, const vb *k);
int vfy_key_allows(const vb *k, const char *name);
int vfy_key_allows_path(const vb *k, const char *path);

/* ---- revocation lists and downgrade protection (issue 15, revocation_checks.c) ---- */
typedef struct vrev_list {
    const sign__policy_revocation *pol;
    sign_revocation_list *list; /* authenticated by one of its authorities, or NULL */
    void *map;                  /* the cache file list is read from (vfy_revocation_cache_load), or NULL */
    size_t maplen;
} vrev_list;

/* A version to record once the verify passed. */
typedef struct vrev_version {
    const char *track, *version; /* borrowed from the policy, the artifact or the statement */
    char hex[2 * SIGN_SHA256_LEN + 1];
} vrev_version;

typedef struct vrev {
    vrev_list *lists;
    size_t n;
    vrev_version *pending;
    size_t npending;
    int failed; /* a list check failed: no artifact is verified */
} vrev;

/*
 * The cache of verified lists in the state directory (revocation_cache.c). _stat: the list file's identity,
 * -1 when it is not a regular file or changed too recently to be cached; _same: two identities are equal;
 * _load: the cached list of pol at path when every condition holds (*out NULL on a miss; 0 or SIGN_ENOMEM), read
 * in place from the mapped cache file (*map, *maplen: keep it until the list is freed);
 * _store: keep l (authenticated by authority `which`, payload SHA-256 sha, file identity st) for later verifies.
 */
struct stat;
int vfy_revocation_cache_stat(struct stat *st, const char *path);
int vfy_revocation_cache_same(const struct stat *a, const struct stat *b);
int vfy_revocation_cache_load(vctx *c, const sign__policy_revocation *pol, const char *path,
                              sign_revocation_list **out, unsigned char sha[32], size_t *which, void **map,
                              size_t *maplen);
/* Unmap what _load mapped (after freeing the list read from it). */
void vfy_revocation_cache_unmap(void *map, size_t len);
int vfy_revocation_cache_store(const vctx *c, const sign__policy_revocation *pol, const char *path,
                               const struct stat *st, const sign_revocation_list *l, const unsigned char sha[32],
                               size_t which);
/* Load, authenticate and judge every list of the policy (freshness, rollback against the state), before the
   bundles are checked: *rv is then read by every bundle's thread. */
int vfy_revocation_lists(vctx *c, vrev *rv);
/* The bundle's signing key against the lists (after timestamps and validity). */
int vfy_revocation_key(vctx *c, vb *b);
/* The artifact's digest against the lists, and its signed version against the highest verified before. */
int vfy_revocation_artifact(vctx *c, const sign_artifact *a, vr_artifact *ra, const vb *bundles, const size_t *cand,
                            size_t ncand);
/* After the decision: record the versions of the artifacts verified (state directory). */
int vfy_revocation_record(vctx *c);
void vfy_revocation_free(vrev *rv);

/* ---- deploy (capture.c) ---- */
/* Copy the n signed entries (sorted by path) into cap unless it holds some already. 0 or SIGN_ENOMEM. */
int vfy_capture_entries(vcapture *cap, const sign_entry *const *signd, size_t n);
/* 1 when a is a zip whose entries deploy checks as it extracts them (vcapture.entries_unread): not walked here. */
int vfy_entries_unread(const vctx *c, const sign_artifact *a);
void vfy_capture_free(vcapture *cap);
/* The signed entries of each of the nlayers layers of image 0 of record idx of st, unless captured already. */
int vfy_capture_layers(vcapture *cap, const sign_statement *st, size_t idx, size_t nlayers);
/*
 * Record a failed check (deploy's own, after the verify ran) in res and decide again as in enforce mode:
 * deploy never lets a failure through. Returns the new code (a SIGN_E* class), or SIGN_ENOMEM.
 */
int vfy_result_fail(sign_verify_result *res, const char *check, const char *reason, int code, const char *artifact,
                    const char *message);
/* sign_verify_fd of a regular file, capturing the signed entries of the artifact when they verify. */
int vfy_verify_fd_capture(sign_verify_result **out, const sign_policy *policy, const sign_verify_options *opts,
                          int fd, const char *name, vcapture *cap);

#endif
