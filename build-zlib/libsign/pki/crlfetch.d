build-zlib/libsign/pki/crlfetch.o: libsign/pki/crlfetch.c \
 include/sign/digest.h include/sign/common.h include/sign/encoding.h \
 libsign/pki/crlfetch.h libsign/pki/pki.h include/sign/key.h \
 include/sign/timestamp.h include/sign/bundle.h include/sign/envelope.h \
 include/sign/key.h include/sign/x509.h include/sign/x509.h \
 libsign/util/util.h include/sign/common.h libsign/net/http.h
include/sign/digest.h:
include/sign/common.h:
include/sign/encoding.h:
libsign/pki/crlfetch.h:
libsign/pki/pki.h:
include/sign/key.h:
include/sign/timestamp.h:
include/sign/bundle.h:
include/sign/envelope.h:
include/sign/key.h:
include/sign/x509.h:
include/sign/x509.h:
libsign/util/util.h:
include/sign/common.h:
libsign/net/http.h:
