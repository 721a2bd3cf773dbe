build-zlib/tests/walk_test.o: tests/walk_test.c tests/testutil.h \
 libsign/artifact/artifact_int.h include/sign/artifact.h \
 include/sign/common.h include/sign/digest.h include/sign/encoding.h \
 libsign/util/util.h include/sign/common.h tests/zipgen.h
tests/testutil.h:
libsign/artifact/artifact_int.h:
include/sign/artifact.h:
include/sign/common.h:
include/sign/digest.h:
include/sign/encoding.h:
libsign/util/util.h:
include/sign/common.h:
tests/zipgen.h:
