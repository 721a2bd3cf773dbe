build-zlib/libsign/util/path.o: libsign/util/path.c libsign/util/util.h \
 include/sign/common.h libsign/util/path.h libsign/util/text.h
libsign/util/util.h:
include/sign/common.h:
libsign/util/path.h:
libsign/util/text.h:
