build-zlib/libsign/util/digest.o: libsign/util/digest.c \
 include/sign/digest.h include/sign/common.h include/sign/encoding.h \
 libsign/util/util.h include/sign/common.h
include/sign/digest.h:
include/sign/common.h:
include/sign/encoding.h:
libsign/util/util.h:
include/sign/common.h:
