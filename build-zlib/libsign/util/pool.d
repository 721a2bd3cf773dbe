build-zlib/libsign/util/pool.o: libsign/util/pool.c \
 include/sign/threads.h include/sign/common.h libsign/util/util.h \
 include/sign/common.h libsign/util/pool.h
include/sign/threads.h:
include/sign/common.h:
libsign/util/util.h:
include/sign/common.h:
libsign/util/pool.h:
