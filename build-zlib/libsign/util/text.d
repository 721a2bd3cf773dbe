build-zlib/libsign/util/text.o: libsign/util/text.c libsign/util/util.h \
 include/sign/common.h libsign/util/text.h
libsign/util/util.h:
include/sign/common.h:
libsign/util/text.h:
