#!/bin/sh
# Self-test of tests/abi/symbols.sh check (run by `make lint`): the committed list
# passes; a list missing one export (an unannounced addition) and a list with one
# the library lacks (a removal) both fail, naming the symbol.
# Usage: symbols_test.sh LIB LIST
set -u
lib=$1 list=$2
here=$(dirname "$0")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/signet-symbols.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
expect() { # pass|fail list needle what
    out=$(sh "$here/symbols.sh" check "$lib" "$2" 2>&1) && got=pass || got=fail
    if [ "$got" != "$1" ] || { [ -n "$3" ] && ! printf '%s' "$out" | grep -qF -- "$3"; }; then
        echo "symbols_test: FAIL: $4: expected $1 naming '$3', got $got:"
        printf '%s\n' "$out"
        fails=$((fails + 1))
    fi
}
first=$(sh "$here/symbols.sh" list "$lib" | head -n 1)
expect pass "$list" "" "the committed list"
grep -vx "$first" "$list" >"$tmp/missing"
expect fail "$tmp/missing" "added:   $first" "an export the list does not announce"
{ cat "$list"; echo sign_no_such_function; } | LC_ALL=C sort >"$tmp/extra"
expect fail "$tmp/extra" "removed: sign_no_such_function" "an export the library no longer has"
[ "$fails" -eq 0 ] || exit 1
echo "symbols_test: the list matches; an unannounced addition and a removal both fail"
