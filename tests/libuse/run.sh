#!/bin/sh
# Exercise tests/libuse/verify_bundle.c, built against the installed libsign.
# Usage: SIGNET_BIN=... sh tests/libuse/run.sh DIR   (DIR holds verify-bundle)
set -u
dir=${1:?usage: run.sh DIR}
signet=${SIGNET_BIN:?SIGNET_BIN must name the built signet}
work=$(mktemp -d "${TMPDIR:-/tmp}/signet-libuse.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
passed=0
failed=0

check() { # check DESCRIPTION EXPECTED-STATUS COMMAND...
    what=$1 want=$2
    shift 2
    "$@" >"$work/out" 2>&1
    got=$?
    if [ "$got" -eq "$want" ]; then
        passed=$((passed + 1))
        echo "libuse: ok: $what"
    else
        failed=$((failed + 1))
        echo "libuse: FAILED: $what (exit $got, wanted $want)"
        sed 's/^/libuse:   /' "$work/out"
    fi
}

setup() {
    "$signet" keygen --no-passphrase -o "$work/release" >/dev/null &&
        printf 'hello from libuse\n' >"$work/artifact.txt" &&
        "$signet" sign -k "$work/release.key" -o "$work/artifact.bundle" "$work/artifact.txt" >/dev/null &&
        printf '{"version": 1, "keys": [{"name": "release", "public_key": "release.pub"}]}\n' >"$work/policy.json"
}
if ! setup; then
    echo "libuse: setup with $signet failed"
    exit 1
fi

check "installed library verifies a signed file" 0 \
    "$dir/verify-bundle" "$work/policy.json" "$work/artifact.bundle" "$work/artifact.txt"
printf 'tampered\n' >>"$work/artifact.txt"
check "installed library refuses the tampered file" 1 \
    "$dir/verify-bundle" "$work/policy.json" "$work/artifact.bundle" "$work/artifact.txt"

echo "libuse: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -eq 2 ]
