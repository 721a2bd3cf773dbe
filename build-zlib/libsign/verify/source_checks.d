build-zlib/libsign/verify/source_checks.o: libsign/verify/source_checks.c \
 include/sign/log.h include/sign/common.h include/sign/source.h \
 libsign/verify/verify_internal.h libsign/artifact/artifact_int.h \
 include/sign/artifact.h include/sign/digest.h include/sign/encoding.h \
 libsign/util/util.h include/sign/common.h libsign/formats.h \
 include/sign/envelope.h include/sign/key.h include/sign/key.h \
 include/sign/manifest.h include/sign/artifact.h include/sign/source.h \
 include/sign/policy.h include/sign/timestamp.h include/sign/bundle.h \
 include/sign/envelope.h include/sign/x509.h include/sign/x509.h \
 include/sign/revocation.h include/sign/verify.h include/sign/policy.h \
 libsign/util/path.h libsign/util/text.h
include/sign/log.h:
include/sign/common.h:
include/sign/source.h:
libsign/verify/verify_internal.h:
libsign/artifact/artifact_int.h:
include/sign/artifact.h:
include/sign/digest.h:
include/sign/encoding.h:
libsign/util/util.h:
include/sign/common.h:
libsign/formats.h:
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
include/sign/revocation.h:
include/sign/verify.h:
include/sign/policy.h:
libsign/util/path.h:
libsign/util/text.h:
