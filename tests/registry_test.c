/*
 * Images in a registry (issue 21): references, the challenge and
 * credentials parsers, the client against a fake registry and token server
 * (tests/registry_fake.py: bearer tokens, retries, redirects, a slow
 * server), and sign/verify by reference against Debian's docker-registry
 * (CNCF distribution 2.8, no referrers API: the tag schema fallback), started
 * here on 127.0.0.1 with an ephemeral port and stopped by PID.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "formats.h"
#include "regclient.h"
#include "sign/sign.h"
#include "testutil.h"
#include "util.h"

static char *rg_dir;
static char *rg_out, *rg_err;
static char rg_paths[32][512];
static size_t rg_np;
static pid_t rg_pids[4];
static size_t rg_npids;
static char rg_env_home[600], rg_env_auth[600], rg_env_xdg[600];
/* More YAML under the registry's http: section (its tls: block), or "". */
static char rg_http_extra[1200];

static const char *rp(const char *name)
{
    cr_assert_lt(rg_np, 32);
    snprintf(rg_paths[rg_np], sizeof(rg_paths[0]), "%s/%s", rg_dir, name);
    return rg_paths[rg_np++];
}

static void rg_setup(void)
{
    rg_dir = tu_mkdtemp();
    rg_np = 0;
    rg_npids = 0;
    rg_http_extra[0] = '\0';
    snprintf(rg_env_home, sizeof(rg_env_home), "HOME=%s", rg_dir);
    snprintf(rg_env_auth, sizeof(rg_env_auth), "REGISTRY_AUTH_FILE=%s/auth.json", rg_dir);
    snprintf(rg_env_xdg, sizeof(rg_env_xdg), "XDG_RUNTIME_DIR=%s/xdg", rg_dir);
}

static void rg_teardown(void)
{
    for (size_t i = 0; i < rg_npids; i++) {
        kill(rg_pids[i], SIGTERM);
        waitpid(rg_pids[i], NULL, 0);
    }
    free(rg_out);
    free(rg_err);
    rg_out = rg_err = NULL;
    tu_rmtree(rg_dir);
    free(rg_dir);
}

/* Run argv with HOME, REGISTRY_AUTH_FILE and XDG_RUNTIME_DIR inside the test's directory. */
static int rg_run(const char *arg0, ...)
{
    const char *argv[64], *env[] = {rg_env_home, rg_env_auth, rg_env_xdg, NULL};
    size_t n = 0;
    va_list ap;

    free(rg_out);
    free(rg_err);
    rg_out = rg_err = NULL;
    argv[n++] = arg0;
    va_start(ap, arg0);
    while ((argv[n] = va_arg(ap, const char *)) != NULL) {
        n++;
        cr_assert_lt(n, 63);
    }
    va_end(ap);
    return tu_run(&rg_out, &rg_err, env, argv);
}

#define SIGNET(...) rg_run("signet", __VA_ARGS__, (const char *)NULL)

static int rg_sh(const char *fmt, ...)
{
    char script[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(script, sizeof(script), fmt, ap);
    va_end(ap);
    return rg_run("/bin/sh", "-c", script, (const char *)NULL);
}

static void rg_need(const char *tool, const char *pkg)
{
    if (rg_sh("command -v %s >/dev/null", tool) != 0) {
        cr_assert_fail("%s is missing: install the Debian package %s (run .ci/deps test as root)", tool, pkg);
    }
}

/* An OCI layout dir/img with img:v1 (two layers) and img:v2 (one more), a key and a policy. */
static void rg_build(void)
{
    rg_need("umoci", "umoci");
    cr_assert_eq(rg_sh("set -e; cd '%s'; umoci init --layout img; umoci new --image img:v1;"
                       "umoci unpack --rootless --image img:v1 b1 >/dev/null 2>&1;"
                       "mkdir -p b1/rootfs/etc b1/rootfs/bin; printf 'hello\\n' > b1/rootfs/etc/hello;"
                       "printf '#!/bin/sh\\necho run\\n' > b1/rootfs/bin/run; chmod 0755 b1/rootfs/bin/run;"
                       "umoci repack --image img:v1 b1; rm -rf b1;"
                       "umoci unpack --rootless --image img:v1 b2 >/dev/null 2>&1;"
                       "printf 'two\\n' > b2/rootfs/etc/two; umoci repack --image img:v1 b2; rm -rf b2;"
                       "umoci unpack --rootless --image img:v1 b3 >/dev/null 2>&1;"
                       "printf 'v2\\n' > b3/rootfs/etc/version; umoci repack --image img:v2 b3; rm -rf b3;"
                       "umoci tag --image img:v1 v1",
                       rg_dir),
                 0, "umoci: %s", rg_err);
    cr_assert_eq(SIGNET("keygen", "--no-passphrase", "-o", rp("key")), 0, "%s", rg_err);
    tu_write_str(rp("policy.json"),
                 "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"key.pub\"}]}");
}

static void rg_spawn(const char *const *argv, const char *logpath)
{
    pid_t pid = fork();

    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);

        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    cr_assert_lt(rg_npids, 4);
    rg_pids[rg_npids++] = pid;
}

static int port_open(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* A port nobody listens on now (bound, read, closed). */
static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* docker-registry on a free port with storage in dir/name (htpasswd: basic auth). Returns the port. */
static int rg_registry(const char *name, int htpasswd)
{
    rg_need("docker-registry", "docker-registry");
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = free_port(), st;
        char cfg[600], conf[2048], store[600], logp[600];
        const char *argv[] = {"docker-registry", "serve", cfg, NULL};
        pid_t pid;

        snprintf(cfg, sizeof(cfg), "%s/%s.yml", rg_dir, name);
        snprintf(store, sizeof(store), "%s/%s", rg_dir, name);
        snprintf(logp, sizeof(logp), "%s/%s.log", rg_dir, name);
        snprintf(conf, sizeof(conf),
                 "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n"
                 "  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%d\n%s%s%s%s",
                 store, port, rg_http_extra, htpasswd ? "auth:\n  htpasswd:\n    realm: test\n    path: " : "",
                 htpasswd ? rp("htpasswd") : "", htpasswd ? "\n" : "");
        tu_write_str(cfg, conf);
        rg_spawn(argv, logp);
        pid = rg_pids[rg_npids - 1];
        for (int i = 0; i < 100; i++) {
            if (port_open(port)) {
                return port;
            }
            if (waitpid(pid, &st, WNOHANG) == pid) {
                rg_npids--; /* exited: the port was taken meanwhile; another one */
                break;
            }
            usleep(100000);
        }
    }
    cr_assert_fail("docker-registry did not start");
    return -1;
}

/* The fake registry (tests/registry_fake.py) serving dir/img in modes. Returns the port. */
static int rg_fake(const char *modes)
{
    char script[600], portfile[600], logp[600], layout[600];
    const char *argv[] = {"python3", script, layout, portfile, logp, modes, NULL};

    snprintf(script, sizeof(script), "%s/tests/registry_fake.py", tu_src());
    snprintf(layout, sizeof(layout), "%s/img", rg_dir);
    snprintf(portfile, sizeof(portfile), "%s/fake.port", rg_dir);
    snprintf(logp, sizeof(logp), "%s/fake.log", rg_dir);
    rg_spawn(argv, rp("fake.out"));
    for (int i = 0; i < 100; i++) {
        if (tu_exists(portfile)) {
            char *t = tu_read(portfile, NULL);
            int port = (int)strtol(t, NULL, 10);

            free(t);
            return port;
        }
        usleep(100000);
    }
    cr_assert_fail("the fake registry did not start");
    return -1;
}

static void rg_push(int port, const char *tag, const char *repo_tag, const char *creds)
{
    char dest[300];

    snprintf(dest, sizeof(dest), "docker://127.0.0.1:%d/%s", port, repo_tag);
    rg_need("skopeo", "skopeo");
    cr_assert_eq(rg_sh("skopeo copy --quiet --dest-tls-verify=false %s%s 'oci:%s/img:%s' '%s'",
                       creds != NULL ? "--dest-creds " : "", creds != NULL ? creds : "", rg_dir, tag, dest),
                 0, "skopeo copy: %s", rg_err);
}

static char *ref_of(int port, const char *repo_tag)
{
    static char buf[4][300];
    static int k;

    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "docker://127.0.0.1:%d/%s", port, repo_tag);
    return buf[k];
}

/* A registry holding app:v1 (signed) and app:v2 (not), the key and policy of rg_build. Returns its port. */
static int rg_app_v1_signed_v2_not(void)
{
    int port;

    rg_build();
    port = rg_registry("reg", 0);
    rg_push(port, "v1", "app:v1", NULL);
    rg_push(port, "v2", "app:v2", NULL);
    cr_assert_eq(SIGNET("sign", "-k", rp("key.key"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s", rg_err);
    return port;
}

/* ---- parsers ---------------------------------------------------------------------------- */

Test(registry, reference_parse, .init = rg_setup, .fini = rg_teardown)
{
    static const char *const bad[] = {"oci:img",
                                      "docker://",
                                      "docker://host",
                                      "docker://host/",
                                      "docker://ho st/repo",
                                      "docker://host/Repo",
                                      "docker://host/repo:",
                                      "docker://host/repo:bad/tag",
                                      "docker://host/repo@sha256:abc",
                                      "docker://host:0/repo",
                                      "docker://host:70000/repo",
                                      "docker://host/repo//x",
                                      "docker://host/-repo",
                                      "docker://host/repo@md5:d41d8cd98f00b204e9800998ecf8427e",
                                      NULL};
    sign__regref r;

    cr_assert_eq(sign__regref_parse(&r, "docker://127.0.0.1:5000/team/app:v1.2"), 0, "%s", sign_error_last());
    cr_assert_str_eq(r.host, "127.0.0.1:5000");
    cr_assert_str_eq(r.repo, "team/app");
    cr_assert_str_eq(r.tag, "v1.2");
    cr_assert_str_eq(r.digest, "");
    cr_assert_eq(sign__regref_parse(&r, "docker://registry.example/app"), 0);
    cr_assert_str_eq(r.tag, "latest", "no tag: latest, as skopeo");
    cr_assert_eq(sign__regref_parse(&r, "docker://[::1]:5000/a/b@sha256:"
                                        "f060de3d8155ee93da6349074574f6aca0b7a6457c698de2fd48a3abb7713117"),
                 0, "%s", sign_error_last());
    cr_assert_str_eq(r.tag, "");
    cr_assert_str_eq(r.digest, "sha256:f060de3d8155ee93da6349074574f6aca0b7a6457c698de2fd48a3abb7713117");
    for (size_t i = 0; bad[i] != NULL; i++) {
        cr_assert_eq(sign__regref_parse(&r, bad[i]), SIGN_EINVAL, "%s was taken", bad[i]);
    }
}

Test(registry, challenge_parse, .init = rg_setup, .fini = rg_teardown)
{
    char *scheme, *realm, *service, *scope;

    cr_assert_eq(sign__reg_challenge_parse("Bearer realm=\"https://auth.example/token\",service=\"reg\","
                                           "scope=\"repository:a/b:pull\"",
                                           &scheme, &realm, &service, &scope),
                 0, "%s", sign_error_last());
    cr_assert_str_eq(scheme, "bearer");
    cr_assert_str_eq(realm, "https://auth.example/token");
    cr_assert_str_eq(service, "reg");
    cr_assert_str_eq(scope, "repository:a/b:pull");
    free(scheme), free(realm), free(service), free(scope);
    cr_assert_eq(sign__reg_challenge_parse("Basic realm=\"Registry Realm\"", &scheme, &realm, &service, &scope), 0);
    cr_assert_str_eq(scheme, "basic");
    cr_assert_null(service);
    free(scheme), free(realm), free(service), free(scope);
    /* Malformed or unsupported: refused, nothing returned. */
    cr_assert_eq(sign__reg_challenge_parse("Bearer service=\"x\"", &scheme, &realm, &service, &scope), SIGN_EPARSE,
                 "a bearer challenge needs a realm");
    cr_assert_null(scheme);
    cr_assert_eq(sign__reg_challenge_parse("Bearer realm=\"unterminated", &scheme, &realm, &service, &scope),
                 SIGN_EPARSE);
    cr_assert_eq(sign__reg_challenge_parse("Negotiate abc", &scheme, &realm, &service, &scope), SIGN_EPARSE);
    cr_assert_eq(sign__reg_challenge_parse(NULL, &scheme, &realm, &service, &scope), SIGN_EPARSE);
}

Test(registry, auth_file_lookup, .init = rg_setup, .fini = rg_teardown)
{
    char *up = NULL;

    /* base64("user:secret") */
    tu_write_str(rp("auth.json"), "{\"auths\": {\"127.0.0.1:5000\": {\"auth\": \"dXNlcjpzZWNyZXQ=\"}}}");
    cr_assert_eq(sign__reg_auth_lookup(&up, rp("auth.json"), "127.0.0.1:5000"), 0, "%s", sign_error_last());
    cr_assert_str_eq(up, "user:secret");
    free(up);
    cr_assert_eq(sign__reg_auth_lookup(&up, rp("auth.json"), "other:5000"), 0);
    cr_assert_null(up, "no entry for the host: no credentials");
    cr_assert_eq(sign__reg_auth_lookup(&up, rp("missing.json"), "127.0.0.1:5000"), 0);
    cr_assert_null(up, "no file: no credentials");
    /* base64 of "nocolon": not user:pass */
    tu_write_str(rp("bad.json"), "{\"auths\": {\"h\": {\"auth\": \"bm9jb2xvbg==\"}}}");
    cr_assert_eq(sign__reg_auth_lookup(&up, rp("bad.json"), "h"), SIGN_EPARSE);
    tu_write_str(rp("bad2.json"), "{\"auths\": ");
    cr_assert_neq(sign__reg_auth_lookup(&up, rp("bad2.json"), "h"), 0, "a malformed file is an error");
}

/* ---- the client against the fake registry ------------------------------------------------ */

static int fake_log_has(const char *needle)
{
    char *log = tu_read(rp("fake.log"), NULL);
    int has = strstr(log, needle) != NULL;

    free(log);
    return has;
}

Test(registry, bearer_token_flow, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    int port;

    rg_build();
    port = rg_fake("bearer");
    /* No credentials: the token server refuses, and the error says 401. */
    cr_assert_neq(SIGNET("hash", "--tls-verify=false", ref_of(port, "app:v1")), 0, "no credentials: %s", rg_out);
    cr_assert_not_null(strstr(rg_err, "401"), "%s", rg_err);
    tu_write_str(rp("auth.json"), "{\"auths\": {\"127.0.0.1:XXX\": {}}}");
    {
        char a[300];

        snprintf(a, sizeof(a), "{\"auths\": {\"127.0.0.1:%d\": {\"auth\": \"dXNlcjpzZWNyZXQ=\"}}}", port);
        tu_write_str(rp("auth.json"), a);
    }
    cr_assert_eq(SIGNET("hash", "--json", "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s", rg_err);
    cr_assert_not_null(strstr(rg_out, "\"kind\":\"oci-image\""), "%s", rg_out);
    cr_assert(fake_log_has("GET /token?service=fake&scope=repository:app:pull 200"), "token fetched for the scope");
    /* The same image hashes the same from the layout. */
    {
        char *remote = strdup(strstr(rg_out, "\"manifest\":"));

        cr_assert_eq(SIGNET("hash", "--json", "--ref", "v1", rp("img")), 0, "%s", rg_err);
        cr_assert_eq(strncmp(remote, strstr(rg_out, "\"manifest\":"), 80), 0, "registry and layout agree");
        free(remote);
    }
}

Test(registry, retries_on_503_and_429, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    int port;

    rg_build();
    port = rg_fake("flaky");
    cr_assert_eq(SIGNET("hash", "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s", rg_err);
    cr_assert(fake_log_has(" 503 "), "a 503 was answered (and retried)");
    cr_assert(fake_log_has(" 429 "), "a 429 was answered (and retried)");
}

Test(registry, redirect_drops_authorization, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    char a[300];
    char *log;
    int port;

    rg_build();
    port = rg_fake("bearer,redirect");
    snprintf(a, sizeof(a), "{\"auths\": {\"127.0.0.1:%d\": {\"auth\": \"dXNlcjpzZWNyZXQ=\"}}}", port);
    tu_write_str(rp("auth.json"), a);
    cr_assert_eq(SIGNET("hash", "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s", rg_err);
    log = tu_read(rp("fake.log"), NULL);
    cr_assert_not_null(strstr(log, "(redirected)"), "blobs were redirected: %s", log);
    cr_assert_null(strstr(log, "auth=yes (redirected)"), "the token went to another host: %s", log);
    free(log);
}

Test(registry, slow_registry_times_out, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    sign__registry_options o;
    sign__registry *reg = NULL;
    sign__regref ref;
    char r[300];
    long long t0;
    int port, rc;

    rg_build();
    port = rg_fake("slow");
    snprintf(r, sizeof(r), "docker://127.0.0.1:%d/app:v1", port);
    cr_assert_eq(sign__regref_parse(&ref, r), 0);
    memset(&o, 0, sizeof(o));
    o.insecure = 1;
    o.timeout_ms = 1500;
    o.auth_file = rp("none.json");
    t0 = tu_now_us();
    rc = sign__registry_open(&reg, &ref, &o);
    cr_assert_eq(rc, SIGN_ETIMEOUT, "%d: %s", rc, sign_error_last());
    cr_assert_lt(tu_now_us() - t0, 6000000, "the deadline held");
    cr_assert_not_null(strstr(sign_error_last(), "127.0.0.1"), "%s", sign_error_last());
    cr_assert_null(reg);
}

Test(registry, unreachable_and_404, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    long long t0 = tu_now_us();
    int port = free_port();

    cr_assert_neq(SIGNET("hash", "--tls-verify=false", ref_of(port, "app:v1")), 0);
    cr_assert_not_null(strstr(rg_err, "registry"), "%s", rg_err);
    cr_assert_lt(tu_now_us() - t0, 20000000, "refused quickly");
    rg_build();
    port = rg_registry("reg", 0);
    rg_push(port, "v1", "app:v1", NULL);
    cr_assert_neq(SIGNET("hash", "--tls-verify=false", ref_of(port, "app:nope")), 0);
    cr_assert_not_null(strstr(rg_err, "404"), "%s", rg_err);
    /* Without --tls-verify=false: HTTPS, which a plain-HTTP registry cannot answer. */
    cr_assert_neq(SIGNET("hash", ref_of(port, "app:v1")), 0);
    cr_assert_not_null(strstr(rg_err, "https://"), "%s", rg_err);
}

/* ---- persistent connections (keep-alive) against the fake ------------------------------------ */

/* The fake's log lines holding needle, and (conns not NULL) the distinct connections ("conn=N") they came on. */
static size_t fake_log_count(const char *needle, size_t *conns)
{
    char *log = tu_read(rp("fake.log"), NULL), *save = NULL;
    long seen[256];
    size_t n = 0, nc = 0;

    for (char *line = strtok_r(log, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        const char *c = strstr(line, " conn=");
        long port = c != NULL ? strtol(c + 6, NULL, 10) : -1;
        size_t k = 0;

        if (strstr(line, needle) == NULL) {
            continue;
        }
        n++;
        while (k < nc && seen[k] != port) {
            k++;
        }
        if (k == nc && nc < sizeof(seen) / sizeof(seen[0])) {
            seen[nc++] = port;
        }
    }
    free(log);
    if (conns != NULL) {
        *conns = nc;
    }
    return n;
}

/*
 * One command's requests share kept connections: the API check, manifest, config and layers of
 * "signet hash" by reference came on at most 3 connections (the layers stream in parallel). It
 * failed before: every request had its own connection ("Connection: close").
 */
Test(registry, keep_alive_reuses_connections, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    size_t requests, conns;

    rg_build();
    cr_assert_eq(SIGNET("hash", "--tls-verify=false", ref_of(rg_fake("plain"), "app:v1")), 0, "%s", rg_err);
    requests = fake_log_count(" conn=", &conns);
    cr_assert_geq(requests, 5, "the API check, manifest, config and two layers: %zu", requests);
    cr_assert_leq(conns, 3, "%zu requests on %zu connections", requests, conns);
    cr_assert_eq(fake_log_count("GET /v2/ ", NULL), 1, "one API check");
}

/* signet hash by reference against the fake in mode succeeds, and each request came on its own connection. */
static void hash_with_a_connection_per_request(const char *mode)
{
    size_t requests, conns;

    rg_build();
    cr_assert_eq(SIGNET("hash", "--tls-verify=false", ref_of(rg_fake(mode), "app:v1")), 0, "%s", rg_err);
    requests = fake_log_count(" conn=", &conns);
    cr_assert_eq(conns, requests, "%s: %zu requests on %zu connections", mode, requests, conns);
}

/* An HTTP/1.0 server gets a connection per request, as before. */
Test(registry, http10_server_gets_a_connection_per_request, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    hash_with_a_connection_per_request("http10");
}

/* A server that closes after every response (without saying so) still works: the client reconnects. */
Test(registry, server_closing_each_connection_still_works, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    hash_with_a_connection_per_request("close");
}

/*
 * A server that closes a kept connection when the next request arrives (its idle timeout) gets that GET
 * or HEAD again, once, on a new connection: the command succeeds.
 */
Test(registry, idle_close_is_retried_once_for_get, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    rg_build();
    cr_assert_eq(SIGNET("hash", "--tls-verify=false", ref_of(rg_fake("drop"), "app:v1")), 0, "%s", rg_err);
    cr_assert_geq(fake_log_count(" DROPPED ", NULL), 1, "a request was dropped on a kept connection");
}

/* A blob cut short by a server closing mid-stream is an error naming the truncation; no retry hides it. */
Test(registry, close_mid_stream_is_an_error, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    rg_build();
    cr_assert_neq(SIGNET("hash", "--tls-verify=false", ref_of(rg_fake("truncate"), "app:v1")), 0, "%s", rg_out);
    cr_assert_not_null(strstr(rg_err, "truncated"), "%s", rg_err);
}

/*
 * One client per command: the calls of a verify by reference (resolve, bundles, layers) open the same
 * repository under the same options and share one client (one API check); other options get another.
 * It failed before: each open checked the API again.
 */
Test(registry, clients_are_shared_within_a_process, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    sign__registry_options o;
    sign__registry *a = NULL, *b = NULL, *c = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    char *mt = NULL, r[300];
    sign__regref ref;

    rg_build();
    snprintf(r, sizeof(r), "docker://127.0.0.1:%d/app:v1", rg_fake("plain"));
    cr_assert_eq(sign__regref_parse(&ref, r), 0);
    memset(&o, 0, sizeof(o));
    o.insecure = 1;
    o.auth_file = rp("none.json");
    cr_assert_eq(sign__registry_open(&a, &ref, &o), 0, "%s", sign_error_last());
    cr_assert_eq(sign__registry_get_manifest(a, "v1", &data, &len, &mt), 0, "%s", sign_error_last());
    free(data);
    free(mt);
    sign__registry_free(a);
    cr_assert_eq(sign__registry_open(&b, &ref, &o), 0, "%s", sign_error_last());
    cr_assert_eq(sign__registry_get_manifest(b, "v1", &data, &len, &mt), 0, "%s", sign_error_last());
    free(data);
    free(mt);
    cr_assert_eq(fake_log_count("GET /v2/ ", NULL), 1, "one API check for both opens");
    cr_assert_eq(sign__registry_connections(b), 1, "one connection: %lu", sign__registry_connections(b));
    o.push = 1;
    cr_assert_eq(sign__registry_open(&c, &ref, &o), 0, "%s", sign_error_last());
    cr_assert_neq(c, b, "push rights are another client");
    sign__registry_free(c);
    sign__registry_free(b);
}

/* The token of a shared client serves every call of the command: one token fetch for two opens. */
Test(registry, token_is_cached_across_opens, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    sign__registry_options o;
    sign__registry *a = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    char *mt = NULL, r[300], auth[300];
    sign__regref ref;
    int port;

    rg_build();
    port = rg_fake("bearer");
    snprintf(auth, sizeof(auth), "{\"auths\": {\"127.0.0.1:%d\": {\"auth\": \"dXNlcjpzZWNyZXQ=\"}}}", port);
    tu_write_str(rp("auth.json"), auth);
    snprintf(r, sizeof(r), "docker://127.0.0.1:%d/app:v1", port);
    cr_assert_eq(sign__regref_parse(&ref, r), 0);
    memset(&o, 0, sizeof(o));
    o.insecure = 1;
    o.auth_file = rp("auth.json");
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(sign__registry_open(&a, &ref, &o), 0, "%s", sign_error_last());
        cr_assert_eq(sign__registry_get_manifest(a, "v1", &data, &len, &mt), 0, "%s", sign_error_last());
        free(data);
        free(mt);
        sign__registry_free(a);
    }
    cr_assert_eq(fake_log_count("GET /token?", NULL), 1, "one token for both opens");
    cr_assert_eq(fake_log_count("/v2/app/manifests/v1 200 auth=yes", NULL), 2, "both manifests fetched with it");
}

/* A POST under a pool never takes a kept connection (it could not be sent again): it opens its own. */
Test(registry, post_never_takes_a_kept_connection, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    sign__http_options o = {0};
    sign__http_response resp;
    sign__http_pool *pool = sign__http_pool_new();
    char url[100];

    cr_assert_not_null(pool);
    rg_build();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v2/", rg_fake("plain"));
    o.pool = pool;
    o.flags = SIGN__HTTP_ANY_STATUS;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(sign__http_request(&resp, "GET", url, NULL, 0, &o), 0, "%s", sign_error_last());
        sign__http_response_free(&resp);
    }
    cr_assert_eq(sign__http_pool_opened(pool), 1, "two GETs on one connection");
    (void)sign__http_request(&resp, "POST", url, "x", 1, &o);
    sign__http_response_free(&resp);
    cr_assert_eq(sign__http_pool_opened(pool), 2, "the POST opened its own connection");
    sign__http_pool_free(pool);
}

/* ---- a real registry ---------------------------------------------------------------------- */

/* The digest pinned by the "deploy docker://...@sha256:..." line of verify. */
static char *deploy_ref(void)
{
    const char *d = strstr(rg_out != NULL ? rg_out : "", "deploy docker://");
    char *e;

    cr_assert_not_null(d, "verify printed no deploy line: %s", rg_out);
    d += strlen("deploy ");
    e = strndup(d, strcspn(d, "\n"));
    cr_assert_not_null(strstr(e, "@sha256:"));
    return e;
}

Test(registry, sign_verify_by_tag_and_digest, .init = rg_setup, .fini = rg_teardown, .timeout = 240)
{
    char *pinned, fallback[200];
    int port;

    rg_build();
    port = rg_registry("reg", 0);
    rg_push(port, "v1", "team/app:v1", NULL);
    cr_assert_eq(SIGNET("sign", "-k", rp("key.key"), "--tls-verify=false", ref_of(port, "team/app:v1")), 0, "%s",
                 rg_err);
    cr_assert_not_null(strstr(rg_out, "referrer sha256:"), "%s", rg_out);
    /* A second machine's view: another directory, no bundle file, nothing but the registry. */
    cr_assert_eq(SIGNET("verify", "-p", rp("policy.json"), "--tls-verify=false", ref_of(port, "team/app:v1")), 0,
                 "%s%s", rg_out, rg_err);
    pinned = deploy_ref();
    cr_assert_eq(SIGNET("verify", "-p", rp("policy.json"), "--entries", "--tls-verify=false", pinned), 0, "%s%s",
                 rg_out, rg_err);
    /* The fallback tag holds an index whose entry is the bundle artifact (skopeo sees it). */
    snprintf(fallback, sizeof(fallback), "%s:sha256-%s", ref_of(port, "team/app"), strstr(pinned, "@sha256:") + 8);
    cr_assert_eq(rg_sh("skopeo inspect --raw --tls-verify=false '%s'", fallback), 0, "%s", rg_err);
    cr_assert_not_null(strstr(rg_out, "application/vnd.dev.sigstore.bundle.v0.3+json"), "%s", rg_out);
    /* -o also writes the bundle locally, and it verifies as a plain bundle. */
    cr_assert_eq(SIGNET("sign", "-k", rp("key.key"), "-o", rp("local.json"), "--tls-verify=false", pinned), 0, "%s",
                 rg_err);
    cr_assert_eq(SIGNET("verify", "-p", rp("policy.json"), "-b", rp("local.json"), "--tls-verify=false", pinned), 0,
                 "%s%s", rg_out, rg_err);
    free(pinned);
}

Test(registry, retagged_image_refused, .init = rg_setup, .fini = rg_teardown, .timeout = 240)
{
    int port;

    rg_build();
    port = rg_registry("reg", 0);
    rg_push(port, "v1", "app:v1", NULL);
    cr_assert_eq(SIGNET("sign", "-k", rp("key.key"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s", rg_err);
    rg_push(port, "v2", "app:v1", NULL); /* the tag moves to another image */
    cr_assert_neq(SIGNET("verify", "-p", rp("policy.json"), "--tls-verify=false", ref_of(port, "app:v1")), 0,
                  "a moved tag verified: %s", rg_out);
    cr_assert_not_null(strstr(rg_err, "no bundle is attached"), "%s", rg_err);
    cr_assert_null(strstr(rg_out, "deploy docker://"), "%s", rg_out);
}

Test(registry, replaced_layer_blob_refused, .init = rg_setup, .fini = rg_teardown, .timeout = 240)
{
    int port;

    rg_build();
    port = rg_registry("reg", 0);
    rg_push(port, "v1", "app:v1", NULL);
    cr_assert_eq(SIGNET("sign", "-k", rp("key.key"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s", rg_err);
    /* Overwrite every layer blob's data in the registry's storage with as many other bytes. */
    cr_assert_eq(rg_sh("set -e; cd '%s'; for l in $(python3 -c 'import json,sys; "
                       "m=json.load(open(\"img/index.json\"))[\"manifests\"]; "
                       "d=[x for x in m if x[\"annotations\"][\"org.opencontainers.image.ref.name\"]==\"v1\"][0]; "
                       "mf=json.load(open(\"img/blobs/sha256/\"+d[\"digest\"][7:])); "
                       "print(\" \".join(x[\"digest\"][7:] for x in mf[\"layers\"]))'); do "
                       "f=reg/docker/registry/v2/blobs/sha256/$(echo $l | cut -c1-2)/$l/data; "
                       "n=$(stat -c %%s $f); head -c $n /dev/zero | tr '\\0' x > $f; done",
                       rg_dir),
                 0, "%s", rg_err);
    cr_assert_neq(SIGNET("verify", "--json", "-p", rp("policy.json"), "--tls-verify=false", ref_of(port, "app:v1")),
                  0, "a changed layer verified");
    cr_assert_not_null(strstr(rg_out, "BLOB_DIGEST_MISMATCH"), "%s%s", rg_out, rg_err);
}

/*
 * An image of 30000 files: its bundle records every entry (about 10 MB), more than a manifest may be
 * (4 MiB). Verify by reference fetched bundle blobs under the manifest cap and refused it ("response too
 * large"): what sign pushed, verify could not read. Bundle blobs now have a local bundle file's cap.
 */
Test(registry, bundle_larger_than_a_manifest_is_fetched, .init = rg_setup, .fini = rg_teardown, .timeout = 300)
{
    struct stat st;
    int port;

    rg_need("umoci", "umoci");
    cr_assert_eq(rg_sh("set -e; cd '%s'; mkdir -p l/many; cd l/many;"
                       "seq -w 30000 | sed 's/^/a-file-name-long-enough-that-each-recorded-entry-takes-room-/' | "
                       "xargs touch; cd ../..; tar -C l -cf l.tar .; rm -rf l; umoci init --layout img;"
                       "umoci new --image img:v1; umoci raw add-layer --image img:v1 l.tar; rm l.tar",
                       rg_dir),
                 0, "%s", rg_err);
    cr_assert_eq(SIGNET("keygen", "--no-passphrase", "-o", rp("key")), 0, "%s", rg_err);
    tu_write_str(rp("policy.json"),
                 "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"key.pub\"}]}");
    port = rg_registry("reg", 0);
    rg_push(port, "v1", "many:v1", NULL);
    cr_assert_eq(
        SIGNET("sign", "-k", rp("key.key"), "-o", rp("many.json"), "--tls-verify=false", ref_of(port, "many:v1")), 0,
        "%s", rg_err);
    cr_assert_eq(stat(rp("many.json"), &st), 0);
    cr_assert_gt(st.st_size, (off_t)SIGN__REG_DOC_MAX, "the bundle is not larger than a manifest");
    cr_assert_eq(
        SIGNET("verify", "-p", rp("policy.json"), "--entries", "--tls-verify=false", ref_of(port, "many:v1")), 0,
        "%s%s", rg_out, rg_err);
    cr_assert_not_null(strstr(rg_out, "deploy docker://"), "%s", rg_out);
}

Test(registry, referrers_index_shared_with_another_tool, .init = rg_setup, .fini = rg_teardown, .timeout = 240)
{
    sign__registry_options o;
    sign__registry *reg = NULL;
    sign__regref ref;
    unsigned char *data = NULL;
    char *mt = NULL, man[1024], idx[1024], tag[80], subject[80], mdg[80];
    unsigned char d[32];
    char hex[65];
    size_t len = 0, n = 0;
    int port;

    rg_build();
    port = rg_registry("reg", 0);
    rg_push(port, "v1", "app:v1", NULL);
    cr_assert_eq(sign__regref_parse(&ref, ref_of(port, "app:v1")), 0);
    memset(&o, 0, sizeof(o));
    o.insecure = 1;
    o.push = 1;
    o.auth_file = rp("none.json");
    cr_assert_eq(sign__registry_open(&reg, &ref, &o), 0, "%s", sign_error_last());
    cr_assert_eq(sign__registry_get_manifest(reg, "v1", &data, &len, &mt), 0, "%s", sign_error_last());
    cr_assert_eq(sign_digest_buffer(d, sizeof(d), &n, SIGN_DIGEST_SHA256, data, len), 0);
    sign_hex_encode(hex, sizeof(hex), d, 32);
    snprintf(subject, sizeof(subject), "sha256:%s", hex);
    /* Another tool's referrer (a notation-like signature) in the fallback index first. */
    cr_assert_eq(sign__registry_put_blob(
                     reg, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "{}", 2),
                 0, "%s", sign_error_last());
    snprintf(man, sizeof(man),
             "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
             "\"artifactType\":\"application/vnd.cncf.notary.signature\",\"config\":{\"mediaType\":"
             "\"application/vnd.oci.empty.v1+json\",\"digest\":\"sha256:"
             "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2},\"layers\":[{"
             "\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"sha256:"
             "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2}],"
             "\"subject\":{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}}",
             mt, subject, len);
    cr_assert_eq(sign_digest_buffer(d, sizeof(d), &n, SIGN_DIGEST_SHA256, man, strlen(man)), 0);
    sign_hex_encode(hex, sizeof(hex), d, 32);
    snprintf(mdg, sizeof(mdg), "sha256:%s", hex);
    cr_assert_eq(
        sign__registry_put_manifest(reg, mdg, "application/vnd.oci.image.manifest.v1+json", man, strlen(man)), 0,
        "%s", sign_error_last());
    snprintf(idx, sizeof(idx),
             "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{"
             "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
             "\"artifactType\":\"application/vnd.cncf.notary.signature\"}]}",
             mdg, strlen(man));
    cr_assert_eq(sign__registry_fallback_tag(tag, sizeof(tag), subject), 0);
    cr_assert_eq(sign__registry_put_manifest(reg, tag, "application/vnd.oci.image.index.v1+json", idx, strlen(idx)),
                 0, "%s", sign_error_last());
    free(data);
    free(mt);
    /* signet signs: both entries are in the index afterwards, and verify skips the other tool's. */
    cr_assert_eq(SIGNET("sign", "-k", rp("key.key"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s", rg_err);
    cr_assert_eq(sign__registry_get_manifest(reg, tag, &data, &len, &mt), 0, "%s", sign_error_last());
    cr_assert_not_null(strstr((char *)data, mdg), "the other tool's entry was dropped: %s", data);
    cr_assert_not_null(strstr((char *)data, "application/vnd.dev.sigstore.bundle.v0.3+json"), "%s", data);
    free(data);
    free(mt);
    sign__registry_free(reg);
    cr_assert_eq(SIGNET("verify", "-p", rp("policy.json"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s%s",
                 rg_out, rg_err);
}

Test(registry, basic_auth_registry, .init = rg_setup, .fini = rg_teardown, .timeout = 240)
{
    char a[300];
    int port;

    rg_build();
    cr_assert_eq(rg_sh("python3 -c 'import crypt; print(\"user:\" + crypt.crypt(\"secret\", "
                       "crypt.mksalt(crypt.METHOD_BLOWFISH)))' > '%s/htpasswd' 2>/dev/null",
                       rg_dir),
                 0, "%s", rg_err);
    port = rg_registry("auth", 1);
    rg_push(port, "v1", "app:v1", "user:secret");
    cr_assert_neq(SIGNET("hash", "--tls-verify=false", ref_of(port, "app:v1")), 0, "no credentials");
    cr_assert_not_null(strstr(rg_err, "401"), "%s", rg_err);
    snprintf(a, sizeof(a), "{\"auths\": {\"127.0.0.1:%d\": {\"auth\": \"dXNlcjpzZWNyZXQ=\"}}}", port);
    tu_write_str(rp("auth.json"), a);
    cr_assert_eq(SIGNET("sign", "-k", rp("key.key"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s", rg_err);
    cr_assert_eq(SIGNET("verify", "-p", rp("policy.json"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s%s",
                 rg_out, rg_err);
    /* Wrong password: a 401, not a verdict. */
    tu_write_str(rp("auth.json"), "{\"auths\": {\"x\": {}}}");
    snprintf(a, sizeof(a), "{\"auths\": {\"127.0.0.1:%d\": {\"auth\": \"dXNlcjp3cm9uZw==\"}}}", port);
    tu_write_str(rp("auth.json"), a);
    cr_assert_neq(SIGNET("hash", "--tls-verify=false", ref_of(port, "app:v1")), 0);
    cr_assert_not_null(strstr(rg_err, "401"), "%s", rg_err);
}

/* ---- deploy by reference (issue 21's deploy item, issue 16's rules) ------------------------------ */

/*
 * signet deploy docker://: the tag resolved once, the bundle found in the registry, the root file system
 * the same as a deploy of the local layout; the digest printed; a moved tag refused; a replaced layer blob
 * refused with the old release current.
 */
Test(registry, deploy_by_reference, .init = rg_setup, .fini = rg_teardown, .timeout = 240)
{
    char *pinned, cur1[512], cur2[512], digest[80];
    ssize_t n;
    int port;

    rg_build();
    port = rg_registry("reg", 0);
    rg_push(port, "v1", "app:v1", NULL);
    cr_assert_eq(SIGNET("sign", "-k", rp("key.key"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s", rg_err);
    cr_assert_eq(SIGNET("verify", "-p", rp("policy.json"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s%s",
                 rg_out, rg_err);
    pinned = deploy_ref();
    snprintf(digest, sizeof(digest), "%s", strstr(pinned, "@sha256:") + 1);
    /* By tag: the digest the tag named is the one deployed and printed. */
    cr_assert_eq(
        SIGNET("deploy", "-p", rp("policy.json"), "--tls-verify=false", "--to", rp("out"), ref_of(port, "app:v1")), 0,
        "%s%s", rg_out, rg_err);
    cr_assert_not_null(strstr(rg_out, digest), "the deployed digest is not printed: %s", rg_out);
    cr_assert_eq(rg_sh("set -e; cd '%s'; umoci unpack --rootless --image img:v1 ref >/dev/null 2>&1;"
                       "diff -r --no-dereference ref/rootfs out/current/",
                       rg_dir),
                 0, "deploy by reference differs from umoci unpack: %s%s", rg_out, rg_err);
    cr_assert_eq(rg_sh("test -z \"$(ls -A '%s/out' | grep '^\\.artifact-')\"", rg_dir), 0, "a private copy was left");
    n = readlink(rp("out/current"), cur1, sizeof(cur1) - 1);
    cr_assert_gt(n, 0);
    cur1[n] = '\0';
    /* The tag moves to an unsigned image: refused, the release stays. */
    rg_push(port, "v2", "app:v1", NULL);
    cr_assert_neq(
        SIGNET("deploy", "-p", rp("policy.json"), "--tls-verify=false", "--to", rp("out"), ref_of(port, "app:v1")), 0,
        "a moved tag was deployed: %s", rg_out);
    /* By digest, with the layer blobs replaced in the registry's storage: refused, the release stays. */
    cr_assert_eq(rg_sh("set -e; cd '%s'; for f in reg/docker/registry/v2/blobs/sha256/*/*/data; do "
                       "if gzip -t $f 2>/dev/null; then n=$(stat -c %%s $f); head -c $n /dev/zero | tr '\\0' x > $f; "
                       "fi; done",
                       rg_dir),
                 0, "%s", rg_err);
    cr_assert_neq(
        SIGNET("deploy", "--json", "-p", rp("policy.json"), "--tls-verify=false", "--to", rp("out"), pinned), 0,
        "a changed layer was deployed");
    cr_assert_not_null(strstr(rg_out, "BLOB_DIGEST_MISMATCH"), "%s%s", rg_out, rg_err);
    n = readlink(rp("out/current"), cur2, sizeof(cur2) - 1);
    cr_assert_gt(n, 0);
    cur2[n] = '\0';
    cr_assert_str_eq(cur1, cur2);
    free(pinned);
}

/* ---- TLS ------------------------------------------------------------------------------------ */

/* A test CA (ca.pem) and a certificate for 127.0.0.1 (srv.pem, srv.key) it issued; the registry serves it. */
static void rg_tls_certs(void)
{
    rg_need("openssl", "openssl");
    cr_assert_eq(rg_sh("set -e; cd '%s';"
                       "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key"
                       " -out ca.pem -days 2 -subj /CN=signet-test-ca 2>/dev/null;"
                       "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr"
                       " -subj /CN=127.0.0.1 2>/dev/null;"
                       "printf 'subjectAltName=IP:127.0.0.1\\n' > srv.ext;"
                       "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem"
                       " -days 2 -extfile srv.ext 2>/dev/null",
                       rg_dir),
                 0, "openssl: %s", rg_err);
    snprintf(rg_http_extra, sizeof(rg_http_extra), "  tls:\n    certificate: %s/srv.pem\n    key: %s/srv.key\n",
             rg_dir, rg_dir);
}

Test(registry, tls_registry_verified_by_default, .init = rg_setup, .fini = rg_teardown, .timeout = 240)
{
    int port;

    rg_build();
    rg_tls_certs();
    port = rg_registry("tls", 0);
    rg_push(port, "v1", "app:v1", NULL); /* skopeo --dest-tls-verify=false: HTTPS, certificate not checked */
    /* The default: HTTPS, the certificate checked against the system's CAs, which do not know the test CA. */
    cr_assert_eq(SIGNET("hash", ref_of(port, "app:v1")), 2, "an unknown CA was trusted: %s", rg_out);
    cr_assert_not_null(strstr(rg_err, "certificate verify failed"), "%s", rg_err);
    cr_assert_not_null(strstr(rg_err, "https://127.0.0.1"), "%s", rg_err);
    /* --tls-verify=false: HTTPS without the check (not plain HTTP: this registry speaks only TLS). */
    cr_assert_eq(SIGNET("sign", "-k", rp("key.key"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s", rg_err);
    cr_assert_eq(SIGNET("verify", "-p", rp("policy.json"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s%s",
                 rg_out, rg_err);
    /* The CA trusted through OpenSSL's SSL_CERT_FILE: verified HTTPS, no flag needed. */
    cr_assert_eq(rg_sh("SSL_CERT_FILE='%s/ca.pem' \"$SIGNET_BIN\" verify -p '%s' '%s'", rg_dir, rp("policy.json"),
                       ref_of(port, "app:v1")),
                 0, "%s%s", rg_out, rg_err);
    cr_assert_not_null(strstr(rg_out, "deploy docker://"), "%s", rg_out);
    /* Another CA in SSL_CERT_FILE: refused again. */
    cr_assert_eq(rg_sh("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
                       "o.key -out other.pem -days 2 -subj /CN=other 2>/dev/null && SSL_CERT_FILE='%s/other.pem' "
                       "\"$SIGNET_BIN\" hash '%s'",
                       rg_dir, rg_dir, ref_of(port, "app:v1")),
                 2, "%s%s", rg_out, rg_err);
    cr_assert_not_null(strstr(rg_err, "certificate verify failed"), "%s", rg_err);
}

/* certs.d: DIR/HOST:PORT/ca.crt is trusted for that registry only ($SIGNET_REGISTRY_CERTS_DIR for the test). */
Test(registry, certs_d_trusts_a_ca_for_its_host_only, .init = rg_setup, .fini = rg_teardown, .timeout = 240)
{
    int port;

    rg_build();
    rg_tls_certs();
    port = rg_registry("tls", 0);
    rg_push(port, "v1", "app:v1", NULL);
    /* The CA under another host:port's directory: not trusted for this one. */
    cr_assert_eq(
        rg_sh("set -e; cd '%s'; mkdir -p certs/127.0.0.1:1 certs/127.0.0.1; cp ca.pem certs/127.0.0.1:1/ca.crt;"
              "cp ca.pem certs/127.0.0.1/ca.crt",
              rg_dir),
        0, "%s", rg_err);
    cr_assert_eq(
        rg_sh("SIGNET_REGISTRY_CERTS_DIR='%s/certs' \"$SIGNET_BIN\" hash '%s'", rg_dir, ref_of(port, "app:v1")), 2,
        "a CA for another port was trusted: %s", rg_out);
    cr_assert_not_null(strstr(rg_err, "certificate verify failed"), "%s", rg_err);
    /* Under HOST:PORT: verified HTTPS, without --tls-verify=false. */
    cr_assert_eq(rg_sh("set -e; mkdir -p '%s/certs/127.0.0.1:%d'; cp '%s/ca.pem' '%s/certs/127.0.0.1:%d/ca.crt'",
                       rg_dir, port, rg_dir, rg_dir, port),
                 0, "%s", rg_err);
    cr_assert_eq(
        rg_sh("SIGNET_REGISTRY_CERTS_DIR='%s/certs' \"$SIGNET_BIN\" hash '%s'", rg_dir, ref_of(port, "app:v1")), 0,
        "%s%s", rg_out, rg_err);
    /* Another CA in that place: refused. */
    cr_assert_eq(
        rg_sh("set -e; cd '%s'; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
              "o.key -out 'certs/127.0.0.1:%d/ca.crt' -days 2 -subj /CN=other 2>/dev/null",
              rg_dir, port),
        0, "%s", rg_err);
    cr_assert_eq(
        rg_sh("SIGNET_REGISTRY_CERTS_DIR='%s/certs' \"$SIGNET_BIN\" hash '%s'", rg_dir, ref_of(port, "app:v1")), 2,
        "%s%s", rg_out, rg_err);
    cr_assert_not_null(strstr(rg_err, "certificate verify failed"), "%s", rg_err);
}

/* ---- credential helpers ------------------------------------------------------------------- */

/*
 * bin/docker-credential-fake: records what it read on stdin in helper.in; answers user:secret for
 * 127.0.0.1:*, an identity token for token.example, fails loudly (with a secret-looking text) for
 * broken.example, and says "credentials not found" for anything else.
 */
static void rg_fake_helper(void)
{
    char path[700];

    cr_assert_eq(rg_sh("mkdir -p '%s/bin'", rg_dir), 0);
    snprintf(path, sizeof(path), "%s/bin/docker-credential-fake", rg_dir);
    tu_write_str(path, "#!/bin/sh\n"
                       "[ \"$1\" = get ] || exit 9\n"
                       "host=$(cat)\n"
                       "printf '%s' \"$host\" > \"$(dirname \"$0\")/../helper.in\"\n"
                       "case \"$host\" in\n"
                       "127.0.0.1:*) printf '{\"ServerURL\":\"%s\",\"Username\":\"user\",\"Secret\":\"secret\"}' "
                       "\"$host\" ;;\n"
                       "token.example) printf '{\"Username\":\"<token>\",\"Secret\":\"tok-s3cr3t\"}' ;;\n"
                       "broken.example) echo 'boom hunter2-s3cr3t' >&2; echo 'boom hunter2-s3cr3t'; exit 3 ;;\n"
                       "*) echo 'credentials not found in native keychain'; exit 1 ;;\n"
                       "esac\n");
    cr_assert_eq(chmod(path, 0755), 0);
    {
        char env[4200];

        snprintf(env, sizeof(env), "%s/bin:%s", rg_dir, getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin:/bin");
        cr_assert_eq(setenv("PATH", env, 1), 0);
    }
}

Test(registry, credential_helpers, .init = rg_setup, .fini = rg_teardown, .timeout = 120)
{
    char *up = NULL, *in;

    rg_fake_helper();
    /* credHelpers[host]: the helper gets the host on stdin and its answer is user:secret. */
    tu_write_str(rp("c1.json"), "{\"credHelpers\": {\"127.0.0.1:5000\": \"fake\"}}");
    cr_assert_eq(sign__reg_auth_lookup(&up, rp("c1.json"), "127.0.0.1:5000"), 0, "%s", sign_error_last());
    cr_assert_str_eq(up, "user:secret");
    free(up);
    in = tu_read(rp("helper.in"), NULL);
    cr_assert_str_eq(in, "127.0.0.1:5000");
    free(in);
    /* A host without a helper or an entry: none, and no helper runs. */
    cr_assert_eq(sign__reg_auth_lookup(&up, rp("c1.json"), "other:1"), 0);
    cr_assert_null(up);
    /* credsStore: the default for hosts whose auths entry has no auth; an auths entry with auth wins. */
    tu_write_str(rp("c2.json"), "{\"auths\": {\"127.0.0.1:5000\": {}, \"h:1\": {\"auth\": \"dTI6cDI=\"}},"
                                " \"credsStore\": \"fake\"}");
    cr_assert_eq(sign__reg_auth_lookup(&up, rp("c2.json"), "127.0.0.1:5000"), 0, "%s", sign_error_last());
    cr_assert_str_eq(up, "user:secret");
    free(up);
    cr_assert_eq(sign__reg_auth_lookup(&up, rp("c2.json"), "h:1"), 0, "%s", sign_error_last());
    cr_assert_str_eq(up, "u2:p2");
    free(up);
    /* "credentials not found": no credentials, not an error. */
    cr_assert_eq(sign__reg_auth_lookup(&up, rp("c2.json"), "nothing.example"), 0, "%s", sign_error_last());
    cr_assert_null(up);
    /* A failing helper: an error naming it and its status, never what it printed. */
    cr_assert_eq(sign__reg_auth_lookup(&up, rp("c2.json"), "broken.example"), SIGN_EIO);
    cr_assert_null(up);
    cr_assert_not_null(strstr(sign_error_last(), "docker-credential-fake"), "%s", sign_error_last());
    cr_assert_not_null(strstr(sign_error_last(), "exit status 3"), "%s", sign_error_last());
    cr_assert_null(strstr(sign_error_last(), "s3cr3t"), "%s", sign_error_last());
    /* An identity token is refused clearly, and the token is not in the message. */
    cr_assert_eq(sign__reg_auth_lookup(&up, rp("c2.json"), "token.example"), SIGN_EINVAL);
    cr_assert_not_null(strstr(sign_error_last(), "identity token"), "%s", sign_error_last());
    cr_assert_null(strstr(sign_error_last(), "s3cr3t"), "%s", sign_error_last());
    /* A helper that is not installed, and a name that is a path: errors, nothing run. */
    tu_write_str(rp("c3.json"), "{\"credHelpers\": {\"h:1\": \"nothere\", \"h:2\": \"../bin/sh\"}}");
    cr_assert_neq(sign__reg_auth_lookup(&up, rp("c3.json"), "h:1"), 0);
    cr_assert_not_null(strstr(sign_error_last(), "docker-credential-nothere"), "%s", sign_error_last());
    cr_assert_eq(sign__reg_auth_lookup(&up, rp("c3.json"), "h:2"), SIGN_EINVAL);
    cr_assert_not_null(strstr(sign_error_last(), "not a helper name"), "%s", sign_error_last());
}

Test(registry, credential_helper_with_basic_auth_registry, .init = rg_setup, .fini = rg_teardown, .timeout = 240)
{
    int port;

    rg_build();
    rg_fake_helper();
    cr_assert_eq(rg_sh("python3 -c 'import crypt; print(\"user:\" + crypt.crypt(\"secret\", "
                       "crypt.mksalt(crypt.METHOD_BLOWFISH)))' > '%s/htpasswd' 2>/dev/null",
                       rg_dir),
                 0, "%s", rg_err);
    port = rg_registry("auth", 1);
    rg_push(port, "v1", "app:v1", "user:secret");
    /* docker's config.json (HOME) with credsStore: the helper's user:secret opens the registry. */
    cr_assert_eq(rg_sh("mkdir -p '%s/.docker'", rg_dir), 0);
    tu_write_str(rp(".docker/config.json"), "{\"auths\": {}, \"credsStore\": \"fake\"}");
    cr_assert_eq(rg_sh("unset REGISTRY_AUTH_FILE; \"$SIGNET_BIN\" sign -k '%s' --tls-verify=false '%s'",
                       rp("key.key"), ref_of(port, "app:v1")),
                 0, "%s", rg_err);
    cr_assert_null(strstr(rg_err, "secret"), "%s", rg_err);
    cr_assert_eq(rg_sh("unset REGISTRY_AUTH_FILE; \"$SIGNET_BIN\" verify -p '%s' --tls-verify=false '%s'",
                       rp("policy.json"), ref_of(port, "app:v1")),
                 0, "%s%s", rg_out, rg_err);
    /* The helper failing: a clear error naming it, before any verdict; its output is not shown. */
    tu_write_str(rp("auth.json"), "{\"credHelpers\": {\"127.0.0.1:1\": \"fake\"}, \"credsStore\": \"nothere\"}");
    cr_assert_eq(SIGNET("hash", "--tls-verify=false", ref_of(port, "app:v1")), 2, "%s", rg_out);
    cr_assert_not_null(strstr(rg_err, "docker-credential-nothere"), "%s", rg_err);
}

/* ---- audit by reference ----------------------------------------------------------------------- */

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

/* audit of the repository app as JSON (exit 1: not all verified): verified and unsigned images, and images named. */
static void rg_audit_app(int port, size_t verified, size_t unsignd, size_t images)
{
    cr_assert_eq(
        SIGNET("audit", "-p", rp("policy.json"), "--tls-verify=false", "--format", "json", ref_of(port, "app")), 1,
        "%s%s", rg_out, rg_err);
    cr_assert_eq(count_of(rg_out, "\"class\":\"verified\""), verified, "%s", rg_out);
    cr_assert_eq(count_of(rg_out, "\"class\":\"unsigned\""), unsignd, "%s", rg_out);
    cr_assert_eq(count_of(rg_out, "@sha256:"), images, "every audited image once, by its digest: %s", rg_out);
}

Test(registry, audit_by_reference, .init = rg_setup, .fini = rg_teardown, .timeout = 300)
{
    sign__registry_options o;
    sign__registry *reg = NULL;
    sign__regref ref;
    char **tags = NULL;
    size_t ntags = 0;
    int port;

    rg_build();
    port = rg_registry("reg", 0);
    rg_push(port, "v1", "app:v1", NULL);
    rg_push(port, "v1", "app:same", NULL); /* the same image under a second tag */
    rg_push(port, "v2", "app:v2", NULL);
    rg_push(port, "v2", "app:gone", NULL);
    cr_assert_eq(SIGNET("sign", "-k", rp("key.key"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s", rg_err);
    /* The tags list is paginated (n=, Link rel="next"): one tag a page still gives every tag. */
    cr_assert_eq(sign__regref_parse(&ref, ref_of(port, "app")), 0);
    memset(&o, 0, sizeof(o));
    o.insecure = 1;
    o.auth_file = rp("none.json");
    cr_assert_eq(sign__registry_open(&reg, &ref, &o), 0, "%s", sign_error_last());
    cr_assert_eq(sign__registry_list_tags(reg, 1, &tags, &ntags), 0, "%s", sign_error_last());
    cr_assert_eq(ntags, 5, "%zu tags: the four pushed and v1's fallback referrers tag", ntags);
    sign_registry_strings_free(tags, ntags);
    sign__registry_free(reg);
    /* "gone" is listed but its link is removed: resolving it finds nothing (a tag deleted mid-audit). */
    cr_assert_eq(rg_sh("rm '%s/reg/docker/registry/v2/repositories/app/_manifests/tags/gone/current/link'", rg_dir),
                 0, "%s", rg_err);
    /* v1 and "same" are one digest, audited once; v2 unsigned; gone reported, not fatal. */
    rg_audit_app(port, 1, 1, 2);
    cr_assert_eq(count_of(rg_out, "TAG_VANISHED"), 1, "%s", rg_out);
    cr_assert_not_null(strstr(rg_out, "app:gone"), "%s", rg_out);
    /* One image by tag: its verdict alone. */
    cr_assert_eq(
        SIGNET("audit", "-p", rp("policy.json"), "--tls-verify=false", "--format", "json", ref_of(port, "app:same")),
        0, "%s%s", rg_out, rg_err);
    cr_assert_eq(count_of(rg_out, "\"class\":\"verified\""), 1, "%s", rg_out);
    /* An unsigned image: BUNDLE_MISSING, as in a local store. */
    cr_assert_eq(SIGNET("audit", "-p", rp("policy.json"), "--tls-verify=false", ref_of(port, "app:v2")), 1, "%s%s",
                 rg_out, rg_err);
    cr_assert_not_null(strstr(rg_out, "BUNDLE_MISSING"), "%s", rg_out);
    /* Mixed with a store directory: a usage error. */
    cr_assert_eq(SIGNET("audit", "-p", rp("policy.json"), rg_dir, ref_of(port, "app")), 2, "%s", rg_out);
}

/*
 * Many tags over many images: each digest audited once, and the bundle found for the signed one. The
 * digests seen are kept in a hash set (they were searched one by one for every tag: O(tags x images)); 41
 * images grow it past its first sizes, 300 tags of one image probe it again and again.
 */
Test(registry, audit_many_tags_each_digest_once, .init = rg_setup, .fini = rg_teardown, .timeout = 300)
{
    int port;

    port = rg_app_v1_signed_v2_not();
    /* v1's manifest under 300 more tags; 40 images made from v2's (an annotation apart), two tags each. */
    tu_write_str(rp("tags.py"),
                 "import json, sys, urllib.request as u\n"
                 "base = 'http://127.0.0.1:' + sys.argv[1] + '/v2/app/manifests/'\n"
                 "mt = 'application/vnd.oci.image.manifest.v1+json'\n"
                 "def get(t):\n"
                 "    return u.urlopen(u.Request(base + t, headers={'Accept': mt})).read()\n"
                 "def put(t, body):\n"
                 "    u.urlopen(u.Request(base + t, data=body, method='PUT', headers={'Content-Type': mt})).read()\n"
                 "v1, v2 = get('v1'), json.loads(get('v2'))\n"
                 "for i in range(300):\n"
                 "    put('same%d' % i, v1)\n"
                 "for i in range(40):\n"
                 "    v2['annotations'] = {'n': str(i)}\n"
                 "    body = json.dumps(v2).encode()\n"
                 "    put('img%da' % i, body)\n"
                 "    put('img%db' % i, body)\n");
    cr_assert_eq(rg_sh("python3 '%s' %d", rp("tags.py"), port), 0, "%s", rg_err);
    rg_audit_app(port, 1, 41, 42);
}

/* Overwrite the registry's stored copy of the blob whose bytes are in file (as many other bytes). */
static void rg_spoil_blob(const char *file)
{
    cr_assert_eq(rg_sh("set -e; cd '%s'; h=$(sha256sum '%s' | cut -c1-64); "
                       "f=reg/docker/registry/v2/blobs/sha256/$(echo $h | cut -c1-2)/$h/data; "
                       "n=$(stat -c %%s $f); head -c $n /dev/zero | tr '\\0' x > $f",
                       rg_dir, file),
                 0, "%s", rg_err);
}

/* The bundles attached to ref (checked fetch when invalid is not NULL), with this thread budget. */
static int rg_fetch(unsigned char ***b, size_t **lens, size_t *nb, size_t *invalid, const char *ref,
                    unsigned int jobs)
{
    static char auth[512];
    sign_registry_options ro = SIGN_REGISTRY_OPTIONS_INIT;
    char *digest = NULL, *pinned = NULL;
    int r;

    if (auth[0] == '\0') {
        snprintf(auth, sizeof(auth), "%s", rp("none.json"));
    }
    ro.flags = SIGN_REGISTRY_INSECURE;
    ro.auth_file = auth;
    cr_assert_eq(sign_set_thread_budget(jobs), 0);
    cr_assert_eq(sign_registry_resolve(&digest, &pinned, ref, &ro), 0, "%s", sign_error_last());
    r = invalid != NULL ? sign_registry_fetch_bundles_checked(b, lens, nb, invalid, pinned, digest, 0, &ro)
                        : sign_registry_fetch_bundles(b, lens, nb, pinned, digest, &ro);
    free(digest);
    free(pinned);
    return r;
}

/*
 * The bundles attached to an image are fetched at once on the thread pool and taken in the referrers index's
 * order: the same bundles in the same order as one at a time (a budget of one thread); a referrer whose bundle
 * blob was changed is skipped and counted by the checked fetch (the others still in order) and fails the plain
 * fetch with its digest error.
 */
Test(registry, attached_bundles_are_fetched_at_once_in_the_index_order, .init = rg_setup, .fini = rg_teardown,
     .timeout = 300)
{
    unsigned char **one = NULL, **many = NULL;
    size_t *lone = NULL, *lmany = NULL, none = 0, nmany = 0, invalid = 0;
    const char *ref;
    char name[32];
    int port;

    rg_build();
    port = rg_registry("reg", 0);
    rg_push(port, "v1", "app:v1", NULL);
    ref = ref_of(port, "app:v1");
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "k%d", i);
        cr_assert_eq(SIGNET("keygen", "--no-passphrase", "-o", rp(name)), 0, "%s", rg_err);
        snprintf(name, sizeof(name), "k%d.key", i);
        cr_assert_eq(SIGNET("sign", "-k", rp(name), "--tls-verify=false", ref), 0, "%s", rg_err);
    }
    cr_assert_eq(rg_fetch(&one, &lone, &none, NULL, ref, 1), 0, "%s", sign_error_last());
    cr_assert_eq(rg_fetch(&many, &lmany, &nmany, NULL, ref, 4), 0, "%s", sign_error_last());
    cr_assert_eq(none, 3);
    cr_assert_eq(nmany, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert(lone[i] == lmany[i] && memcmp(one[i], many[i], lone[i]) == 0, "bundle %zu differs", i);
    }
    tu_write(rp("middle.json"), one[1], lone[1]);
    rg_spoil_blob(rp("middle.json"));
    sign_registry_bundles_free(many, lmany, nmany);
    cr_assert_eq(rg_fetch(&many, &lmany, &nmany, &invalid, ref, 4), 0, "%s", sign_error_last());
    cr_assert_eq(invalid, 1);
    cr_assert_eq(nmany, 2);
    cr_assert(lmany[0] == lone[0] && memcmp(many[0], one[0], lone[0]) == 0);
    cr_assert(lmany[1] == lone[2] && memcmp(many[1], one[2], lone[2]) == 0);
    sign_registry_bundles_free(many, lmany, nmany);
    cr_assert_eq(rg_fetch(&many, &lmany, &nmany, NULL, ref, 4), SIGN_EDIGEST);
    cr_assert_not_null(strstr(sign_error_last(), "hashes to"), "%s", sign_error_last());
    cr_assert_null(many);
    sign_registry_bundles_free(one, lone, none);
    cr_assert_eq(sign_set_thread_budget(0), 0);
}

/*
 * Audit judges every bundle attached to an image, not only the newest referrer: a good bundle under a newer
 * untrusted one still verifies the image, the rejected one reported in its reasons; a referrer whose bundle
 * blob was changed is REFERRER_INVALID; more than 64 bundles is REFERRERS_TOO_MANY, none read.
 */
Test(registry, audit_judges_every_attached_bundle, .init = rg_setup, .fini = rg_teardown, .timeout = 300)
{
    sign__registry_options o;
    sign__registry *reg = NULL;
    sign__regref ref;
    unsigned char *data = NULL;
    char *mt = NULL, tag[80], *txt;
    json_t *idx, *list, *last;
    json_error_t e;
    size_t len = 0;
    int port;

    rg_build();
    port = rg_registry("reg", 0);
    rg_push(port, "v1", "app:v1", NULL);
    cr_assert_eq(SIGNET("keygen", "--no-passphrase", "-o", rp("other")), 0, "%s", rg_err);
    cr_assert_eq(SIGNET("sign", "-k", rp("key.key"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s", rg_err);
    {
        /* the good bundle's blob as the registry holds it (to spoil it below) */
        sign_registry_options ro = SIGN_REGISTRY_OPTIONS_INIT;
        unsigned char **b = NULL;
        size_t *lens = NULL, nb = 0;
        char *digest = NULL, *pinned = NULL;

        ro.flags = SIGN_REGISTRY_INSECURE;
        ro.auth_file = rp("none.json");
        cr_assert_eq(sign_registry_resolve(&digest, &pinned, ref_of(port, "app:v1"), &ro), 0, "%s",
                     sign_error_last());
        cr_assert_eq(sign_registry_fetch_bundles(&b, &lens, &nb, pinned, digest, &ro), 0, "%s", sign_error_last());
        cr_assert_eq(nb, 1);
        tu_write(rp("good.json"), b[0], lens[0]);
        sign_registry_bundles_free(b, lens, nb);
        free(digest);
        free(pinned);
    }
    /* A newer bundle by a key the policy does not trust: before, audit judged only this one. */
    cr_assert_eq(SIGNET("sign", "-k", rp("other.key"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s",
                 rg_err);
    cr_assert_eq(
        SIGNET("audit", "-p", rp("policy.json"), "--tls-verify=false", "--format", "json", ref_of(port, "app:v1")), 0,
        "%s%s", rg_out, rg_err);
    cr_assert_eq(count_of(rg_out, "\"class\":\"verified\""), 1, "%s", rg_out);
    cr_assert_not_null(strstr(rg_out, "1 rejected bundle(s)"), "the untrusted bundle is reported: %s", rg_out);
    cr_assert_eq(SIGNET("audit", "-p", rp("policy.json"), "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s%s",
                 rg_out, rg_err);
    cr_assert_not_null(strstr(rg_out, "@sha256:"), "the text report lists the verified image with its finding: %s",
                       rg_out);
    /* The good bundle's blob changed in the registry's storage: that referrer is invalid, the untrusted one
       stands; neither hides the other. */
    rg_spoil_blob(rp("good.json"));
    cr_assert_eq(
        SIGNET("audit", "-p", rp("policy.json"), "--tls-verify=false", "--format", "json", ref_of(port, "app:v1")), 3,
        "%s%s", rg_out, rg_err);
    cr_assert_eq(count_of(rg_out, "\"class\":\"untrusted\""), 1, "%s", rg_out);
    cr_assert_not_null(strstr(rg_out, "REFERRER_INVALID"), "%s", rg_out);
    /* verify by reference still fails closed on the invalid referrer (unchanged). */
    cr_assert_neq(SIGNET("verify", "-p", rp("policy.json"), "--tls-verify=false", ref_of(port, "app:v1")), 0);
    /* 65 bundle entries in the fallback index: REFERRERS_TOO_MANY, unreadable, without reading them. */
    cr_assert_eq(sign__regref_parse(&ref, ref_of(port, "app:v1")), 0);
    memset(&o, 0, sizeof(o));
    o.insecure = 1;
    o.push = 1;
    o.auth_file = rp("none.json");
    cr_assert_eq(sign__registry_open(&reg, &ref, &o), 0, "%s", sign_error_last());
    {
        unsigned char d[32];
        char hex[65], subject[80];
        size_t n = 0;

        cr_assert_eq(sign__registry_get_manifest(reg, "v1", &data, &len, &mt), 0, "%s", sign_error_last());
        cr_assert_eq(sign_digest_buffer(d, sizeof(d), &n, SIGN_DIGEST_SHA256, data, len), 0);
        sign_hex_encode(hex, sizeof(hex), d, 32);
        snprintf(subject, sizeof(subject), "sha256:%s", hex);
        cr_assert_eq(sign__registry_fallback_tag(tag, sizeof(tag), subject), 0);
        free(data);
        free(mt);
    }
    cr_assert_eq(sign__registry_get_manifest(reg, tag, &data, &len, &mt), 0, "%s", sign_error_last());
    idx = json_loadb((const char *)data, len, 0, &e);
    cr_assert_not_null(idx, "%s", e.text);
    list = json_object_get(idx, "manifests");
    last = json_array_get(list, json_array_size(list) - 1);
    while (json_array_size(list) < 65) {
        json_array_append(list, last);
    }
    txt = json_dumps(idx, JSON_COMPACT);
    cr_assert_eq(sign__registry_put_manifest(reg, tag, "application/vnd.oci.image.index.v1+json", txt, strlen(txt)),
                 0, "%s", sign_error_last());
    free(txt);
    json_decref(idx);
    free(data);
    free(mt);
    sign__registry_free(reg);
    cr_assert_eq(
        SIGNET("audit", "-p", rp("policy.json"), "--tls-verify=false", "--format", "json", ref_of(port, "app:v1")), 2,
        "%s%s", rg_out, rg_err);
    cr_assert_eq(count_of(rg_out, "\"class\":\"unreadable\""), 1, "%s", rg_out);
    cr_assert_not_null(strstr(rg_out, "REFERRERS_TOO_MANY"), "%s", rg_out);
}

Test(registry, inspect_by_reference, .init = rg_setup, .fini = rg_teardown, .timeout = 240)
{
    json_t *j, *layers, *bundles;
    json_error_t e;
    int port;

    port = rg_app_v1_signed_v2_not();
    cr_assert_eq(SIGNET("inspect", "--json", "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s%s", rg_out,
                 rg_err);
    j = json_loads(rg_out, 0, &e);
    cr_assert_not_null(j, "%s: %s", e.text, rg_out);
    cr_assert_str_eq(json_string_value(json_object_get(j, "media_type")),
                     "application/vnd.oci.image.manifest.v1+json");
    cr_assert_not_null(strstr(json_string_value(json_object_get(j, "image")), "/app@sha256:"), "%s", rg_out);
    cr_assert_str_eq(json_string_value(json_object_get(j, "platform")), "linux/amd64", "%s", rg_out);
    layers = json_object_get(j, "layers");
    cr_assert_eq(json_array_size(layers), 2, "%s", rg_out);
    cr_assert_not_null(json_string_value(json_object_get(json_array_get(layers, 0), "digest")));
    bundles = json_object_get(j, "bundles");
    cr_assert_eq(json_array_size(bundles), 1, "%s", rg_out);
    cr_assert_not_null(json_string_value(json_object_get(json_array_get(bundles, 0), "key_id")), "%s", rg_out);
    cr_assert_not_null(json_string_value(json_object_get(json_array_get(bundles, 0), "created")), "%s", rg_out);
    json_decref(j);
    /* The human form; an unsigned image has no bundle. */
    cr_assert_eq(SIGNET("inspect", "--tls-verify=false", ref_of(port, "app:v1")), 0, "%s", rg_err);
    cr_assert_not_null(strstr(rg_out, "bundles:       1 attached"), "%s", rg_out);
    cr_assert_not_null(strstr(rg_out, "signer key id:"), "%s", rg_out);
    cr_assert_not_null(strstr(rg_out, "layers:        2"), "%s", rg_out);
    cr_assert_eq(SIGNET("inspect", "--tls-verify=false", ref_of(port, "app:v2")), 0, "%s", rg_err);
    cr_assert_not_null(strstr(rg_out, "bundles:       0 attached"), "%s", rg_out);
    cr_assert_not_null(strstr(rg_out, "layers:        3"), "%s", rg_out);
    /* A tag that does not exist: an error, not an empty image. */
    cr_assert_eq(SIGNET("inspect", "--tls-verify=false", ref_of(port, "app:nope")), 2, "%s", rg_out);
    cr_assert_not_null(strstr(rg_err, "404"), "%s", rg_err);
}

/*
 * Verify without --entries drops the recorded entries of every bundle's statement as soon as it is parsed
 * (nothing compares them). It dropped an archive's, not an image layer's: verify by reference of an image
 * with six attached bundles kept every layer's entries of all six (88 MiB on the 512 MiB bench image,
 * 34-45 MiB now). The layers' digests and diffIDs stay: they are still checked.
 */
Test(registry, dropped_entries_include_image_layers, .init = rg_setup, .fini = rg_teardown)
{
    sign_sign_options so = SIGN_SIGN_OPTIONS_INIT;
    sign_statement *st = NULL;
    sign_artifact **arts = NULL;
    sign_statement_layer sl;
    const char *img;
    size_t n;

    rg_build();
    img = rp("img");
    so.artifacts = &img;
    so.nartifacts = 1;
    so.ref = "v1";
    cr_assert_eq(sign_hash(&st, &arts, &so), 0, "%s", sign_error_last());
    cr_assert_eq(sign_statement_artifact_layer(&sl, st, 0, 0, 0), 0, "%s", sign_error_last());
    cr_assert_gt(sl.entry_count, 0, "the layer records its entries");
    n = sl.layer_count;
    sign__statement_drop_entries(st);
    for (size_t j = 0; j < n; j++) {
        sign_layer_info li;

        cr_assert_eq(sign_statement_artifact_layer(&sl, st, 0, 0, j), 0, "%s", sign_error_last());
        cr_assert_eq(sign_artifact_layer(&li, arts[0], 0, j), 0);
        cr_assert_eq(sl.entry_count, 0, "layer %zu still holds %zu entries", j, sl.entry_count);
        cr_assert_eq(memcmp(sl.digest, li.digest, 32), 0, "the layer digest is kept");
    }
    sign_statement_free(st);
    sign_artifacts_free(arts, 1);
}

/* The credentials files and certs.d directories: at most 16, no NULL entry, and a refusal keeps the lists set before.
 */
Test(registry, path_lists_are_bounded_and_refused_whole)
{
    const char *v[17];

    for (size_t i = 0; i < 17; i++) {
        v[i] = "/nonexistent/signet-test";
    }
    cr_assert_eq(sign_registry_set_credential_files(v, 17), SIGN_EINVAL);
    cr_assert_not_null(strstr(sign_error_last(), "at most 16 credentials files"), "%s", sign_error_last());
    cr_assert_eq(sign_registry_set_certs_dirs(v, 17), SIGN_EINVAL);
    cr_assert_not_null(strstr(sign_error_last(), "at most 16 certs.d directories"), "%s", sign_error_last());
    cr_assert_eq(sign_registry_set_credential_files(v, 16), 0);
    cr_assert_eq(sign_registry_set_certs_dirs(v, 2), 0);
    v[1] = NULL;
    cr_assert_eq(sign_registry_set_credential_files(v, 3), SIGN_EINVAL);
    cr_assert_not_null(strstr(sign_error_last(), "credentials file 1 is NULL"), "%s", sign_error_last());
    cr_assert_eq(sign_registry_set_certs_dirs(v, 3), SIGN_EINVAL);
    cr_assert_not_null(strstr(sign_error_last(), "certs.d directory 1 is NULL"), "%s", sign_error_last());
    cr_assert_eq(sign_registry_set_credential_files(NULL, 0), 0);
    cr_assert_eq(sign_registry_set_certs_dirs(NULL, 0), 0);
}
