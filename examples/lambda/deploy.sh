#!/bin/sh
# Deploy a Lambda function's zip only once signet has verified it and its
# bundle under the policy (every entry compared with the signed manifest).
#   deploy.sh FUNCTION ZIP [POLICY]
# DRY_RUN=1 stops after the verification (the tests run it so).
set -eu
fn=${1:?function name}
zip=${2:?deployment zip}
policy=${3:-/etc/myapp/policy.json}
SIGNET=${SIGNET:-signet}
"$SIGNET" verify --entries -p "$policy" "$zip"
if [ "${DRY_RUN:-0}" = 1 ]; then
    echo "verified $zip; dry run: not updating $fn"
    exit 0
fi
exec aws lambda update-function-code --function-name "$fn" --zip-file "fileb://$zip" --publish
