build-zlib/tests/targen.o: tests/targen.c tests/targen.h tests/testutil.h
tests/targen.h:
tests/testutil.h:
