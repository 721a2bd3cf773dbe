build-zlib/libsign/artifact/tree.o: libsign/artifact/tree.c \
 libsign/artifact/artifact_int.h include/sign/artifact.h \
 include/sign/common.h include/sign/digest.h include/sign/encoding.h \
 libsign/util/util.h include/sign/common.h libsign/util/path.h
libsign/artifact/artifact_int.h:
include/sign/artifact.h:
include/sign/common.h:
include/sign/digest.h:
include/sign/encoding.h:
libsign/util/util.h:
include/sign/common.h:
libsign/util/path.h:
