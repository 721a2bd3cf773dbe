build-zlib/libsign/event.o: libsign/event.c include/sign/event.h \
 include/sign/artifact.h include/sign/common.h include/sign/digest.h \
 include/sign/encoding.h include/sign/policy.h include/sign/signer.h \
 include/sign/bundle.h include/sign/envelope.h include/sign/key.h \
 include/sign/manifest.h include/sign/source.h include/sign/x509.h \
 include/sign/verify.h include/sign/verify.h libsign/formats.h \
 include/sign/artifact.h include/sign/envelope.h include/sign/key.h \
 include/sign/manifest.h include/sign/policy.h include/sign/timestamp.h \
 include/sign/x509.h libsign/util/util.h include/sign/common.h \
 libsign/util/text.h
include/sign/event.h:
include/sign/artifact.h:
include/sign/common.h:
include/sign/digest.h:
include/sign/encoding.h:
include/sign/policy.h:
include/sign/signer.h:
include/sign/bundle.h:
include/sign/envelope.h:
include/sign/key.h:
include/sign/manifest.h:
include/sign/source.h:
include/sign/x509.h:
include/sign/verify.h:
include/sign/verify.h:
libsign/formats.h:
include/sign/artifact.h:
include/sign/envelope.h:
include/sign/key.h:
include/sign/manifest.h:
include/sign/policy.h:
include/sign/timestamp.h:
include/sign/x509.h:
libsign/util/util.h:
include/sign/common.h:
libsign/util/text.h:
