build-zlib/libsign/util/fileio.o: libsign/util/fileio.c \
 include/sign/encoding.h include/sign/common.h libsign/util/util.h \
 include/sign/common.h
include/sign/encoding.h:
include/sign/common.h:
libsign/util/util.h:
include/sign/common.h:
