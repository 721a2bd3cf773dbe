build-zlib/libsign/util/encoding.o: libsign/util/encoding.c \
 include/sign/encoding.h include/sign/common.h libsign/util/util.h \
 include/sign/common.h
include/sign/encoding.h:
include/sign/common.h:
libsign/util/util.h:
include/sign/common.h:
