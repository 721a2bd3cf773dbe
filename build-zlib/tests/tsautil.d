build-zlib/tests/tsautil.o: tests/tsautil.c tests/testutil.h \
 tests/tsautil.h
tests/testutil.h:
tests/tsautil.h:
