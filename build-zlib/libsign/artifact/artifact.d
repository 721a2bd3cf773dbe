build-zlib/libsign/artifact/artifact.o: libsign/artifact/artifact.c \
 libsign/artifact/artifact_int.h include/sign/artifact.h \
 include/sign/common.h include/sign/digest.h include/sign/encoding.h \
 libsign/util/util.h include/sign/common.h libsign/util/inflate.h \
 libsign/util/path.h libsign/util/pool.h
libsign/artifact/artifact_int.h:
include/sign/artifact.h:
include/sign/common.h:
include/sign/digest.h:
include/sign/encoding.h:
libsign/util/util.h:
include/sign/common.h:
libsign/util/inflate.h:
libsign/util/path.h:
libsign/util/pool.h:
