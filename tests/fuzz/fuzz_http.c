/*
 * Fuzz target: the HTTP response parser of libsign's client
 * (sign__http_parse_response: status line, interim answers, headers,
 * Content-Length, chunked and close-delimited bodies, the cap). The first
 * byte sets how the bytes arrive (pieces of 1 to 32 bytes, or as much as
 * fits) and the options (any status taken, a small cap, a streaming
 * callback); the rest is what the "server" sent before closing.
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"

#include "fuzz.h"

#define FUZZ_HTTP_CAP 4096

static int on_body(void *arg, const unsigned char *data, size_t len)
{
    size_t *got = arg;

    fuzz_touch_bytes(data, len);
    *got += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign__http_options o;
    sign__http_response r;
    size_t streamed = 0, piece;
    int rc;

    if (size < 1) {
        return 0;
    }
    memset(&o, 0, sizeof(o));
    piece = (data[0] & 0x1f) == 0x1f ? 0 : (size_t)(data[0] & 0x1f) + 1;
    if (data[0] & 0x20) {
        o.flags = SIGN__HTTP_ANY_STATUS;
    }
    if (data[0] & 0x40) {
        o.max_body = FUZZ_HTTP_CAP;
    }
    if (data[0] & 0x80) {
        o.on_body = on_body;
        o.arg = &streamed;
    }
    rc = sign__http_parse_response(&r, data + 1, size - 1, piece, &o);
    if (rc != 0) {
        fuzz_check_error(rc, "sign__http_parse_response");
        if (strstr(sign_error_last(), "http://response.invalid/: ") != sign_error_last()) {
            fuzz_fail("the message does not start with the URL: %s", sign_error_last());
        }
        for (const char *p = sign_error_last(); *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) {
                fuzz_fail("a control character in the message: %s", sign_error_last());
            }
        }
        if (r.body != NULL) {
            fuzz_fail("a refused response left a body");
        }
        sign__http_response_free(&r);
        return 0;
    }
    if (r.status < 100 || r.status > 599 || (o.flags == 0 && (r.status < 200 || r.status > 299))) {
        fuzz_fail("status %d returned (flags %u)", r.status, o.flags);
    }
    if (o.on_body != NULL) {
        if (r.body != NULL) {
            fuzz_fail("a streamed body was also buffered");
        }
    } else {
        if (r.body == NULL || r.body[r.body_len] != '\0') {
            fuzz_fail("the body is missing or not NUL-terminated");
        }
        streamed = r.body_len;
    }
    if (streamed > (o.max_body > 0 ? o.max_body : SIGN__HTTP_MAX_BODY) || streamed >= size) {
        fuzz_fail("%zu body bytes from %zu input bytes (cap %zu)", streamed, size, o.max_body);
    }
    if (r.content_length >= 0 && r.status != 204 && r.status != 304 && (uint64_t)r.content_length != streamed) {
        fuzz_fail("Content-Length %lld, body %zu bytes", (long long)r.content_length, streamed);
    }
    fuzz_touch(r.content_type);
    fuzz_touch(r.location);
    fuzz_touch(r.www_authenticate);
    sign__http_response_free(&r);
    return 0;
}
