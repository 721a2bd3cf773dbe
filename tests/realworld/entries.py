#!/usr/bin/env python3
"""Independent view of an artifact's entries, for the real-world corpus.

usage: entries.py ARTIFACT SIGNET_HASH_JSON

Lists the entries of a zip (python's zipfile), of every layer of an OCI
image layout or a docker save archive (python's tarfile; zstd layers through
the zstd tool) with the SHA-256 of each regular file, and compares them with
the entries in signet's statement (`signet hash --json`). Paths are compared
as stored, with a directory's trailing '/' dropped (tarfile drops it).
Exit 0 when they are equal, 1 with the differences otherwise."""
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import zipfile


def zip_entries(path):
    out = []
    with zipfile.ZipFile(path) as z:
        for i in z.infolist():
            mode = i.external_attr >> 16
            if i.filename.endswith("/"):
                out.append((i.filename.rstrip("/"), "dir", None))
            elif stat.S_ISLNK(mode):
                out.append((i.filename, "symlink", None))
            else:
                out.append((i.filename, "file", hashlib.sha256(z.read(i)).hexdigest()))
    return out


def tar_entries(data):
    """Entries of one uncompressed or gzip layer (bytes), OCI whiteouts mapped as signet records them."""
    if data[:4] == b"\x28\xb5\x2f\xfd":
        data = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as t:
        for m in t.getmembers():
            d, _, base = m.name.rpartition("/")
            if base == ".wh..wh..opq":
                out.append((d, "opaque", None))
            elif base.startswith(".wh."):
                out.append(((d + "/" if d else "") + base[4:], "whiteout", None))
            elif m.isdir():
                out.append((m.name.rstrip("/") or ".", "dir", None))
            elif m.issym():
                out.append((m.name, "symlink", None))
            elif m.islnk():
                out.append((m.name, "hardlink", None))
            elif m.isreg():
                out.append((m.name, "file", hashlib.sha256(t.extractfile(m).read()).hexdigest()))
            else:
                out.append((m.name, "other", None))
    return out


def image_layers(path):
    """The layer blobs (bytes) of an OCI layout's first image, or of a docker save archive."""
    if os.path.isdir(path):
        idx = json.load(open(os.path.join(path, "index.json")))
        man = idx["manifests"][0]["digest"].split(":")[1]
        m = json.load(open(os.path.join(path, "blobs", "sha256", man)))
        for l in m["layers"]:
            yield open(os.path.join(path, "blobs", "sha256", l["digest"].split(":")[1]), "rb").read()
        return
    with tarfile.open(path) as t:
        man = json.load(t.extractfile("manifest.json"))
        for l in man[0]["Layers"]:
            yield t.extractfile(l).read()


def signet_entries(entries):
    out = []
    for e in entries:
        p = e["path"]
        if e["type"] == "dir":
            p = p.rstrip("/") or "."
        out.append((p, e["type"], e.get("digest", {}).get("sha256")))
    return out


def compare(what, mine, theirs):
    if sorted(mine, key=repr) == sorted(theirs, key=repr):
        return 0
    a, b = set(mine), set(theirs)
    print("%s: entries differ (python %d, signet %d)" % (what, len(mine), len(theirs)))
    for x in sorted(a - b, key=repr)[:10]:
        print("  only python:", x)
    for x in sorted(b - a, key=repr)[:10]:
        print("  only signet:", x)
    if a == b:
        print("  (same set, different multiplicity)")
    return 1


def main():
    path, statement = sys.argv[1], json.load(open(sys.argv[2]))
    art = statement["predicate"]["artifacts"][0]
    if art["kind"] == "zip":
        return compare(path, zip_entries(path), signet_entries(art["entries"]))
    rc = 0
    layers = art["layers"] if "layers" in art else art["images"][0]["layers"]
    blobs = list(image_layers(path))
    if len(blobs) != len(layers):
        print("%s: %d layers for python, %d for signet" % (path, len(blobs), len(layers)))
        return 1
    for n, (blob, layer) in enumerate(zip(blobs, layers)):
        rc |= compare("%s layer %d" % (path, n), tar_entries(blob), signet_entries(layer["entries"]))
    return rc


if __name__ == "__main__":
    sys.exit(main())
