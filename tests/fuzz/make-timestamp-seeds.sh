#!/bin/sh
# Regenerate tests/fuzz/corpus/timestamp/ (run from the top of the tree after
# `make all build/signet-tsa-test-server`; needs openssl and curl). TimeStampResps from
# the test TSA: granted, rejected, with a non-critical EKU, plus truncated and
# garbage variants. The seeds are committed: review the diff.
set -eu
top=$(pwd)
out=$top/tests/fuzz/corpus/timestamp
srv=$top/build/signet-tsa-test-server
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
rm -rf "$out"
mkdir -p "$out"
cd "$tmp"
cat > ext.cnf <<'END'
[tsa]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=critical,timeStamping
[weak]
basicConstraints=critical,CA:FALSE
extendedKeyUsage=timeStamping
END
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem \
    -subj "/CN=seed TSA root" -days 3650 -addext basicConstraints=critical,CA:TRUE 2>/dev/null
for n in tsa weak; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr -subj "/CN=seed $n" 2>/dev/null
    openssl x509 -req -in $n.csr -CA root.pem -CAkey root.key -CAcreateserial -out $n.pem -days 3650 \
        -extfile ext.cnf -extensions $n 2>/dev/null
done
printf 'signature bytes' > sig
openssl ts -query -data sig -sha256 -cert -out req.tsq 2>/dev/null
openssl ts -query -data sig -sha512 -no_nonce -out req512.tsq 2>/dev/null
start() { # name cert [fault]
    "$srv" --cert "$2.pem" --key "$2.key" --port-file "$1.port" --until-killed ${3:+--fault "$3"} >/dev/null &
    pids="$pids $!"
    while [ ! -s "$1.port" ]; do sleep 0.1; done
}
post() { # port-name query out
    curl -s -H 'Content-Type: application/timestamp-query' --data-binary @"$2" "$(cat "$1.port")" -o "$3"
}
start ok tsa
start weak weak
start reject tsa reject
post ok req.tsq "$out/granted-sha256.der"
post ok req512.tsq "$out/granted-sha512-no-nonce.der"
post weak req.tsq "$out/eku-not-critical.der"
post reject req.tsq "$out/rejected.der"
head -c 200 "$out/granted-sha256.der" > "$out/truncated.der"
{ cat "$out/granted-sha256.der"; printf 'X'; } > "$out/trailing-byte.der"
printf '\060\003\002\001\002' > "$out/status-only.der"
printf 'garbage' > "$out/garbage.der"
