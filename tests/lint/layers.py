#!/usr/bin/env python3
"""
The layering of libsign (docs/architecture.md), checked over #include lines:

    util <- net <- pki <- artifact <- formats <- verify <- cmd

A file may include headers of its own layer or of a lower one. A file's layer
comes from its folder, so a new file fits without editing this script:
libsign/util/, libsign/net/, libsign/pki/, libsign/artifact/, libsign/verify/,
the files at the top of libsign/ (formats), cmd/ (cmd). A public header
(include/sign/) has the layer of the code that implements it (PUBLIC below; a
header not listed there counts as formats). cmd/ includes public headers only.

Usage: layers.py ROOT [-IDIR ...]   (the -I flags of the build, relative to ROOT)
Quoted includes are found as the compiler finds them: the including file's
folder first, then the -I folders in order. Known exceptions, each with its
reason, are in tests/lint/layering-exceptions.txt (ROOT-relative); one that
no longer applies is an error too, so the list only shrinks.
"""
import os
import re
import sys

LAYERS = ["util", "net", "pki", "artifact", "formats", "verify", "deploy", "cmd"]
ORDER = " <- ".join(LAYERS)

FOLDERS = {
    "libsign/util": "util",
    "libsign/net": "net",
    "libsign/registry": "net",
    "libsign/pki": "pki",
    "libsign/artifact": "artifact",
    "libsign/verify": "verify",
    "libsign/deploy": "deploy",
    "libsign/git": "formats",
    "libsign": "formats",
    "cmd/signet": "cmd",
}

PUBLIC = {
    "common.h": "util",
    "digest.h": "util",
    "encoding.h": "util",
    "threads.h": "util",
    "key.h": "pki",
    "x509.h": "pki",
    "timestamp.h": "pki",
    "pkcs11.h": "pki",
    "artifact.h": "artifact",
    "envelope.h": "formats",
    "bundle.h": "formats",
    "manifest.h": "formats",
    "policy.h": "formats",
    "signer.h": "formats",
    "event.h": "formats",
    "source.h": "formats",
    "log.h": "formats",
    "revocation.h": "formats",
    "verify.h": "verify",
    "audit.h": "verify",
    "registry.h": "net",
    "deploy.h": "deploy",
    "sign.h": "cmd",  # the umbrella: for callers of the library, never inside it
}

# Private headers that were replaced in 0.2, and what replaced them.
RENAMED = {
    "internal.h": "util.h (util/), pki.h (pki/), artifact_int.h (artifact/) or formats.h (libsign/)",
    "x509_internal.h": "pki.h",
    "zip.h": "artifact_int.h",
    "oci.h": "artifact_int.h",
    "policy_internal.h": "formats.h",
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(rel):
    """The layer of a ROOT-relative path, or None when it is not classified."""
    d, base = os.path.split(rel)
    if d == "include/sign":
        return PUBLIC.get(base, "formats")
    return FOLDERS.get(d)


def sources(root):
    for top in ("libsign", "include/sign", "cmd"):
        for dirpath, dirnames, files in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, f), root)


def resolve(root, rel, quote, name, incdirs):
    dirs = ([os.path.dirname(rel)] if quote == '"' else []) + incdirs
    for d in dirs:
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(os.path.join(root, p)):
            return p
    return None


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    root = argv[1]
    incdirs = [a[2:] for a in argv[2:] if a.startswith("-I")]
    exc_path = os.path.join(root, "tests/lint/layering-exceptions.txt")
    exceptions = {}
    if os.path.exists(exc_path):
        with open(exc_path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                line = line.split("#", 1)[0].split()
                if line:
                    exceptions[(line[0], line[1])] = n
    used = set()
    errors = []
    for rel in sources(root):
        mine = layer_of(rel)
        if mine is None:
            errors.append(f"{rel}: a folder with no layer: add it to FOLDERS in tests/lint/layers.py "
                          f"and to docs/architecture.md")
            continue
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                quote, name = m.group(1), m.group(2)
                target = resolve(root, rel, quote, name, incdirs)
                if target is None:
                    if quote == '"':
                        hint = f" (replaced by {RENAMED[os.path.basename(name)]})" \
                            if os.path.basename(name) in RENAMED else ""
                        errors.append(f"{rel}:{n}: #include \"{name}\": no such header{hint}")
                    continue  # a system or dependency header
                theirs = layer_of(target)
                if theirs is None or target == rel:
                    continue
                key = (rel, target)
                bad = None
                if mine == "cmd" and not target.startswith("include/sign/") and not target.startswith("cmd/"):
                    bad = f"{target} is private to libsign; cmd/ uses the public API (include/sign/) only"
                elif LAYERS.index(theirs) > LAYERS.index(mine):
                    bad = (f"{target}, of layer {theirs}, above this file's layer {mine} "
                           f"({ORDER}; docs/architecture.md)")
                if bad is None:
                    continue
                if key in exceptions:
                    used.add(key)
                    continue
                errors.append(f"{rel}:{n}: includes {bad}")
    for key, n in sorted(exceptions.items(), key=lambda kv: kv[1]):
        if key not in used:
            errors.append(f"tests/lint/layering-exceptions.txt:{n}: {key[0]} no longer includes {key[1]} "
                          f"against the layers: remove the line")
    for e in errors:
        print("layers: " + e)
    if errors:
        print(f"layers: {len(errors)} problem(s); the layers are {ORDER} (docs/architecture.md)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
