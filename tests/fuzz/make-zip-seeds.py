#!/usr/bin/env python3
"""Write the hostile zip seeds of the zip fuzz target into the directory given
(called by make-seeds.sh). Each archive is small and aims at one finding."""
import io
import struct
import sys
import zipfile

out = sys.argv[1]


def build(entries, comment=b"", zip64=False):
    """entries: (name, data, mode or None, compress) tuples."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data, mode, deflate in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            if mode is not None:
                info.create_system = 3
                info.external_attr = mode << 16
            if zip64:
                with z.open(info, "w", force_zip64=True) as f:
                    f.write(data)
            else:
                z.writestr(info, data)
        z.comment = comment
    return bytearray(buf.getvalue())


def save(name, data):
    with open(f"{out}/{name}", "wb") as f:
        f.write(bytes(data))


def replace_all(data, old, new):
    assert len(old) == len(new)
    return bytearray(bytes(data).replace(old, new))


save("traversal.zip", build([("../evil.sh", b"#!/bin/sh\n", 0o100755, False)]))
save("absolute.zip", build([("/etc/cron.d/x", b"* * * * * root id\n", None, False)]))
save("backslash.zip", build([("..\\..\\evil.bat", b"echo\n", None, False)]))
import warnings
warnings.simplefilter("ignore")
save("duplicate.zip", build([("a.txt", b"first\n", None, False), ("a.txt", b"second\n", None, False)]))
save("symlink.zip", build([("link", b"../../etc/passwd", 0o120777, False), ("link/x", b"write through\n", None, False)]))
save("setuid-device.zip", build([("su", b"\x7fELF", 0o104755, False), ("dev", b"", 0o020644, False),
                                 ("dir/", b"", 0o040755, False)]))
save("bomb.zip", build([("zeros", bytes(1 << 20), None, True)]))
save("secrets.zip", build([(".env", b"AWS_SECRET_ACCESS_KEY=abc\n", None, False),
                           ("id_ed25519", b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", None, True)]))
ok = build([("a.txt", b"hello hello hello\n", None, True), ("b/c.txt", b"c\n", 0o100644, False)])
save("deflate.zip", ok)
save("prepended.zip", b"#!/bin/sh\nexit 0\n" + ok)
save("appended.zip", ok + b"trailing bytes after the end record")
save("zip64.zip", build([("big", b"x" * 100, None, False)], zip64=True))
save("truncated.zip", ok[: len(ok) // 2])
save("comment-fake-eocd.zip", build([("a", b"a", None, False)],
                                    comment=b"PK\x05\x06" + bytes(18)))
# Local header CRC differs from the central directory's.
crc = build([("crc.txt", b"crc\n", None, False)])
lfh_crc = 14
crc[lfh_crc] ^= 0xFF
save("crc-local-differs.zip", crc)
# Local header name differs from the central directory's.
nm = build([("name.txt", b"n\n", None, False)])
nm[30] = ord("N")
save("local-name-differs.zip", nm)
# Invalid UTF-8 and control characters in a name (same length replacement in both headers).
bad = replace_all(build([("XXXXXX.txt", b"u\n", None, False)]), b"XXXXXX", b"\xff\xfe\x01\x1b\xc0\xaf")
save("invalid-utf8-name.zip", bad)
# An entry count in the end record larger than the central directory.
cnt = build([("a", b"a", None, False)])
eocd = bytes(cnt).rfind(b"PK\x05\x06")
struct.pack_into("<HH", cnt, eocd + 8, 0xFFFF, 0xFFFF)
save("eocd-count-lies.zip", cnt)
# Central directory offset pointing past the end.
off = build([("a", b"a", None, False)])
eocd = bytes(off).rfind(b"PK\x05\x06")
struct.pack_into("<I", off, eocd + 16, 0x7FFFFFF0)
save("cd-offset-past-end.zip", off)
# Two central directory entries pointing at one local header (overlap).
ov = build([("a", b"aaaa", None, False), ("b", b"bbbb", None, False)])
cd2 = bytes(ov).rfind(b"PK\x01\x02")
struct.pack_into("<I", ov, cd2 + 42, 0)
save("overlapping.zip", ov)
save("many-entries.zip", build([(f"d/{i}", b"", None, False) for i in range(200)]))
