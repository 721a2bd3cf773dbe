build-zlib/libsign/artifact/tar.o: libsign/artifact/tar.c \
 libsign/artifact/artifact_int.h include/sign/artifact.h \
 include/sign/common.h include/sign/digest.h include/sign/encoding.h \
 libsign/util/util.h include/sign/common.h libsign/util/inflate.h \
 libsign/util/path.h libsign/util/text.h
libsign/artifact/artifact_int.h:
include/sign/artifact.h:
include/sign/common.h:
include/sign/digest.h:
include/sign/encoding.h:
libsign/util/util.h:
include/sign/common.h:
libsign/util/inflate.h:
libsign/util/path.h:
libsign/util/text.h:
