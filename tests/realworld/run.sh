#!/bin/sh
# The real-world corpus (issue 13): artifacts that nobody here wrote by hand,
# made from Debian packages and the npm registry only, each signed with no
# danger finding, verified (also --entries, and --tree against an independent
# extraction), and its entry list and digests compared with python's zipfile
# and tarfile (tests/realworld/entries.py).
#
# usage: tests/realworld/run.sh SIGNET BUILD_DIR
# The npm packages are fetched once into BUILD_DIR/realworld-cache; the rest
# is rebuilt in BUILD_DIR/realworld on every run.
set -eu
T0=$(date +%s)
SIGNET=$1
B=$2
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=$B/realworld-cache
W=$B/realworld
ENTRIES="python3 $SRC/tests/realworld/entries.py"
for t in zip unzip bsdtar 7z jar python3 npm umoci skopeo zstd; do
    command -v "$t" >/dev/null || { echo "realworld: $t is missing: run .ci/deps test as root" >&2; exit 1; }
done
rm -rf "$W"
mkdir -p "$W/zips" "$W/x" "$CACHE"
W=$(cd "$W" && pwd)
CACHE=$(cd "$CACHE" && pwd)
case "$SIGNET" in /*) ;; *) SIGNET=$(pwd)/$SIGNET ;; esac
fail=0
n=0

# ---- a Node.js Lambda package, from the npm registry (pinned, cached) ----
if [ ! -d "$CACHE/node/node_modules" ]; then
    rm -rf "$CACHE/node.tmp"
    mkdir -p "$CACHE/node.tmp"
    (cd "$CACHE/node.tmp" &&
        printf '{"name":"lambda","version":"1.0.0","private":true}\n' > package.json &&
        npm install --no-audit --no-fund --omit=dev --loglevel=error \
            uuid@9.0.1 ms@2.1.3 debug@4.3.4 lodash.get@4.4.2 >/dev/null &&
        printf 'exports.handler = async () => ({ statusCode: 200 });\n' > index.js)
    mv "$CACHE/node.tmp" "$CACHE/node"
fi
APP=$CACHE/node

"$SIGNET" keygen --no-passphrase -o "$W/key" >/dev/null 2>&1
printf '{"version": 1, "keys": [{"name": "release", "public_key": "key.pub"}]}\n' > "$W/policy.json"

# check ARTIFACT TREE_DIR|-: sign (no danger), verify, --entries, --tree, python's entries
check() {
    a=$1 tree=$2
    n=$((n + 1))
    if ! "$SIGNET" hash --json "$a" > "$W/hash.json" 2> "$W/err"; then
        echo "FAIL $a: hash: $(cat "$W/err")"; fail=1; return
    fi
    if grep -q '"severity":"danger"' "$W/hash.json"; then
        echo "FAIL $a: danger findings:"; grep '^finding: danger' "$W/err" | head -5; fail=1; return
    fi
    if ! "$SIGNET" sign --force -k "$W/key.key" -o "$W/b.json" "$a" > /dev/null 2> "$W/err"; then
        echo "FAIL $a: sign: $(cat "$W/err")"; fail=1; return
    fi
    for extra in "" --entries; do
        if ! "$SIGNET" verify -p "$W/policy.json" -b "$W/b.json" $extra "$a" > "$W/out" 2>&1; then
            echo "FAIL $a: verify $extra: $(cat "$W/out")"; fail=1; return
        fi
    done
    if [ "$tree" != - ] && ! "$SIGNET" verify -p "$W/policy.json" -b "$W/b.json" --tree "$tree" "$a" > "$W/out" 2>&1; then
        echo "FAIL $a: verify --tree: $(head -c 2000 "$W/out")"; fail=1; return
    fi
    if ! $ENTRIES "$a" "$W/hash.json"; then
        echo "FAIL $a: entries differ from python's"; fail=1; return
    fi
    echo "ok   $a"
}

# unzip into a fresh directory, then check
check_zip() {
    rm -rf "$W/x/$(basename "$1")"
    mkdir -p "$W/x/$(basename "$1")"
    unzip -q "$1" -d "$W/x/$(basename "$1")"
    check "$1" "$W/x/$(basename "$1")"
}

echo "realworld: npm package ready after $(($(date +%s) - T0)) s"
# ---- zips of the Lambda package, one per writer ----
Z=$W/zips
(cd "$APP" && zip -qrX "$Z/infozip.zip" .)
(cd "$APP" && zip -qrXy "$Z/infozip-symlinks.zip" .)
(cd "$APP" && zip -qrX0 "$Z/infozip-stored.zip" .)
(cd "$APP" && zip -qrX - . > "$Z/infozip-streamed.zip")   # to a pipe: data descriptors
(cd "$APP" && zip -qrX -fz "$Z/infozip-zip64.zip" .)
(cd "$APP" && python3 -c '
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for root, dirs, files in sorted(os.walk(".")):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            if not os.path.islink(p):
                z.write(p, os.path.relpath(p, "."))
' "$Z/python.zip")
(cd "$APP" && bsdtar --format zip -cf "$Z/bsdtar.zip" .)
(cd "$APP" && 7z a -tzip -bd -bso0 -bsp0 "$Z/7zip.zip" . >/dev/null)
jar --create --file "$Z/jar-tool.jar" -C "$APP" .
for z in "$Z"/*.zip "$Z"/*.jar; do
    check_zip "$z"
done

echo "realworld: zips done after $(($(date +%s) - T0)) s"
# ---- Debian's jars and wheels (as installed: libcommons-io-java, libguava-java, python3-*-whl) ----
for f in /usr/share/java/commons-io-2.11.0.jar /usr/share/java/guava.jar /usr/share/python-wheels/pip-*.whl \
    /usr/share/python-wheels/setuptools-*.whl; do
    [ -f "$f" ] || { echo "FAIL $f: not installed (.ci/deps test)"; fail=1; continue; }
    cp "$f" "$Z/"
    check_zip "$Z/$(basename "$f")"
done

# ---- a Spring Boot style jar: nested jars stored uncompressed ----
mkdir -p "$W/boot/BOOT-INF/lib" "$W/boot/BOOT-INF/classes"
cp /usr/share/java/commons-io-2.11.0.jar /usr/share/java/commons-cli.jar "$W/boot/BOOT-INF/lib/"
cp "$APP/index.js" "$W/boot/BOOT-INF/classes/"
jar --create --no-compress --file "$Z/boot-stored.jar" -C "$W/boot" .
(cd "$W/boot" && zip -qrX0 "$Z/boot-zip0.jar" .)
check_zip "$Z/boot-stored.jar"
check_zip "$Z/boot-zip0.jar"

echo "realworld: jars done after $(($(date +%s) - T0)) s"
# ---- an image: a root file system from installed Debian packages' files, then a layer that deletes ----
# (mmdebstrap would need the network and minutes; the files of installed packages are as real)
R=$W/rootfs
mkdir -p "$R"
for p in base-files dash sed debianutils; do
    dpkg -L "$p" 2>/dev/null | while read -r f; do
        if [ -f "$f" ] || [ -L "$f" ]; then
            cp -a --parents "$f" "$R" 2>/dev/null || true
        elif [ -d "$f" ]; then
            mkdir -p "$R$f"
        fi
    done
done
echo "realworld: root file system copied after $(($(date +%s) - T0)) s"
cd "$W"
umoci init --layout img >/dev/null
umoci new --image img:v1 >/dev/null
umoci unpack --rootless --image img:v1 b1 >/dev/null 2>&1
cp -a "$R/." b1/rootfs/
umoci repack --image img:v1 b1 >/dev/null
rm -rf b1
umoci unpack --rootless --image img:v1 b2 >/dev/null 2>&1
rm -f b2/rootfs/etc/issue b2/rootfs/etc/issue.net
printf 'changed\n' > b2/rootfs/etc/motd
umoci repack --image img:v1 b2 >/dev/null
rm -rf b2
# a raw layer as docker and buildkit write them: ./ prefixes, an opaque directory, a whiteout
python3 - "$W/raw.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    def add(name, typ=tarfile.REGTYPE, data=b"", mode=0o644):
        i = tarfile.TarInfo(name); i.type = typ; i.mode = mode; i.size = len(data); i.mtime = 0
        t.addfile(i, io.BytesIO(data) if data else None)
    add("./usr/share/doc/", tarfile.DIRTYPE, mode=0o755)
    add("./usr/share/doc/.wh..wh..opq")
    add("./usr/share/doc/README", data=b"only this\n")
    add("./etc/.wh.debian_version")
PY
umoci raw add-layer --image img:v1 raw.tar >/dev/null
umoci unpack --rootless --image img:v1 unpacked >/dev/null 2>&1
check "$W/img" "$W/unpacked/rootfs"
# umoci 0.4 cannot unpack zstd layers: the same image's gzip unpacking is the tree
skopeo copy -q --dest-compress-format zstd oci:img:v1 oci:imgz:v1 >/dev/null
check "$W/imgz" "$W/unpacked/rootfs"
skopeo copy -q oci:img:v1 docker-archive:"$W/img-docker.tar":img:v1 >/dev/null
check "$W/img-docker.tar" "$W/unpacked/rootfs"

echo "realworld: $n artifacts in $(($(date +%s) - T0)) s, $([ $fail = 0 ] && echo 'all passed' || echo 'FAILURES')"
exit $fail
