#!/bin/sh
# Remake every generated file of keys-example/ with the built signet and zip.
# Usage: sh keys-example/make-examples.sh [PATH_TO_SIGNET]   (default: build/signet)
# EXAMPLE ONLY: the passphrase is public (see README.md). Never use these keys.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
signet=${1:-$here/../build/signet}
case $signet in /*) ;; *) signet=$(pwd)/$signet ;; esac
[ -x "$signet" ] || { echo "make-examples: $signet: not built (run make)" >&2; exit 1; }
command -v zip >/dev/null || { echo "make-examples: zip is not installed (apt-get install zip)" >&2; exit 1; }

SIGNET_PASSPHRASE=example-passphrase
export SIGNET_PASSPHRASE

cd "$here"
rm -f release.key release.pub other.key other.pub policy.json app-1.0.zip

# Two Ed25519 key pairs, encrypted with the documented example passphrase.
"$signet" keygen --type ed25519 -o release
"$signet" keygen --type ed25519 -o other

# The trust policy: release.pub may sign app-*.zip deployment packages.
cat >policy.json <<'JSON'
{
  "version": 1,
  "mode": "enforce",
  "keys": [
    {
      "name": "release",
      "public_key": "release.pub",
      "artifacts": ["app-*.zip"]
    }
  ],
  "require": {"threshold": 1}
}
JSON

# A small Lambda-style deployment package, reproducible (fixed times, no extra fields).
src=$(mktemp -d "${TMPDIR:-/tmp}/signet-example.XXXXXX")
trap 'rm -rf "$src"' EXIT
mkdir -p "$src/lib"
cat >"$src/index.js" <<'JS'
const { greet } = require("./lib/util");

exports.handler = async (event) => ({
  statusCode: 200,
  body: JSON.stringify({ message: greet(event && event.name) }),
});
JS
cat >"$src/package.json" <<'JSON'
{
  "name": "app",
  "version": "1.0.0",
  "main": "index.js",
  "private": true
}
JSON
cat >"$src/lib/util.js" <<'JS'
exports.greet = (name) => `hello, ${name || "world"}`;
JS
find "$src" -exec touch -d "2026-01-01T00:00:00Z" {} +
(cd "$src" && TZ=UTC zip -qX -r "$here/app-1.0.zip" index.js package.json lib/util.js)

echo "make-examples: wrote release.key release.pub other.key other.pub policy.json app-1.0.zip"
