build-zlib/cmd/signet/output.o: cmd/signet/output.c cmd/signet/cli.h \
 include/sign/sign.h include/sign/artifact.h include/sign/common.h \
 include/sign/digest.h include/sign/encoding.h include/sign/audit.h \
 include/sign/verify.h include/sign/policy.h include/sign/bundle.h \
 include/sign/envelope.h include/sign/key.h include/sign/event.h \
 include/sign/signer.h include/sign/manifest.h include/sign/source.h \
 include/sign/x509.h include/sign/log.h include/sign/revocation.h \
 include/sign/threads.h include/sign/timestamp.h cmd/signet/output.h
cmd/signet/cli.h:
include/sign/sign.h:
include/sign/artifact.h:
include/sign/common.h:
include/sign/digest.h:
include/sign/encoding.h:
include/sign/audit.h:
include/sign/verify.h:
include/sign/policy.h:
include/sign/bundle.h:
include/sign/envelope.h:
include/sign/key.h:
include/sign/event.h:
include/sign/signer.h:
include/sign/manifest.h:
include/sign/source.h:
include/sign/x509.h:
include/sign/log.h:
include/sign/revocation.h:
include/sign/threads.h:
include/sign/timestamp.h:
cmd/signet/output.h:
