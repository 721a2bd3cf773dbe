build-zlib/libsign/util/json.o: libsign/util/json.c libsign/util/util.h \
 include/sign/common.h libsign/util/text.h
libsign/util/util.h:
include/sign/common.h:
libsign/util/text.h:
