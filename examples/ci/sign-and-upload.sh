#!/bin/sh
# CI step: sign the built artifact with the release key (from a CI secret),
# timestamp it when a TSA is configured, and put the bundle next to the artifact.
#   ARTIFACT        the built file (dist/myapp.zip)
#   SIGNING_KEY     the PEM private key (a masked CI secret variable)
#   TSA_URL         an RFC 3161 time-stamp authority (optional)
#   UPLOAD_DIR      where artifact and bundle are published (a bucket mount, a release page)
set -eu
: "${ARTIFACT:?}" "${SIGNING_KEY:?}" "${UPLOAD_DIR:?}"
SIGNET=${SIGNET:-signet}
keyfile=$(mktemp)
trap 'rm -f "$keyfile"' EXIT
printf '%s\n' "$SIGNING_KEY" >"$keyfile"
set -- -k "$keyfile" --force
if [ -n "${TSA_URL:-}" ]; then
    set -- "$@" --tsa "$TSA_URL"
fi
if [ -n "${RELEASE_VERSION:-}" ]; then
    set -- "$@" --version "$RELEASE_VERSION"
fi
"$SIGNET" sign "$@" "$ARTIFACT"
mkdir -p "$UPLOAD_DIR"
cp "$ARTIFACT" "$UPLOAD_DIR/"
cp "$ARTIFACT.sigstore.json" "$UPLOAD_DIR/"
echo "uploaded $(basename "$ARTIFACT") and its bundle to $UPLOAD_DIR"
