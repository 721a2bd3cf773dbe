/* Structured events: one JSON line per sign and verify decision, for logs and audits. */
#include <stdlib.h>
#include <string.h>

#include "sign/event.h"
#include "sign/verify.h"
#include "formats.h"
#include "text.h"

static json_t *time_string(int64_t t)
{
    char buf[32];

    if (sign_format_time(buf, sizeof(buf), t != 0 ? t : sign__now()) != 0) {
        return NULL;
    }
    return json_string(buf);
}

static json_t *hex_string(const unsigned char *d, size_t n)
{
    char hex[2 * SIGN_DIGEST_MAX_LEN + 1];

    if (n > SIGN_DIGEST_MAX_LEN || sign_hex_encode(hex, sizeof(hex), d, n) != 0) {
        return NULL;
    }
    return json_string(hex);
}

/* Common head of every event. */
static json_t *event_head(const char *name, int64_t t)
{
    return json_pack("{s:s,s:i,s:o,s:s}", "event", name, "v", SIGN_EVENT_VERSION, "time", time_string(t), "tool",
                     "signet/" SIGN_VERSION_STRING);
}

static int finish(char **out, json_t *ev)
{
    size_t n = 0;
    int r;

    if (ev == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory building an event");
    }
    r = sign__json_dump(out, &n, ev, 0);
    json_decref(ev);
    /* Names in an event come from input: no raw DEL, C1 or bidi character may reach a log reader's terminal. */
    if (r == 0 && sign__text_json_printable(out, &n) != 0) {
        free(*out);
        *out = NULL;
        r = sign__error(SIGN_ENOMEM, "out of memory building an event");
    }
    return r;
}

int sign_event_verify(char **out, const sign_verify_result *r, const sign_policy *policy, const char *policy_path,
                      int64_t time)
{
    json_t *verdict = NULL, *ev = NULL, *checks, *c, *pol;
    char *text = NULL;
    const char *decision;
    size_t i;
    int rc;

    if (out == NULL || r == NULL) {
        return sign__error(SIGN_EINVAL, "sign_event_verify: missing argument");
    }
    *out = NULL;
    if ((rc = sign_verify_result_json(&text, r)) != 0) {
        return rc;
    }
    /* sign__json_parse: jansson's own parse can lose a byte under memory pressure (json.c). */
    rc = sign__json_parse(&verdict, text, strlen(text), NULL, "verification verdict");
    free(text);
    if (rc != 0) {
        return rc;
    }
    /* Passing checks keep their facts; only the others carry a message. */
    checks = json_object_get(verdict, "checks");
    json_array_foreach(checks, i, c)
    {
        const char *status = json_string_value(json_object_get(c, "status"));

        if (status != NULL && (strcmp(status, "pass") == 0)) {
            json_object_del(c, "message");
        }
    }
    decision = sign_verify_result_ok(r) ? "pass" : sign_verify_result_code(r) == 0 ? "warn" : "fail";
    if ((ev = event_head("signet.verify", time)) == NULL) {
        goto fail;
    }
    pol = json_object();
    if (pol == NULL || json_object_set_new(ev, "policy", pol) != 0) {
        goto fail;
    }
    if (policy_path != NULL && json_object_set_new(pol, "path", sign__json_text(policy_path)) != 0) {
        goto fail;
    }
    if (policy != NULL &&
        json_object_set_new(pol, "sha256", hex_string(sign_policy_sha256(policy), SIGN_SHA256_LEN)) != 0) {
        goto fail;
    }
    if (json_object_set_new(ev, "decision", json_string(decision)) != 0 || json_object_update(ev, verdict) != 0) {
        goto fail;
    }
    json_decref(verdict);
    return finish(out, ev);
fail:
    json_decref(verdict);
    json_decref(ev);
    return sign__error(SIGN_ENOMEM, "out of memory building an event");
}

/*
 * The sign event's code: a stable upper-case reason code, as in the verify
 * verdict (the sentence is in "error").
 */
static const char *sign_reason_code(int rc)
{
    switch (rc) {
    case SIGN_OK: return "OK";
    case SIGN_EFINDING: return "FINDING_NOT_ALLOWED";
    case SIGN_EPASSPHRASE: return "PASSPHRASE_WRONG";
    case SIGN_ENOTFOUND: return "INPUT_MISSING";
    case SIGN_EIO: return "IO_ERROR";
    case SIGN_EPARSE: return "INPUT_MALFORMED";
    case SIGN_ELIMIT: return "LIMIT_EXCEEDED";
    case SIGN_EUNSUPPORTED: return "UNSUPPORTED";
    case SIGN_EEXISTS: return "OUTPUT_EXISTS";
    case SIGN_EINVAL: return "INVALID_ARGUMENT";
    case SIGN_ENOMEM: return "OUT_OF_MEMORY";
    case SIGN_ECRYPTO: return "CRYPTO_ERROR";
    case SIGN_ENETWORK: return "TSA_UNREACHABLE";
    case SIGN_ETIMEOUT: return "TSA_TIMEOUT";
    case SIGN_EHTTP: return "TSA_HTTP_ERROR";
    case SIGN_ETSA_REJECTED: return "TSA_REJECTED";
    case SIGN_ETSA_ANSWER: return "TSA_ANSWER_INVALID";
    case SIGN_EEXPIRED: return "CERT_EXPIRED";
    default: return "ERROR";
    }
}

static int allowed(const sign_sign_options *opts, const char *id)
{
    for (size_t i = 0; i < opts->nallow; i++) {
        if (strcmp(opts->allow[i], id) == 0) {
            return 1;
        }
    }
    return 0;
}

static json_t *artifact_event(const sign_artifact *a, const sign_sign_options *opts)
{
    json_t *o, *fs = json_array();

    if (fs == NULL) {
        return NULL;
    }
    for (size_t j = 0; j < sign_artifact_finding_count(a); j++) {
        const sign_finding *f = sign_artifact_finding(a, j);
        json_t *fo = json_pack("{s:s,s:s,s:b}", "id", f->id, "severity", sign_severity_name(f->severity), "allowed",
                               allowed(opts, f->id));

        if (fo != NULL && f->path != NULL && json_object_set_new(fo, "path", sign__json_text(f->path)) != 0) {
            json_decref(fo);
            fo = NULL;
        }
        if (fo == NULL || json_array_append_new(fs, fo) != 0) {
            json_decref(fs);
            return NULL;
        }
    }
    o = json_pack("{s:o,s:s,s:I,s:o,s:I,s:o}", "name", sign__json_text(sign_artifact_name(a)), "kind",
                  sign_artifact_kind_name(sign_artifact_get_kind(a)), "size", (json_int_t)sign_artifact_size(a),
                  "sha256", hex_string(sign_artifact_sha256(a), SIGN_SHA256_LEN), "entries",
                  (json_int_t)sign_artifact_entry_count(a), "findings", fs);
    return o;
}

int sign_event_sign(char **out, int rc, const sign_sign_options *opts, sign_artifact *const *arts,
                    const sign_key *key, int64_t time)
{
    json_t *ev = NULL, *list = NULL;
    char keyid[SIGN_KEYID_SIZE];
    const char *decision = rc == 0 ? "signed" : rc == SIGN_EFINDING ? "refused" : "error";

    if (out == NULL || opts == NULL) {
        return sign__error(SIGN_EINVAL, "sign_event_sign: missing argument");
    }
    *out = NULL;
    if ((ev = event_head("signet.sign", time)) == NULL ||
        json_object_set_new(ev, "decision", json_string(decision)) != 0 ||
        json_object_set_new(ev, "code", json_string(sign_reason_code(rc))) != 0) {
        goto fail;
    }
    /* The error message of a failure: the caller passes rc right after sign_sign(). */
    if (rc != 0 && json_object_set_new(ev, "error", sign__json_text(sign_error_last())) != 0) {
        goto fail;
    }
    if (key != NULL && sign_key_id(keyid, sizeof(keyid), key) == 0 &&
        json_object_set_new(ev, "key_id", json_string(keyid)) != 0) {
        goto fail;
    }
    if (json_object_set_new(ev, "bundle", sign__json_text(opts->output)) != 0) {
        goto fail;
    }
    if ((list = json_array()) == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < opts->nartifacts; i++) {
        json_t *a = arts != NULL && arts[i] != NULL ? artifact_event(arts[i], opts)
                                                    : json_pack("{s:o}", "path", sign__json_text(opts->artifacts[i]));

        if (a == NULL || json_array_append_new(list, a) != 0) {
            goto fail;
        }
    }
    if (json_object_set_new(ev, "artifacts", list) != 0) {
        list = NULL;
        goto fail;
    }
    return finish(out, ev);
fail:
    json_decref(list);
    json_decref(ev);
    return sign__error(SIGN_ENOMEM, "out of memory building an event");
}
