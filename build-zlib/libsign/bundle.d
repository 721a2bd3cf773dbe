build-zlib/libsign/bundle.o: libsign/bundle.c libsign/formats.h \
 include/sign/artifact.h include/sign/common.h include/sign/digest.h \
 include/sign/encoding.h include/sign/envelope.h include/sign/key.h \
 include/sign/key.h include/sign/manifest.h include/sign/artifact.h \
 include/sign/source.h include/sign/policy.h include/sign/timestamp.h \
 include/sign/bundle.h include/sign/envelope.h include/sign/x509.h \
 include/sign/x509.h libsign/util/util.h include/sign/common.h
libsign/formats.h:
include/sign/artifact.h:
include/sign/common.h:
include/sign/digest.h:
include/sign/encoding.h:
include/sign/envelope.h:
include/sign/key.h:
include/sign/key.h:
include/sign/manifest.h:
include/sign/artifact.h:
include/sign/source.h:
include/sign/policy.h:
include/sign/timestamp.h:
include/sign/bundle.h:
include/sign/envelope.h:
include/sign/x509.h:
include/sign/x509.h:
libsign/util/util.h:
include/sign/common.h:
