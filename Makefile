# signet — GNU make build. See README.md.
# The version is kept in one place, SIGN_VERSION_STRING in include/sign/common.h (what the
# library and `signet --version` report); the build reads it from there.
VERSION      := $(shell sed -n 's/^\#define SIGN_VERSION_STRING "\([^"]*\)"$$/\1/p' include/sign/common.h)
ifeq ($(VERSION),)
$(error cannot read SIGN_VERSION_STRING from include/sign/common.h)
endif
SOVERSION    := 0
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
# Debian and its derivatives keep the system's libraries in a multiarch directory
# (/usr/lib/x86_64-linux-gnu): `make install PREFIX=/usr` puts libsign there, as a
# Debian package would. Other prefixes (and other systems) use PREFIX/lib; LIBDIR= overrides.
MULTIARCH    := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
ifeq ($(PREFIX)$(if $(MULTIARCH),,none),/usr)
LIBDIR       ?= $(PREFIX)/lib/$(MULTIARCH)
else
LIBDIR       ?= $(PREFIX)/lib
endif
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
DOCDIR       ?= $(PREFIX)/share/doc/signet
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR      ?=

CC      ?= cc
CFLAGS  ?= -O2 -g
B       ?= build
SAN_B   := build-san

DEPS      := openssl libarchive jansson libgit2 zlib
# The inflater of zip entries and gzip layers (libsign/util/inflate.c): ISA-L's igzip when
# libisal-dev is installed, zlib otherwise. `make INFLATE=zlib` builds with zlib alone (use
# another B= for it: objects do not rebuild when only the switch changes).
INFLATE   ?= $(if $(shell pkg-config --exists libisal 2>/dev/null && echo y),isal,zlib)
ifeq ($(INFLATE),isal)
DEPS      += libisal
INFLATE_DEF := -DSIGN_HAVE_ISAL
INFLATE_LIB := -lisal
else ifneq ($(INFLATE),zlib)
$(error INFLATE must be isal or zlib, not $(INFLATE))
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(DEPS) 2>/dev/null) $(INFLATE_DEF)
PKG_LIBS   := $(shell pkg-config --libs $(DEPS) 2>/dev/null)

# gcc warns about intentionally truncated messages (snprintf into fixed buffers); clang has no such flag.
NO_TRUNC_WARN = $(shell $(CC) -Werror -Wno-format-truncation -E -x c /dev/null >/dev/null 2>&1 && echo -Wno-format-truncation)
WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla \
        -Wstrict-prototypes -Wmissing-prototypes $(NO_TRUNC_WARN)
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2
# Private headers are included by their bare name ("util.h", "pki.h", "http.h"): one -I per
# folder of libsign/, names unique across folders; tests/lint/layers.py finds them the same way.
LIB_INC    := -Iinclude -Ilibsign -Ilibsign/util -Ilibsign/net -Ilibsign/registry -Ilibsign/pki -Ilibsign/artifact -Ilibsign/verify -Ilibsign/deploy -Ilibsign/git
# PKCS#11: only the header (p11-kit's); the module is loaded with dlopen at run time.
P11_CFLAGS := $(shell pkg-config --cflags p11-kit-1 2>/dev/null)
ALL_CFLAGS := $(WARN) $(HARDEN) -D_GNU_SOURCE $(LIB_INC) $(PKG_CFLAGS) $(P11_CFLAGS) $(CFLAGS)

LIB_SRC  := $(sort $(wildcard libsign/*.c libsign/*/*.c))
CMD_SRC  := $(sort $(wildcard cmd/signet/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
CMD_OBJ  := $(CMD_SRC:%.c=$(B)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(B)/%.o)
HEADERS  := $(wildcard include/sign/*.h libsign/*.h libsign/*/*.h cmd/signet/*.h tests/*.h)
# Each object depends on the headers it includes, as the compiler lists them (-MMD -MP: .d files
# beside the objects, a phony target per header so a removed header does not stop the build).
DEPFLAGS  = -MMD -MP
MANPAGES := $(wildcard docs/man/*.1)
# The references the man pages point at, installed to DOCDIR.
DOCS     := README.md $(wildcard docs/*.md)

.PHONY: all lib test test-unit test-san test-e2e test-libuse test-interop test-conformance test-realworld demo \
        bench fuzz lint \
        install uninstall clean deps check-deps
.PHONY: fuzz-replay fuzz-clean test-abi symbols
.PHONY: test-torture

all: $(B)/signet $(B)/libsign.a $(B)/libsign.so.$(VERSION)

check-deps:
	@pkg-config --exists $(DEPS) p11-kit-1 || { echo "signet: missing build dependencies; run '.ci/deps' as root or install: libssl-dev libarchive-dev libjansson-dev libgit2-dev zlib1g-dev libisal-dev libp11-kit-dev pkg-config (or build with INFLATE=zlib)" >&2; exit 1; }

$(B)/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -fPIC -fvisibility=hidden -DSIGN_BUILDING -c $< -o $@

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

$(B)/libsign.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/libsign.so.$(VERSION): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libsign.so.$(SOVERSION) -Wl,-z,relro,-z,now $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread
	ln -sf libsign.so.$(VERSION) $(B)/libsign.so.$(SOVERSION)
	ln -sf libsign.so.$(VERSION) $(B)/libsign.so

# The CLI links libarchive statically when libarchive.a and every library it needs are installed
# (Debian's libarchive-dev): then only the zip reader's decompressors load at start, not libxml2,
# ICU and libstdc++ as well, and a verify of a small file starts in ~3.7 ms of CPU instead of
# ~5.5 (docs/performance.md). Otherwise it links libarchive dynamically.
LA_LIBDIR   := $(shell pkg-config --variable=libdir libarchive 2>/dev/null)
LA_STATIC   := $(wildcard $(LA_LIBDIR)/libarchive.a)
LA_PRIVATE  := $(patsubst -l%,%,$(filter-out -larchive,$(shell pkg-config --static --libs-only-l libarchive 2>/dev/null)))
LA_DEPS     := $(foreach l,$(LA_PRIVATE),$(firstword $(wildcard $(LA_LIBDIR)/lib$(l).so $(LA_LIBDIR)/lib$(l).so.*)))
SIGNET_LIBS := $(PKG_LIBS)
ifneq ($(and $(LA_STATIC),$(filter $(words $(LA_PRIVATE)),$(words $(LA_DEPS)))),)
SIGNET_LIBS := -Wl,--as-needed $(filter-out -larchive,$(PKG_LIBS)) $(LA_STATIC) $(LA_DEPS) -Wl,--no-as-needed
endif

$(B)/signet: $(CMD_OBJ) $(B)/libsign.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CMD_OBJ) $(B)/libsign.a $(SIGNET_LIBS) -lpthread

# ---- tests -----------------------------------------------------------------
$(B)/signet-tests: $(TEST_OBJ) $(B)/libsign.a $(B)/pkcs11-shim.so
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(TEST_OBJ) $(B)/libsign.a $(PKG_LIBS) -lcriterion -lpthread

# A PKCS#11 module that forwards to SoftHSM2 and fails chosen calls (tests/pkcs11/shim.c): the
# tests find it beside SIGNET_BIN.
$(B)/pkcs11-shim.so: tests/pkcs11/shim.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -fPIC $(LDFLAGS) -o $@ $<

# The RFC 3161 test TSA (tests/tsa/tsa-server.c): started by the tests and by `make demo`.
$(B)/signet-tsa-test-server: tests/tsa/tsa-server.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(PKG_LIBS)

deps:
	@.ci/deps test

# The README's test command: installs what is missing, runs the whole suite,
# then the same suite under AddressSanitizer and UndefinedBehaviorSanitizer.
test: deps
	$(MAKE) test-unit
	$(MAKE) test-libuse
	$(MAKE) test-interop
	$(MAKE) test-san
	$(MAKE) test-torture

test-unit: all $(B)/signet-tests $(B)/signet-tsa-test-server
	SIGNET_BIN=$(CURDIR)/$(B)/signet SIGNET_SRC=$(CURDIR) $(B)/signet-tests --jobs 2
	$(MAKE) fuzz-replay
	$(MAKE) test-abi

# A caller built against the options layouts of libsign 0.1 (tests/abi/old_callers.c), run
# with this libsign.so; its old structs sit in exact-size heap blocks, so under test-san an
# over-read of a field the caller does not have is caught.
$(B)/abi/old-callers: tests/abi/old_callers.c $(B)/libsign.so.$(VERSION)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror -Iinclude $(CFLAGS) $(LDFLAGS) -o $@ $< -L$(B) -lsign

test-abi: $(B)/abi/old-callers
	rm -rf $(B)/abi/work && mkdir -p $(B)/abi/work
	LD_LIBRARY_PATH=$(CURDIR)/$(B) $(B)/abi/old-callers $(B)/abi/work

test-san:
	$(MAKE) B=$(SAN_B) CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" all $(SAN_B)/signet-tests $(SAN_B)/signet-tsa-test-server
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    SIGNET_BIN=$(CURDIR)/$(SAN_B)/signet SIGNET_SRC=$(CURDIR) $(SAN_B)/signet-tests --jobs 2
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MAKE) B=$(SAN_B) CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" fuzz-replay
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MAKE) B=$(SAN_B) CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" test-abi

# A program outside the tree, built only through pkg-config against an installed libsign.
test-libuse: all
	rm -rf $(B)/libuse && mkdir -p $(B)/libuse
	$(MAKE) install PREFIX=$(CURDIR)/$(B)/libuse/prefix
	PKG_CONFIG_PATH=$(CURDIR)/$(B)/libuse/prefix/lib/pkgconfig \
	    sh -c '$(CC) -std=c11 -Wall -Wextra -Werror -o $(B)/libuse/verify-bundle tests/libuse/verify_bundle.c $$(pkg-config --cflags --libs libsign)'
	LD_LIBRARY_PATH=$(CURDIR)/$(B)/libuse/prefix/lib SIGNET_BIN=$(CURDIR)/$(B)/signet \
	    sh tests/libuse/run.sh $(CURDIR)/$(B)/libuse

# The real-world corpus (tests/realworld/): zips, jars, wheels and images written by real tools,
# from Debian packages and the npm registry (fetched once, cached under $(B)/realworld-cache).
test-realworld: all
	@.ci/deps test
	sh tests/realworld/run.sh $(B)/signet $(B)

# signet's bundles checked by an independent Sigstore verifier (sigstore-js, pinned, from the npm registry).
test-interop: all $(B)/signet-tsa-test-server
	SIGNET_BIN=$(CURDIR)/$(B)/signet sh tests/interop/run.sh $(CURDIR)/$(B)/interop

# The offline verification cases of sigstore-conformance (tests/conformance), against the recorded results.
test-conformance: all
	SIGNET_BIN=$(CURDIR)/$(B)/signet sh tests/conformance/run.sh

demo:
	@.ci/deps demo
	$(MAKE) all $(B)/signet-tsa-test-server
	sh keys-example/demo.sh $(CURDIR)/$(B)/signet

# Benchmarks (docs/performance.md): installs missing peers from Debian, generates the data under
# $TMPDIR (or /var/tmp), removed afterwards. BENCH_QUICK=1: small data, 3 runs; BENCH_ONLY=file,zip,oci,store,startup,tsa:
# some groups; either writes the report to $(B)/bench/ instead of docs/.
BENCH_TOOLS := sha256limit ziphash gen runner loggen revgen batchsign $(if $(INFLATE_DEF),ziphash_isal)
BENCH_OUT    = $(if $(filter 1,$(BENCH_QUICK))$(BENCH_ONLY),$(B)/bench/performance.md,docs/performance.md)

$(B)/bench/%: tests/bench/%.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE $(PKG_CFLAGS) -o $@ $< $(PKG_LIBS) -lm

# revgen writes a signed revocation list through libsign; batchsign signs the audit store's groups in one process.
$(B)/bench/batchsign: tests/bench/batchsign.c $(B)/libsign.a | check-deps
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude $(PKG_CFLAGS) -o $@ $< $(B)/libsign.a $(PKG_LIBS) -lpthread

$(B)/bench/revgen: tests/bench/revgen.c $(B)/libsign.a | check-deps
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude $(PKG_CFLAGS) -o $@ $< $(B)/libsign.a $(PKG_LIBS) -lpthread

bench: all $(BENCH_TOOLS:%=$(B)/bench/%) $(B)/signet-tsa-test-server
	@.ci/deps bench
	bash tests/bench/run.sh $(B)/signet $(B)/bench $(BENCH_OUT)

# ---- fuzzing (docs/fuzzing.md) ------------------------------------------------
# One target per parser: tests/fuzz/fuzz_<name>.c, seeds in tests/fuzz/corpus/<name>/,
# crash inputs kept in tests/fuzz/regressions/<name>/.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_B       := build-fuzz
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
# tests/scansig.c: the zip, tar and oci targets compare the inflate engines (ISA-L and zlib) on every input.
FUZZ_DEPS    := tests/fuzz/common.c tests/fuzz/fuzz.h tests/scansig.c $(HEADERS) $(B)/libsign.a
FUZZ_DIRS     = tests/fuzz/corpus/$(1) $(wildcard tests/fuzz/regressions/$(1))
FUZZ_SAN     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

# The replay driver: the target's entry point with its own main(), any compiler, $(B)'s flags.
$(B)/fuzz/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/fuzz -Itests $(LDFLAGS) -o $@ $< tests/fuzz/replay.c tests/fuzz/common.c tests/scansig.c \
	    $(B)/libsign.a $(PKG_LIBS) -lpthread

# The libFuzzer binary (built by `make fuzz` with B=$(FUZZ_B) CC=clang).
$(B)/fuzz/fuzz-%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/fuzz -Itests -fsanitize=fuzzer $(LDFLAGS) -o $@ $< tests/fuzz/common.c tests/scansig.c \
	    $(B)/libsign.a $(PKG_LIBS) -lpthread

# Every committed input through every target; part of test-unit and test-san.
fuzz-replay: $(FUZZ_TARGETS:%=$(B)/fuzz/replay-%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    $(B)/fuzz/replay-$$t tests/fuzz/corpus/$$t $$(ls -d tests/fuzz/regressions/$$t 2>/dev/null); done

# Each target for FUZZ_SECONDS on its corpus. New inputs go to $(FUZZ_B)/corpus/<t>
# (the committed directories are only read), crashes to $(FUZZ_B)/artifacts/<t>/.
fuzz:
	@.ci/deps test
	$(MAKE) B=$(FUZZ_B) CC=$(FUZZ_CC) CFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	    LDFLAGS="-fsanitize=address,undefined" $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz/fuzz-%)
	@rc=0; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_B)/corpus/$$t $(FUZZ_B)/artifacts/$$t $(FUZZ_B)/tmp; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    TMPDIR=$(CURDIR)/$(FUZZ_B)/tmp ASAN_OPTIONS=detect_leaks=1 \
	    $(FUZZ_B)/fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_B)/artifacts/$$t/ $(FUZZ_B)/corpus/$$t \
	        $$(test -f tests/fuzz/dict/$$t.dict && echo -dict=tests/fuzz/dict/$$t.dict) \
	        tests/fuzz/corpus/$$t $$(ls -d tests/fuzz/regressions/$$t 2>/dev/null) \
	        2>$(FUZZ_B)/$$t.log || { rc=1; tail -n 60 $(FUZZ_B)/$$t.log; echo "fuzz: $$t FAILED (log $(FUZZ_B)/$$t.log)"; }; \
	    grep -h '^stat::number_of_executed_units\|^stat::new_units_added' $(FUZZ_B)/$$t.log | sed "s/^/fuzz: $$t /"; \
	done; exit $$rc

fuzz-clean:
	rm -rf $(FUZZ_B)

# ---- allocation-failure runs (docs/torture.md) ----------------------------------
# libsign's malloc/calloc/realloc/strdup renamed to the harness's (objcopy), libarchive and
# zlib linked statically with ld --wrap, OpenSSL and jansson through their allocator hooks.
TORTURE_B    := build-torture
TORTURE_SAN  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TORTURE_LIBS := -l:libarchive.a -l:libz.a -lnettle -llzma -lbz2 -lxml2 -l:libzstd.so.1 $(INFLATE_LIB) \
                $(shell pkg-config --libs openssl jansson libgit2 2>/dev/null) -lpthread

$(B)/libsign-torture.a: $(B)/libsign.a tests/torture/redefine.syms
	objcopy --redefine-syms=tests/torture/redefine.syms $< $@

$(B)/torture: tests/torture/torture.c $(B)/libsign-torture.a $(B)/torture-p11.so $(HEADERS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libsign-torture.a \
	    -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup \
	    -Wl,--export-dynamic-symbol=tt_module_enter $(TORTURE_LIBS)

# The PKCS#11 module of the sign-pkcs11 operation: SoftHSM2 behind a wrapper that tells the
# harness when the module runs (its allocations are counted, not failed).
$(B)/torture-p11.so: tests/torture/p11wrap.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -fPIC $(LDFLAGS) -o $@ $<

test-torture:
	$(MAKE) B=$(TORTURE_B) CFLAGS="$(TORTURE_SAN)" LDFLAGS="-fsanitize=address,undefined" $(TORTURE_B)/torture
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(TORTURE_B)/torture

# ---- lint (.clang-format, .clang-tidy, .cppcheck-suppressions) ----------------
# Banned everywhere: unbounded or silently truncating string writes (strncpy and
# strncat leave no NUL or pad; use snprintf or memcpy with a checked length),
# conversions that cannot report an error (use strtol and friends), alloca,
# predictable temporary names, and shelling out.
LINT_BANNED     := gets sprintf vsprintf strcpy stpcpy strcat strncpy strncat atoi atol atoll atof \
                   alloca tmpnam tempnam mktemp system popen
# Also banned in the library, which never prints, exits or reads the environment,
# and runs on its callers' (and its own hashing) threads.
LINT_BANNED_LIB := printf vprintf fprintf vfprintf puts fputs putchar perror exit _exit abort \
                   getenv secure_getenv setenv putenv strtok gmtime localtime ctime asctime rand srand
LINT_HDR   := $(sort $(wildcard include/sign/*.h libsign/*.h libsign/*/*.h cmd/signet/*.h))
LINT_JOBS  ?= 2
lint_space := $(subst ,, )
# A call of a banned name: a whole identifier (not a longer name, not a struct member)
# before "(", in code, with comments, string and character literals blanked first; prints file:line: text.
lint_re     = (^|[^A-Za-z0-9_.>])($(subst $(lint_space),|,$(strip $(1))))[ \t]*\(
LINT_AWK   := FNR == 1 { com = 0 } \
    { s = $$0; o = ""; i = 1; n = length(s); \
      while (i <= n) { c = substr(s, i, 1); d = substr(s, i, 2); \
        if (com) { if (d == "*/") { com = 0; i += 2 } else i++; o = o " " } \
        else if (d == "/*") { com = 1; i += 2; o = o " " } \
        else if (d == "//") break; \
        else if (c == "\"" || c == "\047") { i++; \
          while (i <= n && substr(s, i, 1) != c) { if (substr(s, i, 1) == "\\") i++; i++ } \
          i++; o = o c c } \
        else { o = o c; i++ } } \
      if (o ~ re) { printf "%s:%d: %s\n", FILENAME, FNR, s; bad = 1 } } \
    END { exit bad }
# clang parses with the build's warnings (minus gcc-only flags; -Werror is WarningsAsErrors).
TIDY_FLAGS  = $(filter-out -Werror $(NO_TRUNC_WARN),$(WARN)) -D_GNU_SOURCE -DSIGN_BUILDING $(LIB_INC) \
              $(PKG_CFLAGS) $(P11_CFLAGS)

# The exports of libsign.so, committed in tests/abi/symbols.txt and compared by `make lint`.
# After an intended change of the public API: `make symbols`, and commit the list with it.
SYMBOLS := tests/abi/symbols.txt

symbols: $(B)/libsign.so.$(VERSION)
	sh tests/abi/symbols.sh list $< > $(SYMBOLS)

lint: $(B)/libsign.so.$(VERSION)
	sh tests/abi/symbols.sh check $(B)/libsign.so.$(VERSION) $(SYMBOLS)
	sh tests/abi/symbols_test.sh $(B)/libsign.so.$(VERSION) $(SYMBOLS)
	@# The man pages name the version of include/sign/common.h.
	@bad=$$(grep -L '^\.TH .* "signet $(VERSION)"' $(MANPAGES)); \
	    [ -z "$$bad" ] || { echo "lint: not \"signet $(VERSION)\" in the .TH line of: $$bad"; exit 1; }
	@# The layers (docs/architecture.md): util <- net <- pki <- artifact <- formats <- verify <- cmd.
	python3 tests/lint/layers.py . $(LIB_INC)
	sh tests/lint/layers_test.sh $(LIB_INC)
	@# Public headers are self-contained, C99 and C++ clean (extern "C" guards).
	@for h in include/sign/*.h; do \
	    printf '#include <sign/%s>\n' "$${h##*/}" | $(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -x c -fsyntax-only - || exit 1; \
	    printf '#include <sign/%s>\n' "$${h##*/}" | c++ -std=c++11 -Wall -Wextra -Werror -Iinclude -x c++ -fsyntax-only - || exit 1; \
	done
	$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -fsyntax-only tests/lint/inits.c
	c++ -std=c++11 -Wall -Wextra -Wno-missing-field-initializers -Werror -Iinclude -x c++ -fsyntax-only tests/lint/inits.c
	@awk -v re='$(call lint_re,$(LINT_BANNED))' '$(LINT_AWK)' $(LIB_SRC) $(CMD_SRC) $(LINT_HDR) || \
	    { echo "lint: banned function (see LINT_BANNED in the Makefile)"; exit 1; }
	@awk -v re='$(call lint_re,$(LINT_BANNED_LIB))' '$(LINT_AWK)' $(LIB_SRC) $(wildcard libsign/*.h libsign/*/*.h include/sign/*.h) || \
	    { echo "lint: not in the library (see LINT_BANNED_LIB in the Makefile)"; exit 1; }
	clang-format --dry-run --Werror $(LIB_SRC) $(CMD_SRC) $(LINT_HDR)
	cppcheck -q -j $(LINT_JOBS) --std=c11 --enable=warning,style,performance,portability --inconclusive \
	    --inline-suppr --suppressions-list=.cppcheck-suppressions --library=posix,gnu,openssl --error-exitcode=1 \
	    --template='{file}:{line}: {severity}: {message} [{id}]' -D_GNU_SOURCE -DSIGN_BUILDING $(LIB_INC) \
	    $(LIB_SRC) $(CMD_SRC)
	@echo "clang-tidy (.clang-tidy) on $(words $(LIB_SRC) $(CMD_SRC)) files"
	@printf '%s\n' $(LIB_SRC) $(CMD_SRC) | xargs -P $(LINT_JOBS) -I {} \
	    sh -c 'out=$$(clang-tidy --quiet {} -- $(TIDY_FLAGS) 2>&1) || { printf "%s\n" "$$out"; exit 1; }'

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
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@INFLATE_REQ@|$(if $(INFLATE_DEF), libisal)|' libsign/libsign.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libsign.pc
	$(if $(MANPAGES),install -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/)
	install -d $(DESTDIR)$(DOCDIR)
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/signet $(DESTDIR)$(LIBDIR)/libsign.a $(DESTDIR)$(LIBDIR)/libsign.so* \
	    $(DESTDIR)$(PKGCONFIGDIR)/libsign.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/sign
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MANPAGES)))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS)))
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build build-san build-fuzz build-torture
