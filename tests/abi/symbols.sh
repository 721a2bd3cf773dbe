#!/bin/sh
# The exported symbols of libsign.so against the committed list (tests/abi/symbols.txt).
#   symbols.sh list LIB          print LIB's exports, one a line, sorted
#   symbols.sh check LIB LIST    fail, naming each difference, when they are not LIST
# `make lint` runs check; `make symbols` rewrites the list after an intended change.
set -u
list() {
    nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVWi]$/ { print $3 }' | LC_ALL=C sort -u
}
case ${1:-} in
list)
    list "$2"
    ;;
check)
    lib=$2 want=$3
    got=$(list "$lib") || exit 1
    bad=$(printf '%s\n' "$got" | grep -v '^sign_')
    if [ -n "$bad" ]; then
        echo "symbols: exported without the sign_ prefix (mark them static, or SIGN_EXTERN only in include/sign/):"
        printf '  %s\n' $bad
        exit 1
    fi
    if ! printf '%s\n' "$got" | diff -u "$want" - >/dev/null; then
        printf '%s\n' "$got" | diff "$want" - | sed -n 's/^< /  removed: /p; s/^> /  added:   /p'
        echo "symbols: the exports of $lib differ from $want."
        echo "symbols: a removed export breaks every caller linked against it (keep it, or bump SOVERSION);"
        echo "symbols: an added one must be intended, documented in include/sign/. Then run 'make symbols'"
        echo "symbols: and commit $want with the change."
        exit 1
    fi
    ;;
*)
    echo "usage: symbols.sh list LIB | symbols.sh check LIB LIST" >&2
    exit 2
    ;;
esac
