build-zlib/libsign/util/state.o: libsign/util/state.c libsign/util/util.h \
 include/sign/common.h libsign/util/state.h
libsign/util/util.h:
include/sign/common.h:
libsign/util/state.h:
