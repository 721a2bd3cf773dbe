#!/bin/sh
# Regenerate the seed corpora in tests/fuzz/corpus/ (run from the top of the
# tree after `make all`; needs openssl, zip, jq and python3). The seeds are
# committed: run this only to rebuild them, and review the diff. Keys and
# signatures differ on every run.
set -eu
top=$(pwd)
signet=$top/build/signet
out=$top/tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=fuzz-passphrase
for t in bundle envelope statement policy key zip text; do
    rm -rf "${out:?}/$t"
    mkdir -p "$out/$t"
done

# ---- keys: what the key reader must accept, and what it must refuse -------------
k=$out/key
cd "$tmp"
openssl genpkey -algorithm ed25519 -out ed.pem 2>/dev/null
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out p256.pem 2>/dev/null
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-384 -out p384.pem 2>/dev/null
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:secp256k1 -out k1.pem 2>/dev/null
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024 -out rsa1024.pem 2>/dev/null
openssl genpkey -algorithm x25519 -out x25519.pem 2>/dev/null
for n in ed p256 p384 rsa; do
    cp $n.pem "$k/$n-pkcs8.pem"
    openssl pkey -in $n.pem -outform DER -out "$k/$n-pkcs8.der"
    openssl pkey -in $n.pem -pubout -out "$k/$n-spki.pem"
    openssl pkey -in $n.pem -pubout -outform DER -out "$k/$n-spki.der"
done
openssl pkcs8 -topk8 -in ed.pem -v2 aes-256-cbc -scrypt -passout pass:$pass -out "$k/ed-encrypted-scrypt.pem"
openssl pkcs8 -topk8 -in p256.pem -v2 aes-256-cbc -passout pass:$pass -out "$k/p256-encrypted-pbkdf2.pem"
openssl pkcs8 -topk8 -in ed.pem -v2 aes-256-cbc -passout pass:other-passphrase -out "$k/ed-encrypted-wrong-pass.pem"
openssl ec -in p256.pem -out "$k/p256-sec1-traditional.pem" 2>/dev/null
openssl rsa -in rsa.pem -traditional -out "$k/rsa-pkcs1-traditional.pem" 2>/dev/null
openssl pkcs12 -export -nocerts -inkey ed.pem -passout pass:$pass -out "$k/ed.p12" 2>/dev/null || true
cp k1.pem "$k/secp256k1-unsupported.pem"
cp rsa1024.pem "$k/rsa1024-too-small.pem"
cp x25519.pem "$k/x25519-not-signing.pem"
head -c 100 ed.pem > "$k/ed-truncated.pem"
{ cat ed.pem; echo garbage; } > "$k/ed-trailing-garbage.pem"
{ cat "$k/ed-spki.pem"; cat ed.pem; } > "$k/two-blocks.pem"
sed 's/PRIVATE KEY/PUBLIC KEY/' ed.pem > "$k/private-labelled-public.pem"
printf -- '-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n' > "$k/bad-base64.pem"
head -c 20 "$k/p256-pkcs8.der" > "$k/der-truncated.der"

# ---- signed material: bundles, envelopes, statements ---------------------------
printf 'hello\n' > hello.txt
mkdir -p app/lib && printf 'main\n' > app/main.sh && printf 'lib\n' > app/lib/x.so
(cd app && zip -qr ../app.zip .)
SIGNET_PASSPHRASE=x "$signet" keygen --no-passphrase -o release >/dev/null
SIGNET_PASSPHRASE=x "$signet" keygen --no-passphrase -t ecdsa-p256 -o ec >/dev/null
"$signet" sign -k release.key hello.txt >/dev/null
"$signet" sign -k ec.key app.zip >/dev/null
"$signet" sign -k release.key -o two.sigstore.json hello.txt app.zip >/dev/null
b=$out/bundle
cp hello.txt.sigstore.json "$b/ed25519-file.json"
cp app.zip.sigstore.json "$b/p256-zip.json"
cp two.sigstore.json "$b/two-artifacts.json"
jq -c '.mediaType = "application/vnd.dev.sigstore.bundle+json;version=0.2"' hello.txt.sigstore.json > "$b/v02.json"
jq -c '.mediaType = "application/vnd.dev.sigstore.bundle.v0.4+json"' hello.txt.sigstore.json > "$b/unknown-media-type.json"
jq -c '.dsseEnvelope.signatures += .dsseEnvelope.signatures' hello.txt.sigstore.json > "$b/two-signatures.json"
jq -c 'del(.verificationMaterial.publicKey) | .verificationMaterial.certificate = {"rawBytes": "MIIB"}' hello.txt.sigstore.json > "$b/certificate.json"
jq -c '.dsseEnvelope.signatures[0].sig = ""' hello.txt.sigstore.json > "$b/empty-sig.json"
jq -c '.extra = {"a": [1, 2, {"b": null}]}' hello.txt.sigstore.json > "$b/unknown-field.json"
sed 's/"mediaType"/"mediaType":"x","mediaType"/' hello.txt.sigstore.json > "$b/duplicate-key.json"
{ cat hello.txt.sigstore.json; printf '{}'; } > "$b/trailing-garbage.json"
head -c 300 hello.txt.sigstore.json > "$b/truncated.json"
# proto3 JSON's nulls (sigstore-js 2.x), and Rekor v1 / v2 entries from sigstore-conformance's fixtures.
jq -c '.messageSignature = null | .dsseEnvelope.signatures[0].keyid = null | .verificationMaterial.publicKey.hint = null
       | .verificationMaterial.tlogEntries = null | .verificationMaterial.timestampVerificationData = null' \
    hello.txt.sigstore.json > "$b/proto3-nulls.json"
cp "$top/tests/conformance/assets/bundle-verify/intoto-with-custom-trust-root/bundle.sigstore.json" \
    "$b/sigstore-conformance-rekor1-dsse.json"
cp "$top/tests/conformance/assets/bundle-verify/rekor2-dsse-happy-path/bundle.sigstore.json" \
    "$b/sigstore-conformance-rekor2-dsse.json"
e=$out/envelope
for f in hello.txt app.zip two; do
    jq -c .dsseEnvelope $f.sigstore.json > "$e/$f.json"
done
jq -c '.payloadType = "text/plain"' "$e/hello.txt.json" > "$e/payload-type-swapped.json"
jq -c '.signatures[0].keyid = ""' "$e/hello.txt.json" > "$e/empty-keyid.json"
jq -c '.signatures = []' "$e/hello.txt.json" > "$e/no-signatures.json"
jq -c '.payload = "aGVsbG8=\n"' "$e/hello.txt.json" > "$e/payload-with-newline.json"
jq -c '.payload = "aGVs bG8="' "$e/hello.txt.json" > "$e/payload-with-space.json"
jq -c '.payload = "aGVsbG8_-w"' "$e/hello.txt.json" > "$e/payload-urlsafe.json"
jq -c '.signatures[0].sig = "AAAA\u0000AAAA"' "$e/hello.txt.json" > "$e/sig-with-nul.json"
jq -c '.signatures[0].sig = "MEUCIQD/////////////////////////////////////////////AiAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="' "$e/app.zip.json" > "$e/ecdsa-sig-bad-der.json"
s=$out/statement
for f in hello.txt app.zip two; do
    jq -r .dsseEnvelope.payload $f.sigstore.json | base64 -d > "$s/$f.json"
done
jq -c '.subject = []' "$s/hello.txt.json" > "$s/zero-subjects.json"
jq -c '.subject[0].digest = {"md5": "00"}' "$s/hello.txt.json" > "$s/unknown-digest-only.json"
jq -c '.subject[0].digest.sha256 = "ABC"' "$s/hello.txt.json" > "$s/short-digest.json"
jq -c '.predicateType = "https://slsa.dev/provenance/v1" | .predicate = {"x": 1}' "$s/hello.txt.json" > "$s/other-predicate.json"
jq -c '._type = "https://in-toto.io/Statement/v0.1"' "$s/hello.txt.json" > "$s/v01.json"
jq -c '.predicate.artifacts[0].size = 1e400' "$s/app.zip.json" > "$s/huge-number.json" 2>/dev/null || true
sed 's/"size":[0-9]*/"size":18446744073709551616/' "$s/app.zip.json" > "$s/size-overflow.json"
python3 -c 'import sys; sys.stdout.write("[" * 100 + "]" * 100)' > "$s/deep-nesting.json"

# ---- policies (names resolve in the fuzz target's directory, see fuzz_policy.c) --
p=$out/policy
cat > "$p/minimal.json" <<'J'
{"version": 1, "keys": [{"name": "ed", "public_key": "keys/ed25519.pub"}]}
J
cat > "$p/full.json" <<'J'
{"version": 1, "mode": "enforce",
 "keys": [{"name": "release", "public_key": "keys/ed25519.pub", "artifacts": ["app.*", "*/x"],
           "not_before": "2026-01-01T00:00:00Z", "not_after": "2027-01-01T00:00:00.5Z"},
          {"name": "ci", "public_key": "keys/p256.pub"},
          {"name": "rsa", "public_key": "keys/rsa.pub", "artifacts": ["other"]}],
 "require": {"threshold": 1, "entries": true}}
J
cat > "$p/threshold-2.json" <<'J'
{"version": 1, "mode": "warn", "keys": [{"name": "a", "public_key": "keys/ed25519.pub"},
 {"name": "b", "public_key": "keys/p256.pub"}], "require": {"threshold": 2}}
J
cat > "$p/audit-der.json" <<'J'
{"version": 1, "mode": "audit", "keys": [{"name": "der", "public_key": "keys/ed25519.der", "not_after": "2026-03-01T00:00:00Z"}]}
J
cat > "$p/roots.json" <<'J'
{"version": 1, "roots": [{"name": "r", "certificates": "certs/root.pem", "intermediates": "certs/root.pem",
 "crls": ["certs/crl.pem"], "subjects": ["CN=x"], "eku": "codeSigning", "artifacts": ["*"]}],
 "timestamp_authorities": [], "revocation": []}
J
cat > "$p/duplicate-key.json" <<'J'
{"version": 1, "keys": [{"name": "a", "public_key": "keys/ed25519.pub"}, {"name": "b", "public_key": "keys/ed25519.der"}]}
J
cat > "$p/private-key.json" <<'J'
{"version": 1, "keys": [{"name": "a", "public_key": "keys/private.key"}]}
J
cat > "$p/missing-file.json" <<'J'
{"version": 1, "keys": [{"name": "a", "public_key": "keys/none.pub"}]}
J
cat > "$p/unknown-field.json" <<'J'
{"version": 1, "keys": [{"name": "a", "public_key": "keys/ed25519.pub", "notafter": "2026-01-01T00:00:00Z"}]}
J
cat > "$p/bad-window.json" <<'J'
{"version": 1, "keys": [{"name": "a", "public_key": "keys/ed25519.pub", "not_before": "2027-01-01T00:00:00Z", "not_after": "2026-01-01T00:00:00Z"}]}
J
printf '{"version": 1, "version": 2, "keys": []}' > "$p/duplicate-member.json"
printf '{"version": 2}' > "$p/version-2.json"
printf '{"version": 1}' > "$p/trusts-nothing.json"
printf '{"version": 1, "require": {"threshold": 99999999999999999999}}' > "$p/huge-threshold.json"

# ---- zips: ordinary ones, and hostile ones made byte by byte --------------------
z=$out/zip
cp app.zip "$z/app.zip"
(cd app && zip -q -0 ../stored.zip main.sh && zip -q -y ../symlink.zip -r . ) 2>/dev/null || true
cp stored.zip "$z/stored.zip"
printf 'plain text, not a zip\n' > "$z/not-a-zip.txt"
: > "$z/empty"
python3 "$top/tests/fuzz/make-zip-seeds.py" "$z"

# ---- text: first byte picks the parser (see fuzz_text.c) ------------------------
x=$out/text
printf '\000aGVsbG8gd29ybGQ=' > "$x/b64"
printf '\000aGVsbG8_-w' > "$x/b64-urlsafe"
printf '\000aGVs\nbG8=' > "$x/b64-newline"
printf '\001{"a":[1,2.5,"\\u00e9",null,true],"b":{"c":{}}}' > "$x/json"
printf '\001{"a":1,"a":2}' > "$x/json-duplicate"
printf '\001"\\ud800"' > "$x/json-lone-surrogate"
printf '\0022026-01-01T00:00:00Z' > "$x/time"
printf '\0022026-02-29T23:59:60.123456Z' > "$x/time-leap"
printf '\00390d' > "$x/duration"
printf '\0039223372036854775807s' > "$x/duration-huge"
printf '\004app-*.zip\000dist/app-1.0.zip' > "$x/glob"
printf '\004a/*/c\000a/b/c' > "$x/glob-slash"
printf '\005./a//b/./c' > "$x/name"
printf '\005../etc/passwd' > "$x/name-traversal"
echo "seeds: $(find "$out" -type f | wc -l) files, $(du -sk "$out" | cut -f1) KiB"
