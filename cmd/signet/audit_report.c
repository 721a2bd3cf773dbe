/* signet audit's reports: JSON lines (one record per artifact, then the summary), text, and one
   self-contained HTML page (inline CSS, no script, no request leaves the file). */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

void audit_record_free(audit_record *r)
{
    if (r != NULL) {
        free(r->path);
        free(r->message);
        free(r);
    }
}

/* A comma-separated list as a JSON array. */
static json_t *list_json(const char *csv)
{
    json_t *a = json_array();
    const char *p = csv;

    while (a != NULL && p != NULL && *p != '\0') {
        size_t n = strcspn(p, ",");

        json_array_append_new(a, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return a;
}

static json_t *text_json(const char *s)
{
    char *safe = sign_text_safe(s != NULL ? s : "");
    json_t *j = json_string(safe != NULL ? safe : "");

    free(safe);
    return j;
}

char *audit_record_json(const audit_record *r)
{
    json_t *o = json_object();
    char when[32] = "";
    char *s;

    if (r->signing_time != 0) {
        sign_format_time(when, sizeof(when), r->signing_time);
    }
    json_object_set_new(o, "path", text_json(r->path));
    json_object_set_new(o, "size", json_integer((json_int_t)r->size));
    json_object_set_new(o, "sha256", r->sha256[0] != '\0' ? json_string(r->sha256) : json_null());
    json_object_set_new(o, "class", json_string(sign_audit_class_name(r->cls)));
    json_object_set_new(o, "reasons", list_json(r->reasons));
    json_object_set_new(o, "signers", list_json(r->signers));
    json_object_set_new(o, "signing_time", when[0] != '\0' ? json_string(when) : json_null());
    json_object_set_new(o, "warnings", list_json(r->warnings));
    if (r->warnings[0] != '\0') {
        json_object_set_new(o, "future_class", json_string(sign_audit_class_name(r->future)));
    }
    if (r->message != NULL) {
        json_object_set_new(o, "message", text_json(r->message));
    }
    s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

static void csv_of(char *out, size_t size, const json_t *arr)
{
    size_t i, used = 0;
    json_t *v;

    out[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        int w = snprintf(out + used, size - used, "%s%s", used > 0 ? "," : "",
                         json_string_value(v) ? json_string_value(v) : "");

        if (w < 0 || (size_t)w >= size - used) {
            break;
        }
        used += (size_t)w;
    }
}

int audit_record_parse(audit_record *r, const char *line)
{
    json_t *o = json_loads(line, 0, NULL);
    const char *cls = json_string_value(json_object_get(o, "class")), *path, *t;

    memset(r, 0, sizeof(*r));
    if (o == NULL || cls == NULL || (path = json_string_value(json_object_get(o, "path"))) == NULL ||
        sign_audit_class_parse(&r->cls, cls) != 0) {
        json_decref(o);
        return -1;
    }
    r->path = strdup(path);
    r->size = (uint64_t)json_integer_value(json_object_get(o, "size"));
    snprintf(r->sha256, sizeof(r->sha256), "%s",
             json_string_value(json_object_get(o, "sha256")) ? json_string_value(json_object_get(o, "sha256")) : "");
    csv_of(r->reasons, sizeof(r->reasons), json_object_get(o, "reasons"));
    csv_of(r->signers, sizeof(r->signers), json_object_get(o, "signers"));
    csv_of(r->warnings, sizeof(r->warnings), json_object_get(o, "warnings"));
    if ((t = json_string_value(json_object_get(o, "signing_time"))) != NULL) {
        sign_parse_time(&r->signing_time, t);
    }
    if ((t = json_string_value(json_object_get(o, "future_class"))) != NULL) {
        sign_audit_class_parse(&r->future, t);
    }
    if ((t = json_string_value(json_object_get(o, "message"))) != NULL) {
        r->message = strdup(t);
    }
    json_decref(o);
    return r->path != NULL ? 0 : -1;
}

char *audit_summary_json(const audit_summary *s)
{
    json_t *o = json_object(), *counts = json_object();
    char *out;

    for (int c = 0; c < SIGN_AUDIT_NCLASSES; c++) {
        json_object_set_new(counts, sign_audit_class_name((sign_audit_class)c),
                            json_integer((json_int_t)s->counts[c]));
    }
    json_object_set_new(o, "summary", json_true());
    json_object_set_new(o, "counts", counts);
    json_object_set_new(o, "total", json_integer((json_int_t)s->total));
    json_object_set_new(o, "warned", json_integer((json_int_t)s->warned));
    json_object_set_new(o, "policy_sha256", json_string(s->policy_sha256));
    json_object_set_new(o, "judged_at", json_string(s->judged));
    json_object_set_new(o, "at_given", json_boolean(s->at_given));
    json_object_set_new(o, "horizon", s->horizon[0] != '\0' ? json_string(s->horizon) : json_null());
    json_object_set_new(o, "signet_version", json_string(SIGN_VERSION_STRING));
    json_object_set_new(o, "duration_s", json_real(s->seconds));
    out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return out;
}

int audit_summary_parse(audit_summary *s, const char *line)
{
    json_t *o = json_loads(line, 0, NULL), *counts;
    const char *v;

    memset(s, 0, sizeof(*s));
    if (o == NULL || !json_is_true(json_object_get(o, "summary")) ||
        !json_is_object(counts = json_object_get(o, "counts"))) {
        json_decref(o);
        return -1;
    }
    for (int c = 0; c < SIGN_AUDIT_NCLASSES; c++) {
        s->counts[c] =
            (uint64_t)json_integer_value(json_object_get(counts, sign_audit_class_name((sign_audit_class)c)));
    }
    s->total = (uint64_t)json_integer_value(json_object_get(o, "total"));
    s->warned = (uint64_t)json_integer_value(json_object_get(o, "warned"));
    snprintf(s->policy_sha256, sizeof(s->policy_sha256), "%s",
             (v = json_string_value(json_object_get(o, "policy_sha256"))) ? v : "");
    snprintf(s->judged, sizeof(s->judged), "%s", (v = json_string_value(json_object_get(o, "judged_at"))) ? v : "");
    snprintf(s->horizon, sizeof(s->horizon), "%s", (v = json_string_value(json_object_get(o, "horizon"))) ? v : "");
    s->at_given = json_is_true(json_object_get(o, "at_given"));
    s->seconds = json_number_value(json_object_get(o, "duration_s"));
    json_decref(o);
    return 0;
}

int audit_write_text(FILE *f, const audit_summary *s, audit_spool *bad)
{
    audit_record r;
    int got;

    fprintf(f, "audit of %" PRIu64 " artifact(s), judged at %s%s, policy sha256 %s\n\n", s->total, s->judged,
            s->at_given ? " (--at)" : "", s->policy_sha256);
    for (int c = 0; c < SIGN_AUDIT_NCLASSES; c++) {
        fprintf(f, "  %-11s %10" PRIu64 "\n", sign_audit_class_name((sign_audit_class)c), s->counts[c]);
    }
    if (s->horizon[0] != '\0') {
        fprintf(f, "  %-11s %10" PRIu64 "  (verify now, not at %s)\n", "warned", s->warned, s->horizon);
    }
    if (bad->count > 0) {
        fputc('\n', f);
    }
    while ((got = audit_spool_next(bad, &r)) == 1) {
        char *p = sign_text_safe(r.path);

        fprintf(f, "%-10s %s: %s\n", sign_audit_class_name(r.cls), p != NULL ? p : "",
                r.reasons[0] != '\0' ? r.reasons : "-");
        free(p);
    }
    return got;
}

/* Text made safe inside HTML (after sign_text_safe: no control characters). */
static void html_text(FILE *f, const char *s)
{
    char *safe = sign_text_safe(s != NULL ? s : "");

    for (const char *p = safe != NULL ? safe : ""; *p != '\0'; p++) {
        switch (*p) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*p, f); break;
        }
    }
    free(safe);
}

static const char *const class_colour[SIGN_AUDIT_NCLASSES] = {"#2e7d32", "#b71c1c", "#e65100", "#6a1b9a", "#f9a825",
                                                              "#4527a0", "#1565c0", "#546e7a", "#8d6e63"};

static void html_bars(FILE *f, const audit_summary *s)
{
    uint64_t max = 1;

    for (int c = 0; c < SIGN_AUDIT_NCLASSES; c++) {
        max = s->counts[c] > max ? s->counts[c] : max;
    }
    fputs("<h2>Summary</h2>\n<table class=\"bars\">\n", f);
    for (int c = 0; c < SIGN_AUDIT_NCLASSES; c++) {
        unsigned pct = (unsigned)(s->counts[c] * 100 / max);

        fprintf(f,
                "<tr><th>%s</th><td class=\"n\">%" PRIu64 "</td><td class=\"bar\"><div style=\"width:%u%%;"
                "background:%s\"></div></td></tr>\n",
                sign_audit_class_name((sign_audit_class)c), s->counts[c], pct > 0 || s->counts[c] == 0 ? pct : 1,
                class_colour[c]);
    }
    fputs("</table>\n", f);
}

static int html_warned(FILE *f, const audit_summary *s, audit_spool *warned)
{
    audit_record r;
    int got = 0;

    fputs("<h2>Look-ahead</h2>\n<p>Verified now, not at ", f);
    html_text(f, s->horizon);
    fprintf(f, ": %" PRIu64 " artifact(s).</p>\n", warned->count);
    if (warned->count == 0) {
        return 0;
    }
    fputs("<table class=\"list\"><tr><th>artifact</th><th>then</th><th>why</th></tr>\n", f);
    while ((got = audit_spool_next(warned, &r)) == 1) {
        fputs("<tr><td><code>", f);
        html_text(f, r.path);
        fputs("</code></td><td>", f);
        html_text(f, sign_audit_class_name(r.future));
        fputs("</td><td>", f);
        html_text(f, r.warnings);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    return got;
}

static int html_bad(FILE *f, audit_spool *bad)
{
    audit_record r;
    int got = 0;

    fprintf(f, "<h2>Not verified (%" PRIu64 ")</h2>\n", bad->count);
    if (bad->count == 0) {
        return 0;
    }
    fputs("<table class=\"list\"><tr><th>class</th><th>artifact</th><th>reasons</th><th>detail</th></tr>\n", f);
    while ((got = audit_spool_next(bad, &r)) == 1) {
        fputs("<tr><td>", f);
        html_text(f, sign_audit_class_name(r.cls));
        fputs("</td><td><code>", f);
        html_text(f, r.path);
        fputs("</code></td><td>", f);
        html_text(f, r.reasons);
        fputs("</td><td>", f);
        html_text(f, r.message != NULL ? r.message : "");
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    return got;
}

int audit_write_html(FILE *f, const audit_summary *s, audit_spool *bad, audit_spool *warned)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
          "<title>signet audit</title>\n<style>\n"
          "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\n"
          "table{border-collapse:collapse}td,th{padding:.25em .6em;text-align:left;vertical-align:top}\n"
          ".bars th{width:7em}.bars .n{text-align:right;width:6em}.bars .bar{width:30em}"
          ".bars .bar div{height:1em;min-width:0}\n"
          ".list td,.list th{border-bottom:1px solid #ddd}.list code{word-break:break-all}\n"
          ".ok{color:#2e7d32}.bad{color:#b71c1c}\n</style></head><body>\n<h1>signet audit</h1>\n",
          f);
    fprintf(f,
            "<p id=\"verdict\" class=\"%s\">%" PRIu64 " artifact(s): %" PRIu64 " verified, %" PRIu64
            " not verified.</p>\n",
            s->counts[SIGN_AUDIT_VERIFIED] == s->total ? "ok" : "bad", s->total, s->counts[SIGN_AUDIT_VERIFIED],
            s->total - s->counts[SIGN_AUDIT_VERIFIED]);
    fputs("<p>Judged at ", f);
    html_text(f, s->judged);
    fputs(s->at_given ? " (as of the time given with --at)" : "", f);
    fputs(", policy SHA-256 <code>", f);
    html_text(f, s->policy_sha256);
    fprintf(f, "</code>, signet %s.</p>\n", SIGN_VERSION_STRING);
    html_bars(f, s);
    if (s->horizon[0] != '\0' && html_warned(f, s, warned) != 0) {
        return -1;
    }
    if (html_bad(f, bad) != 0) {
        return -1;
    }
    fputs("</body></html>\n", f);
    return 0;
}
