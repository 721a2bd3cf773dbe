/*
 * Fuzz target: deploy's extraction (libsign/deploy/extract.c). The input is
 * scanned as the signer would (its entries become the "signed manifest"),
 * then extracted through the walkers' entry hook into a throw-away
 * directory, root/, inside a sentinel directory, box/. Whatever the bytes:
 * nothing may appear in box/ beside root/ (nothing written outside the
 * tree), the extraction either succeeds or fails with a known code, and a
 * successful one wrote only entries of the manifest. A docker save archive
 * (one image) is extracted layer by layer, each layer's own entries signed,
 * with whiteouts and opaque directories applied.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy_int.h"
#include "fuzz.h"

static char *input_path, *box_path;

static void free_paths(void)
{
    free(input_path);
    free(box_path);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp((*(const sign_entry *const *)a)->path, (*(const sign_entry *const *)b)->path);
}

/* box/ holds root/ only. */
static void check_box(int boxfd)
{
    int fd = dup(boxfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;

    if (d == NULL) {
        fuzz_fail("cannot read the sentinel directory");
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && strcmp(de->d_name, "root") != 0) {
            fuzz_fail("extraction wrote %s outside its root", de->d_name);
        }
    }
    closedir(d);
}

/* The entries of layer j of image 0 (SIZE_MAX: the artifact's own), sorted, into l. */
static void capture(vclayer *l, const sign_artifact *a, size_t j)
{
    sign_layer_info li;
    size_t n = j == SIZE_MAX                            ? sign_artifact_entry_count(a)
               : sign_artifact_layer(&li, a, 0, j) == 0 ? li.entry_count
                                                        : 0;
    const sign_entry **v = calloc(n + 1, sizeof(*v));
    vcapture one;

    memset(&one, 0, sizeof(one));
    if (v == NULL) {
        fuzz_fail("out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = j == SIZE_MAX ? sign_artifact_entry(a, i) : sign_artifact_layer_entry(a, 0, j, i);
    }
    qsort(v, n, sizeof(*v), cmp_entry);
    if (vfy_capture_entries(&one, v, n) != 0) {
        fuzz_fail("capture: %s", sign_error_last());
    }
    free(v);
    l->v = one.v;
    l->n = one.n;
}

static void extract(sign_artifact *a, int fd, const sign_limits *lim)
{
    vcapture cap;
    vclayer top;
    sign_image_info im;
    dfail why;
    char subject[65];
    dsrc src = {fd, "fuzz", NULL, subject};
    int boxfd, rootfd, r;

    memset(&cap, 0, sizeof(cap));
    memset(&why, 0, sizeof(why));
    sign_hex_encode(subject, sizeof(subject), sign_artifact_sha256(a), 32);
    capture(&top, a, SIZE_MAX);
    cap.v = top.v;
    cap.n = top.n;
    cap.set = 1;
    if (sign_artifact_get_kind(a) == SIGN_ARTIFACT_DOCKER && sign_artifact_image(&im, a, 0) == 0) {
        if ((cap.layers = calloc(im.layer_count + 1, sizeof(*cap.layers))) == NULL) {
            fuzz_fail("out of memory");
        }
        cap.nlayers = im.layer_count;
        cap.image = 1;
        for (size_t j = 0; j < im.layer_count; j++) {
            capture(&cap.layers[j], a, j);
        }
    }
    (void)mkdir(box_path, 0700);
    if ((boxfd = open(box_path, O_RDONLY | O_DIRECTORY)) < 0) {
        fuzz_fail("sentinel directory");
    }
    (void)dpl_remove_tree(boxfd, "root");
    if (mkdirat(boxfd, "root", 0700) != 0 || (rootfd = openat(boxfd, "root", O_RDONLY | O_DIRECTORY)) < 0) {
        fuzz_fail("throw-away directory");
    }
    r = dpl_extract(&src, rootfd, &cap, 0, lim, &why);
    if (r != 0) {
        fuzz_check_error(r, "dpl_extract");
        if (why.reason == NULL) {
            fuzz_fail("a failed extraction gives no reason");
        }
    }
    close(rootfd);
    check_box(boxfd);
    if (dpl_remove_tree(boxfd, "root") != 0) {
        fuzz_fail("cannot remove the throw-away directory: %s", sign_error_last());
    }
    close(boxfd);
    vfy_capture_free(&cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_artifact_options ao = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *a = NULL;
    sign_limits lim;
    int fd, r;

    if (input_path == NULL) {
        input_path = fuzz_path("input");
        box_path = fuzz_path("box");
        atexit(free_paths);
    }
    fuzz_write_file("input", data, size);
    fuzz_limits(&lim);
    ao.limits = &lim;
    if ((r = sign_artifact_scan(&a, input_path, "fuzz.zip", &ao)) != 0) {
        fuzz_check_error(r, "sign_artifact_scan");
        return 0;
    }
    if (sign_artifact_get_kind(a) == SIGN_ARTIFACT_ZIP || sign_artifact_get_kind(a) == SIGN_ARTIFACT_LAYER ||
        (sign_artifact_get_kind(a) == SIGN_ARTIFACT_DOCKER && sign_artifact_image_count(a) == 1 &&
         sign_artifact_problem_count(a) == 0)) {
        if ((fd = open(input_path, O_RDONLY)) < 0) {
            fuzz_fail("reopen the input");
        }
        extract(a, fd, &lim);
        close(fd);
    }
    sign_artifact_free(a);
    return 0;
}
