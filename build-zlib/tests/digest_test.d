build-zlib/tests/digest_test.o: tests/digest_test.c include/sign/digest.h \
 include/sign/common.h include/sign/encoding.h tests/testutil.h
include/sign/digest.h:
include/sign/common.h:
include/sign/encoding.h:
tests/testutil.h:
