#!/bin/sh
# Sign and verify an image in a local registry (docs/registry.md).
# Needs: docker-registry, skopeo, umoci (Debian 12 packages) and a built signet.
# Usage: examples/registry.sh [path/to/signet]
set -eu
signet=${1:-$(cd "$(dirname "$0")/.." && pwd)/build/signet}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM
cd "$work"

# A free port on 127.0.0.1 (distribution cannot listen on port 0).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > config.yml <<EOC
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: 127.0.0.1:$port
EOC
docker-registry serve config.yml > registry.log 2>&1 &
pid=$!
for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
    sleep 0.1
done

# An image: one layer with /etc/hello.
umoci init --layout img
umoci new --image img:v1
umoci unpack --rootless --image img:v1 rootfs-bundle >/dev/null 2>&1
mkdir -p rootfs-bundle/rootfs/etc && echo hello > rootfs-bundle/rootfs/etc/hello
umoci repack --image img:v1 rootfs-bundle
skopeo copy --quiet --dest-tls-verify=false oci:img:v1 "docker://127.0.0.1:$port/demo/app:v1"

ref="docker://127.0.0.1:$port/demo/app:v1"
"$signet" keygen --no-passphrase -o release
echo '{"version": 1, "keys": [{"name": "release", "public_key": "release.pub"}]}' > policy.json
"$signet" sign -k release.key --tls-verify=false "$ref"
"$signet" verify -p policy.json --entries --tls-verify=false "$ref"
echo "the referrers (fallback tag):"
digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "$ref")
skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$port/demo/app:sha256-${digest#sha256:}"
echo
"$signet" inspect --tls-verify=false "$ref"
"$signet" audit -p policy.json --tls-verify=false "docker://127.0.0.1:$port/demo/app"
