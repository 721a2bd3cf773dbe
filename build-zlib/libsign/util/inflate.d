build-zlib/libsign/util/inflate.o: libsign/util/inflate.c \
 libsign/util/inflate.h libsign/util/util.h include/sign/common.h
libsign/util/inflate.h:
libsign/util/util.h:
include/sign/common.h:
