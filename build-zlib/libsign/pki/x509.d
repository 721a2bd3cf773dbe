build-zlib/libsign/pki/x509.o: libsign/pki/x509.c libsign/pki/crlfetch.h \
 libsign/pki/pki.h include/sign/key.h include/sign/common.h \
 include/sign/timestamp.h include/sign/bundle.h include/sign/envelope.h \
 include/sign/key.h include/sign/x509.h include/sign/x509.h \
 libsign/util/util.h include/sign/common.h include/sign/digest.h \
 include/sign/encoding.h include/sign/encoding.h libsign/util/text.h
libsign/pki/crlfetch.h:
libsign/pki/pki.h:
include/sign/key.h:
include/sign/common.h:
include/sign/timestamp.h:
include/sign/bundle.h:
include/sign/envelope.h:
include/sign/key.h:
include/sign/x509.h:
include/sign/x509.h:
libsign/util/util.h:
include/sign/common.h:
include/sign/digest.h:
include/sign/encoding.h:
include/sign/encoding.h:
libsign/util/text.h:
