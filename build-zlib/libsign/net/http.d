build-zlib/libsign/net/http.o: libsign/net/http.c libsign/net/http.h \
 libsign/util/util.h include/sign/common.h
libsign/net/http.h:
libsign/util/util.h:
include/sign/common.h:
