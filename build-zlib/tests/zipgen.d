build-zlib/tests/zipgen.o: tests/zipgen.c tests/testutil.h tests/zipgen.h
tests/testutil.h:
tests/zipgen.h:
