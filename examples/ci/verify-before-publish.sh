#!/bin/sh
# CI deploy job: verify the uploaded artifact and its bundle under the policy
# (every zip entry included) before publishing it; exit status as signet verify.
#   ARTIFACT   the uploaded artifact (its bundle beside it)
#   POLICY     the trust policy of the deploy target
set -eu
: "${ARTIFACT:?}" "${POLICY:?}"
SIGNET=${SIGNET:-signet}
"$SIGNET" verify --entries --json -p "$POLICY" "$ARTIFACT" >verdict.json
echo "verified $(basename "$ARTIFACT"): publishing"
