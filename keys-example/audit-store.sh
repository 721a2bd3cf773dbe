#!/bin/sh
# Make a small store with one artifact of each audit class, and its policy, for the README's audit
# example and the tests: signet audit -p DIR/policy.json DIR/store
# Usage: sh keys-example/audit-store.sh PATH_TO_SIGNET DIR   (DIR must not exist)
# EXAMPLE ONLY: uses the example keys of keys-example/ and makes throw-away keys in DIR.
set -eu
signet=${1:?usage: audit-store.sh PATH_TO_SIGNET DIR}
dir=${2:?usage: audit-store.sh PATH_TO_SIGNET DIR}
case $signet in /*) ;; *) signet=$(pwd)/$signet ;; esac
here=$(cd "$(dirname "$0")" && pwd)
mkdir "$dir"
cd "$dir"
mkdir -p store/releases store/misc
export SIGNET_PASSPHRASE=example-passphrase
for k in expired soon narrow stranger; do "$signet" keygen --no-passphrase -o "$k" >/dev/null; done
past=2020-01-01T00:00:00Z
soon=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
cat >policy.json <<EOJ
{
  "version": 1,
  "keys": [
    {"name": "release", "public_key": "$here/release.pub"},
    {"name": "retired", "public_key": "expired.pub", "not_after": "$past"},
    {"name": "expiring", "public_key": "soon.pub", "not_after": "$soon"},
    {"name": "zips-only", "public_key": "narrow.pub", "artifacts": ["*.zip"]}
  ],
  "roots": [
    {"name": "example-codesign", "certificates": "$here/pki/root.pem", "intermediates": "$here/pki/int.pem",
     "crls": ["$here/pki/int.crl", "$here/pki/root.crl"], "subjects": ["CN=Release Signing*"],
     "eku": "codeSigning"}
  ]
}
EOJ
s() { "$signet" sign "$@" >/dev/null 2>&1; }
cd store
echo 'the good release' >releases/good.txt && s -k "$here/release.key" releases/good.txt
echo 'signed, then changed' >releases/tampered.txt && s -k "$here/release.key" releases/tampered.txt
echo ' (changed)' >>releases/tampered.txt
echo 'never signed' >releases/unsigned.txt
echo 'signed by a revoked certificate' >releases/revoked.txt
s -k "$here/pki/revoked.key" --cert "$here/pki/revoked.pem" releases/revoked.txt
echo 'signed by a retired key' >misc/expired.txt && s -k ../expired.key misc/expired.txt
echo 'signed by a key nobody trusts' >misc/untrusted.txt && s -k ../stranger.key misc/untrusted.txt
echo 'a file the key may not sign' >misc/policy.txt && s -k ../narrow.key misc/policy.txt
echo 'its bundle is garbage' >misc/unreadable.txt && echo '{"not": "a bundle"' >misc/unreadable.txt.sigstore.json
echo 'gone' >misc/orphan.txt && s -k "$here/release.key" misc/orphan.txt && rm misc/orphan.txt
echo 'fine today, not in 90 days' >releases/expiring.txt && s -k ../soon.key releases/expiring.txt
