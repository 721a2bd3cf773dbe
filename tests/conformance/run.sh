#!/bin/sh
# The offline verification cases of sigstore-conformance (assets/bundle-verify,
# see assets/SOURCE), run through the CLI adapter signet-conformance the way
# the suite's test_verify() does: a case passes when signet accepts it, or,
# for a case named *_fail, refuses it. A refusal prints signet's reason code,
# so that a refusal for another reason than the case names can be told apart
# (docs/bundle-profile.md lists them). A case without its own trusted root is
# judged under the public-good instance's (assets/public-good, see
# assets/SOURCE), as the suite's clients default to it. Cases the adapter
# cannot run (--staging without a trusted root; a digest for the artifact)
# are skipped with the reason.
#
# usage: SIGNET_BIN=/path/to/signet sh tests/conformance/run.sh [RESULTS]
# Prints one line per case and "conformance: N passed, M failed, K skipped".
# Each case's status and signet's reason code are compared with
# tests/conformance/expected.txt: any difference (a regression, or a gap
# closed without updating the record and docs/bundle-profile.md) exits 1.
# RESULTS, when given, receives the status lines (to regenerate expected.txt).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${SIGNET_BIN:?set SIGNET_BIN to the signet binary}"
export SIGNET_BIN
assets="$here/assets/bundle-verify"
passed=0 failed=0 skipped=0
results=${1:-$(mktemp)}
: >"$results"
identity="https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
issuer="https://token.actions.githubusercontent.com"
for dir in "$assets"/*/; do
    case=$(basename "$dir")
    artifact="$assets/a.txt"
    [ -f "$dir/artifact" ] && artifact="$dir/artifact"
    id=$identity iss=$issuer
    [ -f "$dir/identity" ] && id=$(cat "$dir/identity")
    [ -f "$dir/issuer" ] && iss=$(cat "$dir/issuer")
    set -- verify-bundle --bundle "$dir/bundle.sigstore.json"
    if [ -f "$dir/key.pub" ]; then
        set -- "$@" --key "$dir/key.pub"
    else
        set -- "$@" --certificate-identity "$id" --certificate-oidc-issuer "$iss"
    fi
    [ -f "$dir/trusted_root.json" ] && set -- "$@" --trusted-root "$dir/trusted_root.json"
    err=$(python3 "$here/signet-conformance" "$@" "$artifact" 2>&1 >/dev/null)
    rc=$?
    why=$(printf '%s\n' "$err" | sed -n 's/^signet-conformance: //p' | head -1)
    code=$(printf '%s\n' "$why" | sed -n 's/.*(\([A-Z_]*\))$/\1/p')
    if [ "$rc" = 77 ]; then
        skipped=$((skipped + 1))
        echo "SKIP $case: $why"
        echo "SKIP $case" >>"$results"
        continue
    fi
    case "$case" in
    *_fail) want=1 ;;
    *) want=0 ;;
    esac
    if { [ "$want" = 0 ] && [ "$rc" = 0 ]; } || { [ "$want" = 1 ] && [ "$rc" != 0 ]; }; then
        passed=$((passed + 1))
        echo "PASS $case: $why"
        echo "PASS $case $code" >>"$results"
    else
        failed=$((failed + 1))
        echo "FAIL $case: $why"
        echo "FAIL $case $code" >>"$results"
    fi
done
echo "conformance: $passed passed, $failed failed, $skipped skipped"
if ! diff -u "$here/expected.txt" "$results"; then
    echo "conformance: the results differ from tests/conformance/expected.txt (above); update it and" \
        "docs/bundle-profile.md when a gap was closed" >&2
    exit 1
fi
