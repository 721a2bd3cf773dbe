build-zlib/tests/audit_test.o: tests/audit_test.c tests/testutil.h
tests/testutil.h:
