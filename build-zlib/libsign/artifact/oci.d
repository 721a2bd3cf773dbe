build-zlib/libsign/artifact/oci.o: libsign/artifact/oci.c \
 libsign/artifact/artifact_int.h include/sign/artifact.h \
 include/sign/common.h include/sign/digest.h include/sign/encoding.h \
 libsign/util/util.h include/sign/common.h libsign/util/pool.h
libsign/artifact/artifact_int.h:
include/sign/artifact.h:
include/sign/common.h:
include/sign/digest.h:
include/sign/encoding.h:
libsign/util/util.h:
include/sign/common.h:
libsign/util/pool.h:
