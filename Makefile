# signet — GNU make build. See README.md.
VERSION      := 0.1.0
SOVERSION    := 0
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR      ?=

CC      ?= cc
CFLAGS  ?= -O2 -g
B       ?= build
SAN_B   := build-san

DEPS      := openssl libarchive jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(DEPS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(DEPS) 2>/dev/null)

WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla \
        -Wstrict-prototypes -Wmissing-prototypes -Wno-format-truncation
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2
ALL_CFLAGS := $(WARN) $(HARDEN) -D_GNU_SOURCE -Iinclude -Ilibsign $(PKG_CFLAGS) $(CFLAGS)

LIB_SRC  := $(sort $(wildcard libsign/*.c))
CMD_SRC  := $(sort $(wildcard cmd/signet/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
CMD_OBJ  := $(CMD_SRC:%.c=$(B)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(B)/%.o)
HEADERS  := $(wildcard include/sign/*.h) $(wildcard libsign/*.h)
MANPAGES := $(wildcard docs/man/*.1)

.PHONY: all lib test test-unit test-san test-e2e test-libuse demo bench fuzz lint \
        install uninstall clean deps check-deps

all: $(B)/signet $(B)/libsign.a $(B)/libsign.so.$(VERSION)

check-deps:
	@pkg-config --exists $(DEPS) || { echo "signet: missing build dependencies; run '.ci/deps' as root or install: libssl-dev libarchive-dev libjansson-dev pkg-config" >&2; exit 1; }

$(B)/%.o: %.c $(HEADERS) | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -DSIGN_BUILDING -c $< -o $@

$(B)/libsign.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/libsign.so.$(VERSION): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libsign.so.$(SOVERSION) -Wl,-z,relro,-z,now $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread
	ln -sf libsign.so.$(VERSION) $(B)/libsign.so.$(SOVERSION)
	ln -sf libsign.so.$(VERSION) $(B)/libsign.so

$(B)/signet: $(CMD_OBJ) $(B)/libsign.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CMD_OBJ) $(B)/libsign.a $(PKG_LIBS) -lpthread

# ---- tests -----------------------------------------------------------------
$(B)/signet-tests: $(TEST_OBJ) $(B)/libsign.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(TEST_OBJ) $(B)/libsign.a $(PKG_LIBS) -lcriterion -lpthread

deps:
	@.ci/deps test

# The README's test command: installs what is missing, runs the whole suite,
# then the same suite under AddressSanitizer and UndefinedBehaviorSanitizer.
test: deps
	$(MAKE) test-unit
	$(MAKE) test-libuse
	$(MAKE) test-san

test-unit: all $(B)/signet-tests
	SIGNET_BIN=$(CURDIR)/$(B)/signet SIGNET_SRC=$(CURDIR) $(B)/signet-tests --jobs 2

test-san:
	$(MAKE) B=$(SAN_B) CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" all $(SAN_B)/signet-tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    SIGNET_BIN=$(CURDIR)/$(SAN_B)/signet SIGNET_SRC=$(CURDIR) $(SAN_B)/signet-tests --jobs 2

# A program outside the tree, built only through pkg-config against an installed libsign.
test-libuse: all
	rm -rf $(B)/libuse && mkdir -p $(B)/libuse
	$(MAKE) install PREFIX=$(CURDIR)/$(B)/libuse/prefix
	PKG_CONFIG_PATH=$(CURDIR)/$(B)/libuse/prefix/lib/pkgconfig \
	    sh -c '$(CC) -std=c11 -Wall -Wextra -Werror -o $(B)/libuse/verify-bundle tests/libuse/verify_bundle.c $$(pkg-config --cflags --libs libsign)'
	LD_LIBRARY_PATH=$(CURDIR)/$(B)/libuse/prefix/lib SIGNET_BIN=$(CURDIR)/$(B)/signet \
	    sh tests/libuse/run.sh $(CURDIR)/$(B)/libuse

demo:
	@.ci/deps demo
	$(MAKE) all
	sh keys-example/demo.sh $(CURDIR)/$(B)/signet

bench: all
	@echo "bench: not yet written (see issue 7)"; exit 1

fuzz:
	@echo "fuzz: not yet written (see issue 6)"; exit 1

lint:
	@bad=$$(grep -nE '\b(sprintf|strcpy|strcat|gets|atoi|alloca)\s*\(' $(LIB_SRC) $(CMD_SRC) include/sign/*.h || true); \
	  if [ -n "$$bad" ]; then echo "banned functions:"; echo "$$bad"; exit 1; fi
	clang-format --dry-run --Werror $(LIB_SRC) $(CMD_SRC) $(wildcard include/sign/*.h libsign/*.h cmd/signet/*.h)

# ---- install ---------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/sign \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(B)/signet $(DESTDIR)$(BINDIR)/signet
	install -m 0644 $(B)/libsign.a $(DESTDIR)$(LIBDIR)/libsign.a
	install -m 0755 $(B)/libsign.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsign.so.$(VERSION)
	ln -sf libsign.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsign.so.$(SOVERSION)
	ln -sf libsign.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsign.so
	install -m 0644 include/sign/*.h $(DESTDIR)$(INCLUDEDIR)/sign/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' libsign/libsign.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libsign.pc
	$(if $(MANPAGES),install -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/)

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/signet $(DESTDIR)$(LIBDIR)/libsign.a $(DESTDIR)$(LIBDIR)/libsign.so* \
	    $(DESTDIR)$(PKGCONFIGDIR)/libsign.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/sign
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MANPAGES)))

clean:
	rm -rf build build-san
