build-zlib/libsign/pki/timestamp.o: libsign/pki/timestamp.c \
 include/sign/bundle.h include/sign/common.h include/sign/envelope.h \
 include/sign/key.h include/sign/digest.h include/sign/encoding.h \
 include/sign/encoding.h include/sign/envelope.h include/sign/timestamp.h \
 include/sign/bundle.h include/sign/x509.h libsign/pki/pki.h \
 include/sign/key.h include/sign/x509.h libsign/util/util.h \
 include/sign/common.h libsign/net/http.h
include/sign/bundle.h:
include/sign/common.h:
include/sign/envelope.h:
include/sign/key.h:
include/sign/digest.h:
include/sign/encoding.h:
include/sign/encoding.h:
include/sign/envelope.h:
include/sign/timestamp.h:
include/sign/bundle.h:
include/sign/x509.h:
libsign/pki/pki.h:
include/sign/key.h:
include/sign/x509.h:
libsign/util/util.h:
include/sign/common.h:
libsign/net/http.h:
