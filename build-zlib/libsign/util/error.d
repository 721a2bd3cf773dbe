build-zlib/libsign/util/error.o: libsign/util/error.c libsign/util/util.h \
 include/sign/common.h libsign/util/text.h
libsign/util/util.h:
include/sign/common.h:
libsign/util/text.h:
