build-zlib/libsign/git/source_check.o: libsign/git/source_check.c \
 libsign/git/git.h libsign/formats.h include/sign/artifact.h \
 include/sign/common.h include/sign/digest.h include/sign/encoding.h \
 include/sign/envelope.h include/sign/key.h include/sign/key.h \
 include/sign/manifest.h include/sign/artifact.h include/sign/source.h \
 include/sign/policy.h include/sign/timestamp.h include/sign/bundle.h \
 include/sign/envelope.h include/sign/x509.h include/sign/x509.h \
 libsign/util/util.h include/sign/common.h include/sign/source.h
libsign/git/git.h:
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
include/sign/source.h:
