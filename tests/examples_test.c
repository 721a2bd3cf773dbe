/*
 * The deploy-hook recipes of examples/ (examples/README.md), run here with
 * their paths (/usr/local/bin/signet, /etc/myapp, /var/lib/myapp, /srv/myapp)
 * moved into a temporary directory: the systemd units' commands executed and
 * the units checked with systemd-analyze verify, the CI shell steps, the
 * Lambda script's verify step, the Kubernetes init container's command, and
 * the git post-receive hook in a real bare repository.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "zipgen.h"

static char *ex_dir;

static char *ex_p(const char *name)
{
    return tu_path(ex_dir, name);
}

/* sh -c script in the fixture directory, with SIGNET set; stdout and stderr captured into *out. */
static int ex_sh(char **out, const char *script)
{
    char env[600], cmd[8192];
    const char *envv[] = {env, NULL};
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    char *err = NULL;
    int rc;

    snprintf(env, sizeof(env), "SIGNET=%s", getenv("SIGNET_BIN"));
    snprintf(cmd, sizeof(cmd), "cd '%s' && { %s\n} 2>&1", ex_dir, script);
    rc = tu_run(out, &err, envv, argv);
    free(err);
    return rc;
}

static void ex_setup(void)
{
    char script[4096], *out = NULL;
    zg_entry e[] = {
        {.name = "bin/", .unix_mode = 040755},
        {.name = "bin/run.sh", .data = "#!/bin/sh\necho running\n", .len = 23, .unix_mode = 0100755},
    };
    char *zip;

    ex_dir = tu_mkdtemp();
    zip = ex_p("myapp.zip");
    zg_write(zip, e, 2, NULL);
    free(zip);
    snprintf(
        script, sizeof(script),
        "mkdir -p etc/myapp var/lib/myapp/drop srv units && \"$SIGNET\" keygen --no-passphrase -o release "
        ">/dev/null && printf '{\"version\":1,\"keys\":[{\"name\":\"release\",\"public_key\":\"%s/release.pub\"}]}' "
        ">etc/myapp/policy.json && \"$SIGNET\" sign -k release.key myapp.zip >/dev/null && cp myapp.zip "
        "myapp.zip.sigstore.json var/lib/myapp/drop/",
        ex_dir);
    cr_assert_eq(ex_sh(&out, script), 0, "%s", out);
    free(out);
}

static void ex_teardown(void)
{
    tu_rmtree(ex_dir);
    free(ex_dir);
}

TestSuite(examples, .init = ex_setup, .fini = ex_teardown, .timeout = 120);

/* examples/<rel> with the recipe's paths moved into the fixture, written to the fixture as <as>. */
static void ex_localise(const char *rel, const char *as)
{
    char src[512], script[2048], *out = NULL;

    snprintf(src, sizeof(src), "%s/examples/%s", tu_src(), rel);
    snprintf(script, sizeof(script),
             "sed -e \"s|/usr/local/bin/signet|$SIGNET|g\" -e \"s|/etc/myapp|$PWD/etc/myapp|g\" "
             "-e \"s|/var/lib/myapp|$PWD/var/lib/myapp|g\" -e \"s|/srv/myapp|$PWD/srv/myapp|g\" '%s' >'%s'",
             src, as);
    cr_assert_eq(ex_sh(&out, script), 0, "%s", out);
    free(out);
}

Test(examples, systemd_units_run_their_deploy_and_pass_systemd_analyze_verify)
{
    char *out = NULL;

    if (access("/usr/bin/systemd-analyze", X_OK) != 0) {
        cr_skip_test("systemd-analyze is not installed (.ci/deps: systemd)");
    }
    ex_localise("systemd/myapp.service", "units/myapp.service");
    ex_localise("systemd/myapp-deploy.service", "units/myapp-deploy.service");
    ex_localise("systemd/myapp-deploy.path", "units/myapp-deploy.path");
    /* The commands the units run: ExecStartPre= of the app, ExecStart= of the deploy unit, then the app. */
    cr_assert_eq(ex_sh(&out, "sed -n 's/^ExecStartPre=//p' units/myapp.service >pre.sh && sh -e pre.sh && "
                             "sed -n 's/^ExecStart=//p' units/myapp-deploy.service >deploy.sh && sh -e deploy.sh && "
                             "test \"$(sh -c \"$(sed -n 's/^ExecStart=//p' units/myapp.service)\")\" = running && "
                             "grep -q '\"event\":\"signet.deploy\"' var/lib/myapp/deploy-events.log"),
                 0, "%s", out);
    free(out);
    out = NULL;
    cr_assert_eq(ex_sh(&out, "cd units && systemd-analyze verify ./myapp.service ./myapp-deploy.service "
                             "./myapp-deploy.path"),
                 0, "%s", out);
    free(out);
}

Test(examples, systemd_exec_start_pre_refuses_a_changed_artifact)
{
    char *out = NULL;

    ex_localise("systemd/myapp.service", "units/myapp.service");
    cr_assert_eq(ex_sh(&out, "printf 'appended' >>var/lib/myapp/drop/myapp.zip && "
                             "sed -n 's/^ExecStartPre=//p' units/myapp.service >pre.sh && sh -e pre.sh"),
                 1, "%s", out);
    free(out);
    {
        char *cur = ex_p("srv/myapp/current");

        cr_assert_not(tu_exists(cur), "nothing was deployed");
        free(cur);
    }
}

Test(examples, ci_shell_steps_sign_upload_and_verify_before_publishing)
{
    char script[2048], *out = NULL;

    snprintf(script, sizeof(script),
             "SIGNING_KEY=\"$(cat release.key)\" ARTIFACT=myapp.zip UPLOAD_DIR=upload RELEASE_VERSION=1.0.0 "
             "sh '%s/examples/ci/sign-and-upload.sh' && ARTIFACT=upload/myapp.zip POLICY=etc/myapp/policy.json "
             "sh '%s/examples/ci/verify-before-publish.sh' && grep -q '\"verdict\":\"verified\"' verdict.json",
             tu_src(), tu_src());
    cr_assert_eq(ex_sh(&out, script), 0, "%s", out);
    free(out);
    out = NULL;
    snprintf(script, sizeof(script),
             "printf x >>upload/myapp.zip; ARTIFACT=upload/myapp.zip POLICY=etc/myapp/policy.json "
             "sh '%s/examples/ci/verify-before-publish.sh'",
             tu_src());
    cr_assert_eq(ex_sh(&out, script), 1, "a changed upload is not published: %s", out);
    free(out);
}

Test(examples, lambda_script_verifies_before_updating_the_function)
{
    char script[1024], *out = NULL;

    snprintf(script, sizeof(script),
             "DRY_RUN=1 sh '%s/examples/lambda/deploy.sh' myapp myapp.zip etc/myapp/policy.json", tu_src());
    cr_assert_eq(ex_sh(&out, script), 0, "%s", out);
    cr_assert_not_null(strstr(out, "dry run"), "%s", out);
    free(out);
    out = NULL;
    snprintf(script, sizeof(script),
             "printf x >>myapp.zip; DRY_RUN=1 sh '%s/examples/lambda/deploy.sh' myapp myapp.zip "
             "etc/myapp/policy.json",
             tu_src());
    cr_assert_eq(ex_sh(&out, script), 1, "%s", out);
    cr_assert_null(strstr(out, "dry run"), "%s", out);
    free(out);
}

Test(examples, kubernetes_init_container_command_deploys)
{
    char script[2048], *out = NULL;

    /* The init container's command, its mounts mapped onto the fixture. */
    snprintf(script, sizeof(script),
             "python3 - '%s/examples/kubernetes/init-container.yaml' >cmd.txt <<'PY'\n"
             "import sys, yaml\n"
             "pod = yaml.safe_load(open(sys.argv[1]))\n"
             "c = pod['spec']['initContainers'][0]\n"
             "print('\\n'.join(c['command']))\n"
             "PY\n"
             "set -- $(sed -e \"s|^signet$|$SIGNET|\" -e \"s|^/etc/signet|$PWD/etc/myapp|\" "
             "-e \"s|^/srv/myapp|$PWD/srv/myapp|\" -e \"s|^/drop|$PWD/var/lib/myapp/drop|\" cmd.txt) && \"$@\" && "
             "test -x srv/myapp/current/bin/run.sh",
             tu_src());
    if (ex_sh(NULL, "python3 -c 'import yaml'") != 0) {
        cr_skip_test("python3-yaml is not installed");
    }
    cr_assert_eq(ex_sh(&out, script), 0, "%s", out);
    free(out);
}

Test(examples, git_post_receive_hook_deploys_a_pushed_release_tag)
{
    char script[4096], *out = NULL;

    snprintf(
        script, sizeof(script),
        "git init -q --bare repo.git && cp '%s/examples/git/post-receive' repo.git/hooks/post-receive && "
        "chmod +x repo.git/hooks/post-receive && git -C repo.git config signet.policy \"$PWD/etc/myapp/policy.json\" "
        "&& git -C repo.git config signet.to \"$PWD/srv/myapp\" && "
        "git init -q work && mkdir work/release && cp myapp.zip myapp.zip.sigstore.json work/release/ && "
        "cd work && git add release && git -c user.name=t -c user.email=t@example.com commit -qm r1 && "
        "git tag v1.0 && git push -q ../repo.git HEAD:refs/heads/main v1.0 && cd .. && "
        "test \"$(srv/myapp/current/bin/run.sh)\" = running",
        tu_src());
    cr_assert_eq(ex_sh(&out, script), 0, "%s", out);
    cr_assert_not_null(strstr(out, "deployed v1.0"), "%s", out);
    free(out);
}
