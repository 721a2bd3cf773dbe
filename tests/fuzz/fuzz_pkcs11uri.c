/*
 * Fuzz target: the RFC 7512 URI parser (sign_pkcs11_uri_parse). Any bytes:
 * a URI that parses has every text attribute NUL-free and shorter than the
 * input, an id no longer than the input, and parses the same way twice.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static void check_text(const char *s, size_t size, const char *name)
{
    if (s != NULL && strlen(s) > size) {
        fuzz_fail("attribute %s longer than the input", name);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_pkcs11_uri *u = NULL, *v = NULL;
    char *s;
    int r;

    if ((s = malloc(size + 1)) == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    if ((r = sign_pkcs11_uri_parse(&u, s)) != 0) {
        if (u != NULL) {
            fuzz_fail("sign_pkcs11_uri_parse failed and set *out");
        }
        fuzz_check_error(r, "sign_pkcs11_uri_parse");
    } else {
        check_text(u->token, size, "token");
        check_text(u->object, size, "object");
        check_text(u->serial, size, "serial");
        check_text(u->module_path, size, "module-path");
        check_text(u->pin_value, size, "pin-value");
        if (u->has_id && u->id_len > size) {
            fuzz_fail("id longer than the input");
        }
        if (sign_pkcs11_uri_parse(&v, s) != 0 || (u->object == NULL) != (v->object == NULL) ||
            u->id_len != v->id_len || (u->id_len > 0 && memcmp(u->id, v->id, u->id_len) != 0)) {
            fuzz_fail("the same URI parsed differently twice");
        }
        sign_pkcs11_uri_free(v);
        sign_pkcs11_uri_free(u);
    }
    free(s);
    return 0;
}
