build-zlib/libsign/pki/certs.o: libsign/pki/certs.c libsign/pki/pki.h \
 include/sign/key.h include/sign/common.h include/sign/timestamp.h \
 include/sign/bundle.h include/sign/envelope.h include/sign/key.h \
 include/sign/x509.h include/sign/x509.h libsign/util/util.h \
 include/sign/common.h
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
