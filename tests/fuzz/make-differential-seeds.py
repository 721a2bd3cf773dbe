#!/usr/bin/env python3
"""Seeds for the tar and zip fuzz targets: the parser differentials and the
real-artifact shapes of issue 13 (see docs/findings.md). Deterministic;
run from the repository root: python3 tests/fuzz/make-differential-seeds.py"""
import gzip
import io
import os
import struct
import tarfile
import zipfile
import zlib

TAR = "tests/fuzz/corpus/tar"
ZIP = "tests/fuzz/corpus/zip"


def header(name, size=0, typ=b"0", link=b"", mode=0o644, raw_size=None, bad_sum=False):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"%07o\0" % mode
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = raw_size if raw_size is not None else b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[156:157] = typ
    h[157:157 + len(link)] = link
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b" " * 8
    s = sum(h) + (1 if bad_sum else 0)
    h[148:156] = b"%06o\0 " % s
    return bytes(h)


def member(name, data=b"", **kw):
    pad = (512 - len(data) % 512) % 512
    return header(name, len(data), **kw) + data + b"\0" * pad


def pax(records, data_name):
    body = b""
    for k, v in records:
        rec = b" %s=%s\n" % (k, v)
        n = len(rec) + 1
        while len(b"%d" % n) + len(rec) != n:
            n += 1
        body += b"%d" % n + rec
    return member(b"PaxHeader/" + data_name, body, typ=b"x")


END = b"\0" * 1024


def write(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def tar_seeds():
    hidden = member(b"hidden", b"evil\n")
    write(TAR, "pax-size-mismatch.tar", pax([(b"size", b"0")], b"a") + member(b"a", hidden) + END)
    write(TAR, "bad-checksum.tar", member(b"a", b"x", bad_sum=True) + END)
    write(TAR, "non-octal-size.tar", member(b"a", b"x", raw_size=b"00000000018") + END)
    write(TAR, "lone-zero-block.tar", member(b"a", b"x") + b"\0" * 512 + member(b"hidden", b"y") + END)
    write(TAR, "data-after-end.tar", member(b"a", b"x") + END + member(b"hidden", b"y") + END)
    write(TAR, "hardlink-through-symlink.tar",
          member(b"s", typ=b"2", link=b"/etc") + member(b"h", typ=b"1", link=b"s/hostname") + END)
    write(TAR, "file-and-directory.tar", member(b"lib", b"a") + member(b"lib/util.py", b"b") + END)
    rootfs = (member(b"./", typ=b"5", mode=0o755) + member(b"./dev/", typ=b"5", mode=0o755) +
              member(b"./dev/null", typ=b"3", mode=0o666) + member(b"./var/local/", typ=b"5", mode=0o2775) + END)
    write(TAR, "rootfs-dev.tar", rootfs)
    opaque = (member(b"etc/apt/apt.conf.d/", typ=b"5", mode=0o755) + member(b"etc/apt/apt.conf.d/.wh..wh..opq") +
              member(b"etc/.wh.motd") + member(b"etc/motd", b"new\n") + END)
    gz = gzip.compress(opaque, mtime=0)
    write(TAR, "opaque-whiteout.tar.gz", gz)
    bad_crc = bytearray(gz)
    bad_crc[-8] ^= 1
    write(TAR, "gzip-bad-crc.tar.gz", bytes(bad_crc))
    bad_isize = bytearray(gz)
    bad_isize[-4] ^= 1
    write(TAR, "gzip-bad-isize.tar.gz", bytes(bad_isize))
    write(TAR, "gzip-trailing.tar.gz", gz + b"garbage")
    half = len(opaque) // 2
    write(TAR, "gzip-two-members.tar.gz", gzip.compress(opaque[:half], mtime=0) + gzip.compress(opaque[half:], mtime=0))


def zip_bytes(entries, compression=zipfile.ZIP_STORED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression) as z:
        for name, data in entries:
            zi = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            zi.external_attr = (0o40755 << 16 | 0x10) if name.endswith("/") else (0o100644 << 16)
            z.writestr(zi, data)
    return b.getvalue()


def zip_seeds():
    inner = zip_bytes([("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n"), ("a/B.class", b"\xca\xfe\xba\xbe")],
                      zipfile.ZIP_DEFLATED)
    write(ZIP, "nested-stored-jar.zip",
          zip_bytes([("BOOT-INF/lib/a.jar", inner), ("BOOT-INF/lib/b.jar", inner), ("BOOT-INF/classes/App.class", b"x")]))
    write(ZIP, "path-duplicates.zip", zip_bytes([("lib/util.py", b"good"), ("lib//util.py", b"evil"),
                                                 ("./lib/./util.py", b"evil2")]))
    write(ZIP, "file-and-directory.zip", zip_bytes([("lib", b"a file"), ("lib/util.py", b"b"), ("x/", b"")]))


if __name__ == "__main__":
    tar_seeds()
    zip_seeds()
