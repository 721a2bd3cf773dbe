#!/bin/sh
# Self-test of tests/lint/layers.py (run by `make lint`): the tree as committed
# passes; a copy of it with one deliberate violation at a time fails, naming
# the file; files in a new folder's place (net/) fit without editing the script.
# Usage: layers_test.sh -IDIR ...   (the build's -I flags)
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/signet-layers.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
cases=0

fresh() {
    rm -rf "$tmp/t" && mkdir -p "$tmp/t/tests" &&
        cp -R "$src/libsign" "$src/include" "$src/cmd" "$tmp/t/" && cp -R "$src/tests/lint" "$tmp/t/tests/"
}
expect() {
    want=$1 what=$2 needle=${3:-}
    [ "$want" = fail ] && cases=$((cases + 1))
    out=$(python3 "$tmp/t/tests/lint/layers.py" "$tmp/t" $FLAGS 2>&1) && got=pass || got=fail
    if [ "$got" != "$want" ] || { [ -n "$needle" ] && ! printf '%s' "$out" | grep -qF -- "$needle"; }; then
        echo "layers_test: FAIL: $what: expected $want${needle:+ naming '$needle'}, got $got:"
        printf '%s\n' "$out"
        fails=$((fails + 1))
    fi
}
FLAGS="$*"
add_include() { # file line: put an #include line at the top of the copy's file
    printf '%s\n' "$2" | cat - "$tmp/t/$1" >"$tmp/x" && mv "$tmp/x" "$tmp/t/$1"
}

fresh
expect pass "the tree as committed" ""

fresh; add_include libsign/util/encoding.c '#include "formats.h"'
expect fail "util/ including the formats layer" "libsign/util/encoding.c:1: includes libsign/formats.h"

fresh; add_include libsign/pki/x509.c '#include "sign/verify.h"'
expect fail "pki/ including a public header of verify/" "libsign/pki/x509.c:1: includes include/sign/verify.h"

fresh; add_include libsign/artifact/zip.c '#include "sign/sign.h"'
expect fail "the library including the umbrella header" "libsign/artifact/zip.c:1: includes include/sign/sign.h"

fresh; add_include cmd/signet/main.c '#include "util.h"'
expect fail "cmd/ including a private header" "private to libsign"

fresh; add_include libsign/util/json.c '#include "internal.h"'
expect fail "a header replaced in 0.2" "replaced by util.h"

# Files of the coming branches, by folder: net/ above util/, util/ below net/.
fresh
mkdir -p "$tmp/t/libsign/net"
printf '#include "util.h"\n' >"$tmp/t/libsign/net/http.h"
printf '#include "http.h"\n#include "util.h"\n' >"$tmp/t/libsign/net/http.c"
printf '#include "http.h"\n#include "pki.h"\n' >"$tmp/t/libsign/pki/crl.c"
printf '#include "util.h"\n' >"$tmp/t/libsign/util/path.h"
printf '#include "path.h"\n#include "util.h"\n' >"$tmp/t/libsign/util/path.c"
expect pass "new files in net/, util/ and pki/ that respect the layers" ""
printf '#include "http.h"\n' >"$tmp/t/libsign/util/text.c"
expect fail "util/ including net/" "libsign/util/text.c:1: includes libsign/net/http.h, of layer net"

fresh; mkdir -p "$tmp/t/libsign/plugin" && printf '#include "util.h"\n' >"$tmp/t/libsign/plugin/plugin.c"
expect fail "a folder with no layer" "libsign/plugin/plugin.c: a folder with no layer"

fresh; printf 'libsign/util/json.c include/sign/verify.h\n' >>"$tmp/t/tests/lint/layering-exceptions.txt"
expect fail "an exception that no longer applies" "remove the line"

[ "$fails" -eq 0 ] || { echo "layers_test: $fails failure(s)"; exit 1; }
echo "layers_test: the committed tree passes, each of $cases deliberate violations fails"
